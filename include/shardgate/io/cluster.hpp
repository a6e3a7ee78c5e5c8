#pragma once
/// @file
/// Live shards: many `gateway::shard` state machines on real WebSockets (ws:// or wss://), started
/// in identify-bucket order, recovered per the close-code policy, observed and commanded from user
/// code.
///
/// Boost.Asio/Beast stay inside src/io (pimpl): including this header costs nothing.
///
/// @par Example
/// @code
/// shardgate::io::cluster_options options;
/// options.token = shardgate::gateway::secret(std::getenv("DISCORD_TOKEN"));
/// shardgate::io::cluster bot(options);
/// bot.on_dispatch([](const shardgate::io::dispatch& d) { if (d.name == "MESSAGE_CREATE") ... });
/// bot.run(); // until stop() or every shard has stopped
/// @endcode

#include "shardgate/gateway/commands.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/field.hpp"
#include "shardgate/gateway/identify_scheduler.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/gateway/secret.hpp"
#include "shardgate/gateway/shard.hpp"
#include "shardgate/gateway/shard_event.hpp"
#include "shardgate/io/discovery.hpp"
#include "shardgate/io/transport.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace shardgate::io {

/// How a cluster connects. Mirrors `shardgate connect`'s options (DESIGN.md).
struct cluster_options {
    gateway::secret token;
    std::string api = "https://discord.com/api/v10"; ///< `--api`: discovery base.
    std::optional<std::string> gateway_url;          ///< `--gateway`: skips discovery.
    std::optional<std::uint32_t> shard_count;        ///< `--shards N`; nullopt = auto (discovery).
    std::vector<std::uint32_t> shard_ids;            ///< `--shard-ids`; empty = all of them.
    std::uint64_t intents = gateway::default_intents;
    gateway::compression transport_compression = gateway::compression::zlib_stream;
    unsigned threads = 1;      ///< `--threads N`: io_contexts, shards spread over them.
    bool reshard_auto = false; ///< `--reshard auto`: on 4011, bring up a new set.
    /// Used when discovery is skipped (`--gateway`): identify pacing buckets.
    std::uint32_t max_concurrency = 1;
    bool verify_tls = true;
    std::chrono::milliseconds connect_timeout{10'000};      ///< TCP + TLS + WebSocket handshake.
    std::size_t max_message_bytes = std::size_t{64} << 20U; ///< Read limit per message.
    /// Template for each shard's core settings (token, shard id, URL, intents, compression are
    /// filled in by the cluster).
    gateway::shard_config shard_defaults{};
    /// Spacing of Identifies within one bucket (`shard_id % max_concurrency`). Discord's figure is
    /// 5 s; only tests against an emulator with a shorter `--identify-window-ms` lower it.
    std::chrono::milliseconds identify_window{5'000};
    /// Added to `identify_window` between two permits of one bucket. The gateway measures the
    /// spacing when Identifies arrive, and the first of two can leave late (its io_context busy
    /// with other shards' handshakes, or network jitter) while the second leaves at once: without a
    /// margin they can arrive a little less than a window apart and be turned away (op 9, then a
    /// 1-5 s wait). 250 ms is 5 % of Discord's window; on a loaded machine 50 ms was not enough
    /// (tests/integration/cluster, 256 shards on two busy cores: 73 ms late).
    std::chrono::milliseconds identify_margin{250};
    /// After `stop()`, how long shards get to finish their close handshakes (1000) before `run`
    /// returns anyway.
    std::chrono::milliseconds stop_grace{5'000};
    /// Discovery settings when `gateway_url` is not set (and again when resharding).
    std::chrono::milliseconds discovery_timeout{10'000};
    /// Sessions to resume instead of identifying, by shard id: what `on_session` reported to an
    /// earlier run (after `stop(close_mode::keep_session)` or a crash), or what another process
    /// handed over. A shard whose session the gateway no longer knows is told so (op 9) and
    /// identifies afresh.
    std::map<std::uint32_t, gateway::session_state> resume;
    /// `run` starts no shard: the program decides which of the `shard_count` shards this process
    /// runs with `add_shard` and `release_shard` while it runs (shardgate::bridge's ownership
    /// does, moving shards between processes). `shard_ids`, `resume` and resharding do not apply.
    bool manual_assignment = false;
    /// Makes the identify scheduler all shards take their permits from, given the session-start
    /// limit discovery found (or `max_concurrency` with `gateway_url`). Called once by `run`; the
    /// scheduler is then used on the cluster's first thread only. Null: a
    /// `gateway::local_identify_scheduler` with `identify_window + identify_margin` per bucket.
    /// A scheduler shared by processes (e.g. on NATS) plugs in here.
    std::function<std::unique_ptr<gateway::identify_scheduler>(
        const gateway::session_start_limit& limit, gateway::time_point now)>
        identify_scheduler;
    /// Makes each shard's connection; null: Beast's WebSocket over TCP or TLS (`verify_tls`,
    /// `connect_timeout`, `max_message_bytes` apply). For proxies, in-memory gateways and tests
    /// that fail connections on purpose (transport.hpp states the contract).
    transport_factory transport;
};

/// A dispatch as user code sees it. Views are valid during the callback only.
struct dispatch {
    std::uint32_t shard = 0;
    std::uint64_t seq = 0;
    std::string_view name; ///< `t`
    std::string_view data; ///< `d` verbatim (raw JSON)
};

/// A snapshot of one shard, for status displays and metrics.
struct shard_status {
    std::uint32_t id = 0;
    gateway::shard_state state = gateway::shard_state::idle;
    std::optional<std::chrono::milliseconds> latency;
    /// The same round trip to the microsecond (loopback latencies are well under 1 ms).
    std::optional<std::chrono::microseconds> heartbeat_rtt;
    std::uint64_t dispatches = 0;
    std::uint64_t identifies = 0;
    std::uint64_t resumes = 0;         ///< Sessions resumed (RESUMED received).
    std::uint64_t resume_attempts = 0; ///< Resume payloads sent.
    std::uint64_t replayed = 0;        ///< Dispatches replayed between Resume and RESUMED.
    std::uint64_t reconnects = 0;
    std::optional<std::uint16_t> last_close_code;
};

/// Why `run` returned.
enum class cluster_exit {
    stopped,        ///< `stop()` (or a signal with `handle_signals`): every shard closed with 1000.
    all_fatal,      ///< Every shard stopped on a fatal close code.
    startup_failed, ///< Discovery or configuration failed; see `run`'s error.
};

/// Many shards on one or more io_contexts.
///
/// @par Theory of operation
/// `run` discovers the gateway (`GET {api}/gateway/bot`) unless `gateway_url` is set, creates one
/// `gateway::shard` per shard id and drives each with a runner: a WebSocket transport (ws:// or
/// wss://), one timer for the core's deadlines, and the actions the core asks for. Every shard
/// connects at once and waits after Hello for its Identify permit from one shared
/// `gateway::local_identify_scheduler` (bucket `id % max_concurrency`, one Identify per bucket per
/// `identify_window`), so start-up follows Discord's buckets exactly. When the daily session-start
/// budget is nearly spent the scheduler refuses: each waiting shard then reports a
/// `lifecycle_kind::protocol_error` event with `error::identify_budget_exhausted` and a one-line
/// `detail`, and waits for the reset. With `threads > 1` there is one io_context per thread and
/// the shards are spread round-robin; a shard and its callbacks always run on the same thread.
///
/// @par Resharding (`reshard_auto`)
/// On a 4011 (sharding required) from any shard of the current set, the cluster fetches
/// `/gateway/bot` again and brings up a new set alongside the old one: `shards` from discovery if
/// larger than the current count, else twice the current count (also when discovery is skipped).
/// The old shards keep running and delivering; once every new shard is READY the old ones are
/// closed with 1000. During the overlap the same guild's events may arrive from both sets
/// (duplicates, never gaps): deduplicate on an id in `d` if that matters. The fatal 4011 itself is
/// still reported through `on_lifecycle`. Resharding is only done when this process runs every
/// shard (`shard_ids` empty); with an explicit subset, 4011 stays fatal.
///
/// @par Thread Safety
/// `stop`, `send`, `send_to_guild` and `status` may be called from any thread. Callbacks run on the
/// cluster's threads (with `threads > 1`, concurrently for different shards).
class cluster {
public:
    explicit cluster(cluster_options options);
    ~cluster();
    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    /// Called for every dispatch, in sequence order per shard. Set before `run`. The views in
    /// `dispatch` are valid during the call only (nothing is copied); use `field` to read `d`.
    /// With `threads > 1` it is called concurrently for shards on different threads. An exception
    /// escaping it stops the cluster and is rethrown by `run`.
    void on_dispatch(std::function<void(const dispatch&)> handler);
    /// Called when a shard's resumable session changes: on READY (a new session), after every
    /// dispatch (its `seq`), and with nullopt when the session ended (a 4007/4009 close, op 9
    /// `false`, a fatal close, `stop()` with 1000). Save the last state per shard to restart
    /// without identifying (`cluster_options::resume`). Runs on the shard's thread, after
    /// `on_dispatch`; set before `run`. Keep it cheap: it runs once per dispatch.
    void on_session(
        std::function<void(std::uint32_t shard, const std::optional<gateway::session_state>&)>
            handler);
    /// Called for every lifecycle event (connecting, ready, resumed, closed, fatal,
    /// protocol_error, ...), on the shard's thread. Set before `run`. Identify refusals (daily
    /// budget) and commands dropped after `send` accepted them arrive here as `protocol_error`.
    void on_lifecycle(std::function<void(const gateway::lifecycle_event&)> handler);

    /// Discovers (unless `gateway_url`), starts the shards in identify-bucket order and runs until
    /// `stop()` or until every shard stopped fatally. Blocks the calling thread, which runs the
    /// first io_context (the others get threads of their own). Call it once.
    /// @param ec On `startup_failed`: a `discovery_error`, a network error, or
    ///        `std::errc::invalid_argument` for a bad configuration.
    /// @param detail One line explaining a startup failure (never the token).
    [[nodiscard]] cluster_exit run(std::error_code& ec, std::string& detail);
    /// Closes every shard and makes `run` return `stopped` once all have closed, or after
    /// `stop_grace`. By default with 1000, which ends the sessions (the bot goes offline at once);
    /// with `close_mode::keep_session` with 4900, which keeps them for a restart or another process
    /// to resume from what `on_session` reported (a rolling upgrade costs no Identify).
    /// Thread-safe, idempotent; before `run`, makes `run` stop at once.
    void stop(gateway::close_mode mode = gateway::close_mode::end_session);
    /// SIGINT/SIGTERM call `stop()` while `run` is running. Call before `run`.
    void handle_signals(bool enable);

    /// Queues a command on a shard (sent after READY/RESUMED, through its limiter). The command is
    /// validated here; it is then posted to the shard's thread.
    /// @return An encoding error (`payload_too_large`, `invalid_command`),
    ///         `std::errc::invalid_argument` for a shard this process does not run, or
    ///         `error::shard_stopped` when `run` is not running. Later failures (queue full, the
    ///         shard stopped meanwhile) are reported as a `protocol_error` lifecycle event.
    [[nodiscard]] std::error_code send(std::uint32_t shard, gateway::command cmd);
    /// Like `send`, and `written` is called on the shard's thread once the shard has taken the
    /// command: empty when it went into the shard's send limiter (written at once if the limiter
    /// has room), else why not (e.g. `error::shard_stopped`, a full queue). Not called when `send`
    /// returns an error.
    [[nodiscard]] std::error_code send(std::uint32_t shard, gateway::command cmd,
                                       std::function<void(std::error_code)> written);
    /// Queues a command on the shard that owns `guild_id`: `(guild_id >> 22) % shard_count`.
    [[nodiscard]] std::error_code send_to_guild(gateway::snowflake guild_id, gateway::command cmd);

    /// With `manual_assignment`: starts shard `id` here, resuming `session` when given (else it
    /// identifies). Thread-safe.
    /// @return `error::shard_stopped` before `run` started the cluster or after it stopped;
    ///         `std::errc::invalid_argument` for an id not below `shard_count()`;
    ///         `std::errc::device_or_resource_busy` when this process runs it already.
    [[nodiscard]] std::error_code add_shard(std::uint32_t id,
                                            std::optional<gateway::session_state> session = {});
    /// Stops shard `id` here without ending its session (close 4900): another process resumes
    /// it. `released` is called on the shard's thread once it has closed, with the session to
    /// resume (nullopt when it had none). Thread-safe.
    /// @return `std::errc::invalid_argument` when this process does not run it.
    [[nodiscard]] std::error_code
    release_shard(std::uint32_t id,
                  std::function<void(const std::optional<gateway::session_state>&)> released);

    /// The total shard count in use (known after discovery).
    [[nodiscard]] std::uint32_t shard_count() const;
    /// A snapshot of every shard this process runs (during a reshard's overlap, the old set too).
    /// Empty before `run`; after `run` returned, how each shard ended.
    [[nodiscard]] std::vector<shard_status> status() const;
    /// Prometheus text (format 0.0.4) of every shard this process runs: states, heartbeat latency,
    /// dispatches by event name, bytes before and after decompression, reconnects by cause,
    /// identifies and resumes, replayed events, decode errors, the identify budget and send-limiter
    /// waits, all named `shardgate_*`. Thread-safe; after `run` returned, the final figures.
    [[nodiscard]] std::string metrics() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

/// Lazy access to `d` (gateway/field.hpp): `field(d.data, "channel_id")` is the member's raw JSON,
/// `string_field` a string member unescaped.
using gateway::field;
using gateway::string_field;

/// The shard that owns a guild: `(guild_id >> 22) % shard_count` (gateway/snowflake.hpp).
using gateway::shard_for_guild;

} // namespace shardgate::io
