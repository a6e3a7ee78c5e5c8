// The gateway emulator on the network: one io_context, one thread, C++20 coroutines. HTTP
// (discovery and control API) and the WebSocket gateway share one port. This is the only
// translation unit that instantiates Beast's server-side streams; everything else sees the pimpl in
// emulator_server.hpp.
//
// This file only moves bytes: it accepts, reads and writes HTTP, upgrades to WebSocket, reads and
// writes frames, and runs the timers. What a request means is the emulator core's business:
// `emulator::handle_http_request` (control_api.hpp) answers every HTTP request and hands back the
// faults, dispatches and floods for the open connections, which `run_effect` carries out; each
// WebSocket connection is an `emulator::connection`; the metrics come from emulator_metrics.cpp.
//
// Per WebSocket connection, two coroutines share one `ws_session`:
// - the reader reads client messages (bounded by max_message_bytes), feeds the sans-I/O
//   emulator::connection and wakes the driver;
// - the driver drains `poll_action()` (one write at a time, so the socket paces the core), then
//   waits on a timer for `next_deadline()` or until woken. Waking is `wake_timer.cancel()`: every
//   input is followed by a drain, because the driver either waits on that timer or is in a write
//   after which it polls again.
// The world has one timer of its own. Everything runs on one thread, so no locks.

#include "shardgate/io/emulator_server.hpp"

#include "emulator_metrics.hpp"
#include "listen.hpp"
#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/control_api.hpp"
#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/time.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <future>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace shardgate::io {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using gateway::clock;
using gateway::time_point;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Idle time allowed between HTTP requests on one connection (and to send one request).
constexpr auto http_idle_timeout = 30s;
/// Close handshake and upgrade handshake bound.
constexpr auto ws_handshake_timeout = 5s;
/// Back-off after a failed accept (EMFILE and the like), so the loop never spins.
constexpr auto accept_retry_delay = 50ms;
/// HTTP request limits: a huge header gets 431, a huge body 413.
constexpr std::uint32_t http_header_limit = 16 * 1024;
constexpr std::uint64_t http_body_limit = 1024 * 1024;
/// After an error answer, how long and how much the server reads and discards before closing.
constexpr auto linger_timeout = 1s;
constexpr std::size_t linger_max_bytes = 1024 * 1024;
/// Client messages read per `async_read_some`.
constexpr std::size_t read_chunk = 16 * 1024;
/// The reader stops reading while this many actions wait to be written (the client is not reading).
constexpr std::size_t reader_high_water = 1024;
constexpr std::size_t reader_low_water = 256;
/// Largest close reason a close frame can carry (RFC 6455: 125 bytes of payload minus the code).
constexpr std::size_t max_close_reason = 123;

// ---------------------------------------------------------------------------------------------------
// Small helpers

std::string_view as_view(const beast::flat_buffer& b) {
    const auto data = b.cdata();
    return {static_cast<const char*>(data.data()), data.size()};
}

} // namespace

// -----------------------------------------------------------------------------------------------------

class emulator_server::impl {
public:
    explicit impl(emulator_server_options options);
    ~impl() { destroying_ = true; }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;
    impl(impl&&) = delete;
    impl& operator=(impl&&) = delete;

