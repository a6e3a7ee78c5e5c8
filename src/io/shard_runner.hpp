#pragma once
// Private to shardgate::io: the adapter loop (STYLE 3.2) that drives one `gateway::shard` over a
// transport: carries out the core's actions, feeds it what the transport and the timer report,
// and publishes counters and status for any thread to read. Owned by the cluster
// (cluster_core.hpp); lives on one worker's thread.

#include "cluster_core.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/shard.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <variant>

namespace shardgate::io {

using gateway::clock;
using gateway::time_point;

namespace detail {

inline reconnect_cause reconnect_cause_of(gateway::disconnect_cause cause) {
    using in = gateway::disconnect_cause;
    using out = reconnect_cause;
    switch (cause) {
    case in::gateway_close: return out::closed_by_gateway;
    case in::zombie: return out::zombie;
    case in::reconnect_requested: return out::reconnect_requested;
    case in::invalid_session:
    case in::invalid_session_resumable: return out::invalid_session;
    case in::protocol_error: return out::protocol_error;
    default: return out::connection_lost;
    }
}

inline std::uint64_t random_seed() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32U) ^ std::uint64_t{rd()};
}

} // namespace detail

class shard_runner final : public detail::transport_handler {
public:
    shard_runner(cluster_core& owner, worker& w, gateway::shard_config config, unsigned gen)
        : id(config.shard.id)
        , generation(gen)
        , owner_(owner)
        , worker_(w)
        , rng_(detail::random_seed())
        , shard_(std::move(config), [this] { return unit_(rng_); })
        , timer_(w.ioc) {}
    ~shard_runner() override { abandon(); }
    shard_runner(const shard_runner&) = delete;
    shard_runner& operator=(const shard_runner&) = delete;
    shard_runner(shard_runner&&) = delete;
    shard_runner& operator=(shard_runner&&) = delete;

    template <class F> void post(F&& f) { asio::post(worker_.ioc, std::forward<F>(f)); }

    void start() {
        post([this] {
            shard_.start(clock::now());
            drain();
        });
    }
    void close(gateway::close_mode mode = gateway::close_mode::end_session) {
        post([this, mode] {
            shard_.close(clock::now(), mode);
            drain();
        });
    }
    void send(gateway::command cmd, std::function<void(std::error_code)> written = {}) {
        post([this, c = std::move(cmd), done = std::move(written)] {
            const auto ec = shard_.send(clock::now(), c);
            if (done) {
                drain();
                done(ec);
                return;
            }
            if (ec) {
                gateway::lifecycle_event e;
                e.kind = gateway::lifecycle_kind::protocol_error;
                e.shard = id;
                e.error = ec;
                e.detail = "command not sent: " + ec.message();
                deliver(e);
            }
            drain();
        });
    }
    void permit() {
        post([this] {
            shard_.on_identify_permit(clock::now());
            drain();
        });
    }
    void refused(gateway::lifecycle_event e) {
        post([this, ev = std::move(e)] { deliver(ev); });
    }
    /// Drops the transport (at teardown, with the io_context stopped).
    void abandon() noexcept {
        if (transport_) {
            transport_->drop();
            transport_.reset();
        }
    }

    [[nodiscard]] shard_status snapshot() const {
        shard_status s;
        s.id = id;
        s.state = static_cast<gateway::shard_state>(state_.load(std::memory_order_relaxed));
        if (const auto l = latency_us_.load(std::memory_order_relaxed); l >= 0) {
            s.heartbeat_rtt = std::chrono::microseconds(l);
            s.latency = std::chrono::duration_cast<std::chrono::milliseconds>(*s.heartbeat_rtt);
        }
        s.dispatches = dispatches_.load(std::memory_order_relaxed);
        s.identifies = identifies_.load(std::memory_order_relaxed);
        s.resumes = resumes_.load(std::memory_order_relaxed);
        s.resume_attempts = resume_attempts_.load(std::memory_order_relaxed);
        s.replayed = replayed_.load(std::memory_order_relaxed);
        s.reconnects = reconnects_.load(std::memory_order_relaxed);
        if (const auto c = last_close_.load(std::memory_order_relaxed); c >= 0) {
            s.last_close_code = static_cast<std::uint16_t>(c);
        }
        return s;
    }
    [[nodiscard]] gateway::shard_state state() const {
        return static_cast<gateway::shard_state>(state_.load(std::memory_order_acquire));
    }

    /// Closes with 4900 (the session stays resumable) and calls `done` with it once closed.
    void release(std::function<void(const std::optional<gateway::session_state>&)> done) {
        post([this, f = std::move(done)]() mutable {
            on_released_ = std::move(f);
            shard_.close(clock::now(), gateway::close_mode::keep_session);
            drain();
        });
    }

