#include "shardgate/emulator/connection.hpp"

#include "shardgate/gateway/intents.hpp"
#include "support/emulator_harness.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <string>

namespace shardgate::test {
namespace {

constexpr std::uint64_t guilds_intent = 1;
constexpr std::uint64_t members_intent = 2;
constexpr std::uint64_t messages_intent = 512;

// A connection that identified as shard [0, 1] and received READY.
struct identified {
    emulator_harness h;
    client_end* c = nullptr;
    explicit identified(emu::emulator_config config = emulator_test_config(),
                        std::string_view query = "v=10&encoding=json")
        : h(std::move(config)) {
        c = &h.connect(query);
        h.identify(*c);
    }
};

std::size_t guild_count(const emulator_harness& h, std::uint32_t shard, std::uint32_t n) {
    return h.world.content().guilds_for_shard(shard, n).size();
}

// Hello, version and encoding
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, sends_hello_first) {
    emulator_harness h;
    auto& c = h.connect();
    ASSERT_EQ(c.frames.size(), 1U);
    EXPECT_EQ(c.frames[0].text, R"({"op":10,"d":{"heartbeat_interval":1000},"s":null,"t":null})");
    EXPECT_TRUE(c.conn->open());
    EXPECT_FALSE(c.conn->shard_id());
}

TEST(emulator_connection, parses_the_query_string) {
    auto p = emu::parse_connect_query("v=9&encoding=json&compress=zstd-stream&other=1");
    EXPECT_EQ(p.version, 9);
    EXPECT_EQ(p.encoding, "json");
    EXPECT_EQ(p.compress, gw::compression::zstd_stream);
    EXPECT_EQ(emu::parse_connect_query("").version, 10);
    EXPECT_EQ(emu::parse_connect_query("v=x").version, -1);
    EXPECT_EQ(emu::parse_connect_query("?compress=zlib-stream").compress,
              gw::compression::zlib_stream);
}

TEST(emulator_connection, bad_version_closes_4012_without_hello) {
    for (const char* query : {"v=8&encoding=json", "v=11", "v=abc"}) {
        emulator_harness h;
        auto& c = h.connect(query);
        EXPECT_TRUE(c.frames.empty()) << query;
        EXPECT_EQ(c.close_code(), 4012) << query;
        EXPECT_FALSE(c.conn->open());
        EXPECT_FALSE(c.conn->next_deadline());
    }
    emulator_harness h;
    EXPECT_EQ(h.connect("v=9").close_code(), 0); // v9 is still available
}

TEST(emulator_connection, etf_is_not_emulated_and_closes_4002) {
    emulator_harness h;
    auto& c = h.connect("v=10&encoding=etf");
    EXPECT_EQ(c.close_code(), 4002);
    EXPECT_EQ(c.closed->reason, "etf is not emulated");
}

// Heartbeats
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, acks_every_heartbeat) {
    emulator_harness h;
    auto& c = h.connect();
    h.heartbeat(c);
    h.heartbeat(c, 5);
    ASSERT_EQ(c.frames.size(), 3U);
    EXPECT_EQ(c.frames[1].text, R"({"op":11,"d":null,"s":null,"t":null})");
    EXPECT_EQ(c.frames[2].text, R"({"op":11,"d":null,"s":null,"t":null})");
}

TEST(emulator_connection, heartbeat_timeout_closes_4009_and_destroys_the_session) {
    identified t;
    auto& h = t.h;
    const auto session = emulator_harness::session_id_of(*t.c);
    h.advance(1'499ms); // interval 1000 + grace 500 after Hello
    EXPECT_TRUE(t.c->conn->open());
    h.advance(1ms);
    EXPECT_EQ(t.c->close_code(), 4009);
    auto& again = h.connect();
    h.text(again, emulator_harness::resume_frame(session, 1));
    ASSERT_EQ(again.frames.size(), 2U);
    EXPECT_EQ(again.frames[1].text, R"({"op":9,"d":false,"s":null,"t":null})");
}

TEST(emulator_connection, each_heartbeat_extends_the_deadline) {
    emulator_harness h;
    auto& c = h.connect();
    for (int i = 0; i < 5; ++i) {
        h.advance(1'400ms);
        h.heartbeat(c);
    }
    h.advance(1'400ms);
    EXPECT_TRUE(c.conn->open());
    h.advance(200ms);
    EXPECT_EQ(c.close_code(), 4009);
}

TEST(emulator_connection, malformed_heartbeat_closes_4001) {
    emulator_harness h;
    auto& c = h.connect();
    h.text(c, R"({"op":1,"d":"7"})");
    EXPECT_EQ(c.close_code(), 4001);
}

// Decode errors (4002)
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, frame_over_4096_bytes_closes_4002) {
    emulator_harness h;
    auto& ok = h.connect();
    std::string exact = R"({"op":1,"d":null,"pad":")";
    exact += std::string(4096 - exact.size() - 2, 'x') + "\"}";
    ASSERT_EQ(exact.size(), 4096U);
    h.text(ok, exact);
    EXPECT_EQ(ok.close_code(), 0);
    auto& big = h.connect();
    std::string over = R"({"op":1,"d":null,"pad":")";
    over += std::string(4097 - over.size() - 2, 'x') + "\"}";
    h.text(big, over);
    EXPECT_EQ(big.close_code(), 4002);
}

TEST(emulator_connection, invalid_json_closes_4002) {
    for (const char* bad : {R"({"op":1,)", R"({"op":1}x)", R"({"op":1,"x":tru})", "[1]", "1",
                            R"({"op":1,"x":"\u12"})", ""}) {
        emulator_harness h;
        auto& c = h.connect();
        h.text(c, bad);
        EXPECT_EQ(c.close_code(), 4002) << bad;
    }
}

TEST(emulator_connection, binary_frame_closes_4002) {
    emulator_harness h;
    auto& c = h.connect();
    const std::array<std::byte, 2> bytes{std::byte{0x78}, std::byte{0x9c}};
    c.conn->on_binary(h.now, bytes);
    h.drain(c);
    EXPECT_EQ(c.close_code(), 4002);
}

