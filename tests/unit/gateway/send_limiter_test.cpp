#include "shardgate/gateway/send_limiter.hpp"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace shardgate::gateway {
namespace {

using namespace std::chrono_literals;

const time_point t0 = time_point{} + 1h;

TEST(send_limiter, commands_burst_to_limit_minus_reserve_then_wait) {
    send_limiter limiter;
    for (int i = 0; i < 117; ++i) {
        const time_point now = t0 + milliseconds{i};
        ASSERT_EQ(limiter.ready_at(send_kind::user_command, now), now) << "command " << i;
        limiter.record(send_kind::user_command, now);
    }
    const time_point now = t0 + 200ms;
    EXPECT_EQ(limiter.in_window(now), 117U);
    // The 118th waits until the oldest (sent at t0) leaves the window at t0 + 60 s.
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, now), t0 + 60s);
    EXPECT_EQ(limiter.ready_at(send_kind::presence, now), t0 + 60s);
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 60s - 1ms), t0 + 60s);
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 60s), t0 + 60s);
    limiter.record(send_kind::user_command, t0 + 60s);
    // The next one waits for the second oldest, sent at t0 + 1 ms.
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 60s), t0 + 60s + 1ms);
}

TEST(send_limiter, ready_time_is_when_the_oldest_blocking_frame_leaves) {
    send_limiter_config config;
    config.frames_per_window = 10;
    config.heartbeat_reserve = 2;
    send_limiter limiter{config};
    // Eight commands at 0, 5, 10, ... 35 s fill the 8 command slots.
    for (int i = 0; i < 8; ++i) {
        limiter.record(send_kind::user_command, t0 + i * 5s);
    }
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 40s), t0 + 60s);
    // At 62 s the first has left, so a command may go at once.
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 62s), t0 + 62s);
    // Two heartbeats fill the window (8 commands + 2); now every kind waits for the oldest frame.
    limiter.record(send_kind::heartbeat, t0 + 41s);
    limiter.record(send_kind::heartbeat, t0 + 42s);
    EXPECT_EQ(limiter.ready_at(send_kind::heartbeat, t0 + 43s), t0 + 60s);
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 43s), t0 + 60s);
    limiter.record(send_kind::user_command, t0 + 60s);
    // Full again (8 commands from 5 s to 60 s, 2 heartbeats): both wait for the frame from 5 s.
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 60s), t0 + 65s);
    EXPECT_EQ(limiter.ready_at(send_kind::heartbeat, t0 + 60s), t0 + 65s);
}

TEST(send_limiter, heartbeats_do_not_eat_into_the_command_share) {
    send_limiter limiter;
    for (int i = 0; i < 3; ++i) {
        limiter.record(send_kind::heartbeat, t0);
    }
    for (int i = 0; i < 117; ++i) {
        ASSERT_EQ(limiter.ready_at(send_kind::user_command, t0 + 1s), t0 + 1s) << "command " << i;
        limiter.record(send_kind::user_command, t0 + 1s);
    }
    EXPECT_EQ(limiter.in_window(t0 + 1s), 120U);
    // Full: a heartbeat waits for the heartbeats from t0, a command for the commands from t0 + 1 s.
    EXPECT_EQ(limiter.ready_at(send_kind::heartbeat, t0 + 2s), t0 + 60s);
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 2s), t0 + 61s);
}

TEST(send_limiter, in_window_is_half_open) {
    send_limiter limiter;
    limiter.record(send_kind::user_command, t0);
    EXPECT_EQ(limiter.in_window(t0 - 1ms), 0U);
    EXPECT_EQ(limiter.in_window(t0), 1U);
    EXPECT_EQ(limiter.in_window(t0 + 60s - 1ms), 1U);
    EXPECT_EQ(limiter.in_window(t0 + 60s), 0U);
}

TEST(send_limiter, presence_five_per_twenty_seconds) {
    send_limiter limiter;
    for (int i = 0; i < 5; ++i) {
        const time_point now = t0 + i * 1s;
        ASSERT_EQ(limiter.ready_at(send_kind::presence, now), now);
        limiter.record(send_kind::presence, now);
    }
    EXPECT_EQ(limiter.ready_at(send_kind::presence, t0 + 5s), t0 + 20s);
    // Other commands are unaffected.
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0 + 5s), t0 + 5s);
    limiter.record(send_kind::presence, t0 + 20s);
    EXPECT_EQ(limiter.ready_at(send_kind::presence, t0 + 20s), t0 + 21s);
    // Presences count toward the frame limit too.
    EXPECT_EQ(limiter.in_window(t0 + 20s), 6U);
}

