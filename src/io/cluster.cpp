// The cluster (cluster_core.hpp): the runners (shard_runner.hpp), the io_contexts, the identify
// scheduler, stopping and resharding. No Beast here: only Asio's io_context, timers and signals.

#include "shardgate/io/cluster.hpp"

#include "cluster_core.hpp"
#include "shard_runner.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/error.hpp"
#include "shardgate/io/discovery.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

namespace shardgate::io {

namespace {

/// Why `shards` shards cannot run in this process, or empty when they can. Each holds a socket
/// and at least a few tens of KiB (64 KiB budgeted: a busy zlib-stream connection's window and
/// buffers), so a count from discovery or the command line that the open-file limit or the memory
/// cannot hold is refused before anything is allocated for it. Raises the soft open-file limit
/// towards the hard one when that is enough.
std::string capacity_problem(std::uint64_t shards) {
    constexpr std::uint64_t spare_files = 64; // listeners, the status page, discovery, logs
    constexpr std::uint64_t bytes_per_shard = 64 * 1024;
    const std::string what = std::to_string(shards) + " shards in this process";
    const std::string fix = "; run a part of them here with --shard-ids A-B and the rest in other "
                            "processes (or scale out with --nats), or give --shards N";
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
        const std::uint64_t needed = shards + spare_files;
        if (needed > files.rlim_cur) {
            rlimit raised = files;
            raised.rlim_cur = files.rlim_max == RLIM_INFINITY
                                  ? static_cast<rlim_t>(needed)
                                  : std::min<rlim_t>(files.rlim_max, static_cast<rlim_t>(needed));
            if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
                files = raised;
            }
        }
        if (needed > files.rlim_cur) {
            return what + " need " + std::to_string(needed) +
                   " file descriptors (a socket each), but the open-file limit is " +
                   std::to_string(files.rlim_cur) + " (ulimit -n)" + fix;
        }
    }
    const auto pages = ::sysconf(_SC_PHYS_PAGES);
    const auto page_size = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) {
        const auto memory =
            static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
        if (shards > memory / bytes_per_shard) {
            return what + " need about " + std::to_string(shards * bytes_per_shard >> 20U) +
                   " MiB, more than this machine's " + std::to_string(memory >> 20U) + " MiB" + fix;
        }
    }
    return {};
}

} // namespace

// -------------------------------------------------------------------------------------------------
// cluster_core

detail::transport_options cluster_core::transport_options_for(std::string_view url) {
    detail::transport_options o;
    o.connect_timeout = options_.connect_timeout;
    o.max_message_bytes = options_.max_message_bytes;
    if (url.size() >= 4 && (url[0] == 'w' || url[0] == 'W') && (url[2] == 's' || url[2] == 'S') &&
        url[3] == ':') {
        std::call_once(tls_once_, [this] {
            try {
                tls_ = detail::make_tls_context(options_.verify_tls);
            } catch (const std::exception&) {
                // Left empty: the connection then fails (invalid_argument) and the shard backs off.
            }
        });
        o.tls = tls_;
    }
    return o;
}

void cluster_core::post_to_control(std::function<void()> f) {
    asio::post(workers_.front()->ioc, std::move(f));
}

void cluster_core::request_identify(shard_runner& r) {
    {
        const std::lock_guard lock(mutex_);
        auto& q = waiting_[r.id];
        if (std::find(q.begin(), q.end(), &r) == q.end()) {
            q.push_back(&r);
        }
        scheduler_->request(r.id, clock::now());
    }
    post_to_control([this] { service_scheduler(); });
}

void cluster_core::cancel_identify(shard_runner& r) {
    const std::lock_guard lock(mutex_);
    const auto it = waiting_.find(r.id);
    if (it == waiting_.end()) {
        return;
    }
    std::erase(it->second, &r);
    if (it->second.empty()) {
        waiting_.erase(it);
        scheduler_->cancel(r.id);
    }
}

