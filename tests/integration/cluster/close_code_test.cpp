// Every close code of the policy table, injected through the control API on the shard of a
// 1-shard cluster at READY, gives the documented reaction as the emulator's log shows it:
// - resume: a Resume (op 6) of the same session on a new connection, no new Identify;
// - reidentify: a new Identify, no Resume;
// - fatal: the client's `fatal` event with the code and its remedy, `run` returns `all_fatal`, and
//   the emulator sees no new connection.
// 1006 cannot be sent as a close frame: it is the drop of the TCP connection (`/drop`).
//
// Traffic flows meanwhile (50 dispatches/s) and the sequence delivered is checked per session.
// Each test prints `close-code reaction | CODE NAME | expected X | observed Y`: the measured table.
#include "cluster_harness.hpp"

#include <gtest/gtest.h>
#include <iostream>
#include <string>
#include <vector>

namespace shardgate::test::cluster_it {
namespace {

using gw::close_reaction;
using gw::lifecycle_kind;

constexpr auto step_timeout = 15s;

/// What the emulator logged from the injected fault on, and what the cluster delivered.
struct aftermath {
    json::array log;
    std::size_t fault = 0; ///< index of the `fault` entry in `log`
    record_list records;
    std::size_t mark = 0; ///< index of the first record after the fault was injected
    std::string session;  ///< the session READY started before the fault
    [[nodiscard]] std::vector<json::object> after(std::string_view event) const {
        return entries(log, fault, event);
    }
    [[nodiscard]] std::string excerpt_after() const { return excerpt(log, fault); }
};

/// Resume codes: op 6 for the same session, RESUMED, no Identify.
std::string expect_resumed(const aftermath& a) {
    const auto resumes = a.after("resume");
    const auto identifies = a.after("identify");
    EXPECT_EQ(resumes.size(), 1U) << "Resumes after the close:\n" << a.excerpt_after();
    EXPECT_TRUE(identifies.empty()) << "an Identify after a resumable close:\n"
                                    << a.excerpt_after();
    EXPECT_FALSE(a.after("resumed").empty()) << a.excerpt_after();
    if (resumes.empty() || !identifies.empty()) {
        return "?";
    }
    EXPECT_EQ(resumes.front().at("session_id").as_string(), a.session) << a.excerpt_after();
    EXPECT_FALSE(find_record(a.records, a.mark, [](const recorded& e) {
                     return e.is(lifecycle_kind::identifying) || e.is(lifecycle_kind::ready);
                 }).has_value());
    const auto replay = a.after("replay");
    const auto replayed =
        replay.empty() ? 0 : replay.front().at("count").to_number<std::uint64_t>();
    return "resume (op 6, same session, replayed " + std::to_string(replayed) + ")";
}

/// Re-identify codes: a new Identify and READY, no Resume.
std::string expect_reidentified(const aftermath& a) {
    const auto resumes = a.after("resume");
    const auto identifies = a.after("identify");
    EXPECT_FALSE(identifies.empty()) << "no Identify after the close:\n" << a.excerpt_after();
    EXPECT_TRUE(resumes.empty()) << "a Resume after a close that ends the session:\n"
                                 << a.excerpt_after();
    const auto ready = a.after("ready");
    EXPECT_EQ(ready.size(), 1U) << a.excerpt_after();
    if (identifies.empty() || !resumes.empty() || ready.empty()) {
        return "?";
    }
    EXPECT_NE(ready.front().at("session_id").as_string(), a.session);
    return "identify (op 2, new session)";
}

/// Fatal codes: the `fatal` event names the code and the remedy; nothing connects again.
std::string expect_stopped(const aftermath& a, const gw::close_policy& policy) {
    const auto connects = a.after("connect");
    EXPECT_TRUE(connects.empty()) << "the shard reconnected after a fatal close:\n"
                                  << a.excerpt_after();
    const auto fatal = find_record(a.records, a.mark,
                                   [](const recorded& e) { return e.is(lifecycle_kind::fatal); });
    if (!fatal) {
        ADD_FAILURE() << "no fatal event";
        return "?";
    }
    const auto& e = a.records[*fatal];
    EXPECT_EQ(e.code, policy.code);
    EXPECT_EQ(e.close_name, policy.name);
    EXPECT_EQ(e.remedy, policy.remedy);
    EXPECT_FALSE(e.remedy.empty());
    return connects.empty() ? "stop (fatal event with remedy, run() = all_fatal, no reconnect)"
                            : "?";
}

/// The parameter is the close code (a number prints well in test names and ctest output).
class close_code_reaction : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(close_code_reaction, matches_the_policy) {
    const gw::close_policy policy = gw::policy_for(GetParam());
    emulator_settings s;
    s.traffic_per_second = 50; // so that a resume has something to replay now and then
    running_emulator emu(s);
    cluster_runner run(cluster_options_for(emu, 1, 1, gw::compression::zlib_stream));
    ASSERT_TRUE(wait_for_record(
        run.events(), 0, [](const recorded& e) { return e.is(lifecycle_kind::ready, 0); },
        step_timeout))
        << "no READY";

