#pragma once
/// @file
/// The state one emulated application shares across its connections: sessions and their replay
/// buffers, identify pacing per `max_concurrency` bucket, the daily session-start budget, per-shard
/// statistics and the action log. Sans-I/O like the connections that use it.

#include "shardgate/emulator/catalog.hpp"
#include "shardgate/emulator/config.hpp"
#include "shardgate/emulator/hostile.hpp"
#include "shardgate/emulator/log_entry.hpp"
#include "shardgate/emulator/stats.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace shardgate::emulator {

/// One emulated Discord application as the gateway sees it.
///
/// Sessions outlive connections: a session is created by a successful Identify, survives a drop or
/// a client close other than 1000/1001 for `session_ttl` (it may be resumed meanwhile; generated
/// traffic keeps flowing into its replay buffer), and is destroyed by a client close 1000/1001,
/// op 9 `false`, a 4009 heartbeat timeout or the simulated token reset.
///
/// The daily session-start budget (`session_start_total`) is spent by successful Identifies (never
/// by Resume). An Identify that arrives when none is left triggers Discord's penalty: every open
/// connection is closed with 4004, every session is destroyed and the token counts as reset for
/// the rest of the run (`token_accepted` is false, so `/gateway/bot` answers 401 and every
/// Identify or Resume gets 4004). The budget itself refills after `session_start_reset_after`.
///
/// The log keeps the last `max_log_entries` (100,000) entries, as typed values (log_entry.hpp),
/// within `log_byte_budget` bytes (32 MiB), each string cut at `max_log_string_bytes`; older
/// entries are dropped and counted. The statistics are typed too (stats.hpp); the JSON of the
/// control API is rendered from both. Neither the log nor the statistics ever contain a token.
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
    /// Tells the world which wall-clock time `now` is (Unix ms), for the timestamps and snowflakes
    /// of generated events. Without it the emulator pretends it started at 2026-01-01T00:00:00Z,
    /// which keeps tests deterministic.
    void set_unix_time(time_point now, std::uint64_t unix_ms);
    /// Registers a callback for connections that got new actions (or a new deadline) from outside
    /// their own inputs: the world closed them (4004 after the token reset, 4000 when their session
    /// was resumed on another connection). The adapter then drains that connection's
    /// `poll_action()` and re-arms its timer. Called synchronously, from inside the input that
    /// caused it; the handler must not destroy connections.
    void set_wake_handler(std::function<void(std::uint64_t connection_id)> handler);
    /// Called with each entry as it is added to the log (`to_json(entry)` is the object `log_json`
    /// lists), from inside the input that caused it. For live displays; must not call back into
    /// the world. The reference is valid during the call only.
    void set_log_observer(std::function<void(const log_entry& entry)> observer);

    // Discovery (HTTP)
    // -----------------------------------------------------------------------------
    /// `GET /api/v10/gateway`: `{"url":"ws://..."}`.
    [[nodiscard]] std::string gateway_json() const;
    /// Whether `Authorization: Bot <token>` would be accepted (before the simulated token reset).
    [[nodiscard]] bool token_accepted(std::string_view token) const;
    /// `GET /api/v10/gateway/bot`: url, shards, session_start_limit {total, remaining, reset_after,
    /// max_concurrency}.
    [[nodiscard]] std::string gateway_bot_json(time_point now) const;

    // Observation (control API)
    // ----------------------------------------------------------------------
    /// A snapshot of the counters per shard, of unidentified connections and in total, with the
    /// session and budget figures (stats.hpp). What the control API, the metrics and the status
    /// page show.
    [[nodiscard]] world_stats stats() const;
    /// `GET /_emulator/stats`: `to_json(stats())`, e.g.
    /// `{"shards":{"0":{"identifies":N,"resumes":N,"heartbeats":N,"last_seq":N,
    /// "close_codes_sent":{"4000":N},"violations":{"4001":N},"connections":N,"replayed":N}},
    /// "totals":{...same keys...},"unidentified":{...same keys...},"sessions":N,
    /// "session_start_remaining":N,"token_reset":false,"log_dropped":N}`. `connections` counts
    /// connections under the shard they identified or resumed as (under "unidentified" until
    /// then, and past `max_tracked_shards` distinct shard ids); `replayed` counts dispatches
    /// replayed on Resume; totals sum the shards and
    /// "unidentified" (`last_seq`: the highest).
    [[nodiscard]] std::string stats_json() const;
    /// The log, oldest first: every client action with a timestamp in ms since the emulator
    /// started (connect with its query, identify, resume, heartbeat, commands, client close codes)
    /// and every server reaction (close codes sent, op 7/9, replays, injected faults), as typed
    /// entries (log_entry.hpp). Bounded to the last `max_log_entries` and `log_byte_budget` bytes.
    /// Valid until the next input.
    [[nodiscard]] const std::deque<log_entry>& log() const noexcept;
    /// What the log holds in bytes (`footprint` of its entries), at most
    /// `config().log_byte_budget`.
    [[nodiscard]] std::size_t log_bytes() const noexcept;
    /// `GET /_emulator/log`: `log()` as a JSON array of `to_json(entry)`, oldest first:
    /// `{"t_ms":N,"connection":N,"shard":N|null,"event":E,...}` with
    /// E one of connect (`query`), hello (`heartbeat_interval`), identify (`shard`, `num_shards`,
    /// `intents`), resume (`session_id`, `seq`), replay (`count`), heartbeat (`seq`), command
    /// (`op`), client_close (`code`), transport_lost, close_sent (`code`, `reason`),
    /// reconnect_sent, invalid_session_sent (`resumable`), ready (`session_id`, `guilds`), resumed,
    /// violation (`code`, `reason`), fault (`fault`), dispatch (`t`, `seq`; injected ones only),
    /// session_expired, token_reset.
    [[nodiscard]] std::string log_json() const;

    /// Sequences a dispatch into every detached session of `shard` (sessions whose connection
    /// closed or dropped and that may still be resumed): the event a bot misses while away, which a
    /// Resume replays. `POST /_emulator/dispatch` uses it when no open connection has the shard.
    /// @return How many detached sessions received it.
    std::size_t dispatch_to_detached(time_point now, std::uint32_t shard, std::string_view t,
                                     std::string_view d_json);

    /// What `flood_to_detached` did.
    struct detached_flood {
        std::size_t sessions = 0; ///< Detached sessions of the shard that received the flood.
        /// Events per session that went past the replay buffer (`replay_buffer_events`): they
        /// were sequenced but not kept (nor generated), so a Resume from before them gets 4007, as
        /// on Discord when a bot is away longer than its replay window.
        std::uint64_t dropped = 0;
    };
    /// Sequences `count` generated events of kind `t` into every detached session of `shard`,
    /// as `dispatch_to_detached` does one dispatch (`POST /_emulator/flood` when no open
    /// connection has the shard). The replay buffer bounds what is kept: only its last
    /// `replay_buffer_events` events are generated, the earlier ones only take their sequence
    /// numbers, so a flood of any size costs at most one buffer's worth.
    detached_flood flood_to_detached(time_point now, std::uint32_t shard, std::string_view t,
                                     std::uint64_t count);

    /// Arms a hostile mode that acts at connection start (hostile.hpp) for the next `connections`
    /// connections, after those already armed; `POST /_emulator/hostile` uses it. At most
    /// `max_armed_hostile` are kept armed.
    /// @return How many were armed (fewer than asked past the bound; 0 for a mode that acts on open
    /// connections).
    std::size_t arm_hostile(hostile_mode mode, std::size_t connections);
    static constexpr std::size_t max_armed_hostile = 10'000;

    /// Bytes of frames the replay buffers of every session hold, each at most
    /// `replay_buffer_bytes` (and `replay_buffer_events` frames).
    [[nodiscard]] std::size_t replay_bytes() const noexcept;

    // Time
    // -----------------------------------------------------------------------------------------
    /// Expires detached sessions past `session_ttl` and resets the daily budget when due.
    void on_deadline(time_point now);
    [[nodiscard]] std::optional<time_point> next_deadline() const;

    /// Log entries kept; older ones are dropped (and counted in the stats as `log_dropped`).
    static constexpr std::size_t max_log_entries = 100'000;

    /// Implementation state shared with `connection` (sessions, buckets, stats, log).
    struct state;
    [[nodiscard]] state& internals() noexcept { return *state_; }

private:
    std::unique_ptr<state> state_;
};

} // namespace shardgate::emulator