/// On worker 0: hands out what the scheduler decided and re-arms its timer.
void cluster_core::service_scheduler() {
    std::vector<shard_runner*> permits;
    std::vector<std::pair<shard_runner*, gateway::lifecycle_event>> refusals;
    std::optional<time_point> next;
    {
        const std::lock_guard lock(mutex_);
        if (exit_) {
            return;
        }
        const auto now = clock::now();
        while (auto d = scheduler_->poll(now)) {
            if (const auto* p = std::get_if<gateway::identify_permit>(&*d)) {
                const auto it = waiting_.find(p->shard_id);
                if (it == waiting_.end()) {
                    continue;
                }
                permits.push_back(it->second.front());
                it->second.pop_front();
                if (it->second.empty()) {
                    waiting_.erase(it);
                } else {
                    scheduler_->request(p->shard_id, now); // two generations share the id
                }
            } else {
                const auto& refusal = std::get<gateway::identify_refusal>(*d);
                const auto it = waiting_.find(refusal.shard_id);
                if (it == waiting_.end()) {
                    continue;
                }
                for (auto* r : it->second) {
                    gateway::lifecycle_event e;
                    e.kind = gateway::lifecycle_kind::protocol_error;
                    e.shard = refusal.shard_id;
                    e.error = refusal.ec;
                    e.detail = refusal.message;
                    refusals.emplace_back(r, std::move(e));
                }
            }
        }
        next = scheduler_->next_deadline();
    }
    for (auto* r : permits) {
        r->permit();
    }
    for (auto& [r, e] : refusals) {
        r->refused(std::move(e));
    }
    if (!next) {
        scheduler_timer_->cancel();
        return;
    }
    scheduler_timer_->expires_at(*next);
    scheduler_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
            service_scheduler();
        }
    });
}

void cluster_core::shard_ready(shard_runner& r) {
    std::vector<shard_runner*> retire;
    {
        const std::lock_guard lock(mutex_);
        if (r.ready_counted || r.generation != generation_) {
            return;
        }
        r.ready_counted = true;
        if (--pending_ready_ != 0 || generation_ == 0 || stopping_) {
            return;
        }
        // The whole new set is READY: the old sets go (with 1000).
        for (auto& old : runners_) {
            if (old->generation < generation_) {
                retire.push_back(old.get());
            }
        }
    }
    for (auto* old : retire) {
        old->close();
    }
}

void cluster_core::shard_terminal(shard_runner& /*r*/) {
    post_to_control([this] { check_exit(); });
}

void cluster_core::sharding_required(shard_runner& r) {
    std::uint32_t current = 0;
    {
        const std::lock_guard lock(mutex_);
        if (!options_.reshard_auto || options_.manual_assignment || !options_.shard_ids.empty() ||
            r.generation != generation_ || resharding_ || stopping_ || exit_) {
            return;
        }
        resharding_ = true;
        current = shard_count_.load();
        if (reshard_thread_.joinable()) {
            reshard_thread_.join(); // the previous one has posted its result already
        }
        // Discovery blocks, so it runs on a thread of its own: the old set keeps delivering.
        reshard_thread_ = std::thread([this, current] {
            std::uint32_t count = current * 2;
            if (!options_.gateway_url) {
                discovery_options d;
                d.api = options_.api;
                d.token = options_.token;
                d.timeout = options_.discovery_timeout;
                d.verify_tls = options_.verify_tls;
                gateway_bot_info info;
                std::string why;
                if (!discover(d, info, why) && info.shards > current) {
                    count = info.shards;
                }
            }
            if (!capacity_problem(count).empty()) {
                // More than this process can hold: no new set. The shards stay stopped on 4011,
                // whose remedy the log shows, and the run ends as it would without resharding.
                post_to_control([this] {
                    {
                        const std::lock_guard reshard_lock(mutex_);
                        resharding_ = false;
                    }
                    check_exit();
                });
                return;
            }
            post_to_control([this, count] {
                std::vector<std::uint32_t> ids(count);
                for (std::uint32_t i = 0; i < count; ++i) {
                    ids[i] = i;
                }
                start_generation(count, ids);
            });
        });
    }
}

