// shardgate::io::emulator_server on 127.0.0.1, in-process on a thread, driven by a small
// synchronous Beast client. Every client operation has a timeout (the tcp_stream's expiry), so a
// server bug fails a test instead of hanging it. No sleeps: each step waits for the message that
// proves it.
#include "shardgate/io/emulator_server.hpp"

#include "shardgate/emulator/catalog.hpp"
#include "shardgate/gateway/compression.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <gtest/gtest.h>
#include <iostream>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
namespace gw = shardgate::gateway;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto io_timeout = 10s;
constexpr std::string_view good_token = "good-token";

/// Runs one asynchronous operation to completion; the stream's expiry bounds it.
template <typename Start> beast::error_code complete(asio::io_context& ioc, Start&& start) {
    std::optional<beast::error_code> result;
    std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result.value_or(asio::error::timed_out);
}

tcp::endpoint loopback(std::uint16_t port) {
    return {asio::ip::make_address("127.0.0.1"), port};
}

struct http_response {
    unsigned status = 0;
    std::string body;
    std::string allow;
    std::string www_authenticate;
    [[nodiscard]] json::value json() const { return json::parse(body); }
};

http_response http_call(std::uint16_t port, http::verb verb, const std::string& target,
                        const std::string& body = {}, const std::string& authorization = {}) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(io_timeout);
    if (auto ec = complete(ioc, [&](auto h) { stream.async_connect(loopback(port), h); })) {
        throw std::runtime_error("connect: " + ec.message());
    }
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) {
        req.set(http::field::authorization, authorization);
    }
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    stream.expires_after(io_timeout);
    if (auto ec = complete(ioc, [&](auto h) { http::async_write(stream, req, h); })) {
        throw std::runtime_error("write: " + ec.message());
    }
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    stream.expires_after(io_timeout);
    if (auto ec = complete(ioc, [&](auto h) { http::async_read(stream, buffer, res, h); })) {
        throw std::runtime_error("read: " + ec.message());
    }
    return {res.result_int(), res.body(), std::string(res[http::field::allow]),
            std::string(res[http::field::www_authenticate])};
}

http_response get(std::uint16_t port, const std::string& target) {
    return http_call(port, http::verb::get, target);
}

http_response post(std::uint16_t port, const std::string& target, const std::string& body = {}) {
    return http_call(port, http::verb::post, target, body);
}

/// Raw bytes to the port; returns what comes back until the server closes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(io_timeout);
    if (auto ec = complete(ioc, [&](auto h) { stream.async_connect(loopback(port), h); })) {
        throw std::runtime_error("connect: " + ec.message());
    }
    if (auto ec =
            complete(ioc, [&](auto h) { asio::async_write(stream, asio::buffer(bytes), h); })) {
        throw std::runtime_error("write: " + ec.message());
    }
    std::string answer;
    auto buf = asio::dynamic_buffer(answer);
    const auto ec = complete(ioc, [&](auto h) { asio::async_read(stream, buf, h); });
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    return answer;
}

/// One gateway connection.
class ws_client {
public:
    struct message {
        beast::error_code ec; ///< Set when the connection ended instead.
        json::value payload;
        bool binary = false;
    };

    explicit ws_client(std::uint16_t port, std::string query = "v=10&encoding=json",
                       gw::compression mode = gw::compression::none)
        : inflater_(mode) {
        auto& tcp_layer = beast::get_lowest_layer(ws_);
        tcp_layer.expires_after(io_timeout);
        if (auto ec = complete(ioc_, [&](auto h) { tcp_layer.async_connect(loopback(port), h); })) {
            throw std::runtime_error("connect: " + ec.message());
        }
        const std::string host = "127.0.0.1:" + std::to_string(port);
        const std::string target = "/?" + query;
        if (auto ec = complete(ioc_, [&](auto h) { ws_.async_handshake(host, target, h); })) {
            throw std::runtime_error("handshake: " + ec.message());
        }
    }

