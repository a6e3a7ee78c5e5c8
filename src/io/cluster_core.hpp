#pragma once
// Private to shardgate::io: the cluster's implementation (`cluster::impl` derives from it), shared
// by cluster.cpp and the shard runners of shard_runner.hpp.
//
// Threads: worker 0 runs on the thread that calls `run`, the others on threads of their own. A
// runner lives on one worker for its whole life and is touched only from it (its callbacks and
// `post`s). Shared state (the runner list, the identify scheduler and its waiting list, the
// generations) is behind `mutex_`; the scheduler's timer, the stop grace timer, the signal set and
// the exit decision live on worker 0. User callbacks are never called with the mutex held.

#include "client_transport.hpp"
#include "cluster_metrics.hpp"
#include "shardgate/gateway/identify_scheduler.hpp"
#include "shardgate/io/cluster.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <exception>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace shardgate::io {

namespace asio = boost::asio;

/// One io_context and its thread's counters.
struct worker {
    explicit worker(detail::worker_counters& c)
        : counters(c) {}
    detail::worker_counters& counters; ///< Owned by the cluster: outlives the worker.
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
    /// When this worker last gave freed memory back to the system (`give_back_memory`).
    std::chrono::steady_clock::time_point last_give_back{};
};

/// Parked shards free their buffers, but glibc's malloc keeps freed pages between live small
/// objects until trimmed: at 1,000 idle shards that is 40 % of their resident memory. Called when
/// a shard parks; trims at most every 10 s per worker (a trim walks the heap: milliseconds).
inline void give_back_memory(worker& w) {
#ifdef __GLIBC__
    constexpr auto every = std::chrono::seconds(10);
    const auto now = std::chrono::steady_clock::now();
    if (now - w.last_give_back >= every) {
        w.last_give_back = now;
        ::malloc_trim(0);
    }
#else
    (void)w;
#endif
}

inline bool terminal(gateway::shard_state s) {
    return s == gateway::shard_state::stopped || s == gateway::shard_state::fatally_closed;
}

class shard_runner;

/// The cluster's implementation (`cluster::impl` is private, and the runners need it).
class cluster_core {
public:
    explicit cluster_core(cluster_options options)
        : options_(std::move(options)) {}
    ~cluster_core() = default;
    cluster_core(const cluster_core&) = delete;
    cluster_core& operator=(const cluster_core&) = delete;
    cluster_core(cluster_core&&) = delete;
    cluster_core& operator=(cluster_core&&) = delete;

    cluster_exit run(std::error_code& ec, std::string& detail);
    void stop(gateway::close_mode mode);
    std::error_code send(std::uint32_t shard, gateway::command cmd,
                         std::function<void(std::error_code)> written = {});
    std::error_code add_shard(std::uint32_t id, std::optional<gateway::session_state> session);
    std::error_code
    release_shard(std::uint32_t id,
                  std::function<void(const std::optional<gateway::session_state>&)> released);
    std::vector<shard_status> status() const;
    std::string metrics() const;

    // Called by runners, from their worker thread.
    detail::transport_options transport_options_for(std::string_view url);
    void request_identify(shard_runner& r);
    void cancel_identify(shard_runner& r);
    void shard_ready(shard_runner& r);
    void shard_terminal(shard_runner& r);
    void sharding_required(shard_runner& r);

    cluster_options options_;
    std::function<void(const dispatch&)> on_dispatch_;
    std::function<void(const gateway::lifecycle_event&)> on_lifecycle_;
    std::function<void(std::uint32_t, const std::optional<gateway::session_state>&)> on_session_;
    bool handle_signals_ = false;
    std::atomic<std::uint32_t> shard_count_{0};
    observe::histogram heartbeat_latency_{observe::latency_buckets_seconds};
    /// Rare tallies (a close, a bad frame), from any worker.
    void count_close(const gateway::lifecycle_event& closed);
    void count_decode_error(const std::error_code& ec);

private:
    void start_generation(std::uint32_t count, const std::vector<std::uint32_t>& ids);
    [[nodiscard]] gateway::shard_config config_for(std::uint32_t id, std::uint32_t count,
                                                   bool first_set) const;
    void service_scheduler();
    void check_exit();
    void finish(cluster_exit why);
    void post_to_control(std::function<void()> f);

    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<std::unique_ptr<detail::worker_counters>> counters_; ///< One per worker; kept.
    std::once_flag tls_once_;
    std::shared_ptr<detail::tls_context> tls_;
    std::string gateway_url_;

    // Guarded by mutex_.
    mutable std::mutex mutex_;
    bool started_ = false;  ///< Workers exist and accept posts.
    bool stopping_ = false; ///< stop() was called.
    gateway::close_mode stop_mode_ = gateway::close_mode::end_session;
    bool resharding_ = false;
    std::vector<std::unique_ptr<shard_runner>> runners_; ///< Every generation; never shrinks.
    unsigned generation_ = 0;
    std::size_t pending_ready_ = 0; ///< Shards of the newest generation not READY yet.
    std::uint32_t next_worker_ = 0;
    std::unique_ptr<gateway::identify_scheduler> scheduler_;
    std::map<std::uint32_t, std::deque<shard_runner*>> waiting_; ///< shard id -> runners
    std::optional<cluster_exit> exit_;
    std::exception_ptr failure_;
    std::vector<shard_status> final_status_; ///< status() once run has returned.
    std::optional<std::uint32_t> final_budget_;

    mutable std::mutex tallies_mutex_;
    std::map<std::uint16_t, std::uint64_t> closes_;
    std::map<std::string, std::uint64_t> decode_errors_;
    std::map<std::string_view, std::uint64_t> connection_failures_;

    // Worker 0 only.
    std::optional<asio::steady_timer> scheduler_timer_;
    std::optional<asio::steady_timer> grace_timer_;
    std::optional<asio::signal_set> signals_;
    std::thread reshard_thread_;
};

} // namespace shardgate::io
