#include "shardgate/emulator/stats.hpp"

#include "shardgate/emulator/world.hpp"
#include "support/emulator_harness.hpp"

#include <gtest/gtest.h>

namespace shardgate::test {
namespace {

TEST(emulator_stats, to_json_writes_every_key_in_the_documented_order) {
    emu::world_stats s;
    auto& shard = s.shards[3];
    shard.identifies = 1;
    shard.resumes = 2;
    shard.heartbeats = 3;
    shard.last_seq = 4;
    shard.close_codes_sent = {{4000, 5}, {1000, 6}};
    shard.violations = {{4001, 7}};
    shard.connections = 8;
    shard.replayed = 9;
    s.unidentified.violations = {{4003, 1}};
    s.unidentified.connections = 2;
    s.totals = s.unidentified;
    s.totals += shard;
    s.sessions = 10;
    s.session_start_remaining = 11;
    s.token_reset = true;
    s.log_dropped = 12;
    EXPECT_EQ(emu::to_json(s),
              R"({"shards":{"3":{"identifies":1,"resumes":2,"heartbeats":3,"last_seq":4,)"
              R"("close_codes_sent":{"1000":6,"4000":5},"violations":{"4001":7},"connections":8,)"
              R"("replayed":9}},)"
              R"("totals":{"identifies":1,"resumes":2,"heartbeats":3,"last_seq":4,)"
              R"("close_codes_sent":{"1000":6,"4000":5},"violations":{"4001":7,"4003":1},)"
              R"("connections":10,"replayed":9},)"
              R"("unidentified":{"identifies":0,"resumes":0,"heartbeats":0,"last_seq":0,)"
              R"("close_codes_sent":{},"violations":{"4003":1},"connections":2,"replayed":0},)"
              R"("sessions":10,"session_start_remaining":11,"token_reset":true,"log_dropped":12})");
}

TEST(emulator_stats, empty_stats) {
    EXPECT_EQ(emu::to_json(emu::world_stats{}),
              R"({"shards":{},"totals":{"identifies":0,"resumes":0,"heartbeats":0,"last_seq":0,)"
              R"("close_codes_sent":{},"violations":{},"connections":0,"replayed":0},)"
              R"("unidentified":{"identifies":0,"resumes":0,"heartbeats":0,"last_seq":0,)"
              R"("close_codes_sent":{},"violations":{},"connections":0,"replayed":0},)"
              R"("sessions":0,"session_start_remaining":0,"token_reset":false,"log_dropped":0})");
}

TEST(emulator_stats, adding_sums_counts_and_keeps_the_highest_sequence) {
    emu::shard_counters a;
    a.identifies = 1;
    a.last_seq = 50;
    a.close_codes_sent = {{4000, 1}};
    emu::shard_counters b;
    b.identifies = 2;
    b.resumes = 3;
    b.last_seq = 20;
    b.close_codes_sent = {{4000, 2}, {4009, 1}};
    b.violations = {{4008, 4}};
    a += b;
    EXPECT_EQ(a.identifies, 3U);
    EXPECT_EQ(a.resumes, 3U);
    EXPECT_EQ(a.last_seq, 50U);
    EXPECT_EQ(a.close_codes_sent, (std::map<std::uint16_t, std::uint64_t>{{4000, 3}, {4009, 1}}));
    EXPECT_EQ(a.violations, (std::map<std::uint16_t, std::uint64_t>{{4008, 4}}));
}

TEST(emulator_stats, the_worlds_snapshot_is_what_stats_json_renders) {
    emulator_harness h;
    auto& a = h.connect();
    h.identify(a, gw::shard_id{0, 2});
    h.heartbeat(a);
    h.now += 5s;
    auto& b = h.connect();
    h.identify(b, gw::shard_id{1, 2});
    b.conn->inject_close(h.now, 4000);
    h.drain(b);
    auto& c = h.connect();
    h.text(c, R"({"op":3,"d":{}})"); // 4003 before Identify
    const auto s = h.world.stats();
    EXPECT_EQ(emu::to_json(s), h.world.stats_json());
    ASSERT_EQ(s.shards.size(), 2U);
    EXPECT_EQ(s.shards.at(0).identifies, 1U);
    EXPECT_EQ(s.shards.at(0).heartbeats, 1U);
    EXPECT_EQ(s.shards.at(1).close_codes_sent.at(4000), 1U);
    EXPECT_EQ(s.unidentified.violations.at(4003), 1U);
    EXPECT_EQ(s.totals.identifies, 2U);
    EXPECT_EQ(s.totals.connections, 3U);
    EXPECT_EQ(s.totals.last_seq, std::max(s.shards.at(0).last_seq, s.shards.at(1).last_seq));
    EXPECT_EQ(s.sessions, 2U);
    EXPECT_FALSE(s.token_reset);
}

} // namespace
} // namespace shardgate::test