    aftermath a;
    const auto before = emu.log();
    const auto ready = entries(before, 0, "ready", 0);
    ASSERT_EQ(ready.size(), 1U) << excerpt(before);
    a.session = std::string(ready.front().at("session_id").as_string());
    a.mark = run.events().size();
    const auto r = policy.code == 1006
                       ? emu.post("/_emulator/shards/0/drop")
                       : emu.post("/_emulator/shards/0/close",
                                  R"({"code":)" + std::to_string(policy.code) + "}");
    ASSERT_EQ(r.status, 200U) << r.body;

    // The client saw the close and chose a reaction.
    const auto closed = wait_for_record(
        run.events(), a.mark, [](const recorded& e) { return e.is(lifecycle_kind::closed, 0); },
        step_timeout);
    ASSERT_TRUE(closed.has_value()) << "no `closed` event after the injected close";
    // Then its outcome: a session again, or the fatal stop.
    const auto settled = [&](const recorded& e) {
        return policy.reaction == close_reaction::fatal
                   ? e.is(lifecycle_kind::fatal, 0)
                   : e.is(lifecycle_kind::resumed, 0) || e.is(lifecycle_kind::ready, 0);
    };
    ASSERT_TRUE(wait_for_record(run.events(), a.mark, settled, step_timeout).has_value())
        << "no " << (policy.reaction == close_reaction::fatal ? "fatal event" : "RESUMED or READY")
        << " after the close";
    if (policy.reaction == close_reaction::fatal) {
        // The absence of a reconnect is observed through `run` returning: once it has, the
        // cluster's threads are gone and nothing can connect again, so the emulator's log read
        // afterwards covers all time, not just an observation window. The wait is bounded; no
        // sleep is involved.
        const auto exit = run.wait_exit(step_timeout);
        ASSERT_TRUE(exit.has_value()) << "run() did not return after the only shard's fatal close";
        EXPECT_EQ(*exit, io::cluster_exit::all_fatal);
    }

    a.records = run.events().snapshot();
    EXPECT_EQ(a.records[*closed].code, policy.code) << a.records[*closed].describe();
    EXPECT_EQ(a.records[*closed].reaction, policy.reaction) << a.records[*closed].describe();
    a.log = emu.log();
    const auto fault = find_injected_fault(a.log, 0);
    ASSERT_TRUE(fault.has_value()) << excerpt(a.log);
    a.fault = *fault;

    std::string observed;
    switch (policy.reaction) {
    case close_reaction::resume: observed = expect_resumed(a); break;
    case close_reaction::reidentify: observed = expect_reidentified(a); break;
    case close_reaction::fatal: observed = expect_stopped(a, policy); break;
    }
    // Whatever the reaction, the dispatches delivered run without a gap or a duplicate within
    // each session; only a re-identify starts a second one.
    const auto sessions = expect_contiguous_sessions(a.records, 0);
    EXPECT_EQ(sessions.size(), policy.reaction == close_reaction::reidentify ? 2U : 1U);
    std::cout << "close-code reaction | " << policy.code << ' ' << policy.name << " | expected "
              << gw::to_string(policy.reaction) << " | observed " << observed << std::endl;
}

std::string code_name(const ::testing::TestParamInfo<std::uint16_t>& info) {
    return "c" + std::to_string(info.param) + "_" +
           std::string(gw::to_string(gw::policy_for(info.param).reaction));
}

std::vector<std::uint16_t> every_code() {
    std::vector<std::uint16_t> codes;
    for (const auto& p : gw::all_close_policies()) {
        codes.push_back(p.code);
    }
    return codes;
}

INSTANTIATE_TEST_SUITE_P(cluster_close_codes, close_code_reaction,
                         ::testing::ValuesIn(every_code()), code_name);

} // namespace
} // namespace shardgate::test::cluster_it
