#pragma once
/// @file
/// Snowflakes, Discord's 64-bit ids, and the arithmetic on them: when an id was made, how to make
/// one, and which shard receives a guild's events.
///
/// @par Theory of operation
/// A snowflake is `(ms since the Discord epoch << 22) | worker (5 bits) | process (5) | increment
/// (12)`, where the Discord epoch is 2015-01-01T00:00:00Z (Unix ms 1420070400000). Ids therefore
/// sort by creation time, and the guild-to-shard formula `(guild_id >> 22) % shard_count` spreads
/// guilds over shards by the millisecond they were created in. Both sides of the gateway use these
/// helpers: the client to route commands (`io::cluster::send_to_guild`), the emulator to make ids
/// and to decide which shard gets which guild. Everything is `constexpr` on plain integers.
///
/// @par Thread Safety
/// Functions and constants only: safe from any thread.
/// @see https://discord.com/developers/docs/reference#snowflakes
/// @see https://discord.com/developers/docs/events/gateway#sharding

#include <cstdint>

namespace shardgate::gateway {

/// A Discord id. Encoded as a JSON string, as Discord sends and accepts ids; 0 is never a valid id.
using snowflake = std::uint64_t;

/// Unix ms of the Discord epoch, 2015-01-01T00:00:00Z: the zero of a snowflake's timestamp.
inline constexpr std::uint64_t discord_epoch_ms = 1'420'070'400'000;
/// Where a snowflake's timestamp starts: below it are worker, process and increment.
inline constexpr unsigned snowflake_timestamp_shift = 22;
/// The low 22 bits of a snowflake: worker (5), process (5) and increment (12).
inline constexpr std::uint64_t snowflake_low_mask =
    (std::uint64_t{1} << snowflake_timestamp_shift) - 1;

/// When `id` was made, in ms since the Discord epoch (`id >> 22`).
[[nodiscard]] constexpr std::uint64_t ms_since_discord_epoch(snowflake id) noexcept {
    return id >> snowflake_timestamp_shift;
}

/// When `id` was made, in Unix ms.
[[nodiscard]] constexpr std::uint64_t created_at_ms(snowflake id) noexcept {
    return ms_since_discord_epoch(id) + discord_epoch_ms;
}

/// The snowflake made `discord_ms` after the Discord epoch with `low_bits` as worker, process and
/// increment (only their low 22 bits are used, so a plain counter may be passed).
/// @pre `discord_ms < 2^42` (until the year 2154); higher bits are lost.
[[nodiscard]] constexpr snowflake make_snowflake(std::uint64_t discord_ms,
                                                 std::uint64_t low_bits) noexcept {
    return (discord_ms << snowflake_timestamp_shift) | (low_bits & snowflake_low_mask);
}

/// The shard that receives a guild's events: `(guild_id >> 22) % shard_count`. A `shard_count` of
/// 0 is treated as 1, so the answer is always a valid shard id.
/// @see https://discord.com/developers/docs/events/gateway#sharding
[[nodiscard]] constexpr std::uint32_t shard_for_guild(snowflake guild_id,
                                                      std::uint32_t shard_count) noexcept {
    return static_cast<std::uint32_t>(ms_since_discord_epoch(guild_id) %
                                      (shard_count == 0 ? 1 : shard_count));
}

} // namespace shardgate::gateway
