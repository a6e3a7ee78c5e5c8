#pragma once
/// @file
/// `shardgate serve`: the gateway emulator on a TCP port (DESIGN.md, "shardgate serve").

#include "shardgate/io/emulator_server.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace shardgate::cli {

/// The command line of `shardgate serve`, as typed; validated by `make_serve_options`.
struct serve_options {
    std::string listen = "127.0.0.1:0"; ///< `--listen HOST:PORT`
    std::vector<std::string> tokens;    ///< `--token T` (repeatable; none: any token)
    /// `--control-token T`: `/_emulator/` needs `Authorization: Bearer T`; required beyond
    /// loopback. Never printed.
    std::string control_token;
    std::uint32_t shards = 1;          ///< `--shards N`: what /gateway/bot recommends
    std::uint32_t max_concurrency = 1; ///< `--max-concurrency K`
    std::int64_t identify_window_ms = 5'000;
    std::int64_t heartbeat_interval_ms = 41'250;
    std::int64_t heartbeat_grace_ms = 5'000;
    std::uint32_t guilds = 10; ///< `--guilds N`
    std::string privileged;    ///< `--privileged NAMES`, comma-separated
    std::int64_t session_ttl_ms = 180'000;
    double traffic = 0; ///< `--traffic EVENTS_PER_S` per connected shard
    std::uint64_t seed = 1;
    std::uint32_t zlib_split_frames = 1;
    int zlib_window_bits = 15;
    int zlib_mem_level = 8;
    std::uint32_t members_per_guild = 50;
    std::uint32_t session_start_limit = 1'000;
    std::uint32_t max_guilds_per_shard = 2'500;
    std::optional<std::string> metrics{}; ///< `--metrics HOST:PORT`: /metrics and the status page
    std::string log_level = "info";       ///< `--log-level`
    std::string log_format = "text";      ///< `--log-format text|json`
};

/// Checks the values and turns them into server options.
/// @param error Receives a one-line message that names the fix when the values are bad.
/// @return The options, or nullopt (bad usage: exit status 2).
[[nodiscard]] std::optional<io::emulator_server_options>
make_serve_options(const serve_options& options, std::string& error);

/// Runs the emulator until SIGINT or SIGTERM. Prints `{"listening":"http://HOST:PORT"}` as the
/// first line of `out` (flushed; the port is the one bound, the host one to connect to) and logs
/// the address as bound. Returns the exit status: 0 after a signal, 2 for bad usage (listening
/// beyond loopback without `--control-token` included), 1 when the address cannot be bound.
int run_serve(const serve_options& options, std::ostream& out, std::ostream& err);

} // namespace shardgate::cli