    const std::uint32_t id;
    const unsigned generation;
    bool ready_counted = false; ///< Guarded by the cluster's mutex.
    bool released = false;      ///< Guarded by the cluster's mutex: given away (`release`).

private:
    // Transport events ----------------------------------------------------------------------------
    void on_transport_open() override {
        shard_.on_connected(clock::now());
        drain();
    }
    void on_transport_message(std::span<const std::byte> bytes, bool text) override {
        if (text) {
            shard_.on_text(clock::now(), {reinterpret_cast<const char*>(bytes.data()), // NOLINT
                                          bytes.size()});
        } else {
            shard_.on_binary(clock::now(), bytes);
        }
        drain();
    }
    void on_transport_closed(std::uint16_t code, std::string_view reason) override {
        transport_.reset();
        shard_.on_closed(clock::now(), code, reason);
        drain();
    }
    void on_transport_failed(std::error_code ec, gateway::transport_stage stage,
                             std::string_view detail) override {
        transport_.reset();
        shard_.on_transport_error(clock::now(), ec, detail, stage);
        drain();
    }

    // The adapter loop --------------------------------------------------------------------------
    void drain() {
        // The figures first: a callback that reads status() or metrics() on `resumed` sees the
        // resume counted.
        publish();
        while (auto a = shard_.poll_action()) {
            std::visit([this](auto& act) { carry_out(act); }, *a);
        }
        report_session();
        publish();
        if (!terminal_reported_ && terminal(shard_.state())) {
            terminal_reported_ = true;
            timer_.cancel();
            if (on_released_) {
                const auto done = std::move(on_released_);
                on_released_ = nullptr;
                done(shard_.resumable_session());
            }
            owner_.shard_terminal(*this);
            return;
        }
        arm_timer();
    }

    void carry_out(gateway::action::connect& a) {
        abandon();
        if (const auto& factory = owner_.options_.transport) {
            transport_request request;
            request.url = a.url;
            request.connect_timeout = owner_.options_.connect_timeout;
            request.max_message_bytes = owner_.options_.max_message_bytes;
            request.post = [&ioc = worker_.ioc](std::function<void()> f) {
                asio::post(ioc, std::move(f));
            };
            transport_ = factory(request, *this);
            if (!transport_) {
                post([this] {
                    shard_.on_transport_error(clock::now(),
                                              std::make_error_code(std::errc::not_connected));
                    drain();
                });
            }
            return;
        }
        transport_ =
            detail::open_transport(worker_.ioc, a.url, owner_.transport_options_for(a.url), *this);
    }
    void carry_out(gateway::action::send_text& a) {
        // Never logged: `sensitive` frames carry the token.
        if (transport_) {
            transport_->send_text(std::move(a.payload));
        }
    }
    void carry_out(gateway::action::send_close& a) {
        if (transport_) {
            transport_->close(a.code, a.reason);
        } else {
            post([this] {
                shard_.on_transport_error(clock::now(),
                                          std::make_error_code(std::errc::not_connected));
                drain();
            });
        }
    }
    void carry_out(gateway::action::request_identify& /*a*/) { owner_.request_identify(*this); }
    void carry_out(gateway::action::cancel_identify& /*a*/) { owner_.cancel_identify(*this); }
    void carry_out(gateway::action::drop_transport& /*a*/) { abandon(); }
    void carry_out(gateway::action::release_buffers& /*a*/) {
        if (transport_) {
            transport_->release_buffers();
        }
        give_back_memory(worker_);
    }
    void carry_out(gateway::dispatch_event& e) {
        worker_.counters.dispatches_by_event[detail::dispatch_index(e.name)].add(1);
        if (owner_.on_dispatch_) {
            owner_.on_dispatch_(dispatch{e.shard, e.seq, e.name, e.data});
        }
        report_session(); // after each dispatch: a crash right after it resumes from here
    }

    /// Tells `on_session` when the session or its sequence changed since the last report.
    void report_session() {
        if (!owner_.on_session_) {
            return;
        }
        const auto& now = shard_.session();
        const auto seq = shard_.sequence().value_or(0);
        if (!now) {
            if (reported_) {
                reported_.reset();
                owner_.on_session_(id, reported_);
            }
            return;
        }
        const bool same_session = reported_ && reported_->session_id == now->session_id &&
                                  reported_->resume_gateway_url == now->resume_gateway_url;
        if (same_session && reported_->seq == seq) {
            return;
        }
        if (same_session) {
            reported_->seq = seq; // the usual case, once per dispatch: no string copied
        } else {
            reported_ = gateway::session_state{now->session_id, now->resume_gateway_url, seq};
        }
        owner_.on_session_(id, reported_);
    }
    void carry_out(gateway::lifecycle_event& e) {
        if (e.kind == gateway::lifecycle_kind::closed || e.kind == gateway::lifecycle_kind::fatal) {
            last_close_.store(e.code, std::memory_order_relaxed);
        }
        note_cause(e);
        deliver(e);
        if (e.kind == gateway::lifecycle_kind::ready) {
            owner_.shard_ready(*this);
        } else if (e.kind == gateway::lifecycle_kind::fatal &&
                   e.code == static_cast<std::uint16_t>(gateway::close_code::sharding_required)) {
            owner_.sharding_required(*this);
        }
    }

