#pragma once
/// @file
/// What `shardgate serve` makes of the emulator's own log (`io::emulator_server_options::on_log`,
/// one JSON object per entry): a line for its log and an entry for the status page's feed, in the
/// shape of `observe::lifecycle_entry_json`.

#include "shardgate/observe/log.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shardgate::cli {

/// What `serve` logs and shows in the feed for one entry of the emulator's log.
struct emulator_log_view {
    observe::log_level level = observe::log_level::info;
    std::optional<std::uint32_t> shard;
    std::string text;       ///< e.g. `sent close 4009 (Session timed out)`
    std::string entry_json; ///< The page's `lifecycle` entry.
};

/// The emulator's side of a connection's life, for people: nullopt for routine entries
/// (connect, hello, heartbeats, commands, dispatches).
[[nodiscard]] std::optional<emulator_log_view>
describe_emulator_log(std::string_view entry_json, std::chrono::system_clock::time_point when);

} // namespace shardgate::cli
