// A gateway that misbehaves: floods of op 1 requests, a resume URL that cannot be used, connections
// that fail for a reason the shard must pass on. Each test failed before its fix (issue 12).
#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/shard.hpp"
#include "support/shard_harness.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <vector>

namespace gw = shardgate::gateway;
using gw::lifecycle_kind;
using shardgate::test::shard_harness;
using namespace std::chrono_literals;

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.starts_with(prefix);
}

// Sends (send_text) with the simulated time they were emitted at, to check windows afterwards.
struct timed_send {
    gw::time_point at;
    std::string payload;
};

class timed_harness : public shard_harness {
public:
    using shard_harness::shard_harness;
    std::vector<timed_send> sends;

    void collect() {
        for (std::size_t i = seen_; i < log.size(); ++i) {
            if (const auto* s = std::get_if<gw::action::send_text>(&log[i])) {
                sends.push_back({now, s->payload});
            }
        }
        seen_ = log.size();
    }
    // The most frames any half-open window of `window` holds.
    [[nodiscard]] std::size_t busiest_window(gw::milliseconds window) const {
        std::size_t most = 0;
        for (std::size_t i = 0; i < sends.size(); ++i) {
            std::size_t n = 0;
            for (std::size_t j = i; j < sends.size() && sends[j].at < sends[i].at + window; ++j) {
                ++n;
            }
            most = std::max(most, n);
        }
        return most;
    }
    [[nodiscard]] bool sent(std::string_view prefix) const {
        return std::any_of(sends.begin(), sends.end(),
                           [&](const timed_send& s) { return starts_with(s.payload, prefix); });
    }

private:
    std::size_t seen_ = 0;
};

constexpr std::string_view identify_prefix = R"({"op":2,)";
constexpr std::string_view resume_prefix = R"({"op":6,)";

// --- Every frame through the send limiter (item 5)

