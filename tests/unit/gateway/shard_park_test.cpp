// A quiet shard parks its connection (inflater history compressed, buffers released) at a
// heartbeat ACK, and traffic wakes it with nothing lost.

#include "shardgate/gateway/shard.hpp"
#include "shardgate/gateway/zlib_stream.hpp"
#include "support/shard_harness.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

using namespace shardgate::test;
using namespace std::chrono_literals;

// Drives the harness with zlib-stream frames compressed on one connection's stream.
struct zlib_shard : shard_harness {
    static gw::shard_config config(gw::milliseconds park_after) {
        auto c = test_config();
        c.transport_compression = gw::compression::zlib_stream;
        c.park_when_quiet_for = park_after;
        return c;
    }
    explicit zlib_shard(gw::milliseconds park_after = 10s)
        : shard_harness(config(park_after)) {}

    gw::zlib_deflater deflater;

    void send(const std::string& payload) {
        std::vector<std::byte> frame;
        deflater.compress(payload, frame);
        shard.on_binary(now, frame);
        drain();
    }
    void up() {
        start();
        connected();
        send(R"({"op":10,"d":{"heartbeat_interval":1000}})");
        permit();
        send(
            R"({"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"s1","resume_gateway_url":"wss://r.test","guilds":[],"user":{"id":"1"}}})");
    }
    void message(std::uint64_t seq) {
        send(
            R"({"op":0,"s":)" + std::to_string(seq) +
            R"(,"t":"MESSAGE_CREATE","d":{"id":"7","content":"hello there, the same words again"}})");
    }
    /// Lets the next heartbeat go and answers it.
    void beat_and_ack() {
        advance(1s);
        send(R"({"op":11})");
    }
};

TEST(shard_park, parks_at_the_first_ack_after_the_quiet_time_and_wakes_on_traffic) {
    zlib_shard h;
    h.up();
    auto m = h.mark();
    for (int i = 0; i < 9; ++i) {
        h.beat_and_ack(); // 1..9 s quiet
    }
    EXPECT_TRUE(h.since<gw::action::release_buffers>(m).empty());
    EXPECT_EQ(h.shard.stats().parks, 0U);
    h.beat_and_ack();
    h.beat_and_ack(); // past 10 s
    EXPECT_GE(h.since<gw::action::release_buffers>(m).size(), 1U);
    EXPECT_EQ(h.shard.stats().parks, 1U);

    // Traffic wakes it; every event arrives intact and in order.
    m = h.mark();
    for (std::uint64_t s = 2; s < 50; ++s) {
        h.message(s);
    }
    const auto got = h.since<owned_dispatch>(m);
    ASSERT_EQ(got.size(), 48U);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].seq, i + 2);
        EXPECT_EQ(got[i].data, R"({"id":"7","content":"hello there, the same words again"})");
    }
    const auto events = h.all<gw::lifecycle_event>();
    EXPECT_TRUE(std::none_of(events.begin(), events.end(), [](const auto& e) {
        return e.kind == gw::lifecycle_kind::protocol_error;
    }));
    // Quiet again: parked again at an ACK (counted once per quiet spell).
    for (int i = 0; i < 12; ++i) {
        h.beat_and_ack();
    }
    EXPECT_EQ(h.shard.stats().parks, 2U);
}

TEST(shard_park, a_parked_shard_woken_by_every_kind_of_payload_decodes_it) {
    zlib_shard h(1ms);
    h.up();
    h.advance(2ms);
    std::uint64_t seq = 2;
    for (int round = 0; round < 20; ++round) {
        h.beat_and_ack(); // parks (quiet for 1 ms)
        const auto m = h.mark();
        h.message(seq++);
        ASSERT_EQ(h.since<owned_dispatch>(m).size(), 1U) << round;
        h.advance(2ms);
    }
    EXPECT_EQ(h.shard.stats().protocol_errors, 0U);
    EXPECT_GE(h.shard.stats().parks, 20U);
}

TEST(shard_park, zero_turns_parking_off) {
    zlib_shard h(0ms);
    h.up();
    const auto m = h.mark();
    for (int i = 0; i < 30; ++i) {
        h.beat_and_ack();
    }
    EXPECT_TRUE(h.since<gw::action::release_buffers>(m).empty());
    EXPECT_EQ(h.shard.stats().parks, 0U);
}

} // namespace