    /// The next payload (decompressed when the connection is), or the error that ended it.
    message next(std::chrono::milliseconds timeout = io_timeout) {
        for (;;) {
            buffer_.clear();
            beast::get_lowest_layer(ws_).expires_after(timeout);
            if (auto ec = complete(ioc_, [&](auto h) { ws_.async_read(buffer_, h); })) {
                return {ec, {}, false};
            }
            const auto data = buffer_.cdata();
            const std::span<const std::byte> bytes(static_cast<const std::byte*>(data.data()),
                                                   data.size());
            const bool binary = !ws_.got_text();
            auto r = inflater_.feed(bytes);
            if (r.ec) {
                throw std::runtime_error("inflate: " + r.ec.message());
            }
            if (!r.message) {
                continue; // a zlib message split over frames
            }
            auto payload = json::parse(*r.message);
            if (const auto* s = payload.as_object().if_contains("s"); s && s->is_int64()) {
                last_seq = s->get_int64();
            }
            return {{}, std::move(payload), binary};
        }
    }

    /// The next payload; fails the test on an error.
    json::object next_payload() {
        auto m = next();
        if (m.ec) {
            throw std::runtime_error("read: " + m.ec.message() + " (close code " +
                                     std::to_string(ws_.reason().code) + ")");
        }
        return m.payload.as_object();
    }

    void send(const std::string& text) {
        ws_.text(true);
        beast::get_lowest_layer(ws_).expires_after(io_timeout);
        if (auto ec = complete(ioc_, [&](auto h) { ws_.async_write(asio::buffer(text), h); })) {
            throw std::runtime_error("write: " + ec.message());
        }
    }

    [[nodiscard]] std::uint16_t close_code() const { return ws_.reason().code; }

    /// Hello, then Identify, then READY; returns READY's `d` and counts the GUILD_CREATEs.
    json::object identify(std::size_t expected_guilds, std::int64_t intents = 513) {
        auto hello = next_payload();
        EXPECT_EQ(hello.at("op").as_int64(), 10);
        send(R"({"op":2,"d":{"token":")" + std::string(good_token) + R"(","intents":)" +
             std::to_string(intents) +
             R"(,"properties":{"os":"linux","browser":"test","device":"test"},"shard":[0,1]}})");
        auto ready = next_payload();
        EXPECT_EQ(ready.at("op").as_int64(), 0);
        EXPECT_EQ(ready.at("t").as_string(), "READY");
        std::size_t guilds = 0;
        while (guilds < expected_guilds) {
            auto m = next_payload();
            if (m.at("t").is_string() && m.at("t").as_string() == "GUILD_CREATE") {
                ++guilds;
            }
        }
        return ready.at("d").as_object();
    }

    std::int64_t last_seq = 0;

private:
    asio::io_context ioc_;
    websocket::stream<beast::tcp_stream> ws_{ioc_};
    beast::flat_buffer buffer_;
    gw::inflater inflater_;
};

shardgate::emulator::emulator_config test_config() {
    shardgate::emulator::emulator_config c;
    c.tokens = {std::string(good_token)};
    c.heartbeat_interval = 45'000ms;
    c.guilds = 10;
    c.recommended_shards = 1;
    c.seed = 7;
    return c;
}

/// The server on its own thread for one test.
class emulator_server_test : public ::testing::Test {
protected:
    void SetUp() override {
        shardgate::io::emulator_server_options o;
        o.config = test_config();
        o.wall_clock = false;
        // Both forms of the live log, to compare them (called on the server's thread).
        o.on_log_entry = [this](const shardgate::emulator::log_entry& e) {
            const std::lock_guard lock(log_mutex_);
            logged_typed_.push_back(shardgate::emulator::to_json(e));
        };
        o.on_log = [this](std::string_view json) {
            const std::lock_guard lock(log_mutex_);
            logged_json_.emplace_back(json);
        };
        server_.emplace(std::move(o));
        port_ = server_->port();
        std::promise<void> done;
        finished_ = done.get_future();
        thread_ = std::thread([this, d = std::move(done)]() mutable {
            server_->run();
            d.set_value();
        });
    }

