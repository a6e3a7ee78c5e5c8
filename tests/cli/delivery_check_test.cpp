#include "delivery_check.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace cli = shardgate::cli;
using std::chrono::microseconds;

namespace {

// --- delivery_check --------------------------------------------------------------------------

TEST(delivery_check, in_order_sequences_lose_and_duplicate_nothing) {
    cli::delivery_check check(1);
    check.on_dispatch(0, 1, "READY");
    for (std::uint64_t seq = 2; seq <= 50; ++seq) {
        check.on_dispatch(0, seq, "MESSAGE_CREATE");
    }
    EXPECT_EQ(check.delivered(), 50U);
    EXPECT_EQ(check.lost(), 0U);
    EXPECT_EQ(check.duplicated(), 0U);
}

TEST(delivery_check, a_gap_counts_every_missing_number) {
    cli::delivery_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 6, "MESSAGE_CREATE"); // 3, 4, 5 missing
    check.on_dispatch(0, 7, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 4U);
    EXPECT_EQ(check.lost(), 3U);
    EXPECT_EQ(check.duplicated(), 0U);
}

TEST(delivery_check, a_repeat_or_an_older_number_is_a_duplicate) {
    cli::delivery_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "MESSAGE_CREATE"); // repeat
    check.on_dispatch(0, 2, "MESSAGE_CREATE"); // older
    check.on_dispatch(0, 4, "MESSAGE_CREATE"); // carries on without a gap
    EXPECT_EQ(check.delivered(), 6U);
    EXPECT_EQ(check.duplicated(), 2U);
    EXPECT_EQ(check.lost(), 0U);
}

TEST(delivery_check, ready_starts_a_new_session_from_one) {
    cli::delivery_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "MESSAGE_CREATE");
    check.on_dispatch(0, 1, "READY"); // a new session: 1 again is not a duplicate
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 5U);
    EXPECT_EQ(check.duplicated(), 0U);
    EXPECT_EQ(check.lost(), 0U);
}

TEST(delivery_check, only_ready_resets_a_session) {
    cli::delivery_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "RESUMED"); // a resumed session keeps counting
    check.on_dispatch(0, 1, "MESSAGE_CREATE");
    EXPECT_EQ(check.duplicated(), 1U);
    EXPECT_EQ(check.lost(), 0U);
}

