#include "shardgate/observe/prometheus.hpp"

#include <array>
#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace obs = shardgate::observe;

namespace {

TEST(prometheus, content_type_is_text_format_0_0_4) {
    EXPECT_EQ(obs::prometheus_content_type, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(prometheus, family_writes_help_then_type) {
    std::string out;
    obs::prometheus_writer w(out);
    w.family("shardgate_dispatches_total", "counter", "Dispatches received, by event name.");
    EXPECT_EQ(out, "# HELP shardgate_dispatches_total Dispatches received, by event name.\n"
                   "# TYPE shardgate_dispatches_total counter\n");
}

TEST(prometheus, help_escapes_backslash_and_newline_but_not_quotes) {
    std::string out;
    obs::prometheus_writer w(out);
    w.family("x", "gauge", "a \\ b\n\"c\"");
    EXPECT_EQ(out, "# HELP x a \\\\ b\\n\"c\"\n# TYPE x gauge\n");
}

TEST(prometheus, sample_without_labels_has_no_braces) {
    std::string out;
    obs::prometheus_writer w(out);
    w.sample("shardgate_shards", {}, std::uint64_t{4});
    EXPECT_EQ(out, "shardgate_shards 4\n");
}

TEST(prometheus, sample_with_labels_in_order) {
    std::string out;
    obs::prometheus_writer w(out);
    w.sample("shardgate_dispatches_total", {{"shard", "0"}, {"event", "MESSAGE_CREATE"}},
             std::uint64_t{42});
    EXPECT_EQ(out, "shardgate_dispatches_total{shard=\"0\",event=\"MESSAGE_CREATE\"} 42\n");
}

TEST(prometheus, sample_span_overload_matches_initializer_list) {
    std::string a;
    std::string b;
    const std::vector<obs::label> labels{{"shard", "1"}, {"state", "active"}};
    obs::prometheus_writer(a).sample("x", labels, 1.5);
    obs::prometheus_writer(b).sample("x", {{"shard", "1"}, {"state", "active"}}, 1.5);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, "x{shard=\"1\",state=\"active\"} 1.5\n");
}

TEST(prometheus, label_values_escape_backslash_quote_and_newline) {
    std::string out;
    obs::prometheus_writer w(out);
    w.sample("x", {{"path", "C:\\dir"}, {"q", "say \"hi\""}, {"nl", "a\nb"}}, std::uint64_t{1});
    EXPECT_EQ(out, "x{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\"} 1\n");
}

TEST(prometheus, escape_label_value_alone) {
    EXPECT_EQ(obs::escape_label_value(""), "");
    EXPECT_EQ(obs::escape_label_value("plain text"), "plain text");
    EXPECT_EQ(obs::escape_label_value("\\"), "\\\\");
    EXPECT_EQ(obs::escape_label_value("\""), "\\\"");
    EXPECT_EQ(obs::escape_label_value("\n"), "\\n");
    EXPECT_EQ(obs::escape_label_value("a\\\"b\nc"), "a\\\\\\\"b\\nc");
    EXPECT_EQ(obs::escape_label_value("tab\there"), "tab\there") << "only three characters escape";
}

TEST(prometheus, integers_print_without_a_decimal_point) {
    std::string out;
    obs::prometheus_writer w(out);
    w.sample("a", {}, std::uint64_t{0});
    w.sample("b", {}, std::numeric_limits<std::uint64_t>::max());
    w.sample("c", {}, 2.0);
    w.sample("d", {}, -3.0);
    EXPECT_EQ(out, "a 0\nb 18446744073709551615\nc 2\nd -3\n");
}

TEST(prometheus, doubles_print_shortest_round_trip) {
    std::string out;
    obs::prometheus_writer w(out);
    w.sample("a", {}, 0.5);
    w.sample("b", {}, 0.1);
    w.sample("c", {}, 0.0025);
    w.sample("d", {}, 1234.5678);
    EXPECT_EQ(out, "a 0.5\nb 0.1\nc 0.0025\nd 1234.5678\n");
}

TEST(prometheus, nan_and_infinities_use_the_text_format_spelling) {
    std::string out;
    obs::prometheus_writer w(out);
    w.sample("a", {}, std::numeric_limits<double>::quiet_NaN());
    w.sample("b", {}, std::numeric_limits<double>::infinity());
    w.sample("c", {}, -std::numeric_limits<double>::infinity());
    EXPECT_EQ(out, "a NaN\nb +Inf\nc -Inf\n");
}

TEST(histogram, empty_snapshot_has_zero_counts) {
    static constexpr std::array<double, 2> bounds{0.1, 1.0};
    const obs::histogram h(bounds);
    const auto s = h.snapshot();
    ASSERT_EQ(s.upper_bounds.size(), 2U);
    EXPECT_EQ(s.upper_bounds[0], 0.1);
    EXPECT_EQ(s.upper_bounds[1], 1.0);
    EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 0}));
    EXPECT_EQ(s.count, 0U);
    EXPECT_EQ(s.sum, 0.0);
}

