#pragma once
/// @file
/// Lazy access to a dispatch's `d` (raw JSON text, as `dispatch_event::data` and
/// `io::dispatch::data` hand it over): one top-level member at a time, without parsing the rest or
/// modelling Discord's objects.

#include <optional>
#include <string>
#include <string_view>

namespace shardgate::gateway {

/// The raw JSON text of the top-level member `key` of the JSON object `raw_json`, or nullopt when
/// `raw_json` is not an object or has no such member. Strings keep their quotes and escapes
/// (`"abc"`); objects and arrays come whole.
///
/// Parses with simdjson On-Demand after copying `raw_json` into a padded buffer the helper owns
/// (one per thread, reused), stopping at the member found. The result points into `raw_json`, so it
/// is valid as long as `raw_json` is.
///
/// @par Example
/// @code
/// bot.on_dispatch([](const shardgate::io::dispatch& d) {
///     if (d.name == "MESSAGE_CREATE") {
///         auto channel = shardgate::gateway::field(d.data, "channel_id"); // "\"1234\""
///     }
/// });
/// @endcode
/// @par Thread Safety
/// Safe (the buffer is thread-local).
[[nodiscard]] std::optional<std::string_view> field(std::string_view raw_json,
                                                    std::string_view key);

/// Like `field`, for a string member: its value unescaped, or nullopt when absent or not a string.
[[nodiscard]] std::optional<std::string> string_field(std::string_view raw_json,
                                                      std::string_view key);

} // namespace shardgate::gateway
