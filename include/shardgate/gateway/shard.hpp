#pragma once
/// @file
/// The client shard: a sans-I/O state machine for one gateway connection and its session.
///
/// A driver (the Asio runner, or a test) feeds it inputs with the current time and carries out the
/// actions it returns. Nothing in it reads a clock, opens a socket or starts a thread, so every
/// path (heartbeats, zombie detection, every close code, op 7, op 9) is tested deterministically
/// with simulated time.
///
/// @par Theory of operation
/// `start` asks for a connection. After Hello the shard heartbeats (first beat after
/// `interval × jitter`, then every interval) and either resumes the session it has, or asks the
/// identify scheduler for a permit (`action::request_identify`) and identifies when granted. READY
/// and RESUMED make it active; commands queued meanwhile are then sent through the send limiter.
/// Every disconnect ends in one place, which consults the close-code policy (close_code.hpp):
/// resume, identify afresh, or stop with a remedy.
///
/// @par Driving it
/// After every input, drain `poll_action()` until it returns nullopt, then arm a timer for
/// `next_deadline()` and call `on_deadline` when it fires. Views inside returned dispatch events
/// are valid until the next input.
/// @see https://discord.com/developers/docs/events/gateway#connection-lifecycle

#include "shardgate/gateway/backoff.hpp"
#include "shardgate/gateway/commands.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/payload.hpp"
#include "shardgate/gateway/send_limiter.hpp"
#include "shardgate/gateway/shard_config.hpp"
#include "shardgate/gateway/shard_event.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace shardgate::gateway {

/// Where a shard is. Follows twilight's `ShardState`, plus the steps of a connection.
enum class shard_state : std::uint8_t {
    idle,           ///< Not started.
    disconnected,   ///< Waiting to reconnect (back-off or the op 9 wait).
    connecting,     ///< Asked the driver for a connection.
    awaiting_hello, ///< Connected; Hello not yet received.
    identifying,    ///< Waiting for an identify permit, or for READY.
    resuming,       ///< Resume sent; waiting for RESUMED (replayed events arrive meanwhile).
    active,         ///< READY or RESUMED received.
    closing,        ///< A close handshake the shard started is in progress.
    fatally_closed, ///< Stopped on a fatal close code; see the `fatal` event for the remedy.
    stopped,        ///< Shut down by `close`.
};

/// "idle", "disconnected", ...
[[nodiscard]] std::string_view to_string(shard_state state) noexcept;

/// A session that can be resumed.
struct session_info {
    std::string session_id;
    std::string resume_gateway_url;
};

/// Counters of one shard, for metrics and tests.
struct shard_stats {
    std::uint64_t connects = 0;
    std::uint64_t identifies = 0;
    /// Sessions resumed: RESUMED received. ("resumes" means this everywhere: metrics, the status
    /// page, the demo's summary.)
    std::uint64_t resumes = 0;
    std::uint64_t resume_attempts = 0; ///< Resume payloads sent.
    std::uint64_t dispatches = 0;
    std::uint64_t heartbeats_sent = 0;
    /// The gateway's op 1 requests left unanswered because only reserved send slots were free.
    std::uint64_t heartbeat_requests_unanswered = 0;
    std::uint64_t heartbeat_acks = 0;
    std::uint64_t parks = 0; ///< Times the connection was parked as quiet.
    std::uint64_t zombies = 0;
    std::uint64_t protocol_errors = 0;
    std::uint64_t unknown_opcodes = 0;
    std::uint64_t commands_sent = 0;
    std::uint64_t received_bytes = 0;     ///< Frames as they arrived (compressed, if so).
    std::uint64_t payload_bytes = 0;      ///< JSON text after decompression.
    std::uint64_t sent_bytes = 0;         ///< Text frames sent.
    std::uint64_t replayed = 0;           ///< Dispatches between Resume and RESUMED.
    std::uint64_t send_limiter_waits = 0; ///< Commands that had to wait for the rate limit.
};

