#pragma once
/// @file
/// Identify pacing shared by every process of a cluster, on a JetStream key-value bucket: at most
/// one Identify per `max_concurrency` bucket per window across all processes on all machines, and
/// one daily session-start budget.
///
/// @par How
/// Each identify bucket has a key holding the wall-clock time (ms) of its latest slot. A process
/// claims the next slot, `max(now, latest + window + margin)`, with compare-and-set on the key's
/// revision (another process claiming first makes it read again), then hands the permit out at
/// that time. The budget is one key `budget` = `remaining reset_at_ms`, taken one start at a time
/// with compare-and-set. nats-server 2.9 has no per-key expiry, so nothing here relies on keys
/// expiring: slots are times, and the budget carries its own reset time. Processes on different
/// machines compare wall clocks: keep them NTP-synchronised (the margin absorbs a few ms).

#include "shardgate/bridge/connection.hpp"
#include "shardgate/gateway/identify_scheduler.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace shardgate::bridge {

/// Settings of `shared_identify_scheduler`.
struct shared_identify_settings {
    std::string bucket = "shardgate-identify"; ///< The key-value bucket (one per bot).
    std::chrono::milliseconds window{5'000};   ///< Discord's 5 s per bucket.
    /// Added to `window` between two slots of a bucket: how late one Identify may leave without
    /// arriving within the window of the next. 1 % of Discord's window.
    std::chrono::milliseconds margin{50};
    std::uint32_t budget_reserve = 0; ///< As `local_identify_scheduler_config`; 0: automatic.
};

/// A `gateway::identify_scheduler` whose decisions hold across processes. Plug it into
/// `io::cluster_options::identify_scheduler`. Its requests are served by a thread of its own that
/// talks to NATS; `poll` only hands out what it decided.
class shared_identify_scheduler final : public gateway::identify_scheduler {
public:
    shared_identify_scheduler(std::shared_ptr<nats_connection> connection,
                              shared_identify_settings settings,
                              gateway::session_start_limit limit);
    ~shared_identify_scheduler() override;
    shared_identify_scheduler(const shared_identify_scheduler&) = delete;
    shared_identify_scheduler& operator=(const shared_identify_scheduler&) = delete;
    shared_identify_scheduler(shared_identify_scheduler&&) = delete;
    shared_identify_scheduler& operator=(shared_identify_scheduler&&) = delete;

    void request(std::uint32_t shard_id, gateway::time_point now) override;
    void cancel(std::uint32_t shard_id) override;
    [[nodiscard]] std::optional<gateway::identify_decision> poll(gateway::time_point now) override;
    [[nodiscard]] std::optional<gateway::time_point> next_deadline() const override;
    [[nodiscard]] std::optional<std::uint32_t> budget_remaining() const override;

    /// Total time shards waited between `request` and their permit, in ms (for metrics).
    [[nodiscard]] std::uint64_t wait_ms_total() const;
    /// Permits handed out.
    [[nodiscard]] std::uint64_t permits() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::bridge
