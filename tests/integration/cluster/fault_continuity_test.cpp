// Faults under traffic: op 7, op 9 true, op 9 false, a zombie connection (heartbeats no longer
// acknowledged) and a TCP drop on shard 0 of a 2-shard cluster receiving ~50 dispatches/s per
// shard. After the recovery, the dispatch sequence the cluster delivered is checked end to end:
// per shard and session it runs 1, 2, 3, ... without a gap or a duplicate (op 9 false starts a new
// session at s=1), the dispatches between Resume and RESUMED are as many as the emulator says it
// replayed, and a marker dispatched through the control API afterwards arrives with the sequence
// number the emulator gave it.
#include "cluster_harness.hpp"

#include <gtest/gtest.h>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

namespace shardgate::test::cluster_it {
namespace {

using gw::lifecycle_kind;

constexpr auto step_timeout = 15s;
constexpr std::uint32_t shards = 2;
constexpr std::size_t dispatches_before = 20; ///< traffic seen before the fault
constexpr std::size_t dispatches_after = 20;  ///< and after the recovery
constexpr std::string_view marker_t = "SHARDGATE_TEST_MARKER";
/// A flood of this many MESSAGE_CREATEs (~1 KB each) is running when the fault is injected, once
/// the cluster has delivered `flood_seen` of them. The emulator ends a flood with its connection.
constexpr std::uint64_t flood_count = 20'000;
constexpr std::size_t flood_seen = 200;

struct fault_case {
    const char* name;
    const char* target; ///< control API path for shard 0
    const char* body;
    bool new_session; ///< true: the session ends (op 9 false) and READY starts a new one
};

class continuity : public ::testing::TestWithParam<fault_case> {};

std::string fault_name(const ::testing::TestParamInfo<fault_case>& p) {
    return p.param.name;
}

// GoogleTest's customisation point for printing a parameter: the name is fixed.
void PrintTo(const fault_case& f, std::ostream* os) { // NOLINT(readability-identifier-naming)
    *os << f.name;
}

/// Sequence continuity per shard and session, and the markers numbered as the emulator says.
/// Returns shard 0's sessions as text (the last seq of each).
std::string expect_sequences(const record_list& records, const json::array& log, std::size_t mark,
                             bool new_session) {
    std::string sessions_text;
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        const auto sessions = expect_contiguous_sessions(records, shard);
        EXPECT_EQ(sessions.size(), shard == 0 && new_session ? 2U : 1U) << "shard " << shard;
        // The marker arrived with the emulator's number for it, as the last dispatch checked.
        const auto markers = entries(log, 0, "dispatch", shard);
        const auto got = find_record(records, mark, [shard](const recorded& e) {
            return e.is_dispatch() && e.shard == shard && e.name == marker_t;
        });
        EXPECT_EQ(markers.size(), 1U) << excerpt(log);
        EXPECT_TRUE(got.has_value());
        if (markers.size() == 1 && got) {
            EXPECT_EQ(records[*got].seq, markers.front().at("seq").to_number<std::uint64_t>())
                << "shard " << shard;
        }
        for (const auto n : shard == 0 ? sessions : std::vector<std::uint64_t>{}) {
            sessions_text += (sessions_text.empty() ? "" : ", ") + std::to_string(n);
        }
    }
    return sessions_text;
}

/// op 9 false: a new Identify, no Resume. Returns 0 (nothing replayed).
std::uint64_t expect_new_session(const json::array& log, std::size_t fault_at) {
    EXPECT_TRUE(entries(log, fault_at, "resume", 0).empty()) << excerpt(log, fault_at);
    EXPECT_EQ(entries(log, fault_at, "identify", 0).size(), 1U) << excerpt(log, fault_at);
    return 0;
}

/// The other faults: one Resume of the session, no Identify, and every dispatch the emulator
/// replayed reached user code between `resuming` and RESUMED. Returns the replayed count.
std::uint64_t expect_resumed_with_replay(const record_list& records, const json::array& log,
                                         std::size_t fault_at, std::size_t mark) {
    const auto after = excerpt(log, fault_at);
    const auto resumes = entries(log, fault_at, "resume", 0);
    const auto ready = entries(log, 0, "ready", 0);
    EXPECT_EQ(resumes.size(), 1U) << after;
    EXPECT_TRUE(entries(log, fault_at, "identify", 0).empty()) << after;
    if (!resumes.empty() && !ready.empty()) {
        EXPECT_EQ(resumes.front().at("session_id"), ready.front().at("session_id")) << after;
    }
    const auto replay = entries(log, fault_at, "replay", 0);
    const auto resuming = find_record(
        records, mark, [](const recorded& e) { return e.is(lifecycle_kind::resuming, 0); });
    EXPECT_EQ(replay.size(), 1U) << after;
    EXPECT_TRUE(resuming.has_value());
    if (replay.size() != 1 || !resuming) {
        return 0;
    }
    const auto replayed = replay.front().at("count").to_number<std::uint64_t>();
    std::uint64_t delivered = 0;
    for (auto i = *resuming; i < records.size(); ++i) {
        if (records[i].is_dispatch() && records[i].shard == 0) {
            if (records[i].name == "RESUMED") {
                break;
            }
            ++delivered;
        }
    }
    EXPECT_EQ(delivered, replayed) << "dispatches delivered between Resume and RESUMED";
    return replayed;
}

TEST_P(continuity, across_the_recovery) {
    const fault_case fault = GetParam();
    emulator_settings s;
    s.shards = shards;
    s.max_concurrency = shards;
    s.traffic_per_second = 50;
    running_emulator emu(s);
    cluster_runner run(cluster_options_for(emu, shards, shards, gw::compression::zlib_stream));

    // Both shards READY and traffic flowing on shard 0.
    ASSERT_TRUE(run.events().wait_for(
        [](const record_list& r) {
            return count_shards_with(r, lifecycle_kind::ready) == shards &&
                   count_dispatches(r, 0) >= dispatches_before;
        },
        step_timeout))
        << "no READY or no traffic";
    // A flood in flight when the fault hits: frames the emulator numbered but the client never got
    // (cut with the TCP connection, or arriving after the client decided to reconnect) must come
    // back through the replay, not go missing.
    run.events().drop_data(true);
    const auto flood_mark = run.events().size();
    const auto f = emu.post("/_emulator/flood", R"({"t":"MESSAGE_CREATE","count":)" +
                                                    std::to_string(flood_count) + R"(,"shard":0})");
    ASSERT_EQ(f.status, 200U) << f.body;
    ASSERT_TRUE(run.events().wait_for(
        [&](const record_list& rs) { return count_dispatches(rs, 0, flood_mark) >= flood_seen; },
        step_timeout))
        << "the flood did not start";
    const auto mark = run.events().size();
    const auto r = emu.post(fault.target, fault.body);
    ASSERT_EQ(r.status, 200U) << fault.target << ": " << r.body;

    // Recovery: RESUMED (or READY for a new session), then more traffic on the new connection.
    const auto recovered = [&](const recorded& e) {
        return e.shard == 0 &&
               (fault.new_session ? e.is(lifecycle_kind::ready) : e.is(lifecycle_kind::resumed));
    };
    ASSERT_TRUE(run.events().wait_for(
        [&](const record_list& rs) {
            const auto at = find_record(rs, mark, recovered);
            return at && count_dispatches(rs, 0, *at) >= dispatches_after;
        },
        step_timeout))
        << "shard 0 did not recover with traffic after " << fault.name << ":\n"
        << excerpt(emu.log());

    // A marker on each shard: the last events checked are ones the emulator numbered for us.
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        const auto m = emu.post("/_emulator/dispatch",
                                R"({"t":")" + std::string(marker_t) + R"(","d":{"fault":")" +
                                    fault.name + R"("},"shard":)" + std::to_string(shard) + "}");
        ASSERT_EQ(m.status, 200U) << m.body;
    }
    ASSERT_TRUE(run.events().wait_for(
        [&](const record_list& rs) {
            std::uint32_t seen = 0;
            for (std::size_t i = mark; i < rs.size(); ++i) {
                seen += rs[i].is_dispatch() && rs[i].name == marker_t ? 1U : 0U;
            }
            return seen == shards;
        },
        step_timeout))
        << "the markers did not arrive";

    const auto records = run.events().snapshot();
    const auto log = emu.log();
    const auto fault_at = find_injected_fault(log, 0);
    ASSERT_TRUE(fault_at.has_value()) << excerpt(log);
    const auto sessions_text = expect_sequences(records, log, mark, fault.new_session);
    const auto replayed = fault.new_session
                              ? expect_new_session(log, *fault_at)
                              : expect_resumed_with_replay(records, log, *fault_at, mark);
    // Shard 1 was not disturbed.
    EXPECT_FALSE(find_record(records, 0, [](const recorded& e) {
                     return e.shard == 1 && e.kind == recorded::type::lifecycle &&
                            (e.event == lifecycle_kind::closed ||
                             e.event == lifecycle_kind::resuming);
                 }).has_value());

    std::cout << "continuity | " << fault.name << " | "
              << (fault.new_session ? "identify" : "resume")
              << " | shard 0 sessions (last seq each): " << sessions_text << " | replayed "
              << replayed
              << " | no gap, no duplicate: " << (::testing::Test::HasFailure() ? "NO" : "yes")
              << std::endl;
}

INSTANTIATE_TEST_SUITE_P(
    cluster_faults, continuity,
    ::testing::Values(fault_case{"op7_reconnect", "/_emulator/shards/0/reconnect", "", false},
                      fault_case{"op9_resumable", "/_emulator/shards/0/invalidate",
                                 R"({"resumable":true})", false},
                      fault_case{"op9_not_resumable", "/_emulator/shards/0/invalidate",
                                 R"({"resumable":false})", true},
                      fault_case{"zombie", "/_emulator/shards/0/zombie", "", false},
                      fault_case{"tcp_drop", "/_emulator/shards/0/drop", "", false}),
    fault_name);

} // namespace
} // namespace shardgate::test::cluster_it
