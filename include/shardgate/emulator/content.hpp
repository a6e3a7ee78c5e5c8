#pragma once
/// @file
/// The `d` bodies the emulator sends, as JSON text: READY, GUILD_CREATE, the answers to commands, and
/// synthetic traffic. Pure functions of the catalog and their arguments; no state, no I/O.
/// @see https://discord.com/developers/docs/events/gateway-events#receive-events

#include "shardgate/emulator/catalog.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::emulator {

/// A dispatch to send: its name and `d` as JSON text.
struct dispatch_body {
    std::string t;
    std::string d;
};

/// What READY needs beyond the catalog.
struct ready_params {
    std::string session_id;
    std::string resume_gateway_url;
    std::optional<std::uint32_t> shard_id; ///< With num_shards: echoed as `shard` when Identify had it.
    std::uint32_t num_shards = 1;
};

/// READY's `d`: v 10, the bot user, every routed guild as `{id, unavailable: true}`, session_id,
/// resume_gateway_url, shard (when given), application `{id, flags}`.
[[nodiscard]] std::string ready_body(const catalog& c, const ready_params& p);

/// GUILD_CREATE's `d` for one guild: id, name, member_count, large, joined_at, channels, roles,
/// members (only the bot unless GUILD_PRESENCES... per the docs' rules, bounded by large_threshold),
/// presences, voice_states, threads, stage_instances, guild_scheduled_events, soundboard_sounds.
[[nodiscard]] std::string guild_create_body(const catalog& c, const guild_info& g,
                                            std::uint64_t intents, std::uint32_t large_threshold);

/// A Request Guild Members (op 8) as parsed from the client.
struct member_request {
    snowflake guild_id = 0;
    std::optional<std::string> query;
    std::uint32_t limit = 0;
    bool presences = false;
    std::vector<snowflake> user_ids;
    std::optional<std::string> nonce; ///< Already checked: at most 32 bytes (else dropped).
};

/// GUILD_MEMBERS_CHUNK bodies answering `r`: at most 1000 members each, chunk_index/chunk_count,
/// nonce echoed, `not_found` for requested user ids that are not members, presences when asked and
/// allowed by `intents`. An unknown guild gives one empty chunk.
[[nodiscard]] std::vector<std::string> guild_members_chunks(const catalog& c, const member_request& r,
                                                            std::uint64_t intents);

/// RATE_LIMITED's `d` for op 8: `{opcode: 8, retry_after: seconds, meta: {guild_id, nonce?}}`.
[[nodiscard]] std::string rate_limited_body(snowflake guild_id, double retry_after_seconds,
                                            const std::optional<std::string>& nonce);

/// VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE answering an Update Voice State (op 4).
[[nodiscard]] std::vector<dispatch_body> voice_state_answer(const catalog& c, snowflake guild_id,
                                                            std::optional<snowflake> channel_id,
                                                            bool self_mute, bool self_deaf,
                                                            std::string_view session_id);

/// SOUNDBOARD_SOUNDS for one guild (op 31).
[[nodiscard]] std::string soundboard_sounds_body(const catalog& c, snowflake guild_id);

/// CHANNEL_INFO for one guild (op 43), with the requested fields only.
[[nodiscard]] std::string channel_info_body(const catalog& c, snowflake guild_id,
                                            const std::vector<std::string>& fields);

/// Realistic synthetic dispatches for one shard, seeded so runs repeat: MESSAGE_CREATE (most),
/// TYPING_START, MESSAGE_REACTION_ADD, PRESENCE_UPDATE, GUILD_MEMBER_UPDATE, MESSAGE_UPDATE,
/// MESSAGE_DELETE, all in guilds routed to the shard and only of kinds its intents let through.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class traffic_generator {
public:
    traffic_generator(const catalog& c, std::uint64_t seed, std::uint32_t shard_id,
                      std::uint32_t num_shards, std::uint64_t intents);

    /// The next event, or nullopt when the shard has no guilds or its intents allow none of the kinds.
    [[nodiscard]] std::optional<dispatch_body> next(std::uint64_t unix_ms);

    /// An event of the named kind (e.g. for `POST /_emulator/flood` with "MESSAGE_CREATE"); a kind
    /// the generator does not know gets a minimal plausible body `{"guild_id": ...}`.
    [[nodiscard]] dispatch_body make(std::string_view t, std::uint64_t unix_ms);

private:
    const catalog* catalog_;
    std::mt19937_64 rng_;
    std::vector<const guild_info*> guilds_;
    std::uint64_t intents_;
    std::uint64_t counter_ = 0;
};

} // namespace shardgate::emulator
