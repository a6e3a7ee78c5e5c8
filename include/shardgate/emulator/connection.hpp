#pragma once
/// @file
/// The server side of one gateway WebSocket connection, as a sans-I/O state machine: fed client
/// frames, closes and time; returns frames to send, closes and drops. It enforces Discord's rules,
/// answering each violation with its documented close code, and runs the fault scripts of the
/// control API.
///
/// The server adapter (shardgate::io) and the pair tests (tests/pair) both drive it the same way:
/// after every input drain `poll_action()`, then arm a timer for `next_deadline()`.
///
/// Each text frame is read by the world's `client_command_reader` (client_command.hpp), which
/// answers with a typed command or the 4001/4002 the frame earned; the connection then applies
/// its own rules (below: 4003, 4005 and the Identify checks come before the shape of `d`), acts on
/// the command and records what happened in the world's log (log_entry.hpp) and counters
/// (stats.hpp).
///
/// @par The rules enforced (close code, when)
/// - 4002: a client frame over 4096 bytes, not one valid JSON object, nested deeper than 64, or
///   binary; also `encoding=etf` at the upgrade (only JSON is emulated; reason "etf is not
///   emulated").
/// - 4001: `op` missing, not an integer, unknown, or one only the server sends; a malformed `d` for
/// a
///   known opcode (Identify without token/properties/intents, wrong types, `large_threshold`
///   outside 50..250, a bad presence; Resume without token/session_id/seq; bad commands).
/// - 4003: anything but Heartbeat, Identify or Resume before Identify/Resume succeeded (or after op
///   9 `false` invalidated the session).
/// - 4004: empty or unknown token, or any token after the simulated token reset (see `world`).
/// - 4005: Identify or Resume on a connection that already identified or resumed.
/// - 4007: Resume with a `seq` newer than the session's last, or older than its replay buffer
/// holds.
/// - 4008: a 121st client frame (heartbeats included) within any sliding 60 s.
/// - 4009: no heartbeat within `heartbeat_interval + heartbeat_grace` of the previous one (of
///   Hello for the first); the session is destroyed.
/// - 4010: `shard` not `[id, n]` with 0 <= id < n; 4011: more than `max_guilds_per_shard` guilds
///   routed to it; 4012: `v` other than 10 or 9 (instead of Hello); 4013: intent bits outside the
///   documented mask (if `reject_undocumented_intents`); 4014: privileged intents not in
///   `allowed_privileged_intents`.
/// Identify checks run in the order token, shard, intents, privileged intents, guilds, then pacing:
/// an Identify within `identify_window` of the last one of its bucket (`shard_id %
/// max_concurrency`) gets op 9 `false` (no close, no budget spent). Violations are counted per
/// shard (the shard the Identify claimed, or "unidentified") and logged.
///
/// @par Sessions
/// - Every dispatch gets the session's next `s` (READY is 1) and is kept in its replay buffer.
/// - A client close with 1000/1001 destroys the session; any other close, a drop, or a close the
///   server sends (other than 4009) detaches it for `session_ttl`.
/// - Resume of an unknown, destroyed or expired session gets op 9 `false`. A valid Resume replays
///   every dispatch after `seq` with its original `s`, then sends RESUMED (`d: null`) with the next
///   `s`.
/// - A Resume of a session still attached to another open connection takes it over: the old
///   connection is closed with 4000 (Discord kicks it; 4000 rather than a fatal or re-identify code
///   because the usual case is a half-open socket its client already gave up on), and the world's
///   wake handler is called for it.
///
/// @par Output
/// Every payload goes through the connection's `gateway::deflater` (`compress=zlib-stream` or
/// `zstd-stream`; text frames without). A zlib message is split into `zlib_split_frames` binary
/// messages (never more than it has bytes). Once a close or a drop has been returned, nothing
/// else is; a client close or a transport loss discards what was still queued.
/// @see
/// https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes

#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace shardgate::emulator {

/// What the client asked for in the upgrade URL's query string.
struct connect_params {
    std::string query; ///< The raw query string, for the log.
    int version = 10;  ///< `v`; anything but 10 (and 9) gets close 4012.
    /// `encoding`; only json is emulated: anything else (etf) gets close 4002 "etf is not
    /// emulated".
    std::string encoding = "json";
    gateway::compression compress = gateway::compression::none; ///< `compress`
};

/// Parses `v=10&encoding=json&compress=zlib-stream` (a leading `?` is skipped). Unknown keys are
/// ignored, as Discord does; a missing `v` means 10 here, a non-numeric one -1 (close 4012); an
/// unknown `compress` value means no compression.
[[nodiscard]] connect_params parse_connect_query(std::string_view query);

/// Server-side actions.
namespace server_action {
/// Send one WebSocket message: text (JSON) or binary (compressed). A zlib message may be split into
/// several `send` actions when `zlib_split_frames` > 1.
struct send {
    std::vector<std::byte> bytes;
    bool binary = false;
    /// Part of a prepared flood (encoded and compressed before the first went out): the adapter
    /// may write a run of these in one go.
    bool prepared = false;
};
/// Send a close frame with this code, then close the socket.
struct close {
    std::uint16_t code = 0;
    std::string reason;
};
/// Cut the TCP connection without a close frame.
struct drop {};
} // namespace server_action

using connection_action =
    std::variant<server_action::send, server_action::close, server_action::drop>;