// Unknown opcodes and malformed payloads (4001)
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, unknown_opcode_closes_4001) {
    for (const char* bad :
         {R"({"op":5,"d":null})", R"({"op":99})", R"({"op":11})", R"({"op":10,"d":{}})",
          R"({"d":null})", R"({"op":"1"})", R"({"op":1.5})"}) {
        emulator_harness h;
        auto& c = h.connect();
        h.text(c, bad);
        EXPECT_EQ(c.close_code(), 4001) << bad;
    }
}

TEST(emulator_connection, malformed_identify_closes_4001) {
    for (
        const char* bad : {
            R"({"op":2,"d":{"properties":{},"intents":1}})",                 // no token
            R"({"op":2,"d":{"token":"good-token-SECRET","intents":1}})",     // no properties
            R"({"op":2,"d":{"token":"good-token-SECRET","properties":{}}})", // no intents
            R"({"op":2,"d":{"token":"good-token-SECRET","properties":{},"intents":"1"}})",
            R"({"op":2,"d":{"token":5,"properties":{},"intents":1}})",
            R"({"op":2,"d":{"token":"good-token-SECRET","properties":[],"intents":1}})",
            R"({"op":2,"d":{"token":"good-token-SECRET","properties":{},"intents":-1}})",
            R"({"op":2,"d":{"token":"good-token-SECRET","properties":{},"intents":1,"large_threshold":10}})",
            R"({"op":2,"d":{"token":"good-token-SECRET","properties":{},"intents":1,"presence":{"status":"busy","activities":[]}}})",
            R"({"op":2,"d":null})",
        }) {
        emulator_harness h;
        auto& c = h.connect();
        h.text(c, bad);
        EXPECT_EQ(c.close_code(), 4001) << bad;
    }
}

TEST(emulator_connection, identify_ignores_unknown_keys_and_accepts_a_presence) {
    emulator_harness h;
    auto& c = h.connect();
    h.text(
        c,
        R"({"op":2,"d":{"token":"good-token-SECRET","properties":{"$os":"x"},"intents":1,)"
        R"("capabilities":32768,"compress":false,"large_threshold":250,)"
        R"("presence":{"since":null,"activities":[{"name":"x","type":4,"state":"hi"}],"status":"dnd","afk":false}}})");
    EXPECT_EQ(c.close_code(), 0);
    EXPECT_EQ(c.dispatches("READY").size(), 1U);
    EXPECT_EQ(c.conn->shard_id(), 0U); // no `shard`: shard 0 of 1
}

// Authentication (4003, 4004, 4005)
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, command_before_identify_closes_4003) {
    emulator_harness h;
    auto& c = h.connect();
    h.heartbeat(c); // heartbeats are allowed before identifying
    h.text(c, R"({"op":3,"d":{"since":null,"activities":[],"status":"online","afk":false}})");
    EXPECT_EQ(c.close_code(), 4003);
}

TEST(emulator_connection, bad_token_closes_4004) {
    for (const char* token : {"wrong", ""}) {
        emulator_harness h;
        auto& c = h.connect();
        h.text(c, R"({"op":2,"d":{"token":")" + std::string(token) +
                      R"(","properties":{},"intents":1}})");
        EXPECT_EQ(c.close_code(), 4004) << token;
    }
}

TEST(emulator_connection, token_with_the_bot_prefix_is_accepted) {
    // Discord takes "Bot <token>" in Identify as well as the bare token; Discordeno sends the
    // prefix.
    emulator_harness h;
    auto& c = h.connect();
    h.text(c, emulator_harness::identify_frame("Bot good-token-SECRET"));
    EXPECT_EQ(c.dispatches("READY").size(), 1U);
    auto& other = h.connect();
    h.text(other, emulator_harness::identify_frame("Bot wrong"));
    EXPECT_EQ(other.close_code(), 4004);
}

TEST(emulator_connection, any_non_empty_token_without_configured_tokens) {
    auto config = emulator_test_config();
    config.tokens.clear();
    emulator_harness h(config);
    auto& c = h.connect();
    h.text(c, emulator_harness::identify_frame("anything"));
    EXPECT_EQ(c.dispatches("READY").size(), 1U);
}

TEST(emulator_connection, second_identify_closes_4005) {
    identified t;
    t.h.identify(*t.c);
    EXPECT_EQ(t.c->close_code(), 4005);
}

TEST(emulator_connection, resume_after_identify_closes_4005) {
    identified t;
    t.h.text(*t.c, emulator_harness::resume_frame(emulator_harness::session_id_of(*t.c), 1));
    EXPECT_EQ(t.c->close_code(), 4005);
}

// The connection's own rules come before the shape of `d` (client_command.hpp reads `d`; the
// connection decides whether the command was allowed at all).
TEST(emulator_connection, malformed_command_before_identify_closes_4003_not_4001) {
    emulator_harness h;
    auto& c = h.connect();
    h.text(c, R"({"op":3,"d":{"status":"busy"}})");
    EXPECT_EQ(c.close_code(), 4003);
    EXPECT_EQ(h.world.log_json().find(R"("event":"command")"), std::string::npos)
        << "commands are logged only once the client identified";
}

TEST(emulator_connection, malformed_second_identify_or_resume_closes_4005_not_4001) {
    for (const char* bad : {R"({"op":2,"d":null})", R"({"op":6,"d":{"seq":"x"}})"}) {
        identified t;
        t.h.text(*t.c, bad);
        EXPECT_EQ(t.c->close_code(), 4005) << bad;
    }
}

TEST(emulator_connection, malformed_command_is_logged_then_closes_4001) {
    identified t;
    t.h.text(*t.c, R"({"op":31,"d":{"guild_ids":[]}})");
    EXPECT_EQ(t.c->close_code(), 4001);
    const auto log = t.h.world.log_json();
    const auto command = log.find(R"("event":"command","op":31)");
    const auto violation = log.find(R"("event":"violation","code":4001)");
    ASSERT_NE(command, std::string::npos) << log;
    ASSERT_NE(violation, std::string::npos) << log;
    EXPECT_LT(command, violation);
}

TEST(emulator_connection, server_only_opcode_closes_4001_even_before_identify) {
    emulator_harness h;
    auto& c = h.connect();
    h.text(c, R"({"op":7,"d":null})");
    EXPECT_EQ(c.close_code(), 4001);
}

