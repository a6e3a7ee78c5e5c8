#pragma once
/// @file
/// The emulated application's world: its bot user, guilds, channels and members, all generated from
/// the seed so that two runs with the same seed see the same ids and names.

#include "shardgate/emulator/config.hpp"
#include "shardgate/gateway/snowflake.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shardgate::emulator {

using gateway::snowflake;

/// One guild the bot is in.
struct guild_info {
    snowflake id = 0;
    std::string name;
    std::vector<snowflake> text_channel_ids;  ///< 3 to 8, oldest ("general") first.
    std::vector<snowflake> voice_channel_ids; ///< 1 to 4.
    /// `role_ids[0]` is @everyone (its id is the guild id), the last is the bot's managed role, and
    /// 2 to 6 ordinary roles lie between.
    std::vector<snowflake> role_ids;
    /// Members 0..count-1; member 0 is the bot itself. Between about half and twice
    /// `members_per_guild` (log-uniform), at least 1 and at most 2^22.
    std::uint32_t member_count = 0;
};

/// One generated user.
struct user_info {
    snowflake id = 0;
    std::string username;    ///< Lowercase, new-style (unique-username era), e.g. "sleepyotter42".
    std::string global_name; ///< Display name; empty means none (written as null), as for the bot.
    std::string avatar;      ///< 32 hex digits.
};

/// Deterministic content of one emulated application.
///
/// Everything derives from `config.seed`: the same seed gives the same ids and names, another seed
/// different ones. Snowflakes look real, `(ms_since_discord_epoch << 22) | low 22 bits`, with
/// creation times in 2016-2025. Members are not stored: `member()` computes them from
/// (seed, guild, index) on demand, so thousands of guilds with thousands of members cost only the
/// guild list. A member's index is encoded (masked per guild) in the low 22 bits of its user id,
/// which makes `member_index()` O(1).
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Safe for const member functions.
class catalog {
public:
    /// Generates the bot user and `config.guilds` guilds from `config.seed`.
    explicit catalog(const emulator_config& config);

    /// The application id; equal to the bot user's id, as for every application made since 2016.
    [[nodiscard]] snowflake application_id() const noexcept;
    /// READY's `application.flags`: the GATEWAY_* flags of the privileged intents that
    /// `allowed_privileged_intents` enables (the *_LIMITED variants below 100 guilds).
    /// @see https://discord.com/developers/docs/resources/application#application-object
    [[nodiscard]] std::uint64_t application_flags() const noexcept;
    /// The bot's own user (member 0 of every guild); its `global_name` is empty.
    [[nodiscard]] const user_info& bot_user() const noexcept;
    /// Every guild, sorted by id.
    [[nodiscard]] std::span<const guild_info> guilds() const noexcept;
    /// The guild with this id, or nullptr; O(log guilds).
    [[nodiscard]] const guild_info* find_guild(snowflake id) const noexcept;

    /// Guilds routed to `shard_id` of `num_shards` by Discord's formula
    /// `(guild_id >> 22) % num_shards`.
    /// @pre `num_shards > 0` (asserted; 0 is treated as 1 in release builds).
    /// @see https://discord.com/developers/docs/events/gateway#sharding
    [[nodiscard]] std::vector<const guild_info*> guilds_for_shard(std::uint32_t shard_id,
                                                                  std::uint32_t num_shards) const;

    /// Member `index` (0..member_count-1) of a guild; generated on demand, the same every time.
    [[nodiscard]] user_info member(const guild_info& guild, std::uint32_t index) const;
    /// The index of the member with this user id in the guild, if any; O(1).
    [[nodiscard]] std::optional<std::uint32_t> member_index(const guild_info& guild,
                                                            snowflake user_id) const;

    /// A new snowflake with the given creation time (ms since the Discord epoch) and a counter, for
    /// message ids and the like. The low 22 bits of `counter` fill worker, process and increment.
    [[nodiscard]] static snowflake make_snowflake(std::uint64_t ms_since_discord_epoch,
                                                  std::uint64_t counter) noexcept;

private:
    [[nodiscard]] snowflake member_id_(const guild_info& guild, std::uint32_t index) const noexcept;

    std::uint64_t seed_;
    snowflake application_id_ = 0;
    std::uint64_t application_flags_ = 0;
    user_info bot_;
    std::vector<guild_info> guilds_;
};

} // namespace shardgate::emulator
