// zlib-stream, zstd-stream and no transport compression deliver the same events: the same
// injected dispatches (a few hand-written ones, among them a 200 KB one that spans many zlib
// blocks, then a flood of 500 generated MESSAGE_CREATEs from a fixed seed) reach user code with
// the same names and `d` in all three modes, each run's sequence numbers contiguous; then a
// prepared flood of 1,500, which the emulator frames and writes in batches itself.
#include "cluster_harness.hpp"

#include <array>
#include <gtest/gtest.h>
#include <iostream>
#include <regex>
#include <string>

namespace shardgate::test::cluster_it {
namespace {

using gw::lifecycle_kind;

constexpr auto step_timeout = 20s;
constexpr std::uint64_t flood_count = 500;
// Then a prepared flood (every frame encoded first, written by the emulator in 256 KiB batches it
// frames itself): several batches in every mode.
constexpr std::uint64_t prepared_count = 1'500;
constexpr std::string_view end_t = "SHARDGATE_TEST_END";

struct delivered {
    std::uint64_t seq;
    std::string t;
    std::string d;
};

/// Hand-written dispatches: escapes, non-ASCII, numbers, nesting and a 200 KB body that does not
/// compress well.
std::vector<std::pair<std::string, std::string>> crafted_events() {
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("MESSAGE_CREATE", R"({"content":"hello","id":"1"})");
    out.emplace_back(
        "MESSAGE_CREATE",
        R"({"content":"h\u00e9llo w\u00f6rld \u2603 \ud83d\ude00 \"quoted\" \\ \n\t"})");
    out.emplace_back(
        "SHARDGATE_CUSTOM_EVENT",
        R"({"n":[0,-1,1.5,1e300,18446744073709551615,true,false,null],"o":{"a":{"b":{"c":[]}}}})");
    std::string big;
    big.reserve(200'000);
    std::uint64_t x = 88172645463325252ULL; // xorshift: text that compresses poorly
    while (big.size() < 200'000) {
        x ^= x << 13U;
        x ^= x >> 7U;
        x ^= x << 17U;
        big.push_back(static_cast<char>('!' + (x % 90U))); // printable, no quote or backslash
        if (big.back() == '"' || big.back() == '\\') {
            big.back() = '.';
        }
    }
    out.emplace_back("MESSAGE_CREATE", R"({"content":")" + big + R"("})");
    out.emplace_back("TYPING_START", R"({"channel_id":"2","user_id":"3","timestamp":1})");
    return out;
}

/// Blanks what depends on when the emulator generated an event (snowflakes and ISO timestamps),
/// so that floods generated from the same seed compare equal across runs.
std::string without_times(const std::string& d) {
    static const std::regex snowflake(R"re([0-9]{15,20})re"); // also inside URLs
    static const std::regex iso(R"re("[0-9]{4}-[0-9]{2}-[0-9]{2}T[^"]*")re");
    return std::regex_replace(std::regex_replace(d, snowflake, "<id>"), iso, "\"<time>\"");
}

/// One run: a 1-shard cluster in `mode`; returns the dispatches after READY's GUILD_CREATEs.
std::vector<delivered> run_mode(gw::compression mode) {
    emulator_settings s;
    running_emulator emu(s);
    cluster_runner run(cluster_options_for(emu, 1, 1, mode));
    // READY and every GUILD_CREATE first: what follows is only what this test injects.
    const auto guilds = s.guilds;
    if (!run.events().wait_for(
            [guilds](const record_list& r) {
                std::uint32_t guild_creates = 0;
                for (const auto& e : r) {
                    guild_creates += e.is_dispatch() && e.name == "GUILD_CREATE" ? 1U : 0U;
                }
                return count_shards_with(r, lifecycle_kind::ready) == 1 && guild_creates == guilds;
            },
            step_timeout)) {
        ADD_FAILURE() << gw::to_string(mode) << ": no READY and " << guilds << " GUILD_CREATEs";
        for (const auto& e : run.events().snapshot()) {
            std::cout << "  " << e.describe() << '\n';
        }
        const auto exit = run.wait_exit(0ms);
        std::cout << "  run() " << (exit ? "returned: " : "still running: ")
                  << run.error().message() << ' ' << run.detail() << '\n'
                  << excerpt(emu.log()) << std::flush;
        return {};
    }
    const auto mark = run.events().size();
    for (const auto& [t, d] : crafted_events()) {
        const auto r =
            emu.post("/_emulator/dispatch", R"({"t":")" + t + R"(","d":)" + d + R"(,"shard":0})");
        EXPECT_EQ(r.status, 200U) << r.body;
    }
    const auto f = emu.post("/_emulator/flood", R"({"t":"MESSAGE_CREATE","count":)" +
                                                    std::to_string(flood_count) + R"(,"shard":0})");
    EXPECT_EQ(f.status, 200U) << f.body;
    const auto p = emu.post("/_emulator/flood", R"({"count":)" + std::to_string(prepared_count) +
                                                    R"(,"shard":0,"prepared":true})");
    EXPECT_EQ(p.status, 200U) << p.body;
    // The flood is generated as the socket drains; the end marker is queued after it.
    const bool all = run.events().wait_for(
        [&](const record_list& r) {
            return count_dispatches(r, 0, mark) >=
                   crafted_events().size() + flood_count + prepared_count;
        },
        step_timeout);
    EXPECT_TRUE(all) << gw::to_string(mode) << ": "
                     << count_dispatches(run.events().snapshot(), 0, mark) << " dispatches";
    const auto e = emu.post("/_emulator/dispatch",
                            R"({"t":")" + std::string(end_t) + R"(","d":{},"shard":0})");
    EXPECT_EQ(e.status, 200U) << e.body;
    EXPECT_TRUE(run.events().wait_for(
        [&](const record_list& r) {
            return find_record(r, mark,
                               [](const recorded& x) { return x.is_dispatch() && x.name == end_t; })
                .has_value();
        },
        step_timeout));
    const auto records = run.events().snapshot();
    // A recovery on the way (e.g. a zombie verdict when a loaded machine reads the flood slowly and
    // the heartbeat ACK queues behind it) is allowed: the events must be the same all the same.
    // RESUMED itself is left out of the comparison; the sequence check covers the rest.
    for (auto i = mark; i < records.size(); ++i) {
        if (!records[i].is_dispatch()) {
            std::cout << "note | " << gw::to_string(mode) << " | " << records[i].describe()
                      << " during the run\n";
        }
    }
    std::vector<delivered> out;
    for (auto i = mark; i < records.size(); ++i) {
        if (records[i].is_dispatch() && records[i].name != "RESUMED") {
            out.push_back({records[i].seq, records[i].name, records[i].data});
        }
    }
    expect_contiguous_sessions(records, 0);
    return out;
}

TEST(cluster_compression, zlib_zstd_and_none_deliver_the_same_events) {
    constexpr std::array modes{gw::compression::zlib_stream, gw::compression::zstd_stream,
                               gw::compression::none};
    std::vector<std::vector<delivered>> got;
    for (const auto mode : modes) {
        got.push_back(run_mode(mode));
    }
    const auto crafted = crafted_events();
    const auto& ref = got.front();
    ASSERT_EQ(ref.size(), crafted.size() + flood_count + prepared_count + 1);
    // The crafted events arrive as sent (compared as JSON: the emulator re-serialises `d`).
    for (std::size_t i = 0; i < crafted.size(); ++i) {
        EXPECT_EQ(ref[i].t, crafted[i].first);
        EXPECT_EQ(json::parse(ref[i].d), json::parse(crafted[i].second)) << "event " << i;
    }
    for (std::size_t m = 1; m < modes.size(); ++m) {
        const auto name = std::string(gw::to_string(modes.at(m)));
        ASSERT_EQ(got.at(m).size(), ref.size()) << name;
        std::size_t differences = 0;
        for (std::size_t i = 0; i < ref.size(); ++i) {
            const bool generated =
                i >= crafted.size() && i < crafted.size() + flood_count + prepared_count;
            const auto& a = ref[i];
            const auto& b = got.at(m).at(i);
            const bool same =
                a.t == b.t && (generated ? without_times(a.d) == without_times(b.d) : a.d == b.d);
            if (!same && ++differences <= 3) {
                const auto x = generated ? without_times(a.d) : a.d;
                const auto y = generated ? without_times(b.d) : b.d;
                std::size_t at = 0;
                while (at < x.size() && at < y.size() && x[at] == y[at]) {
                    ++at;
                }
                const auto from = at < 80 ? 0 : at - 80;
                ADD_FAILURE() << name << " vs zlib-stream, event " << i << ": s=" << b.seq << " "
                              << b.t << " vs s=" << a.seq << " " << a.t << ", d differs at byte "
                              << at << ":\n  " << y.substr(from, 200) << "\n  "
                              << x.substr(from, 200);
            }
        }
        EXPECT_EQ(differences, 0U) << name;
    }
    std::size_t bytes = 0;
    for (const auto& e : ref) {
        bytes += e.d.size();
    }
    std::cout << "compression | zlib-stream, zstd-stream, none | " << ref.size() << " dispatches ("
              << bytes
              << " bytes of d) each | identical: " << (::testing::Test::HasFailure() ? "NO" : "yes")
              << std::endl;
}

} // namespace
} // namespace shardgate::test::cluster_it
