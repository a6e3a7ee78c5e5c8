// Fault loops in the manner of Beast's own tests: a cluster of two shards runs against the
// emulator's core in memory (memory_gateway.hpp, through `cluster_options::transport`), and the Nth
// connect, handshake, read or write fails, for N = 1, 2, 3, ... until a run in which the Nth
// operation never comes. Every run must end in the documented reaction (a transport failure is
// 1006: resume with a session, identify without one) and with both shards active, every dispatch
// delivered once and in order within its session. Under ASan (the asan preset) the same runs show
// nothing leaks.
#include "memory_gateway.hpp"
#include "shardgate/io/cluster.hpp"

#include <condition_variable>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace shardgate::test {
namespace {

namespace gw = shardgate::gateway;
using namespace std::chrono_literals;

constexpr std::uint32_t shards = 2;
constexpr std::size_t dispatches_after_fault = 5;
constexpr auto run_timeout = 10s;
constexpr std::uint64_t max_n = 150; ///< A guard: every loop ends well before this.

emulator::emulator_config gateway_config() {
    emulator::emulator_config c;
    c.tokens = {"fault-loop-token"};
    c.recommended_shards = shards;
    c.max_concurrency = shards;
    c.identify_window = 20ms;
    c.heartbeat_interval = 150ms; // heartbeats and their ACKs are among the first writes and reads
    c.traffic_per_second = 200;
    c.guilds = 4;
    c.seed = 5;
    return c;
}

io::cluster_options cluster_config(memory_gateway& g) {
    io::cluster_options o;
    o.token = gw::secret("fault-loop-token");
    o.gateway_url = "ws://memory.test";
    o.shard_count = shards;
    o.max_concurrency = shards;
    o.identify_window = 20ms;
    o.identify_margin = 10ms; // Identifies of one bucket never closer than the gateway's window
    o.stop_grace = 1'000ms;
    o.shard_defaults.backoff.base = 20ms;
    o.shard_defaults.backoff.cap = 100ms;
    o.shard_defaults.backoff.first_jitter = 20ms;
    o.shard_defaults.invalid_session_wait_min = 10ms;
    o.shard_defaults.invalid_session_wait_max = 20ms;
    o.transport = g.factory();
    return o;
}

/// What one run delivered, per shard.
struct run_record {
    std::mutex mutex;
    std::condition_variable changed;
    std::map<std::uint32_t, std::vector<std::uint64_t>> seqs; ///< per session: reset at READY
    std::map<std::uint32_t, std::vector<std::string>> breaks; ///< gaps or duplicates seen
    std::map<std::uint32_t, std::size_t> since_fault;         ///< dispatches after the fault
    std::vector<gw::lifecycle_event> closes;
    bool fault_seen = false;