    void TearDown() override { stop_and_join(); }

    void stop_and_join() {
        if (!thread_.joinable()) {
            return;
        }
        server_->stop();
        if (finished_.wait_for(10s) != std::future_status::ready) {
            std::cerr << "emulator_server::run() did not return 10 s after stop()\n";
            std::abort();
        }
        thread_.join();
    }

    [[nodiscard]] std::size_t routed_guilds() const {
        const shardgate::emulator::catalog c(test_config());
        return c.guilds_for_shard(0, 1).size();
    }

    std::mutex log_mutex_;
    std::vector<std::string> logged_typed_;
    std::vector<std::string> logged_json_;
    std::optional<shardgate::io::emulator_server> server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::future<void> finished_;
};

// Discovery
// ------------------------------------------------------------------------------------------

TEST_F(emulator_server_test, gateway_answers_the_ws_url) {
    EXPECT_EQ(server_->http_url(), "http://127.0.0.1:" + std::to_string(port_));
    const auto r = get(port_, "/api/v10/gateway");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("url").as_string(), "ws://127.0.0.1:" + std::to_string(port_));
}

TEST_F(emulator_server_test, gateway_bot_needs_a_valid_bot_token) {
    const auto none = get(port_, "/api/v10/gateway/bot");
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.body, R"({"message":"401: Unauthorized","code":0})");
    const auto wrong =
        http_call(port_, http::verb::get, "/api/v10/gateway/bot", {}, "Bot not-the-token");
    EXPECT_EQ(wrong.status, 401);
    const auto bearer =
        http_call(port_, http::verb::get, "/api/v10/gateway/bot", {}, "Bearer good-token");
    EXPECT_EQ(bearer.status, 401);

    const auto ok = http_call(port_, http::verb::get, "/api/v10/gateway/bot", {},
                              "Bot " + std::string(good_token));
    ASSERT_EQ(ok.status, 200) << ok.body;
    const auto v = ok.json().as_object();
    EXPECT_EQ(v.at("url").as_string(), "ws://127.0.0.1:" + std::to_string(port_));
    EXPECT_EQ(v.at("shards").to_number<std::int64_t>(), 1);
    const auto& limit = v.at("session_start_limit").as_object();
    EXPECT_EQ(limit.at("total").to_number<std::int64_t>(), 1000);
    EXPECT_EQ(limit.at("max_concurrency").to_number<std::int64_t>(), 1);
    EXPECT_TRUE(limit.contains("remaining"));
    EXPECT_TRUE(limit.contains("reset_after"));
}

TEST_F(emulator_server_test, unknown_paths_are_404_and_wrong_methods_405) {
    EXPECT_EQ(get(port_, "/api/v10/users/@me").status, 404);
    EXPECT_EQ(get(port_, "/nothing/here").status, 404);
    EXPECT_EQ(get(port_, "/_emulator/nope").status, 404);
    const auto r = post(port_, "/api/v10/gateway");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.allow, "GET");
    EXPECT_EQ(get(port_, "/_emulator/flood").status, 405);
    EXPECT_EQ(post(port_, "/_emulator/stats").status, 405);
}