    void run();
    void stop() {
        asio::post(ioc_, [this] { begin_shutdown(); });
    }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] const std::string& http_url() const noexcept { return http_url_; }
    [[nodiscard]] const std::string& ws_url() const noexcept { return ws_url_; }
    [[nodiscard]] const std::string& local_endpoint() const noexcept { return local_endpoint_; }
    [[nodiscard]] bool loopback() const noexcept { return loopback_; }

    /// Runs `f` on the server's thread and waits for its result (at most 2 s).
    template <class F> auto on_server_thread(F f) -> std::optional<decltype(f())> {
        using result = decltype(f());
        if (!serving_.load()) {
            return std::nullopt;
        }
        auto done = std::make_shared<std::promise<result>>();
        auto future = done->get_future();
        asio::post(ioc_, [f = std::move(f), done] {
            try {
                done->set_value(f());
            } catch (...) {
                done->set_exception(std::current_exception());
            }
        });
        if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
            return std::nullopt;
        }
        try {
            return future.get();
        } catch (const std::exception&) {
            return std::nullopt; // the server stopped before running it (broken promise)
        }
    }
    /// Carries a control effect out on the open connections of its shard; how many took it.
    std::size_t run_effect(const emulator::control_effect& effect);
    std::string metrics_text();
    [[nodiscard]] emulator::world_stats stats() const { return world_.stats(); }
    [[nodiscard]] std::string stats_json() const { return world_.stats_json(); }
    std::map<std::uint32_t, std::size_t> open_by_shard() {
        std::map<std::uint32_t, std::size_t> out;
        for (auto* s : sessions_on_shard(std::nullopt)) {
            ++out[*s->conn->shard_id()];
        }
        return out;
    }

private:
    /// One WebSocket connection: the stream, the core connection and the driver's wake-up timer.
    struct ws_session {
        ws_session(impl& server, beast::tcp_stream&& stream, std::uint64_t session_id)
            : srv(server)
            , id(session_id)
            , ws(std::move(stream))
            , wake_timer(server.ioc_)
            , reader_timer(server.ioc_) {}
        ws_session(const ws_session&) = delete;
        ws_session& operator=(const ws_session&) = delete;
        ws_session(ws_session&&) = delete;
        ws_session& operator=(ws_session&&) = delete;
        ~ws_session() = default;

        impl& srv;
        std::uint64_t id;
        websocket::stream<beast::tcp_stream> ws;
        std::optional<emulator::connection> conn;
        asio::steady_timer wake_timer;
        asio::steady_timer reader_timer;
        bool reader_done = false;
        bool driver_done = false;
        bool dead = false; ///< The socket is closed; remaining actions are discarded.
        bool reader_paused = false;
        std::vector<std::byte> batch; ///< Framed messages of a prepared flood, written at once.

        void wake() { wake_timer.cancel(); }
        void hard_close() {
            dead = true;
            beast::get_lowest_layer(ws).close();
        }
        [[nodiscard]] bool live() const { return conn && conn->open(); }
    };

    /// Keeps `live_` and the HTTP registry right whatever way a connection coroutine ends.
    class connection_guard {
    public:
        connection_guard(impl& s, std::uint64_t id, beast::tcp_stream* stream)
            : srv_(s)
            , id_(id) {
            ++srv_.live_;
            srv_.http_streams_[id_] = stream;
        }
        ~connection_guard() {
            srv_.http_streams_.erase(id_);
            --srv_.live_;
            srv_.maybe_finish_shutdown();
        }
        connection_guard(const connection_guard&) = delete;
        connection_guard& operator=(const connection_guard&) = delete;
        connection_guard(connection_guard&&) = delete;
        connection_guard& operator=(connection_guard&&) = delete;
        void upgraded() { srv_.http_streams_.erase(id_); }

    private:
        impl& srv_;
        std::uint64_t id_;
    };

    class session_registration {
    public:
        session_registration(impl& s, ws_session& session)
            : srv_(s)
            , id_(session.id) {
            srv_.sessions_[id_] = &session;
        }
        ~session_registration() { srv_.sessions_.erase(id_); }
        session_registration(const session_registration&) = delete;
        session_registration& operator=(const session_registration&) = delete;
        session_registration(session_registration&&) = delete;
        session_registration& operator=(session_registration&&) = delete;

    private:
        impl& srv_;
        std::uint64_t id_;
    };

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> world_loop();
    asio::awaitable<void> serve_connection(tcp::socket socket);
    asio::awaitable<void> serve_websocket(beast::tcp_stream stream,
                                          http::request<http::string_body> request,
                                          std::uint64_t id);
    asio::awaitable<void> read_loop(ws_session& s);
    asio::awaitable<void> drive_loop(ws_session& s);
    asio::awaitable<bool> drain(ws_session& s);
    asio::awaitable<std::optional<emulator::connection_action>>
    write_batch(ws_session& s, emulator::server_action::send first);
    /// A failed write ends the connection; a drained queue lets a paused reader go on.
    static void after_write(ws_session& s, const boost::system::error_code& ec) {
        if (ec) {
            s.hard_close();
            if (s.conn->open()) {
                s.conn->on_transport_lost(clock::now());
            }
        }
        if (s.reader_paused && s.conn->pending_actions() <= reader_low_water) {
            s.reader_timer.cancel();
        }
    }

    emulator::http_response handle_http(const http::request<http::string_body>& req);

    std::vector<ws_session*> sessions_on_shard(std::optional<std::uint32_t> shard);
    void poke_world();
    void begin_shutdown();
    void maybe_finish_shutdown();
    void on_shutdown_timer(bool final_stage);

    emulator_server_options options_;
    // The world and the registries outlive the io_context: coroutine frames destroyed with it still
    // refer to them.
    emulator::world world_;
    std::map<std::uint64_t, ws_session*> sessions_;
    std::map<std::uint64_t, beast::tcp_stream*> http_streams_;
    std::size_t live_ = 0;
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;
    bool running_ = false;
    std::atomic<bool> serving_{false}; ///< run() is in ioc_.run(): posts will be served.
    /// Set in ~impl: coroutine frames destroyed with the io_context must not touch its timers.
    bool destroying_ = false;
    std::optional<time_point> world_armed_;

    asio::io_context ioc_{1};
    tcp::acceptor acceptor_{ioc_};
    asio::steady_timer world_timer_{ioc_};
    asio::steady_timer accept_retry_{ioc_};
    asio::steady_timer shutdown_timer_{ioc_};
    asio::signal_set signals_{ioc_};
    std::uint16_t port_ = 0;
    std::string http_url_;
    std::string ws_url_;
    std::string local_endpoint_;
    bool loopback_ = true;
};

