// The WebSocket client transport (src/io/client_transport.hpp) against the emulator on 127.0.0.1,
// plus URL parsing. The io_context runs on the test thread, bounded by a deadline per wait.
#include "client_transport.hpp"
#include "io_test_support.hpp"

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
using namespace shardgate;
using namespace std::chrono_literals;
namespace detail = shardgate::io::detail;

struct recorder final : detail::transport_handler {
    bool open = false;
    std::vector<std::string> messages;
    std::vector<bool> text;
    std::optional<std::uint16_t> closed;
    std::optional<std::error_code> failed;
    std::string detail;
    gateway::transport_stage stage{};
    int callbacks = 0;

    void on_transport_open() override {
        open = true;
        ++callbacks;
    }
    void on_transport_message(std::span<const std::byte> bytes, bool is_text) override {
        messages.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size()); // NOLINT
        text.push_back(is_text);
        ++callbacks;
    }
    void on_transport_closed(std::uint16_t code, std::string_view /*reason*/) override {
        closed = code;
        ++callbacks;
    }
    void on_transport_failed(std::error_code ec, gateway::transport_stage where,
                             std::string_view why) override {
        failed = ec;
        stage = where;
        detail = why;
        ++callbacks;
    }
    [[nodiscard]] bool ended() const { return closed || failed; }
};

/// Runs `ioc` until `pred` holds or 10 s have passed.
bool run_until(asio::io_context& ioc, const std::function<bool()>& pred) {
    auto guard = asio::make_work_guard(ioc);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        ioc.run_one_for(100ms);
    }
    return true;
}

std::string gateway_url(const test::emulator_thread& emu) {
    return emu.ws_url() + "/?v=10&encoding=json";
}

TEST(client_transport, connects_and_receives_hello_as_text) {
    test::emulator_thread emu;
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, gateway_url(emu), {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return !r.messages.empty() || r.ended(); }));
    EXPECT_TRUE(r.open);
    ASSERT_EQ(r.messages.size(), 1U);
    EXPECT_TRUE(r.text.front());
    EXPECT_NE(r.messages.front().find("\"op\":10"), std::string::npos) << r.messages.front();
    t->drop();
}

TEST(client_transport, sends_text_frames_in_order) {
    test::emulator_thread emu;
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, gateway_url(emu), {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return !r.messages.empty() || r.ended(); }));
    // A heartbeat is answered with op 11 (ACK).
    t->send_text(R"({"op":1,"d":null})");
    ASSERT_TRUE(run_until(ioc, [&] { return r.messages.size() >= 2 || r.ended(); }));
    EXPECT_NE(r.messages.at(1).find("\"op\":11"), std::string::npos) << r.messages.at(1);
    t->drop();
}

TEST(client_transport, message_over_the_read_limit_fails_the_transport) {
    test::emulator_thread emu;
    asio::io_context ioc;
    recorder r;
    detail::transport_options o;
    o.max_message_bytes = 16; // Hello is larger
    auto t = detail::open_transport(ioc, gateway_url(emu), o, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    EXPECT_TRUE(r.open);
    EXPECT_TRUE(r.messages.empty());
    ASSERT_TRUE(r.failed);
    EXPECT_TRUE(*r.failed);
    EXPECT_EQ(r.stage, gateway::transport_stage::open);
}

TEST(client_transport, close_with_a_code_completes_the_handshake) {
    test::emulator_thread emu;
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, gateway_url(emu), {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return !r.messages.empty() || r.ended(); }));
    t->close(4321, "bye");
    t->send_text(R"({"op":1,"d":null})"); // ignored after close
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    ASSERT_TRUE(r.closed) << (r.failed ? r.failed->message() : "");
    EXPECT_EQ(*r.closed, 4321);
    const auto closes = emu.log_events("client_close");
    ASSERT_EQ(closes.size(), 1U);
    EXPECT_EQ(closes.front().at("code").as_int64(), 4321);
    EXPECT_TRUE(emu.log_events("heartbeat").empty());
}

TEST(client_transport, server_close_is_reported_with_its_code) {
    test::emulator_thread emu;
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, gateway_url(emu), {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return !r.messages.empty() || r.ended(); }));
    // Identify so that the emulator knows the shard, then ask it to close with 4000.
    t->send_text(std::string(R"({"op":2,"d":{"token":")") + std::string(test::io_test_token) +
                 R"(","intents":513,"properties":{"os":"linux","browser":"t","device":"t"},)"
                 R"("shard":[0,1]}})");
    ASSERT_TRUE(run_until(ioc, [&] {
        return r.ended() || std::any_of(r.messages.begin(), r.messages.end(), [](auto& m) {
                   return m.find("\"READY\"") != std::string::npos;
               });
    }));
    const auto answer = emu.control("POST", "/_emulator/shards/0/close", R"({"code":4000})");
    EXPECT_TRUE(answer.at("ok").as_bool());
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    ASSERT_TRUE(r.closed);
    EXPECT_EQ(*r.closed, 4000);
}

