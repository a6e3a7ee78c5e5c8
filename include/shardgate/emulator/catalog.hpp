#pragma once
/// @file
/// The emulated application's world: its bot user, guilds, channels and members, all generated from
/// the seed so that two runs with the same seed see the same ids and names.

#include "shardgate/emulator/config.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shardgate::emulator {

using snowflake = std::uint64_t;

/// One guild the bot is in.
struct guild_info {
    snowflake id = 0;
    std::string name;
    std::vector<snowflake> text_channel_ids;
    std::vector<snowflake> voice_channel_ids;
    std::vector<snowflake> role_ids;
    std::uint32_t member_count = 0; ///< Members 0..count-1; member 0 is the bot itself.
};

/// One generated user.
struct user_info {
    snowflake id = 0;
    std::string username;
    std::string global_name;
    std::string avatar; ///< 32 hex digits.
};

/// Deterministic content of one emulated application.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Safe for const member functions.
class catalog {
public:
    explicit catalog(const emulator_config& config);

    [[nodiscard]] snowflake application_id() const noexcept;
    [[nodiscard]] const user_info& bot_user() const noexcept;
    [[nodiscard]] std::span<const guild_info> guilds() const noexcept;
    [[nodiscard]] const guild_info* find_guild(snowflake id) const noexcept;

    /// Guilds routed to `shard_id` of `num_shards` by Discord's formula `(guild_id >> 22) % num_shards`.
    [[nodiscard]] std::vector<const guild_info*> guilds_for_shard(std::uint32_t shard_id,
                                                                  std::uint32_t num_shards) const;

    /// Member `index` (0..member_count-1) of a guild; generated on demand, the same every time.
    [[nodiscard]] user_info member(const guild_info& guild, std::uint32_t index) const;
    /// The index of the member with this user id in the guild, if any.
    [[nodiscard]] std::optional<std::uint32_t> member_index(const guild_info& guild,
                                                            snowflake user_id) const;

    /// A new snowflake with the given creation time (ms since the Discord epoch) and a counter, for
    /// message ids and the like.
    [[nodiscard]] static snowflake make_snowflake(std::uint64_t ms_since_discord_epoch,
                                                  std::uint64_t counter) noexcept;

private:
    std::uint64_t seed_;
    snowflake application_id_;
    user_info bot_;
    std::vector<guild_info> guilds_;
};

} // namespace shardgate::emulator
