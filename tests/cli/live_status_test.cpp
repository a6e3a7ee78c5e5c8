#include "live_status.hpp"

#include <gtest/gtest.h>

namespace cli = shardgate::cli;
namespace gw = shardgate::gateway;
namespace io = shardgate::io;
using std::chrono::milliseconds;

namespace {

std::vector<io::shard_status> shards(std::size_t n, std::size_t active,
                                     std::uint64_t dispatches_each = 0) {
    std::vector<io::shard_status> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i].id = static_cast<std::uint32_t>(i);
        v[i].state = i < active ? gw::shard_state::active : gw::shard_state::identifying;
        v[i].dispatches = dispatches_each;
        v[i].identifies = i < active ? 1 : 0;
        if (i < active) {
            v[i].latency = milliseconds{40 + static_cast<int>(i)};
        }
    }
    return v;
}

bool has_escape(const std::string& s) {
    return s.find('\x1b') != std::string::npos;
}

} // namespace

TEST(live_status, progress_bar) {
    EXPECT_EQ(cli::render_progress_bar(12, 16, 10), "[======>   ] 12/16 shards ready");
    EXPECT_EQ(cli::render_progress_bar(0, 16, 10), "[          ] 0/16 shards ready");
    EXPECT_EQ(cli::render_progress_bar(16, 16, 10), "[==========] 16/16 shards ready");
    EXPECT_EQ(cli::render_progress_bar(1, 10, 10), "[>         ] 1/10 shards ready");
    EXPECT_EQ(cli::render_progress_bar(0, 0, 4), "[    ] 0/0 shards ready");
    EXPECT_EQ(cli::render_progress_bar(9, 4, 4), "[====] 4/4 shards ready"); // clamped
}

