#include "shardgate/gateway/shard_config.hpp"

#include "shardgate/gateway/shard.hpp"
#include "support/shard_harness.hpp"

#include <gtest/gtest.h>
#include <string>

namespace gw = shardgate::gateway;

namespace {

// Each broken field is named in the message, so the mistake is found where it is made, not at
// the first Identify.
struct broken_field {
    const char* field;
    void (*breaks)(gw::shard_config&);
};

const broken_field broken_fields[] = {
    {"shard_config.token", [](gw::shard_config& c) { c.token = gw::secret(""); }},
    {"shard_config.shard.count",
     [](gw::shard_config& c) {
         c.shard = {0, 0};
     }},
    {"shard_config.shard.id",
     [](gw::shard_config& c) {
         c.shard = {4, 4};
     }},
    {"shard_config.gateway_url", [](gw::shard_config& c) { c.gateway_url = "https://x"; }},
    {"shard_config.gateway_url", [](gw::shard_config& c) { c.gateway_url = "wss://"; }},
    {"shard_config.gateway_url", [](gw::shard_config& c) { c.gateway_url = "wss://a b"; }},
    {"shard_config.large_threshold", [](gw::shard_config& c) { c.large_threshold = 251; }},
    {"shard_config.large_threshold", [](gw::shard_config& c) { c.large_threshold = 49; }},
    {"shard_config.hello_timeout",
     [](gw::shard_config& c) { c.hello_timeout = gw::milliseconds{0}; }},
    {"shard_config.close_timeout",
     [](gw::shard_config& c) { c.close_timeout = gw::milliseconds{-1}; }},
    {"shard_config.invalid_session_wait_min",
     [](gw::shard_config& c) { c.invalid_session_wait_min = gw::milliseconds{6'000}; }},
    {"shard_config.max_queued_commands", [](gw::shard_config& c) { c.max_queued_commands = 0; }},
    {"shard_config.resume",
     [](gw::shard_config& c) {
         c.resume = gw::session_state{"", "wss://r.test", 1};
     }},
    {"shard_config.resume",
     [](gw::shard_config& c) {
         c.resume = gw::session_state{"s", "resume.test", 1};
     }},
    {"shard_config.presence",
     [](gw::shard_config& c) {
         gw::update_presence p;
         p.activities.push_back({std::string(5000, 'a'), gw::activity_type::playing, {}, {}});
         c.presence = p;
     }},
};

TEST(shard_config, the_test_default_is_valid) {
    EXPECT_EQ(gw::validate(shardgate::test::test_config()), "");
}

TEST(shard_config, each_broken_field_is_named_by_validate_and_by_the_shard_constructor) {
    for (const auto& b : broken_fields) {
        SCOPED_TRACE(b.field);
        auto config = shardgate::test::test_config();
        b.breaks(config);
        const auto problem = gw::validate(config);
        EXPECT_EQ(problem.rfind(b.field, 0), 0U) << problem;
        try {
            gw::shard s(config, [] { return 0.5; });
            ADD_FAILURE() << "the shard was made";
        } catch (const gw::invalid_shard_config& e) {
            EXPECT_EQ(std::string(e.what()), problem);
        }
    }
}

TEST(shard_config, the_message_never_contains_the_token) {
    auto config = shardgate::test::test_config();
    config.large_threshold = 1;
    EXPECT_EQ(gw::validate(config).find("SECRET"), std::string::npos);
}

} // namespace
