#include "shardgate/emulator/world.hpp"

#include "support/emulator_harness.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <string>

namespace shardgate::test {
namespace {

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
    return doc;
}

std::uint64_t uint_at(simdjson::dom::element e) {
    std::uint64_t v = 0;
    EXPECT_EQ(e.get_uint64().get(v), simdjson::SUCCESS);
    return v;
}

TEST(emulator_world, gateway_json_has_the_url) {
    emulator_harness h;
    EXPECT_EQ(h.world.gateway_json(), R"({"url":"ws://emulator.test"})");
    h.world.set_public_ws_url("ws://127.0.0.1:4567");
    EXPECT_EQ(h.world.gateway_json(), R"({"url":"ws://127.0.0.1:4567"})");
}

TEST(emulator_world, gateway_bot_json_has_the_session_start_limit) {
    auto config = emulator_test_config();
    config.recommended_shards = 4;
    config.max_concurrency = 2;
    config.session_start_total = 50;
    config.session_start_reset_after = 60'000ms;
    emulator_harness h(config);
    h.now += 10s;
    simdjson::dom::parser parser;
    auto doc = parse(parser, h.world.gateway_bot_json(h.now));
    std::string_view url;
    ASSERT_EQ(doc["url"].get_string().get(url), simdjson::SUCCESS);
    EXPECT_EQ(url, "ws://emulator.test");
    EXPECT_EQ(uint_at(doc["shards"]), 4U);
    auto limit = doc["session_start_limit"];
    EXPECT_EQ(uint_at(limit["total"]), 50U);
    EXPECT_EQ(uint_at(limit["remaining"]), 50U);
    EXPECT_EQ(uint_at(limit["reset_after"]), 50'000U);
    EXPECT_EQ(uint_at(limit["max_concurrency"]), 2U);
}

TEST(emulator_world, budget_refills_after_the_reset_period) {
    auto config = emulator_test_config();
    config.session_start_total = 5;
    config.session_start_reset_after = 60'000ms;
    emulator_harness h(config);
    auto& c = h.connect();
    h.identify(c);
    simdjson::dom::parser parser;
    EXPECT_EQ(
        uint_at(parse(parser, h.world.gateway_bot_json(h.now))["session_start_limit"]["remaining"]),
        4U);
    c.conn->on_client_close(h.now, 1000);
    h.advance(60s);
    auto doc = parse(parser, h.world.gateway_bot_json(h.now));
    EXPECT_EQ(uint_at(doc["session_start_limit"]["remaining"]), 5U);
    EXPECT_EQ(uint_at(doc["session_start_limit"]["reset_after"]), 60'000U);
}

TEST(emulator_world, token_check) {
    emulator_harness h;
    EXPECT_TRUE(h.world.token_accepted("good-token-SECRET"));
    EXPECT_FALSE(h.world.token_accepted("bad"));
    EXPECT_FALSE(h.world.token_accepted(""));
    auto config = emulator_test_config();
    config.tokens.clear();
    emulator_harness any(config);
    EXPECT_TRUE(any.world.token_accepted("whatever"));
    EXPECT_FALSE(any.world.token_accepted(""));
}

TEST(emulator_world, detached_sessions_expire_through_on_deadline) {
    auto config = emulator_test_config();
    config.session_ttl = 30s;
    emulator_harness h(config);
    auto& c = h.connect();
    h.identify(c);
    const auto session = emulator_harness::session_id_of(c);
    EXPECT_EQ(h.world.next_deadline(), h.now + config.session_start_reset_after); // attached
    c.conn->on_transport_lost(h.now);
    EXPECT_EQ(h.world.next_deadline(), h.now + 30s);
    h.world.on_deadline(h.now + 29'999ms);
    simdjson::dom::parser parser;
    EXPECT_EQ(uint_at(parse(parser, h.world.stats_json())["sessions"]), 1U);
    h.world.on_deadline(h.now + 30s);
    EXPECT_EQ(uint_at(parse(parser, h.world.stats_json())["sessions"]), 0U);
    EXPECT_NE(h.world.log_json().find(R"("event":"session_expired")"), std::string::npos);
    h.now += 30s;
    auto& again = h.connect();
    h.text(again, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(again.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})");
}

TEST(emulator_world, detached_sessions_keep_receiving_traffic) {
    auto config = emulator_test_config();
    config.traffic_per_second = 10;
    config.session_ttl = 60s;
    emulator_harness h(config);
    auto& c = h.connect();
    h.identify(c);
    const auto session = emulator_harness::session_id_of(c);
    const auto seen = c.dispatches().back().s.value();
    c.conn->on_transport_lost(h.now);
    h.advance(1s); // the world generates 10 events into the replay buffer
    auto& again = h.connect();
    h.text(again, emulator_harness::resume_frame(session, seen));
    const auto d = again.dispatches();
    ASSERT_EQ(d.size(), 11U);
    for (std::size_t i = 0; i < d.size(); ++i) {
        EXPECT_EQ(d[i].s, seen + 1 + i);
    }
    EXPECT_EQ(d.back().t, "RESUMED");
}

TEST(emulator_world, dispatch_to_detached_sessions_is_replayed_on_resume) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c);
    const auto session = emulator_harness::session_id_of(c);
    const auto seen = c.dispatches().back().s.value();
    EXPECT_EQ(h.world.dispatch_to_detached(h.now, 0, "MESSAGE_CREATE", R"({"id":"1"})"), 0U)
        << "the session is still attached";
    c.conn->on_transport_lost(h.now);
    EXPECT_EQ(h.world.dispatch_to_detached(h.now, 1, "MESSAGE_CREATE", R"({"id":"1"})"), 0U)
        << "no session on shard 1";
    EXPECT_EQ(h.world.dispatch_to_detached(h.now, 0, "MESSAGE_CREATE", R"({"id":"missed"})"), 1U);
    auto& again = h.connect();
    h.text(again, emulator_harness::resume_frame(session, seen));
    const auto d = again.dispatches();
    ASSERT_EQ(d.size(), 2U);
    EXPECT_EQ(d[0].t, "MESSAGE_CREATE");
    EXPECT_EQ(d[0].s, seen + 1);
    EXPECT_NE(again.frames[again.frames.size() - 2].text.find(R"("id":"missed")"),
              std::string::npos);
    EXPECT_EQ(d[1].t, "RESUMED");
}

// A soak of 64 shards at 20 events/s grew ~1.2 MiB/s: each replay buffer kept 10,000 frames of
// ~1 KB. The buffer is bounded by bytes (1 MiB by default) as well as by events.
TEST(emulator_world, the_replay_buffer_stays_within_its_byte_bound) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c);
    const auto session = emulator_harness::session_id_of(c);
    const auto seen = c.dispatches().back().s.value();
    c.conn->on_transport_lost(h.now);
    const std::string d = R"({"content":")" + std::string(1'000, 'x') + R"("})";
    for (int i = 0; i < 6'000; ++i) { // ~6 MB of frames, past the 4 MiB bound
        ASSERT_EQ(h.world.dispatch_to_detached(h.now, 0, "MESSAGE_CREATE", d), 1U);
    }
    // Far fewer than 6,000 frames are kept: the oldest are gone, the Resume from before them gets
    // 4007 (as past Discord's replay window)...
    auto& late = h.connect();
    h.text(late, emulator_harness::resume_frame(session, seen));
    EXPECT_EQ(late.close_code(), 4007);
    // ... and the last 500 (~0.5 MB) are still there.
    auto& recent = h.connect();
    h.text(recent, emulator_harness::resume_frame(session, seen + 6'000 - 500));
    EXPECT_EQ(recent.close_code(), 0);
    EXPECT_EQ(recent.dispatches().size(), 501U);
}

TEST(emulator_world, replay_bytes_count_the_frames_kept_and_stay_at_the_bound) {
    auto config = emulator_test_config();
    config.replay_buffer_bytes = 64 * 1024;
    config.traffic_per_second = 1'000;
    config.max_concurrency = 2;
    emulator_harness h(config);
    auto& a = h.connect();
    h.identify(a, gw::shard_id{0, 2});
    auto& b = h.connect();
    h.identify(b, gw::shard_id{1, 2});
    EXPECT_GT(h.world.replay_bytes(), 0U);
    for (int second = 0; second < 10; ++second) { // 10,000 events per session, ~1 KB each
        h.advance(1s);
        h.heartbeat(a);
        h.heartbeat(b);
        EXPECT_LE(h.world.replay_bytes(), 2 * config.replay_buffer_bytes);
    }
    EXPECT_GT(h.world.replay_bytes(), config.replay_buffer_bytes) << "both buffers are full";
    a.conn->on_transport_lost(h.now);
    b.conn->on_client_close(h.now, 1000); // destroys its session and its buffer
    EXPECT_LE(h.world.replay_bytes(), config.replay_buffer_bytes);
}

// Identify claims any shard id below its `n`, even with a bad token: the per-shard counters are
// bounded by a number of shard ids, past which claims are counted as "unidentified".
TEST(emulator_world, per_shard_counters_are_bounded_by_max_tracked_shards) {
    auto config = emulator_test_config();
    config.max_tracked_shards = 4;
    emulator_harness h(config);
    for (std::uint32_t i = 0; i < 10; ++i) {
        auto& c = h.connect();
        h.text(c, emulator_harness::identify_frame("bad-token", gw::shard_id{i, 100}));
        EXPECT_EQ(c.close_code(), 4004);
    }
    const auto stats = h.world.stats();
    EXPECT_EQ(stats.shards.size(), 4U);
    EXPECT_EQ(stats.totals.violations.at(4004), 10U) << "none is lost";
    EXPECT_EQ(stats.unidentified.violations.at(4004), 6U);
}

TEST(emulator_world, stats_json_has_the_documented_keys) {
    emulator_harness h;
    auto& c = h.connect();
    h.heartbeat(c);
    h.identify(c);
    c.conn->inject_close(h.now, 4000);
    h.drain(c);
    auto& d = h.connect();
    h.text(d, R"({"op":3,"d":{}})");
    simdjson::dom::parser parser;
    auto doc = parse(parser, h.world.stats_json());
    auto shard = doc["shards"]["0"];
    EXPECT_EQ(uint_at(shard["identifies"]), 1U);
    EXPECT_EQ(uint_at(shard["resumes"]), 0U);
    EXPECT_EQ(uint_at(shard["last_seq"]), c.dispatches().back().s.value());
    EXPECT_EQ(uint_at(shard["close_codes_sent"]["4000"]), 1U);
    EXPECT_EQ(uint_at(shard["connections"]), 1U);
    EXPECT_EQ(uint_at(shard["replayed"]), 0U);
    simdjson::dom::object violations;
    EXPECT_EQ(shard["violations"].get_object().get(violations), simdjson::SUCCESS);
    auto unidentified = doc["unidentified"];
    EXPECT_EQ(uint_at(unidentified["heartbeats"]), 1U);
    EXPECT_EQ(uint_at(unidentified["violations"]["4003"]), 1U);
    EXPECT_EQ(uint_at(unidentified["connections"]), 1U);
    auto totals = doc["totals"];
    EXPECT_EQ(uint_at(totals["connections"]), 2U);
    EXPECT_EQ(uint_at(totals["identifies"]), 1U);
    EXPECT_EQ(uint_at(totals["close_codes_sent"]["4003"]), 1U);
    EXPECT_EQ(uint_at(doc["sessions"]), 1U); // detached, not destroyed
    bool reset = true;
    EXPECT_EQ(doc["token_reset"].get_bool().get(reset), simdjson::SUCCESS);
    EXPECT_FALSE(reset);
}

TEST(emulator_world, log_json_records_client_actions_and_server_reactions) {
    emulator_harness h;
    h.now += 1'234ms;
    auto& c = h.connect("v=10&encoding=json&compress=zlib-stream");
    h.heartbeat(c);
    h.identify(c, gw::shard_id{0, 1}, 513);
    h.text(c, R"({"op":31,"d":{"guild_ids":[")" + std::to_string(h.world.content().guilds()[0].id) +
                  R"("]}})");
    c.conn->inject_reconnect(h.now);
    c.conn->on_client_close(h.now, 4900);
    simdjson::dom::parser parser;
    auto doc = parse(parser, h.world.log_json());
    simdjson::dom::array entries;
    ASSERT_EQ(doc.get_array().get(entries), simdjson::SUCCESS);
    std::vector<std::string> events;
    for (auto e : entries) {
        std::string_view name;
        ASSERT_EQ(e["event"].get_string().get(name), simdjson::SUCCESS);
        events.emplace_back(name);
        std::uint64_t t = 0;
        EXPECT_EQ(e["t_ms"].get_uint64().get(t), simdjson::SUCCESS);
        EXPECT_EQ(t, 1'234U);
        EXPECT_EQ(uint_at(e["connection"]), 1U);
        if (name == "connect") {
            std::string_view query;
            ASSERT_EQ(e["query"].get_string().get(query), simdjson::SUCCESS);
            EXPECT_EQ(query, "v=10&encoding=json&compress=zlib-stream");
            EXPECT_TRUE(e["shard"].is_null());
        } else if (name == "identify") {
            EXPECT_EQ(uint_at(e["shard"]), 0U);
            EXPECT_EQ(uint_at(e["intents"]), 513U);
        } else if (name == "command") {
            EXPECT_EQ(uint_at(e["op"]), 31U);
        } else if (name == "client_close") {
            EXPECT_EQ(uint_at(e["code"]), 4900U);
        }
    }
    const std::vector<std::string> expected{"connect",  "hello",          "heartbeat",
                                            "identify", "ready",          "command",
                                            "fault",    "reconnect_sent", "client_close"};
    EXPECT_EQ(events, expected);
}

TEST(emulator_world, log_is_bounded) {
    auto config = emulator_test_config();
    config.heartbeat_interval = 10'000'000ms;
    emulator_harness h(config);
    auto& c = h.connect();
    for (std::size_t i = 0; i < emu::world::max_log_entries; ++i) {
        c.conn->inject_zombie(h.now); // one log line each, no output
    }
    simdjson::dom::parser parser;
    auto doc = parse(parser, h.world.log_json());
    simdjson::dom::array entries;
    ASSERT_EQ(doc.get_array().get(entries), simdjson::SUCCESS);
    EXPECT_EQ(entries.size(), emu::world::max_log_entries);
    EXPECT_EQ(uint_at(parse(parser, h.world.stats_json())["log_dropped"]), 2U);
}

TEST(emulator_world, a_huge_query_string_is_logged_cut_short) {
    emulator_harness h;
    const std::string query = "v=10&encoding=json&junk=" + std::string(1U << 20U, 'x');
    for (int i = 0; i < 64; ++i) {
        h.connect(query);
    }
    const auto* first = std::get_if<emu::log_event::connect>(&h.world.log().front().details);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->query,
              query.substr(0, 256) + "...[" + std::to_string(query.size()) + " bytes]");
    // 64 MiB of query strings sent; the log keeps a few hundred bytes of each.
    EXPECT_LT(h.world.log_json().size(), 64U * 1024U);
}

