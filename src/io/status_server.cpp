// The `--metrics` server: Prometheus text, the status page and its Server-Sent Events, on an
// io_context and thread of its own. Plain HTTP/1.1 with Beast; an `/events` response is the header
// and then event after event until either side closes (no length, `Connection: close`), which is
// all Server-Sent Events need. Everything below runs on the server's thread; `publish` and `stop`
// post to it.

#include "shardgate/io/status_server.hpp"

#include "listen.hpp"
#include "shardgate/io/cluster.hpp"
#include "shardgate/observe/prometheus.hpp"
#include "shardgate/observe/status_page.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <deque>
#include <exception>
#include <memory>
#include <set>
#include <thread>

namespace shardgate::io {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto http_idle_timeout = 30s;
constexpr auto write_timeout = 10s;
constexpr std::size_t header_limit = 16 * 1024;

/// [`id: ID`], `event: E`, then one `data:` line per line of `data`, then a blank line.
std::string sse_message(std::string_view event, std::string_view data, std::string_view id = {}) {
    std::string m;
    m.reserve(event.size() + data.size() + id.size() + 24);
    if (!id.empty()) {
        m += "id: ";
        m += id;
        m += '\n';
    }
    m += "event: ";
    m += event;
    m += '\n';
    std::size_t start = 0;
    while (true) {
        const auto nl = data.find('\n', start);
        m += "data: ";
        m += data.substr(start, nl == std::string_view::npos ? nl : nl - start);
        m += '\n';
        if (nl == std::string_view::npos) {
            break;
        }
        start = nl + 1;
    }
    m += '\n';
    return m;
}

/// One `/events` client: what is queued for it and a timer its writer sleeps on.
struct event_client {
    event_client(beast::tcp_stream s, asio::io_context& ioc)
        : stream(std::move(s))
        , wake(ioc) {}
    beast::tcp_stream stream;
    std::deque<std::string> queue;
    asio::steady_timer wake;
    bool closed = false;

    void close() {
        closed = true;
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream.close();
        wake.cancel();
    }
};

} // namespace

class status_server::impl {
public:
    explicit impl(status_server_options options)
        : options_(std::move(options)) {
        const auto bound = detail::open_acceptor(acceptor_, options_.listen);
        port_ = bound.port;
        url_ = "http://" + bound.host + ":" + std::to_string(port_) + "/";
    }

    void start() {
        if (thread_.joinable()) {
            return;
        }
        asio::co_spawn(ioc_, accept_loop(), asio::detached);
        asio::co_spawn(ioc_, status_loop(), asio::detached);
        thread_ = std::thread([this] {
            try {
                ioc_.run();
            } catch (const std::exception&) {
                // Observing must never take the program down; the page just goes quiet.
            }
        });
    }

    void stop() {
        if (stopped_.exchange(true)) {
            return;
        }
        asio::post(ioc_, [this] { shut_down(); });
        if (thread_.joinable()) {
            // Everything closes within a round of the loop; the watchdog covers a stuck write.
            std::thread watchdog([this] {
                for (int i = 0; i < 200 && !ioc_.stopped(); ++i) {
                    std::this_thread::sleep_for(10ms);
                }
                ioc_.stop();
            });
            thread_.join();
            watchdog.join();
        }
    }

    void publish(std::string_view event, std::string data) {
        if (stopped_) {
            return;
        }
        const bool keep = event == "lifecycle";
        asio::post(ioc_, [this, event = std::string(event), data = std::move(data), keep] {
            if (!keep) {
                broadcast(sse_message(event, data));
                return;
            }
            // Kept events carry an id, so that a browser reconnecting with Last-Event-ID gets only
            // what it missed. The id names this server's run: after a restart everything is new.
            const auto n = ++last_event_;
            auto msg = sse_message(event, data, epoch_ + "-" + std::to_string(n));
            recent_.emplace_back(n, msg);
            while (recent_.size() > options_.replay_events) {
                recent_.pop_front();
            }
            broadcast(msg);
        });
    }