    void dispatch(const io::dispatch& d) {
        const std::scoped_lock lock(mutex);
        auto& s = seqs[d.shard];
        if (d.name == "READY") {
            s.clear();
        }
        if (!s.empty() && d.seq != s.back() + 1) {
            breaks[d.shard].push_back(std::to_string(s.back()) + " -> " + std::to_string(d.seq));
        }
        s.push_back(d.seq);
        if (fault_seen) {
            ++since_fault[d.shard];
        }
        changed.notify_all();
    }
    void lifecycle(const gw::lifecycle_event& e) {
        const std::scoped_lock lock(mutex);
        if (e.kind == gw::lifecycle_kind::closed) {
            closes.push_back(e);
        }
    }
    void mark_fault() {
        const std::scoped_lock lock(mutex);
        if (!fault_seen) {
            fault_seen = true;
            since_fault.clear();
        }
    }
    bool settled() const {
        if (since_fault.size() < shards) {
            return false;
        }
        for (const auto& [shard, n] : since_fault) {
            if (n < dispatches_after_fault) {
                return false;
            }
        }
        return true;
    }
};

/// One run with the fault at the Nth `point`. Returns whether the fault fired.
bool run_once(fault_point point, std::uint64_t n) {
    SCOPED_TRACE(std::string(to_string(point)) + " #" + std::to_string(n));
    memory_gateway gateway(gateway_config(), {point, n});
    run_record record;
    io::cluster bot(cluster_config(gateway));
    bot.on_dispatch([&](const io::dispatch& d) { record.dispatch(d); });
    bot.on_lifecycle([&](const gw::lifecycle_event& e) { record.lifecycle(e); });
    std::error_code ec;
    std::string detail;
    io::cluster_exit exit{};
    std::thread runner([&] { exit = bot.run(ec, detail); });

    // Wait until the fault fired (or enough traffic showed it never will), then for traffic
    // after it on every shard.
    bool settled = false;
    const auto deadline = std::chrono::steady_clock::now() + run_timeout;
    {
        std::unique_lock lock(record.mutex);
        while (std::chrono::steady_clock::now() < deadline) {
            if (!record.fault_seen && gateway.fault_fired()) {
                lock.unlock();
                record.mark_fault();
                lock.lock();
            }
            std::size_t total = 0;
            for (const auto& [s, v] : record.seqs) {
                total += v.size();
            }
            if (!record.fault_seen && total >= 40) {
                // The Nth operation has not come: a clean run. Disarmed, the fault cannot strike
                // later (it would find the cluster stopping and no `closed` to report it); if it
                // struck just now, its shard must still recover before the traffic awaited below.
                gateway.disarm();
                record.fault_seen = true;
                record.since_fault.clear();
            }
            if (record.fault_seen && record.settled()) {
                settled = true;
                break;
            }
            record.changed.wait_for(lock, 20ms);
        }
    }
    bot.stop();
    runner.join();
    const bool fired = gateway.fault_fired();

    EXPECT_TRUE(settled) << "both shards did not get traffic back within " << run_timeout.count()
                         << " s";
    EXPECT_EQ(exit, io::cluster_exit::stopped) << detail;
    const std::scoped_lock lock(record.mutex);
    for (const auto& [shard, breaks] : record.breaks) {
        for (const auto& b : breaks) {
            ADD_FAILURE() << "shard " << shard << ": sequence " << b;
        }
    }
    // The documented reaction: a failure is a loss of the connection (1006) and resumes when a
    // session exists (identifies afresh when none does yet), never fatal.
    for (const auto& e : record.closes) {
        if (e.cause == gw::disconnect_cause::handover ||
            e.cause == gw::disconnect_cause::shutdown) {
            continue;
        }
        EXPECT_EQ(e.by, gw::closed_by::transport) << gw::to_string(e.cause);
        EXPECT_EQ(e.cause, gw::disconnect_cause::connection_lost);
        EXPECT_EQ(e.code, 1006);
        EXPECT_NE(e.reaction, gw::close_reaction::fatal);
    }
    if (fired) {
        // Connect and handshake failures happen before an open connection: the shard retries
        // without a `closed` event of an open session... but it reports the 1006 all the same.
        EXPECT_FALSE(record.closes.empty()) << "the failure was not reported";
    } else {
        EXPECT_TRUE(record.closes.empty()) << "a close without a fault";
    }
    return fired;
}

class fault_loop : public ::testing::TestWithParam<fault_point> {};

TEST_P(fault_loop, every_nth_failure_ends_in_the_documented_reaction) {
    std::uint64_t n = 1;
    for (; n < max_n; ++n) {
        if (!run_once(GetParam(), n)) {
            break;
        }
        if (::testing::Test::HasFailure()) {
            break; // the first failing N says enough
        }
    }
    EXPECT_LT(n, max_n) << "the loop did not end";
    EXPECT_GE(n, 2U) << "the first " << to_string(GetParam()) << " never failed";
    std::cout << "fault loop " << to_string(GetParam()) << ": " << n - 1
              << " runs with a fault, then a clean one\n";
}

std::string point_name(const ::testing::TestParamInfo<fault_point>& p) {
    return std::string(to_string(p.param));
}

INSTANTIATE_TEST_SUITE_P(each_operation, fault_loop,
                         ::testing::Values(fault_point::connect, fault_point::handshake,
                                           fault_point::read, fault_point::write),
                         point_name);

} // namespace
} // namespace shardgate::test
