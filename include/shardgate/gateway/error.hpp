#pragma once
/// @file
/// Error codes of the gateway core, in the `std::error_code` style of Boost.Beast: an `error` enum
/// for what went wrong and a `condition` enum for what to do about it.

#include <system_error>

namespace shardgate::gateway {

/// Everything the core can report as a failure. The message of each is one line under the category
/// `"shardgate.gateway"`.
enum class error {
    // Decoding what the gateway sent.
    malformed_json = 1,    ///< A frame was not valid JSON or lacked `op`.
    unexpected_field_type, ///< `op`, `s` or `t` had the wrong JSON type.
    unknown_opcode,        ///< An opcode the client never receives.
    bad_hello,             ///< Hello without a `heartbeat_interval` from 1 ms to 24 h
                           ///< (`max_heartbeat_interval`).
    bad_ready,             ///< READY without `session_id` or `resume_gateway_url`.
    // Transport compression.
    decompression_failed,   ///< The compressed stream is corrupt.
    decompressed_too_large, ///< A message inflated past the configured cap (a compression bomb).
    compressed_frame_too_large, ///< Compressed bytes piled up past the cap without a complete
                                ///< message.
    // Sending.
    payload_too_large, ///< An encoded command is over Discord's 4096-byte limit.
    invalid_command,   ///< A command's fields are out of the documented range.
    send_queue_full,   ///< Too many commands are waiting for the connection.
    shard_stopped,     ///< The shard has stopped (fatal close or shutdown); nothing more is sent.
    // Identify scheduling.
    identify_budget_exhausted, ///< The daily session-start budget is (nearly) spent.
    // Usage.
    unknown_close_code, ///< A close code that Discord does not document.
    unknown_intent,     ///< An intent name that Discord does not document.
    // Decoding what the gateway sent (added later; kept last so earlier values stay put).
    dispatch_before_hello,  ///< A dispatch arrived before Hello (a connection starts with Hello).
    bad_resume_gateway_url, ///< READY's `resume_gateway_url` is not a usable ws:// or wss:// URL.
    resume_gateway_url_unreachable, ///< Connections to `resume_gateway_url` kept failing before
                                    ///< Hello; the session is resumed through `gateway_url`.
    hello_timeout, ///< The connection opened but no Hello came within `hello_timeout`.
};

/// What a caller should do about an error or a close code.
enum class condition {
    resumable = 1,      ///< Reconnect and resume the session.
    reidentify,         ///< Reconnect and start a new session.
    fatal,              ///< Stop; a person must change something first.
    protocol_violation, ///< The peer broke the protocol (bad frame, bad compression).
};

/// The category of `error`, named `"shardgate.gateway"`.
[[nodiscard]] const std::error_category& gateway_category() noexcept;
/// The category of `condition`, named `"shardgate.gateway.condition"`.
[[nodiscard]] const std::error_category& condition_category() noexcept;

[[nodiscard]] std::error_code make_error_code(error e) noexcept;
[[nodiscard]] std::error_condition make_error_condition(condition c) noexcept;

} // namespace shardgate::gateway

template <> struct std::is_error_code_enum<shardgate::gateway::error> : std::true_type {};
template <> struct std::is_error_condition_enum<shardgate::gateway::condition> : std::true_type {};
