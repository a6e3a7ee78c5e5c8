#pragma once
/// @file
/// `shardgate bench`: end-to-end figures against the emulator on 127.0.0.1, as a user would see
/// them. The emulator runs as a child process (`shardgate serve`, so its CPU is its own), the
/// shards in a forked child of this process through the library (so each scenario's memory is
/// its own), and each flood is compared with the limit: the same events inflated with zlib (or
/// zstd) and parsed with simdjson in a tight loop, measured in the same run.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace shardgate::cli {

struct bench_options {
    /// flood, idle, startup, threads, output, or all (the default).
    std::vector<std::string> scenarios;
    std::uint64_t events = 200'000;         ///< `--events`: MESSAGE_CREATEs per flood
    std::vector<std::string> compressions;  ///< `--compress` (default: none, zlib, zstd)
    std::vector<std::uint32_t> idle_shards; ///< `--idle-shards` (default: 1000)
    std::uint32_t startup_shards = 1'024;   ///< `--startup-shards`
    std::uint32_t startup_concurrency = 16; ///< `--startup-concurrency`
    std::int64_t startup_window_ms = 500;   ///< `--startup-window-ms`
    double idle_seconds = 10;               ///< `--idle-seconds`: CPU window of the idle test
    std::uint64_t seed = 1;                 ///< `--seed`
    unsigned repeat = 3;                    ///< `--repeat`: floods run, the best reported
    bool json = false;                      ///< `--json`: one JSON object per result line
};

/// Runs the scenarios and prints a table (or JSON lines) to `out`.
/// @return 0, 1 when a scenario could not run (its error is printed), 2 for bad usage.
int run_bench(const bench_options& options, std::ostream& out, std::ostream& err);

} // namespace shardgate::cli