TEST(live_status, formats) {
    EXPECT_EQ(cli::format_elapsed(milliseconds{5'400}), "0:05");
    EXPECT_EQ(cli::format_elapsed(milliseconds{3'723'000}), "1:02:03");
    EXPECT_EQ(cli::format_rate(950.4), "950");
    EXPECT_EQ(cli::format_rate(12'345), "12.3k");
    EXPECT_EQ(cli::format_rate(1'250'000), "1.25M");
    EXPECT_EQ(cli::format_rate(-1), "0");
}

TEST(live_status, totals) {
    const auto s = shards(4, 2, 10);
    const auto t = cli::total(s);
    EXPECT_EQ(t.shards, 4U);
    EXPECT_EQ(t.active, 2U);
    EXPECT_EQ(t.dispatches, 40U);
    EXPECT_EQ(t.identifies, 2U);
    EXPECT_EQ(t.latency_avg, std::chrono::microseconds{40'500}); // (40 + 41) / 2
    EXPECT_EQ(t.latency_max, milliseconds{41});
}

TEST(live_status, tty_shows_a_progress_bar_and_redraws_in_place) {
    cli::live_status status({.tty = true, .bar_width = 10});
    const auto first = status.update(milliseconds{250}, shards(16, 12));
    EXPECT_NE(first.find("[======>   ] 12/16 shards ready"), std::string::npos) << first;
    EXPECT_NE(first.find("4 identifying"), std::string::npos) << first;
    EXPECT_EQ(first.find("\x1b[1A"), std::string::npos); // nothing to go back over yet
    // 16 shards > max_shard_lines: one aggregated line, so the next frame goes back one row.
    const auto second = status.update(milliseconds{500}, shards(16, 13));
    EXPECT_EQ(second.rfind("\x1b[1A\r", 0), 0U) << second;
    EXPECT_NE(second.find("13/16"), std::string::npos);
    EXPECT_NE(second.find("\x1b[2K"), std::string::npos); // each row is cleared before drawing
}

TEST(live_status, tty_lists_shards_when_few_and_then_shows_rates) {
    cli::live_status status({.tty = true, .columns = 200});
    (void)status.update(milliseconds{0}, shards(2, 2, 0));
    const auto later = status.update(milliseconds{1'000}, shards(2, 2, 500));
    EXPECT_NE(later.find("2/2 shards ready | 1000 events/s"), std::string::npos) << later;
    EXPECT_NE(later.find("latency 40 ms (max 41 ms)"), std::string::npos) << later;
    EXPECT_NE(later.find("  shard 0"), std::string::npos) << later;
    EXPECT_NE(later.find("  shard 1"), std::string::npos) << later;
    EXPECT_NE(later.find("500 ev/s"), std::string::npos) << later;
    // Three rows were drawn (total + 2 shards): the next frame moves up three.
    const auto again = status.update(milliseconds{1'250}, shards(2, 2, 600));
    EXPECT_EQ(again.rfind("\x1b[3A\r", 0), 0U) << again;
}

TEST(live_status, tty_lines_fit_the_terminal) {
    cli::live_status status({.tty = true, .columns = 20});
    const auto out = status.update(milliseconds{0}, shards(2, 1));
    std::size_t start = 0;
    while (start < out.size()) {
        auto nl = out.find('\n', start);
        if (nl == std::string::npos) {
            nl = out.size();
        }
        auto line = out.substr(start, nl - start);
        if (line.rfind("\x1b[2K", 0) == 0) {
            line.erase(0, 4);
        }
        EXPECT_LT(line.size(), 20U) << line;
        start = nl + 1;
    }
}

TEST(live_status, plain_mode_has_no_escapes_and_prints_at_most_every_interval) {
    cli::live_status status({.tty = false, .plain_interval = milliseconds{5'000}});
    std::string all;
    std::size_t printed = 0;
    for (int t = 0; t <= 10'000; t += 250) {
        const auto out = status.update(milliseconds{t}, shards(16, 8));
        all += out;
        printed += out.empty() ? 0U : 1U;
    }
    EXPECT_FALSE(has_escape(all)) << all;
    EXPECT_EQ(printed, 3U) << all; // at 0, 5 s and 10 s
    EXPECT_NE(all.find("8/16 shards ready"), std::string::npos) << all;
}

TEST(live_status, plain_mode_reports_when_all_shards_are_ready_and_messages_at_once) {
    cli::live_status status({.tty = false});
    (void)status.update(milliseconds{0}, shards(4, 0));
    const std::vector<std::string> messages{"shardgate connect: shard 3 stopped: close 4014"};
    const auto out = status.update(milliseconds{1'200}, shards(4, 4), messages);
    EXPECT_NE(out.find("all 4 shards ready after 0:01"), std::string::npos) << out;
    EXPECT_NE(out.find("shard 3 stopped: close 4014\n"), std::string::npos) << out;
    EXPECT_FALSE(has_escape(out));
}

TEST(live_status, no_shards_yet_means_discovery) {
    cli::live_status status({.tty = false});
    const auto out = status.update(milliseconds{0}, {});
    EXPECT_NE(out.find("discovering"), std::string::npos) << out;
}

TEST(live_status, finish_prints_a_summary_line) {
    cli::live_status plain({.tty = false});
    auto s = shards(2, 2, 500);
    s[1].resumes = 1;
    const auto out = plain.finish(milliseconds{10'000}, s, cli::total(s), "stopped");
    EXPECT_EQ(out, "shardgate connect: stopped after 0:10: 2 shards, 1000 dispatches (100/s), 2 "
                   "identifies, 1 resume\n");

    cli::live_status tty({.tty = true});
    (void)tty.update(milliseconds{0}, s);
    const auto tty_out = tty.finish(milliseconds{10'000}, s, cli::total(s), "duration reached");
    EXPECT_NE(tty_out.find("duration reached after 0:10"), std::string::npos) << tty_out;
}

TEST(live_status, fatal_shards_are_named_in_the_status) {
    cli::live_status status({.tty = false});
    auto s = shards(2, 1);
    s[1].state = gw::shard_state::fatally_closed;
    s[1].last_close_code = 4004;
    const auto out = status.update(milliseconds{0}, s);
    EXPECT_NE(out.find("1 fatal"), std::string::npos) << out;
    const auto end = status.finish(milliseconds{1'000}, s, cli::total(s), "every shard stopped");
    EXPECT_NE(end.find("1 stopped on a fatal close code"), std::string::npos) << end;
}

namespace {

TEST(live_status, sub_millisecond_round_trips_keep_a_decimal) {
    std::vector<shardgate::io::shard_status> shards(2);
    shards[0].state = shardgate::gateway::shard_state::active;
    shards[0].latency = std::chrono::milliseconds{0};
    shards[0].heartbeat_rtt = std::chrono::microseconds{240};
    shards[1].state = shardgate::gateway::shard_state::active;
    shards[1].latency = std::chrono::milliseconds{1};
    shards[1].heartbeat_rtt = std::chrono::microseconds{1'460};
    const auto t = shardgate::cli::total(shards);
    EXPECT_EQ(t.latency_avg, std::chrono::microseconds{850});
    EXPECT_EQ(t.latency_max, std::chrono::microseconds{1'460});
    shardgate::cli::live_status status({.tty = true, .columns = 200});
    (void)status.update(std::chrono::milliseconds{0}, shards);
    const auto later = status.update(std::chrono::milliseconds{1'000}, shards);
    EXPECT_NE(later.find("latency 0.9 ms (max 1.5 ms)"), std::string::npos) << later;
    EXPECT_NE(later.find("0.2 ms"), std::string::npos) << later; // shard 0's own line
}

} // namespace