/// The core settings of one shard. Only the first set resumes saved sessions: a reshard's shards
/// are new.
gateway::shard_config cluster_core::config_for(std::uint32_t id, std::uint32_t count,
                                               bool first_set) const {
    auto config = options_.shard_defaults;
    config.token = options_.token;
    config.shard = {id, count};
    config.gateway_url = gateway_url_;
    config.intents = options_.intents;
    config.transport_compression = options_.transport_compression;
    if (const auto saved = options_.resume.find(id); first_set && saved != options_.resume.end()) {
        config.resume = saved->second;
    }
    return config;
}

/// Creates and starts a set of runners (the first one, or a reshard's).
void cluster_core::start_generation(std::uint32_t count, const std::vector<std::uint32_t>& ids) {
    std::vector<shard_runner*> fresh;
    {
        const std::lock_guard lock(mutex_);
        if (exit_ || (stopping_ && !runners_.empty())) {
            resharding_ = false;
            return;
        }
        if (!runners_.empty()) {
            ++generation_;
        }
        resharding_ = false;
        shard_count_.store(count);
        pending_ready_ = ids.size();
        for (const auto id : ids) {
            auto config = config_for(id, count, generation_ == 0);
            auto& w = *workers_[next_worker_++ % workers_.size()];
            runners_.push_back(
                std::make_unique<shard_runner>(*this, w, std::move(config), generation_));
            fresh.push_back(runners_.back().get());
        }
    }
    for (auto* r : fresh) {
        r->start();
    }
}

/// On worker 0: decides whether `run` is over.
void cluster_core::check_exit() {
    std::optional<cluster_exit> why;
    {
        const std::lock_guard lock(mutex_);
        if (exit_) {
            return;
        }
        if (stopping_) {
            const bool all_closed = std::all_of(runners_.begin(), runners_.end(),
                                                [](const auto& r) { return terminal(r->state()); });
            if (all_closed) {
                why = cluster_exit::stopped;
            }
        } else if (!resharding_) {
            bool any = false;
            bool all_fatal = true;
            for (const auto& r : runners_) {
                if (r->generation == generation_) {
                    any = true;
                    all_fatal = all_fatal && r->state() == gateway::shard_state::fatally_closed;
                }
            }
            if (any && all_fatal) {
                why = cluster_exit::all_fatal;
            }
        }
    }
    if (why) {
        finish(*why);
    }
}

void cluster_core::finish(cluster_exit why) {
    {
        const std::lock_guard lock(mutex_);
        if (exit_) {
            return;
        }
        exit_ = why;
    }
    for (auto& w : workers_) {
        w->guard.reset();
        w->ioc.stop();
    }
}

void cluster_core::stop(gateway::close_mode mode) {
    {
        const std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
        stop_mode_ = mode;
        if (!started_) {
            return; // run() sees the flag
        }
        for (auto& r : runners_) {
            r->close(mode);
        }
        // Under the lock: run() clears the workers only after `started_` went false under it.
        post_to_control([this] {
            grace_timer_->expires_after(options_.stop_grace);
            grace_timer_->async_wait([this](const boost::system::error_code& ec) {
                if (!ec) {
                    finish(cluster_exit::stopped);
                }
            });
            check_exit();
        });
    }
}