/// How `shard::close` leaves the session.
enum class close_mode : std::uint8_t {
    end_session,  ///< Close with 1000: Discord ends the session and the bot goes offline at once.
    keep_session, ///< Close with 4900: the session stays resumable (for a limited time Discord
                  ///< does not state) by whoever starts from `resumable_session()`.
};

/// Returns a uniformly distributed number in [0, 1). Injected so the core has no hidden randomness.
using random_source = std::function<double()>;

/// One shard's connection and session, as a sans-I/O state machine.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class shard {
public:
    /// @param config What to connect to and how to identify; with `resume` set, the shard
    ///        resumes that session instead of identifying.
    /// @param random Jitter for the first heartbeat, the back-off and the op 9 wait.
    /// @throws invalid_shard_config naming the field when `validate(config)` finds a problem.
    shard(shard_config config, random_source random);

    // Inputs
    // ---------------------------------------------------------------------------------------

    /// Starts the shard: it asks for its first connection.
    void start(time_point now);
    /// The connection asked for by `action::connect` is open.
    void on_connected(time_point now);
    /// A text frame arrived (payloads without transport compression).
    void on_text(time_point now, std::string_view text);
    /// A binary frame arrived (transport-compressed payloads).
    void on_binary(time_point now, std::span<const std::byte> bytes);
    /// The connection closed with a close frame carrying `code`.
    void on_closed(time_point now, std::uint16_t code, std::string_view reason = {});
    /// The connection failed or dropped without a close frame (connect failure, reset, EOF).
    /// `ec`, `detail` (the transport's context, e.g. "HTTP 403 on the upgrade") and `stage` are
    /// passed on in the `closed` event; after `on_connected` the stage is `open` whatever is given.
    void on_transport_error(time_point now, std::error_code ec, std::string_view detail = {},
                            transport_stage stage = transport_stage::unknown);
    /// The time returned by `next_deadline` has come.
    void on_deadline(time_point now);
    /// The identify scheduler granted the permit asked for by `action::request_identify`.
    void on_identify_permit(time_point now);
    /// Queues a command; it is sent, in order, once the shard is active and the send limiter
    /// allows.
    /// @return `error::payload_too_large` or `error::invalid_command` from encoding,
    ///         `error::send_queue_full`, or `error::shard_stopped`.
    [[nodiscard]] std::error_code send(time_point now, const command& cmd);
    /// Shuts down. By default closes with 1000, which ends the session so the bot goes offline at
    /// once; `close_mode::keep_session` closes with 4900 and keeps `resumable_session()` for a
    /// restart or another process to resume (a hand-over).
    void close(time_point now, close_mode mode = close_mode::end_session);

    // Outputs
    // --------------------------------------------------------------------------------------

    /// The next action for the driver, or nullopt when there is nothing to do.
    [[nodiscard]] std::optional<shard_action> poll_action();
    /// When `on_deadline` must next be called, or nullopt when no timer is needed.
    [[nodiscard]] std::optional<time_point> next_deadline() const;

    // Queries
    // --------------------------------------------------------------------------------------

    [[nodiscard]] shard_state state() const noexcept { return state_; }
    [[nodiscard]] std::uint32_t id() const noexcept { return config_.shard.id; }
    [[nodiscard]] const std::optional<session_info>& session() const noexcept { return session_; }
    /// The session with its last sequence, or nullopt when there is none to resume. Changes on
    /// READY, on every dispatch (`seq`), and when the session ends; after `close(keep_session)` it
    /// is what to save.
    [[nodiscard]] std::optional<session_state> resumable_session() const;
    /// The last non-null `s` received: what a heartbeat and a Resume carry.
    [[nodiscard]] std::optional<std::uint64_t> sequence() const noexcept { return seq_; }
    /// Time from the last heartbeat to its ACK, once one has been acknowledged.
    [[nodiscard]] std::optional<milliseconds> latency() const noexcept {
        return latency_ ? std::optional(std::chrono::duration_cast<milliseconds>(*latency_))
                        : std::nullopt;
    }
    /// The last heartbeat's round trip to its ACK, to the microsecond (for histograms).
    [[nodiscard]] std::optional<std::chrono::microseconds> heartbeat_rtt() const noexcept {
        return latency_;
    }
    [[nodiscard]] std::optional<milliseconds> heartbeat_interval() const noexcept {
        return heartbeat_interval_;
    }
    [[nodiscard]] const shard_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t queued_commands() const noexcept { return queue_.size(); }

