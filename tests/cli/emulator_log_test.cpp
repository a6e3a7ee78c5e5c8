// What `shardgate serve` makes of the emulator's log: lines for people and entries for the page.
#include "emulator_log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <string>

namespace cli = shardgate::cli;
namespace json = boost::json;
using namespace std::chrono;

namespace {

// 2026-11-28T23:59:01.123Z
system_clock::time_point fixed_time() {
    return sys_days{year{2026} / November / 28} + 23h + 59min + 1s + 123ms;
}

TEST(describe_emulator_log, close_codes_sent_carry_their_names) {
    const auto v = cli::describe_emulator_log(
        R"({"t_ms":5,"connection":1,"shard":2,"event":"close_sent","code":4009,"reason":"x"})",
        fixed_time());
    ASSERT_TRUE(v);
    EXPECT_EQ(v->shard, 2U);
    EXPECT_EQ(v->text, "sent close 4009 (Session timed out)");
    const auto e = json::parse(v->entry_json).as_object();
    EXPECT_EQ(e.at("kind").as_string(), "closed");
    EXPECT_EQ(e.at("code").as_int64(), 4009);
    EXPECT_EQ(e.at("name").as_string(), "Session timed out");
    EXPECT_EQ(e.at("shard").as_int64(), 2);
}

TEST(describe_emulator_log, violations_are_warnings_with_the_reason) {
    const auto v = cli::describe_emulator_log(
        R"({"t_ms":5,"connection":1,"shard":null,"event":"violation","code":4002,"reason":"frame over 4096 bytes"})",
        fixed_time());
    ASSERT_TRUE(v);
    EXPECT_EQ(v->level, shardgate::observe::log_level::warn);
    EXPECT_FALSE(v->shard);
    EXPECT_NE(v->text.find("frame over 4096 bytes"), std::string::npos) << v->text;
    EXPECT_NE(v->text.find("4002 (Decode error)"), std::string::npos) << v->text;
    EXPECT_TRUE(json::parse(v->entry_json).at("shard").is_null());
}

TEST(describe_emulator_log, drops_faults_and_sessions_are_shown) {
    const auto lost = cli::describe_emulator_log(
        R"({"t_ms":1,"connection":1,"shard":0,"event":"transport_lost"})", fixed_time());
    ASSERT_TRUE(lost);
    EXPECT_EQ(json::parse(lost->entry_json).at("code").as_int64(), 1006);
    const auto fault = cli::describe_emulator_log(
        R"({"t_ms":1,"connection":1,"shard":0,"event":"fault","fault":"zombie"})", fixed_time());
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->text, "injected zombie");
    EXPECT_EQ(json::parse(fault->entry_json).at("kind").as_string(), "fault");
    const auto op9 = cli::describe_emulator_log(
        R"({"t_ms":1,"connection":1,"shard":0,"event":"invalid_session_sent","resumable":true})",
        fixed_time());
    ASSERT_TRUE(op9);
    EXPECT_EQ(op9->text, "sent op 9 Invalid Session (resumable)");
}

TEST(describe_emulator_log, routine_entries_and_garbage_are_skipped) {
    EXPECT_FALSE(cli::describe_emulator_log(
        R"({"t_ms":1,"connection":1,"shard":0,"event":"heartbeat","seq":3})", fixed_time()));
    EXPECT_FALSE(cli::describe_emulator_log(
        R"({"t_ms":1,"connection":1,"shard":null,"event":"connect","query":"v=10"})",
        fixed_time()));
    EXPECT_FALSE(cli::describe_emulator_log("not json", fixed_time()));
    EXPECT_FALSE(cli::describe_emulator_log("[1,2]", fixed_time()));
}

} // namespace
