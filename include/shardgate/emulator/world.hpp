#pragma once
/// @file
/// The state one emulated application shares across its connections: sessions and their replay
/// buffers, identify pacing per `max_concurrency` bucket, the daily session-start budget, per-shard
/// statistics and the action log. Sans-I/O like the connections that use it.

#include "shardgate/emulator/catalog.hpp"
#include "shardgate/emulator/config.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace shardgate::emulator {

/// One emulated Discord application as the gateway sees it.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class world {
public:
    world(emulator_config config, time_point now);
    ~world();
    world(const world&) = delete;
    world& operator=(const world&) = delete;

    [[nodiscard]] const emulator_config& config() const noexcept;
    [[nodiscard]] const catalog& content() const noexcept;
    /// Where clients connect, e.g. "ws://127.0.0.1:4567"; set once the server listens.
    void set_public_ws_url(std::string url);

    // Discovery (HTTP) -----------------------------------------------------------------------------
    /// `GET /api/v10/gateway`: `{"url":"ws://..."}`.
    [[nodiscard]] std::string gateway_json() const;
    /// Whether `Authorization: Bot <token>` would be accepted (before the simulated token reset).
    [[nodiscard]] bool token_accepted(std::string_view token) const;
    /// `GET /api/v10/gateway/bot`: url, shards, session_start_limit {total, remaining, reset_after,
    /// max_concurrency}.
    [[nodiscard]] std::string gateway_bot_json(time_point now) const;

    // Observation (control API) ----------------------------------------------------------------------
    /// `GET /_emulator/stats`: per shard identifies, resumes, heartbeats, last sequence, close codes
    /// sent, violations; plus totals.
    [[nodiscard]] std::string stats_json() const;
    /// `GET /_emulator/log`: every client action with a timestamp in ms since the emulator started
    /// (connect with its query, identify, resume, heartbeat, commands, client close codes) and every
    /// server reaction (close codes sent, op 7/9, replays).
    [[nodiscard]] std::string log_json() const;

    // Time -----------------------------------------------------------------------------------------
    /// Expires detached sessions past `session_ttl` and resets the daily budget when due.
    void on_deadline(time_point now);
    [[nodiscard]] std::optional<time_point> next_deadline() const;

    /// Implementation state shared with `connection` (sessions, buckets, stats, log).
    struct state;
    [[nodiscard]] state& internals() noexcept { return *state_; }

private:
    std::unique_ptr<state> state_;
};

} // namespace shardgate::emulator
