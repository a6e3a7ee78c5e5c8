#pragma once
/// @file
/// Discord's timestamps: the ISO 8601 text of `timestamp`, `edited_timestamp`, `joined_at` and the
/// like, read into a point in time and written from one.
///
/// @par Theory of operation
/// Discord writes UTC with six fractional digits and an explicit offset:
/// `2026-11-28T23:59:01.123000+00:00`. `format_timestamp` writes exactly that form (the emulator
/// uses it for every timestamp it sends). `parse_timestamp` reads it back, and also what other
/// servers and libraries write for the same instant: `Z` for `+00:00`, no fraction or a fraction of
/// any length (digits beyond microseconds are truncated), and a space for `T`. Any other offset is
/// refused rather than converted, since Discord never sends one. Both are pure functions: no clock,
/// no locale, no allocation.
///
/// @par Thread Safety
/// Functions only: safe from any thread.
/// @see https://discord.com/developers/docs/reference#iso8601-datetime

#include <array>
#include <chrono>
#include <optional>
#include <string_view>

namespace shardgate::gateway {

/// A point in time as Discord's timestamps carry it: UTC, to the microsecond.
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// Room for the text of a timestamp, `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (32 characters).
using timestamp_text = std::array<char, 32>;

/// Reads a timestamp as Discord writes it (see the file comment for the variants accepted).
/// @return The instant, or nullopt when `text` is malformed, names an impossible date or time
///         (month 13, February 29 of a common year, hour 24), or has an offset other than UTC.
[[nodiscard]] std::optional<timestamp> parse_timestamp(std::string_view text) noexcept;

/// Writes `t` the way Discord does, e.g. `2024-05-06T07:08:09.123000+00:00`.
/// @pre `t` lies in the years 0000 to 9999 (asserted).
/// @return The text, inside `buf`.
[[nodiscard]] std::string_view format_timestamp(timestamp t, timestamp_text& buf) noexcept;

} // namespace shardgate::gateway