// Resume (4007, op 9, replay)
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, resume_with_seq_ahead_closes_4007) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    const auto last = t.c->frames.back().s.value();
    t.c->conn->on_transport_lost(t.h.now);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, last + 1));
    EXPECT_EQ(c.close_code(), 4007);
}

TEST(emulator_connection, resume_older_than_the_replay_buffer_closes_4007) {
    auto config = emulator_test_config();
    config.replay_buffer_events = 2;
    identified t(config);
    const auto session = emulator_harness::session_id_of(*t.c);
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(t.c->conn->dispatch(t.h.now, "TEST_EVENT", "{}"));
    }
    t.h.drain(*t.c);
    const auto last = t.c->frames.back().s.value();
    t.c->conn->on_transport_lost(t.h.now);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, last - 3)); // needs 3, only 2 kept
    EXPECT_EQ(c.close_code(), 4007);
    auto& d = t.h.connect();
    t.h.text(d, emulator_harness::resume_frame(session, last - 2)); // needs exactly the 2 kept
    EXPECT_EQ(d.close_code(), 0);
    EXPECT_EQ(d.dispatches().size(), 3U); // 2 replayed + RESUMED
}

TEST(emulator_connection, malformed_resume_closes_4001) {
    emulator_harness h;
    auto& c = h.connect();
    h.text(c, R"({"op":6,"d":{"token":"good-token-SECRET","session_id":"x"}})");
    EXPECT_EQ(c.close_code(), 4001);
}

TEST(emulator_connection, resume_with_bad_token_closes_4004) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->on_transport_lost(t.h.now);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1, "wrong"));
    EXPECT_EQ(c.close_code(), 4004);
}

TEST(emulator_connection, replays_missed_dispatches_in_order_then_resumed) {
    identified t;
    auto& h = t.h;
    const auto session = emulator_harness::session_id_of(*t.c);
    const auto seen = t.c->frames.back().s.value(); // what the client had before the drop
    ASSERT_TRUE(t.c->conn->dispatch(h.now, "MESSAGE_CREATE", R"({"n":1})"));
    ASSERT_TRUE(t.c->conn->dispatch(h.now, "MESSAGE_CREATE", R"({"n":2})"));
    ASSERT_TRUE(t.c->conn->dispatch(h.now, "TYPING_START", R"({"n":3})"));
    h.drain(*t.c);
    std::vector<std::string> missed;
    for (const auto& f : t.c->frames) {
        if (f.s && *f.s > seen) {
            missed.push_back(f.text);
        }
    }
    ASSERT_EQ(missed.size(), 3U);
    t.c->conn->on_client_close(h.now, 4900); // not 1000/1001: the session survives
    h.advance(2s);
    auto& c = h.connect();
    h.text(c, emulator_harness::resume_frame(session, seen));
    ASSERT_EQ(c.frames.size(), 5U); // Hello, 3 replayed, RESUMED
    EXPECT_EQ(c.frames[1].text, missed[0]);
    EXPECT_EQ(c.frames[2].text, missed[1]);
    EXPECT_EQ(c.frames[3].text, missed[2]);
    EXPECT_EQ(c.frames[4].t, "RESUMED");
    EXPECT_EQ(c.frames[4].d, "null");
    EXPECT_EQ(c.frames[4].s, seen + 4);
    EXPECT_EQ(c.conn->shard_id(), 0U);
    // Replayed frames count once more in the stats and the log.
    EXPECT_NE(h.world.stats_json().find(R"("replayed":3)"), std::string::npos);
    EXPECT_NE(h.world.log_json().find(R"("event":"replay","count":3)"), std::string::npos);
}

TEST(emulator_connection, resume_of_unknown_session_gets_op_9_false) {
    emulator_harness h;
    auto& c = h.connect();
    h.text(c, emulator_harness::resume_frame("0123456789abcdef0123456789abcdef", 0));
    EXPECT_EQ(c.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})");
    EXPECT_TRUE(c.conn->open());
}

TEST(emulator_connection, resume_of_expired_session_gets_op_9_false) {
    auto config = emulator_test_config();
    config.session_ttl = 10s;
    identified t(config);
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->on_transport_lost(t.h.now);
    t.h.advance(10s); // the world expires it through its deadline
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})");
}

TEST(emulator_connection, client_close_1000_destroys_the_session) {
    for (const std::uint16_t code : {std::uint16_t{1000}, std::uint16_t{1001}}) {
        identified t;
        const auto session = emulator_harness::session_id_of(*t.c);
        t.c->conn->on_client_close(t.h.now, code);
        EXPECT_FALSE(t.c->conn->open());
        auto& c = t.h.connect();
        t.h.text(c, emulator_harness::resume_frame(session, 1));
        EXPECT_EQ(c.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})") << code;
    }
}

TEST(emulator_connection, client_close_4000_detaches_the_session) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->on_client_close(t.h.now, 4000);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().t, "RESUMED");
}

TEST(emulator_connection, resume_kicks_the_connection_still_holding_the_session) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    std::vector<std::uint64_t> woken;
    t.h.world.set_wake_handler([&](std::uint64_t id) { woken.push_back(id); });
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().t, "RESUMED");
    EXPECT_EQ(t.c->close_code(), 4000);
    EXPECT_EQ(woken, std::vector<std::uint64_t>{t.c->conn->id()});
    EXPECT_FALSE(t.c->output_after_end);
}

// 4008 rate limit
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, the_121_st_frame_in_60_seconds_closes_4008) {
    emulator_harness h;
    auto& c = h.connect();
    for (int i = 0; i < 120; ++i) {
        h.heartbeat(c);
        h.now += 100ms;
    }
    EXPECT_EQ(c.close_code(), 0);
    h.heartbeat(c); // 121 frames within 12 s
    EXPECT_EQ(c.close_code(), 4008);
}

TEST(emulator_connection, rate_limit_window_slides) {
    emulator_harness h;
    auto& c = h.connect();
    for (int i = 0; i < 120; ++i) {
        h.heartbeat(c);
        h.now += 500ms; // 120 frames over 60 s
    }
    for (int i = 0; i < 240; ++i) { // each new frame is 60 s after the one it replaces
        h.heartbeat(c);
        h.now += 500ms;
    }
    EXPECT_EQ(c.close_code(), 0);
    h.now -= 499ms; // a frame 1 ms early
    h.heartbeat(c);
    EXPECT_EQ(c.close_code(), 4008);
}

