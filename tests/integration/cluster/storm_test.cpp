// Reconnect storms (issue 12): every shard of a 32-shard cluster loses its connection at once.
// Dropped, they resume, spread by the jittered back-off rather than all in one instant; told their
// sessions are gone (op 9 false), they identify again paced by the identify buckets, and the
// emulator sees no window with more identifies than max_concurrency and no violation.
#include "cluster_harness.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <iostream>
#include <string>
#include <vector>

namespace shardgate::test::cluster_it {
namespace {

constexpr std::uint32_t shards = 32;
constexpr std::uint32_t buckets = 4;

/// A cluster of `shards`, all READY; the index of the emulator's log where the storm starts.
struct storm_setup {
    running_emulator emu;
    cluster_runner run;
    std::size_t log_from = 0;

    storm_setup()
        : emu(settings())
        , run(cluster_options_for(emu, shards, buckets, gw::compression::zlib_stream)) {
        run.events().drop_data(true);
        const bool ready = run.events().wait_for(
            [](const record_list& r) {
                return count_shards_with(r, gw::lifecycle_kind::ready) == shards;
            },
            60s);
        EXPECT_TRUE(ready);
        log_from = emu.log().size();
    }
    static emulator_settings settings() {
        emulator_settings s;
        s.shards = shards;
        s.max_concurrency = buckets;
        s.traffic_per_second = 2;
        return s;
    }
    /// `fault` (a control API path after shards/N/) on every shard in one request: the
    /// emulator's `shards/all`, every connection in the same instant.
    void on_every_shard(const std::string& fault, const std::string& body = {}) {
        const auto r = emu.post("/_emulator/shards/all/" + fault, body);
        ASSERT_EQ(r.status, 200U) << r.body;
        EXPECT_EQ(r.body, R"({"ok":true,"connections":)" + std::to_string(shards) + "}");
    }
    bool wait_all(gw::lifecycle_kind kind, std::size_t at_least_per_shard) {
        return run.events().wait_for(
            [&](const record_list& r) {
                for (std::uint32_t s = 0; s < shards; ++s) {
                    std::size_t n = 0;
                    for (const auto& x : r) {
                        if (x.shard == s && x.is(kind)) {
                            ++n;
                        }
                    }
                    if (n < at_least_per_shard) {
                        return false;
                    }
                }
                return true;
            },
            60s);
    }
    void expect_no_violations() {
        const auto stats = emu.stats();
        const auto& totals = stats.at("totals").as_object();
        EXPECT_TRUE(totals.at("violations").as_object().empty())
            << json::serialize(totals.at("violations"));
    }
};

TEST(cluster_storm, every_shard_dropped_at_once_resumes_spread_out) {
    storm_setup s;
    s.on_every_shard("drop");
    ASSERT_TRUE(s.wait_all(gw::lifecycle_kind::resumed, 1));
    const auto log = s.emu.log();
    // Per shard, from its drop (as the emulator logged it) to its Resume: the first
    // reconnect's jitter. Measured per shard, so that nothing but the jitter counts as spread.
    std::vector<std::uint64_t> delays;
    for (std::uint32_t shard = 0; shard < shards; ++shard) {
        const auto drop = find_injected_fault(log, shard);
        ASSERT_TRUE(drop) << "shard " << shard;
        // Its first Resume after the drop (the connection's own entries carry no shard yet).
        const auto resumes = entries(log, *drop, "resume", shard);
        if (!resumes.empty()) {
            delays.push_back(t_ms_of(resumes.front()) - t_ms_of(log[*drop]));
        }
    }
    ASSERT_EQ(delays.size(), shards);
    std::sort(delays.begin(), delays.end());
    const auto base = 100U; // a quarter of it: the spread a burst cannot have
    std::cout << "storm | " << shards << " shards dropped at once: drop to Resume "
              << delays.front() << " to " << delays.back() << " ms (median "
              << delays[delays.size() / 2] << " ms), "
              << entries(log, s.log_from, "identify").size() << " identifies" << std::endl;
    EXPECT_GE(delays.back() - delays.front(), base / 4)
        << "the shards came back in one burst: the first reconnect is not jittered";
    const auto jitter = static_cast<std::uint64_t>(gw::backoff_config{}.first_jitter.count());
    EXPECT_LE(delays.back(), jitter + 500) << "the first reconnect waits at most first_jitter";
    EXPECT_TRUE(entries(log, s.log_from, "identify").empty()) << "a drop keeps every session";
    s.expect_no_violations();
}

TEST(cluster_storm, every_session_invalidated_at_once_reidentifies_paced) {
    storm_setup s;
    s.on_every_shard("invalidate", R"({"resumable":false})");
    ASSERT_TRUE(s.wait_all(gw::lifecycle_kind::ready, 2));
    const auto log = s.emu.log();
    std::vector<std::uint64_t> identifies;
    for (const auto& e : entries(log, s.log_from, "identify")) {
        identifies.push_back(t_ms_of(e));
    }
    EXPECT_EQ(identifies.size(), shards);
    std::sort(identifies.begin(), identifies.end());
    const auto window = static_cast<std::uint64_t>(s.emu.settings().identify_window.count());
    std::size_t most = 0;
    for (std::size_t i = 0; i < identifies.size(); ++i) {
        const auto end = std::lower_bound(identifies.begin() + static_cast<std::ptrdiff_t>(i),
                                          identifies.end(), identifies[i] + window);
        most = std::max(most, static_cast<std::size_t>(end - identifies.begin()) - i);
    }
    std::cout << "storm | " << shards << " sessions invalidated at once: " << identifies.size()
              << " identifies over " << identifies.back() - identifies.front() << " ms, at most "
              << most << " per " << window << " ms window (" << buckets << " buckets)" << std::endl;
    EXPECT_LE(most, buckets);
    s.expect_no_violations();
}

} // namespace
} // namespace shardgate::test::cluster_it
