#include "shardgate/gateway/websocket_url.hpp"

#include "shardgate/gateway/detail/printable.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace shardgate::gateway {
namespace {

TEST(websocket_url, a_scheme_and_a_host_are_enough) {
    for (const char* url : {"wss://gateway.discord.gg", "ws://127.0.0.1:4000", "wss://h/?v=10",
                            "wss://gateway-us-east1-b.discord.gg"}) {
        EXPECT_TRUE(is_websocket_url(url)) << url;
    }
}

TEST(websocket_url, what_could_never_connect_is_refused) {
    const std::string too_long = "wss://h/" + std::string(max_websocket_url_bytes, 'a');
    const std::vector<std::string> refused{"",
                                           "https://gateway.discord.gg",
                                           "wss://",
                                           "ws://",
                                           "wss:///path",
                                           "wss://:443",
                                           "wss://?v=10",
                                           "WSS://h",
                                           "wss://h/\x1b[2J",
                                           "wss://h /",
                                           "wss://h/\x7f",
                                           "wss://h/caf\xc3\xa9",
                                           too_long};
    for (const auto& url : refused) {
        EXPECT_FALSE(is_websocket_url(url)) << url;
    }
    EXPECT_TRUE(is_websocket_url(too_long.substr(0, max_websocket_url_bytes)));
}

TEST(printable, controls_become_question_marks_and_the_rest_stays) {
    EXPECT_EQ(detail::printable("a\x1b[2J\nb\x7f", 100), "a?[2J?b?");
    EXPECT_EQ(detail::printable("caf\xc3\xa9", 100), "caf\xc3\xa9") << "UTF-8 text is kept";
    EXPECT_EQ(detail::printable("x\xc2\x9b"
                                "31m",
                                100),
              "x?31m")
        << "a C1 control (CSI) is two bytes";
}

TEST(printable, a_cut_never_splits_a_character) {
    EXPECT_EQ(detail::printable("abcdef", 3), "abc");
    EXPECT_EQ(detail::printable("ab\xc3\xa9", 3), "ab");
    EXPECT_EQ(detail::printable("ab\xe2\x82\xac", 4), "ab");
    EXPECT_EQ(detail::printable("ab\xe2\x82\xac", 5), "ab\xe2\x82\xac");
}

} // namespace
} // namespace shardgate::gateway