// Identify checks (4010, 4011, 4013, 4014)
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, invalid_shard_closes_4010) {
    for (const char* shard :
         {"[2,2]", "[0,0]", "[1]", "[0,1,2]", "\"x\"", "[-1,2]", "[0.5,2]", "{}"}) {
        emulator_harness h;
        auto& c = h.connect();
        h.text(c,
               R"({"op":2,"d":{"token":"good-token-SECRET","properties":{},"intents":1,"shard":)" +
                   std::string(shard) + "}}");
        EXPECT_EQ(c.close_code(), 4010) << shard;
    }
}

TEST(emulator_connection, too_many_guilds_for_one_shard_closes_4011) {
    auto config = emulator_test_config();
    config.max_guilds_per_shard = 1;
    emulator_harness h(config);
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 1}); // 4 guilds on one shard
    EXPECT_EQ(c.close_code(), 4011);
    // With enough shards each holds at most one guild.
    std::uint32_t n = 1;
    while (true) {
        bool fits = true;
        for (std::uint32_t s = 0; s < n; ++s) {
            fits = fits && guild_count(h, s, n) <= 1;
        }
        if (fits) {
            break;
        }
        ++n;
    }
    auto& ok = h.connect();
    h.identify(ok, gw::shard_id{0, n});
    EXPECT_EQ(ok.close_code(), 0);
}

TEST(emulator_connection, undocumented_intent_closes_4013) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 1}, guilds_intent | (1U << 17U));
    EXPECT_EQ(c.close_code(), 4013);

    auto config = emulator_test_config();
    config.reject_undocumented_intents = false;
    emulator_harness lenient(config);
    auto& d = lenient.connect();
    lenient.identify(d, gw::shard_id{0, 1}, guilds_intent | (1U << 17U));
    EXPECT_EQ(d.close_code(), 0);
}

TEST(emulator_connection, privileged_intent_not_allowed_closes_4014) {
    for (std::uint64_t intent : {std::uint64_t{2}, std::uint64_t{256}, std::uint64_t{32768}}) {
        emulator_harness h;
        auto& c = h.connect();
        h.identify(c, gw::shard_id{0, 1}, guilds_intent | intent);
        EXPECT_EQ(c.close_code(), 4014) << intent;
    }
    auto config = emulator_test_config();
    config.allowed_privileged_intents = members_intent;
    emulator_harness h(config);
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 1}, guilds_intent | members_intent);
    EXPECT_EQ(c.close_code(), 0);
}

// Identify pacing and the daily budget
// -------------------------------------------------------------------------------------------------

std::uint64_t remaining_starts(const emulator_harness& h) {
    const auto json = h.world.gateway_bot_json(h.now);
    const auto at = json.find(R"("remaining":)") + 12;
    return std::stoull(json.substr(at));
}

TEST(emulator_connection, identify_pacing_per_bucket) {
    auto config = emulator_test_config();
    config.max_concurrency = 2;
    config.identify_window = 5s;
    emulator_harness h(config);
    auto& a = h.connect();
    h.identify(a, gw::shard_id{0, 4});
    EXPECT_EQ(a.dispatches("READY").size(), 1U);
    EXPECT_EQ(remaining_starts(h), 999U);

    auto& b = h.connect(); // same bucket (2 % 2 == 0), same window: op 9, no budget spent
    h.identify(b, gw::shard_id{2, 4});
    EXPECT_EQ(b.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})");
    EXPECT_TRUE(b.conn->open());
    EXPECT_EQ(remaining_starts(h), 999U);

    auto& c = h.connect(); // the other bucket is free
    h.identify(c, gw::shard_id{1, 4});
    EXPECT_EQ(c.dispatches("READY").size(), 1U);

    h.now += 4'999ms;
    auto& d = h.connect();
    h.identify(d, gw::shard_id{2, 4});
    EXPECT_EQ(d.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})");
    h.now += 1ms;
    auto& e = h.connect();
    h.identify(e, gw::shard_id{2, 4});
    EXPECT_EQ(e.dispatches("READY").size(), 1U);
    EXPECT_EQ(remaining_starts(h), 997U);
}

TEST(emulator_connection, exhausted_budget_resets_the_token_and_ends_every_session) {
    auto config = emulator_test_config();
    config.session_start_total = 2;
    config.identify_window = 0ms;
    emulator_harness h(config);
    auto& a = h.connect();
    h.identify(a);
    auto& b = h.connect();
    h.identify(b);
    const auto session = emulator_harness::session_id_of(b);
    EXPECT_EQ(remaining_starts(h), 0U);
    auto& idle = h.connect(); // open, not identified
    std::vector<std::uint64_t> woken;
    h.world.set_wake_handler([&](std::uint64_t id) { woken.push_back(id); });
    auto& c = h.connect();
    h.identify(c);
    EXPECT_EQ(c.close_code(), 4004);
    EXPECT_EQ(a.close_code(), 4004);
    EXPECT_EQ(b.close_code(), 4004);
    EXPECT_EQ(idle.close_code(), 4004);
    EXPECT_EQ(woken.size(), 3U);
    EXPECT_FALSE(h.world.token_accepted("good-token-SECRET"));
    auto& d = h.connect();
    h.text(d, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(d.close_code(), 4004);
    auto& e = h.connect();
    h.identify(e);
    EXPECT_EQ(e.close_code(), 4004);
    EXPECT_NE(h.world.stats_json().find(R"("token_reset":true)"), std::string::npos);
}

TEST(emulator_connection, resume_does_not_spend_the_budget) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    const auto before = remaining_starts(t.h);
    t.c->conn->on_transport_lost(t.h.now);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().t, "RESUMED");
    EXPECT_EQ(remaining_starts(t.h), before);
}