TEST_F(emulator_server_test, garbage_and_huge_headers_get_an_error_and_the_server_keeps_serving) {
    const auto garbage = raw_exchange(port_, "\x01\x02\x03 not http at all\r\n\r\n");
    EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400")) << garbage;
    const auto huge = raw_exchange(
        port_, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
    EXPECT_TRUE(huge.starts_with("HTTP/1.1 431")) << huge.substr(0, 100);
    EXPECT_EQ(get(port_, "/api/v10/gateway").status, 200);
}

// The gateway
// ----------------------------------------------------------------------------------------

TEST_F(emulator_server_test, hello_carries_the_configured_interval) {
    ws_client c(port_);
    const auto hello = c.next_payload();
    EXPECT_EQ(hello.at("op").as_int64(), 10);
    EXPECT_EQ(hello.at("d").at("heartbeat_interval").as_int64(), 45'000);
}

TEST_F(emulator_server_test, identify_gets_ready_and_one_guild_create_per_routed_guild) {
    ws_client c(port_);
    const auto ready = c.identify(routed_guilds());
    EXPECT_FALSE(ready.at("session_id").as_string().empty());
    EXPECT_EQ(ready.at("guilds").as_array().size(), routed_guilds());
    EXPECT_EQ(ready.at("resume_gateway_url").as_string(),
              "ws://127.0.0.1:" + std::to_string(port_));
}

TEST_F(emulator_server_test, heartbeat_is_acknowledged) {
    ws_client c(port_);
    c.identify(routed_guilds());
    c.send(R"({"op":1,"d":)" + std::to_string(c.last_seq) + "}");
    EXPECT_EQ(c.next_payload().at("op").as_int64(), 11);
}

TEST_F(emulator_server_test, zlib_stream_frames_decode_with_the_inflater) {
    ws_client c(port_, "v=10&encoding=json&compress=zlib-stream", gw::compression::zlib_stream);
    const auto hello = c.next();
    ASSERT_FALSE(hello.ec) << hello.ec.message();
    EXPECT_TRUE(hello.binary);
    EXPECT_EQ(hello.payload.at("op").as_int64(), 10);
}

TEST_F(emulator_server_test, zstd_stream_frames_decode_with_the_inflater) {
    ws_client c(port_, "v=10&encoding=json&compress=zstd-stream", gw::compression::zstd_stream);
    const auto ready = c.identify(routed_guilds());
    EXPECT_FALSE(ready.at("session_id").as_string().empty());
}

TEST_F(emulator_server_test, zlib_stream_identify_reaches_ready) {
    ws_client c(port_, "v=10&encoding=json&compress=zlib-stream", gw::compression::zlib_stream);
    const auto ready = c.identify(routed_guilds());
    EXPECT_FALSE(ready.at("session_id").as_string().empty());
}

TEST_F(emulator_server_test, frame_over_4096_bytes_is_closed_with_4002) {
    ws_client c(port_);
    (void)c.next_payload(); // Hello
    c.send(R"({"op":1,"d":null,"pad":")" + std::string(5000, 'x') + "\"}");
    const auto m = c.next();
    EXPECT_EQ(m.ec, websocket::error::closed) << m.ec.message();
    EXPECT_EQ(c.close_code(), 4002);
}

TEST_F(emulator_server_test, frame_over_the_read_limit_is_not_buffered_and_closed_with_4002) {
    ws_client c(port_);
    (void)c.next_payload(); // Hello
    c.send(R"({"op":1,"d":null,"pad":")" + std::string(1 << 20, 'x') + "\"}");
    const auto m = c.next();
    EXPECT_EQ(m.ec, websocket::error::closed) << m.ec.message();
    EXPECT_EQ(c.close_code(), 4002);
}

// The control API
// ------------------------------------------------------------------------------------

