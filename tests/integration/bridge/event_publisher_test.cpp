// bridge::event_publisher against a real nats-server: every (session, seq) once in the stream,
// PubAck positions per shard, and nothing lost or duplicated across a NATS restart mid-publish
// (the publisher waits, retries what was not acknowledged, and the Nats-Msg-Id drops repeats).

#include "shardgate/bridge/event_publisher.hpp"

#include "support/nats_server.hpp"

#include <atomic>
#include <future>
#include <gtest/gtest.h>
#include <nats/nats.h>
#include <thread>

namespace shardgate::test {
namespace {

namespace bridge = shardgate::bridge;
using namespace std::chrono_literals;

/// Messages the stream holds (0 when it cannot be read within 10 s).
std::uint64_t stored_once(const std::string& url, const char* stream) {
    natsConnection* nc = nullptr;
    if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) {
        return 0;
    }
    jsCtx* js = nullptr;
    natsConnection_JetStream(&js, nc, nullptr);
    jsStreamInfo* si = nullptr;
    std::uint64_t n = 0;
    if (js_GetStreamInfo(&si, js, stream, nullptr, nullptr) == NATS_OK) {
        n = si->State.Msgs;
        jsStreamInfo_Destroy(si);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return n;
}

std::uint64_t stored(const std::string& url, const char* stream) {
    // JetStream may still be recovering its store after a restart.
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (const auto n = stored_once(url, stream); n != 0) {
            return n;
        }
        std::this_thread::sleep_for(100ms);
    }
    return 0;
}

std::shared_ptr<bridge::nats_connection> connect(const nats_server& server) {
    bridge::nats_settings s;
    s.urls = {server.url()};
    s.reconnect_wait = 100ms;
    std::error_code ec;
    std::string detail;
    auto c = bridge::nats_connection::open(s, ec, detail);
    EXPECT_TRUE(c) << detail;
    return c;
}

TEST(EventPublisher, EachSessionSeqIsStoredOnceAndAckedInOrder) {
    nats_server server;
    auto connection = connect(server);
    bridge::event_publisher publisher(connection, {});
    std::string detail;
    ASSERT_FALSE(publisher.ensure_stream(5s, detail)) << detail;
    for (std::uint64_t seq = 1; seq <= 500; ++seq) {
        publisher.publish(3, "session-a", seq, "MESSAGE_CREATE", R"({"content":"hi"})");
    }
    // A replay after a resume: the same ids again.
    for (std::uint64_t seq = 400; seq <= 500; ++seq) {
        publisher.publish(3, "session-a", seq, "MESSAGE_CREATE", R"({"content":"hi"})");
    }
    ASSERT_TRUE(publisher.drain(3, 20s));
    const auto acked = publisher.acked(3);
    ASSERT_TRUE(acked);
    EXPECT_EQ(acked->session_id, "session-a");
    EXPECT_EQ(acked->seq, 500U);
    EXPECT_FALSE(publisher.acked(4));
    EXPECT_EQ(stored(server.url(), "SHARDGATE"), 500U);
    const auto stats = publisher.stats();
    EXPECT_EQ(stats.duplicates, 101U);
    EXPECT_EQ(stats.in_flight, 0U);
}

TEST(EventPublisher, ANatsRestartMidPublishLosesAndDuplicatesNothing) {
    nats_server server;
    auto connection = connect(server);
    bridge::publisher_settings settings;
    settings.max_in_flight = 256; // NATS away: memory bound, publish blocks
    settings.ack_timeout = 1'000ms;
    bridge::event_publisher publisher(connection, {}, settings);
    std::string detail;
    ASSERT_FALSE(publisher.ensure_stream(5s, detail)) << detail;
    // Events keep coming, as from a gateway: some are on the wire when the server dies (their
    // PubAcks never come) while, after the restart, later ones are acked; the lost ones must be
    // published again all the same.
    std::atomic<bool> stopped{false};
    std::promise<void> finished;
    std::thread restart([&, done = finished.get_future()] {
        std::this_thread::sleep_for(300ms);
        server.stop();
        stopped = true;
        std::this_thread::sleep_for(1'500ms);
        server.start(); // this thread lives on: the server dies with the thread that forked it
        done.wait();
    });
    std::uint64_t total = 0;
    std::uint64_t max_in_flight = 0;
    const auto until = std::chrono::steady_clock::now() + 4s;
    while (std::chrono::steady_clock::now() < until || !stopped) {
        publisher.publish(0, "session-r", ++total, "TYPING_START", R"({"user_id":"1"})");
        max_in_flight = std::max(max_in_flight, publisher.stats().in_flight);
        if (total % 20 == 0) {
            std::this_thread::sleep_for(1ms);
        }
    }
    const bool drained = publisher.drain(0, 10s); // a few ack_timeouts

    const auto in_stream = stored(server.url(), "SHARDGATE");
    finished.set_value();
    restart.join();
    ASSERT_TRUE(drained) << publisher.pending(0) << " still pending; retried "
                         << publisher.stats().retried;
    EXPECT_LE(max_in_flight, settings.max_in_flight) << "memory not bounded while NATS was away";
    EXPECT_EQ(publisher.acked(0)->seq, total);
    EXPECT_EQ(in_stream, total) << "published " << total;
    EXPECT_GT(publisher.stats().blocked_ns, 0U) << "publish never waited while NATS was away";
}

TEST(EventPublisher, AWaitingGateHoldsTheEventAndAClosedOneDropsIt) {
    nats_server server;
    auto connection = connect(server);
    std::atomic<bridge::publish_gate> gate{bridge::publish_gate::open};
    bridge::event_publisher publisher(connection, {}, {}, [&] { return gate.load(); });
    std::string detail;
    ASSERT_FALSE(publisher.ensure_stream(5s, detail)) << detail;
    EXPECT_EQ(publisher.publish(1, "s", 1, "READY", "{}"), bridge::publish_result::published);
    ASSERT_TRUE(publisher.drain(1, 10s));

    // The lease is overdue: the event waits (its shard stops reading) instead of being dropped.
    gate = bridge::publish_gate::wait;
    std::atomic<bool> returned{false};
    std::thread shard([&] {
        EXPECT_EQ(publisher.publish(1, "s", 2, "MESSAGE_CREATE", "{}"),
                  bridge::publish_result::published);
        returned = true;
    });
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(returned) << "publish went on while the gate said wait";
    gate = bridge::publish_gate::open; // renewed
    shard.join();
    ASSERT_TRUE(publisher.drain(1, 10s));
    EXPECT_EQ(publisher.acked(1)->seq, 2U);

    // The shards were fenced away: dropped, and never counted as stored.
    gate = bridge::publish_gate::closed;
    EXPECT_EQ(publisher.publish(1, "s", 3, "MESSAGE_CREATE", "{}"), bridge::publish_result::fenced);
    EXPECT_EQ(publisher.acked(1)->seq, 2U) << "a dropped event must not count as stored";
    EXPECT_EQ(stored(server.url(), "SHARDGATE"), 2U);
}

} // namespace
} // namespace shardgate::test
