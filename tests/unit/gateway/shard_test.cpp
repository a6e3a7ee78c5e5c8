#include "shardgate/gateway/shard.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/identify_scheduler.hpp"
#include "support/shard_harness.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <sstream>

namespace gw = shardgate::gateway;
using shardgate::test::shard_harness;
using namespace std::chrono_literals;
using gw::lifecycle_kind;

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// --- Connecting, identifying, READY
// ----------------------------------------------------------------

TEST(shard, connects_to_the_gateway_url_with_version_encoding_and_compression) {
    auto config = shardgate::test::test_config();
    config.transport_compression = gw::compression::zlib_stream;
    shard_harness h(config);
    h.start();
    const auto connects = h.all<gw::action::connect>();
    ASSERT_EQ(connects.size(), 1U);
    EXPECT_EQ(connects[0].url, "wss://gateway.test/?v=10&encoding=json&compress=zlib-stream");
    EXPECT_EQ(h.shard.state(), gw::shard_state::connecting);
    ASSERT_EQ(h.lifecycle_since(0, lifecycle_kind::connecting).size(), 1U);
}

TEST(shard, identifies_only_after_the_scheduler_grants_a_permit) {
    shard_harness h;
    h.start();
    h.connected();
    h.hello();
    EXPECT_EQ(h.all<gw::action::request_identify>().size(), 1U);
    EXPECT_EQ(h.shard.state(), gw::shard_state::identifying);
    for (const auto& s : h.sent_since(0)) {
        EXPECT_FALSE(contains(s, R"("op":2)")) << "Identify sent before the permit: " << s;
    }
    const auto m = h.mark();
    h.permit();
    const auto sent = h.since<gw::action::send_text>(m);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_TRUE(contains(sent[0].payload, R"("op":2)"));
    EXPECT_TRUE(contains(sent[0].payload, R"("shard":[0,1])"));
    EXPECT_TRUE(sent[0].sensitive) << "Identify carries the token";
    EXPECT_EQ(h.lifecycle_since(m, lifecycle_kind::identifying).size(), 1U);
}

TEST(shard, a_permit_that_is_not_needed_is_ignored) {
    shard_harness h;
    h.start();
    h.permit(); // not connected yet: nothing to identify
    EXPECT_TRUE(h.sent_since(0).empty());
    h.connected();
    h.hello();
    h.permit();
    h.permit(); // a second permit must not send a second Identify (4005)
    int identifies = 0;
    for (const auto& s : h.sent_since(0)) {
        identifies += contains(s, R"("op":2)") ? 1 : 0;
    }
    EXPECT_EQ(identifies, 1);
}

TEST(shard, ready_stores_the_session_and_resume_url_and_is_delivered_as_a_dispatch) {
    shard_harness h;
    h.bring_up();
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
    ASSERT_TRUE(h.shard.session().has_value());
    EXPECT_EQ(h.shard.session()->session_id, "session-1");
    EXPECT_EQ(h.shard.session()->resume_gateway_url, "wss://resume.test");
    EXPECT_EQ(h.shard.sequence(), 1U);
    const auto dispatches = h.all<shardgate::test::owned_dispatch>();
    ASSERT_EQ(dispatches.size(), 1U);
    EXPECT_EQ(dispatches[0].name, "READY");
    EXPECT_TRUE(contains(dispatches[0].data, R"("session_id":"session-1")"));
    EXPECT_EQ(h.lifecycle_since(0, lifecycle_kind::ready).size(), 1U);
}

TEST(shard, dispatches_carry_shard_seq_name_and_raw_data) {
    auto config = shardgate::test::test_config();
    config.shard = {3, 8};
    shard_harness h(config);
    h.bring_up();
    h.dispatch(2, "MESSAGE_CREATE", R"({"id":"5","content":"a\"b"})");
    const auto d = h.all<shardgate::test::owned_dispatch>().back();
    EXPECT_EQ(d.shard, 3U);
    EXPECT_EQ(d.seq, 2U);
    EXPECT_EQ(d.name, "MESSAGE_CREATE");
    EXPECT_EQ(d.data, R"({"id":"5","content":"a\"b"})");
    EXPECT_EQ(h.shard.stats().dispatches, 2U);
}

// --- Heartbeats
// --------------------------------------------------------------------------------------

