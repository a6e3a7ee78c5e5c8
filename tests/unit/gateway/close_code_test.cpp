#include "shardgate/gateway/close_code.hpp"

#include <gtest/gtest.h>
#include <map>

namespace gw = shardgate::gateway;
using enum gw::close_reaction;

// Exhaustive over 1000-1015 and 4000-4014 (and a few beyond): the policy decides every code, and
// the codes outside the table default to resume.
TEST(close_code_policy, every_code_gets_the_documented_reaction) {
    const std::map<std::uint16_t, gw::close_reaction> expected{
        {1000, resume}, {1001, resume},     {1006, resume}, {4000, resume}, {4001, resume},
        {4002, resume}, {4003, reidentify}, {4004, fatal},  {4005, resume}, {4007, reidentify},
        {4008, resume}, {4009, reidentify}, {4010, fatal},  {4011, fatal},  {4012, fatal},
        {4013, fatal},  {4014, fatal},
    };
    for (std::uint16_t code = 1000; code <= 1015; ++code) {
        const auto it = expected.find(code);
        EXPECT_EQ(gw::policy_for(code).reaction, it == expected.end() ? resume : it->second)
            << code;
        EXPECT_EQ(gw::find_close_policy(code).has_value(), it != expected.end()) << code;
    }
    for (std::uint16_t code = 4000; code <= 4020; ++code) {
        const auto it = expected.find(code);
        EXPECT_EQ(gw::policy_for(code).reaction, it == expected.end() ? resume : it->second)
            << code;
    }
    EXPECT_FALSE(gw::find_close_policy(4006).has_value()) << "4006 is a voice close code only";
    EXPECT_EQ(gw::all_close_policies().size(), expected.size());
}

TEST(close_code_policy, unknown_codes_resume_and_say_so) {
    const auto p = gw::policy_for(4999);
    EXPECT_EQ(p.code, 4999);
    EXPECT_EQ(p.reaction, resume);
    EXPECT_EQ(p.name, "Unknown close code");
    EXPECT_FALSE(p.discord_documented);
}

TEST(close_code_policy, every_row_has_a_name_meaning_and_remedy) {
    for (const auto& p : gw::all_close_policies()) {
        EXPECT_FALSE(p.name.empty()) << p.code;
        EXPECT_FALSE(p.meaning.empty()) << p.code;
        EXPECT_FALSE(p.remedy.empty()) << p.code;
        EXPECT_EQ(p.discord_documented, p.code >= 4000) << p.code;
    }
}

TEST(close_code_policy, fatal_remedies_name_the_fix) {
    EXPECT_NE(gw::policy_for(4004).remedy.find("DISCORD_TOKEN"), std::string_view::npos);
    EXPECT_NE(gw::policy_for(4010).remedy.find("--shard-ids"), std::string_view::npos);
    EXPECT_NE(gw::policy_for(4011).remedy.find("--shards"), std::string_view::npos);
    EXPECT_NE(gw::policy_for(4012).remedy.find("10"), std::string_view::npos);
    EXPECT_NE(gw::policy_for(4013).remedy.find("--intents"), std::string_view::npos);
    const auto r4014 = gw::policy_for(4014).remedy;
    EXPECT_NE(r4014.find("Developer Portal"), std::string_view::npos);
    EXPECT_NE(r4014.find("--intents"), std::string_view::npos);
}

TEST(close_code_policy, shardgate_own_close_codes_keep_or_end_the_session_as_intended) {
    // 4900 is not one of Discord's and is not 1000/1001, so Discord keeps the session.
    EXPECT_FALSE(gw::find_close_policy(gw::close_code_reconnect).has_value());
    EXPECT_NE(gw::close_code_reconnect, 1000);
    EXPECT_NE(gw::close_code_reconnect, 1001);
    EXPECT_EQ(gw::close_code_shutdown, 1000);
    EXPECT_EQ(gw::to_string(resume), "resume");
    EXPECT_EQ(gw::to_string(reidentify), "reidentify");
    EXPECT_EQ(gw::to_string(fatal), "fatal");
}