private:
    struct queued_command {
        std::string payload;
        send_kind kind;
        bool waited = false; // counted once in send_limiter_waits
    };

    void connect_now(time_point now);
    void begin_close(time_point now, std::uint16_t code, disconnect_cause cause);
    void connection_ended(time_point now, std::uint16_t code, closed_by by, disconnect_cause cause,
                          std::error_code ec = {}, std::string_view detail = {},
                          transport_stage stage = transport_stage::unknown);
    void count_resume_url_failure();
    void take_resume_url(std::string url);
    void schedule_reconnect(time_point now);
    void stop_fatally(std::uint16_t code);
    void fail_protocol(time_point now, std::error_code ec, std::string_view frame);
    void handle_payload(time_point now, std::string_view text, bool padded);
    void handle_dispatch(time_point now, const received_payload& payload);
    void handle_hello(time_point now, std::string_view d);
    void handle_invalid_session(time_point now, std::string_view d);
    void send_heartbeat(time_point now, send_kind kind = send_kind::heartbeat);
    void send_handshake(time_point now, std::string text, lifecycle_kind sent);
    void flush_handshake(time_point now);
    void park_if_quiet(time_point now);
    void send_frame(time_point now, std::string payload, send_kind kind, bool sensitive);
    void flush_queue(time_point now);
    void become_active(time_point now);
    void cancel_identify_request();
    void reset_connection_state();
    [[nodiscard]] bool connection_open() const noexcept;
    [[nodiscard]] std::string connect_url() const;
    [[nodiscard]] milliseconds random_between(milliseconds low, milliseconds high);
    void emit(shard_action a) { actions_.push_back(std::move(a)); }
    [[nodiscard]] lifecycle_event lifecycle(lifecycle_kind kind) const;

    shard_config config_;
    random_source random_;
    shard_state state_ = shard_state::idle;

    // Session: survives reconnects until Discord (or a 1000 close) ends it.
    std::optional<session_info> session_;
    std::optional<std::uint64_t> seq_;

    // Connection: reset on every new connection.
    inflater inflater_;
    payload_decoder decoder_;
    send_limiter limiter_;
    std::optional<milliseconds> heartbeat_interval_;
    std::optional<time_point> next_beat_;
    time_point last_beat_at_{};
    time_point last_traffic_at_{};  // the last payload other than a heartbeat ACK
    time_point last_received_at_{}; // the last payload of any kind
    bool parked_ = false;
    bool awaiting_ack_ = false;
    bool awaiting_permit_ = false;
    // Identify or Resume waiting for a slot of the send limiter (it holds the token).
    std::string handshake_;
    lifecycle_kind handshake_kind_{};
    time_point handshake_ready_at_{};
    bool to_resume_url_ = false; // this connection went to the session's resume_gateway_url
    std::optional<std::chrono::microseconds> latency_;
    time_point hello_deadline_{};
    time_point close_deadline_{};
    std::uint16_t closing_code_ = 0;
    disconnect_cause closing_cause_ = disconnect_cause::shutdown;
    bool stopping_ = false;

    // Between connections.
    reconnect_backoff backoff_;
    time_point reconnect_at_{};
    milliseconds extra_wait_{0};            // the op 9 wait, added to the back-off once
    std::uint32_t resume_url_failures_ = 0; // in a row, before Hello

    std::deque<queued_command> queue_;
    time_point queue_ready_at_{}; // when the front command may go, as of the last flush
    std::deque<shard_action> actions_;
    shard_stats stats_;
};

} // namespace shardgate::gateway
