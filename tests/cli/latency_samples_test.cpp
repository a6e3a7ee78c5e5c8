#include "latency_samples.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace cli = shardgate::cli;
using std::chrono::microseconds;

namespace {

TEST(latency_samples, empty_has_no_percentiles) {
    const cli::latency_samples samples;
    EXPECT_EQ(samples.size(), 0U);
    EXPECT_EQ(samples.percentile(50), std::nullopt);
    EXPECT_EQ(samples.percentile(100), std::nullopt);
}

TEST(latency_samples, single_sample_is_every_percentile) {
    cli::latency_samples samples;
    samples.add(microseconds{1234});
    EXPECT_EQ(samples.size(), 1U);
    for (const double p : {0.0, 1.0, 50.0, 99.0, 100.0}) {
        EXPECT_EQ(samples.percentile(p), microseconds{1234}) << p;
    }
}

TEST(latency_samples, nearest_rank_over_one_to_a_hundred) {
    cli::latency_samples samples;
    // Added out of order: the percentile must not depend on arrival order.
    for (int i = 100; i >= 1; i -= 2) {
        samples.add(microseconds{i});
    }
    for (int i = 1; i <= 99; i += 2) {
        samples.add(microseconds{i});
    }
    ASSERT_EQ(samples.size(), 100U);
    EXPECT_EQ(samples.percentile(50), microseconds{50});
    EXPECT_EQ(samples.percentile(99), microseconds{99});
    EXPECT_EQ(samples.percentile(100), microseconds{100});
    EXPECT_EQ(samples.percentile(1), microseconds{1});
    EXPECT_EQ(samples.percentile(0), microseconds{1}) << "rank at least 1";
    EXPECT_EQ(samples.percentile(90.5), microseconds{91}) << "nearest rank rounds up";
    EXPECT_EQ(samples.percentile(150), microseconds{100}) << "clamped to 100";
    EXPECT_EQ(samples.percentile(-5), microseconds{1}) << "clamped to 0";
}

TEST(latency_samples, percentile_leaves_the_samples_intact) {
    cli::latency_samples samples;
    for (const int v : {30, 10, 20}) {
        samples.add(microseconds{v});
    }
    EXPECT_EQ(samples.percentile(50), microseconds{20});
    EXPECT_EQ(samples.percentile(100), microseconds{30});
    EXPECT_EQ(samples.percentile(0), microseconds{10});
    EXPECT_EQ(samples.size(), 3U);
}

TEST(latency_samples, concurrent_adds_are_all_kept) {
    cli::latency_samples samples;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&samples] {
            for (int i = 1; i <= 1000; ++i) {
                samples.add(microseconds{i});
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(samples.size(), 4000U);
    EXPECT_EQ(samples.percentile(100), microseconds{1000});
    EXPECT_EQ(samples.percentile(50), microseconds{500});
}

} // namespace

namespace {

// A demo runs for hours: keeping every sample grew it by ~6 KB/s (8 bytes per MESSAGE_CREATE). A
// fixed reservoir keeps the percentiles (to within a few per cent) and the exact maximum.
TEST(latency_samples, memory_is_bounded_and_percentiles_stay_close) {
    cli::latency_samples s;
    constexpr std::int64_t n = 1'000'000;
    for (std::int64_t i = 0; i < n; ++i) {
        s.add(std::chrono::microseconds((i * 7919) % n)); // every value once, shuffled
    }
    EXPECT_EQ(s.size(), static_cast<std::size_t>(n));
    EXPECT_LE(s.kept(), cli::latency_samples::capacity);
    const auto p50 = s.percentile(50)->count();
    const auto p99 = s.percentile(99)->count();
    EXPECT_NEAR(static_cast<double>(p50), 0.50 * n, 0.02 * n);
    EXPECT_NEAR(static_cast<double>(p99), 0.99 * n, 0.01 * n);
    EXPECT_EQ(s.percentile(100)->count(), n - 1) << "the maximum is exact";
}

} // namespace
