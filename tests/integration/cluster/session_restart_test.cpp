// Session state out and in: a cluster of 4 shards under traffic is stopped without ending its
// sessions (close_mode::keep_session: 4900), and a second cluster started from what `on_session`
// reported resumes every shard: no Identify, no READY, and per shard the two runs' dispatches
// together number 1, 2, 3, ... with no gap and no duplicate (what happened while no process was
// connected is replayed).
#include "cluster_harness.hpp"

#include <gtest/gtest.h>
#include <map>
#include <mutex>

namespace shardgate::test::cluster_it {
namespace {

using gw::lifecycle_kind;

constexpr std::uint32_t shards = 4;
constexpr auto step_timeout = 20s;

/// The last session state each shard reported, as a process would save it.
struct saved_sessions {
    std::mutex mutex;
    std::map<std::uint32_t, gw::session_state> states;
    std::size_t reports = 0;

    void attach(io::cluster& c) {
        c.on_session([this](std::uint32_t shard, const std::optional<gw::session_state>& s) {
            const std::scoped_lock lock(mutex);
            ++reports;
            if (s) {
                states[shard] = *s;
            } else {
                states.erase(shard);
            }
        });
    }
};

std::size_t dispatches_of(const record_list& r, std::uint32_t shard) {
    return count_dispatches(r, shard);
}

TEST(session_restart, a_cluster_restarted_from_saved_sessions_resumes_every_shard_without_a_gap) {
    emulator_settings settings;
    settings.shards = shards;
    settings.max_concurrency = shards;
    settings.traffic_per_second = 40;
    running_emulator emu(settings);

    saved_sessions saved;
    record_list first_run;
    {
        cluster_runner first(cluster_options_for(emu, shards, shards, gw::compression::zlib_stream),
                             [&](io::cluster& c) { saved.attach(c); });
        ASSERT_TRUE(first.events().wait_for(
            [](const record_list& r) {
                for (std::uint32_t s = 0; s < shards; ++s) {
                    if (count_dispatches(r, s) < 20) {
                        return false;
                    }
                }
                return true;
            },
            step_timeout))
            << "the first run did not get traffic on every shard";
        first.cluster().stop(gw::close_mode::keep_session);
        ASSERT_EQ(first.wait_exit(step_timeout), io::cluster_exit::stopped);
        first_run = first.events().snapshot();
    }
    const auto identifies_before = emu.stats().at("totals").at("identifies").to_number<int>();
    EXPECT_EQ(identifies_before, static_cast<int>(shards));

    io::cluster_options options =
        cluster_options_for(emu, shards, shards, gw::compression::zlib_stream);
    {
        const std::scoped_lock lock(saved.mutex);
        ASSERT_EQ(saved.states.size(), shards) << "a shard's session was not reported";
        options.resume = saved.states;
        for (std::uint32_t s = 0; s < shards; ++s) {
            // What on_session reported last is the last dispatch delivered.
            std::uint64_t last = 0;
            for (const auto& e : first_run) {
                if (e.is_dispatch() && e.shard == s) {
                    last = e.seq;
                }
            }
            EXPECT_EQ(saved.states[s].seq, last) << "shard " << s;
        }
    }
    const auto log_mark = emu.log().size();
    record_list second_run;
    {
        cluster_runner second(std::move(options));
        ASSERT_TRUE(second.events().wait_for(
            [](const record_list& r) {
                if (count_shards_with(r, lifecycle_kind::resumed) != shards) {
                    return false;
                }
                for (std::uint32_t s = 0; s < shards; ++s) {
                    if (dispatches_of(r, s) < 10) {
                        return false;
                    }
                }
                return true;
            },
            step_timeout))
            << "not every shard resumed";
        second.stop();
        second_run = second.events().snapshot();
    }

    EXPECT_EQ(count_shards_with(second_run, lifecycle_kind::ready), 0U);
    EXPECT_EQ(count_shards_with(second_run, lifecycle_kind::identifying), 0U);
    const auto log = emu.log();
    EXPECT_TRUE(entries(log, log_mark, "identify").empty()) << excerpt(log, log_mark);
    EXPECT_EQ(entries(log, log_mark, "resume").size(), shards) << excerpt(log, log_mark);
    EXPECT_EQ(emu.stats().at("totals").at("identifies").to_number<int>(), identifies_before);

    // Both runs together: every shard's one session numbered 1, 2, 3, ... once each.
    record_list both = first_run;
    both.insert(both.end(), second_run.begin(), second_run.end());
    for (std::uint32_t s = 0; s < shards; ++s) {
        const auto sessions = expect_contiguous_sessions(both, s);
        EXPECT_EQ(sessions.size(), 1U) << "shard " << s;
    }
}

} // namespace
} // namespace shardgate::test::cluster_it
