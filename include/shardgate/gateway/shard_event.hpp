#pragma once
/// @file
/// What a shard hands to the program: the actions its driver must carry out and the events user
/// code receives.

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

namespace shardgate::gateway {

/// A dispatch (op 0) as it arrived. The views point into the shard's buffers and stay valid until
/// the next input is given to the shard.
struct dispatch_event {
    std::uint32_t shard = 0;
    std::uint64_t seq = 0;
    std::string_view name; ///< `t`, e.g. "MESSAGE_CREATE".
    std::string_view data; ///< `d` verbatim as JSON text.
};

/// The lifecycle events of a shard; names match `shardgate connect --events jsonl`.
enum class lifecycle_kind : std::uint8_t {
    connecting,          ///< `url` is set.
    hello,               ///< `heartbeat_interval` is set.
    identifying,         ///< Identify was sent.
    ready,               ///< READY arrived; a new session.
    resuming,            ///< Resume was sent.
    resumed,             ///< RESUMED arrived; missed events were replayed before it.
    reconnect_requested, ///< op 7.
    invalid_session,     ///< op 9; `resumable` is set.
    zombie,              ///< No heartbeat ACK before the next beat was due.
    closed,              ///< The connection ended; `code`, `reaction`, `by`, `cause` are set.
    fatal,               ///< The shard stopped; `code`, `name` and `remedy` are set.
    protocol_error,      ///< A bad frame from the gateway; `error` and `detail` are set.
};

/// "connecting", "hello", ... as used in JSON output.
[[nodiscard]] std::string_view to_string(lifecycle_kind kind) noexcept;

/// Who ended a connection.
enum class closed_by : std::uint8_t {
    gateway,   ///< The gateway sent a close frame; `code` is its code.
    shard,     ///< The shard closed (`code` is the code it sent); `cause` says why.
    transport, ///< Lost without a close frame (`code` is 1006).
};

/// Why a connection ended: the one input, with the close code, of the shard's reaction.
enum class disconnect_cause : std::uint8_t {
    gateway_close,             ///< The gateway's close code decides (close_code.hpp's table).
    connection_lost,           ///< A failed connect, a reset, EOF, a WebSocket error.
    hello_timeout,             ///< No Hello within `hello_timeout`.
    zombie,                    ///< No heartbeat ACK before the next beat was due.
    reconnect_requested,       ///< op 7.
    invalid_session_resumable, ///< op 9 with `d: true`.
    invalid_session,           ///< op 9 with `d: false`: the session is gone.
    protocol_error,            ///< A frame that could not be decompressed or decoded.
    shutdown,                  ///< `shard::close`: the session ends with 1000.
    handover,                  ///< `shard::close(close_mode::keep_session)`: kept for a resume.
};

/// Where a connection without a close frame failed: the stage its transport was in.
enum class transport_stage : std::uint8_t {
    unknown,           ///< Not said (nothing started, e.g. an unusable URL; a custom transport).
    resolve,           ///< Resolving the host name.
    connect,           ///< The TCP connect.
    tls_handshake,     ///< The TLS handshake (a certificate, a protocol mismatch).
    websocket_upgrade, ///< The HTTP upgrade: the server answered without upgrading, or hung up.
    open,              ///< After the handshakes: reading or writing an open connection.
};

/// "gateway", "shard", "transport".
[[nodiscard]] std::string_view to_string(closed_by by) noexcept;
/// "unknown", "resolve", "connect", "tls_handshake", "websocket_upgrade", "open".
[[nodiscard]] std::string_view to_string(transport_stage stage) noexcept;
/// "gateway_close", "connection_lost", ...
[[nodiscard]] std::string_view to_string(disconnect_cause cause) noexcept;

/// What a shard does after a connection ended for `cause` with `code`. The one place the reaction
/// is decided: for `gateway_close` the close-code table, for the shard's own reasons what keeps the
/// session when it can (4900 and drops resume; op 9 `false` and shutdown do not).
[[nodiscard]] close_reaction reaction_to(disconnect_cause cause, std::uint16_t code) noexcept;

/// A change in a shard's connection or session.
struct lifecycle_event {
    lifecycle_kind kind{};
    std::uint32_t shard = 0;
    std::uint16_t code = 0;            ///< closed, fatal: the close code (1006 for a drop).
    close_reaction reaction{};         ///< closed: what the shard does next.
    closed_by by{};                    ///< closed: who ended the connection.
    disconnect_cause cause{};          ///< closed: why.
    transport_stage stage{};           ///< closed by the transport: where it failed.
    bool resumable = false;            ///< invalid_session: the `d` of op 9.
    milliseconds heartbeat_interval{}; ///< hello.
    std::string_view name;             ///< fatal: the close code's name.
    std::string_view remedy;           ///< fatal: what to change.
    std::string url;                   ///< connecting: where to (token-free).
    std::error_code error;             ///< protocol_error.
    std::string detail;                ///< protocol_error: context (opcode, size, first bytes).
};

/// Driver actions.
namespace action {
/// Open a WebSocket to `url`, then call `on_connected` (or `on_transport_error`).
struct connect {
    std::string url;
};
/// Send one text frame. `sensitive` frames carry the token (Identify, Resume): never log them.
struct send_text {
    std::string payload;
    bool sensitive = false;
};
/// Start the close handshake with this code; call `on_closed` when it completes.
struct send_close {
    std::uint16_t code = 0;
    std::string reason;
};
/// Ask the identify scheduler for a permit; call `on_identify_permit` when it grants one.
struct request_identify {};
/// The shard no longer needs the permit it asked for.
struct cancel_identify {};
/// Abandon the transport at once, without a close handshake. Deliver nothing more from it.
struct drop_transport {};
/// The connection has gone quiet (its inflater is parked): give back the read and write buffers
/// it holds until traffic returns. Optional; nothing breaks if ignored.
struct release_buffers {};
} // namespace action

/// Everything `shard::poll_action` can return.
using shard_action =
    std::variant<action::connect, action::send_text, action::send_close, action::request_identify,
                 action::cancel_identify, action::drop_transport, action::release_buffers,
                 dispatch_event, lifecycle_event>;

} // namespace shardgate::gateway