TEST(shard_hostile, a_flood_of_op1_requests_leaves_room_for_identify) {
    timed_harness h;
    h.start();
    h.connected();
    h.hello(41'250);
    for (int i = 0; i < 300; ++i) {
        h.text(R"({"op":1,"d":null})");
        h.collect();
    }
    h.permit();
    h.collect();
    EXPECT_TRUE(h.sent(identify_prefix)) << "Identify must go at once: the reserve is its";
    EXPECT_LE(h.busiest_window(60'000ms), 120U);
    EXPECT_GT(h.sends.size(), 100U) << "op 1 requests are still answered while slots are free";
}

TEST(shard_hostile, identify_waits_for_the_limiter_when_the_window_is_full) {
    auto config = shardgate::test::test_config();
    config.limits.frames_per_window = 3; // the reserve is clamped to 2
    timed_harness h(config);
    h.random = 0.0;
    h.start();
    h.connected();
    h.hello(1'000); // three acknowledged beats fill the window
    h.advance(0ms);
    h.ack();
    h.collect();
    for (int i = 0; i < 2; ++i) {
        h.advance(1'000ms);
        h.ack();
        h.collect();
    }
    h.permit();
    h.collect();
    EXPECT_FALSE(h.sent(identify_prefix)) << "the window is full: Identify must wait";
    for (int i = 0; i < 70; ++i) {
        h.advance(1'000ms);
        h.ack();
        h.collect();
    }
    EXPECT_TRUE(h.sent(identify_prefix));
    EXPECT_EQ(h.shard.state(), gw::shard_state::identifying);
    EXPECT_LE(h.busiest_window(60'000ms), 3U);
}

// --- An unusable resume_gateway_url (item 1)

TEST(shard_hostile, a_resume_url_that_is_not_a_websocket_url_is_refused_at_ready) {
    shard_harness h;
    h.start();
    h.connected();
    h.hello();
    h.permit();
    const auto m = h.mark();
    h.ready(1, "session-1", "http://evil.test/\\u001b[2J");
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
    const auto errors = h.lifecycle_since(m, lifecycle_kind::protocol_error);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].error, gw::error::bad_resume_gateway_url);
    EXPECT_NE(errors[0].detail.find("gateway_url"), std::string::npos) << errors[0].detail;
    // The session is kept and resumed through the gateway URL.
    h.dropped();
    const auto c = h.mark();
    h.advance(60'000ms);
    const auto connects = h.since<gw::action::connect>(c);
    ASSERT_EQ(connects.size(), 1U);
    EXPECT_TRUE(starts_with(connects[0].url, "wss://gateway.test")) << connects[0].url;
    h.connected();
    const auto r = h.mark();
    h.hello();
    ASSERT_FALSE(h.sent_since(r).empty());
    EXPECT_TRUE(starts_with(h.sent_since(r)[0], resume_prefix));
}

TEST(shard_hostile, resume_falls_back_to_the_gateway_url_after_failed_attempts) {
    shard_harness h;
    h.bring_up();
    h.dispatch(2, "MESSAGE_CREATE");
    h.dropped();
    std::vector<std::string> urls;
    for (int attempt = 0; attempt < 6; ++attempt) {
        const auto c = h.mark();
        h.advance(120'000ms);
        const auto connects = h.since<gw::action::connect>(c);
        ASSERT_EQ(connects.size(), 1U);
        urls.push_back(connects[0].url);
        if (starts_with(connects[0].url, "wss://gateway.test")) {
            break;
        }
        h.shard.on_transport_error(h.now, std::make_error_code(std::errc::connection_refused));
        h.drain();
    }
    ASSERT_EQ(urls.size(), gw::shard_config{}.resume_url_attempts + 1) << urls.back();
    EXPECT_TRUE(starts_with(urls.front(), "wss://resume.test"));
    const auto fallbacks = h.lifecycle_since(0, lifecycle_kind::protocol_error);
    ASSERT_EQ(fallbacks.size(), 1U);
    EXPECT_EQ(fallbacks[0].error, gw::error::resume_gateway_url_unreachable);
    EXPECT_NE(fallbacks[0].detail.find("wss://resume.test"), std::string::npos);
    // The session may still live: resume it there, with the last sequence.
    h.connected();
    const auto r = h.mark();
    h.hello();
    const auto sent = h.sent_since(r);
    ASSERT_FALSE(sent.empty());
    EXPECT_TRUE(starts_with(sent[0], resume_prefix));
    EXPECT_NE(sent[0].find(R"("seq":2)"), std::string::npos) << "(redacted)";
}

TEST(shard_hostile, a_hello_from_the_resume_url_resets_the_failure_count) {
    shard_harness h;
    h.bring_up();
    for (int round = 0; round < 5; ++round) {
        h.dropped(); // connection lost after a Hello: not the URL's fault
        const auto c = h.mark();
        h.advance(120'000ms);
        const auto connects = h.since<gw::action::connect>(c);
        ASSERT_EQ(connects.size(), 1U);
        EXPECT_TRUE(starts_with(connects[0].url, "wss://resume.test")) << round;
        h.connected();
        h.hello();
    }
    EXPECT_TRUE(h.lifecycle_since(0, lifecycle_kind::protocol_error).empty());
}

// --- The transport's cause (item 3)

TEST(shard_hostile, a_transport_failure_carries_its_cause_to_the_closed_event) {
    shard_harness h;
    h.start();
    h.shard.on_transport_error(h.now, std::make_error_code(std::errc::connection_refused),
                               "connect to 127.0.0.1:1", gw::transport_stage::connect);
    h.drain();
    const auto closed = h.lifecycle_since(0, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].code, 1006);
    EXPECT_EQ(closed[0].by, gw::closed_by::transport);
    EXPECT_EQ(closed[0].stage, gw::transport_stage::connect);
    EXPECT_EQ(closed[0].error, std::errc::connection_refused);
    EXPECT_EQ(closed[0].detail, "connect to 127.0.0.1:1");
}

TEST(shard_hostile, a_failure_after_the_handshakes_is_at_the_open_stage_whatever_is_said) {
    shard_harness h;
    h.start();
    h.connected();
    h.shard.on_transport_error(h.now, std::make_error_code(std::errc::connection_reset), "reading",
                               gw::transport_stage::tls_handshake);
    h.drain();
    const auto closed = h.lifecycle_since(0, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].stage, gw::transport_stage::open);
}

TEST(shard_hostile, a_missing_hello_is_named_as_the_cause) {
    shard_harness h;
    h.start();
    h.connected();
    h.advance_to(h.shard.next_deadline().value());
    const auto closed = h.lifecycle_since(0, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].cause, gw::disconnect_cause::hello_timeout);
    EXPECT_EQ(closed[0].stage, gw::transport_stage::open);
    EXPECT_EQ(closed[0].error, gw::error::hello_timeout);
}

} // namespace

namespace {

// --- Clock jumps and suspends

TEST(shard_hostile, a_suspend_of_hours_resumes_at_once_without_a_burst_of_beats) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(41'250);
    h.advance(0ms);
    h.ack();
    h.dispatch(2, "MESSAGE_CREATE");
    // The process sleeps for three hours (a laptop lid, SIGSTOP): the next input is one deadline
    // long overdue.
    const auto m = h.mark();
    h.now += 3h;
    h.shard.on_deadline(h.now);
    h.drain();
    EXPECT_TRUE(h.sent_since(m).empty()) << "no heartbeat into a connection missed for hours";
    ASSERT_EQ(h.lifecycle_since(m, lifecycle_kind::zombie).size(), 1U);
    const auto closes = h.since<gw::action::send_close>(m);
    ASSERT_EQ(closes.size(), 1U);
    EXPECT_EQ(closes[0].code, gw::close_code_reconnect) << "the session is kept for a resume";
    h.closed(gw::close_code_reconnect);
    const auto c = h.mark();
    h.advance(10'000ms);
    const auto connects = h.since<gw::action::connect>(c);
    ASSERT_EQ(connects.size(), 1U);
    h.connected();
    const auto r = h.mark();
    h.hello();
    const auto sent = h.sent_since(r);
    ASSERT_FALSE(sent.empty());
    EXPECT_TRUE(starts_with(sent[0], resume_prefix));
    EXPECT_NE(sent[0].find(R"("seq":2)"), std::string::npos);
}

TEST(shard_hostile, a_loop_busy_with_traffic_past_a_beat_is_not_a_suspend) {
    // A flood keeps the process busy reading, so the beat's timer fires an interval late; but
    // frames kept arriving: the connection is alive, beat into it.
    shard_harness h;
    h.random = 0.0;
    h.bring_up(2'000);
    h.advance(0ms);
    h.ack();
    h.now += 4'500ms;                // the beat was due at +2 s: 2.5 s, more than an interval, late
    h.dispatch(2, "MESSAGE_CREATE"); // read just before the late timer
    const auto m = h.mark();
    h.shard.on_deadline(h.now);
    h.drain();
    EXPECT_EQ(h.sent_since(m).size(), 1U);
    EXPECT_TRUE(h.lifecycle_since(m, lifecycle_kind::zombie).empty());
}

TEST(shard_hostile, a_jump_shorter_than_an_interval_just_beats) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(41'250);
    h.advance(0ms);
    h.ack();
    const auto m = h.mark();
    h.now += 50'000ms; // one beat late, not two: the connection may well be fine
    h.shard.on_deadline(h.now);
    h.drain();
    EXPECT_EQ(h.sent_since(m).size(), 1U);
    EXPECT_TRUE(h.lifecycle_since(m, lifecycle_kind::zombie).empty());
}

} // namespace