    /// Counts closes and bad frames, and the reconnect that follows a close by the cause the
    /// core gave it.
    void note_cause(const gateway::lifecycle_event& e) {
        using kind = gateway::lifecycle_kind;
        switch (e.kind) {
        case kind::protocol_error: owner_.count_decode_error(e.error); break;
        case kind::closed:
            owner_.count_close(e);
            pending_cause_ = detail::reconnect_cause_of(e.cause);
            break;
        case kind::connecting:
            if (connected_before_) {
                worker_.counters
                    .reconnects[static_cast<std::size_t>(
                        pending_cause_.value_or(detail::reconnect_cause::connection_lost))]
                    .add(1);
            }
            connected_before_ = true;
            pending_cause_.reset();
            break;
        default: break;
        }
    }

    void deliver(const gateway::lifecycle_event& e) {
        if (owner_.on_lifecycle_) {
            owner_.on_lifecycle_(e);
        }
    }

    void publish() {
        const auto& st = shard_.stats();
        auto& c = worker_.counters;
        c.identifies.add(st.identifies - published_.identifies);
        c.resumes.add(st.resumes - published_.resumes);
        c.resume_attempts.add(st.resume_attempts - published_.resume_attempts);
        c.received_bytes.add(st.received_bytes - published_.received_bytes);
        c.payload_bytes.add(st.payload_bytes - published_.payload_bytes);
        c.sent_bytes.add(st.sent_bytes - published_.sent_bytes);
        c.replayed.add(st.replayed - published_.replayed);
        c.send_limiter_waits.add(st.send_limiter_waits - published_.send_limiter_waits);
        c.decode_errors.add(st.protocol_errors - published_.protocol_errors);
        c.zombies.add(st.zombies - published_.zombies);
        if (st.heartbeat_acks != published_.heartbeat_acks && shard_.heartbeat_rtt()) {
            owner_.heartbeat_latency_.observe(static_cast<double>(shard_.heartbeat_rtt()->count()) /
                                              1e6);
        }
        published_ = st;
        state_.store(static_cast<std::uint8_t>(shard_.state()), std::memory_order_release);
        latency_us_.store(shard_.heartbeat_rtt() ? shard_.heartbeat_rtt()->count() : -1,
                          std::memory_order_relaxed);
        dispatches_.store(st.dispatches, std::memory_order_relaxed);
        identifies_.store(st.identifies, std::memory_order_relaxed);
        resumes_.store(st.resumes, std::memory_order_relaxed);
        resume_attempts_.store(st.resume_attempts, std::memory_order_relaxed);
        replayed_.store(st.replayed, std::memory_order_relaxed);
        reconnects_.store(st.connects > 0 ? st.connects - 1 : 0, std::memory_order_relaxed);
    }

    void arm_timer() {
        const auto deadline = shard_.next_deadline();
        if (deadline == armed_) {
            return;
        }
        armed_ = deadline;
        const auto gen = ++timer_generation_;
        if (!deadline) {
            timer_.cancel();
            return;
        }
        timer_.expires_at(*deadline);
        timer_.async_wait([this, gen](const boost::system::error_code& ec) {
            if (ec || gen != timer_generation_) {
                return;
            }
            armed_.reset();
            shard_.on_deadline(clock::now());
            drain();
        });
    }

    cluster_core& owner_;
    worker& worker_;
    std::mt19937_64 rng_;
    std::uniform_real_distribution<double> unit_{0.0, 1.0};
    gateway::shard shard_;
    std::shared_ptr<detail::client_transport> transport_;
    asio::steady_timer timer_;
    std::optional<time_point> armed_;
    std::uint64_t timer_generation_ = 0;
    bool terminal_reported_ = false;
    gateway::shard_stats published_{}; ///< As of the last publish(), for the counters' deltas.
    std::optional<detail::reconnect_cause> pending_cause_;
    bool connected_before_ = false;
    std::optional<gateway::session_state> reported_; ///< What on_session was last told.
    std::function<void(const std::optional<gateway::session_state>&)> on_released_;

    // Published after every drain for status() (any thread).
    std::atomic<std::uint8_t> state_{0};
    std::atomic<std::int64_t> latency_us_{-1};
    std::atomic<std::uint64_t> dispatches_{0};
    std::atomic<std::uint64_t> identifies_{0};
    std::atomic<std::uint64_t> resumes_{0};
    std::atomic<std::uint64_t> resume_attempts_{0};
    std::atomic<std::uint64_t> replayed_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::int32_t> last_close_{-1};
};

} // namespace shardgate::io
