#pragma once
/// @file
/// A process of a bot spread over processes and machines: an `io::cluster` whose dispatches go to
/// JetStream exactly once, and, with a cluster name, whose shards are shared with the other
/// workers of that cluster: each shard run by exactly one live worker, moved by hand-over, taken
/// over (and resumed) when its worker dies. What `shardgate connect --nats` runs.
///
/// @par Ownership (with `cluster_name`)
/// Two key-value buckets, `<cluster>-workers` and `<cluster>-shards`, hold the state:
/// - `worker.<id>`: rewritten every `lease / 5` while the worker lives. Other workers note when
///   its revision last changed (their own clocks: no clock comparison across machines) and take
///   it for dead once it has not changed for `lease`.
/// - `owner.<shard>`: the worker running the shard, or empty when it was handed over. Claimed with
///   compare-and-set on the revision, so two workers never both win a shard.
/// - `checkpoint.<worker>`: every shard the worker runs, `{session_id, resume_gateway_url, seq}`
///   where `seq` is acked by the stream (every dispatch up to it is stored), in one key rewritten
///   every `checkpoint_interval` (one write per worker, not per shard). A worker taking a shard
///   over from a dead one resumes from there: the gateway replays what follows, and the stream
///   drops what it already has (the `Nats-Msg-Id`).
/// - `session.<shard>`: the same for one shard, written when it is handed over.
///
/// The live workers split the shards evenly (ids sorted; the first `count % n` take one more).
/// A worker under its share claims shards that are free or whose owner is dead; a worker over it
/// hands its highest ids over when another is under. A worker that cannot renew its lease for
/// `lease / 2` (NATS away, the process frozen) stops publishing and releases its shards before
/// anyone may take them (fencing), and joins again as a new worker once NATS answers.
///
/// @par Thread Safety
/// `stop`, `status` and `metrics` may be called from any thread.

#include "shardgate/bridge/connection.hpp"
#include "shardgate/bridge/event_publisher.hpp"
#include "shardgate/bridge/shared_identify_scheduler.hpp"
#include "shardgate/io/cluster.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace shardgate::bridge {

/// How a worker runs.
struct worker_options {
    io::cluster_options cluster; ///< The shards (`manual_assignment` is set with a cluster name).
    nats_settings nats;
    stream_settings stream;
    publisher_settings publisher;
    /// `--cluster NAME`: share the shards with the other workers of this name. Empty: this
    /// process runs `cluster.shard_ids` itself and only publishes.
    std::string cluster_name;
    std::string worker_id; ///< `--worker ID`; empty: `<hostname>-<pid>`.
    /// How long a silent worker keeps its shards. Failover takes about this plus a resume.
    std::chrono::milliseconds lease{10'000};
    /// How often the shards' acked positions are written (`checkpoint.<worker>`).
    std::chrono::milliseconds checkpoint_interval{1'000};
    /// Margin of the shared identify scheduler (its window is `cluster.identify_window`).
    std::chrono::milliseconds identify_margin{50};
};

/// What happened to a shard's ownership, for logs and the status page.
struct ownership_event {
    enum class kind {
        took,        ///< Started here (free, or never run).
        took_over,   ///< Started here after its worker died (a failover).
        handed_over, ///< Given to another worker (its session saved).
        fenced,      ///< Dropped because this worker lost its lease.
    };
    kind what = kind::took;
    std::uint32_t shard = 0;
    std::string from;     ///< The previous owner (took_over).
    bool resumes = false; ///< Started from a saved session.
};

/// Totals for metrics.
struct worker_stats {
    publisher_stats publisher;
    std::uint64_t owned = 0;
    std::uint64_t took = 0;
    std::uint64_t took_over = 0; ///< Failovers.
    std::uint64_t handed_over = 0;
    std::uint64_t fenced = 0;
    std::uint64_t last_failover_ms = 0; ///< From the dead worker's last lease to RESUMED.
    std::uint64_t identify_wait_ms = 0;
    std::uint64_t live_workers = 0;
};

class worker {
public:
    explicit worker(worker_options options);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;
    worker(worker&&) = delete;
    worker& operator=(worker&&) = delete;

    /// After each dispatch was handed to the publisher. Set before `run`.
    void on_dispatch(std::function<void(const io::dispatch&)> handler);
    void on_lifecycle(std::function<void(const gateway::lifecycle_event&)> handler);
    /// Ownership changes, on the worker's coordination thread. Set before `run`.
    void on_ownership(std::function<void(const ownership_event&)> handler);
    /// One line for the log about NATS (waiting for it, back), from any thread.
    void on_notice(std::function<void(const std::string&)> handler);

    /// Connects to NATS (waiting while it is away), makes sure the stream exists, then runs the
    /// shards until `stop`. Blocks.
    [[nodiscard]] io::cluster_exit run(std::error_code& ec, std::string& detail);
    /// Stops. With a cluster name the shards are handed over (sessions saved, no close with 1000):
    /// other workers resume them. Without one, `mode` says how the shards close.
    void stop(gateway::close_mode mode = gateway::close_mode::end_session);

    [[nodiscard]] io::cluster& shards();
    [[nodiscard]] worker_stats stats() const;
    /// The cluster's Prometheus text plus `shardgate_bridge_*`.
    [[nodiscard]] std::string metrics() const;
    [[nodiscard]] const std::string& id() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::bridge
