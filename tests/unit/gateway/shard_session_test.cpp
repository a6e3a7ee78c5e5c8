// The session out and in (resumable_session, shard_config::resume), the two ways to close, and the
// one disconnect decision (closed_by, disconnect_cause, reaction_to).
#include "shardgate/gateway/shard.hpp"
#include "support/shard_harness.hpp"

#include <gtest/gtest.h>

namespace gw = shardgate::gateway;
using gw::disconnect_cause;
using gw::lifecycle_kind;
using shardgate::test::shard_harness;

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

gw::lifecycle_event last_closed(const shard_harness& h) {
    const auto closed = h.lifecycle_since(0, lifecycle_kind::closed);
    EXPECT_FALSE(closed.empty());
    return closed.empty() ? gw::lifecycle_event{} : closed.back();
}

// --- Session state out

TEST(shard_session, is_reported_from_ready_with_every_sequence) {
    shard_harness h;
    EXPECT_FALSE(h.shard.resumable_session());
    h.bring_up();
    EXPECT_EQ(h.shard.resumable_session(),
              (gw::session_state{"session-1", "wss://resume.test", 1}));
    h.dispatch(2, "MESSAGE_CREATE");
    h.dispatch(3, "MESSAGE_CREATE");
    EXPECT_EQ(h.shard.resumable_session()->seq, 3U);
}

TEST(shard_session, ends_with_a_session_ending_close) {
    shard_harness h;
    h.bring_up();
    h.closed(4009);
    EXPECT_FALSE(h.shard.resumable_session());
}

// --- Closing: end the session or keep it

TEST(shard_session, close_ends_the_session_with_1000) {
    shard_harness h;
    h.bring_up();
    const auto from = h.mark();
    h.shard.close(h.now);
    h.drain();
    const auto closes = h.since<gw::action::send_close>(from);
    ASSERT_EQ(closes.size(), 1U);
    EXPECT_EQ(closes[0].code, 1000);
    h.closed(1000);
    EXPECT_EQ(h.shard.state(), gw::shard_state::stopped);
    EXPECT_FALSE(h.shard.resumable_session());
}

TEST(shard_session, close_keep_session_closes_with_4900_and_keeps_session_and_sequence) {
    shard_harness h;
    h.bring_up();
    h.dispatch(7, "MESSAGE_CREATE");
    const auto from = h.mark();
    h.shard.close(h.now, gw::close_mode::keep_session);
    h.drain();
    const auto closes = h.since<gw::action::send_close>(from);
    ASSERT_EQ(closes.size(), 1U);
    EXPECT_EQ(closes[0].code, gw::close_code_reconnect);
    h.closed(gw::close_code_reconnect);
    EXPECT_EQ(h.shard.state(), gw::shard_state::stopped);
    EXPECT_EQ(h.shard.resumable_session(),
              (gw::session_state{"session-1", "wss://resume.test", 7}));
    EXPECT_TRUE(h.since<gw::action::connect>(from).empty()) << "a stopped shard does not reconnect";
}

TEST(shard_session, close_keep_session_while_disconnected_keeps_it_too) {
    shard_harness h;
    h.bring_up();
    h.dropped();
    ASSERT_EQ(h.shard.state(), gw::shard_state::disconnected);
    h.shard.close(h.now, gw::close_mode::keep_session);
    h.drain();
    EXPECT_EQ(h.shard.state(), gw::shard_state::stopped);
    EXPECT_TRUE(h.shard.resumable_session());
}

// --- Session state in

TEST(shard_session, a_saved_session_is_resumed_at_its_url_without_an_identify) {
    auto config = shardgate::test::test_config();
    config.resume = gw::session_state{"saved-session", "wss://resume.saved", 41};
    shard_harness h(config);
    h.start();
    const auto connects = h.all<gw::action::connect>();
    ASSERT_EQ(connects.size(), 1U);
    EXPECT_TRUE(connects[0].url.starts_with("wss://resume.saved/?v=10")) << connects[0].url;
    h.connected();
    h.hello();
    EXPECT_TRUE(h.all<gw::action::request_identify>().empty());
    const auto sent = h.sent_since(0);
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_TRUE(contains(sent[0], R"("op":6)")) << sent[0];
    EXPECT_TRUE(contains(sent[0], R"("session_id":"saved-session")")) << sent[0];
    EXPECT_TRUE(contains(sent[0], R"("seq":41)")) << sent[0];
    h.dispatch(42, "MESSAGE_CREATE");
    h.dispatch(43, "RESUMED");
    EXPECT_EQ(h.shard.state(), gw::shard_state::active);
    EXPECT_EQ(h.shard.stats().identifies, 0U);
    EXPECT_EQ(h.shard.resumable_session()->seq, 43U);
}