// READY and GUILD_CREATE
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, ready_then_guild_creates_in_sequence) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 2}, guilds_intent);
    const auto guilds = guild_count(h, 0, 2);
    const auto d = c.dispatches();
    ASSERT_EQ(d.size(), 1 + guilds);
    EXPECT_EQ(d[0].t, "READY");
    for (std::size_t i = 0; i < d.size(); ++i) {
        EXPECT_EQ(d[i].s, i + 1);
        if (i > 0) {
            EXPECT_EQ(d[i].t, "GUILD_CREATE");
        }
    }
    const auto session = emulator_harness::session_id_of(c);
    ASSERT_EQ(session.size(), 32U);
    EXPECT_EQ(session.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_NE(d[0].d.find(R"("resume_gateway_url":"ws://emulator.test")"), std::string::npos);
    EXPECT_NE(d[0].d.find(R"("shard":[0,2])"), std::string::npos);
    EXPECT_EQ(c.conn->shard_id(), 0U);
}

TEST(emulator_connection, no_guild_create_without_the_guilds_intent) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 1}, messages_intent);
    EXPECT_EQ(c.dispatches().size(), 1U);
}

TEST(emulator_connection, session_ids_are_fresh_and_repeat_per_seed) {
    auto ids = [] {
        auto config = emulator_test_config();
        config.identify_window = 0ms;
        emulator_harness h(config);
        std::vector<std::string> out;
        for (int i = 0; i < 3; ++i) {
            auto& c = h.connect();
            h.identify(c);
            out.push_back(emulator_harness::session_id_of(c));
        }
        return out;
    };
    const auto a = ids();
    EXPECT_EQ(a, ids());
    EXPECT_NE(a[0], a[1]);
    EXPECT_NE(a[1], a[2]);
}

// Fault scripts
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, inject_close_sends_the_code_and_keeps_the_session) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->inject_close(t.h.now, 4000);
    t.h.drain(*t.c);
    EXPECT_EQ(t.c->close_code(), 4000);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().t, "RESUMED");
}

TEST(emulator_connection, a_close_code_that_ends_the_session_destroys_it) {
    // 4003, 4007 and 4009 tell the client to identify afresh (close_code.hpp): the emulator must
    // not keep the session for session_ttl, filling its replay buffer for nobody (the chaos soak
    // grew ~1 MiB/s that way), and a Resume of it is refused like Discord's.
    for (const int code : {4003, 4007, 4009}) {
        identified t;
        const auto session = emulator_harness::session_id_of(*t.c);
        t.c->conn->inject_close(t.h.now, static_cast<std::uint16_t>(code));
        t.h.drain(*t.c);
        EXPECT_EQ(t.c->close_code(), code);
        auto& c = t.h.connect();
        t.h.text(c, emulator_harness::resume_frame(session, 1));
        EXPECT_EQ(c.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})") << code;
    }
}

TEST(emulator_connection, inject_reconnect_sends_op_7_then_closes_4000) {
    identified t;
    t.c->conn->inject_reconnect(t.h.now);
    t.h.drain(*t.c);
    EXPECT_EQ(t.c->frames.back().text, R"({"op":7,"d":null,"s":null,"t":null})");
    t.h.heartbeat(*t.c);
    t.h.advance(1'000ms);
    t.h.heartbeat(*t.c);
    t.h.advance(1'000ms);
    t.h.heartbeat(*t.c);
    t.h.advance(998ms);
    t.h.heartbeat(*t.c);
    EXPECT_TRUE(t.c->conn->open());
    t.h.advance(2ms);
    EXPECT_EQ(t.c->close_code(), 4000);
}

TEST(emulator_connection, inject_reconnect_does_not_close_when_the_client_did) {
    identified t;
    t.c->conn->inject_reconnect(t.h.now);
    t.h.drain(*t.c);
    t.c->conn->on_client_close(t.h.now, 4900);
    t.h.advance(5s);
    EXPECT_FALSE(t.c->closed);
    EXPECT_FALSE(t.c->output_after_end);
}

TEST(emulator_connection, inject_invalid_session_resumable) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->inject_invalid_session(t.h.now, true);
    t.h.drain(*t.c);
    EXPECT_EQ(t.c->frames.back().text, R"({"op":9,"d":true,"s":null,"t":null})");
    t.c->conn->on_client_close(t.h.now, 4900);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().t, "RESUMED");
}

TEST(emulator_connection, inject_invalid_session_not_resumable_destroys_it) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->inject_invalid_session(t.h.now, false);
    t.h.drain(*t.c);
    EXPECT_EQ(t.c->frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})");
    EXPECT_FALSE(t.c->conn->shard_id());
    // The connection is no longer authenticated: a command gets 4003 (session invalidated).
    t.h.text(*t.c, R"({"op":3,"d":{"since":null,"activities":[],"status":"online","afk":false}})");
    EXPECT_EQ(t.c->close_code(), 4003);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().text, R"({"op":9,"d":false,"s":null,"t":null})");
}

TEST(emulator_connection, inject_zombie_stops_acks) {
    identified t;
    t.c->conn->inject_zombie(t.h.now);
    const auto before = t.c->frames.size();
    t.h.heartbeat(*t.c);
    EXPECT_EQ(t.c->frames.size(), before);
    EXPECT_TRUE(t.c->conn->open());
}

TEST(emulator_connection, inject_drop_cuts_without_close_and_keeps_the_session) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->inject_drop(t.h.now);
    t.h.drain(*t.c);
    EXPECT_TRUE(t.c->dropped);
    EXPECT_FALSE(t.c->closed);
    EXPECT_FALSE(t.c->conn->open());
    t.c->conn->inject_heartbeat_request(t.h.now); // ignored after the drop
    t.h.drain(*t.c);
    EXPECT_FALSE(t.c->output_after_end);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    EXPECT_EQ(c.frames.back().t, "RESUMED");
}

TEST(emulator_connection, inject_heartbeat_request_sends_op_1) {
    identified t;
    t.c->conn->inject_heartbeat_request(t.h.now);
    t.h.drain(*t.c);
    EXPECT_EQ(t.c->frames.back().text, R"({"op":1,"d":null,"s":null,"t":null})");
}

TEST(emulator_connection, dispatch_is_sequenced_and_needs_a_session) {
    emulator_harness h;
    auto& c = h.connect();
    EXPECT_FALSE(c.conn->dispatch(h.now, "X", "{}"));
    h.identify(c);
    const auto last = c.frames.back().s.value();
    EXPECT_TRUE(c.conn->dispatch(h.now, "CUSTOM_EVENT", R"({"a":[1,2]})"));
    EXPECT_FALSE(c.conn->dispatch(h.now, "CUSTOM_EVENT", R"({"a":)")); // invalid JSON refused
    h.drain(c);
    EXPECT_EQ(c.frames.back().text, R"({"op":0,"s":)" + std::to_string(last + 1) +
                                        R"(,"t":"CUSTOM_EVENT","d":{"a":[1,2]}})");
}

