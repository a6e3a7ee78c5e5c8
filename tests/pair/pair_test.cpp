// The client shard against the emulator connection, in memory, with one simulated clock. These
// tests prove that the two cores agree: every session the client sees is a contiguous run of
// sequence numbers whatever the emulator does to the connection.

#include "pair_driver.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <string>

namespace shardgate::test {
namespace {

using gw::lifecycle_kind;

// Splits what a shard received into sessions (each starts at READY) and checks that each one is the
// sequence 1..N with nothing missing or repeated. Returns the sessions' lengths.
std::vector<std::uint64_t> expect_contiguous_sessions(const paired_shard& c) {
    std::vector<std::uint64_t> lengths;
    std::uint64_t expected = 0;
    for (const auto& d : c.dispatches) {
        if (d.name == "READY") {
            EXPECT_EQ(d.seq, 1U) << "READY must start a session at 1";
            lengths.push_back(0);
            expected = 1;
        }
        EXPECT_FALSE(lengths.empty()) << "dispatch before READY: " << d.name;
        EXPECT_EQ(d.seq, expected) << d.name << " (lost or duplicated dispatch)";
        expected = d.seq + 1;
        if (!lengths.empty()) {
            ++lengths.back();
        }
    }
    return lengths;
}

std::uint64_t stat(const pair_driver& p, std::string_view shard, std::string_view key) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(p.world.stats_json()).get(doc), simdjson::SUCCESS);
    std::uint64_t v = 0;
    EXPECT_EQ(doc["shards"][shard][key].get_uint64().get(v), simdjson::SUCCESS) << key;
    return v;
}

std::size_t routed_guilds(const pair_driver& p, std::uint32_t shard, std::uint32_t n) {
    return p.world.content().guilds_for_shard(shard, n).size();
}

// Identify
// -------------------------------------------------------------------------------------------------