emulator_server::impl::impl(emulator_server_options options)
    : options_(std::move(options))
    , world_(options_.config, clock::now()) {
    const auto bound = detail::open_acceptor(acceptor_, options_.listen);
    if (!bound.loopback && options_.config.control_token.empty()) {
        throw std::system_error(
            std::make_error_code(std::errc::operation_not_permitted),
            "refusing to listen on " + bound.endpoint +
                ": beyond loopback the control API (/_emulator/) would let anyone on the network "
                "close, flood or drop your shards; set a control token (serve --control-token "
                "TOKEN) or listen on 127.0.0.1");
    }
    port_ = bound.port;
    local_endpoint_ = bound.endpoint;
    loopback_ = bound.loopback;
    const auto& host = bound.host;
    http_url_ = "http://" + host + ":" + std::to_string(port_);
    ws_url_ = "ws://" + host + ":" + std::to_string(port_);
    world_.set_public_ws_url(ws_url_);
    if (options_.wall_clock) {
        const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch());
        world_.set_unix_time(clock::now(), static_cast<std::uint64_t>(unix_ms.count()));
    }
    // The world closes connections on its own (4004 after a token reset, 4000 when a session is
    // resumed elsewhere): their drivers must drain. Only wakes; never destroys anything.
    if (options_.on_log || options_.on_log_entry) {
        world_.set_log_observer([on_json = options_.on_log, on_entry = options_.on_log_entry](
                                    const emulator::log_entry& entry) {
            if (on_entry) {
                on_entry(entry);
            }
            if (on_json) {
                on_json(emulator::to_json(entry));
            }
        });
    }
    world_.set_wake_handler([this](std::uint64_t connection_id) {
        if (const auto it = sessions_.find(connection_id); it != sessions_.end()) {
            it->second->wake();
        }
    });
    if (options_.handle_signals) {
        signals_.add(SIGINT);
        signals_.add(SIGTERM);
    }
}