std::error_code cluster_core::send(std::uint32_t shard, gateway::command cmd,
                                   std::function<void(std::error_code)> written) {
    std::string encoded;
    if (auto ec = gateway::encode(cmd, encoded)) {
        return ec;
    }
    const std::lock_guard lock(mutex_);
    if (!started_ || exit_) {
        return gateway::error::shard_stopped;
    }
    for (auto it = runners_.rbegin(); it != runners_.rend(); ++it) {
        auto& r = **it;
        if (r.generation == generation_ && r.id == shard && !r.released) {
            r.send(std::move(cmd), std::move(written));
            return {};
        }
    }
    return std::make_error_code(std::errc::invalid_argument);
}

std::error_code cluster_core::add_shard(std::uint32_t id,
                                        std::optional<gateway::session_state> session) {
    shard_runner* fresh = nullptr;
    {
        const std::lock_guard lock(mutex_);
        if (!started_ || exit_ || stopping_) {
            return gateway::error::shard_stopped;
        }
        const auto count = shard_count_.load();
        if (id >= count) {
            return std::make_error_code(std::errc::invalid_argument);
        }
        for (const auto& r : runners_) {
            if (r->id == id && !r->released && !terminal(r->state())) {
                return std::make_error_code(std::errc::device_or_resource_busy);
            }
        }
        auto config = config_for(id, count, false);
        config.resume = std::move(session);
        auto& w = *workers_[next_worker_++ % workers_.size()];
        ++pending_ready_;
        runners_.push_back(
            std::make_unique<shard_runner>(*this, w, std::move(config), generation_));
        fresh = runners_.back().get();
    }
    fresh->start();
    return {};
}

std::error_code cluster_core::release_shard(
    std::uint32_t id, std::function<void(const std::optional<gateway::session_state>&)> released) {
    const std::lock_guard lock(mutex_);
    for (auto it = runners_.rbegin(); it != runners_.rend(); ++it) {
        auto& r = **it;
        if (r.id == id && !r.released && !terminal(r.state())) {
            r.released = true;
            r.release(std::move(released));
            return {};
        }
    }
    return std::make_error_code(std::errc::invalid_argument);
}

void cluster_core::count_close(const gateway::lifecycle_event& closed) {
    const std::lock_guard lock(tallies_mutex_);
    ++closes_[closed.code];
    if (closed.by == gateway::closed_by::transport) {
        ++connection_failures_[detail::connection_failure_kind(closed)];
    }
}

void cluster_core::count_decode_error(const std::error_code& ec) {
    const std::lock_guard lock(tallies_mutex_);
    ++decode_errors_[ec ? ec.message() : std::string("unknown")];
}

std::string cluster_core::metrics() const {
    detail::cluster_metrics_view view;
    view.shards = status();
    view.shard_count = shard_count_.load();
    {
        const std::lock_guard lock(mutex_);
        if (scheduler_ && !runners_.empty()) {
            view.identify_budget_remaining = scheduler_->budget_remaining();
        } else {
            view.identify_budget_remaining = final_budget_;
        }
        for (const auto& c : counters_) {
            view.workers.push_back(c.get());
        }
    }
    view.heartbeat_latency = &heartbeat_latency_;
    {
        const std::lock_guard lock(tallies_mutex_);
        view.closes_by_code = closes_;
        view.decode_errors_by_kind = decode_errors_;
        view.connection_failures_by_kind = connection_failures_;
    }
    std::string out;
    detail::write_cluster_metrics(out, view);
    return out;
}

std::vector<shard_status> cluster_core::status() const {
    std::vector<shard_status> out;
    const std::lock_guard lock(mutex_);
    if (runners_.empty()) {
        return final_status_; // after run: how the shards ended
    }
    for (const auto& r : runners_) {
        // Old sets only while they still run (the overlap of a reshard); shards given away to
        // another process only until they have closed.
        if (r->released && terminal(r->state())) {
            continue;
        }
        if (r->generation == generation_ || !terminal(r->state())) {
            out.push_back(r->snapshot());
        }
    }
    return out;
}

