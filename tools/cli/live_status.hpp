#pragma once
/// @file
/// The live status of `shardgate connect --events summary` (the default), for stderr: a progress
/// bar while shards identify, then the event rate, heartbeat latency and resumes.
///
/// Pure: snapshots of `io::shard_status` and the elapsed time go in, the text to write comes out.
/// On a terminal the status block is redrawn in place with ANSI escapes; otherwise plain lines are
/// printed, at most one every `plain_interval`, and the text holds no escape sequence at all.

#include "shardgate/io/cluster.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::cli {

/// `[=====>    ] 12/16 shards ready`; `width` is the number of cells between the brackets.
[[nodiscard]] std::string render_progress_bar(std::size_t ready, std::size_t total,
                                              std::size_t width);

/// `0:05`, `1:02:03`.
[[nodiscard]] std::string format_elapsed(std::chrono::milliseconds elapsed);

/// `950`, `12.3k`, `1.25M`.
[[nodiscard]] std::string format_rate(double per_second);

struct live_status_options {
    bool tty = false; ///< Redraw in place (stderr is a terminal).
    std::chrono::milliseconds plain_interval{
        5'000};               ///< Non-TTY: at most one status line this often.
    std::size_t columns = 80; ///< TTY: status lines are cut to fit.
    std::size_t bar_width = 30;
    std::size_t max_shard_lines = 8; ///< TTY: one line per shard up to this many shards.
    std::chrono::milliseconds rate_window{1'000};   ///< Rates are averaged over at least this long.
    std::string_view command = "shardgate connect"; ///< Starts the final line.
};

/// Totals over a snapshot.
struct status_totals {
    std::size_t shards = 0;
    std::size_t active = 0;
    std::size_t fatal = 0;
    std::uint64_t dispatches = 0;
    std::uint64_t identifies = 0;
    std::uint64_t resumes = 0;
    std::uint64_t reconnects = 0;
    /// Heartbeat round trips (microseconds: loopback ones are well under a millisecond).
    std::optional<std::chrono::microseconds> latency_avg;
    std::optional<std::chrono::microseconds> latency_max;
};

[[nodiscard]] status_totals total(std::span<const io::shard_status> shards);

/// Lines (log records) gathered from any thread, to print above the status at the next redraw.
class message_queue {
public:
    /// Adds one line; a trailing newline is dropped (the status adds its own).
    void push(std::string_view line);
    /// Everything pushed since the last call, oldest first.
    [[nodiscard]] std::vector<std::string> take();

private:
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// Writes each message on a line of its own and flushes (nothing when there are none): what
/// stderr gets instead of a status drawing, e.g. with `--log-format json`.
void write_messages(std::ostream& err, std::span<const std::string> messages);

/// Renders the status. Not synchronised: call from one thread (the status timer).
class live_status {
public:
    explicit live_status(live_status_options options);

    /// Takes a snapshot and returns what to write to stderr now (possibly nothing).
    /// @param elapsed Time since the command started.
    /// @param shards `cluster::status()`.
    /// @param messages Lines to print once, above the status (fatal closes, protocol errors).
    [[nodiscard]] std::string update(std::chrono::milliseconds elapsed,
                                     std::span<const io::shard_status> shards,
                                     std::span<const std::string> messages = {});

    /// The last status (TTY) and a final summary line, e.g.
    /// `shardgate connect: stopped after 0:12: 2 shards, 1234 dispatches (102/s), 2 identifies,
    /// 0 resumes`.
    /// @param shards The last snapshot taken while the shards ran (for the TTY block).
    /// @param totals What the summary line reports (the caller's own counts: the cluster forgets
    /// its shards once it has stopped).
    [[nodiscard]] std::string finish(std::chrono::milliseconds elapsed,
                                     std::span<const io::shard_status> shards,
                                     const status_totals& totals, std::string_view reason,
                                     std::span<const std::string> messages = {});

    /// The status lines for this snapshot, without escapes (exposed for tests).
    [[nodiscard]] std::vector<std::string> status_lines(std::chrono::milliseconds elapsed,
                                                        std::span<const io::shard_status> shards);

private:
    void update_rates_(std::chrono::milliseconds elapsed, std::span<const io::shard_status> shards);
    std::string redraw_(const std::vector<std::string>& lines,
                        std::span<const std::string> messages);

    live_status_options options_;
    bool all_ready_seen_ = false;
    std::size_t lines_drawn_ = 0; // TTY: status lines below the cursor's row
    std::optional<std::chrono::milliseconds> last_plain_; // non-TTY: when the last line was printed
    // Rates: counts at the start of the current window, and the last computed rates.
    std::optional<std::chrono::milliseconds> window_start_;
    std::uint64_t window_total_ = 0;
    std::map<std::uint32_t, std::uint64_t> window_by_shard_;
    bool rate_known_ = false; // a full window has passed
    double rate_ = 0;
    std::map<std::uint32_t, double> rate_by_shard_;
};

} // namespace shardgate::cli