void emulator_server::impl::run() {
    if (running_) {
        return;
    }
    running_ = true;
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    asio::co_spawn(ioc_, world_loop(), asio::detached);
    if (options_.handle_signals) {
        signals_.async_wait([this](const beast::error_code& ec, int /*signal*/) {
            if (!ec) {
                begin_shutdown();
            }
        });
    }
    serving_ = true;
    ioc_.run();
    serving_ = false;
}

// ---------------------------------------------------------------------------------------------------
// Shutdown: stop accepting, close WebSockets with 1001 through the core, end HTTP connections;
// after the grace period cut what is left, and a little later stop the io_context whatever remains.

void emulator_server::impl::begin_shutdown() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    serving_ = false;
    beast::error_code ec;
    acceptor_.close(ec);
    signals_.cancel(ec);
    world_timer_.cancel();
    accept_retry_.cancel();
    std::vector<beast::tcp_stream*> streams;
    for (auto& [id, stream] : http_streams_) {
        streams.push_back(stream);
    }
    for (auto* stream : streams) {
        stream->close();
    }
    std::vector<ws_session*> sessions;
    for (auto& [id, s] : sessions_) {
        sessions.push_back(s);
    }
    const auto now = clock::now();
    for (auto* s : sessions) {
        if (s->live()) {
            s->conn->inject_close(now, static_cast<std::uint16_t>(gateway::close_code::going_away));
            s->wake();
        } else if (!s->conn) {
            s->hard_close(); // still in the upgrade handshake
        }
    }
    if (live_ > 0) {
        shutdown_timer_.expires_after(options_.shutdown_grace);
        shutdown_timer_.async_wait([this](const beast::error_code& e) {
            if (!e) {
                on_shutdown_timer(false);
            }
        });
    }
}

void emulator_server::impl::on_shutdown_timer(bool final_stage) {
    if (final_stage) {
        ioc_.stop();
        return;
    }
    std::vector<beast::tcp_stream*> streams;
    for (auto& [id, stream] : http_streams_) {
        streams.push_back(stream);
    }
    for (auto* stream : streams) {
        stream->close();
    }
    for (auto& [id, s] : sessions_) {
        s->hard_close();
        s->wake();
        s->reader_timer.cancel();
    }
    shutdown_timer_.expires_after(500ms);
    shutdown_timer_.async_wait([this](const beast::error_code& e) {
        if (!e) {
            on_shutdown_timer(true);
        }
    });
}

void emulator_server::impl::maybe_finish_shutdown() {
    if (stopping_ && live_ == 0 && !destroying_) {
        shutdown_timer_.cancel();
    }
}

// ---------------------------------------------------------------------------------------------------
// Accepting and the world's timer