TEST(delivery_check, shards_are_tracked_independently) {
    cli::delivery_check check(3);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(1, 1, "READY");
    check.on_dispatch(2, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(1, 2, "MESSAGE_CREATE"); // not a repeat of shard 0's 2
    check.on_dispatch(1, 5, "MESSAGE_CREATE"); // shard 1 loses 3 and 4
    check.on_dispatch(2, 1, "MESSAGE_CREATE"); // shard 2 repeats 1
    check.on_dispatch(0, 3, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 8U);
    EXPECT_EQ(check.lost(), 2U);
    EXPECT_EQ(check.duplicated(), 1U);
}

TEST(delivery_check, out_of_range_shards_are_ignored) {
    cli::delivery_check check(2);
    check.on_dispatch(2, 1, "READY");
    check.on_dispatch(2, 9, "MESSAGE_CREATE");
    check.on_dispatch(99, 9, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 0U);
    EXPECT_EQ(check.lost(), 0U);
    EXPECT_EQ(check.duplicated(), 0U);
}

TEST(delivery_check, shards_on_their_own_threads) {
    constexpr std::uint32_t shards = 4;
    cli::delivery_check check(shards);
    std::vector<std::thread> threads;
    for (std::uint32_t s = 0; s < shards; ++s) {
        threads.emplace_back([&check, s] {
            check.on_dispatch(s, 1, "READY");
            for (std::uint64_t seq = 2; seq <= 10'000; ++seq) {
                if (seq % 1000 != 0) { // 1000, 2000, ..., 10000 never arrive
                    check.on_dispatch(s, seq, "MESSAGE_CREATE");
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(check.delivered(), shards * (10'000U - 10U));
    // 10000 was the last number: nothing after it shows the gap, so 9 lost per shard, not 10.
    EXPECT_EQ(check.lost(), shards * 9U);
    EXPECT_EQ(check.duplicated(), 0U);
}

// --- parse_discord_timestamp ---------------------------------------------------------------

// 2026-11-28T23:59:01Z
constexpr std::int64_t base_seconds = 1'795'910'341;
constexpr std::int64_t base_micros = base_seconds * 1'000'000;

TEST(parse_discord_timestamp, discord_format_with_microseconds_and_offset) {
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01.123000+00:00"),
              base_micros + 123'000);
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01.123456+00:00"),
              base_micros + 123'456);
}

TEST(parse_discord_timestamp, z_suffix) {
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01.123000Z"), base_micros + 123'000);
}

TEST(parse_discord_timestamp, without_fraction) {
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01+00:00"), base_micros);
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01Z"), base_micros);
}

TEST(parse_discord_timestamp, short_fractions_are_scaled) {
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01.123Z"), base_micros + 123'000);
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01.5Z"), base_micros + 500'000);
}

TEST(parse_discord_timestamp, digits_beyond_microseconds_are_truncated) {
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01.1234569+00:00"),
              base_micros + 123'456);
    EXPECT_EQ(cli::parse_discord_timestamp("2026-11-28T23:59:01.123456789Z"),
              base_micros + 123'456);
}

TEST(parse_discord_timestamp, epoch_and_leap_day) {
    EXPECT_EQ(cli::parse_discord_timestamp("1970-01-01T00:00:00Z"), 0);
    // 2024-02-29T12:00:00Z = 1709208000
    EXPECT_EQ(cli::parse_discord_timestamp("2024-02-29T12:00:00.000001+00:00"),
              1'709'208'000LL * 1'000'000 + 1);
}

TEST(parse_discord_timestamp, malformed_inputs_are_nullopt) {
    for (const std::string_view bad : {
             "",
             "2026",
             "2026-11-28",
             "2026/11/28T23:59:01Z",         // wrong date separators
             "2026-11-28T23.59.01Z",         // wrong time separators
             "2026-11-28X23:59:01Z",         // wrong date/time separator
             "2026-13-28T23:59:01Z",         // month 13
             "2026-00-28T23:59:01Z",         // month 0
             "2026-11-32T23:59:01Z",         // day 32
             "2026-02-29T23:59:01Z",         // not a leap year
             "2026-11-28T24:00:00Z",         // hour 24
             "2026-11-28T23:60:00Z",         // minute 60
             "2026-11-28T23:59:01+01:00",    // another time zone
             "2026-11-28T23:59:01-05:00",    // another time zone
             "2026-11-28T23:59:01",          // no zone
             "2026-11-28T23:59:01.Z",        // a point without digits
             "2026-11-28T23:59:01.123Zjunk", // trailing garbage
             "2026-11-28T23:59:01+00:00 ",   // trailing space
             "2026-11-28T23:59:01ZZ",
             "2O26-11-28T23:59:01Z", // a letter among the digits
         }) {
        EXPECT_EQ(cli::parse_discord_timestamp(bad), std::nullopt) << '"' << bad << '"';
    }
}

TEST(parse_discord_timestamp, signs_inside_fields_are_malformed) {
    for (const std::string_view bad : {
             "2026-11-28T-1:59:01Z",
             "2026-11-28T23:-1:01Z",
             "2026-11-28T23:59:-1Z",
             "2026--1-28T23:59:01Z",
             "2026-11--1T23:59:01Z",
             "-001-11-28T23:59:01Z",
         }) {
        EXPECT_EQ(cli::parse_discord_timestamp(bad), std::nullopt) << '"' << bad << '"';
    }
}

// --- latency_samples ---------------------------------------------------------------------------

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
