#include "shardgate/emulator/hostile.hpp"

#include "shardgate/emulator/connection.hpp"
#include "shardgate/gateway/error.hpp"
#include "support/emulator_harness.hpp"

#include <gtest/gtest.h>
#include <limits>
#include <string>

namespace shardgate::test {
namespace {

using emu::hostile_mode;

client_end& identified_zlib(emulator_harness& h) {
    auto& c = h.connect("v=10&encoding=json&compress=zlib-stream");
    h.identify(c);
    return c;
}

TEST(emulator_hostile, names_round_trip_and_say_when_the_mode_acts) {
    for (const auto m : {hostile_mode::compression_bomb, hostile_mode::oversized_frame,
                         hostile_mode::heartbeat_burst, hostile_mode::silence,
                         hostile_mode::hello_without_interval, hostile_mode::hello_zero_interval,
                         hostile_mode::hello_huge_interval, hostile_mode::ready_before_hello,
                         hostile_mode::bad_resume_url}) {
        EXPECT_EQ(emu::parse_hostile_mode(emu::to_string(m)), m);
    }
    EXPECT_FALSE(emu::parse_hostile_mode("bomb"));
    EXPECT_FALSE(emu::acts_at_connection_start(hostile_mode::compression_bomb));
    EXPECT_TRUE(emu::acts_at_connection_start(hostile_mode::ready_before_hello));
}

TEST(emulator_hostile, a_compression_bomb_is_small_on_the_wire_and_huge_inflated) {
    emulator_harness h;
    auto& c = identified_zlib(h);
    const auto before = c.frames.size();
    ASSERT_TRUE(c.conn->inject_hostile(h.now, hostile_mode::compression_bomb, 8U << 20U));
    h.drain(c);
    ASSERT_EQ(c.frames.size(), before + 1);
    EXPECT_LT(c.wire_messages.back(), 64U * 1024U) << "8 MiB inflated from a few KiB";
    EXPECT_EQ(c.frames.back().op, 11);
    EXPECT_EQ(c.frames.back().text.size(), 8U << 20U);
    // Nothing more is sent: the client's window no longer matches our deflater.
    c.conn->inject_heartbeat_request(h.now);
    h.heartbeat(c);
    EXPECT_EQ(c.frames.size(), before + 1);
}

TEST(emulator_hostile, the_default_bomb_trips_a_clients_inflate_limit) {
    const auto bomb = emu::zlib_bomb(emu::default_bomb_bytes, {});
    EXPECT_LT(bomb.size(), std::size_t{1} << 20U);
    // A client's inflater that has seen the start of the stream.
    gw::deflater server(gw::compression::zlib_stream);
    std::vector<std::byte> hello;
    server.compress(R"({"op":10,"d":{"heartbeat_interval":41250}})", hello);
    gw::inflater client(gw::compression::zlib_stream);
    ASSERT_FALSE(client.feed(hello).ec);
    const auto r = client.feed(bomb);
    EXPECT_EQ(r.ec, gw::error::decompressed_too_large) << r.ec.message();
}

TEST(emulator_hostile, a_bomb_needs_zlib_stream) {
    emulator_harness h;
    auto& plain = h.connect();
    h.identify(plain);
    EXPECT_FALSE(plain.conn->inject_hostile(h.now, hostile_mode::compression_bomb));
}

TEST(emulator_hostile, an_oversized_frame_is_one_sequenced_dispatch) {
    emulator_harness h;
    auto& c = h.connect();
    EXPECT_FALSE(c.conn->inject_hostile(h.now, hostile_mode::oversized_frame, 1U << 20U))
        << "no session yet";
    h.identify(c);
    const auto last = c.dispatches().back().s.value();
    ASSERT_TRUE(c.conn->inject_hostile(h.now, hostile_mode::oversized_frame, 1U << 20U));
    h.drain(c);
    const auto d = c.dispatches();
    EXPECT_EQ(d.back().t, "MESSAGE_CREATE");
    EXPECT_EQ(d.back().s, last + 1);
    EXPECT_GT(c.wire_messages.back(), 1U << 20U);
}

TEST(emulator_hostile, a_heartbeat_burst_asks_for_200_heartbeats_at_once) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c);
    ASSERT_TRUE(c.conn->inject_hostile(h.now, hostile_mode::heartbeat_burst));
    h.drain(c);
    EXPECT_EQ(c.with_op(1).size(), 200U);
}