TEST(pair, identify_ready_then_guild_creates) {
    pair_driver p(pair_emulator_config(), {pair_shard_config()});
    p.start_all();
    p.run_for(5s);
    auto& c = p.client(0);
    EXPECT_EQ(c.shard.state(), gw::shard_state::active);
    EXPECT_EQ(c.count(lifecycle_kind::ready), 1U);
    const auto guilds = routed_guilds(p, 0, 1);
    ASSERT_EQ(c.dispatches.size(), 1 + guilds);
    EXPECT_EQ(c.dispatches[0].name, "READY");
    for (std::size_t i = 1; i < c.dispatches.size(); ++i) {
        EXPECT_EQ(c.dispatches[i].name, "GUILD_CREATE");
    }
    expect_contiguous_sessions(c);
    ASSERT_TRUE(c.shard.session());
    EXPECT_EQ(c.shard.session()->resume_gateway_url, "ws://emulator.test");
    EXPECT_GE(c.shard.stats().heartbeat_acks, 3U); // heartbeating stayed healthy for 5 s
    EXPECT_EQ(stat(p, "0", "identifies"), 1U);
    EXPECT_EQ(stat(p, "0", "last_seq"), c.shard.sequence().value());
    EXPECT_EQ(p.world.stats_json().find(R"("violations":{"4)"), std::string::npos);
}

// Resume after every fault, with traffic flowing throughout
// -------------------------------------------------------------------------------------------------

enum class fault { close_4000, reconnect, invalid_session_true, zombie, silent_zombie, drop };

std::string fault_name(const testing::TestParamInfo<fault>& info) {
    switch (info.param) {
    case fault::close_4000: return "close_4000";
    case fault::reconnect: return "op7_reconnect";
    case fault::invalid_session_true: return "op9_resumable";
    case fault::zombie: return "zombie";
    case fault::silent_zombie: return "silent_zombie";
    case fault::drop: return "drop";
    }
    return "unknown";
}

void inject(pair_driver& p, fault f) {
    auto& conn = *p.client(0).conn;
    switch (f) {
    case fault::close_4000: conn.inject_close(p.now, 4000); break;
    case fault::reconnect: conn.inject_reconnect(p.now); break;
    case fault::invalid_session_true: conn.inject_invalid_session(p.now, true); break;
    case fault::zombie: conn.inject_zombie(p.now); break;
    case fault::silent_zombie: conn.inject_zombie(p.now, true); break;
    case fault::drop: conn.inject_drop(p.now); break;
    }
    p.pump();
}

void run_resume_case(emu::emulator_config config, gw::compression compression, fault f) {
    config.traffic_per_second = 50;
    auto shard = pair_shard_config();
    shard.transport_compression = compression;
    pair_driver p(std::move(config), {shard});
    p.start_all();
    p.run_for(3s);
    auto& c = p.client(0);
    ASSERT_EQ(c.shard.state(), gw::shard_state::active);
    const auto before = c.dispatches.size();
    inject(p, f);
    p.run_for(20s);
    EXPECT_EQ(c.shard.state(), gw::shard_state::active);
    EXPECT_EQ(c.count(lifecycle_kind::ready), 1U) << "the session must survive";
    EXPECT_EQ(c.count(lifecycle_kind::resumed), 1U);
    EXPECT_EQ(c.count(lifecycle_kind::fatal), 0U);
    EXPECT_EQ(c.connection_ids.size(), 2U);
    const auto sessions = expect_contiguous_sessions(c);
    EXPECT_EQ(sessions.size(), 1U);
    EXPECT_GT(c.dispatches.size(), before + 500); // traffic kept flowing after the resume
    EXPECT_EQ(stat(p, "0", "identifies"), 1U);
    EXPECT_EQ(stat(p, "0", "resumes"), 1U);
    EXPECT_GT(stat(p, "0", "replayed"), 0U); // events of the gap came from the replay buffer
    // Everything the emulator sequenced reached the client, exactly once.
    EXPECT_EQ(stat(p, "0", "last_seq"), c.shard.sequence().value());
    EXPECT_EQ(c.dispatches.back().seq, c.dispatches.size());
}

class pair_resume : public testing::TestWithParam<fault> {};

TEST_P(pair_resume, no_dispatch_lost_or_duplicated) {
    run_resume_case(pair_emulator_config(), gw::compression::none, GetParam());
}

TEST_P(pair_resume, zlib_stream_split_frames) {
    auto config = pair_emulator_config();
    config.zlib_split_frames = 3;
    config.zlib_window_bits = 12;
    config.zlib_mem_level = 4;
    run_resume_case(config, gw::compression::zlib_stream, GetParam());
}

TEST_P(pair_resume, zstd_stream) {
    auto config = pair_emulator_config();
    config.zstd_window_log = 17;
    run_resume_case(config, gw::compression::zstd_stream, GetParam());
}

INSTANTIATE_TEST_SUITE_P(every_fault, pair_resume,
                         testing::Values(fault::close_4000, fault::reconnect,
                                         fault::invalid_session_true, fault::zombie,
                                         fault::silent_zombie, fault::drop),
                         fault_name);

TEST(pair, zlib_stream_split_at_every_byte) {
    auto config = pair_emulator_config();
    config.zlib_split_frames = 1'000'000; // more parts than bytes: one byte per WebSocket message
    config.traffic_per_second = 10;
    auto shard = pair_shard_config();
    shard.transport_compression = gw::compression::zlib_stream;
    pair_driver p(config, {shard});
    p.start_all();
    p.run_for(3s);
    p.client(0).conn->inject_drop(p.now);
    p.run_for(5s);
    auto& c = p.client(0);
    EXPECT_EQ(c.shard.state(), gw::shard_state::active);
    EXPECT_EQ(c.count(lifecycle_kind::resumed), 1U);
    EXPECT_EQ(c.shard.stats().protocol_errors, 0U);
    EXPECT_EQ(expect_contiguous_sessions(c).size(), 1U);
    EXPECT_GT(c.dispatches.size(), 60U);
}

// A lost session
// -------------------------------------------------------------------------------------------------

TEST(pair, invalid_session_false_starts_a_new_session) {
    auto config = pair_emulator_config();
    config.traffic_per_second = 20;
    pair_driver p(config, {pair_shard_config()});
    p.start_all();
    p.run_for(3s);
    auto& c = p.client(0);
    const auto first = c.shard.session()->session_id;
    c.conn->inject_invalid_session(p.now, false);
    p.pump();
    p.run_for(20s);
    EXPECT_EQ(c.shard.state(), gw::shard_state::active);
    EXPECT_EQ(c.count(lifecycle_kind::invalid_session), 1U);
    EXPECT_EQ(c.count(lifecycle_kind::ready), 2U);
    EXPECT_EQ(c.count(lifecycle_kind::resumed), 0U);
    ASSERT_TRUE(c.shard.session());
    EXPECT_NE(c.shard.session()->session_id, first);
    EXPECT_EQ(expect_contiguous_sessions(c).size(), 2U);
    EXPECT_EQ(stat(p, "0", "identifies"), 2U);
    EXPECT_EQ(stat(p, "0", "resumes"), 0U);
}

TEST(pair, expired_session_gets_op_9_false_on_resume_and_the_client_identifies_again) {
    auto config = pair_emulator_config();
    config.session_ttl = 50ms; // shorter than the reconnect (connect_latency is 100 ms)
    pair_driver p(config, {pair_shard_config()});
    p.start_all();
    p.run_for(3s);
    auto& c = p.client(0);
    c.conn->inject_drop(p.now);
    p.pump();
    p.run_for(20s);
    EXPECT_EQ(c.count(lifecycle_kind::resuming), 1U);
    const auto invalid = c.events(lifecycle_kind::invalid_session);
    ASSERT_EQ(invalid.size(), 1U);
    EXPECT_FALSE(invalid[0].resumable);
    EXPECT_EQ(c.count(lifecycle_kind::ready), 2U);
    EXPECT_EQ(c.shard.state(), gw::shard_state::active);
    EXPECT_EQ(expect_contiguous_sessions(c).size(), 2U);
    EXPECT_NE(p.world.log_json().find(R"("event":"session_expired")"), std::string::npos);
}

TEST(pair, heartbeat_request_is_answered_at_once) {
    pair_driver p(pair_emulator_config(), {pair_shard_config()});
    p.start_all();
    p.run_for(3s);
    auto& c = p.client(0);
    const auto beats = c.shard.stats().heartbeats_sent;
    c.conn->inject_heartbeat_request(p.now);
    p.pump();
    EXPECT_EQ(c.shard.stats().heartbeats_sent, beats + 1);
    EXPECT_EQ(c.shard.stats().heartbeat_acks, beats + 1);
}

TEST(pair, heartbeat_timeout_closes_with_4009_and_the_client_identifies_again) {
    pair_driver p(pair_emulator_config(), {pair_shard_config()});
    p.start_all();
    p.run_for(3s);
    auto& c = p.client(0);
    const auto first = c.shard.session()->session_id;
    c.deaf_until = p.now + 4s; // the client's timers stop: no heartbeats
    p.run_for(15s);
    const auto closed = c.events(lifecycle_kind::closed);
    ASSERT_GE(closed.size(), 1U);
    EXPECT_EQ(closed[0].code, 4009);
    EXPECT_EQ(closed[0].reaction, gw::close_reaction::reidentify);
    EXPECT_EQ(c.shard.state(), gw::shard_state::active);
    EXPECT_EQ(c.count(lifecycle_kind::ready), 2U);
    EXPECT_NE(c.shard.session()->session_id, first);
    EXPECT_EQ(expect_contiguous_sessions(c).size(), 2U);
    EXPECT_EQ(stat(p, "0", "identifies"), 2U);
}

// Fatal close codes
// -------------------------------------------------------------------------------------------------

struct fatal_case {
    const char* name;
    std::uint16_t code;
};

void expect_fatal(pair_driver& p, std::uint16_t code) {
    p.start_all();
    p.run_for(30s);
    auto& c = p.client(0);
    EXPECT_EQ(c.shard.state(), gw::shard_state::fatally_closed);
    const auto fatal = c.events(lifecycle_kind::fatal);
    ASSERT_EQ(fatal.size(), 1U);
    EXPECT_EQ(fatal[0].code, code);
    EXPECT_FALSE(fatal[0].remedy.empty());
    EXPECT_EQ(c.connection_ids.size(), 1U) << "a fatal code must not be retried";
    EXPECT_TRUE(c.dispatches.empty());
}

TEST(pair, bad_token_is_fatal_4004) {
    auto shard = pair_shard_config();
    shard.token = gw::secret("wrong-token");
    pair_driver p(pair_emulator_config(), {shard});
    expect_fatal(p, 4004);
}

TEST(pair, too_many_guilds_is_fatal_4011) {
    auto config = pair_emulator_config();
    config.max_guilds_per_shard = 1;
    pair_driver p(config, {pair_shard_config()});
    expect_fatal(p, 4011);
}

TEST(pair, undocumented_intent_is_fatal_4013) {
    auto shard = pair_shard_config();
    shard.intents |= 1U << 17U;
    pair_driver p(pair_emulator_config(), {shard});
    expect_fatal(p, 4013);
}

TEST(pair, privileged_intent_is_fatal_4014) {
    for (std::uint64_t intent : {std::uint64_t{2}, std::uint64_t{256}, std::uint64_t{32768}}) {
        auto shard = pair_shard_config();
        shard.intents |= intent;
        pair_driver p(pair_emulator_config(), {shard});
        expect_fatal(p, 4014);
    }
}

TEST(pair, invalid_shard_is_fatal_4010) {
    // The client's encoder refuses an invalid `shard` before sending it, so Identify cannot carry
    // one; the emulator's close is injected instead (the 4010 check itself is a connection test).
    pair_driver p(pair_emulator_config(), {pair_shard_config()});
    p.start_all();
    p.run_for(3s);
    p.client(0).conn->inject_close(p.now, 4010);
    p.run_for(30s);
    auto& c = p.client(0);
    EXPECT_EQ(c.shard.state(), gw::shard_state::fatally_closed);
    const auto fatal = c.events(lifecycle_kind::fatal);
    ASSERT_EQ(fatal.size(), 1U);
    EXPECT_EQ(fatal[0].code, 4010);
    EXPECT_EQ(c.connection_ids.size(), 1U);
}

// Many shards through the identify scheduler
// -------------------------------------------------------------------------------------------------

TEST(pair, sixteen_shards_with_max_concurrency_four_never_hit_pacing) {
    auto config = pair_emulator_config();
    config.max_concurrency = 4;
    config.identify_window = 5s;
    config.guilds = 40;
    std::vector<gw::shard_config> shards;
    for (std::uint32_t i = 0; i < 16; ++i) {
        shards.push_back(pair_shard_config(i, 16));
    }
    pair_driver p(config, shards);
    p.start_all();
    p.run_for(30s);
    for (std::uint32_t i = 0; i < 16; ++i) {
        auto& c = p.client(i);
        EXPECT_EQ(c.shard.state(), gw::shard_state::active) << i;
        EXPECT_EQ(c.count(lifecycle_kind::ready), 1U) << i;
        EXPECT_EQ(c.count(lifecycle_kind::invalid_session), 0U) << i;
        EXPECT_EQ(c.dispatches.size(), 1 + routed_guilds(p, i, 16)) << i;
        expect_contiguous_sessions(c);
    }
    EXPECT_EQ(p.world.log_json().find("invalid_session_sent"), std::string::npos);
    EXPECT_TRUE(p.refusals.empty());
}

} // namespace
} // namespace shardgate::test