TEST(client_transport, drop_delivers_nothing_more) {
    test::emulator_thread emu;
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, gateway_url(emu), {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.open; }));
    const int before = r.callbacks;
    t->drop();
    t.reset();
    ioc.run_for(10s); // returns as soon as the transport's coroutines have finished
    EXPECT_TRUE(ioc.stopped());
    EXPECT_FALSE(r.ended());
    EXPECT_LE(r.callbacks, before + 1); // at most Hello, if it was already being delivered
}

TEST(client_transport, bad_url_fails_asynchronously) {
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, "http://127.0.0.1:1/", {}, r);
    EXPECT_EQ(r.callbacks, 0);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    EXPECT_EQ(r.failed, std::make_error_code(std::errc::invalid_argument));
}

TEST(client_transport, wss_without_a_tls_context_fails) {
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, "wss://127.0.0.1:1/", {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    EXPECT_EQ(r.failed, std::make_error_code(std::errc::invalid_argument));
}

TEST(client_transport, refused_connection_fails) {
    asio::io_context ioc;
    recorder r;
    auto t = detail::open_transport(ioc, "ws://127.0.0.1:1/", {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    ASSERT_TRUE(r.failed);
    EXPECT_EQ(*r.failed, std::errc::connection_refused) << r.failed->message();
    EXPECT_EQ(r.detail, "connecting to 127.0.0.1:1");
    EXPECT_EQ(r.stage, gateway::transport_stage::connect);
    EXPECT_FALSE(r.open);
}

TEST(client_transport, a_declined_upgrade_names_the_http_status) {
    asio::io_context ioc;
    // Answers the upgrade request with 403, as an edge proxy refusing a client does.
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket accepted(ioc);
    std::array<char, 4096> request{};
    const std::string answer =
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    acceptor.async_accept(accepted, [&](const boost::system::error_code& ec) {
        if (ec) {
            return;
        }
        accepted.async_read_some(
            asio::buffer(request), [&](const boost::system::error_code& rec, std::size_t) {
                if (!rec) {
                    asio::async_write(accepted, asio::buffer(answer),
                                      [](const boost::system::error_code&, std::size_t) {});
                }
            });
    });
    recorder r;
    auto t = detail::open_transport(
        ioc, "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/", {}, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    ASSERT_TRUE(r.failed);
    EXPECT_EQ(r.detail, "the WebSocket upgrade was answered with HTTP 403 Forbidden");
    EXPECT_EQ(r.stage, gateway::transport_stage::websocket_upgrade);
}

TEST(client_transport, an_unresolvable_host_says_so) {
    asio::io_context ioc;
    recorder r;
    detail::transport_options o;
    o.connect_timeout = 3s;
    auto t = detail::open_transport(ioc, "ws://no-such-host.invalid/", o, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    ASSERT_TRUE(r.failed);
    EXPECT_TRUE(r.detail.starts_with("resolving no-such-host.invalid")) << r.detail;
    EXPECT_EQ(r.stage, gateway::transport_stage::resolve);
}

TEST(client_transport, silent_server_hits_the_connect_timeout) {
    asio::io_context ioc;
    // Accepts TCP and never answers the WebSocket upgrade.
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket accepted(ioc);
    acceptor.async_accept(accepted, [](const boost::system::error_code&) {});
    recorder r;
    detail::transport_options o;
    o.connect_timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    auto t = detail::open_transport(
        ioc, "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/", o, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    EXPECT_EQ(r.failed, std::make_error_code(std::errc::timed_out));
    EXPECT_TRUE(r.detail.starts_with("WebSocket upgrade at 127.0.0.1/")) << r.detail;
    EXPECT_TRUE(r.detail.ends_with("no progress within 300 ms")) << r.detail;
    EXPECT_EQ(r.stage, gateway::transport_stage::websocket_upgrade);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

// ---------------------------------------------------------------------------------------------------
// wss:// against a TLS WebSocket server with a self-signed certificate for "localhost"

/// A fresh key (EC P-256) and a self-signed certificate: CN=localhost, subjectAltName
/// DNS:localhost, valid from a minute ago for one day.
struct self_signed_cert {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, &EVP_PKEY_free};
    std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, &X509_free};

    self_signed_cert() {
        char curve[] = "P-256"; // EVP_PKEY_Q_keygen's variadic argument is a char*
        key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
        cert.reset(X509_new());
        if (!key || !cert) {
            throw std::runtime_error("OpenSSL: key or certificate allocation failed");
        }
        X509* x = cert.get();
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 24L * 3600);
        X509_set_pubkey(x, key.get());
        X509_NAME* name = X509_get_subject_name(x);
        const std::string cn = "localhost";
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), // NOLINT
                                   -1, -1, 0);
        X509_set_issuer_name(x, name);
        X509V3_CTX ctx{};
        X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
        for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                                         std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
            X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
            if (ext == nullptr || X509_add_ext(x, ext, -1) != 1) {
                X509_EXTENSION_free(ext);
                throw std::runtime_error("OpenSSL: adding an extension failed");
            }
            X509_EXTENSION_free(ext);
        }
        if (X509_sign(x, key.get(), EVP_sha256()) == 0) {
            throw std::runtime_error("OpenSSL: X509_sign failed");
        }
    }

    /// Writes the certificate as PEM to `path`.
    void write_pem(const std::filesystem::path& path) const {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(PEM_write_X509(f, cert.get()), 1);
        std::fclose(f);
    }
};

/// A TLS WebSocket server for one connection on 127.0.0.1 (synchronous Beast on a thread): TLS
/// handshake, WebSocket accept, one text frame (Hello), then it reads until the client goes away.
class tls_ws_server {
public:
    explicit tls_ws_server(const self_signed_cert& c) {
        SSL_CTX_use_certificate(ctx_.native_handle(), c.cert.get());
        SSL_CTX_use_PrivateKey(ctx_.native_handle(), c.key.get());
        std::promise<void> done;
        finished_ = done.get_future();
        thread_ = std::thread([this, d = std::move(done)]() mutable {
            serve();
            d.set_value();
        });
    }
    ~tls_ws_server() {
        // The client has ended by now, so the server has too; if not (a failed test), wake it.
        if (finished_.wait_for(10s) != std::future_status::ready) {
            ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
            ::shutdown(accepted_fd_.load(), SHUT_RDWR);
        }
        thread_.join();
    }
    tls_ws_server(const tls_ws_server&) = delete;
    tls_ws_server& operator=(const tls_ws_server&) = delete;
    tls_ws_server(tls_ws_server&&) = delete;
    tls_ws_server& operator=(tls_ws_server&&) = delete;

    [[nodiscard]] std::string url() const {
        return "wss://localhost:" + std::to_string(acceptor_.local_endpoint().port()) + "/?v=10";
    }
    /// The SNI host name the client sent; valid once the server thread has finished.
    [[nodiscard]] std::string servername() {
        EXPECT_EQ(finished_.wait_for(10s), std::future_status::ready);
        return servername_;
    }

private:
    void serve() {
        namespace beast = boost::beast;
        boost::system::error_code ec;
        asio::ip::tcp::socket s(ioc_);
        acceptor_.accept(s, ec);
        if (ec) {
            return;
        }
        accepted_fd_ = s.native_handle();
        beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(std::move(s), ctx_);
        ws.next_layer().handshake(asio::ssl::stream_base::server, ec);
        if (ec) {
            return;
        }
        if (const char* sn =
                SSL_get_servername(ws.next_layer().native_handle(), TLSEXT_NAMETYPE_host_name)) {
            servername_ = sn;
        }
        ws.accept(ec);
        if (ec) {
            return;
        }
        ws.text(true);
        ws.write(asio::buffer(std::string_view(R"({"op":10,"d":{"heartbeat_interval":1000}})")),
                 ec);
        beast::flat_buffer buffer;
        while (!ec) {
            ws.read(buffer, ec); // until the client's close frame or its TCP close
            buffer.clear();
        }
    }

    asio::io_context ioc_;
    asio::ssl::context ctx_{asio::ssl::context::tls_server};
    asio::ip::tcp::acceptor acceptor_{ioc_, {asio::ip::make_address("127.0.0.1"), 0}};
    std::atomic<int> accepted_fd_{-1};
    std::string servername_;
    std::future<void> finished_;
    std::thread thread_;
};

std::string lower(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

TEST(client_transport_tls, self_signed_certificate_fails_verification) {
    const self_signed_cert cert;
    tls_ws_server server(cert);
    asio::io_context ioc;
    recorder r;
    detail::transport_options o;
    o.tls = detail::make_tls_context(true); // the system trust store
    auto t = detail::open_transport(ioc, server.url(), o, r);
    ASSERT_TRUE(run_until(ioc, [&] { return r.ended(); }));
    EXPECT_FALSE(r.open);
    ASSERT_TRUE(r.failed);
    const auto what = lower(std::string(r.failed->category().name()) + ": " + r.failed->message());
    EXPECT_TRUE(what.find("certificate") != std::string::npos ||
                what.find("verify") != std::string::npos)
        << what;
    EXPECT_EQ(r.detail, "TLS handshake with localhost");
    EXPECT_EQ(r.stage, gateway::transport_stage::tls_handshake);
}

TEST(client_transport_tls, verification_off_connects_and_receives_hello) {
    const self_signed_cert cert;
    tls_ws_server server(cert);
    asio::io_context ioc;
    recorder r;
    detail::transport_options o;
    o.tls = detail::make_tls_context(false);
    auto t = detail::open_transport(ioc, server.url(), o, r);
    ASSERT_TRUE(run_until(ioc, [&] { return !r.messages.empty() || r.ended(); }))
        << (r.failed ? r.failed->message() : "");
    EXPECT_TRUE(r.open);
    ASSERT_EQ(r.messages.size(), 1U);
    EXPECT_TRUE(r.text.front());
    EXPECT_EQ(r.messages.front(), R"({"op":10,"d":{"heartbeat_interval":1000}})");
    t->drop();
    EXPECT_EQ(server.servername(), "localhost");
}

// transport_options has no CA hook: the TLS context always loads the default trust store, which
// OpenSSL lets SSL_CERT_FILE replace. That is how this test trusts its own certificate.
TEST(client_transport_tls, trusted_certificate_verifies_and_sends_sni) {
    const self_signed_cert cert;
    const auto pem = std::filesystem::temp_directory_path() /
                     ("shardgate_localhost_" + std::to_string(::getpid()) + ".pem");
    cert.write_pem(pem);
    std::shared_ptr<detail::tls_context> tls;
    {
        const char* old = std::getenv("SSL_CERT_FILE"); // NOLINT(concurrency-mt-unsafe)
        const std::optional<std::string> saved =
            old ? std::optional<std::string>(old) : std::nullopt;
        ::setenv("SSL_CERT_FILE", pem.c_str(), 1); // NOLINT(concurrency-mt-unsafe)
        tls = detail::make_tls_context(true);
        if (saved) {
            ::setenv("SSL_CERT_FILE", saved->c_str(), 1); // NOLINT(concurrency-mt-unsafe)
        } else {
            ::unsetenv("SSL_CERT_FILE"); // NOLINT(concurrency-mt-unsafe)
        }
    }
    std::filesystem::remove(pem);
    tls_ws_server server(cert);
    asio::io_context ioc;
    recorder r;
    detail::transport_options o;
    o.tls = tls;
    auto t = detail::open_transport(ioc, server.url(), o, r);
    ASSERT_TRUE(run_until(ioc, [&] { return !r.messages.empty() || r.ended(); }));
    ASSERT_TRUE(r.open) << (r.failed ? r.failed->message() : "");
    ASSERT_EQ(r.messages.size(), 1U);
    EXPECT_NE(r.messages.front().find("\"op\":10"), std::string::npos);
    t->drop();
    EXPECT_EQ(server.servername(), "localhost");

    // The same trusted certificate under another name (an IP literal, no SNI): the host-name
    // check rejects it.
    tls_ws_server by_ip(cert);
    recorder r2;
    auto url = by_ip.url();
    url.replace(url.find("localhost"), 9, "127.0.0.1");
    auto t2 = detail::open_transport(ioc, url, o, r2);
    ASSERT_TRUE(run_until(ioc, [&] { return r2.ended(); }));
    EXPECT_FALSE(r2.open);
    ASSERT_TRUE(r2.failed);
    const auto what = lower(r2.failed->message());
    EXPECT_TRUE(what.find("certificate") != std::string::npos ||
                what.find("verify") != std::string::npos)
        << what;
    EXPECT_EQ(r2.detail, "TLS handshake with 127.0.0.1");
    EXPECT_EQ(r2.stage, gateway::transport_stage::tls_handshake);
    EXPECT_EQ(by_ip.servername(), "");
}

TEST(parse_url, splits_scheme_host_port_and_target) {
    auto u = detail::parse_url("wss://Gateway.Discord.gg/?v=10&encoding=json");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->scheme, "wss");
    EXPECT_EQ(u->host, "gateway.discord.gg");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/?v=10&encoding=json");
    EXPECT_TRUE(u->secure());

    u = detail::parse_url("ws://127.0.0.1:4567?v=10");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 4567);
    EXPECT_EQ(u->target, "/?v=10");
    EXPECT_FALSE(u->secure());

    u = detail::parse_url("http://[::1]:8080/api/v10");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 8080);
    EXPECT_EQ(u->target, "/api/v10");

    u = detail::parse_url("https://discord.com");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/");
}

TEST(parse_url, rejects_what_a_connection_cannot_use) {
    for (const char* bad : {"", "gateway.discord.gg", "ftp://x/", "ws://", "ws://:80/",
                            "ws://host:0/", "ws://host:65536/", "ws://host:12ab/",
                            "wss://user:pw@host/", "ws://::1/", "ws://[::1/"}) {
        EXPECT_FALSE(detail::parse_url(bad)) << bad;
    }
}

} // namespace