asio::awaitable<void> emulator_server::impl::accept_loop() {
    while (!stopping_) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (stopping_) {
            break;
        }
        if (ec) {
            if (ec == asio::error::operation_aborted) {
                break;
            }
            // Out of file descriptors or similar: wait a little instead of spinning.
            accept_retry_.expires_after(accept_retry_delay);
            auto [wait_ec] = co_await accept_retry_.async_wait(use_tuple);
            (void)wait_ec;
            continue;
        }
        beast::error_code opt_ec;
        socket.set_option(tcp::no_delay(true), opt_ec);
        asio::co_spawn(ioc_, serve_connection(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> emulator_server::impl::world_loop() {
    while (!stopping_) {
        world_armed_ = world_.next_deadline();
        world_timer_.expires_at(world_armed_.value_or(time_point::max()));
        auto [ec] = co_await world_timer_.async_wait(use_tuple);
        if (stopping_) {
            break;
        }
        if (!ec) {
            try {
                world_.on_deadline(clock::now());
            } catch (const std::exception&) {
                // A bug in the core must not take the server down; the next deadline is re-armed.
            }
        }
    }
}

void emulator_server::impl::poke_world() {
    if (!stopping_ && world_.next_deadline() != world_armed_) {
        world_timer_.cancel();
    }
}

// ---------------------------------------------------------------------------------------------------
// HTTP

asio::awaitable<void> emulator_server::impl::serve_connection(tcp::socket socket) {
    const std::uint64_t id = next_id_++;
    beast::tcp_stream stream(std::move(socket));
    connection_guard guard(*this, id, &stream);
    beast::flat_buffer buffer;
    try {
        while (!stopping_) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(http_header_limit);
            parser.body_limit(http_body_limit);
            stream.expires_after(http_idle_timeout);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
            (void)n;
            if (ec) {
                if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                    ec == beast::error::timeout || ec == asio::error::operation_aborted ||
                    ec == asio::error::connection_reset || stopping_) {
                    break;
                }
                // Garbage, a huge header or body: answer once, then close.
                http::status status = http::status::bad_request;
                std::string message = "bad HTTP request: " + ec.message();
                if (ec == http::error::header_limit) {
                    status = http::status::request_header_fields_too_large;
                    message = "request header over 16 KiB";
                } else if (ec == http::error::body_limit) {
                    status = http::status::payload_too_large;
                    message = "request body over 1 MiB";
                }
                auto answer = emulator::error_response(static_cast<std::uint16_t>(status), message);
                http::response<http::string_body> res{status, 11};
                res.set(http::field::server, "shardgate-emulator");
                res.set(http::field::content_type, answer.content_type);
                res.keep_alive(false);
                res.body() = std::move(answer.body);
                res.prepare_payload();
                stream.expires_after(5s);
                auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
                (void)wn;
                if (!wec) {
                    // Lingering close: read and discard what the client is still sending, so that
                    // closing with unread data does not reset the connection before the client has
                    // read the answer. Bounded in time and bytes.
                    beast::error_code sec;
                    stream.socket().shutdown(tcp::socket::shutdown_send, sec);
                    stream.expires_after(linger_timeout);
                    std::array<char, 4096> sink{};
                    for (std::size_t drained = 0; drained < linger_max_bytes;) {
                        auto [rec, rn] =
                            co_await stream.async_read_some(asio::buffer(sink), use_tuple);
                        if (rec) {
                            break;
                        }
                        drained += rn;
                    }
                }
                break;
            }
            if (websocket::is_upgrade(parser.get())) {
                stream.expires_never();
                guard.upgraded();
                co_await serve_websocket(std::move(stream), parser.release(), id);
                co_return;
            }
            const auto& req = parser.get();
            emulator::http_response r;
            try {
                r = handle_http(req);
            } catch (const std::exception& e) {
                r = emulator::error_response(
                    static_cast<std::uint16_t>(http::status::internal_server_error),
                    std::string("internal error: ") + e.what());
            }
            http::response<http::string_body> res{static_cast<http::status>(r.status),
                                                  req.version()};
            res.set(http::field::server, "shardgate-emulator");
            res.set(http::field::content_type, r.content_type);
            if (!r.allow.empty()) {
                res.set(http::field::allow, r.allow);
            }
            if (!r.www_authenticate.empty()) {
                res.set(http::field::www_authenticate, r.www_authenticate);
            }
            res.keep_alive(req.keep_alive() && !stopping_);
            res.body() = std::move(r.body);
            res.prepare_payload();
            stream.expires_after(http_idle_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
            (void)wn;
            if (wec || !res.keep_alive()) {
                break;
            }
        }
    } catch (const std::exception&) {
        // Fall through to close the socket; one bad connection never ends the server.
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
}

emulator::http_response
emulator_server::impl::handle_http(const http::request<http::string_body>& req) {
    const emulator::http_request request{req.method_string(), req.target(),
                                         req[http::field::authorization], req.body()};
    auto answer = emulator::handle_http_request(
        world_, request, clock::now(),
        [this](const emulator::control_effect& effect) { return run_effect(effect); });
    poke_world(); // a dispatch into a detached session may have changed the world's deadline
    return answer;
}

std::vector<emulator_server::impl::ws_session*>
emulator_server::impl::sessions_on_shard(std::optional<std::uint32_t> shard) {
    std::vector<ws_session*> out;
    for (auto& [id, s] : sessions_) {
        if (s->live() && !s->dead && s->conn->shard_id() &&
            (!shard || *s->conn->shard_id() == *shard)) {
            out.push_back(s);
        }
    }
    return out;
}

std::size_t emulator_server::impl::run_effect(const emulator::control_effect& effect) {
    const auto now = clock::now();
    std::size_t took = 0;
    for (auto* s : sessions_on_shard(emulator::target_shard(effect))) {
        if (emulator::apply_effect(*s->conn, effect, now)) {
            ++took;
            s->wake();
        }
    }
    poke_world();
    return took;
}

// ---------------------------------------------------------------------------------------------------
// WebSocket

asio::awaitable<void>
emulator_server::impl::serve_websocket(beast::tcp_stream stream,
                                       http::request<http::string_body> request, std::uint64_t id) {
    ws_session s(*this, std::move(stream), id);
    session_registration registration(*this, s);
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = ws_handshake_timeout;
    timeouts.idle_timeout = websocket::stream_base::none(); // the core enforces heartbeats
    timeouts.keep_alive_pings = false;
    s.ws.set_option(timeouts);
    s.ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "shardgate-emulator"); }));
    // Unlimited for Beast, which would close with 1009 on its own: read_loop enforces
    // max_message_bytes and closes with 4002 as Discord does.
    s.ws.read_message_max(0);
    s.ws.auto_fragment(false);

    auto [ec] = co_await s.ws.async_accept(request, use_tuple);
    if (ec || stopping_) {
        if (!ec) {
            auto [cec] = co_await s.ws.async_close(
                websocket::close_reason(websocket::close_code::going_away), use_tuple);
            (void)cec;
        }
        s.hard_close();
        co_return;
    }
    try {
        std::string_view target = request.target();
        const auto q = target.find('?');
        const auto query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
        s.conn.emplace(world_, id, emulator::parse_connect_query(query), clock::now());
    } catch (const std::exception&) {
        s.hard_close();
        co_return;
    }
    co_await (read_loop(s) && drive_loop(s));
    s.hard_close();
    poke_world();
}

