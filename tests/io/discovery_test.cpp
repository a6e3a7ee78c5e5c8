// Discovery against the emulator's GET /api/v10/gateway/bot on 127.0.0.1, and against a scripted
// server for the 429 path.
#include "shardgate/io/discovery.hpp"

#include "io_test_support.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <mutex>
#include <sys/socket.h>
#include <thread>
#include <vector>

namespace {

using namespace shardgate;
using test::io_test_token;

io::discovery_options options_for(const test::emulator_thread& emu, std::string token) {
    io::discovery_options o;
    o.api = emu.api();
    o.token = gateway::secret(std::move(token));
    o.timeout = std::chrono::milliseconds{10'000};
    return o;
}

TEST(discovery, reads_url_shards_and_session_start_limit) {
    test::emulator_thread emu;
    io::gateway_bot_info info;
    std::string detail;
    const auto ec = io::discover(options_for(emu, std::string(io_test_token)), info, detail);
    ASSERT_FALSE(ec) << ec.message() << ": " << detail;
    EXPECT_EQ(info.url, emu.ws_url());
    EXPECT_EQ(info.shards, 2U);
    EXPECT_EQ(info.limit.max_concurrency, 16U);
    EXPECT_EQ(info.limit.total, 1000U);
    EXPECT_LE(info.limit.remaining, info.limit.total);
    EXPECT_GT(info.limit.reset_after.count(), 0);
}

TEST(discovery, trailing_slash_on_the_api_base_is_accepted) {
    test::emulator_thread emu;
    auto o = options_for(emu, std::string(io_test_token));
    o.api += "/";
    io::gateway_bot_info info;
    std::string detail;
    EXPECT_FALSE(io::discover(o, info, detail)) << detail;
}

TEST(discovery, rejected_token_is_token_rejected_without_the_token) {
    test::emulator_thread emu;
    const std::string wrong = "wrong-token-DO-NOT-PRINT";
    io::gateway_bot_info info;
    std::string detail;
    const auto ec = io::discover(options_for(emu, wrong), info, detail);
    EXPECT_EQ(ec, io::discovery_error::token_rejected);
    EXPECT_EQ(detail, "token rejected (401): check DISCORD_TOKEN");
    EXPECT_EQ(detail.find(wrong), std::string::npos);
    EXPECT_EQ(ec.message().find(wrong), std::string::npos);
    EXPECT_STREQ(ec.category().name(), "shardgate.discovery");
}

TEST(discovery, bad_urls_are_bad_url) {
    for (const char* api : {"ftp://example.com/api", "discord.com/api/v10", "https://",
                            "http://:80", "http://host:99999/api"}) {
        io::discovery_options o;
        o.api = api;
        o.token = gateway::secret("t");
        io::gateway_bot_info info;
        std::string detail;
        EXPECT_EQ(io::discover(o, info, detail), io::discovery_error::bad_url) << api;
        EXPECT_FALSE(detail.empty());
    }
}

TEST(discovery, unknown_path_is_an_http_error) {
    test::emulator_thread emu;
    auto o = options_for(emu, std::string(io_test_token));
    o.api = emu.http_url() + "/nope";
    io::gateway_bot_info info;
    std::string detail;
    EXPECT_EQ(io::discover(o, info, detail), io::discovery_error::http_error);
    EXPECT_NE(detail.find("404"), std::string::npos) << detail;
    EXPECT_EQ(detail.find(io_test_token), std::string::npos);
}

TEST(discovery, refused_connection_is_a_network_error_naming_the_url) {
    // Port 1 on loopback: nothing listens there.
    io::discovery_options o;
    o.api = "http://127.0.0.1:1/api/v10";
    o.token = gateway::secret("secret-token-XYZ");
    io::gateway_bot_info info;
    std::string detail;
    const auto ec = io::discover(o, info, detail);
    EXPECT_TRUE(ec);
    EXPECT_NE(ec.category(), io::discovery_category());
    EXPECT_NE(detail.find("127.0.0.1:1"), std::string::npos) << detail;
    EXPECT_EQ(detail.find("secret-token-XYZ"), std::string::npos);
}

/// A scripted HTTP/1.1 server on 127.0.0.1: request i gets `responses[min(i, last)]`, then the
/// connection closes. It records each request's head and arrival time (steady_clock).
class scripted_http_server {
public:
    explicit scripted_http_server(std::vector<std::string> responses)
        : responses_(std::move(responses)) {
        thread_ = std::thread([this] { serve(); });
    }
    ~scripted_http_server() {
        stop_ = true;
        ::shutdown(acceptor_.native_handle(), SHUT_RDWR); // wakes a blocked accept
        thread_.join();
    }
    scripted_http_server(const scripted_http_server&) = delete;
    scripted_http_server& operator=(const scripted_http_server&) = delete;
    scripted_http_server(scripted_http_server&&) = delete;
    scripted_http_server& operator=(scripted_http_server&&) = delete;

    [[nodiscard]] std::string api() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/api/v10";
    }
    using request = std::pair<std::chrono::steady_clock::time_point, std::string>;
    /// The requests seen so far (arrival time, head).
    [[nodiscard]] std::vector<request> requests() const {
        const std::lock_guard lock(m_);
        return requests_;
    }

private:
    void serve() {
        for (std::size_t i = 0; !stop_; ++i) {
            boost::system::error_code ec;
            boost::asio::ip::tcp::socket s(ioc_);
            acceptor_.accept(s, ec);
            if (ec || stop_) {
                return;
            }
            boost::asio::streambuf buf;
            const auto n = boost::asio::read_until(s, buf, "\r\n\r\n", ec);
            if (ec) {
                continue;
            }
            {
                const std::lock_guard lock(m_);
                requests_.emplace_back(std::chrono::steady_clock::now(),
                                       std::string(static_cast<const char*>(buf.data().data()), n));
            }
            boost::asio::write(
                s, boost::asio::buffer(responses_.at(std::min(i, responses_.size() - 1))), ec);
            s.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
        }
    }

    std::vector<std::string> responses_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_{ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    std::atomic<bool> stop_{false};
    mutable std::mutex m_;
    std::vector<request> requests_;
    std::thread thread_;
};

std::string http_response(std::string_view status, std::string_view body) {
    return "HTTP/1.1 " + std::string(status) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + std::string(body);
}

TEST(discovery, honours_retry_after_on_429_then_succeeds) {
    scripted_http_server server(
        {http_response(
             "429 Too Many Requests",
             R"({"message":"You are being rate limited.","retry_after":0.2,"global":false})"),
         http_response("200 OK", R"({"url":"wss://gateway.example","shards":3,)"
                                 R"("session_start_limit":{"total":1000,"remaining":990,)"
                                 R"("reset_after":1000,"max_concurrency":2}})")});
    io::discovery_options o;
    o.api = server.api();
    o.token = gateway::secret(std::string(io_test_token));
    io::gateway_bot_info info;
    std::string detail;
    const auto ec = io::discover(o, info, detail);
    ASSERT_FALSE(ec) << ec.message() << ": " << detail;
    EXPECT_EQ(info.url, "wss://gateway.example");
    EXPECT_EQ(info.shards, 3U);
    EXPECT_EQ(info.limit.total, 1000U);
    EXPECT_EQ(info.limit.remaining, 990U);
    EXPECT_EQ(info.limit.reset_after, std::chrono::milliseconds{1000});
    EXPECT_EQ(info.limit.max_concurrency, 2U);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2U);
    // Measured where the requests arrive: the client waited retry_after (200 ms) in between.
    EXPECT_GE(requests[1].first - requests[0].first, std::chrono::milliseconds{195});
    for (const auto& r : requests) {
        EXPECT_EQ(r.second.rfind("GET /api/v10/gateway/bot HTTP/1.1\r\n", 0), 0U) << r.second;
        EXPECT_NE(r.second.find("\r\nAuthorization: Bot " + std::string(io_test_token) + "\r\n"),
                  std::string::npos)
            << r.second;
    }
}

TEST(discovery, persistent_429_is_rate_limited_after_the_retry_budget) {
    scripted_http_server server({http_response(
        "429 Too Many Requests",
        R"({"message":"You are being rate limited.","retry_after":0.001,"global":false})")});
    io::discovery_options o;
    o.api = server.api();
    o.token = gateway::secret(std::string(io_test_token));
    o.max_rate_limit_retries = 1;
    io::gateway_bot_info info;
    std::string detail;
    const auto ec = io::discover(o, info, detail);
    EXPECT_EQ(ec, io::discovery_error::rate_limited) << ec.message() << ": " << detail;
    EXPECT_EQ(server.requests().size(), 2U); // max_rate_limit_retries + 1
    EXPECT_FALSE(detail.empty());
    EXPECT_EQ(detail.find(io_test_token), std::string::npos) << detail;
    EXPECT_EQ(ec.message().find(io_test_token), std::string::npos);
}

} // namespace
