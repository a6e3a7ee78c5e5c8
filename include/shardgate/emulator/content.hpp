#pragma once
/// @file
/// The `d` bodies the emulator sends, as JSON text: READY, GUILD_CREATE, the answers to commands,
/// and synthetic traffic. Pure functions of the catalog and their arguments; no state, no I/O.
/// @see https://discord.com/developers/docs/events/gateway-events#receive-events

#include "shardgate/emulator/catalog.hpp"

#include <array>
#include <cstddef>
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
    /// With num_shards: echoed as `shard` when Identify had it. Without it the session is [0, 1].
    std::optional<std::uint32_t> shard_id;
    std::uint32_t num_shards = 1;
};

/// READY's `d`: v 10, the bot user (with email null, verified, mfa_enabled), every guild routed to
/// the shard as `{id, unavailable: true}`, session_id, resume_gateway_url, shard (when given),
/// application `{id, flags}`, and the empty user-account fields Discord still sends to bots.
/// @see https://discord.com/developers/docs/events/gateway-events#ready
[[nodiscard]] std::string ready_body(const catalog& c, const ready_params& p);

/// GUILD_CREATE's `d` for one guild: the guild object (roles with @everyone first, channels without
/// `guild_id`) plus joined_at, large (`member_count > large_threshold`), member_count, members,
/// presences, voice_states, threads, stage_instances, guild_scheduled_events, soundboard_sounds.
///
/// `members` follows the docs: without GUILD_PRESENCES, or above 75,000 members, only the bot (no
/// one is ever in voice here); with it, in a large guild only the non-offline members; otherwise
/// every member. At most 1000 members are listed, to keep the body bounded. `presences` holds the
/// non-offline members among those listed.
/// @see https://discord.com/developers/docs/events/gateway-events#guild-create
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
/// nonce echoed, `not_found` (strings) for requested user ids that are not members, presences (of
/// the non-offline members) when asked and allowed by `intents`. An unknown guild gives one empty
/// chunk.
///
/// `user_ids` wins over `query` and is cut to its first 100 ids. `query` is a case-insensitive
/// username prefix returning at most `limit` (at most 100; 0 means 100) members, except the
/// everyone form, `query == ""` with `limit == 0`, which returns every member. The caller enforces
/// that the everyone form needs GUILD_MEMBERS, and its rate limit.
/// @see https://discord.com/developers/docs/events/gateway-events#request-guild-members
[[nodiscard]] std::vector<std::string>
guild_members_chunks(const catalog& c, const member_request& r, std::uint64_t intents);

/// RATE_LIMITED's `d` for op 8: `{opcode: 8, retry_after: seconds, meta: {guild_id, nonce?}}`.
[[nodiscard]] std::string rate_limited_body(snowflake guild_id, double retry_after_seconds,
                                            const std::optional<std::string>& nonce);

/// VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE answering an Update Voice State (op 4).
///
/// Joining (`channel_id` set) gives both; leaving (nullopt) only VOICE_STATE_UPDATE with
/// `channel_id: null`. A guild the bot is not in gives nothing. The channel id is not checked
/// against the guild's voice channels.
[[nodiscard]] std::vector<dispatch_body> voice_state_answer(const catalog& c, snowflake guild_id,
                                                            std::optional<snowflake> channel_id,
                                                            bool self_mute, bool self_deaf,
                                                            std::string_view session_id);

/// SOUNDBOARD_SOUNDS for one guild (op 31): two or three sounds, none for an unknown guild.
[[nodiscard]] std::string soundboard_sounds_body(const catalog& c, snowflake guild_id);

/// CHANNEL_INFO for one guild (op 43): every voice channel as `{id}` plus "status" and/or
/// "voice_start_time" when requested (unknown field names are ignored).
[[nodiscard]] std::string channel_info_body(const catalog& c, snowflake guild_id,
                                            const std::vector<std::string>& fields);

/// Realistic synthetic dispatches for one shard, seeded so runs repeat: MESSAGE_CREATE (most),
/// TYPING_START, MESSAGE_REACTION_ADD, PRESENCE_UPDATE, GUILD_MEMBER_UPDATE, MESSAGE_UPDATE,
/// MESSAGE_DELETE, all in guilds routed to the shard and only of kinds its intents let through.
///
/// Every event is guild traffic, so only the GUILD_* intents of the dispatch table count (the
/// DIRECT_* ones cover DMs). Without MESSAGE_CONTENT, messages have empty content, embeds and
/// attachments unless they mention the bot, as on Discord. Authors are the guild's generated
/// members, the active ones more often; updates, deletes and reactions refer to messages generated
/// before. MESSAGE_CREATE bodies average about 1 KB.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class traffic_generator {
public:
    traffic_generator(const catalog& c, std::uint64_t seed, std::uint32_t shard_id,
                      std::uint32_t num_shards, std::uint64_t intents);

    /// The next event, or nullopt when the shard has no guilds or its intents allow none of the
    /// kinds. `unix_ms` dates the event (timestamps, message ids).
    [[nodiscard]] std::optional<dispatch_body> next(std::uint64_t unix_ms);

    /// An event of the named kind (e.g. for `POST /_emulator/flood` with "MESSAGE_CREATE"),
    /// whatever the intents; a kind the generator does not know gets a minimal plausible body
    /// `{"guild_id": ...}`, and a shard without guilds gets `{}`.
    [[nodiscard]] dispatch_body make(std::string_view t, std::uint64_t unix_ms);

private:
    /// A message generated recently, so that updates, deletes and reactions refer to real ones.
    struct recent_message {
        const guild_info* guild = nullptr;
        snowflake id = 0;
        snowflake channel_id = 0;
        std::uint32_t author = 0;
        std::uint64_t unix_ms = 0;
    };
    static constexpr std::size_t kind_count_ = 7;
    static constexpr std::size_t recent_capacity_ = 64;

    void write_(std::size_t kind, std::uint64_t unix_ms); // into buffer_
    [[nodiscard]] snowflake next_id_(std::uint64_t unix_ms) noexcept;

    const catalog* catalog_;
    std::mt19937_64 rng_;
    std::vector<const guild_info*> guilds_;
    std::uint64_t intents_;
    std::uint64_t counter_ = 0;
    std::uint32_t shard_id_ = 0;
    std::array<std::uint32_t, kind_count_> cumulative_{}; ///< Cumulative weights; 0 = not allowed.
    std::uint32_t total_weight_ = 0;
    std::array<recent_message, recent_capacity_> recent_{};
    std::size_t recent_count_ = 0;
    std::string buffer_; ///< The body being written; keeps its capacity between events.
    std::string text_;   ///< Message content being composed.
};

} // namespace shardgate::emulator
