#pragma once
/// @file
/// The run loop `shardgate connect` and `shardgate demo` share: the cluster runs on the caller's
/// thread while a timer thread, every 250 ms, draws the live status on stderr (or writes the log's
/// lines), and stops the cluster on SIGINT/SIGTERM or when `--duration` is up; `--metrics` serves
/// the cluster's metrics and the status page fed from it (`observe::status_feed`). What differs
/// between the commands (events on stdout, the demo's faults and checks, the final summary) comes
/// in through `run_hooks` and the calls after `run`.

#include "live_status.hpp"
#include "log_settings.hpp"
#include "shardgate/io/cluster.hpp"
#include "shardgate/io/status_server.hpp"
#include "shardgate/observe/log.hpp"
#include "shardgate/observe/status_feed.hpp"
#include "stop_signal.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace shardgate::cli {

struct run_loop_options {
    std::string_view command = "shardgate connect"; ///< Starts the final line; the page's title.
    std::string_view mode = "connect";              ///< The page's badge.
    log_settings log{};
    /// Draw the live status on stderr (with text logs); otherwise stderr gets only the log's lines.
    bool live_status = true;
    bool stderr_is_tty = false;                          ///< Redraw the status in place.
    std::size_t columns = 80;                            ///< Terminal width.
    std::optional<std::chrono::milliseconds> duration{}; ///< `--duration`
    std::optional<std::string> metrics{};                ///< `--metrics HOST:PORT`
    /// When elapsed time (the status, `--duration`) starts; default: when the cluster starts.
    std::optional<std::chrono::steady_clock::time_point> started_at{};
    /// `/metrics`; default: the cluster's. Called on the status server's thread.
    std::function<std::string()> metrics_text{};
    /// Totals the page shows besides the shards' (the demo's). Called on the status server's
    /// thread.
    std::function<observe::status_extras()> status_extras{};
};

/// What the command adds to the loop. `on_start` runs on the caller's thread; the rest on the
/// timer thread, in this order, every tick.
struct run_hooks {
    /// Once the page serves and before the cluster starts (the demo logs its settings here).
    std::function<void()> on_start{};
    std::function<void()> before_tick{}; ///< First (connect flushes stdout here).
    /// With the shards' snapshot, before the status is drawn (the demo injects faults here).
    std::function<void(std::span<const io::shard_status>)> on_tick{};
    std::function<void()> after_tick{}; ///< Last, after the stop checks.
    /// Runs the shards instead of `cluster.run` (a bridge worker wraps it).
    std::function<io::cluster_exit(std::error_code&, std::string&)> run{};
    /// Stops them instead of `cluster.stop()` on a signal or `--duration` (a worker hands its
    /// shards over).
    std::function<void()> stop{};
};

/// Why the loop stopped the cluster.
enum class stop_cause {
    none,     ///< It did not (every shard stopped, start-up failed, or a hook stopped it).
    signal,   ///< SIGINT or SIGTERM.
    duration, ///< `--duration` was up.
};

/// One run of a command: the signal guard, the log, the live status and the `--metrics` server.
///
/// @par Thread Safety
/// `log`, `report` and `publish_entry` may be called from any thread (the cluster's callbacks);
/// the rest from the thread that calls `run`.
class run_loop {
public:
    using clock = std::chrono::steady_clock;

    /// Starts noting SIGINT/SIGTERM and binds the `--metrics` server (it serves from `run`).
    /// @throws std::system_error from `io::status_server`: a malformed or busy address.
    run_loop(run_loop_options options, std::ostream& err);

    /// The command's log: its lines are printed above the live status at the next tick.
    [[nodiscard]] observe::logger& log() noexcept { return log_; }

    /// Logs a shard's lifecycle event (fatal closes and bad frames with `fatal_line` and
    /// `protocol_error_line`, the rest with `observe::describe_lifecycle`, at
    /// `lifecycle_log_level`) and shows it on the status page.
    void report(const gateway::lifecycle_event& event);
    /// Shows an entry on the status page's feed, e.g. `observe::fault_entry_json`.
    void publish_entry(std::string entry_json);

    /// Serves `--metrics`, calls `on_start`, then runs `cluster` on this thread with the timer
    /// beside it until `cluster.run` returns, and stops serving. `ec` and `detail` are
    /// `cluster::run`'s.
    [[nodiscard]] io::cluster_exit run(io::cluster& cluster, const run_hooks& hooks,
                                       std::error_code& ec, std::string& detail);

    /// Whether the loop has stopped the cluster, and why.
    [[nodiscard]] stop_cause stopped_by() const noexcept { return stopped_by_; }
    /// From `started_at` (or the start) to the moment `cluster.run` returned.
    [[nodiscard]] std::chrono::milliseconds elapsed() const noexcept { return elapsed_; }
    /// The last non-empty snapshot the timer took.
    [[nodiscard]] std::span<const io::shard_status> last_snapshot() const noexcept {
        return last_snapshot_;
    }
    /// After `run`: keeps how each shard ended instead, when the cluster still knows.
    void keep_final_snapshot(const io::cluster& cluster);

    /// Writes the log's pending lines.
    void write_pending_messages();
    /// After `run`: with the live status, its last drawing and the final line (`<command>:
    /// <reason> after 0:12: ...`), or with JSON logs `reason` as a log record with `fields`;
    /// without it, only the log's pending lines.
    void write_final(std::string_view reason, const status_totals& totals,
                     std::initializer_list<observe::log_field> fields);

private:
    void tick_(io::cluster& cluster, const run_hooks& hooks);
    [[nodiscard]] bool draws_status_() const noexcept;

    run_loop_options options_;
    std::ostream* err_;
    stop_signal_guard signals_; // before anything slow: a signal means a clean stop, status 0
    message_queue messages_;
    observe::logger log_;
    live_status status_;
    observe::status_feed feed_;
    io::cluster* cluster_ = nullptr; // set by run, before the status server serves
    std::optional<io::status_server> page_;
    // The timer thread's while `run` blocks; read after it is joined.
    clock::time_point started_at_ = clock::now();
    std::chrono::milliseconds elapsed_{0};
    std::vector<io::shard_status> last_snapshot_;
    stop_cause stopped_by_ = stop_cause::none;
};

} // namespace shardgate::cli