cluster_exit cluster_core::run(std::error_code& ec, std::string& detail) {
    ec.clear();
    detail.clear();
    const auto fail = [&](std::error_code e, std::string why) {
        ec = e;
        detail = std::move(why);
        return cluster_exit::startup_failed;
    };
    if (!workers_.empty()) {
        return fail(std::make_error_code(std::errc::operation_not_permitted),
                    "cluster::run may be called once");
    }
    if (options_.token.empty()) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "no token: set DISCORD_TOKEN");
    }

    // Discovery
    gateway::session_start_limit limit;
    std::uint32_t count = 0;
    if (options_.gateway_url) {
        gateway_url_ = *options_.gateway_url;
        limit.max_concurrency = std::max<std::uint32_t>(1, options_.max_concurrency);
        count = options_.shard_count.value_or(1);
    } else {
        discovery_options d;
        d.api = options_.api;
        d.token = options_.token;
        d.timeout = options_.discovery_timeout;
        d.verify_tls = options_.verify_tls;
        gateway_bot_info info;
        if (auto e = discover(d, info, detail)) {
            ec = e;
            return cluster_exit::startup_failed;
        }
        gateway_url_ = info.url;
        limit = info.limit;
        count = options_.shard_count.value_or(info.shards);
    }
    const auto parsed = detail::parse_url(gateway_url_);
    if (!parsed || (parsed->scheme != "ws" && parsed->scheme != "wss")) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "the gateway URL must be ws:// or wss://");
    }
    if (count == 0) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "the shard count must be at least 1");
    }
    std::vector<std::uint32_t> ids = options_.shard_ids;
    if (options_.manual_assignment) {
        ids = {0}; // checked below, not started: add_shard decides
    }
    if (auto problem = capacity_problem(ids.empty() ? count : ids.size()); !problem.empty()) {
        return fail(std::make_error_code(std::errc::too_many_files_open), std::move(problem));
    }
    if (ids.empty()) {
        ids.resize(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            ids[i] = i;
        }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.back() >= count) {
        return fail(std::make_error_code(std::errc::invalid_argument),
                    "shard id " + std::to_string(ids.back()) + " is not below the shard count " +
                        std::to_string(count));
    }

    // Every shard's settings, checked before anything starts (the shard would throw).
    for (const auto id : ids) {
        if (auto problem = gateway::validate(config_for(id, count, true)); !problem.empty()) {
            return fail(std::make_error_code(std::errc::invalid_argument), std::move(problem));
        }
    }

    // Workers, scheduler, shards
    const unsigned threads = std::max(1U, options_.threads);
    {
        const std::lock_guard lock(mutex_); // metrics() reads counters_ from any thread
        for (unsigned i = 0; i < threads; ++i) {
            counters_.push_back(std::make_unique<detail::worker_counters>());
            workers_.push_back(std::make_unique<worker>(*counters_.back()));
        }
    }
    auto& control = workers_.front()->ioc;
    scheduler_timer_.emplace(control);
    grace_timer_.emplace(control);
    if (options_.identify_scheduler) {
        scheduler_ = options_.identify_scheduler(limit, clock::now());
    }
    if (!scheduler_) {
        gateway::local_identify_scheduler_config sc;
        sc.window = options_.identify_window +
                    std::max(std::chrono::milliseconds{0}, options_.identify_margin);
        scheduler_ = std::make_unique<gateway::local_identify_scheduler>(limit, clock::now(), sc);
    }
    if (options_.manual_assignment) {
        ids.clear();
    }
    start_generation(count, ids);
    bool stop_now = false;
    {
        const std::lock_guard lock(mutex_);
        started_ = true;
        stop_now = stopping_;
        stopping_ = false;
    }
    if (stop_now) {
        stop(stop_mode_);
    }
    if (handle_signals_) {
        signals_.emplace(control, SIGINT, SIGTERM);
        signals_->async_wait([this](const boost::system::error_code& e, int /*signal*/) {
            if (!e) {
                stop(gateway::close_mode::end_session);
            }
        });
    }

    const auto run_worker = [this](worker& w) {
        for (;;) {
            try {
                w.ioc.run();
                return;
            } catch (...) {
                // A user callback threw: remember it, stop everything, rethrow from run().
                {
                    const std::lock_guard lock(mutex_);
                    if (!failure_) {
                        failure_ = std::current_exception();
                    }
                }
                finish(cluster_exit::stopped);
            }
        }
    };
    std::vector<std::thread> threads_running;
    for (std::size_t i = 1; i < workers_.size(); ++i) {
        threads_running.emplace_back([&run_worker, w = workers_[i].get()] { run_worker(*w); });
    }
    run_worker(*workers_.front());
    for (auto& t : threads_running) {
        t.join();
    }

    // Teardown: nothing runs any more. Transports first, then runners (their timers), then the
    // control objects, and the io_contexts last (they destroy the pending handlers and frames).
    std::exception_ptr failure;
    cluster_exit why = cluster_exit::stopped;
    {
        const std::lock_guard lock(mutex_);
        started_ = false;
        failure = failure_;
        why = exit_.value_or(cluster_exit::stopped);
    }
    if (reshard_thread_.joinable()) {
        reshard_thread_.join();
    }
    for (auto& r : runners_) {
        r->abandon();
    }
    signals_.reset();
    scheduler_timer_.reset();
    grace_timer_.reset();
    auto last = status();
    {
        const std::lock_guard lock(mutex_);
        final_status_ = std::move(last);
        final_budget_ = scheduler_->budget_remaining();
        waiting_.clear();
        runners_.clear();
    }
    workers_.clear();
    workers_.push_back(nullptr); // marks "ran once"
    if (failure) {
        std::rethrow_exception(failure);
    }
    return why;
}