TEST(shard, first_heartbeat_waits_interval_times_jitter_then_every_interval) {
    shard_harness h;
    h.random = 0.25;
    h.start();
    h.connected();
    const auto hello_at = h.now;
    h.hello(40'000);
    std::vector<gw::time_point> beats;
    for (int i = 0; i < 4; ++i) {
        const auto m = h.mark();
        ASSERT_EQ(h.shard.next_deadline(), hello_at + 10'000ms + i * 40'000ms) << i;
        h.advance_to(*h.shard.next_deadline());
        const auto sent = h.sent_since(m);
        ASSERT_EQ(sent.size(), 1U) << i;
        EXPECT_EQ(sent[0], R"({"op":1,"d":null})");
        h.ack();
    }
}

TEST(shard, jitter_zero_and_near_one_bound_the_first_beat) {
    for (double r : {0.0, 0.999}) {
        shard_harness h;
        h.random = r;
        h.start();
        h.connected();
        const auto hello_at = h.now;
        h.hello(10'000);
        const auto first = *h.shard.next_deadline() - hello_at;
        EXPECT_GE(first, 0ms);
        EXPECT_LT(first, 10'000ms);
        EXPECT_EQ(std::chrono::duration_cast<gw::milliseconds>(first).count(),
                  static_cast<long>(10'000 * r));
    }
}

TEST(shard, heartbeat_carries_the_last_non_null_sequence) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(10'000);
    h.advance(1ms); // the first beat (jitter 0) went out at Hello time, before READY
    h.ack();
    h.dispatch(7, "MESSAGE_CREATE");
    h.text(R"({"op":11,"s":null})");
    const auto m = h.mark();
    h.advance(10'000ms);
    const auto sent = h.sent_since(m);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0], R"({"op":1,"d":7})");
}

TEST(shard, server_op1_gets_an_immediate_heartbeat_and_the_schedule_stays) {
    shard_harness h;
    h.random = 0.5;
    h.bring_up(40'000);
    const auto scheduled = h.shard.next_deadline();
    h.advance(3'000ms);
    const auto m = h.mark();
    h.text(R"({"op":1,"d":null})");
    const auto sent = h.sent_since(m);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0], R"({"op":1,"d":1})");
    EXPECT_EQ(h.shard.next_deadline(), scheduled);
}

TEST(shard, latency_is_the_time_from_beat_to_ack) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(10'000);
    h.advance(0ms); // jitter 0: the first beat is due at Hello time
    h.advance(87ms);
    h.ack();
    ASSERT_TRUE(h.shard.latency().has_value());
    EXPECT_EQ(*h.shard.latency(), 87ms);
}

TEST(shard, zombie_connection_is_closed_with_a_session_keeping_code_then_resumed) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(10'000);
    h.dispatch(2, "MESSAGE_CREATE");
    h.advance(0ms); // jitter 0: the first beat goes out at Hello time and is never acknowledged
    const auto m = h.mark();
    h.advance(10'000ms);
    ASSERT_EQ(h.lifecycle_since(m, lifecycle_kind::zombie).size(), 1U);
    const auto closes = h.since<gw::action::send_close>(m);
    ASSERT_EQ(closes.size(), 1U);
    EXPECT_EQ(closes[0].code, gw::close_code_reconnect);
    EXPECT_NE(closes[0].code, 1000);
    EXPECT_NE(closes[0].code, 1001);
    EXPECT_TRUE(h.sent_since(m).empty()) << "no heartbeat on a zombie";
    // The close handshake never completes on a dead link: the transport is dropped.
    h.advance(5'000ms);
    EXPECT_EQ(h.since<gw::action::drop_transport>(m).size(), 1U);
    h.advance(60'000ms);
    const auto connects = h.since<gw::action::connect>(m);
    ASSERT_EQ(connects.size(), 1U);
    EXPECT_TRUE(connects[0].url.starts_with("wss://resume.test/?v=10"));
    h.connected();
    const auto r = h.mark();
    h.hello(10'000);
    const auto sent = h.sent_since(r);
    ASSERT_FALSE(sent.empty());
    EXPECT_TRUE(contains(sent[0], R"("op":6)"));
    EXPECT_TRUE(contains(sent[0], R"("seq":2)"));
    EXPECT_EQ(h.shard.stats().zombies, 1U);
}

// --- Resume, op 7, op 9 --------------------------------------------------------------------------

TEST(shard, resume_goes_to_resume_gateway_url_with_last_sequence_and_same_query) {
    auto config = shardgate::test::test_config();
    config.transport_compression = gw::compression::zstd_stream;
    shard_harness h(config);
    h.bring_up();
    h.dispatch(2, "MESSAGE_CREATE");
    h.dispatch(5, "MESSAGE_CREATE");
    h.text(R"({"op":0,"s":null,"t":"X","d":{}})"); // a null s does not reset the sequence
    const auto m = h.mark();
    h.dropped();
    h.advance(60'000ms);
    const auto connects = h.since<gw::action::connect>(m);
    ASSERT_EQ(connects.size(), 1U);
    EXPECT_EQ(connects[0].url, "wss://resume.test/?v=10&encoding=json&compress=zstd-stream");
    h.connected();
    h.hello();
    const auto sent = h.since<gw::action::send_text>(m);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(sent[0].payload,
              R"({"op":6,"d":{"token":"test-token-SECRET","session_id":"session-1","seq":5}})");
    EXPECT_TRUE(sent[0].sensitive);
    EXPECT_TRUE(h.since<gw::action::request_identify>(m).empty()) << "Resume needs no permit";
    EXPECT_EQ(h.shard.state(), gw::shard_state::resuming);
    // Replayed events arrive before RESUMED and are delivered.
    h.dispatch(6, "MESSAGE_CREATE");
    h.dispatch(7, "RESUMED", "null");
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
    EXPECT_EQ(h.lifecycle_since(m, lifecycle_kind::resumed).size(), 1U);
    EXPECT_EQ(h.since<shardgate::test::owned_dispatch>(m).size(), 2U);
    EXPECT_EQ(h.shard.sequence(), 7U);
}

TEST(shard, op7_reconnect_closes_with_4900_and_resumes) {
    shard_harness h;
    h.bring_up();
    h.advance(1'000ms);
    h.dispatch(3, "MESSAGE_CREATE");
    const auto m = h.mark();
    h.text(R"({"op":7,"d":null})");
    EXPECT_EQ(h.lifecycle_since(m, lifecycle_kind::reconnect_requested).size(), 1U);
    const auto closes = h.since<gw::action::send_close>(m);
    ASSERT_EQ(closes.size(), 1U);
    EXPECT_EQ(closes[0].code, gw::close_code_reconnect);
    h.closed(gw::close_code_reconnect);
    const auto closed = h.lifecycle_since(m, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reaction, gw::close_reaction::resume);
    h.advance(gw::backoff_config{}.first_jitter);
    ASSERT_EQ(h.since<gw::action::connect>(m).size(), 1U)
        << "a healthy session reconnects within the first reconnect's jitter";
    EXPECT_TRUE(h.since<gw::action::connect>(m)[0].url.starts_with("wss://resume.test"));
    h.connected();
    h.hello();
    const auto sent = h.sent_since(m);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_TRUE(contains(sent[0], R"("op":6)"));
    EXPECT_TRUE(contains(sent[0], R"("seq":3)"));
}

TEST(shard, op7_before_hello_reconnects_too) {
    shard_harness h;
    h.start();
    h.connected();
    const auto m = h.mark();
    h.text(R"({"op":7,"d":null})");
    ASSERT_EQ(h.since<gw::action::send_close>(m).size(), 1U);
    h.closed(gw::close_code_reconnect);
    h.advance(60'000ms);
    const auto connects = h.since<gw::action::connect>(m);
    ASSERT_EQ(connects.size(), 1U);
    EXPECT_TRUE(connects[0].url.starts_with("wss://gateway.test")) << "no session yet: identify";
}

TEST(shard, op9_true_resumes) {
    shard_harness h;
    h.bring_up();
    h.dispatch(4, "MESSAGE_CREATE");
    const auto m = h.mark();
    h.text(R"({"op":9,"d":true})");
    const auto inv = h.lifecycle_since(m, lifecycle_kind::invalid_session);
    ASSERT_EQ(inv.size(), 1U);
    EXPECT_TRUE(inv[0].resumable);
    ASSERT_EQ(h.since<gw::action::send_close>(m).size(), 1U);
    EXPECT_EQ(h.since<gw::action::send_close>(m)[0].code, gw::close_code_reconnect);
    h.closed(gw::close_code_reconnect);
    h.advance(gw::backoff_config{}.first_jitter);
    h.connected();
    h.hello();
    const auto sent = h.sent_since(m);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_TRUE(contains(sent[0], R"("op":6)"));
    EXPECT_TRUE(contains(sent[0], R"("seq":4)"));
}

TEST(shard, op9_false_waits_one_to_five_seconds_then_identifies_at_the_gateway_url) {
    for (double r : {0.0, 0.5, 0.999}) {
        shard_harness h;
        h.bring_up();
        h.dispatch(4, "MESSAGE_CREATE");
        h.random = r;
        const auto m = h.mark();
        h.text(R"({"op":9,"d":false})");
        const auto inv = h.lifecycle_since(m, lifecycle_kind::invalid_session);
        ASSERT_EQ(inv.size(), 1U);
        EXPECT_FALSE(inv[0].resumable);
        ASSERT_EQ(h.since<gw::action::send_close>(m).size(), 1U);
        h.closed(h.since<gw::action::send_close>(m)[0].code);
        // Given up where every connection ends (connection_ended), once the close completed.
        EXPECT_FALSE(h.shard.session().has_value());
        const auto closed_at = h.now;
        const auto expected_wait =
            1'000ms + std::chrono::milliseconds(static_cast<long>(4'000 * r));
        h.advance(expected_wait - 1ms);
        EXPECT_TRUE(h.since<gw::action::connect>(m).empty()) << r;
        h.advance(1ms);
        const auto connects = h.since<gw::action::connect>(m);
        ASSERT_EQ(connects.size(), 1U) << r;
        EXPECT_EQ(h.now - closed_at, expected_wait);
        EXPECT_TRUE(connects[0].url.starts_with("wss://gateway.test/?v=10"));
        h.connected();
        h.hello();
        EXPECT_EQ(h.since<gw::action::request_identify>(m).size(), 1U);
        h.permit();
        bool identified = false;
        for (const auto& s : h.sent_since(m)) {
            identified = identified || contains(s, R"("op":2)");
            EXPECT_FALSE(contains(s, R"("op":6)")) << "must not resume a dead session";
        }
        EXPECT_TRUE(identified);
    }
}

TEST(shard, op9_false_during_identify_from_the_concurrency_limit_identifies_again) {
    shard_harness h;
    h.start();
    h.connected();
    h.hello();
    h.permit();
    const auto m = h.mark();
    h.text(R"({"op":9,"d":false})");
    ASSERT_EQ(h.since<gw::action::send_close>(m).size(), 1U);
    h.closed(1000);
    h.advance(5'000ms);
    h.connected();
    h.hello();
    EXPECT_EQ(h.since<gw::action::request_identify>(m).size(), 1U);
}

// --- Close codes ---------------------------------------------------------------------------------

class shard_close_code : public ::testing::TestWithParam<gw::close_policy> {};

} // namespace

namespace shardgate::gateway {
// Names the parameter in test listings (and so in ctest) by its code instead of its bytes.
void PrintTo(const close_policy& p, std::ostream* os) {
    *os << p.code;
} // NOLINT(readability-identifier-naming)
} // namespace shardgate::gateway

namespace {

TEST_P(shard_close_code, server_close_gets_the_reaction_of_the_policy_table) {
    const auto policy = GetParam();
    shard_harness h;
    h.bring_up();
    h.dispatch(9, "MESSAGE_CREATE");
    const auto m = h.mark();
    if (policy.code == 1006) {
        h.dropped();
    } else {
        h.closed(policy.code);
    }
    const auto closed = h.lifecycle_since(m, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].code, policy.code);
    EXPECT_EQ(closed[0].reaction, policy.reaction);

    h.advance(120'000ms);
    switch (policy.reaction) {
    case gw::close_reaction::resume: {
        const auto connects = h.since<gw::action::connect>(m);
        ASSERT_EQ(connects.size(), 1U);
        EXPECT_TRUE(connects[0].url.starts_with("wss://resume.test/"));
        h.connected();
        h.hello();
        const auto sent = h.sent_since(m);
        ASSERT_EQ(sent.size(), 1U);
        EXPECT_TRUE(contains(sent[0], R"("op":6)"));
        EXPECT_TRUE(contains(sent[0], R"("seq":9)"));
        break;
    }
    case gw::close_reaction::reidentify: {
        const auto connects = h.since<gw::action::connect>(m);
        ASSERT_EQ(connects.size(), 1U);
        EXPECT_TRUE(connects[0].url.starts_with("wss://gateway.test/"));
        EXPECT_FALSE(h.shard.session().has_value());
        EXPECT_FALSE(h.shard.sequence().has_value());
        h.connected();
        h.hello();
        EXPECT_EQ(h.since<gw::action::request_identify>(m).size(), 1U);
        EXPECT_TRUE(h.sent_since(m).empty());
        break;
    }
    case gw::close_reaction::fatal: {
        EXPECT_EQ(h.shard.state(), gw::shard_state::fatally_closed);
        EXPECT_TRUE(h.since<gw::action::connect>(m).empty());
        EXPECT_FALSE(h.shard.next_deadline().has_value());
        const auto fatal = h.lifecycle_since(m, lifecycle_kind::fatal);
        ASSERT_EQ(fatal.size(), 1U);
        EXPECT_EQ(fatal[0].code, policy.code);
        EXPECT_EQ(fatal[0].name, policy.name);
        EXPECT_EQ(fatal[0].remedy, policy.remedy);
        EXPECT_EQ(h.shard.send(h.now, gw::update_presence{}), gw::error::shard_stopped);
        break;
    }
    }
}

} // namespace

INSTANTIATE_TEST_SUITE_P(every_code, shard_close_code,
                         ::testing::ValuesIn(gw::all_close_policies().begin(),
                                             gw::all_close_policies().end()),
                         [](const auto& param_info) {
                             return std::to_string(param_info.param.code);
                         });

TEST(shard, unknown_server_close_code_resumes) {
    shard_harness h;
    h.bring_up();
    const auto m = h.mark();
    h.closed(4999);
    const auto closed = h.lifecycle_since(m, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reaction, gw::close_reaction::resume);
}

TEST(shard, a_resumable_close_before_ready_identifies_because_there_is_no_session) {
    shard_harness h;
    h.start();
    h.connected();
    h.hello();
    h.permit();
    const auto m = h.mark();
    h.closed(4000);
    const auto closed = h.lifecycle_since(m, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reaction, gw::close_reaction::reidentify);
    h.advance(120'000ms);
    ASSERT_EQ(h.since<gw::action::connect>(m).size(), 1U);
    EXPECT_TRUE(h.since<gw::action::connect>(m)[0].url.starts_with("wss://gateway.test/"));
}

TEST(shard, a_drop_while_waiting_for_a_permit_cancels_the_request) {
    shard_harness h;
    h.start();
    h.connected();
    h.hello();
    const auto m = h.mark();
    h.dropped();
    EXPECT_EQ(h.since<gw::action::cancel_identify>(m).size(), 1U);
}

TEST(shard, a_fatal_code_crossing_our_own_close_still_stops_the_shard) {
    shard_harness h;
    h.bring_up();
    h.text(R"({"op":7,"d":null})");
    h.closed(4004);
    EXPECT_EQ(h.shard.state(), gw::shard_state::fatally_closed);
}

// --- Back-off ------------------------------------------------------------------------------------

TEST(shard, failed_connects_back_off_exponentially_with_a_cap_and_reset_after_a_healthy_session) {
    shard_harness h;
    h.random = 0.999;
    h.start();
    std::vector<gw::milliseconds> delays;
    for (int i = 0; i < 10; ++i) {
        const auto failed_at = h.now;
        h.dropped(); // the connect attempt failed
        ASSERT_EQ(h.shard.state(), gw::shard_state::disconnected);
        delays.push_back(
            std::chrono::duration_cast<gw::milliseconds>(*h.shard.next_deadline() - failed_at));
        h.advance_to(*h.shard.next_deadline());
        ASSERT_EQ(h.shard.state(), gw::shard_state::connecting);
    }
    EXPECT_EQ(delays[0], 500ms) << "the first retry: within first_jitter";
    for (std::size_t i = 2; i < delays.size(); ++i) {
        EXPECT_GE(delays[i], delays[i - 1]) << i;
    }
    EXPECT_LE(delays.back(), 60'000ms);
    EXPECT_GT(delays.back(), 30'000ms);
    // A session that is up and acknowledged resets the back-off: the next drop reconnects within
    // the first reconnect's jitter (at once with random 0).
    h.random = 0.0;
    h.connected();
    h.hello(10'000);
    h.permit();
    h.ready();
    h.advance(1ms);
    h.ack();
    const auto dropped_at = h.now;
    h.dropped();
    EXPECT_EQ(*h.shard.next_deadline(), dropped_at);
}

TEST(shard, hello_that_never_comes_drops_the_transport_and_reconnects) {
    shard_harness h;
    h.start();
    h.connected();
    const auto m = h.mark();
    h.advance(20'000ms);
    EXPECT_EQ(h.since<gw::action::drop_transport>(m).size(), 1U);
    const auto closed = h.lifecycle_since(m, lifecycle_kind::closed);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].code, 1006);
    h.advance(60'000ms);
    EXPECT_EQ(h.since<gw::action::connect>(m).size(), 1U);
}

// --- Commands and the limiter -------------------------------------------------------------------

TEST(shard, commands_queued_while_disconnected_are_sent_in_order_after_ready) {
    shard_harness h;
    h.start();
    gw::request_guild_members first;
    first.guild_id = 11;
    first.query = "";
    first.limit = 0;
    gw::request_soundboard_sounds second;
    second.guild_ids = {22};
    ASSERT_FALSE(h.shard.send(h.now, first));
    ASSERT_FALSE(h.shard.send(h.now, second));
    h.drain();
    EXPECT_TRUE(h.sent_since(0).empty());
    EXPECT_EQ(h.shard.queued_commands(), 2U);
    h.connected();
    h.hello();
    h.permit();
    const auto m = h.mark();
    h.ready();
    const auto sent = h.sent_since(m);
    ASSERT_EQ(sent.size(), 2U);
    EXPECT_TRUE(contains(sent[0], R"("op":8)"));
    EXPECT_TRUE(contains(sent[1], R"("op":31)"));
    EXPECT_EQ(h.shard.queued_commands(), 0U);
}

TEST(shard, commands_queued_across_a_resume_are_sent_after_resumed) {
    shard_harness h;
    h.bring_up();
    h.dropped();
    gw::update_voice_state voice;
    voice.guild_id = 5;
    ASSERT_FALSE(h.shard.send(h.now, voice));
    h.drain();
    h.advance(60'000ms);
    h.connected();
    const auto m = h.mark();
    h.hello();
    ASSERT_EQ(h.sent_since(m).size(), 1U) << "only the Resume so far";
    h.dispatch(2, "RESUMED", "null");
    const auto sent = h.sent_since(m);
    ASSERT_EQ(sent.size(), 2U);
    EXPECT_TRUE(contains(sent[1], R"("op":4)"));
}

TEST(shard, a_flood_of_commands_is_paced_by_the_limiter_and_heartbeats_never_wait) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(41'250);
    for (int i = 0; i < 400; ++i) {
        gw::request_soundboard_sounds cmd;
        cmd.guild_ids = {static_cast<gw::snowflake>(i + 1)};
        ASSERT_FALSE(h.shard.send(h.now, cmd));
    }
    h.drain();
    // Heartbeats at their due times, acknowledged at once; the flood drains meanwhile.
    std::vector<gw::time_point> sent_at;
    const auto start = h.now;
    while (h.now < start + 300'000ms) {
        const auto m = h.mark();
        const auto deadline = h.shard.next_deadline();
        ASSERT_TRUE(deadline.has_value());
        h.advance_to(*deadline);
        for (const auto& s : h.sent_since(m)) {
            sent_at.push_back(h.now);
            if (contains(s, R"("op":1,)")) {
                h.ack();
            }
        }
    }
    EXPECT_EQ(h.shard.queued_commands(), 0U);
    for (std::size_t i = 0; i < sent_at.size(); ++i) {
        std::size_t in_window = 0;
        for (std::size_t j = i; j < sent_at.size() && sent_at[j] < sent_at[i] + 60'000ms; ++j) {
            ++in_window;
        }
        EXPECT_LE(in_window, 120U) << "window starting at frame " << i;
    }
    EXPECT_EQ(h.shard.stats().zombies, 0U);
}

TEST(shard, oversized_or_invalid_commands_are_rejected_before_sending) {
    shard_harness h;
    h.bring_up();
    gw::update_presence presence;
    presence.activities.push_back({std::string(5000, 'x'), gw::activity_type::playing, {}, {}});
    EXPECT_EQ(h.shard.send(h.now, presence), gw::error::payload_too_large);
    gw::request_channel_info info;
    info.guild_id = 1;
    info.fields = {"bogus"};
    EXPECT_EQ(h.shard.send(h.now, info), gw::error::invalid_command);
    EXPECT_EQ(h.shard.queued_commands(), 0U);
}

TEST(shard, the_send_queue_is_bounded) {
    auto config = shardgate::test::test_config();
    config.max_queued_commands = 3;
    shard_harness h(config);
    gw::request_soundboard_sounds cmd;
    cmd.guild_ids = {1};
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(h.shard.send(h.now, cmd));
    }
    EXPECT_EQ(h.shard.send(h.now, cmd), gw::error::send_queue_full);
}

// --- Bad input from the network
// -------------------------------------------------------------------

TEST(shard, malformed_json_is_counted_reported_and_answered_with_a_resume) {
    shard_harness h;
    h.bring_up();
    h.dispatch(3, "MESSAGE_CREATE");
    const auto m = h.mark();
    h.text(R"({"op":0,"s":4,"t":"MESSAGE_CREATE","d":{"content":)");
    const auto errors = h.lifecycle_since(m, lifecycle_kind::protocol_error);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].error, gw::error::malformed_json);
    EXPECT_TRUE(contains(errors[0].detail, "MESSAGE_CREATE")) << errors[0].detail;
    EXPECT_EQ(h.shard.stats().protocol_errors, 1U);
    ASSERT_EQ(h.since<gw::action::send_close>(m).size(), 1U);
    EXPECT_EQ(h.since<gw::action::send_close>(m)[0].code, gw::close_code_reconnect);
    EXPECT_EQ(h.shard.sequence(), 3U) << "resume replays the lost event from 3";
}

TEST(shard, unknown_opcodes_are_counted_and_reported_without_closing) {
    shard_harness h;
    h.bring_up();
    const auto m = h.mark();
    h.text(R"({"op":99,"d":null})");
    h.text(R"({"op":2,"d":null})"); // a send-only opcode coming from the server
    EXPECT_EQ(h.shard.stats().unknown_opcodes, 2U);
    EXPECT_EQ(h.lifecycle_since(m, lifecycle_kind::protocol_error).size(), 2U);
    EXPECT_TRUE(h.since<gw::action::send_close>(m).empty());
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
}

TEST(shard, a_bad_hello_or_ready_is_a_protocol_error) {
    shard_harness h;
    h.start();
    h.connected();
    const auto m = h.mark();
    h.text(R"({"op":10,"d":{"heartbeat_interval":-5}})");
    ASSERT_EQ(h.lifecycle_since(m, lifecycle_kind::protocol_error).size(), 1U);
    EXPECT_EQ(h.lifecycle_since(m, lifecycle_kind::protocol_error)[0].error, gw::error::bad_hello);
}

TEST(shard, a_dispatch_before_hello_is_a_protocol_error_and_ready_is_not_taken) {
    // Issue 12 (4): READY before Hello left the shard "ready" with no heartbeat and no deadline.
    shard_harness h;
    h.start();
    h.connected();
    const auto m = h.mark();
    h.ready(7);
    const auto errors = h.lifecycle_since(m, lifecycle_kind::protocol_error);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].error, gw::error::dispatch_before_hello);
    EXPECT_EQ(errors[0].error.default_error_condition(), gw::condition::protocol_violation);
    EXPECT_TRUE(contains(errors[0].detail, "READY")) << errors[0].detail;
    EXPECT_TRUE(h.lifecycle_since(m, lifecycle_kind::ready).empty());
    EXPECT_TRUE(h.since<shardgate::test::owned_dispatch>(m).empty());
    EXPECT_FALSE(h.shard.session());
    EXPECT_FALSE(h.shard.sequence());
    ASSERT_EQ(h.since<gw::action::send_close>(m).size(), 1U);
    EXPECT_EQ(h.since<gw::action::send_close>(m)[0].code, gw::close_code_reconnect);
    EXPECT_NE(h.shard.state(), gw::shard_state::active);
}

TEST(shard, a_heartbeat_interval_past_a_day_is_refused_and_a_day_is_taken) {
    // Issue 12 (6): a huge interval overflowed the deadline arithmetic (immediate beats, false
    // zombies); UBSan reports the signed overflow without the check.
    for (const char* huge : {"9000000000000000", "9223372036854775807", "86400001"}) {
        shard_harness h;
        h.start();
        h.connected();
        const auto m = h.mark();
        h.text(std::string(R"({"op":10,"d":{"heartbeat_interval":)") + huge + "}}");
        const auto errors = h.lifecycle_since(m, lifecycle_kind::protocol_error);
        ASSERT_EQ(errors.size(), 1U) << huge;
        EXPECT_EQ(errors[0].error, gw::error::bad_hello) << huge;
        h.advance(1h);
        EXPECT_EQ(h.shard.stats().heartbeats_sent, 0U) << huge;
    }
    shard_harness h;
    h.start();
    h.connected();
    h.text(R"({"op":10,"d":{"heartbeat_interval":86400000}})");
    EXPECT_EQ(h.shard.heartbeat_interval(), std::chrono::hours(24));
    EXPECT_EQ(h.shard.stats().protocol_errors, 0U);
}

TEST(shard, zlib_stream_frames_are_inflated_even_when_split) {
    auto config = shardgate::test::test_config();
    config.transport_compression = gw::compression::zlib_stream;
    shard_harness h(config);
    h.start();
    h.connected();
    gw::deflater deflater(gw::compression::zlib_stream);
    auto send_compressed = [&](std::string_view payload, std::size_t split) {
        std::vector<std::byte> bytes;
        deflater.compress(payload, bytes);
        split = std::min(split, bytes.size());
        h.shard.on_binary(h.now, std::span(bytes).first(split));
        h.drain();
        h.shard.on_binary(h.now, std::span(bytes).subspan(split));
        h.drain();
    };
    send_compressed(R"({"op":10,"d":{"heartbeat_interval":41250}})", 3);
    h.permit();
    send_compressed(
        R"({"op":0,"s":1,"t":"READY","d":{"session_id":"z","resume_gateway_url":"wss://r.test"}})",
        10);
    send_compressed(R"({"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"content":"compressed"}})", 1);
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
    const auto d = h.all<shardgate::test::owned_dispatch>();
    ASSERT_EQ(d.size(), 2U);
    EXPECT_EQ(d[1].data, R"({"content":"compressed"})");
}

TEST(shard, corrupt_compressed_data_is_a_protocol_error_and_a_resume) {
    auto config = shardgate::test::test_config();
    config.transport_compression = gw::compression::zlib_stream;
    shard_harness h(config);
    h.start();
    h.connected();
    const std::vector<std::byte> garbage(64, std::byte{0x5a});
    std::vector<std::byte> frame = garbage;
    for (auto b : {0x00, 0x00, 0xff, 0xff}) {
        frame.push_back(static_cast<std::byte>(b));
    }
    h.shard.on_binary(h.now, frame);
    h.drain();
    const auto errors = h.lifecycle_since(0, lifecycle_kind::protocol_error);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].error, gw::error::decompression_failed);
    EXPECT_EQ(h.all<gw::action::send_close>().size(), 1U);
}

// --- Shutdown and secrets
// -------------------------------------------------------------------------

TEST(shard, shutdown_closes_with_1000_and_stops) {
    shard_harness h;
    h.bring_up();
    const auto m = h.mark();
    h.shard.close(h.now);
    h.drain();
    const auto closes = h.since<gw::action::send_close>(m);
    ASSERT_EQ(closes.size(), 1U);
    EXPECT_EQ(closes[0].code, 1000);
    h.closed(1000);
    EXPECT_EQ(h.shard.state(), gw::shard_state::stopped);
    h.advance(600'000ms);
    EXPECT_TRUE(h.since<gw::action::connect>(m).empty());
    EXPECT_FALSE(h.shard.next_deadline().has_value());
}

TEST(shard, shutdown_during_a_close_handshake_sends_no_second_close_and_stops) {
    shard_harness h;
    h.bring_up();
    h.text(R"({"op":7,"d":null})");
    h.shard.close(h.now);
    h.drain();
    EXPECT_EQ(h.all<gw::action::send_close>().size(), 1U);
    h.closed(gw::close_code_reconnect);
    EXPECT_EQ(h.shard.state(), gw::shard_state::stopped);
    h.advance(60'000ms);
    EXPECT_EQ(h.all<gw::action::connect>().size(), 1U) << "no reconnect after shutdown";
}

TEST(shard, shutdown_while_disconnected_stops_at_once) {
    shard_harness h;
    h.bring_up();
    h.dropped();
    h.shard.close(h.now);
    h.drain();
    EXPECT_EQ(h.shard.state(), gw::shard_state::stopped);
    EXPECT_FALSE(h.shard.next_deadline().has_value());
}

TEST(shard, the_token_appears_only_in_sensitive_frames) {
    shard_harness h;
    h.bring_up();
    h.dropped();
    h.advance(60'000ms);
    h.connected();
    h.hello();
    h.closed(4004);
    int sensitive = 0;
    for (const auto& a : h.log) {
        if (const auto* s = std::get_if<gw::action::send_text>(&a)) {
            EXPECT_EQ(contains(s->payload, "test-token-SECRET"), s->sensitive) << s->payload;
            sensitive += s->sensitive ? 1 : 0;
        } else if (const auto* c = std::get_if<gw::action::connect>(&a)) {
            EXPECT_FALSE(contains(c->url, "SECRET"));
        } else if (const auto* e = std::get_if<gw::lifecycle_event>(&a)) {
            EXPECT_FALSE(contains(e->url, "SECRET"));
            EXPECT_FALSE(contains(e->detail, "SECRET"));
            EXPECT_FALSE(contains(e->remedy, "SECRET"));
        }
    }
    EXPECT_EQ(sensitive, 2) << "one Identify and one Resume";
    std::ostringstream os;
    os << shardgate::test::test_config().token;
    EXPECT_EQ(os.str(), "***");
}

// --- With the identify scheduler
// --------------------------------------------------------------------

// Sixteen shards driven together through the local identify scheduler, as a cluster will: every
// shard identifies exactly once, only when granted, and never two in one bucket within 5 s.
TEST(shard, shards_with_the_local_scheduler_identify_once_per_bucket_window) {
    constexpr std::uint32_t count = 16;
    constexpr std::uint32_t max_concurrency = 4;
    gw::session_start_limit limit;
    limit.max_concurrency = max_concurrency;
    gw::time_point now = gw::time_point{} + 1h;
    gw::local_identify_scheduler scheduler(limit, now);
    std::vector<std::unique_ptr<shard_harness>> shards;
    for (std::uint32_t id = 0; id < count; ++id) {
        auto config = shardgate::test::test_config();
        config.shard = {id, count};
        shards.push_back(std::make_unique<shard_harness>(config));
        shards.back()->now = now;
    }
    std::vector<std::size_t> handled(count, 0);
    std::vector<std::optional<gw::time_point>> identified_at(count);
    // The driver: route each shard's requests to the scheduler and its permits back.
    auto scan = [&] {
        for (std::uint32_t id = 0; id < count; ++id) {
            auto& h = *shards[id];
            for (; handled[id] < h.log.size(); ++handled[id]) {
                const auto& a = h.log[handled[id]];
                if (std::holds_alternative<gw::action::request_identify>(a)) {
                    scheduler.request(id, now);
                } else if (std::holds_alternative<gw::action::cancel_identify>(a)) {
                    scheduler.cancel(id);
                } else if (const auto* s = std::get_if<gw::action::send_text>(&a);
                           s != nullptr && contains(s->payload, R"("op":2)")) {
                    ASSERT_FALSE(identified_at[id].has_value()) << "shard " << id << " twice";
                    identified_at[id] = now;
                }
            }
        }
    };
    auto pump = [&] {
        scan();
        while (auto decision = scheduler.poll(now)) {
            const auto* permit = std::get_if<gw::identify_permit>(&*decision);
            ASSERT_NE(permit, nullptr);
            shards[permit->shard_id]->permit();
        }
        scan();
    };
    for (auto& h : shards) {
        h->start();
        h->connected();
        h->hello();
    }
    pump();
    while (auto deadline = scheduler.next_deadline()) {
        now = *deadline;
        for (auto& h : shards) {
            h->now = now; // heartbeats are not the subject here; only the clock moves
        }
        pump();
    }
    pump();
    const auto start = gw::time_point{} + 1h;
    for (std::uint32_t id = 0; id < count; ++id) {
        ASSERT_TRUE(identified_at[id].has_value()) << id;
        // Bucket id % 4 identifies its shards 0, 4, 8, 12 (and so on) 5 s apart, in order.
        EXPECT_EQ(*identified_at[id], start + (id / max_concurrency) * 5s) << id;
    }
}

// --- Counters and round-trip time
// -----------------------------------------------------------------

namespace {

std::uint64_t sent_text_bytes(const shard_harness& h) {
    std::uint64_t n = 0;
    for (const auto& s : h.all<gw::action::send_text>()) {
        n += s.payload.size();
    }
    return n;
}

gw::request_soundboard_sounds soundboard_request(int i) {
    gw::request_soundboard_sounds cmd;
    cmd.guild_ids = {static_cast<gw::snowflake>(i + 1)};
    return cmd;
}

} // namespace

TEST(shard_stats, text_frames_count_the_same_bytes_received_and_as_payload) {
    shard_harness h;
    h.start();
    h.text(R"({"op":11})"); // not connected yet: ignored and not counted
    EXPECT_EQ(h.shard.stats().received_bytes, 0U);
    EXPECT_EQ(h.shard.stats().payload_bytes, 0U);
    h.connected();
    const std::vector<std::string> frames{
        R"({"op":10,"d":{"heartbeat_interval":41250}})",
        R"({"op":0,"s":1,"t":"READY","d":{"session_id":"s","resume_gateway_url":"wss://r.test"}})",
        R"({"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"content":"hello"}})",
        R"({"op":11})",
        R"({"op":99,"d":null})", // unknown opcodes arrived all the same
    };
    std::uint64_t total = 0;
    for (const auto& f : frames) {
        h.text(f);
        if (f.starts_with(R"({"op":10)")) {
            h.permit();
        }
        total += f.size();
        EXPECT_EQ(h.shard.stats().received_bytes, total) << f;
        EXPECT_EQ(h.shard.stats().payload_bytes, total) << f;
    }
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
}

TEST(shard_stats, zlib_stream_counts_compressed_bytes_received_and_inflated_bytes_as_payload) {
    auto config = shardgate::test::test_config();
    config.transport_compression = gw::compression::zlib_stream;
    shard_harness h(config);
    h.start();
    h.connected();
    gw::deflater deflater(gw::compression::zlib_stream);
    std::uint64_t compressed = 0;
    std::uint64_t inflated = 0;
    auto send = [&](std::string_view payload) {
        std::vector<std::byte> bytes;
        deflater.compress(payload, bytes);
        // In two pieces: the first inflates to nothing yet but has arrived.
        const auto first = std::span(bytes).first(bytes.size() / 2);
        h.shard.on_binary(h.now, first);
        h.drain();
        EXPECT_EQ(h.shard.stats().received_bytes, compressed + first.size());
        EXPECT_EQ(h.shard.stats().payload_bytes, inflated) << "no whole message yet";
        h.shard.on_binary(h.now, std::span(bytes).subspan(first.size()));
        h.drain();
        compressed += bytes.size();
        inflated += payload.size();
        EXPECT_EQ(h.shard.stats().received_bytes, compressed);
        EXPECT_EQ(h.shard.stats().payload_bytes, inflated);
    };
    send(R"({"op":10,"d":{"heartbeat_interval":41250}})");
    h.permit();
    send(
        R"({"op":0,"s":1,"t":"READY","d":{"session_id":"z","resume_gateway_url":"wss://r.test"}})");
    const std::string big = R"({"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"content":")" +
                            std::string(4000, 'a') + R"("}})";
    send(big);
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
    EXPECT_EQ(h.all<shardgate::test::owned_dispatch>().size(), 2U);
    EXPECT_LT(h.shard.stats().received_bytes, h.shard.stats().payload_bytes)
        << "a repetitive payload compresses";
}

TEST(shard_stats, sent_bytes_is_the_sum_of_every_text_frame_sent) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(10'000); // Identify
    for (int i = 0; i < 3; ++i) {
        ASSERT_FALSE(h.shard.send(h.now, soundboard_request(i)));
    }
    h.drain();
    for (int beat = 0; beat < 3; ++beat) {
        h.advance_to(*h.shard.next_deadline());
        h.ack();
    }
    EXPECT_EQ(h.shard.stats().heartbeats_sent, 3U);
    EXPECT_EQ(h.shard.stats().commands_sent, 3U);
    EXPECT_EQ(h.all<gw::action::send_text>().size(), 7U);
    EXPECT_EQ(h.shard.stats().sent_bytes, sent_text_bytes(h));
    // Through a resume too: the Resume frame counts.
    h.dropped();
    h.advance(60'000ms);
    h.connected();
    h.hello(10'000);
    EXPECT_EQ(h.shard.stats().resume_attempts, 1U);
    EXPECT_EQ(h.shard.stats().resumes, 0U) << "a resume counts once RESUMED arrived";
    EXPECT_EQ(h.shard.stats().sent_bytes, sent_text_bytes(h));
    h.dispatch(9, "RESUMED");
    EXPECT_EQ(h.shard.stats().resumes, 1U);
}

TEST(shard_stats, dispatches_between_resume_and_resumed_are_replayed) {
    shard_harness h;
    h.bring_up();
    h.dispatch(2, "MESSAGE_CREATE");
    EXPECT_EQ(h.shard.stats().replayed, 0U) << "READY and live events are not replays";
    h.dropped();
    h.advance(60'000ms);
    h.connected();
    h.hello();
    ASSERT_EQ(h.shard.state(), gw::shard_state::resuming);
    h.dispatch(3, "MESSAGE_CREATE");
    h.dispatch(4, "MESSAGE_UPDATE");
    h.dispatch(5, "GUILD_CREATE");
    EXPECT_EQ(h.shard.stats().replayed, 3U);
    h.dispatch(6, "RESUMED", "null");
    EXPECT_EQ(h.shard.stats().replayed, 3U) << "RESUMED itself is not a replay";
    h.dispatch(7, "MESSAGE_CREATE");
    EXPECT_EQ(h.shard.stats().replayed, 3U) << "live again";
    EXPECT_EQ(h.shard.stats().dispatches, 7U);
}

TEST(shard_stats, a_command_that_waits_for_the_limiter_counts_once) {
    shard_harness h;
    h.bring_up(41'250); // random 0.5: the first beat is 20.6 s away
    const auto start = h.now;
    int queued = 0;
    // Fill the commands' share of the 120 / 60 s window; the next command has to wait.
    while (h.shard.stats().send_limiter_waits == 0 && queued < 200) {
        ASSERT_FALSE(h.shard.send(h.now, soundboard_request(queued)));
        ++queued;
        h.drain();
    }
    ASSERT_EQ(h.shard.stats().send_limiter_waits, 1U);
    EXPECT_EQ(h.shard.queued_commands(), 1U);
    EXPECT_GT(queued, 100) << "most of the window is the commands'";
    EXPECT_LE(queued, 120);
    EXPECT_EQ(h.shard.stats().commands_sent, static_cast<std::uint64_t>(queued - 1));

    // More flushes while it waits: another send, a heartbeat, wake-ups. Still one wait.
    ASSERT_FALSE(h.shard.send(h.now, soundboard_request(queued)));
    ++queued;
    h.drain();
    EXPECT_EQ(h.shard.queued_commands(), 2U);
    h.advance(30'000ms); // the first heartbeat goes out meanwhile
    EXPECT_EQ(h.shard.stats().heartbeats_sent, 1U);
    h.ack();
    h.shard.on_deadline(h.now);
    h.drain();
    h.advance_to(start + 59'999ms);
    h.shard.on_deadline(h.now);
    h.drain();
    EXPECT_EQ(h.shard.queued_commands(), 2U);
    EXPECT_EQ(h.shard.stats().send_limiter_waits, 1U);

    // The window slides past the first batch: both go, and nothing waited again.
    h.advance_to(start + 60'000ms);
    EXPECT_EQ(h.shard.queued_commands(), 0U);
    EXPECT_EQ(h.shard.stats().commands_sent, static_cast<std::uint64_t>(queued));
    EXPECT_EQ(h.shard.stats().send_limiter_waits, 1U);
}

TEST(shard_stats, commands_within_the_limit_never_count_a_wait) {
    shard_harness h;
    h.bring_up();
    for (int i = 0; i < 50; ++i) {
        ASSERT_FALSE(h.shard.send(h.now, soundboard_request(i)));
    }
    h.drain();
    EXPECT_EQ(h.shard.stats().commands_sent, 50U);
    EXPECT_EQ(h.shard.stats().send_limiter_waits, 0U);
}

TEST(shard, heartbeat_rtt_has_microsecond_precision) {
    shard_harness h;
    h.random = 0.0;
    h.bring_up(10'000);
    EXPECT_FALSE(h.shard.heartbeat_rtt().has_value()) << "no ACK yet";
    h.advance(0ms); // jitter 0: the first beat is due at Hello time
    ASSERT_EQ(h.shard.stats().heartbeats_sent, 1U);
    EXPECT_FALSE(h.shard.heartbeat_rtt().has_value());
    h.advance_to(h.now + 1500us);
    h.ack();
    ASSERT_TRUE(h.shard.heartbeat_rtt().has_value());
    EXPECT_EQ(*h.shard.heartbeat_rtt(), 1500us);
    EXPECT_EQ(h.shard.latency(), 1ms) << "latency() truncates to milliseconds";

    // The next beat replaces it.
    h.advance_to(*h.shard.next_deadline());
    ASSERT_EQ(h.shard.stats().heartbeats_sent, 2U);
    h.advance_to(h.now + 250us);
    h.ack();
    EXPECT_EQ(h.shard.heartbeat_rtt(), 250us);
    EXPECT_EQ(h.shard.latency(), 0ms);
}
