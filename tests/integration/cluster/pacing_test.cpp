// 1, 16 and 256 shards reach READY against the emulator, identifying exactly per bucket: from the
// emulator's log, identifies of one bucket (`shard % max_concurrency`) are at least one window
// apart, no window holds more than `max_concurrency` of them, and the emulator never had to turn
// one away ("identify bucket busy"). The time to READY is printed against the theoretical minimum
// `(ceil(n / mc) - 1) * window`.
#include "cluster_harness.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace shardgate::test::cluster_it {
namespace {

struct pacing_result {
    double seconds_to_ready = 0;    ///< run() called -> the last shard's READY (client clock)
    double emulator_seconds = 0;    ///< first connect -> last READY (emulator clock)
    double theoretical_seconds = 0; ///< (ceil(n / mc) - 1) * window
    double with_margin_seconds = 0; ///< (ceil(n / mc) - 1) * (window + identify_margin)
};

/// Failures of one kind, reported once with a count and the first few examples (256 shards could
/// otherwise print hundreds of lines for one cause).
class violations {
public:
    explicit violations(std::string what)
        : what_(std::move(what)) {}
    violations(const violations&) = delete;
    violations& operator=(const violations&) = delete;
    violations(violations&&) = delete;
    violations& operator=(violations&&) = delete;
    ~violations() {
        if (count_ > 0) {
            ADD_FAILURE() << count_ << " x " << what_ << ", e.g.:\n" << examples_;
        }
    }
    void add(const std::string& example) {
        if (++count_ <= 8) {
            examples_ += "  " + example + "\n";
        }
    }

private:
    std::string what_;
    std::string examples_;
    std::size_t count_ = 0;
};

/// When the cluster said it sent Identify (`identifying`), per shard, in ms since `run`.
using client_times = std::map<std::uint32_t, std::vector<long long>>;

std::string client_side(const client_times& sent, std::uint32_t shard) {
    std::string out = "shard " + std::to_string(shard) + " sent at";
    if (const auto it = sent.find(shard); it != sent.end()) {
        for (const auto t : it->second) {
            out += " " + std::to_string(t);
        }
    }
    return out + " ms";
}

/// Checks the emulator's identify entries for `n` shards in `mc` buckets of `window`. `sent` only
/// enriches the messages: it tells a client that sent too early from a delay on the way.
void expect_paced(const json::array& log, std::uint32_t n, std::uint32_t mc, milliseconds window,
                  const client_times& sent) {
    const auto identifies = entries(log, 0, "identify");
    std::map<std::uint32_t, int> per_shard;
    // (t_ms, shard) per bucket
    std::map<std::uint32_t, std::vector<std::pair<std::uint64_t, std::uint32_t>>> per_bucket;
    std::vector<std::uint64_t> all;
    for (const auto& e : identifies) {
        const auto shard = e.at("shard").to_number<std::uint32_t>();
        ++per_shard[shard];
        per_bucket[shard % mc].emplace_back(t_ms_of(e), shard);
        all.push_back(t_ms_of(e));
    }
    EXPECT_EQ(per_shard.size(), n) << "shards that identified";
    {
        violations twice("a shard identified more than once (each should identify exactly once)");
        for (const auto& [shard, count] : per_shard) {
            EXPECT_LT(shard, n);
            if (count != 1) {
                twice.add("shard " + std::to_string(shard) + ": " + std::to_string(count) +
                          " identifies");
            }
        }
    }
    const auto w = static_cast<std::uint64_t>(window.count());
    {
        violations early("identifies of one bucket less than the window apart");
        // Exactly per bucket: a bucket does not sit idle for a whole extra window either.
        violations late("identifies of one bucket two windows or more apart");
        for (auto& [bucket, times] : per_bucket) {
            std::sort(times.begin(), times.end());
            for (std::size_t i = 1; i < times.size(); ++i) {
                const auto [t0, s0] = times[i - 1];
                const auto [t1, s1] = times[i];
                const auto gap = t1 - t0;
                const auto text = "bucket " + std::to_string(bucket) + ": shards " +
                                  std::to_string(s0) + ", " + std::to_string(s1) + " arrived at " +
                                  std::to_string(t0) + " and " + std::to_string(t1) + " ms (gap " +
                                  std::to_string(gap) + " ms, window " + std::to_string(w) +
                                  " ms); client: " + client_side(sent, s0) + ", " +
                                  client_side(sent, s1);
                if (gap < w) {
                    early.add(text);
                }
                if (gap >= 2 * w) {
                    late.add(text);
                }
            }
        }
    }
    {
        // No half-open window [t, t + window) holds more than mc identifies. (t_ms is whole ms
        // rounded down, so a gap under `window` in t_ms is one under `window` in real time too.)
        violations crowded("windows holding more than max_concurrency identifies");
        std::sort(all.begin(), all.end());
        for (std::size_t i = 0; i < all.size(); ++i) {
            const auto end = std::lower_bound(all.begin() + static_cast<std::ptrdiff_t>(i),
                                              all.end(), all[i] + w);
            const auto in_window = static_cast<std::size_t>(end - all.begin()) - i;
            if (in_window > mc) {
                crowded.add(std::to_string(in_window) + " in [" + std::to_string(all[i]) + ", " +
                            std::to_string(all[i] + w) + ") ms");
            }
        }
    }
    {
        violations op9("op 9 (invalid session) from the emulator");
        for (const auto& e : entries(log, 0, "invalid_session_sent")) {
            op9.add(json::serialize(e));
        }
        violations closes("closes from the emulator");
        for (const auto& e : entries(log, 0, "close_sent")) {
            closes.add(json::serialize(e));
        }
    }
}

pacing_result run_pacing(std::uint32_t n, std::uint32_t mc, bool discovery,
                         gw::compression mode = gw::compression::zlib_stream) {
    emulator_settings s;
    s.shards = n;
    s.max_concurrency = mc;
    running_emulator emu(s);
    auto options = cluster_options_for(emu, n, mc, mode);
    if (discovery) {
        // GET /gateway/bot decides: url, shards and session_start_limit.max_concurrency.
        options.gateway_url.reset();
        options.shard_count.reset();
        options.max_concurrency = 1;
    }
    const auto waves = (n + mc - 1) / mc;
    const auto theoretical = emu.settings().identify_window * (waves - 1);
    // Bound: the theoretical time plus 30 s for connecting and READY on a loaded machine.
    const milliseconds deadline = theoretical + 30s;
    // The cluster leaves a margin between two permits of a bucket (the gateway measures arrival).
    const auto with_margin =
        (emu.settings().identify_window + options.identify_margin) * (waves - 1);

    cluster_runner run(std::move(options));
    run.events().drop_data(true);
    const bool all_ready = run.events().wait_for(
        [&](const record_list& r) { return count_shards_with(r, gw::lifecycle_kind::ready) == n; },
        deadline);
    const auto records = run.events().snapshot();
    const auto readies = count_shards_with(records, gw::lifecycle_kind::ready);
    EXPECT_TRUE(all_ready) << readies << " of " << n << " shards reached READY within "
                           << std::chrono::duration_cast<std::chrono::seconds>(deadline).count()
                           << " s";
    if (discovery) {
        EXPECT_EQ(run.cluster().shard_count(), n) << "the shard count discovery recommended";
    }

    pacing_result result;
    steady::time_point last_ready = run.started_at();
    for (const auto& r : records) {
        if (r.is(gw::lifecycle_kind::ready)) {
            last_ready = std::max(last_ready, r.at);
        }
    }
    result.seconds_to_ready = std::chrono::duration<double>(last_ready - run.started_at()).count();
    result.theoretical_seconds = std::chrono::duration<double>(theoretical).count();
    result.with_margin_seconds = std::chrono::duration<double>(with_margin).count();

    const auto log = emu.log();
    if (const auto first = find_entry(log, 0, "connect");
        first && !entries(log, 0, "ready").empty()) {
        result.emulator_seconds =
            static_cast<double>(t_ms_of(entries(log, 0, "ready").back()) - t_ms_of(log[*first])) /
            1000.0;
    }
    client_times sent;
    for (const auto& r : records) {
        if (r.is(gw::lifecycle_kind::identifying)) {
            sent[r.shard].push_back(
                std::chrono::duration_cast<milliseconds>(r.at - run.started_at()).count());
        }
    }
    expect_paced(log, n, mc, emu.settings().identify_window, sent);
    {
        violations unexpected("lifecycle events a clean start has none of");
        for (const auto& r : records) {
            if (r.is(gw::lifecycle_kind::closed) || r.is(gw::lifecycle_kind::fatal) ||
                r.is(gw::lifecycle_kind::invalid_session) ||
                r.is(gw::lifecycle_kind::protocol_error)) {
                unexpected.add(r.describe());
            }
        }
    }
    // Every shard's dispatches so far are one contiguous session.
    for (std::uint32_t shard = 0; shard < n; ++shard) {
        const auto sessions = expect_contiguous_sessions(records, shard);
        EXPECT_EQ(sessions.size(), 1U) << "shard " << shard;
    }
    std::cout << std::fixed << std::setprecision(2) << "pacing | " << n
              << " shards, max_concurrency " << mc << ", window "
              << emu.settings().identify_window.count() << " ms"
              << (discovery ? ", via discovery" : "") << " | READY in " << result.seconds_to_ready
              << " s (emulator: " << result.emulator_seconds << " s), theoretical minimum "
              << result.theoretical_seconds << " s (" << result.with_margin_seconds
              << " s with the cluster's identify_margin)" << std::endl;
    return result;
}

TEST(cluster_pacing, one_shard_reaches_ready) {
    const auto r = run_pacing(1, 1, false);
    EXPECT_LT(r.seconds_to_ready, 10.0);
}

TEST(cluster_pacing, sixteen_shards_four_buckets) {
    run_pacing(16, 4, false);
}

TEST(cluster_pacing, sixteen_shards_four_buckets_from_discovery) {
    run_pacing(16, 4, true);
}

TEST(cluster_pacing, two_hundred_fifty_six_shards_sixteen_buckets) {
    const auto r = run_pacing(256, 16, false);
    EXPECT_GE(r.seconds_to_ready, r.theoretical_seconds);
}

} // namespace
} // namespace shardgate::test::cluster_it