    std::uint16_t port_ = 0;
    std::string url_;

private:
    void shut_down() {
        stopping_ = true;
        beast::error_code ec;
        acceptor_.close(ec);
        status_timer_.cancel();
        for (auto* s : connections_) {
            s->socket().shutdown(tcp::socket::shutdown_both, ec);
            s->close();
        }
        for (const auto& c : clients_) {
            c->close();
        }
    }

    void broadcast(const std::string& msg) {
        for (const auto& c : clients_) {
            if (c->queue.size() >= options_.max_backlog) {
                c->close(); // not reading: drop it rather than buffer without end
                continue;
            }
            c->queue.push_back(msg);
            c->wake.cancel();
        }
    }

    asio::awaitable<void> accept_loop() {
        while (!stopping_) {
            auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
            if (stopping_ || ec == asio::error::operation_aborted) {
                break;
            }
            if (ec) {
                asio::steady_timer retry(ioc_, 50ms);
                auto [wec] = co_await retry.async_wait(use_tuple);
                (void)wec;
                continue;
            }
            asio::co_spawn(ioc_, serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> status_loop() {
        while (!stopping_) {
            status_timer_.expires_after(options_.status_interval);
            auto [ec] = co_await status_timer_.async_wait(use_tuple);
            (void)ec; // cancelled only to stop
            if (stopping_) {
                break;
            }
            if (!clients_.empty() && options_.status) {
                broadcast(sse_message("status", safe_call(options_.status, "{}")));
            }
        }
    }

    static std::string safe_call(const std::function<std::string()>& f, std::string fallback) {
        try {
            return f ? f() : fallback;
        } catch (const std::exception&) {
            return fallback;
        }
    }

    asio::awaitable<void> serve(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        connections_.insert(&stream);
        beast::flat_buffer buffer;
        bool upgraded_to_events = false;
        try {
            while (!stopping_) {
                http::request_parser<http::empty_body> parser;
                parser.header_limit(header_limit);
                parser.body_limit(0);
                stream.expires_after(http_idle_timeout);
                auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
                (void)n;
                if (ec) {
                    break;
                }
                const auto& req = parser.get();
                const std::string_view target(req.target().data(), req.target().size());
                const auto path = target.substr(0, target.find('?'));
                if (req.method() == http::verb::get && path == "/events") {
                    connections_.erase(&stream);
                    upgraded_to_events = true;
                    const auto last = req.find("Last-Event-ID");
                    co_await serve_events(
                        std::move(stream),
                        last == req.end()
                            ? std::string_view{}
                            : std::string_view(last->value().data(), last->value().size()));
                    co_return;
                }
                http::response<http::string_body> res{http::status::ok, req.version()};
                res.set(http::field::server, "shardgate");
                res.set(http::field::cache_control, "no-store");
                route(req.method(), path, res);
                res.keep_alive(req.keep_alive() && !stopping_);
                res.prepare_payload();
                stream.expires_after(write_timeout);
                auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
                (void)wn;
                if (wec || !res.keep_alive()) {
                    break;
                }
            }
        } catch (const std::exception&) {
            // One bad connection never ends the server.
        }
        if (!upgraded_to_events) {
            connections_.erase(&stream);
            beast::error_code ec;
            stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            stream.close();
        }
    }

    void route(http::verb method, std::string_view path, http::response<http::string_body>& res) {
        if (method != http::verb::get) {
            res.result(http::status::method_not_allowed);
            res.set(http::field::allow, "GET");
            res.set(http::field::content_type, "text/plain; charset=utf-8");
            res.body() = "only GET here\n";
            return;
        }
        if (path == "/metrics") {
            res.set(http::field::content_type, observe::prometheus_content_type);
            res.body() = safe_call(options_.metrics, "");
        } else if (path == "/" || path == "/index.html") {
            res.set(http::field::content_type, "text/html; charset=utf-8");
            res.body() = std::string(observe::status_page_html());
        } else if (path == "/status.json") {
            res.set(http::field::content_type, "application/json");
            res.body() = safe_call(options_.status, "{}");
        } else {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain; charset=utf-8");
            res.body() = "not found: try / (status page), /metrics, /status.json or /events\n";
        }
    }

    /// The events after `last_id` when it names this run's events, else all kept ones.
    [[nodiscard]] std::uint64_t replay_after(std::string_view last_id) const {
        const auto dash = last_id.rfind('-');
        if (dash == std::string_view::npos || last_id.substr(0, dash) != epoch_) {
            return 0;
        }
        std::uint64_t n = 0;
        const auto digits = last_id.substr(dash + 1);
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        return ec == std::errc{} && ptr == digits.data() + digits.size() ? n : 0;
    }

    asio::awaitable<void> serve_events(beast::tcp_stream stream, std::string_view last_id) {
        auto client = std::make_shared<event_client>(std::move(stream), ioc_);
        client->stream.expires_never();
        const auto after = replay_after(last_id);
        for (const auto& [n, m] : recent_) {
            if (n > after) {
                client->queue.push_back(m);
            }
        }
        if (options_.status) {
            client->queue.push_back(sse_message("status", safe_call(options_.status, "{}")));
        }
        clients_.insert(client);
        std::string header =
            "HTTP/1.1 200 OK\r\nServer: shardgate\r\nContent-Type: text/event-stream\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n"
            "retry: 1000\n\n";
        client->stream.expires_after(write_timeout);
        auto [hec, hn] =
            co_await asio::async_write(client->stream, asio::buffer(header), use_tuple);
        (void)hn;
        while (!hec && !client->closed && !stopping_) {
            if (client->queue.empty()) {
                client->wake.expires_at(asio::steady_timer::time_point::max());
                auto [wec] = co_await client->wake.async_wait(use_tuple);
                (void)wec;
                continue;
            }
            std::string msg = std::move(client->queue.front());
            client->queue.pop_front();
            client->stream.expires_after(write_timeout);
            auto [ec, n] = co_await asio::async_write(client->stream, asio::buffer(msg), use_tuple);
            (void)n;
            if (ec) {
                break;
            }
        }
        clients_.erase(client);
        if (!client->closed) {
            client->close();
        }
    }

    status_server_options options_;
    asio::io_context ioc_{1};
    tcp::acceptor acceptor_{ioc_};
    asio::steady_timer status_timer_{ioc_};
    std::thread thread_;
    std::atomic<bool> stopped_{false};
    bool stopping_ = false;
    std::set<beast::tcp_stream*> connections_;
    std::set<std::shared_ptr<event_client>> clients_;
    std::deque<std::pair<std::uint64_t, std::string>> recent_; ///< Kept events and their numbers.
    std::uint64_t last_event_ = 0;
    /// Names this run in event ids: the start time in ms.
    std::string epoch_ = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
};

status_server::status_server(status_server_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

status_server::~status_server() {
    impl_->stop();
}

std::uint16_t status_server::port() const noexcept {
    return impl_->port_;
}

std::string status_server::url() const {
    return impl_->url_;
}

void status_server::start() {
    impl_->start();
}

void status_server::stop() {
    impl_->stop();
}

void status_server::publish(std::string_view event, std::string data) {
    impl_->publish(event, std::move(data));
}

void status_server::publish(const gateway::lifecycle_event& event) {
    if (observe::shown_in_feed(event.kind)) {
        impl_->publish("lifecycle",
                       observe::lifecycle_entry_json(event, std::chrono::system_clock::now()));
    }
}

std::vector<observe::status_shard> status_shards(const std::vector<shard_status>& shards) {
    std::vector<observe::status_shard> out;
    out.reserve(shards.size());
    for (const auto& s : shards) {
        observe::status_shard& view = out.emplace_back();
        view.id = s.id;
        view.state = gateway::to_string(s.state);
        if (s.heartbeat_rtt) {
            view.latency_ms = static_cast<double>(s.heartbeat_rtt->count()) / 1000.0;
        } else if (s.latency) {
            view.latency_ms = static_cast<double>(s.latency->count());
        }
        view.dispatches = s.dispatches;
        view.identifies = s.identifies;
        view.resumes = s.resumes;
        view.last_close_code = s.last_close_code;
    }
    return out;
}

} // namespace shardgate::io