TEST_F(emulator_server_test, close_endpoint_sends_the_close_code) {
    ws_client c(port_);
    c.identify(routed_guilds());
    const auto r = post(port_, "/_emulator/shards/0/close", R"({"code":4000})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, R"({"ok":true,"connections":1})");
    const auto m = c.next();
    EXPECT_EQ(m.ec, websocket::error::closed) << m.ec.message();
    EXPECT_EQ(c.close_code(), 4000);
}

TEST_F(emulator_server_test, reconnect_endpoint_sends_op_7) {
    ws_client c(port_);
    c.identify(routed_guilds());
    ASSERT_EQ(post(port_, "/_emulator/shards/0/reconnect").status, 200);
    EXPECT_EQ(c.next_payload().at("op").as_int64(), 7);
}

TEST_F(emulator_server_test, invalidate_endpoint_sends_op_9_false) {
    ws_client c(port_);
    c.identify(routed_guilds());
    ASSERT_EQ(post(port_, "/_emulator/shards/0/invalidate", R"({"resumable":false})").status, 200);
    const auto m = c.next_payload();
    EXPECT_EQ(m.at("op").as_int64(), 9);
    EXPECT_EQ(m.at("d").as_bool(), false);
}

TEST_F(emulator_server_test, zombie_endpoint_stops_heartbeat_acks) {
    ws_client c(port_);
    c.identify(routed_guilds());
    ASSERT_EQ(post(port_, "/_emulator/shards/0/zombie").status, 200);
    c.send(R"({"op":1,"d":)" + std::to_string(c.last_seq) + "}");
    // An unknown opcode right after: its 4001 close proves the heartbeat was processed without an
    // ACK, since the server answers one connection's frames in order.
    c.send(R"({"op":99,"d":null})");
    const auto m = c.next();
    EXPECT_EQ(m.ec, websocket::error::closed)
        << (m.ec ? m.ec.message() : json::serialize(m.payload));
    EXPECT_EQ(c.close_code(), 4001);
}

TEST_F(emulator_server_test, drop_endpoint_cuts_tcp_without_a_close_frame) {
    ws_client c(port_);
    c.identify(routed_guilds());
    ASSERT_EQ(post(port_, "/_emulator/shards/0/drop").status, 200);
    const auto m = c.next();
    ASSERT_TRUE(m.ec);
    EXPECT_NE(m.ec, websocket::error::closed);
    EXPECT_NE(m.ec, beast::error::timeout);
    EXPECT_TRUE(m.ec == asio::error::eof || m.ec == asio::error::connection_reset ||
                m.ec == http::error::end_of_stream)
        << m.ec.message();
}

TEST_F(emulator_server_test, heartbeat_endpoint_sends_op_1) {
    ws_client c(port_);
    c.identify(routed_guilds());
    ASSERT_EQ(post(port_, "/_emulator/shards/0/heartbeat").status, 200);
    EXPECT_EQ(c.next_payload().at("op").as_int64(), 1);
}

TEST_F(emulator_server_test, dispatch_endpoint_sends_the_event_with_the_next_seq) {
    ws_client c(port_);
    c.identify(routed_guilds());
    const auto before = c.last_seq;
    const auto r = post(port_, "/_emulator/dispatch",
                        R"({"t":"MESSAGE_CREATE","d":{"content":"hello there"},"shard":0})");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto m = c.next_payload();
    EXPECT_EQ(m.at("op").as_int64(), 0);
    EXPECT_EQ(m.at("t").as_string(), "MESSAGE_CREATE");
    EXPECT_EQ(m.at("s").as_int64(), before + 1);
    EXPECT_EQ(m.at("d").at("content").as_string(), "hello there");
}

TEST_F(emulator_server_test, dispatch_to_a_shard_that_is_away_is_replayed_on_resume) {
    std::string session;
    std::int64_t seen = 0;
    {
        ws_client c(port_);
        session = std::string(c.identify(routed_guilds()).at("session_id").as_string());
        seen = c.last_seq;
        ASSERT_EQ(post(port_, "/_emulator/shards/0/drop").status, 200);
        ASSERT_TRUE(c.next().ec); // the drop reached the client
    }
    const auto r = post(port_, "/_emulator/dispatch",
                        R"({"t":"MESSAGE_CREATE","d":{"content":"while away"},"shard":0})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(R"("detached_sessions":1)"), std::string::npos) << r.body;
    ws_client again(port_);
    EXPECT_EQ(again.next_payload().at("op").as_int64(), 10);
    again.send(R"({"op":6,"d":{"token":")" + std::string(good_token) + R"(","session_id":")" +
               session + R"(","seq":)" + std::to_string(seen) + "}}");
    const auto missed = again.next_payload();
    EXPECT_EQ(missed.at("t").as_string(), "MESSAGE_CREATE");
    EXPECT_EQ(missed.at("s").as_int64(), seen + 1);
    EXPECT_EQ(missed.at("d").at("content").as_string(), "while away");
    EXPECT_EQ(again.next_payload().at("t").as_string(), "RESUMED");
}

