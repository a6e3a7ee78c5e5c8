// Starting and stopping: `stop()` from another thread while shards are live closes them with 1000
// (the emulator's log shows the client's close code) and makes `run` return `stopped`; `stop()`
// after `run` returned by itself (every shard fatal) is harmless. Repeated, since a race between
// `stop()` and the end of `run` only shows now and then.
#include "cluster_harness.hpp"

#include <gtest/gtest.h>

namespace shardgate::test::cluster_it {
namespace {

using gw::lifecycle_kind;

constexpr auto step_timeout = 15s;
constexpr int rounds = 20;

TEST(cluster_lifecycle, stop_while_running_closes_with_1000_and_returns_stopped) {
    emulator_settings s;
    s.traffic_per_second = 50;
    for (int round = 0; round < rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        running_emulator emu(s); // each round its own: a new cluster knows no earlier Identify
        const std::size_t log_from = 0;
        cluster_runner run(cluster_options_for(emu, 1, 1, gw::compression::zlib_stream));
        ASSERT_TRUE(run.events().wait_for(
            [](const record_list& r) {
                return count_shards_with(r, lifecycle_kind::ready) == 1 &&
                       count_dispatches(r, 0) > 0;
            },
            step_timeout));
        run.stop(); // bounded: aborts with a message if run() does not return
        ASSERT_TRUE(run.result().has_value());
        EXPECT_EQ(*run.result(), io::cluster_exit::stopped);
        const auto log = emu.log();
        const auto closes = entries(log, log_from, "client_close", 0);
        ASSERT_EQ(closes.size(), 1U) << excerpt(log, log_from);
        EXPECT_EQ(closes.front().at("code").to_number<int>(), 1000) << excerpt(log, log_from);
    }
}

TEST(cluster_lifecycle, stop_after_run_returned_is_harmless) {
    for (int round = 0; round < rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        running_emulator emu(emulator_settings{});
        cluster_runner run(cluster_options_for(emu, 1, 1, gw::compression::none));
        ASSERT_TRUE(run.events().wait_for(
            [](const record_list& r) { return count_shards_with(r, lifecycle_kind::ready) == 1; },
            step_timeout));
        ASSERT_EQ(emu.post("/_emulator/shards/0/close", R"({"code":4004})").status, 200U);
        const auto exit = run.wait_exit(step_timeout);
        ASSERT_TRUE(exit.has_value());
        EXPECT_EQ(*exit, io::cluster_exit::all_fatal);
        run.cluster().stop();
        run.cluster().stop();
        EXPECT_EQ(run.cluster().status().size(), 1U);
    }
}

TEST(cluster_lifecycle, stop_before_run_makes_run_return_at_once) {
    running_emulator emu(emulator_settings{});
    io::cluster c(cluster_options_for(emu, 1, 1, gw::compression::none));
    c.stop();
    std::error_code ec;
    std::string detail;
    EXPECT_EQ(c.run(ec, detail), io::cluster_exit::stopped) << ec.message() << " " << detail;
    EXPECT_TRUE(emu.log().empty());
}

} // namespace
} // namespace shardgate::test::cluster_it