TEST(histogram, buckets_are_upper_inclusive_and_cumulative) {
    static constexpr std::array<double, 3> bounds{0.1, 1.0, 10.0};
    obs::histogram h(bounds);
    h.observe(0.05); // le 0.1
    h.observe(0.1);  // exactly on the bound: le 0.1
    h.observe(0.5);  // le 1
    h.observe(10.0); // le 10
    h.observe(11.0); // +Inf only
    h.observe(99.0); // +Inf only
    const auto s = h.snapshot();
    EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4}));
    EXPECT_EQ(s.count, 6U) << "+Inf counts everything";
    EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.5 + 10.0 + 11.0 + 99.0);
}

TEST(histogram, sum_keeps_microsecond_resolution) {
    obs::histogram h(obs::latency_buckets_seconds);
    h.observe(0.000001);
    h.observe(0.0015);
    h.observe(2.25);
    EXPECT_DOUBLE_EQ(h.snapshot().sum, 2.251501);
}

TEST(histogram, latency_buckets_increase_from_1_ms_to_10_s) {
    const auto& b = obs::latency_buckets_seconds;
    EXPECT_EQ(b.front(), 0.001);
    EXPECT_EQ(b.back(), 10.0);
    for (std::size_t i = 1; i < b.size(); ++i) {
        EXPECT_LT(b[i - 1], b[i]) << i;
    }
}

TEST(prometheus, histogram_lines_with_labels) {
    static constexpr std::array<double, 2> bounds{0.1, 1.0};
    obs::histogram h(bounds);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(3.0);
    std::string out;
    obs::prometheus_writer w(out);
    const std::vector<obs::label> labels{{"shard", "0"}};
    w.histogram("x_seconds", labels, h.snapshot());
    EXPECT_EQ(out, "x_seconds_bucket{shard=\"0\",le=\"0.1\"} 1\n"
                   "x_seconds_bucket{shard=\"0\",le=\"1\"} 2\n"
                   "x_seconds_bucket{shard=\"0\",le=\"+Inf\"} 3\n"
                   "x_seconds_sum{shard=\"0\"} 3.55\n"
                   "x_seconds_count{shard=\"0\"} 3\n");
}

TEST(prometheus, histogram_lines_without_labels) {
    static constexpr std::array<double, 1> bounds{0.25};
    obs::histogram h(bounds);
    h.observe(0.25);
    h.observe(2.0);
    std::string out;
    obs::prometheus_writer w(out);
    w.histogram("y", {}, h.snapshot());
    EXPECT_EQ(out, "y_bucket{le=\"0.25\"} 1\n"
                   "y_bucket{le=\"+Inf\"} 2\n"
                   "y_sum 2.25\n"
                   "y_count 2\n");
}

TEST(prometheus, histogram_label_values_are_escaped_too) {
    static constexpr std::array<double, 1> bounds{1.0};
    obs::histogram h(bounds);
    std::string out;
    obs::prometheus_writer w(out);
    const std::vector<obs::label> labels{{"name", "a\"b"}};
    w.histogram("z", labels, h.snapshot());
    EXPECT_EQ(out, "z_bucket{name=\"a\\\"b\",le=\"1\"} 0\n"
                   "z_bucket{name=\"a\\\"b\",le=\"+Inf\"} 0\n"
                   "z_sum{name=\"a\\\"b\"} 0\n"
                   "z_count{name=\"a\\\"b\"} 0\n");
}

TEST(histogram, concurrent_observations_from_four_threads_add_up_exactly) {
    static constexpr std::array<double, 3> bounds{0.001, 0.01, 0.1};
    obs::histogram h(bounds);
    constexpr int per_thread = 25'000;
    // Each thread observes the same cycle of four values, one per bucket (the last in +Inf).
    constexpr std::array<double, 4> values{0.0005, 0.005, 0.05, 0.5};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&h, &values] {
            for (int i = 0; i < per_thread; ++i) {
                h.observe(values[static_cast<std::size_t>(i) % values.size()]);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const auto s = h.snapshot();
    constexpr std::uint64_t total = 4U * per_thread;
    constexpr std::uint64_t each = total / 4;
    EXPECT_EQ(s.count, total);
    EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{each, 2 * each, 3 * each}));
    // Sum in integer microseconds: 500 + 5000 + 50000 + 500000 per cycle, exact.
    EXPECT_DOUBLE_EQ(s.sum, static_cast<double>(each * (500 + 5'000 + 50'000 + 500'000)) / 1e6);
}

} // namespace
