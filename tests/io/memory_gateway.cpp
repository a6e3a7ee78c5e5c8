#include "memory_gateway.hpp"

#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/time.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

namespace shardgate::test {

namespace asio = boost::asio;
using gateway::clock;
using gateway::time_point;

std::string_view to_string(fault_point p) noexcept {
    switch (p) {
    case fault_point::connect: return "connect";
    case fault_point::handshake: return "handshake";
    case fault_point::read: return "read";
    case fault_point::write: return "write";
    }
    return "unknown";
}

namespace {

/// The client's end of one in-memory connection. Lives on the shard's thread.
class link final : public io::transport, public std::enable_shared_from_this<link> {
public:
    link(std::uint64_t link_id, io::transport_handler& handler,
         std::function<void(std::function<void()>)> post_to_shard,
         std::function<void(std::function<void()>)> post_to_gateway)
        : id(link_id)
        , handler_(&handler)
        , post_to_shard_(std::move(post_to_shard))
        , post_to_gateway_(std::move(post_to_gateway)) {}

    const std::uint64_t id;
    /// Set on the gateway's thread to what it should call for this link's client actions.
    std::function<void(std::string)> on_text;
    std::function<void(std::uint16_t)> on_close;
    std::function<void()> on_lost;

    void send_text(std::string payload) override {
        if (!ended_ && !closing_) {
            post_to_gateway_([self = shared_from_this(), p = std::move(payload)]() mutable {
                if (self->on_text) {
                    self->on_text(std::move(p));
                }
            });
        }
    }
    void close(std::uint16_t code, std::string_view /*reason*/) override {
        if (!ended_ && !closing_) {
            closing_ = true;
            post_to_gateway_([self = shared_from_this(), code] {
                if (self->on_close) {
                    self->on_close(code);
                }
            });
        }
    }
    void drop() noexcept override {
        if (ended_) {
            return;
        }
        ended_ = true;
        try {
            post_to_gateway_([self = shared_from_this()] {
                if (self->on_lost) {
                    self->on_lost();
                }
            });
        } catch (...) { // NOLINT(bugprone-empty-catch): a gateway that is gone has nothing to tell
        }
    }

    // From the gateway's thread: each call reaches the handler later, on the shard's thread.
    void deliver_open() {
        to_shard([](link& l) { l.handler_->on_transport_open(); });
    }
    void deliver_message(std::vector<std::byte> bytes, bool binary) {
        post_to_shard_([self = shared_from_this(), b = std::move(bytes), binary] {
            if (!self->ended_) {
                self->handler_->on_transport_message(b, !binary);
            }
        });
    }
    void deliver_closed(std::uint16_t code) {
        to_shard([code](link& l) {
            l.ended_ = true;
            l.handler_->on_transport_closed(code, {});
        });
    }
    void deliver_failed(std::error_code ec) {
        to_shard([ec](link& l) {
            l.ended_ = true;
            // The shard knows whether it was open; before that, the gateway refused it.
            l.handler_->on_transport_failed(ec, gateway::transport_stage::connect,
                                            "the memory gateway dropped it");
        });
    }

private:
    template <class F> void to_shard(F f) {
        post_to_shard_([self = shared_from_this(), f = std::move(f)] {
            if (!self->ended_) {
                f(*self);
            }
        });
    }

