// The WebSocket client transport (ws:// and wss://) and the small HTTP(S) client used by discovery.
// This is the only translation unit that instantiates Beast's client streams (~60 s and >1 GiB to
// compile); everything else sees the plain interfaces of client_transport.hpp.
//
// Per connection one coroutine connects (resolve, TCP, TLS, WebSocket handshake, all under one
// timer) and then reads; a second one, spawned while frames are queued, writes them one at a time
// and finally the close frame. Both hold the transport alive through a shared_ptr; `drop()` closes
// the socket and detaches the handler, so whatever the coroutines see afterwards goes nowhere.

#include "client_transport.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/detail/printable.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <charconv>
#include <exception>
#include <openssl/ssl.h>
#include <type_traits>

namespace shardgate::io::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class tls_context {
public:
    explicit tls_context(bool verify_peer)
        : verify(verify_peer) {
        // TLS 1.2 is the floor Discord (and every sane server) accepts.
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
        // OpenSSL gives its record buffers back between records (idle shards).
        SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
        if (verify) {
            ctx.set_default_verify_paths();
            ctx.set_verify_mode(ssl::verify_peer);
        } else {
            ctx.set_verify_mode(ssl::verify_none);
        }
    }
    ssl::context ctx{ssl::context::tls_client};
    bool verify;
};

std::shared_ptr<tls_context> make_tls_context(bool verify) {
    return std::make_shared<tls_context>(verify);
}

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// What a close frame without a status code is reported as (RFC 6455's 1005).
constexpr auto no_status_code = static_cast<std::uint16_t>(gateway::close_code::no_status_received);

/// An idle connection keeps at most this much read buffer; a larger one (after READY or a big
/// GUILD_CREATE) is given back once the message has been handed over.
constexpr std::size_t idle_buffer_limit = 16 * 1024;

constexpr std::size_t client_write_buffer_bytes = 1024;

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

/// The Host header: the host, bracketed if IPv6, with the port unless it is the scheme's default.
std::string host_header(const parsed_url& u) {
    std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    const std::uint16_t default_port = u.secure() ? 443 : 80;
    if (u.port != default_port) {
        h += ":" + std::to_string(u.port);
    }
    return h;
}

template <class Stream> constexpr bool is_tls_v = !std::is_same_v<Stream, beast::tcp_stream>;

/// How far a connect got: the stage (for /metrics) and where, for people ("resolving h").
struct connect_progress {
    gateway::transport_stage stage = gateway::transport_stage::unknown;
    std::string where;
};

/// Resolves and connects `layer` (a tcp_stream, or an ssl_stream over one) and does the TLS
/// handshake with SNI and host-name verification.
template <class Layer>
asio::awaitable<boost::system::error_code>
connect_layer(Layer& layer, tcp::resolver& resolver, const parsed_url& url, const tls_context* tls,
              connect_progress& progress) {
    progress = {gateway::transport_stage::resolve, "resolving " + url.host};
    auto [rec, results] =
        co_await resolver.async_resolve(url.host, std::to_string(url.port), use_tuple);
    if (rec) {
        co_return rec;
    }
    progress = {gateway::transport_stage::connect,
                "connecting to " + url.host + ":" + std::to_string(url.port)};
    auto [cec, ep] = co_await beast::get_lowest_layer(layer).async_connect(results, use_tuple);
    (void)ep;
    if (cec) {
        co_return cec;
    }
    boost::system::error_code opt_ec;
    beast::get_lowest_layer(layer).socket().set_option(tcp::no_delay(true), opt_ec);
    if constexpr (is_tls_v<Layer>) {
        progress = {gateway::transport_stage::tls_handshake, "TLS handshake with " + url.host};
        if (!is_ip_literal(url.host)) {
            // SNI: servers with several certificates pick by it (Cloudflare in front of Discord).
            // SSL_set_tlsext_host_name, spelled out: the macro has an old-style cast.
            if (SSL_ctrl(layer.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                         TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(url.host.c_str())) != 1) { // NOLINT

                co_return boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                                    asio::error::get_ssl_category());
            }
        }
        if (tls != nullptr && tls->verify) {
            layer.set_verify_callback(ssl::host_name_verification(url.host));
        }
        auto [hec] = co_await layer.async_handshake(ssl::stream_base::client, use_tuple);
        co_return hec;
    } else {
        (void)tls;
        co_return boost::system::error_code{};
    }
}