TEST_F(emulator_server_test, hostile_heartbeat_burst_and_bomb_reach_the_client) {
    ws_client c(port_, "v=10&encoding=json&compress=zlib-stream", gw::compression::zlib_stream);
    c.identify(routed_guilds());
    auto r = post(port_, "/_emulator/shards/0/hostile", R"({"mode":"heartbeat_burst","count":50})");
    ASSERT_EQ(r.status, 200) << r.body;
    for (int i = 0; i < 50; ++i) {
        ASSERT_EQ(c.next_payload().at("op").as_int64(), 1);
    }
    // The default bomb inflates past what the client's inflater accepts (64 MiB).
    r = post(port_, "/_emulator/shards/0/hostile", R"({"mode":"compression_bomb"})");
    ASSERT_EQ(r.status, 200) << r.body;
    try {
        static_cast<void>(c.next());
        ADD_FAILURE() << "the bomb inflated within the client's limit";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("inflate"), std::string::npos) << e.what();
    }
}

TEST_F(emulator_server_test, hostile_hello_is_armed_for_the_next_connection) {
    const auto r = post(port_, "/_emulator/hostile", R"({"mode":"hello_without_interval"})");
    ASSERT_EQ(r.status, 200) << r.body;
    ws_client bad(port_);
    const auto hello = bad.next_payload();
    EXPECT_EQ(hello.at("op").as_int64(), 10);
    EXPECT_TRUE(hello.at("d").as_object().empty());
    ws_client good(port_);
    EXPECT_EQ(good.next_payload().at("d").at("heartbeat_interval").as_int64(),
              test_config().heartbeat_interval.count());
}

TEST_F(emulator_server_test, flood_of_1000_arrives_complete_and_in_order) {
    ws_client c(port_, "v=10&encoding=json&compress=zlib-stream", gw::compression::zlib_stream);
    c.identify(routed_guilds());
    const auto first = c.last_seq + 1;
    const auto r =
        post(port_, "/_emulator/flood", R"({"t":"MESSAGE_CREATE","count":1000,"shard":0})");
    ASSERT_EQ(r.status, 200) << r.body;
    for (std::int64_t i = 0; i < 1000; ++i) {
        const auto m = c.next_payload();
        ASSERT_EQ(m.at("op").as_int64(), 0);
        ASSERT_EQ(m.at("t").as_string(), "MESSAGE_CREATE");
        ASSERT_EQ(m.at("s").as_int64(), first + i);
    }
    // Still alive and answering afterwards.
    c.send(R"({"op":1,"d":)" + std::to_string(c.last_seq) + "}");
    EXPECT_EQ(c.next_payload().at("op").as_int64(), 11);
}

TEST_F(emulator_server_test,
       control_endpoints_answer_404_without_a_connection_and_400_for_bad_bodies) {
    const auto none = post(port_, "/_emulator/shards/3/close", R"({"code":4000})");
    EXPECT_EQ(none.status, 404);
    EXPECT_EQ(none.json().at("ok").as_bool(), false);
    EXPECT_EQ(post(port_, "/_emulator/flood", R"({"count":10,"shard":0})").status, 404);

    ws_client c(port_);
    c.identify(routed_guilds());
    EXPECT_EQ(post(port_, "/_emulator/shards/0/close", "not json").status, 400);
    EXPECT_EQ(post(port_, "/_emulator/shards/0/close", R"({"code":"4000"})").status, 400);
    EXPECT_EQ(post(port_, "/_emulator/shards/0/close", R"({"code":1006})").status, 400);
    EXPECT_EQ(post(port_, "/_emulator/shards/x/close").status, 400);
    EXPECT_EQ(post(port_, "/_emulator/shards/0/invalidate", R"({"resumable":1})").status, 400);
    EXPECT_EQ(post(port_, "/_emulator/dispatch", R"({"d":{}})").status, 400);
    EXPECT_EQ(post(port_, "/_emulator/flood", R"({"count":-5,"shard":0})").status, 400);
    EXPECT_EQ(post(port_, "/_emulator/flood", "[1,2]").status, 400);
    // Nothing of that reached the connection.
    c.send(R"({"op":1,"d":)" + std::to_string(c.last_seq) + "}");
    EXPECT_EQ(c.next_payload().at("op").as_int64(), 11);
}

