#pragma once
/// @file
/// `shardgate demo`: the main job on an embedded default (DESIGN.md, "shardgate demo"). The
/// emulator in-process on a free loopback port with seeded traffic, a cluster of shards against
/// it, a fault injected every few seconds (close 4000, op 7, op 9, a zombie, a TCP drop, in turn),
/// the live status, and at the end a summary: events delivered, resumes, identifies, faults, lost
/// and duplicated events (both must be 0), p50/p99 latency. No token, no network.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace shardgate::cli {

/// The command line of `shardgate demo`.
struct demo_options {
    std::uint32_t shards = 8;             ///< `--shards N`
    std::optional<double> duration{};     ///< `--duration SECONDS` (default: until Ctrl-C)
    bool json = false;                    ///< `--json`: the summary as one JSON object on stdout
    std::optional<std::string> metrics{}; ///< `--metrics HOST:PORT`: /metrics and the page
    double fault_every = 3.0;             ///< `--fault-every SECONDS` (0: no faults)
    bool chaos = false;    ///< `--chaos`: faults drawn at random (seeded) from every non-fatal kind
    double traffic = 20.0; ///< `--traffic N`: dispatches per second per shard
    std::uint64_t seed = 1;               ///< `--seed N`
    std::string compress = "zlib-stream"; ///< `--compress zlib-stream|zstd-stream|none`
    unsigned threads = 1;                 ///< `--threads N`
    std::string log_level = "info";       ///< `--log-level debug|info|warn|error|off`
    std::string log_format = "text";      ///< `--log-format text|json`
    unsigned workers = 0; ///< `--workers N`: the scale-out on NATS JetStream (0: one process)
};

/// Where the demo's live status goes.
struct demo_environment {
    bool stderr_is_tty = false;
    std::size_t columns = 80;
};

/// Runs the demo until `--duration` or SIGINT/SIGTERM. The summary goes to `out`, the live status
/// and the log to `err`.
/// @return 0 when every event arrived once and in order, 1 when some were lost or duplicated or
/// the demo could not start, 2 for bad usage.
int run_demo(const demo_options& options, const demo_environment& environment, std::ostream& out,
             std::ostream& err);

/// `demo --workers N` (demo_workers.cpp): nats-server, the emulator and N worker processes, one
/// killed mid-run; lost and duplicated are counted from the stream. Same exit statuses.
int run_demo_workers(const demo_options& options, std::ostream& out, std::ostream& err);

} // namespace shardgate::cli
