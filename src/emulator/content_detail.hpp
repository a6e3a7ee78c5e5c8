#pragma once
/// @file
/// Internals shared by catalog.cpp, content.cpp and traffic.cpp: hashing, time formatting, word
/// lists and the writers for the user, member and presence objects that several bodies embed.
/// Not installed; not part of the public API.

#include "shardgate/emulator/catalog.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/gateway/snowflake.hpp"
#include "shardgate/gateway/timestamp.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace shardgate::emulator::detail {

using gateway::detail::json_writer;

/// Creation times of generated objects lie in [2016-01-01, 2026-01-01), in ms since the Discord
/// epoch.
inline constexpr std::uint64_t first_created_ms = 1'451'606'400'000 - gateway::discord_epoch_ms;
inline constexpr std::uint64_t end_created_ms = 1'767'225'600'000 - gateway::discord_epoch_ms;

/// splitmix64's finalizer: a cheap, well-mixed 64-bit hash.
[[nodiscard]] constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31U);
}
[[nodiscard]] constexpr std::uint64_t hash(std::uint64_t a, std::uint64_t b) noexcept {
    return mix(mix(a) ^ b);
}
[[nodiscard]] constexpr std::uint64_t hash(std::uint64_t a, std::uint64_t b,
                                           std::uint64_t c) noexcept {
    return mix(hash(a, b) ^ c);
}
/// A value in [0, n) from a hash (n > 0); the modulo bias is far below what anyone could notice.
[[nodiscard]] constexpr std::uint64_t below(std::uint64_t h, std::uint64_t n) noexcept {
    return h % n;
}
/// Uniform in [lo, hi).
[[nodiscard]] constexpr std::uint64_t in_range(std::uint64_t h, std::uint64_t lo,
                                               std::uint64_t hi) noexcept {
    return lo + below(h, hi - lo);
}

/// Words to build names and message text from.
[[nodiscard]] std::span<const std::string_view> adjectives() noexcept;
[[nodiscard]] std::span<const std::string_view> nouns() noexcept;
[[nodiscard]] std::span<const std::string_view> chat_words() noexcept;
[[nodiscard]] inline std::string_view pick(std::span<const std::string_view> words,
                                           std::uint64_t h) noexcept {
    return words[below(h, words.size())];
}

/// Formats Unix ms the way Discord does: "2024-05-06T07:08:09.123000+00:00". Returns the text
/// inside `buf`. The emulator keeps time in Unix ms; gateway::format_timestamp does the writing.
[[nodiscard]] inline std::string_view iso8601(std::uint64_t unix_ms,
                                              gateway::timestamp_text& buf) noexcept {
    const std::chrono::milliseconds since_epoch(static_cast<std::int64_t>(unix_ms));
    return gateway::format_timestamp(gateway::timestamp(since_epoch), buf);
}

/// Presence status of a generated user (users are offline about 60% of the time).
enum class presence_status : std::uint8_t { offline, online, idle, dnd };
[[nodiscard]] std::string_view status_name(presence_status s) noexcept;
/// The status of member `index` of a guild; the bot (index 0) is always online.
[[nodiscard]] presence_status member_status(const user_info& u, std::uint32_t index) noexcept;

/// Writes a user object (the public fields any user object carries; `bot: true` for the bot).
void write_user(json_writer& w, const user_info& u, bool is_bot);
/// Writes a guild member object for member `index` (with `user` when `with_user`, and
/// `guild_id` first when it is non-zero, as GUILD_MEMBER_UPDATE has it): roles, nick, joined_at
/// and the flags, all derived from the ids so every body agrees on them.
void write_member(json_writer& w, const guild_info& g, const user_info& u, std::uint32_t index,
                  bool with_user, snowflake guild_id = 0);
/// When member `index` joined the guild (Unix ms); index 0 gives the bot's, i.e. GUILD_CREATE's
/// joined_at.
[[nodiscard]] std::uint64_t member_joined_unix_ms(const guild_info& g, const user_info& u) noexcept;
/// Writes a presence object `{user: {id}, status, activities, client_status}` plus `guild_id`
/// when `guild_id` is non-zero.
void write_presence(json_writer& w, const user_info& u, presence_status s, snowflake guild_id);
/// Writes a snowflake the JSON way: as a decimal string.
void write_id(json_writer& w, snowflake id);

} // namespace shardgate::emulator::detail