TEST_F(emulator_server_test, stats_and_log_reflect_the_session) {
    {
        ws_client c(port_);
        c.identify(routed_guilds());
        c.send(R"({"op":1,"d":)" + std::to_string(c.last_seq) + "}");
        ASSERT_EQ(c.next_payload().at("op").as_int64(), 11);
        ASSERT_EQ(post(port_, "/_emulator/shards/0/close", R"({"code":4000})").status, 200);
        ASSERT_EQ(c.next().ec, websocket::error::closed);
    }
    const auto stats = get(port_, "/_emulator/stats");
    ASSERT_EQ(stats.status, 200);
    const auto s = stats.json();
    const auto& shard0 = s.at("shards").at("0").as_object();
    EXPECT_EQ(shard0.at("identifies").to_number<std::int64_t>(), 1) << stats.body;
    EXPECT_GE(shard0.at("heartbeats").to_number<std::int64_t>(), 1) << stats.body;
    EXPECT_EQ(shard0.at("close_codes_sent").at("4000").to_number<std::int64_t>(), 1) << stats.body;

    const auto log = get(port_, "/_emulator/log");
    ASSERT_EQ(log.status, 200);
    bool connect = false;
    bool identify = false;
    bool close_sent = false;
    const auto entries = log.json();
    for (const auto& e : entries.as_array()) {
        const auto& event = e.at("event").as_string();
        connect = connect || event == "connect";
        identify = identify || event == "identify";
        close_sent = close_sent || event == "close_sent";
    }
    EXPECT_TRUE(connect && identify && close_sent) << log.body;
    EXPECT_EQ(log.body.find(good_token), std::string::npos) << "the log must never hold a token";
}

TEST_F(emulator_server_test, typed_stats_and_log_entries_are_what_the_json_says) {
    {
        ws_client c(port_);
        c.identify(routed_guilds());
        ASSERT_EQ(post(port_, "/_emulator/shards/0/close", R"({"code":4000})").status, 200);
        ASSERT_EQ(c.next().ec, websocket::error::closed);
    }
    const auto typed = server_->stats();
    ASSERT_TRUE(typed.has_value());
    EXPECT_EQ(shardgate::emulator::to_json(*typed), server_->stats_json().value_or(""));
    EXPECT_EQ(typed->shards.at(0).identifies, 1U);
    EXPECT_EQ(typed->shards.at(0).close_codes_sent.at(4000), 1U);
    EXPECT_NE(server_->metrics().find("shardgate_emulator_identifies_total 1\n"),
              std::string::npos);
    const auto log = get(port_, "/_emulator/log");
    const std::lock_guard lock(log_mutex_);
    ASSERT_FALSE(logged_typed_.empty());
    EXPECT_EQ(logged_typed_, logged_json_);
    std::string all = "[";
    for (std::size_t i = 0; i < logged_json_.size(); ++i) {
        all += (i == 0 ? "" : ",") + logged_json_[i];
    }
    EXPECT_EQ(log.body, all + "]");
}

TEST_F(emulator_server_test, stop_closes_open_websockets_with_1001) {
    ws_client c(port_);
    c.identify(routed_guilds());
    server_->stop();
    const auto m = c.next();
    EXPECT_EQ(m.ec, websocket::error::closed) << m.ec.message();
    EXPECT_EQ(c.close_code(), 1001);
    stop_and_join();
}