TEST(emulator_hostile, silence_stops_heartbeat_acks) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c);
    h.heartbeat(c);
    const auto acks = c.with_op(11).size();
    ASSERT_TRUE(c.conn->inject_hostile(h.now, hostile_mode::silence));
    h.heartbeat(c);
    EXPECT_EQ(c.with_op(11).size(), acks);
}

TEST(emulator_hostile, armed_hellos_start_the_next_connections_then_stop) {
    emulator_harness h;
    EXPECT_EQ(h.world.arm_hostile(hostile_mode::hello_zero_interval, 1), 1U);
    EXPECT_EQ(h.world.arm_hostile(hostile_mode::hello_without_interval, 1), 1U);
    EXPECT_EQ(h.world.arm_hostile(hostile_mode::hello_huge_interval, 1), 1U);
    EXPECT_EQ(h.world.arm_hostile(hostile_mode::heartbeat_burst, 1), 0U) << "not a start mode";
    EXPECT_EQ(h.connect().frames.front().text,
              R"({"op":10,"d":{"heartbeat_interval":0},"s":null,"t":null})");
    EXPECT_EQ(h.connect().frames.front().text, R"({"op":10,"d":{},"s":null,"t":null})");
    EXPECT_EQ(h.connect().frames.front().text,
              R"({"op":10,"d":{"heartbeat_interval":)" +
                  std::to_string(std::numeric_limits<std::uint64_t>::max()) +
                  R"(},"s":null,"t":null})");
    EXPECT_EQ(h.connect().frames.front().text,
              R"({"op":10,"d":{"heartbeat_interval":1000},"s":null,"t":null})");
}

TEST(emulator_hostile, ready_before_hello_then_a_normal_connection) {
    emulator_harness h;
    h.world.arm_hostile(hostile_mode::ready_before_hello, 1);
    auto& c = h.connect();
    ASSERT_EQ(c.frames.size(), 2U);
    EXPECT_EQ(c.frames[0].op, 0);
    EXPECT_EQ(c.frames[0].t, "READY");
    EXPECT_EQ(c.frames[1].op, 10);
    h.identify(c); // the emulator itself still plays by the rules
    EXPECT_EQ(c.dispatches()[1].t, "READY");
}

TEST(emulator_hostile, bad_resume_url_is_in_ready) {
    emulator_harness h;
    h.world.arm_hostile(hostile_mode::bad_resume_url, 1);
    auto& c = h.connect();
    h.identify(c);
    EXPECT_NE(c.dispatches("READY").front().d.find(R"("resume_gateway_url":"not a url")"),
              std::string::npos);
    h.now += 5s; // the identify window
    auto& next = h.connect();
    h.identify(next);
    EXPECT_NE(
        next.dispatches("READY").front().d.find(R"("resume_gateway_url":"ws://emulator.test")"),
        std::string::npos);
}

TEST(emulator_hostile, armed_modes_are_bounded_and_logged) {
    emulator_harness h;
    EXPECT_EQ(h.world.arm_hostile(hostile_mode::bad_resume_url, 20'000),
              emu::world::max_armed_hostile);
    EXPECT_EQ(h.world.arm_hostile(hostile_mode::bad_resume_url, 1), 0U);
    h.connect();
    EXPECT_NE(
        h.world.log_json().find(R"("event":"fault","fault":"hostile","mode":"bad_resume_url")"),
        std::string::npos);
}

} // namespace
} // namespace shardgate::test
