// The WebSocket client transport (src/io/client_transport.hpp) against the emulator on 127.0.0.1,
// plus URL parsing. The io_context runs on the test thread, bounded by a deadline per wait.
#include "client_transport.hpp"
#include "io_test_support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

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
    void on_transport_failed(std::error_code ec) override {
        failed = ec;
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
    EXPECT_FALSE(r.open);
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
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
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
