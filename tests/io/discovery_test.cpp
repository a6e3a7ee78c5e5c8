// Discovery against the emulator's GET /api/v10/gateway/bot on 127.0.0.1.
#include "shardgate/io/discovery.hpp"

#include "io_test_support.hpp"

#include <gtest/gtest.h>

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

} // namespace