// Commands after READY
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, request_guild_members_answers_with_chunks) {
    identified t;
    const auto guild = t.h.world.content().guilds()[0].id;
    const auto before = t.c->dispatches().size();
    t.h.text(*t.c, R"({"op":8,"d":{"guild_id":")" + std::to_string(guild) +
                       R"(","query":"","limit":5,"nonce":"n1"}})");
    const auto chunks = t.c->dispatches("GUILD_MEMBERS_CHUNK");
    ASSERT_GE(chunks.size(), 1U);
    EXPECT_NE(chunks[0].d.find(R"("nonce":"n1")"), std::string::npos);
    EXPECT_GT(t.c->dispatches().size(), before);
    // A nonce over 32 bytes is dropped silently: the answer carries none.
    t.h.text(*t.c, R"({"op":8,"d":{"guild_id":")" + std::to_string(guild) + R"(","user_ids":")" +
                       std::to_string(guild) + R"(","nonce":")" + std::string(33, 'n') + R"("}})");
    EXPECT_EQ(t.c->close_code(), 0);
    EXPECT_EQ(t.c->dispatches().back().t, "GUILD_MEMBERS_CHUNK");
    EXPECT_EQ(t.c->dispatches().back().d.find("nonce"), std::string::npos);
}

// The rate limit's memory is one time per guild of the application: requests for guilds the bot
// is not in are not tracked (a client sending random guild ids grew the map without bound).
TEST(emulator_connection, request_everyone_for_a_guild_the_bot_is_not_in_is_not_tracked) {
    auto config = emulator_test_config();
    config.allowed_privileged_intents = members_intent;
    emulator_harness h(config);
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 1}, guilds_intent | members_intent);
    const auto everyone = R"({"op":8,"d":{"guild_id":"123456789","query":"","limit":0}})";
    h.text(c, everyone);
    EXPECT_EQ(c.dispatches().back().t, "GUILD_MEMBERS_CHUNK");
    h.text(c, everyone);
    EXPECT_EQ(c.dispatches().back().t, "GUILD_MEMBERS_CHUNK") << "not rate limited";
}

TEST(emulator_connection, request_everyone_is_rate_limited_per_guild) {
    auto config = emulator_test_config();
    config.allowed_privileged_intents = members_intent;
    emulator_harness h(config);
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 1}, guilds_intent | members_intent);
    const auto guild = std::to_string(h.world.content().guilds()[0].id);
    const auto everyone =
        R"({"op":8,"d":{"guild_id":")" + guild + R"(","query":"","limit":0,"nonce":"e"}})";
    h.text(c, everyone);
    EXPECT_EQ(c.dispatches().back().t, "GUILD_MEMBERS_CHUNK");
    h.heartbeat(c);
    h.now += 10s;
    h.text(c, everyone);
    const auto limited = c.dispatches().back();
    EXPECT_EQ(limited.t, "RATE_LIMITED");
    EXPECT_NE(limited.d.find(R"("opcode":8)"), std::string::npos);
    h.heartbeat(c);
    h.now += 1s;
    h.heartbeat(c);
    h.now += 1s;
    h.heartbeat(c);
    // Another guild is not limited.
    h.text(c, R"({"op":8,"d":{"guild_id":")" + std::to_string(h.world.content().guilds()[1].id) +
                  R"(","query":"","limit":0}})");
    EXPECT_EQ(c.dispatches().back().t, "GUILD_MEMBERS_CHUNK");
    for (int i = 0; i < 18; ++i) {
        h.now += 1s;
        h.heartbeat(c);
    }
    h.text(c, everyone); // 30 s after the first
    EXPECT_EQ(c.dispatches().back().t, "GUILD_MEMBERS_CHUNK");
    EXPECT_EQ(c.close_code(), 0);
}

TEST(emulator_connection, malformed_request_guild_members_closes_4001) {
    for (const char* bad :
         {R"({"query":"","limit":0})", R"({"guild_id":"1","limit":0})",
          R"({"guild_id":"1","query":"a"})", R"({"guild_id":"x","query":"","limit":0})",
          R"({"guild_id":"1","query":"","limit":0,"user_ids":["2"]})",
          R"({"guild_id":"1","user_ids":[true]})", R"([])"}) {
        identified t;
        t.h.text(*t.c, R"({"op":8,"d":)" + std::string(bad) + "}");
        EXPECT_EQ(t.c->close_code(), 4001) << bad;
    }
}

TEST(emulator_connection, presence_update_is_validated_and_accepted) {
    identified t;
    const auto before = t.c->frames.size();
    t.h.text(
        *t.c,
        R"({"op":3,"d":{"since":91879201,"activities":[{"name":"x","type":0}],"status":"online","afk":false}})");
    EXPECT_EQ(t.c->frames.size(), before); // no dispatch to the bot itself
    EXPECT_EQ(t.c->close_code(), 0);
    for (const char* bad : {R"({"activities":[],"status":"busy"})", R"({"status":"online"})",
                            R"({"activities":{},"status":"online"})",
                            R"({"activities":[{"type":0}],"status":"online"})",
                            R"({"activities":[{"name":"x","type":9}],"status":"online"})",
                            R"({"activities":[],"status":"online","afk":1})"}) {
        identified u;
        u.h.text(*u.c, R"({"op":3,"d":)" + std::string(bad) + "}");
        EXPECT_EQ(u.c->close_code(), 4001) << bad;
    }
}

TEST(emulator_connection, voice_state_update_is_answered) {
    identified t;
    const auto& guild = t.h.world.content().guilds()[0];
    ASSERT_FALSE(guild.voice_channel_ids.empty());
    t.h.text(*t.c, R"({"op":4,"d":{"guild_id":")" + std::to_string(guild.id) +
                       R"(","channel_id":")" + std::to_string(guild.voice_channel_ids[0]) +
                       R"(","self_mute":false,"self_deaf":true}})");
    EXPECT_EQ(t.c->dispatches("VOICE_STATE_UPDATE").size(), 1U);
    EXPECT_EQ(t.c->dispatches("VOICE_SERVER_UPDATE").size(), 1U);
    identified u;
    u.h.text(*u.c, R"({"op":4,"d":{"guild_id":"1","channel_id":null,"self_mute":false}})");
    EXPECT_EQ(u.c->close_code(), 4001);
}