asio::awaitable<void> emulator_server::impl::read_loop(ws_session& s) {
    beast::flat_buffer buffer;
    const std::size_t max = options_.max_message_bytes;
    try {
        while (!s.driver_done) {
            buffer.clear();
            if (buffer.capacity() > 4 * read_chunk) {
                buffer.shrink_to_fit();
            }
            beast::error_code ec;
            bool overflow = false;
            do {
                const std::size_t room = max + 1 - buffer.size();
                auto [rec, n] =
                    co_await s.ws.async_read_some(buffer, std::min(room, read_chunk), use_tuple);
                (void)n;
                if (rec) {
                    ec = rec;
                    break;
                }
                if (buffer.size() > max) {
                    overflow = true;
                    break;
                }
            } while (!s.ws.is_message_done());
            if (s.driver_done || !s.conn) {
                break;
            }
            const auto now = clock::now();
            if (ec) {
                if (s.conn->open()) {
                    if (ec == websocket::error::closed) {
                        s.conn->on_client_close(now, s.ws.reason().code);
                    } else {
                        s.conn->on_transport_lost(now);
                    }
                }
                break;
            }
            if (s.conn->open()) {
                if (s.ws.got_text()) {
                    s.conn->on_text(now, as_view(buffer));
                } else {
                    const auto data = buffer.cdata();
                    s.conn->on_binary(
                        now, std::span<const std::byte>(static_cast<const std::byte*>(data.data()),
                                                        data.size()));
                }
            }
            if (overflow) {
                // The rest of the message stays unread; the close handshake discards it.
                if (s.conn->open()) {
                    s.conn->inject_close(
                        now, static_cast<std::uint16_t>(gateway::close_code::decode_error));
                }
                break;
            }
            s.wake();
            // Back-pressure: a client that sends but does not read gets no more reads from us.
            while (!s.driver_done && !s.dead && s.conn->pending_actions() > reader_high_water) {
                s.reader_paused = true;
                s.reader_timer.expires_at(time_point::max());
                auto [wec] = co_await s.reader_timer.async_wait(use_tuple);
                (void)wec;
                s.reader_paused = false;
            }
        }
    } catch (const std::exception&) {
        s.hard_close();
    }
    s.reader_done = true;
    s.wake();
}

