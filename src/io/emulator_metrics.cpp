#include "emulator_metrics.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/observe/prometheus.hpp"

#include <array>
#include <string_view>

namespace shardgate::io::detail {

std::string emulator_metrics_text(const emulator::world_stats& stats, std::size_t open_connections,
                                  const std::map<std::uint32_t, std::size_t>& open_by_shard) {
    std::string out;
    observe::prometheus_writer w(out);
    w.family("shardgate_emulator_open_connections", "gauge", "WebSocket connections open now.");
    w.sample("shardgate_emulator_open_connections", {}, std::uint64_t{open_connections});
    w.family("shardgate_emulator_sessions", "gauge",
             "Sessions that exist (attached or resumable).");
    w.sample("shardgate_emulator_sessions", {}, stats.sessions);
    w.family("shardgate_emulator_session_start_remaining", "gauge",
             "Session starts left in the emulated daily budget.");
    w.sample("shardgate_emulator_session_start_remaining", {}, stats.session_start_remaining);

    const auto& totals = stats.totals;
    struct counter {
        std::string_view name;
        std::uint64_t value;
        std::string_view help;
    };
    const std::array<counter, 4> counters{{
        {"shardgate_emulator_identifies_total", totals.identifies, "Identifies accepted."},
        {"shardgate_emulator_resumes_total", totals.resumes, "Resumes accepted."},
        {"shardgate_emulator_heartbeats_total", totals.heartbeats, "Heartbeats received."},
        {"shardgate_emulator_replayed_dispatches_total", totals.replayed,
         "Dispatches replayed on Resume."},
    }};
    for (const auto& c : counters) {
        w.family(c.name, "counter", c.help);
        w.sample(c.name, {}, c.value);
    }
    const auto by_code = [&](std::string_view name,
                             const std::map<std::uint16_t, std::uint64_t>& codes,
                             std::string_view help) {
        w.family(name, "counter", help);
        for (const auto& [code, n] : codes) {
            const auto text = std::to_string(code);
            w.sample(name, {{"code", text}, {"name", gateway::policy_for(code).name}}, n);
        }
    };
    by_code("shardgate_emulator_closes_sent_total", totals.close_codes_sent,
            "Close frames the emulator sent, by code.");
    by_code("shardgate_emulator_violations_total", totals.violations,
            "Protocol violations by clients, by the close code they earned.");

    w.family("shardgate_emulator_shard_open_connections", "gauge",
             "Open connections identified or resumed as each shard.");
    for (const auto& [shard, n] : open_by_shard) {
        w.sample("shardgate_emulator_shard_open_connections", {{"shard", std::to_string(shard)}},
                 std::uint64_t{n});
    }
    w.family("shardgate_emulator_shard_connections_total", "counter",
             "Connections that identified or resumed as each shard.");
    for (const auto& [shard, c] : stats.shards) {
        w.sample("shardgate_emulator_shard_connections_total", {{"shard", std::to_string(shard)}},
                 c.connections);
    }
    w.family("shardgate_emulator_shard_last_sequence", "gauge",
             "The highest sequence number sent to each shard.");
    for (const auto& [shard, c] : stats.shards) {
        w.sample("shardgate_emulator_shard_last_sequence", {{"shard", std::to_string(shard)}},
                 c.last_seq);
    }
    return out;
}

} // namespace shardgate::io::detail