/// One client connection to the emulated gateway.
///
/// @par Thread Safety
/// Distinct objects: Unsafe (they share the `world`). Shared objects: Unsafe. One thread (or
/// strand) drives a world and all its connections.
class connection {
public:
    /// Starts a connection: queues Hello (or close 4012 for a bad `v`, 4002 for etf) and logs
    /// `connect` with the query. The heartbeat deadline starts now.
    /// @param w The application this connection belongs to; must outlive the connection.
    /// @param id A unique id, for the log.
    connection(world& w, std::uint64_t id, const connect_params& params, time_point now);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Inputs
    // -------------------------------------------------------------------------------------------
    /// A text message from the client.
    void on_text(time_point now, std::string_view text);
    /// A binary message from the client (not valid for JSON: 4002).
    void on_binary(time_point now, std::span<const std::byte> bytes);
    /// The client sent a close frame with `code` (1000/1001 end the session; others detach it).
    void on_client_close(time_point now, std::uint16_t code);
    /// The TCP connection ended without a close frame (the session is detached).
    void on_transport_lost(time_point now);
    /// The time from `next_deadline()` has come (heartbeat timeout, traffic, op 7 close, ...).
    void on_deadline(time_point now);

    // Outputs
    // ------------------------------------------------------------------------------------------
    [[nodiscard]] std::optional<connection_action> poll_action();
    [[nodiscard]] std::optional<time_point> next_deadline() const;

    // Control API (fault scripts and injected traffic)
    // --------------------------------------------------
    /// Close with `code` (any code, e.g. 4000 or 4014).
    void inject_close(time_point now, std::uint16_t code);
    /// Send op 7 Reconnect, then close with 4000 after `reconnect_close_after` unless the client
    /// did.
    void inject_reconnect(time_point now);
    /// Send op 9 Invalid Session with `d: resumable`; with false the session is destroyed and the
    /// connection is no longer authenticated (a command then gets 4003; Identify is allowed).
    void inject_invalid_session(time_point now, bool resumable);
    /// Stop acknowledging heartbeats (the connection becomes a zombie to the client). Heartbeats
    /// still count against the timeout; a new connection ACKs again. With `silent`, nothing at all
    /// is sent any more, as when the network path dies: dispatches are still sequenced into the
    /// session (and replayed on Resume) but not written.
    void inject_zombie(time_point now, bool silent = false);
    /// Drop the TCP connection without a close frame.
    void inject_drop(time_point now);
    /// Send op 1, asking for an immediate heartbeat.
    void inject_heartbeat_request(time_point now);
    /// Split each of the next `payloads` payloads (0: `default_split_payloads`) over two to four
    /// WebSocket messages, as Discord may: only the last ends with zlib's `00 00 ff ff`, and a
    /// client must inflate nothing until it has come.
    /// @return false unless the connection is open with `compress=zlib-stream` (zstd-stream and
    /// JSON text have no such rule).
    bool inject_split(time_point now, std::uint64_t payloads = 0);
    static constexpr std::uint64_t default_split_payloads = 20;
    /// Write nothing for `duration` (a congested path: the client's reads wait), then everything
    /// queued meanwhile at once. The connection keeps reading and generating; a close or a drop
    /// ends the stall.
    /// @return false unless the connection is open.
    bool inject_stall(time_point now, std::chrono::milliseconds duration);
    /// Act as a hostile gateway in `mode` (hostile.hpp; only the modes for open connections).
    /// @param amount The mode's size or count; 0 for its default.
    /// @return Whether the connection took it: a compression bomb needs `compress=zlib-stream`,
    /// an oversized frame a live session.
    bool inject_hostile(time_point now, hostile_mode mode, std::uint64_t amount = 0);
    /// Send a dispatch on the session (sequenced, kept for replay). Ignored before READY.
    /// @param d_json The `d` as JSON text; checked, never sent unless valid.
    /// @return false if the connection has no live session or `d_json` is not valid JSON.
    bool dispatch(time_point now, std::string_view t, std::string_view d_json);
    /// Send `count` generated events of kind `t` as fast as the socket takes them: at most 256
    /// actions are queued at a time, and `poll_action()` generates more as it drains them, so
    /// memory stays bounded whatever `count` is.
    ///
    /// `prepared` (for benchmarks): every event is generated, sequenced and compressed now, before
    /// the first is sent, and queued as `send` actions marked `prepared`, so that sending costs
    /// the emulator next to nothing and the client is what is measured. Memory: every frame at
    /// once (about 200 B per MESSAGE_CREATE compressed, 1.1 KB uncompressed); `count` is capped
    /// by the control API. A silent zombie or split zlib frames fall back to the lazy flood.
    /// @return false if the connection has no live session.
    bool flood(time_point now, std::string_view t, std::uint64_t count, bool prepared = false);

    // Queries
    // ------------------------------------------------------------------------------------------
    [[nodiscard]] std::uint64_t id() const noexcept;
    /// The shard of the session on this connection, once it identified or resumed.
    [[nodiscard]] std::optional<std::uint32_t> shard_id() const noexcept;
    /// Whether the connection is still open (no close or drop emitted yet).
    [[nodiscard]] bool open() const noexcept;
    /// Frames queued but not yet polled: the adapter stops generating flood traffic while it is
    /// large, so a flood is as fast as the socket takes it but never buffers without end.
    [[nodiscard]] std::size_t pending_actions() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::emulator