// -------------------------------------------------------------------------------------------------
// cluster

class cluster::impl final : public cluster_core {
public:
    using cluster_core::cluster_core;
};

cluster::cluster(cluster_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

cluster::~cluster() = default;

void cluster::on_dispatch(std::function<void(const dispatch&)> handler) {
    impl_->on_dispatch_ = std::move(handler);
}

void cluster::on_lifecycle(std::function<void(const gateway::lifecycle_event&)> handler) {
    impl_->on_lifecycle_ = std::move(handler);
}

cluster_exit cluster::run(std::error_code& ec, std::string& detail) {
    return impl_->run(ec, detail);
}

void cluster::stop(gateway::close_mode mode) {
    impl_->stop(mode);
}

void cluster::on_session(
    std::function<void(std::uint32_t, const std::optional<gateway::session_state>&)> handler) {
    impl_->on_session_ = std::move(handler);
}

void cluster::handle_signals(bool enable) {
    impl_->handle_signals_ = enable;
}

std::error_code cluster::send(std::uint32_t shard, gateway::command cmd,
                              std::function<void(std::error_code)> written) {
    return impl_->send(shard, std::move(cmd), std::move(written));
}

std::error_code cluster::add_shard(std::uint32_t id,
                                   std::optional<gateway::session_state> session) {
    return impl_->add_shard(id, std::move(session));
}

std::error_code
cluster::release_shard(std::uint32_t id,
                       std::function<void(const std::optional<gateway::session_state>&)> released) {
    return impl_->release_shard(id, std::move(released));
}

std::error_code cluster::send(std::uint32_t shard, gateway::command cmd) {
    return impl_->send(shard, std::move(cmd));
}

std::error_code cluster::send_to_guild(gateway::snowflake guild_id, gateway::command cmd) {
    return impl_->send(shard_for_guild(guild_id, impl_->shard_count_.load()), std::move(cmd));
}

std::uint32_t cluster::shard_count() const {
    return impl_->shard_count_.load();
}

std::vector<shard_status> cluster::status() const {
    return impl_->status();
}

std::string cluster::metrics() const {
    return impl_->metrics();
}

} // namespace shardgate::io