TEST(emulator_world, a_long_string_is_cut_at_a_character_boundary) {
    emulator_harness h;
    // 255 ASCII bytes, then two-byte characters: the cut at 256 would split the first one.
    std::string two_byte;
    for (int i = 0; i < 50; ++i) {
        two_byte += "\xC3\xA9"; // é
    }
    h.connect(std::string(255, 'a') + two_byte);
    const auto* entry = std::get_if<emu::log_event::connect>(&h.world.log().front().details);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->query, std::string(255, 'a') + "...[355 bytes]");
}

TEST(emulator_world, log_is_bounded_by_bytes) {
    auto config = emulator_test_config();
    config.log_byte_budget = 16 * 1024;
    emulator_harness h(config);
    const std::string query = "v=10&encoding=json&junk=" + std::string(200, 'x');
    for (int i = 0; i < 500; ++i) {
        h.connect(query);
        EXPECT_LE(h.world.log_bytes(), config.log_byte_budget);
    }
    EXPECT_GT(h.world.stats().log_dropped, 0U);
    EXPECT_LT(h.world.log().size(), 1000U); // 500 connects and 500 hellos were logged
    // The newest entries are the ones kept.
    EXPECT_TRUE(std::holds_alternative<emu::log_event::hello>(h.world.log().back().details));
}

} // namespace
} // namespace shardgate::test
