#include "shardgate/gateway/backoff.hpp"

#include <gtest/gtest.h>
#include <limits>
#include <vector>

namespace shardgate::gateway {
namespace {

using namespace std::chrono_literals;

std::vector<milliseconds> delays(reconnect_backoff& backoff, double random01, int count) {
    std::vector<milliseconds> out;
    for (int i = 0; i < count; ++i) {
        out.push_back(backoff.next_delay(random01));
    }
    return out;
}

TEST(reconnect_backoff, lowest_delays_are_half_the_ceiling) {
    reconnect_backoff backoff;
    const std::vector<milliseconds> expected{0ms,    500ms,   1000ms,  2000ms, 4000ms,
                                             8000ms, 16000ms, 30000ms, 30000ms};
    EXPECT_EQ(delays(backoff, 0.0, 9), expected);
    EXPECT_EQ(backoff.attempts(), 9U);
}

TEST(reconnect_backoff, highest_delays_reach_the_cap_and_hold) {
    reconnect_backoff backoff;
    const std::vector<milliseconds> expected{500ms,   1000ms,  2000ms,  4000ms, 8000ms,
                                             16000ms, 32000ms, 60000ms, 60000ms};
    EXPECT_EQ(delays(backoff, 1.0, 9), expected);
    // Just below 1 gives the ceiling too: [0, 1) is spread over every whole millisecond.
    EXPECT_EQ(backoff.next_delay(0.999999999), 60000ms);
    EXPECT_EQ(backoff.next_delay(0.5), 45000ms);
}

TEST(reconnect_backoff, reset_reconnects_at_once) {
    reconnect_backoff backoff;
    (void)delays(backoff, 0.5, 5);
    backoff.reset();
    EXPECT_EQ(backoff.attempts(), 0U);
    EXPECT_EQ(backoff.next_delay(0.9), 450ms);
    EXPECT_EQ(backoff.next_delay(0.0), 500ms);
}

TEST(reconnect_backoff, the_first_reconnect_is_jittered_so_shards_dropped_together_spread) {
    // A gateway node going away drops many shards in the same instant: at once, they would all
    // reconnect (and resume) in one burst.
    std::vector<milliseconds> first;
    for (int i = 0; i < 11; ++i) {
        reconnect_backoff backoff;
        first.push_back(backoff.next_delay(i / 10.0));
    }
    EXPECT_EQ(first.front(), 0ms);
    EXPECT_EQ(first[5], 250ms);
    EXPECT_EQ(first.back(), 500ms);
    reconnect_backoff at_once({.first_jitter = 0ms});
    EXPECT_EQ(at_once.next_delay(0.7), 0ms);
}

TEST(reconnect_backoff, out_of_range_randomness_is_clamped) {
    reconnect_backoff backoff;
    (void)backoff.next_delay(0.0);
    EXPECT_EQ(backoff.next_delay(-3.0), 500ms);
    EXPECT_EQ(backoff.next_delay(7.0), 2000ms);
    EXPECT_EQ(backoff.next_delay(std::numeric_limits<double>::quiet_NaN()), 2000ms);
}

TEST(reconnect_backoff, no_overflow_for_huge_attempt_counts) {
    reconnect_backoff backoff;
    for (int i = 0; i < 1000; ++i) {
        (void)backoff.next_delay(0.5);
    }
    EXPECT_EQ(backoff.attempts(), 1000U);
    EXPECT_EQ(backoff.next_delay(0.0), 30000ms);
    EXPECT_EQ(backoff.next_delay(1.0), 60000ms);

    // Even with an unbounded cap the ceiling saturates instead of wrapping.
    reconnect_backoff unbounded{{1ms, milliseconds::max(), 0ms}};
    milliseconds previous = 0ms;
    for (int i = 0; i < 1000; ++i) {
        const milliseconds d = unbounded.next_delay(1.0);
        ASSERT_GE(d, previous) << "attempt " << i;
        previous = d;
    }
    EXPECT_EQ(previous, milliseconds::max());
    EXPECT_GE(unbounded.next_delay(0.0), milliseconds::max() / 2);
}

} // namespace
} // namespace shardgate::gateway
