#pragma once
// The cluster's Prometheus metrics: counters each worker thread keeps for its shards (one writer,
// so adding is a plain load and store, never a locked instruction on the hot path), and the writer
// that turns them, the shards' snapshots and the rarer tallies into the text format. Private to
// src/io.

#include "shardgate/gateway/shard_event.hpp"
#include "shardgate/io/cluster.hpp"
#include "shardgate/observe/prometheus.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::io::detail {

/// Why a shard reconnected.
enum class reconnect_cause : std::uint8_t {
    reconnect_requested, ///< op 7
    invalid_session,     ///< op 9
    zombie,              ///< no heartbeat ACK
    protocol_error,      ///< a frame that could not be decoded
    connection_lost,     ///< the TCP connection ended without a close frame (1006)
    closed_by_gateway,   ///< any other close code the policy resumes or re-identifies on
};
inline constexpr std::size_t reconnect_cause_count = 6;
[[nodiscard]] std::string_view to_string(reconnect_cause cause) noexcept;

/// A bounded label for why a connection failed without a close frame: "refused", "unresolved",
/// "tls", "upgrade_declined", "timeout", "reset", "eof", "hello_timeout", "url" or "other".
[[nodiscard]] std::string_view connection_failure_kind(const gateway::lifecycle_event& closed);

/// The index of `name` in `gateway::all_dispatch_events()`, or `dispatch_index_other` for any
/// other name (a new event Discord added).
[[nodiscard]] std::size_t dispatch_index(std::string_view name) noexcept;
extern const std::size_t dispatch_index_other;

/// A counter with one writing thread and any number of readers.
class single_writer_counter {
public:
    void add(std::uint64_t n) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t get() const noexcept {
        return value_.load(std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t> value_{0};
};

/// What the shards of one worker have done, summed. Kept after `run` returns.
struct worker_counters {
    worker_counters();
    std::vector<single_writer_counter> dispatches_by_event; ///< `dispatch_index` order
    single_writer_counter identifies;
    single_writer_counter resumes;
    single_writer_counter resume_attempts;
    single_writer_counter received_bytes;
    single_writer_counter payload_bytes;
    single_writer_counter sent_bytes;
    single_writer_counter replayed;
    single_writer_counter send_limiter_waits;
    single_writer_counter decode_errors;
    single_writer_counter zombies;
    std::array<single_writer_counter, reconnect_cause_count> reconnects;
};

/// Everything one scrape shows, gathered by the cluster.
struct cluster_metrics_view {
    std::vector<shard_status> shards;
    std::uint32_t shard_count = 0;
    std::optional<std::uint32_t> identify_budget_remaining;
    std::vector<const worker_counters*> workers;
    const observe::histogram* heartbeat_latency = nullptr;
    std::map<std::uint16_t, std::uint64_t> closes_by_code;
    std::map<std::string, std::uint64_t> decode_errors_by_kind;
    std::map<std::string_view, std::uint64_t> connection_failures_by_kind;
};

/// Appends the `shardgate_*` families of a cluster to `out`.
void write_cluster_metrics(std::string& out, const cluster_metrics_view& view);

} // namespace shardgate::io::detail
