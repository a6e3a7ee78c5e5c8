#include "shardgate/gateway/error.hpp"

#include <gtest/gtest.h>

namespace gw = shardgate::gateway;

TEST(error, category_name_and_messages) {
    const std::error_code ec = gw::error::payload_too_large;
    EXPECT_STREQ(ec.category().name(), "shardgate.gateway");
    EXPECT_NE(ec.message().find("4096"), std::string::npos);
    for (int e = 1; e <= static_cast<int>(gw::error::hello_timeout); ++e) {
        EXPECT_NE(std::error_code(e, gw::gateway_category()).message(),
                  "unknown shardgate.gateway error")
            << e;
    }
}

TEST(error, decode_errors_map_onto_the_protocol_violation_condition) {
    EXPECT_EQ(std::error_code(gw::error::malformed_json), gw::condition::protocol_violation);
    EXPECT_EQ(std::error_code(gw::error::decompressed_too_large),
              gw::condition::protocol_violation);
    EXPECT_EQ(std::error_code(gw::error::identify_budget_exhausted), gw::condition::fatal);
    EXPECT_NE(std::error_code(gw::error::payload_too_large), gw::condition::protocol_violation);
}