TEST(emulator_connection, soundboard_sounds_one_per_guild) {
    identified t;
    const auto g = t.h.world.content().guilds();
    t.h.text(*t.c, R"({"op":31,"d":{"guild_ids":[")" + std::to_string(g[0].id) + R"(",")" +
                       std::to_string(g[1].id) + R"("]}})");
    EXPECT_EQ(t.c->dispatches("SOUNDBOARD_SOUNDS").size(), 2U);
    identified u;
    u.h.text(*u.c, R"({"op":31,"d":{"guild_ids":[]}})");
    EXPECT_EQ(u.c->close_code(), 4001);
}

TEST(emulator_connection, channel_info_answered) {
    identified t;
    const auto g = std::to_string(t.h.world.content().guilds()[0].id);
    t.h.text(*t.c, R"({"op":43,"d":{"guild_id":")" + g + R"(","fields":["status"]}})");
    EXPECT_EQ(t.c->dispatches("CHANNEL_INFO").size(), 1U);
    identified u;
    u.h.text(*u.c, R"({"op":43,"d":{"guild_id":")" + g + R"(","fields":["topic"]}})");
    EXPECT_EQ(u.c->close_code(), 4001);
}

// Compression
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, zlib_stream_decodes_with_the_client_inflater_across_split_frames) {
    auto config = emulator_test_config();
    config.zlib_split_frames = 3;
    config.zlib_window_bits = 12;
    config.zlib_mem_level = 4;
    emulator_harness h(config);
    auto& c = h.connect("v=10&encoding=json&compress=zlib-stream");
    h.identify(c);
    h.heartbeat(c);
    ASSERT_GE(c.frames.size(), 3U);
    EXPECT_EQ(c.frames[0].op, 10);
    EXPECT_EQ(c.dispatches("READY").size(), 1U);
    EXPECT_EQ(c.wire_messages.size(), 3 * c.frames.size());
}

TEST(emulator_connection, an_injected_split_sends_the_next_payloads_in_parts_the_client_joins) {
    emulator_harness h;
    auto& c = h.connect("v=10&encoding=json&compress=zlib-stream");
    h.identify(c);
    const auto frames = c.frames.size();
    const auto messages = c.wire_messages.size();
    ASSERT_EQ(messages, frames) << "one message per payload before the fault";
    ASSERT_TRUE(c.conn->inject_split(h.now, 3));
    for (int i = 0; i < 4; ++i) {
        h.heartbeat(c); // one ACK each
    }
    ASSERT_EQ(c.frames.size(), frames + 4) << "every payload inflated whole";
    for (std::size_t i = frames; i < c.frames.size(); ++i) {
        EXPECT_EQ(c.frames[i].text, R"({"op":11,"d":null,"s":null,"t":null})");
    }
    // Three payloads in 2, 3 or 4 messages each (only the last ends with the suffix), then
    // one message again.
    const auto split_messages = c.wire_messages.size() - messages - 1;
    EXPECT_GE(split_messages, 6U);
    EXPECT_LE(split_messages, 12U);
    EXPECT_NE(h.world.log_json().find(R"("event":"fault","fault":"split","count":3)"),
              std::string::npos);
}

TEST(emulator_connection, a_split_is_refused_without_zlib_stream) {
    emulator_harness h;
    auto& json = h.connect("v=10&encoding=json");
    EXPECT_FALSE(json.conn->inject_split(h.now));
    auto& zstd = h.connect("v=10&encoding=json&compress=zstd-stream");
    EXPECT_FALSE(zstd.conn->inject_split(h.now));
}