TEST(shard_session, a_saved_session_the_gateway_forgot_ends_in_a_fresh_identify) {
    auto config = shardgate::test::test_config();
    config.resume = gw::session_state{"stale", "wss://resume.saved", 9};
    shard_harness h(config);
    h.start();
    h.connected();
    h.hello();
    h.text(R"({"op":9,"d":false})");
    h.closed(1000);
    EXPECT_FALSE(h.shard.resumable_session());
    h.advance(std::chrono::seconds(6));
    const auto connects = h.all<gw::action::connect>();
    ASSERT_EQ(connects.size(), 2U);
    EXPECT_TRUE(connects[1].url.starts_with("wss://gateway.test/")) << connects[1].url;
    h.connected();
    h.hello();
    EXPECT_EQ(h.all<gw::action::request_identify>().size(), 1U);
}

// --- The closed event says who closed and why

TEST(shard_disconnect, a_gateway_close_is_by_the_gateway_and_its_code_decides) {
    shard_harness h;
    h.bring_up();
    h.closed(4000);
    const auto e = last_closed(h);
    EXPECT_EQ(e.by, gw::closed_by::gateway);
    EXPECT_EQ(e.cause, disconnect_cause::gateway_close);
    EXPECT_EQ(e.code, 4000);
    EXPECT_EQ(e.reaction, gw::close_reaction::resume);
}

TEST(shard_disconnect, a_drop_is_by_the_transport_with_1006) {
    shard_harness h;
    h.bring_up();
    h.dropped();
    const auto e = last_closed(h);
    EXPECT_EQ(e.by, gw::closed_by::transport);
    EXPECT_EQ(e.cause, disconnect_cause::connection_lost);
    EXPECT_EQ(e.code, 1006);
    EXPECT_EQ(e.reaction, gw::close_reaction::resume);
}

TEST(shard_disconnect, op7_is_closed_by_the_shard_for_reconnect_requested) {
    shard_harness h;
    h.bring_up();
    h.text(R"({"op":7,"d":null})");
    h.closed(gw::close_code_reconnect);
    const auto e = last_closed(h);
    EXPECT_EQ(e.by, gw::closed_by::shard);
    EXPECT_EQ(e.cause, disconnect_cause::reconnect_requested);
    EXPECT_EQ(e.reaction, gw::close_reaction::resume);
}

TEST(shard_disconnect, a_zombie_is_closed_by_the_shard_for_zombie) {
    shard_harness h;
    h.bring_up(1000);
    h.advance(std::chrono::seconds(3)); // a beat, no ACK, the next beat finds it
    h.closed(gw::close_code_reconnect);
    const auto e = last_closed(h);
    EXPECT_EQ(e.by, gw::closed_by::shard);
    EXPECT_EQ(e.cause, disconnect_cause::zombie);
}

TEST(shard_disconnect, op9_false_is_closed_by_the_shard_and_reidentifies) {
    shard_harness h;
    h.bring_up();
    h.text(R"({"op":9,"d":false})");
    h.closed(1000);
    const auto e = last_closed(h);
    EXPECT_EQ(e.by, gw::closed_by::shard);
    EXPECT_EQ(e.cause, disconnect_cause::invalid_session);
    EXPECT_EQ(e.reaction, gw::close_reaction::reidentify);
}

TEST(shard_disconnect, a_gateway_code_crossing_op9_false_cannot_keep_the_session) {
    shard_harness h;
    h.bring_up();
    h.text(R"({"op":9,"d":false})");
    h.closed(4000); // the gateway's resumable close crossed our 1000
    const auto e = last_closed(h);
    EXPECT_EQ(e.cause, disconnect_cause::invalid_session);
    EXPECT_EQ(e.reaction, gw::close_reaction::reidentify);
    EXPECT_FALSE(h.shard.resumable_session());
}

TEST(shard_disconnect, a_fatal_gateway_code_crossing_our_close_wins) {
    shard_harness h;
    h.bring_up();
    h.text(R"({"op":7,"d":null})");
    h.closed(4004);
    const auto e = last_closed(h);
    EXPECT_EQ(e.by, gw::closed_by::gateway);
    EXPECT_EQ(e.code, 4004);
    EXPECT_EQ(e.reaction, gw::close_reaction::fatal);
    EXPECT_EQ(h.shard.state(), gw::shard_state::fatally_closed);
}

TEST(reaction_to, the_shards_own_causes_keep_the_session_but_op9_false_and_shutdown) {
    for (auto cause : {disconnect_cause::connection_lost, disconnect_cause::hello_timeout,
                       disconnect_cause::zombie, disconnect_cause::reconnect_requested,
                       disconnect_cause::invalid_session_resumable,
                       disconnect_cause::protocol_error, disconnect_cause::handover}) {
        EXPECT_EQ(gw::reaction_to(cause, 4900), gw::close_reaction::resume) << gw::to_string(cause);
    }
    EXPECT_EQ(gw::reaction_to(disconnect_cause::invalid_session, 1000),
              gw::close_reaction::reidentify);
    EXPECT_EQ(gw::reaction_to(disconnect_cause::shutdown, 1000), gw::close_reaction::reidentify);
}

TEST(reaction_to, a_gateway_close_follows_the_close_code_table) {
    for (const auto& row : gw::all_close_policies()) {
        EXPECT_EQ(gw::reaction_to(disconnect_cause::gateway_close, row.code), row.reaction)
            << row.code;
    }
}

} // namespace