TEST(send_limiter, heartbeats_go_through_when_commands_are_blocked) {
    send_limiter limiter;
    for (int i = 0; i < 117; ++i) {
        limiter.record(send_kind::user_command, t0);
    }
    ASSERT_GT(limiter.ready_at(send_kind::user_command, t0 + 1s), t0 + 1s);
    for (int i = 0; i < 3; ++i) {
        const time_point now = t0 + 1s + i * 1s;
        ASSERT_EQ(limiter.ready_at(send_kind::heartbeat, now), now) << "heartbeat " << i;
        limiter.record(send_kind::heartbeat, now);
    }
    // The reserve is used up as well; the window is full.
    EXPECT_EQ(limiter.in_window(t0 + 4s), 120U);
    EXPECT_EQ(limiter.ready_at(send_kind::heartbeat, t0 + 4s), t0 + 60s);
}

TEST(send_limiter, reset_forgets_the_previous_connection) {
    send_limiter limiter;
    for (int i = 0; i < 5; ++i) {
        limiter.record(send_kind::presence, t0);
    }
    for (int i = 0; i < 112; ++i) {
        limiter.record(send_kind::user_command, t0);
    }
    ASSERT_GT(limiter.ready_at(send_kind::user_command, t0), t0);
    limiter.reset();
    EXPECT_EQ(limiter.in_window(t0), 0U);
    EXPECT_EQ(limiter.ready_at(send_kind::presence, t0), t0);
}

