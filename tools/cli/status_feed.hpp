#pragma once
/// @file
/// What `--metrics HOST:PORT` shows besides Prometheus text: the status page's data. A snapshot
/// of the shards as JSON (`/status.json`, the `status` event) with events per second worked out
/// between snapshots, and lifecycle events as feed entries (the `lifecycle` event) and as
/// one-line texts for logs. The JSON shapes are the page's contract
/// (src/observe/status_page/index.html).

#include "shardgate/gateway/shard_event.hpp"
#include "shardgate/io/cluster.hpp"
#include "shardgate/io/status_server.hpp"
#include "shardgate/observe/log.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardgate::cli {

/// Totals the page shows beyond what the shards' snapshots sum to (the demo's faults and checks).
struct feed_extras {
    std::optional<std::uint64_t> faults;
    std::optional<std::uint64_t> lost;
    std::optional<std::uint64_t> duplicated;
};

/// One shard as the page shows it (the emulator's view in `serve`, the cluster's elsewhere).
struct feed_shard {
    std::uint32_t id = 0;
    std::string_view state;
    std::optional<double> latency_ms;
    std::uint64_t dispatches = 0;
    std::uint64_t identifies = 0;
    std::uint64_t resumes = 0;
    std::optional<std::uint16_t> last_close_code;
};

/// Builds `status` snapshots. Thread-safe.
class status_feed {
public:
    /// @param mode "demo", "connect" or "serve".
    status_feed(std::string title, std::string mode);

    /// `{"title":..,"mode":..,"uptime_s":..,"shards":[{"id","state","latency_ms","events_per_s",
    /// "dispatches","resumes","identifies","last_close_code"}],"totals":{"events_per_s",
    /// "dispatches","resumes","identifies",...extras}}`. Rates are averaged over at least a second.
    [[nodiscard]] std::string snapshot(std::span<const feed_shard> shards,
                                       const feed_extras& extras = {});
    [[nodiscard]] std::string snapshot(std::span<const io::shard_status> shards,
                                       const feed_extras& extras = {});

private:
    using steady = std::chrono::steady_clock;
    std::string title_;
    std::string mode_;
    steady::time_point start_ = steady::now();
    std::mutex mutex_;
    std::optional<steady::time_point> window_start_;
    std::map<std::uint32_t, std::uint64_t> window_counts_;
    std::map<std::uint32_t, double> rates_;
};

/// A person's one-line account of a lifecycle event, e.g. `closed with 4000 (Unknown error):
/// resuming`, `resumed`, `fatal 4014 (Disallowed intent(s)): <remedy>`.
[[nodiscard]] std::string describe_lifecycle(const gateway::lifecycle_event& e);

/// The page's `lifecycle` entry: `{"time","shard","kind","text"}` plus `code`, `name`, `reaction`
/// (closed, fatal) and `remedy` (fatal).
[[nodiscard]] std::string lifecycle_entry_json(const gateway::lifecycle_event& e,
                                               std::chrono::system_clock::time_point when);

/// The page's entry for a fault the demo injected:
/// `{"time","shard","kind":"fault","fault","text"}`.
[[nodiscard]] std::string fault_entry_json(std::uint32_t shard, std::string_view fault,
                                           std::string_view text,
                                           std::chrono::system_clock::time_point when);

/// Logs a shard's lifecycle event (at `lifecycle_log_level`; fatal closes and bad frames with
/// `fatal_line` / `protocol_error_line`, whose text is safe on one terminal line, the rest with
/// `describe_lifecycle`) and, when `page` is set, publishes it to the status page's feed (all but
/// `hello`). What `connect` and `demo` do with every lifecycle event.
void report_lifecycle(observe::logger& log, io::status_server* page,
                      const gateway::lifecycle_event& e);

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