asio::awaitable<void> emulator_server::impl::drive_loop(ws_session& s) {
    try {
        for (;;) {
            if (co_await drain(s)) {
                break;
            }
            if (s.reader_done || s.dead) {
                break;
            }
            if (s.reader_paused) {
                s.reader_timer.cancel(); // let the reader look at pending_actions() again
            }
            const auto deadline = s.conn->next_deadline();
            s.wake_timer.expires_at(deadline.value_or(time_point::max()));
            auto [ec] = co_await s.wake_timer.async_wait(use_tuple);
            if (!ec && deadline && s.conn->open()) {
                s.conn->on_deadline(clock::now());
            }
        }
    } catch (const std::exception&) {
        // Ends the connection below.
    }
    s.driver_done = true;
    s.hard_close();
    s.reader_timer.cancel();
}

/// Writes what the core has queued, one message at a time. Returns true once the connection is
/// finished (closed or dropped).
asio::awaitable<bool> emulator_server::impl::drain(ws_session& s) {
    std::optional<emulator::connection_action> carried; // polled past the end of a batch
    for (;;) {
        auto action = carried ? std::exchange(carried, std::nullopt) : s.conn->poll_action();
        if (!action) {
            break;
        }
        if (auto* send = std::get_if<emulator::server_action::send>(&*action)) {
            if (s.dead) {
                continue;
            }
            if (send->prepared) {
                carried = co_await write_batch(s, std::move(*send));
                continue;
            }
            s.ws.binary(send->binary);
            auto [ec, n] = co_await s.ws.async_write(
                asio::buffer(send->bytes.data(), send->bytes.size()), use_tuple);
            (void)n;
            after_write(s, ec);
            continue;
        }
        if (auto* close = std::get_if<emulator::server_action::close>(&*action)) {
            if (!s.dead && s.ws.is_open()) {
                websocket::close_reason reason(close->code);
                const auto text = std::string_view(close->reason)
                                      .substr(0, std::min(close->reason.size(), max_close_reason));
                reason.reason.assign(text.data(), text.size());
                auto [ec] = co_await s.ws.async_close(reason, use_tuple);
                (void)ec;
            }
            s.hard_close();
            poke_world();
            co_return true;
        }
        // server_action::drop: cut the TCP connection, no close frame.
        s.hard_close();
        poke_world();
        co_return true;
    }
    poke_world();
    co_return false;
}