TEST(send_limiter, heartbeat_reserve_for_interval) {
    EXPECT_EQ(heartbeat_reserve_for(41'250ms), 4U); // ceil(60 / 41.25) = 2, + op 1 + identify
    EXPECT_EQ(heartbeat_reserve_for(60'000ms), 3U);
    EXPECT_EQ(heartbeat_reserve_for(30'000ms), 4U);
    EXPECT_EQ(heartbeat_reserve_for(5'000ms), 14U);
    EXPECT_EQ(heartbeat_reserve_for(0ms), 120U);
}

TEST(send_limiter, reserve_is_clamped_so_commands_still_flow) {
    send_limiter limiter;
    limiter.set_heartbeat_reserve(heartbeat_reserve_for(100ms));
    EXPECT_EQ(limiter.heartbeat_reserve(), 119U);
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0), t0);
    limiter.record(send_kind::user_command, t0);
    EXPECT_EQ(limiter.ready_at(send_kind::user_command, t0), t0 + 60s);
}

TEST(send_limiter, ring_wraps_over_many_windows) {
    send_limiter limiter;
    // 10 000 commands, each as early as allowed; the ring of 120 wraps many times.
    time_point now = t0;
    std::vector<time_point> sent;
    for (int i = 0; i < 10'000; ++i) {
        now = std::max(now, limiter.ready_at(send_kind::user_command, now));
        limiter.record(send_kind::user_command, now);
        sent.push_back(now);
    }
    // Frame i + 117 goes exactly when frame i leaves the window.
    for (std::size_t i = 0; i + 117 < sent.size(); ++i) {
        ASSERT_EQ(sent[i + 117], sent[i] + 60s) << i;
    }
}

// ----- Property test: a flood against the limiter for one simulated hour. -----

struct frame {
    time_point at;
    send_kind kind;
};

struct flood_result {
    std::vector<frame> log;
    std::size_t commands = 0; // commands and presences
    std::size_t heartbeats = 0;
    std::size_t late_heartbeats = 0;
};

flood_result run_flood(std::uint32_t seed, milliseconds interval) {
    std::mt19937 rng{seed};
    std::uniform_real_distribution<double> unit{0.0, 1.0};
    std::uniform_int_distribution<int> op1_gap_ms{61'000, 600'000}; // at most one per window
    std::uniform_int_distribution<int> pause_ms{0, 1'999};

    send_limiter limiter;
    limiter.set_heartbeat_reserve(heartbeat_reserve_for(interval));
    const time_point end = t0 + 1h;
    flood_result result;
    const auto send = [&](send_kind kind, time_point now) {
        limiter.record(kind, now);
        result.log.push_back({now, kind});
    };

    // Hello, then Identify at once and the first heartbeat after interval * jitter.
    send(send_kind::heartbeat, t0);
    time_point heartbeat_due =
        t0 +
        milliseconds{static_cast<std::int64_t>(unit(rng) * static_cast<double>(interval.count()))};
    time_point op1_due = t0 + milliseconds{op1_gap_ms(rng)};
    time_point app_free_at = t0; // the application offers its next frame from here on
    time_point now = t0;
    while (now < end) {
        // Heartbeat-priority frames first, at exactly their due time.
        if (heartbeat_due <= now || op1_due <= now) {
            const bool scheduled = heartbeat_due <= now;
            const time_point due = scheduled ? heartbeat_due : op1_due;
            if (limiter.ready_at(send_kind::heartbeat, due) > due || due != now) {
                ++result.late_heartbeats;
            }
            send(send_kind::heartbeat, now);
            ++result.heartbeats;
            if (scheduled) {
                heartbeat_due += interval;
            } else {
                op1_due += milliseconds{op1_gap_ms(rng)};
            }
            continue;
        }
        // The application always has both commands and presences queued.
        const time_point command_at =
            std::max(app_free_at, limiter.ready_at(send_kind::user_command, now));
        const time_point presence_at =
            std::max(app_free_at, limiter.ready_at(send_kind::presence, now));
        const bool command_ready = command_at <= now;
        const bool presence_ready = presence_at <= now;
        if (command_ready || presence_ready) {
            const bool presence = presence_ready && (!command_ready || unit(rng) < 0.3);
            send(presence ? send_kind::presence : send_kind::user_command, now);
            ++result.commands;
            if (unit(rng) < 0.1) {
                app_free_at = now + milliseconds{pause_ms(rng)};
            }
            continue;
        }
        now = std::min({heartbeat_due, op1_due, command_at, presence_at});
    }
    return result;
}

// The most frames (or presences) in any window (t - window, t].
std::size_t max_in_any_window(const std::vector<frame>& log, milliseconds window,
                              bool presences_only) {
    std::vector<time_point> times;
    for (const auto& f : log) {
        if (!presences_only || f.kind == send_kind::presence) {
            times.push_back(f.at);
        }
    }
    // Any window's count is at most that of the window ending at its last frame, so checking the
    // windows that end at each frame covers them all.
    std::size_t most = 0;
    std::size_t first = 0;
    for (std::size_t last = 0; last < times.size(); ++last) {
        while (times[first] <= times[last] - window) {
            ++first;
        }
        most = std::max(most, last - first + 1);
    }
    return most;
}

class send_limiter_flood : public ::testing::TestWithParam<std::tuple<std::uint32_t, int>> {};

TEST_P(send_limiter_flood, never_exceeds_limits_and_never_delays_heartbeats) {
    const auto [seed, interval_ms] = GetParam();
    const milliseconds interval{interval_ms};
    const flood_result r = run_flood(seed, interval);

    ASSERT_TRUE(std::is_sorted(r.log.begin(), r.log.end(),
                               [](const frame& a, const frame& b) { return a.at < b.at; }));
    EXPECT_LE(max_in_any_window(r.log, 60s, false), 120U);            // (a)
    EXPECT_EQ(r.late_heartbeats, 0U);                                 // (b)
    EXPECT_GE(r.heartbeats, static_cast<std::size_t>(1h / interval)); // all of them were sent
    EXPECT_LE(max_in_any_window(r.log, 20s, true), 5U);               // (c)
    // (d) The commands may use 120 - reserve slots of each of the hour's 60 windows.
    const std::size_t theoretical = (120 - heartbeat_reserve_for(interval)) * 60;
    EXPECT_GE(r.commands * 100, theoretical * 95) << r.commands << " of " << theoretical;
    EXPECT_LE(r.commands, theoretical);
    RecordProperty("commands_sent", static_cast<int>(r.commands));
    RecordProperty("theoretical_max", static_cast<int>(theoretical));
}

INSTANTIATE_TEST_SUITE_P(seeds_and_intervals, send_limiter_flood,
                         ::testing::Combine(::testing::Values(1U, 7U, 42U, 2024U, 31337U),
                                            ::testing::Values(41'250, 5'000)),
                         [](const auto& test_param) {
                             return "seed_" + std::to_string(std::get<0>(test_param.param)) +
                                    "_interval_" + std::to_string(std::get<1>(test_param.param)) +
                                    "ms";
                         });

TEST(send_limiter, requested_heartbeats_never_take_the_reserve) {
    send_limiter limiter({.frames_per_window = 10, .heartbeat_reserve = 4});
    int answered = 0;
    for (int i = 0; i < 50; ++i) {
        if (limiter.ready_at(send_kind::requested_heartbeat, t0) <= t0) {
            limiter.record(send_kind::requested_heartbeat, t0);
            ++answered;
        }
    }
    EXPECT_EQ(answered, 6);
    // The four reserved slots are all there for beats, Identify and Resume.
    for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(limiter.ready_at(send_kind::heartbeat, t0), t0) << i;
        limiter.record(send_kind::heartbeat, t0);
    }
    EXPECT_EQ(limiter.ready_at(send_kind::heartbeat, t0), t0 + 60s);
    // Requested beats do not count as commands: the commands' six slots stay theirs.
    send_limiter fresh({.frames_per_window = 10, .heartbeat_reserve = 4});
    fresh.record(send_kind::requested_heartbeat, t0);
    fresh.record(send_kind::requested_heartbeat, t0);
    for (int i = 0; i < 6; ++i) {
        ASSERT_EQ(fresh.ready_at(send_kind::user_command, t0), t0) << i;
        fresh.record(send_kind::user_command, t0);
    }
    EXPECT_EQ(fresh.ready_at(send_kind::user_command, t0), t0 + 60s);
}

} // namespace
} // namespace shardgate::gateway