TEST(emulator_connection, a_stall_holds_every_write_until_it_ends_then_sends_them_in_order) {
    auto config = emulator_test_config();
    config.traffic_per_second = 20;
    config.heartbeat_interval = 100'000ms;
    identified t(config);
    const auto before = t.c->frames.size();
    ASSERT_TRUE(t.c->conn->inject_stall(t.h.now, 1'000ms));
    t.h.heartbeat(*t.c); // read and answered, but the ACK waits with the rest
    t.h.advance(900ms);
    EXPECT_EQ(t.c->frames.size(), before) << "nothing is written during the stall";
    t.h.advance(100ms);
    ASSERT_GE(t.c->frames.size(), before + 19) << "the held writes go at its end";
    EXPECT_EQ(t.c->frames[before].text, R"({"op":11,"d":null,"s":null,"t":null})")
        << "the ACK came first, as it was queued";
    const auto d = t.c->dispatches();
    for (std::size_t i = 1; i < d.size(); ++i) {
        EXPECT_EQ(d[i].s, *d[i - 1].s + 1);
    }
    EXPECT_NE(t.h.world.log_json().find(R"("fault":"stall","ms":1000)"), std::string::npos);
}

TEST(emulator_connection, a_close_during_a_stall_is_not_held) {
    identified t;
    ASSERT_TRUE(t.c->conn->inject_stall(t.h.now, 60'000ms));
    t.c->conn->inject_close(t.h.now, 4000);
    t.h.drain(*t.c);
    EXPECT_EQ(t.c->close_code(), 4000);
    EXPECT_FALSE(t.c->conn->next_deadline().has_value());
}

TEST(emulator_connection, zstd_stream_decodes_with_the_client_inflater) {
    auto config = emulator_test_config();
    config.zstd_window_log = 17;
    emulator_harness h(config);
    auto& c = h.connect("v=10&encoding=json&compress=zstd-stream");
    h.identify(c);
    h.heartbeat(c);
    EXPECT_EQ(c.dispatches("READY").size(), 1U);
    EXPECT_EQ(c.frames.back().text, R"({"op":11,"d":null,"s":null,"t":null})");
    EXPECT_EQ(c.wire_messages.size(), c.frames.size()); // one message per payload
}

// Traffic and floods
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, traffic_flows_at_the_configured_rate) {
    auto config = emulator_test_config();
    config.traffic_per_second = 20;
    config.heartbeat_interval = 100'000ms;
    identified t(config);
    const auto before = t.c->dispatches().size();
    t.h.advance(1s);
    const auto d = t.c->dispatches();
    EXPECT_EQ(d.size() - before, 20U);
    for (std::size_t i = 0; i < d.size(); ++i) {
        EXPECT_EQ(d[i].s, i + 1);
    }
}

TEST(emulator_connection, flood_keeps_at_most_a_bounded_queue) {
    identified t;
    const auto start = t.c->frames.back().s.value();
    ASSERT_TRUE(t.c->conn->flood(t.h.now, "MESSAGE_CREATE", 5'000));
    std::size_t most = 0;
    std::uint64_t got = 0;
    std::uint64_t expect_seq = start + 1;
    gw::payload_decoder decoder;
    while (auto a = t.c->conn->poll_action()) {
        most = std::max(most, t.c->conn->pending_actions());
        auto& send = std::get<emu::server_action::send>(*a);
        gw::received_payload p;
        const std::string_view text(reinterpret_cast<const char*>(send.bytes.data()), // NOLINT
                                    send.bytes.size());
        ASSERT_FALSE(decoder.decode(text, false, p));
        EXPECT_EQ(p.t, "MESSAGE_CREATE");
        EXPECT_EQ(p.s, expect_seq++);
        ++got;
    }
    EXPECT_EQ(got, 5'000U);
    EXPECT_LE(most, 256U);
}

TEST(emulator_connection, prepared_flood_queues_every_frame_at_once_in_sequence) {
    identified t;
    const auto start = t.c->frames.back().s.value();
    ASSERT_TRUE(t.c->conn->flood(t.h.now, "MESSAGE_CREATE", 2'000, true));
    EXPECT_EQ(t.c->conn->pending_actions(), 2'000U); // encoded before the first goes out
    std::uint64_t expect_seq = start + 1;
    gw::payload_decoder decoder;
    while (auto a = t.c->conn->poll_action()) {
        auto& send = std::get<emu::server_action::send>(*a);
        EXPECT_TRUE(send.prepared);
        gw::received_payload p;
        const std::string_view text(reinterpret_cast<const char*>(send.bytes.data()), // NOLINT
                                    send.bytes.size());
        ASSERT_FALSE(decoder.decode(text, false, p));
        EXPECT_EQ(p.t, "MESSAGE_CREATE");
        ASSERT_EQ(p.s, expect_seq++);
    }
    EXPECT_EQ(expect_seq, start + 2'001);
    // The session recorded them: a later dispatch goes on from there.
    ASSERT_TRUE(t.c->conn->dispatch(t.h.now, "TYPING_START", "{}"));
    t.h.drain(*t.c);
    EXPECT_EQ(t.c->frames.back().s, start + 2'001);
}

TEST(emulator_connection, prepared_zlib_flood_decodes_on_the_connection_stream) {
    identified t(emulator_test_config(), "v=10&encoding=json&compress=zlib-stream");
    const auto before = t.c->dispatches().size();
    ASSERT_TRUE(t.c->conn->flood(t.h.now, "MESSAGE_CREATE", 500, true));
    t.h.drain(*t.c);
    const auto d = t.c->dispatches();
    ASSERT_EQ(d.size() - before, 500U);
    for (std::size_t i = before + 1; i < d.size(); ++i) {
        EXPECT_EQ(d[i].s.value(), d[i - 1].s.value() + 1);
    }
}

TEST(emulator_connection, flood_needs_a_session) {
    emulator_harness h;
    auto& c = h.connect();
    EXPECT_FALSE(c.conn->flood(h.now, "MESSAGE_CREATE", 10));
}

// Secrets and invariants
// -------------------------------------------------------------------------------------------------

TEST(emulator_connection, token_never_appears_in_stats_or_log) {
    identified t;
    const auto session = emulator_harness::session_id_of(*t.c);
    t.c->conn->on_transport_lost(t.h.now);
    auto& c = t.h.connect();
    t.h.text(c, emulator_harness::resume_frame(session, 1));
    auto& bad = t.h.connect();
    t.h.text(bad, emulator_harness::identify_frame("other-SECRET"));
    const auto log = t.h.world.log_json();
    const auto stats = t.h.world.stats_json();
    EXPECT_EQ(log.find("SECRET"), std::string::npos) << log;
    EXPECT_EQ(stats.find("SECRET"), std::string::npos);
    EXPECT_NE(log.find(R"("token":"***")"), std::string::npos);
}

TEST(emulator_connection, violations_are_counted_per_shard) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c, gw::shard_id{0, 1}, guilds_intent | members_intent);
    auto& d = h.connect();
    h.text(d, "nope");
    const auto stats = h.world.stats_json();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(stats).get(doc), simdjson::SUCCESS);
    std::uint64_t n = 0;
    EXPECT_EQ(doc["shards"]["0"]["violations"]["4014"].get_uint64().get(n), simdjson::SUCCESS);
    EXPECT_EQ(n, 1U);
    EXPECT_EQ(doc["unidentified"]["violations"]["4002"].get_uint64().get(n), simdjson::SUCCESS);
    EXPECT_EQ(n, 1U);
    EXPECT_EQ(doc["totals"]["close_codes_sent"]["4014"].get_uint64().get(n), simdjson::SUCCESS);
    EXPECT_EQ(n, 1U);
}

TEST(emulator_connection, nothing_is_output_after_the_client_closes) {
    auto config = emulator_test_config();
    config.traffic_per_second = 50;
    identified t(config);
    ASSERT_TRUE(t.c->conn->flood(t.h.now, "MESSAGE_CREATE", 1'000));
    t.c->conn->on_client_close(t.h.now, 4900);
    EXPECT_EQ(t.c->conn->pending_actions(), 0U); // queued frames are dropped with the socket
    t.c->conn->inject_reconnect(t.h.now);
    t.c->conn->inject_close(t.h.now, 4000);
    EXPECT_FALSE(t.c->conn->dispatch(t.h.now, "X", "{}"));
    EXPECT_FALSE(t.c->conn->next_deadline());
}

} // namespace
} // namespace shardgate::test
