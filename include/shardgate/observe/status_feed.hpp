#pragma once
/// @file
/// The live status page's data, as `io::status_server` serves it at `/status.json` and as the
/// `status` and `lifecycle` Server-Sent Events: a snapshot of the shards with events per second
/// worked out between snapshots, and lifecycle events as feed entries that name the close code
/// and say what was done. Pure formatting: no sockets and no threads; the clock is read only for
/// uptime and rates. The JSON shapes are the page's contract
/// (`src/observe/status_page/index.html`).
///
/// @par Example
/// A bot's own status page (see `examples/status_page.cpp`):
/// @code
/// namespace io = shardgate::io;
/// shardgate::observe::status_feed feed("my bot");
/// io::status_server page({.listen = "127.0.0.1:9464",
///                         .metrics = [&] { return bot.metrics(); },
///                         .status = [&] { return feed.snapshot(io::status_shards(bot.status()));
///                         }});
/// bot.on_lifecycle([&](const shardgate::gateway::lifecycle_event& e) { page.publish(e); });
/// page.start(); // before bot.run(); page.stop() after it
/// @endcode

#include "shardgate/gateway/shard_event.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace shardgate::observe {

/// One shard as the page shows it.
struct status_shard {
    std::uint32_t id = 0;
    /// A `gateway::shard_state` name (`active`, `resuming`, `fatally_closed`...: the page colours
    /// the cell by it), or another word of the caller's (`shardgate serve` shows `away`).
    std::string state;
    std::optional<double> latency_ms; ///< The last heartbeat round trip.
    std::uint64_t dispatches = 0;
    std::uint64_t identifies = 0;
    std::uint64_t resumes = 0;
    std::optional<std::uint16_t> last_close_code;
};

/// Totals the page shows beyond what the shards' figures add up to (`shardgate demo`'s injected
/// faults and sequence checks). Each appears in `totals` only when set.
struct status_extras {
    std::optional<std::uint64_t> faults;
    std::optional<std::uint64_t> lost;
    std::optional<std::uint64_t> duplicated;
};

/// Builds the page's `status` snapshots and remembers what it needs for rates between them.
///
/// @par Thread Safety
/// `snapshot` may be called from any thread (the status server calls it from its own).
class status_feed {
public:
    /// @param title The page's heading (and the browser tab's title).
    /// @param mode A badge beside the title (`demo`, `connect`, `serve`); empty: none.
    explicit status_feed(std::string title = "shardgate", std::string mode = {});

    /// `{"title","mode","uptime_s","shards":[{"id","state","latency_ms","events_per_s",
    /// "dispatches","resumes","identifies","last_close_code"}],"totals":{"events_per_s",
    /// "dispatches","resumes","identifies"[,"faults","lost","duplicated"]}}`. `events_per_s` is
    /// worked out from `dispatches` between snapshots at least a second apart (0 until then, and
    /// for a shard whose count went down); numbers a person reads have one decimal.
    [[nodiscard]] std::string snapshot(std::span<const status_shard> shards,
                                       const status_extras& extras = {});

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

/// A person's one-line account of a lifecycle event: `closed with 4000 (Unknown error):
/// resuming`, `resumed: missed events replayed`, `stopped on 4014 (Disallowed intent(s)): <the
/// remedy>`.
[[nodiscard]] std::string describe_lifecycle(const gateway::lifecycle_event& event);

/// Whether the page's feed shows events of this kind: all but `hello` (one per connection, and
/// `connecting` already says a connection starts).
[[nodiscard]] bool shown_in_feed(gateway::lifecycle_kind kind) noexcept;

/// The page's `lifecycle` entry: `{"time","shard","kind","text"}`, plus `code`, `name` and
/// `reaction` for `closed` and `fatal`, and `remedy` for `fatal`. `text` is `describe_lifecycle`.
[[nodiscard]] std::string lifecycle_entry_json(const gateway::lifecycle_event& event,
                                               std::chrono::system_clock::time_point when);

/// The page's entry for a fault someone injected (`shardgate demo` does, every few seconds):
/// `{"time","shard","kind":"fault","fault","text"}`.
[[nodiscard]] std::string fault_entry_json(std::uint32_t shard, std::string_view fault,
                                           std::string_view text,
                                           std::chrono::system_clock::time_point when);

} // namespace shardgate::observe