// ---------------------------------------------------------------------------------------------------
// WebSocket transport

template <class NextLayer>
class ws_transport final : public client_transport,
                           public std::enable_shared_from_this<ws_transport<NextLayer>> {
public:
    template <class... Args>
    ws_transport(asio::io_context& ioc, parsed_url url, const transport_options& options,
                 transport_handler& handler, Args&&... layer_args)
        : ioc_(ioc)
        , url_(std::move(url))
        , options_(options)
        , handler_(&handler)
        , ws_(std::forward<Args>(layer_args)...)
        , resolver_(ioc)
        , timer_(ioc) {}

    void start() { asio::co_spawn(ioc_, run(this->shared_from_this()), asio::detached); }

    void send_text(std::string payload) override {
        if (ended_ || close_requested_) {
            return;
        }
        queue_.push_back(std::move(payload));
        start_writer();
    }

    void close(std::uint16_t code, std::string_view reason) override {
        if (ended_ || close_requested_) {
            return;
        }
        close_requested_ = true;
        close_reason_ = websocket::close_reason(code);
        // A close frame carries at most 123 bytes of reason (RFC 6455 5.5).
        close_reason_.reason.assign(reason.data(), std::min<std::size_t>(reason.size(), 123));
        start_writer();
    }

    void drop() noexcept override {
        handler_ = nullptr;
        end_socket();
    }

    void release_buffers() noexcept override {
        // Asked from inside on_transport_message, while buffer_ still holds that message: the
        // read loop frees it once the message is consumed.
        release_requested_ = true;
        if (queue_.empty()) {
            std::vector<std::string>().swap(queue_);
        }
    }

private:
    asio::awaitable<void> run(std::shared_ptr<ws_transport> self) {
        (void)self;
        try {
            if (const auto ec = co_await connect()) {
                fail(ec, progress_.stage, failure_detail());
                co_return;
            }
            open_ = true;
            if (handler_ != nullptr) {
                handler_->on_transport_open();
            }
            start_writer();
            co_await read_loop();
        } catch (const std::exception& e) {
            fail(std::make_error_code(std::errc::io_error),
                 open_ ? gateway::transport_stage::open : progress_.stage, e.what());
        }
    }

    // Where the connection failed, for the log: the stage, and the HTTP status of a refused
    // upgrade (a 403 or 429 from the gateway's edge says more than "declined").
    [[nodiscard]] std::string failure_detail() const {
        if (timed_out_) {
            return progress_.where + ": no progress within " +
                   std::to_string(options_.connect_timeout.count()) + " ms";
        }
        if (upgrade_status_ != 0) {
            return "the WebSocket upgrade was answered with HTTP " +
                   std::to_string(upgrade_status_) + " " + upgrade_reason_;
        }
        return progress_.where;
    }

    asio::awaitable<std::error_code> connect() {
        timer_.expires_after(options_.connect_timeout);
        timer_.async_wait(
            [this, weak = this->weak_from_this()](const boost::system::error_code& ec) {
                if (ec || weak.expired()) {
                    return;
                }
                timed_out_ = true;
                resolver_.cancel();
                boost::system::error_code ignored;
                beast::get_lowest_layer(ws_).socket().close(ignored);
            });
        auto ec = co_await connect_layer(ws_.next_layer(), resolver_, url_, options_.tls.get(),
                                         progress_);
        if (!ec && !ended_) {
            websocket::stream_base::timeout timeouts{};
            timeouts.handshake_timeout = options_.connect_timeout;  // also bounds the close
            timeouts.idle_timeout = websocket::stream_base::none(); // heartbeats are the core's
            timeouts.keep_alive_pings = false;
            ws_.set_option(timeouts);
            ws_.set_option(websocket::permessage_deflate{}); // off: Discord compresses itself
            ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
                req.set(http::field::user_agent, "DiscordBot (https://github.com/shardgate, 0.1)");
            }));
            ws_.read_message_max(options_.max_message_bytes);
            ws_.auto_fragment(false);
            // The buffer Beast masks our frames in, held for the connection's life: a shard sends
            // small frames (a heartbeat, an Identify), so 1 KiB instead of 4 serves them in one
            // write each.
            ws_.write_buffer_bytes(client_write_buffer_bytes);
            progress_ = {gateway::transport_stage::websocket_upgrade,
                         "WebSocket upgrade at " + url_.host + url_.target};
            websocket::response_type response;
            auto [hec] =
                co_await ws_.async_handshake(response, host_header(url_), url_.target, use_tuple);
            ec = hec;
            if (hec == websocket::error::upgrade_declined) {
                upgrade_status_ = response.result_int();
                // The reason phrase is the server's: keep it short and printable.
                const auto reason = response.reason();
                upgrade_reason_ = gateway::detail::printable({reason.data(), reason.size()}, 64);
            }
        }
        timer_.cancel();
        if (timed_out_) {
            co_return std::make_error_code(std::errc::timed_out);
        }
        if (ended_ && !ec) {
            co_return std::make_error_code(std::errc::operation_canceled);
        }
        co_return std::error_code(ec);
    }

    asio::awaitable<void> read_loop() {
        for (;;) {
            auto [ec, n] = co_await ws_.async_read(buffer_, use_tuple);
            (void)n;
            if (ended_) {
                co_return;
            }
            if (ec == websocket::error::closed) {
                const auto& r = ws_.reason();
                const auto code = static_cast<std::uint16_t>(r.code);
                finish_closed(code == 0 ? no_status_code : code,
                              std::string_view(r.reason.data(), r.reason.size()));
                co_return;
            }
            if (ec && close_sent_) {
                co_return; // our close handshake is under way: its completion reports the end
            }
            if (ec) {
                fail(write_error_ ? write_error_ : std::error_code(ec),
                     gateway::transport_stage::open, write_error_ ? "writing" : "reading");
                co_return;
            }
            const auto data = buffer_.cdata();
            if (handler_ != nullptr) {
                handler_->on_transport_message(
                    {static_cast<const std::byte*>(data.data()), data.size()}, ws_.got_text());
            }
            buffer_.consume(buffer_.size());
            if (std::exchange(release_requested_, false)) {
                buffer_ = beast::flat_buffer{};
            } else if (buffer_.capacity() > idle_buffer_limit) {
                buffer_.shrink_to_fit();
            }
        }
    }

    void start_writer() {
        if (writing_ || !open_ || ended_ ||
            (queue_.empty() && (!close_requested_ || close_sent_))) {
            return;
        }
        writing_ = true;
        asio::co_spawn(ioc_, write_loop(this->shared_from_this()), asio::detached);
    }

    asio::awaitable<void> write_loop(std::shared_ptr<ws_transport> self) {
        (void)self;
        try {
            std::vector<std::string> batch;
            while (!ended_) {
                if (!queue_.empty()) {
                    batch.clear();
                    batch.swap(queue_);
                    for (const auto& payload : batch) {
                        ws_.text(true);
                        auto [ec, n] = co_await ws_.async_write(asio::buffer(payload), use_tuple);
                        (void)n;
                        if (ended_) {
                            break;
                        }
                        if (ec) {
                            // The read loop reports the end: cut the socket so that it wakes up.
                            write_error_ = ec;
                            cut_socket();
                            break;
                        }
                    }
                    if (write_error_) {
                        break;
                    }
                    continue;
                }
                if (close_requested_ && !close_sent_) {
                    close_sent_ = true;
                    // Completes once the peer's close frame arrived (or the handshake failed).
                    // A pending read may end first, with operation_aborted: this reports.
                    auto [ec] = co_await ws_.async_close(close_reason_, use_tuple);
                    if (!ended_) {
                        if (ec) {
                            fail(ec, gateway::transport_stage::open, "the close handshake");
                        } else {
                            const auto code = static_cast<std::uint16_t>(ws_.reason().code);
                            const auto& r = ws_.reason().reason;
                            finish_closed(code == 0 ? no_status_code : code,
                                          std::string_view(r.data(), r.size()));
                        }
                    }
                }
                break;
            }
        } catch (const std::exception&) {
            cut_socket();
        }
        writing_ = false;
    }

    void finish_closed(std::uint16_t code, std::string_view reason) {
        auto* h = std::exchange(handler_, nullptr);
        end_socket();
        if (h != nullptr) {
            h->on_transport_closed(code, reason);
        }
    }

    void fail(std::error_code ec, gateway::transport_stage stage, std::string_view detail) {
        auto* h = std::exchange(handler_, nullptr);
        end_socket();
        if (h != nullptr) {
            h->on_transport_failed(ec, stage, detail);
        }
    }

    void cut_socket() noexcept {
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    void end_socket() noexcept {
        if (ended_) {
            return;
        }
        ended_ = true;
        queue_.clear();
        queue_.shrink_to_fit();
        resolver_.cancel();
        timer_.cancel();
        cut_socket();
    }

    asio::io_context& ioc_;
    parsed_url url_;
    transport_options options_;
    transport_handler* handler_;
    websocket::stream<NextLayer> ws_;
    tcp::resolver resolver_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    bool release_requested_ = false; // the shard went quiet: free buffer_ after this message
    std::vector<std::string> queue_;
    websocket::close_reason close_reason_;
    std::error_code write_error_;
    bool timed_out_ = false;
    connect_progress progress_; // what connect() is doing, for failure_detail()
    unsigned upgrade_status_ = 0;
    std::string upgrade_reason_;
    bool open_ = false;
    bool writing_ = false;
    bool close_requested_ = false;
    bool close_sent_ = false;
    bool ended_ = false;
};