namespace {

/// Appends one unmasked, final, unfragmented server frame (RFC 6455 5.2).
void append_frame(std::vector<std::byte>& out, const emulator::server_action::send& m) {
    constexpr std::uint8_t fin = 0x80;
    constexpr std::uint8_t text_frame = 0x1;
    constexpr std::uint8_t binary_frame = 0x2;
    constexpr std::size_t max_7bit = 125;
    constexpr std::size_t max_16bit = 0xffff;
    const std::size_t n = m.bytes.size();
    out.push_back(
        std::byte{static_cast<std::uint8_t>(fin | (m.binary ? binary_frame : text_frame))});
    if (n <= max_7bit) {
        out.push_back(std::byte{static_cast<std::uint8_t>(n)});
    } else if (n <= max_16bit) {
        out.push_back(std::byte{126});
        for (int shift = 8; shift >= 0; shift -= 8) {
            out.push_back(std::byte{static_cast<std::uint8_t>(n >> static_cast<unsigned>(shift))});
        }
    } else {
        out.push_back(std::byte{127});
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(std::byte{static_cast<std::uint8_t>(static_cast<std::uint64_t>(n) >>
                                                              static_cast<unsigned>(shift))});
        }
    }
    out.insert(out.end(), m.bytes.begin(), m.bytes.end());
}

} // namespace

/// Writes a run of prepared flood frames with one socket write per ~256 KiB, framed here and
/// written under Beast (which has no way to write several messages at once); Beast is not
/// writing meanwhile, since this coroutine is the only writer. The one exception is its read
/// side answering a client's ping or close frame, which could land inside a batch: a prepared
/// flood is a benchmark tool, and no gateway client pings. Returns the action polled past the
/// run, if any.
asio::awaitable<std::optional<emulator::connection_action>>
emulator_server::impl::write_batch(ws_session& s, emulator::server_action::send first) {
    constexpr std::size_t batch_bytes = 256 * 1024;
    std::optional<emulator::connection_action> next;
    s.batch.clear();
    append_frame(s.batch, first);
    while (s.batch.size() < batch_bytes) {
        next = s.conn->poll_action();
        const auto* more = next ? std::get_if<emulator::server_action::send>(&*next) : nullptr;
        if (more == nullptr || !more->prepared) {
            break;
        }
        append_frame(s.batch, *more);
        next.reset();
    }
    auto [ec, n] = co_await asio::async_write(
        s.ws.next_layer(), asio::buffer(s.batch.data(), s.batch.size()), use_tuple);
    (void)n;
    if (s.batch.capacity() > 2 * batch_bytes) {
        std::vector<std::byte>().swap(s.batch);
    }
    after_write(s, ec);
    co_return next;
}

// ---------------------------------------------------------------------------------------------------

emulator_server::emulator_server(emulator_server_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

emulator_server::~emulator_server() = default;

std::size_t emulator_server::inject(std::uint32_t shard, emulator_fault fault,
                                    std::uint16_t close_code, bool resumable) {
    return impl_
        ->on_server_thread([this, shard, fault, close_code, resumable] {
            return impl_->run_effect(emulator::inject_fault{shard, fault, close_code, resumable});
        })
        .value_or(0);
}

std::optional<std::string> emulator_server::stats_json() const {
    return impl_->on_server_thread([this] { return impl_->stats_json(); });
}

std::optional<emulator::world_stats> emulator_server::stats() const {
    return impl_->on_server_thread([this] { return impl_->stats(); });
}

std::map<std::uint32_t, std::size_t> emulator_server::open_connections_by_shard() const {
    return impl_->on_server_thread([this] { return impl_->open_by_shard(); })
        .value_or(std::map<std::uint32_t, std::size_t>{});
}

std::string emulator_server::metrics() const {
    return impl_->on_server_thread([this] { return impl_->metrics_text(); }).value_or("");
}

std::string emulator_server::impl::metrics_text() {
    return detail::emulator_metrics_text(world_.stats(), sessions_.size(), open_by_shard());
}

std::uint16_t emulator_server::port() const noexcept {
    return impl_->port();
}

std::string emulator_server::http_url() const {
    return impl_->http_url();
}

std::string emulator_server::ws_url() const {
    return impl_->ws_url();
}

std::string emulator_server::local_endpoint() const {
    return impl_->local_endpoint();
}

bool emulator_server::loopback() const noexcept {
    return impl_->loopback();
}

void emulator_server::run() {
    impl_->run();
}

void emulator_server::stop() {
    impl_->stop();
}

} // namespace shardgate::io
