#pragma once
/// @file
/// `--log-level` and `--log-format`, shared by `connect`, `serve` and `demo`, and the level each
/// lifecycle event is logged at.

#include "shardgate/gateway/shard_event.hpp"
#include "shardgate/observe/log.hpp"

#include <string>

namespace shardgate::cli {

struct log_settings {
    observe::log_level level = observe::log_level::info;
    observe::log_format format = observe::log_format::text;
};

/// Parses the two options. @param error Receives a message naming the accepted values.
[[nodiscard]] bool parse_log_settings(const std::string& level, const std::string& format,
                                      log_settings& settings, std::string& error);

/// error for `fatal`, warn for `protocol_error`, debug for the steps of a connection (connecting,
/// hello, identifying, resuming), info for the rest (ready, resumed, closed, op 7, op 9, zombie).
[[nodiscard]] observe::log_level lifecycle_log_level(gateway::lifecycle_kind kind) noexcept;

} // namespace shardgate::cli