/// Reports a failure asynchronously (the handler is never called from inside `open_transport`).
class failed_transport final : public client_transport,
                               public std::enable_shared_from_this<failed_transport> {
public:
    explicit failed_transport(transport_handler& handler)
        : handler_(&handler) {}
    void start(asio::io_context& ioc, std::error_code ec, std::string detail) {
        asio::post(ioc, [self = shared_from_this(), ec, detail = std::move(detail)] {
            if (auto* h = std::exchange(self->handler_, nullptr)) {
                // Nothing was started (an unusable URL, no TLS context for wss://).
                h->on_transport_failed(ec, gateway::transport_stage::unknown, detail);
            }
        });
    }
    void send_text(std::string /*payload*/) override {}
    void close(std::uint16_t /*code*/, std::string_view /*reason*/) override {}
    void drop() noexcept override { handler_ = nullptr; }

private:
    transport_handler* handler_;
};

} // namespace

std::optional<parsed_url> parse_url(std::string_view url) {
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) {
        return std::nullopt;
    }
    parsed_url out;
    out.scheme = lower(url.substr(0, sep));
    if (out.scheme == "ws" || out.scheme == "http") {
        out.port = 80;
    } else if (out.scheme == "wss" || out.scheme == "https") {
        out.port = 443;
    } else {
        return std::nullopt;
    }
    std::string_view rest = url.substr(sep + 3);
    const auto path_at = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, path_at);
    std::string_view target = path_at == std::string_view::npos ? "" : rest.substr(path_at);
    if (const auto hash = target.find('#'); hash != std::string_view::npos) {
        target = target.substr(0, hash);
    }
    if (authority.find('@') != std::string_view::npos) {
        return std::nullopt; // user info would end up in logs; Discord never needs it
    }
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return std::nullopt;
            }
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return std::nullopt; // an IPv6 literal without brackets
        }
    }
    if (host.empty()) {
        return std::nullopt;
    }
    if (!port.empty()) {
        unsigned value = 0;
        const auto* end = port.data() + port.size();
        const auto [ptr, ec] = std::from_chars(port.data(), end, value);
        if (ec != std::errc{} || ptr != end || value == 0 || value > 65535) {
            return std::nullopt;
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    out.host = lower(host);
    out.target = target.empty() ? "/" : std::string(target);
    if (out.target.front() == '?') {
        out.target.insert(0, "/");
    }
    return out;
}

std::shared_ptr<client_transport> open_transport(asio::io_context& ioc, std::string_view url,
                                                 const transport_options& options,
                                                 transport_handler& handler) {
    auto parsed = parse_url(url);
    if (!parsed || (parsed->scheme != "ws" && parsed->scheme != "wss") ||
        (parsed->secure() && !options.tls)) {
        auto t = std::make_shared<failed_transport>(handler);
        t->start(ioc, std::make_error_code(std::errc::invalid_argument),
                 parsed && parsed->secure() && (parsed->scheme == "wss")
                     ? "a wss:// URL, and no TLS context was given"
                     : "not a usable ws:// or wss:// URL");
        return t;
    }
    if (parsed->secure()) {
        auto tls = options.tls;
        auto t = std::make_shared<ws_transport<beast::ssl_stream<beast::tcp_stream>>>(
            ioc, std::move(*parsed), options, handler, ioc, tls->ctx);
        t->start();
        return t;
    }
    auto t = std::make_shared<ws_transport<beast::tcp_stream>>(ioc, std::move(*parsed), options,
                                                               handler, ioc);
    t->start();
    return t;
}

// ---------------------------------------------------------------------------------------------------
// HTTP(S)

namespace {

template <class Layer>
asio::awaitable<std::error_code> http_on(Layer& layer, tcp::resolver& resolver,
                                         const parsed_url& url, const http_request& request,
                                         const tls_context* tls, http_response& out) {
    connect_progress progress;
    if (auto ec = co_await connect_layer(layer, resolver, url, tls, progress)) {
        co_return std::error_code(ec);
    }
    http::request<http::string_body> req;
    req.method_string(request.method);
    req.target(url.target);
    req.version(11);
    req.set(http::field::host, host_header(url));
    req.set(http::field::user_agent, "DiscordBot (https://github.com/shardgate, 0.1)");
    req.set(http::field::accept, "application/json");
    for (const auto& [name, value] : request.headers) {
        req.set(name, value);
    }
    if (!request.body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = request.body;
    }
    req.keep_alive(false);
    req.prepare_payload();
    if (auto [ec, n] = co_await http::async_write(layer, req, use_tuple); ec) {
        co_return std::error_code(ec);
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(request.max_body_bytes);
    auto [ec, n] = co_await http::async_read(layer, buffer, parser, use_tuple);
    (void)n;
    if (ec) {
        co_return std::error_code(ec);
    }
    const auto& res = parser.get();
    out.status = res.result_int();
    out.body = res.body();
    out.retry_after = std::string(res[http::field::retry_after]);
    co_return std::error_code{};
}

} // namespace

std::error_code http_exchange(const http_request& request, http_response& out) {
    const auto url = parse_url(request.url);
    if (!url || (url->scheme != "http" && url->scheme != "https")) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    asio::io_context ioc{1};
    tcp::resolver resolver(ioc);
    std::optional<std::error_code> result;
    bool timed_out = false;
    asio::steady_timer timer(ioc);
    std::shared_ptr<tls_context> tls;
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    const auto on_done = [&](const std::exception_ptr& e, std::error_code ec) {
        result = e ? std::make_error_code(std::errc::io_error) : ec;
        timer.cancel();
    };
    if (url->secure()) {
        try {
            tls = make_tls_context(request.verify_tls);
        } catch (const boost::system::system_error& e) {
            return e.code();
        }
        secure.emplace(ioc, tls->ctx);
        asio::co_spawn(ioc, http_on(*secure, resolver, *url, request, tls.get(), out), on_done);
    } else {
        plain.emplace(ioc);
        asio::co_spawn(ioc, http_on(*plain, resolver, *url, request, nullptr, out), on_done);
    }
    timer.expires_after(request.timeout);
    timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec) {
            return;
        }
        timed_out = true;
        resolver.cancel();
        boost::system::error_code ignored;
        if (plain) {
            plain->socket().close(ignored);
        } else if (secure) {
            beast::get_lowest_layer(*secure).socket().close(ignored);
        }
    });
    ioc.run();
    if (timed_out && (!result || *result)) {
        return std::make_error_code(std::errc::timed_out);
    }
    return result.value_or(std::make_error_code(std::errc::io_error));
}

} // namespace shardgate::io::detail