    io::transport_handler* handler_;
    std::function<void(std::function<void()>)> post_to_shard_;
    std::function<void(std::function<void()>)> post_to_gateway_;
    bool ended_ = false; ///< Shard thread only.
    bool closing_ = false;
};

} // namespace

class memory_gateway::impl : public std::enable_shared_from_this<impl> {
public:
    impl(emulator::emulator_config config, fault_plan plan)
        : plan_(plan)
        , world_(std::move(config), clock::now())
        , timer_(ioc_) {
        world_.set_public_ws_url("ws://memory.test");
        world_.set_wake_handler([this](std::uint64_t /*connection_id*/) { schedule(); });
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~impl() { stop(); }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    void stop() {
        if (!thread_.joinable()) {
            return;
        }
        std::promise<void> done;
        auto finished = done.get_future();
        asio::post(ioc_, [this, &done] {
            // Nothing is processed from here on: the world may still hold deadlines (a detached
            // session's expiry) whose timer would keep the thread running.
            stopping_ = true;
            for (auto& [id, c] : conns_) {
                if (c.conn->open()) {
                    c.conn->on_transport_lost(clock::now());
                }
            }
            conns_.clear();
            timer_.cancel();
            guard_.reset();
            done.set_value();
        });
        finished.wait();
        thread_.join();
    }

    std::shared_ptr<io::transport> connect(const io::transport_request& request,
                                           io::transport_handler& handler) {
        const auto id = next_id_.fetch_add(1) + 1;
        auto l = std::make_shared<link>(id, handler, request.post, [this](std::function<void()> f) {
            asio::post(ioc_, std::move(f));
        });
        const auto query =
            request.url.substr(std::min(request.url.size(), request.url.find('?') + 1));
        if (strikes(fault_point::connect, connects_)) {
            l->deliver_failed(std::make_error_code(std::errc::connection_refused));
            return l;
        }
        asio::post(ioc_, [self = shared_from_this(), l, query] { self->open(l, query); });
        return l;
    }

    bool fired() const { return state_.load() == fault_state::fired; }
    bool disarm() {
        auto expected = fault_state::armed;
        state_.compare_exchange_strong(expected, fault_state::disarmed);
        return state_.load() == fault_state::fired;
    }
    std::size_t open_connections() {
        return on_gateway([this] { return conns_.size(); });
    }
    std::string stats() {
        return on_gateway([this] { return world_.stats_json(); });
    }

private:
    struct open_conn {
        std::shared_ptr<link> client;
        std::unique_ptr<emulator::connection> conn;
    };

    template <class F> std::invoke_result_t<F> on_gateway(F f) {
        std::packaged_task<std::invoke_result_t<F>()> task(std::move(f));
        auto result = task.get_future();
        asio::post(ioc_, [&task] { task(); });
        return result.get();
    }

    /// Counts one operation of `point`; true when it is the planned fault's.
    bool strikes(fault_point point, std::atomic<std::uint64_t>& counter) {
        const auto n = counter.fetch_add(1) + 1;
        if (plan_.nth == 0 || plan_.point != point || n != plan_.nth) {
            return false;
        }
        auto expected = fault_state::armed;
        return state_.compare_exchange_strong(expected, fault_state::fired);
    }

    void open(const std::shared_ptr<link>& l, const std::string& query) {
        if (strikes(fault_point::handshake, handshakes_)) {
            l->deliver_failed(std::make_error_code(std::errc::connection_aborted));
            return;
        }
        const auto id = l->id;
        l->on_text = [this, id](std::string text) {
            auto it = conns_.find(id);
            if (it == conns_.end()) {
                return;
            }
            if (strikes(fault_point::write, writes_)) {
                fail(it, std::make_error_code(std::errc::broken_pipe));
                return;
            }
            it->second.conn->on_text(clock::now(), text);
            process();
        };
        l->on_close = [this, id](std::uint16_t code) {
            auto it = conns_.find(id);
            if (it == conns_.end()) {
                return;
            }
            it->second.conn->on_client_close(clock::now(), code);
            std::uint16_t echo = code;
            while (auto a = it->second.conn->poll_action()) {
                if (const auto* c = std::get_if<emulator::server_action::close>(&*a)) {
                    echo = c->code;
                }
            }
            it->second.client->deliver_closed(echo);
            forget(it);
            process();
        };
        l->on_lost = [this, id] {
            if (auto it = conns_.find(id); it != conns_.end()) {
                if (it->second.conn->open()) {
                    it->second.conn->on_transport_lost(clock::now());
                }
                forget(it);
                process();
            }
        };
        open_conn c{l, std::make_unique<emulator::connection>(
                           world_, id, emulator::parse_connect_query(query), clock::now())};
        conns_.emplace(id, std::move(c));
        l->deliver_open();
        process();
    }

    void fail(std::map<std::uint64_t, open_conn>::iterator it, std::error_code ec) {
        if (it->second.conn->open()) {
            it->second.conn->on_transport_lost(clock::now());
        }
        it->second.client->deliver_failed(ec);
        forget(it);
    }

    void forget(std::map<std::uint64_t, open_conn>::iterator it) {
        // What the connection still wants to say is lost with it, as with a socket.
        while (it->second.conn->poll_action()) {
        }
        conns_.erase(it);
    }

    void schedule() {
        if (!scheduled_) {
            scheduled_ = true;
            asio::post(ioc_, [this] {
                scheduled_ = false;
                process();
            });
        }
    }

    /// Carries every connection's actions to its client and fires due deadlines, then arms the
    /// timer for the next one.
    void process() {
        if (stopping_) {
            return;
        }
        for (int round = 0; round < 1000; ++round) {
            bool moved = false;
            const auto now = clock::now();
            if (const auto d = world_.next_deadline(); d && *d <= now) {
                world_.on_deadline(now);
                moved = true;
            }
            for (auto it = conns_.begin(); it != conns_.end();) {
                auto next = std::next(it);
                if (const auto d = it->second.conn->next_deadline(); d && *d <= now) {
                    it->second.conn->on_deadline(now);
                }
                moved = drain(it) || moved;
                it = next;
            }
            if (!moved) {
                break;
            }
        }
        std::optional<time_point> next = world_.next_deadline();
        for (const auto& [id, c] : conns_) {
            if (const auto d = c.conn->next_deadline(); d && (!next || *d < *next)) {
                next = d;
            }
        }
        timer_.expires_at(next.value_or(time_point::max()));
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) {
                self->process();
            }
        });
    }

    /// One connection's queued actions; false when it had none. May erase `it`.
    bool drain(std::map<std::uint64_t, open_conn>::iterator it) {
        bool any = false;
        while (auto a = it->second.conn->poll_action()) {
            any = true;
            if (auto* send = std::get_if<emulator::server_action::send>(&*a)) {
                if (strikes(fault_point::read, reads_)) {
                    fail(it, std::make_error_code(std::errc::connection_reset));
                    return true;
                }
                it->second.client->deliver_message(std::move(send->bytes), send->binary);
            } else if (const auto* c = std::get_if<emulator::server_action::close>(&*a)) {
                // The client's echo completes the handshake at once.
                it->second.conn->on_client_close(clock::now(), c->code);
                it->second.client->deliver_closed(c->code);
                forget(it);
                return true;
            } else {
                it->second.client->deliver_failed(
                    std::make_error_code(std::errc::connection_reset));
                forget(it);
                return true;
            }
        }
        return any;
    }

    fault_plan plan_;
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_{ioc_.get_executor()};
    emulator::world world_;
    asio::steady_timer timer_;
    std::map<std::uint64_t, open_conn> conns_;
    bool scheduled_ = false;
    bool stopping_ = false;
    std::atomic<std::uint64_t> next_id_{0};
    std::atomic<std::uint64_t> connects_{0};
    std::atomic<std::uint64_t> handshakes_{0};
    std::atomic<std::uint64_t> reads_{0};
    std::atomic<std::uint64_t> writes_{0};
    enum class fault_state : std::uint8_t { armed, fired, disarmed };
    std::atomic<fault_state> state_{fault_state::armed};
    std::thread thread_;
};

memory_gateway::memory_gateway(emulator::emulator_config config, fault_plan plan)
    : impl_(std::make_shared<impl>(std::move(config), plan)) {}

memory_gateway::~memory_gateway() {
    impl_->stop();
}

io::transport_factory memory_gateway::factory() {
    return [g = impl_](const io::transport_request& request, io::transport_handler& handler) {
        return g->connect(request, handler);
    };
}

bool memory_gateway::fault_fired() const {
    return impl_->fired();
}

bool memory_gateway::disarm() {
    return impl_->disarm();
}

std::size_t memory_gateway::open_connections() const {
    return impl_->open_connections();
}

std::string memory_gateway::stats_json() const {
    return impl_->stats();
}

} // namespace shardgate::test