TEST_F(emulator_server_test, many_connections_on_one_thread) {
    std::vector<std::unique_ptr<ws_client>> clients;
    for (int i = 0; i < 200; ++i) {
        clients.push_back(std::make_unique<ws_client>(port_));
    }
    for (auto& c : clients) {
        EXPECT_EQ(c->next_payload().at("op").as_int64(), 10);
    }
    const auto stats = get(port_, "/_emulator/stats");
    EXPECT_EQ(stats.status, 200);
}

TEST(emulator_server, typed_stats_are_nullopt_when_not_running) {
    const shardgate::io::emulator_server idle({});
    EXPECT_FALSE(idle.stats().has_value());
    EXPECT_FALSE(idle.stats_json().has_value());
}

TEST(emulator_server, bad_listen_addresses_throw_a_clear_system_error) {
    const auto attempt = [](std::string listen) {
        shardgate::io::emulator_server_options o;
        o.listen = std::move(listen);
        try {
            shardgate::io::emulator_server s(std::move(o));
        } catch (const std::system_error& e) {
            return std::make_pair(e.code(), std::string(e.what()));
        }
        return std::make_pair(std::error_code{}, std::string{});
    };
    auto [ec, what] = attempt("127.0.0.1");
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_NE(what.find("HOST:PORT"), std::string::npos) << what;
    std::tie(ec, what) = attempt("127.0.0.1:99999");
    EXPECT_EQ(ec, std::errc::invalid_argument);

    shardgate::io::emulator_server first({});
    std::tie(ec, what) = attempt("127.0.0.1:" + std::to_string(first.port()));
    EXPECT_EQ(ec, std::errc::address_in_use) << what;
    EXPECT_NE(what.find("127.0.0.1"), std::string::npos) << what;
}

TEST(emulator_server, beyond_loopback_it_refuses_to_start_without_a_control_token) {
    shardgate::io::emulator_server_options open;
    open.listen = "0.0.0.0:0";
    try {
        shardgate::io::emulator_server s(std::move(open));
        ADD_FAILURE() << "listening on 0.0.0.0 without a control token was accepted";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::operation_not_permitted);
        EXPECT_NE(std::string(e.what()).find("control token"), std::string::npos) << e.what();
    }
    shardgate::io::emulator_server_options guarded;
    guarded.listen = "0.0.0.0:0";
    guarded.config.control_token = gw::secret("ctl-token");
    const shardgate::io::emulator_server s(std::move(guarded));
    EXPECT_FALSE(s.loopback());
    EXPECT_EQ(s.local_endpoint(), "0.0.0.0:" + std::to_string(s.port()));
    EXPECT_EQ(s.http_url(), "http://127.0.0.1:" + std::to_string(s.port()));
    const shardgate::io::emulator_server local({});
    EXPECT_TRUE(local.loopback());
    EXPECT_EQ(local.local_endpoint(), "127.0.0.1:" + std::to_string(local.port()));
}

TEST(emulator_server, with_a_control_token_the_control_api_needs_it_as_bearer) {
    shardgate::io::emulator_server_options o;
    o.config.control_token = gw::secret("ctl-SECRET-token");
    shardgate::io::emulator_server server(std::move(o));
    std::thread t([&] { server.run(); });
    const auto port = server.port();
    const auto none = http_call(port, http::verb::get, "/_emulator/stats");
    EXPECT_EQ(none.status, 401) << none.body;
    EXPECT_EQ(none.www_authenticate, "Bearer");
    const auto wrong = http_call(port, http::verb::post, "/_emulator/shards/0/close", {},
                                 "Bearer ctl-SECRET-tokeX");
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    const auto right =
        http_call(port, http::verb::get, "/_emulator/stats", {}, "Bearer ctl-SECRET-token");
    EXPECT_EQ(right.status, 200) << right.body;
    EXPECT_TRUE(right.www_authenticate.empty());
    EXPECT_EQ(get(port, "/api/v10/gateway").status, 200);
    server.stop();
    t.join();
}

} // namespace
