#pragma once
/// @file
/// Gateway close codes and the policy that decides what a shard does after each one.
///
/// This table is the heart of shardgate: a close the shard could survive must never end the
/// session, and a close it cannot survive must stop with a message a person can act on.
/// @see
/// https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace shardgate::gateway {

/// Close codes a shard can see: Discord's 4000-4014 (there is no 4006), the WebSocket codes a
/// server may use (1000, 1001) and 1006, which stands for a connection lost without a close frame.
enum class close_code : std::uint16_t {
    normal_closure = 1000,
    going_away = 1001,
    no_status_received = 1005, ///< A close frame without a code (RFC 6455); never sent.
    abnormal_closure = 1006,
    unknown_error = 4000,
    unknown_opcode = 4001,
    decode_error = 4002,
    not_authenticated = 4003,
    authentication_failed = 4004,
    already_authenticated = 4005,
    invalid_seq = 4007,
    rate_limited = 4008,
    session_timed_out = 4009,
    invalid_shard = 4010,
    sharding_required = 4011,
    invalid_api_version = 4012,
    invalid_intents = 4013,
    disallowed_intents = 4014,
};

/// The code shardgate itself closes with when it wants to keep the session (zombie connection, op
/// 7, op 9 `true`): any code but 1000/1001 keeps it, and 4900 is in the private-use range and is
/// not one of Discord's, so logs tell the two sides apart.
inline constexpr std::uint16_t close_code_reconnect = 4900;

/// The code shardgate closes with on shutdown: 1000 ends the session so the bot goes offline at
/// once.
inline constexpr std::uint16_t close_code_shutdown = 1000;

/// What a shard does after a close.
enum class close_reaction : std::uint8_t {
    resume, ///< Reconnect to `resume_gateway_url` and send Resume (falls back to Identify without a
            ///< session).
    reidentify, ///< Forget the session, reconnect to the gateway URL and Identify.
    fatal,      ///< Stop this shard; the remedy says what a person must change.
};

/// One row of the close-code policy.
struct close_policy {
    std::uint16_t code;
    std::string_view name; ///< Discord's name ("Disallowed intent(s)"), or the RFC 6455 one.
    close_reaction reaction;
    std::string_view meaning; ///< What the close means, in one line.
    std::string_view
        remedy; ///< What the user should do, in one line ("Nothing to do." when shardgate copes).
    bool discord_documented; ///< In Discord's close-code table (4000-4014), not an RFC 6455 code.
};

/// The policy table, in numeric order: 1000, 1001, 1006, 4000-4005, 4007-4014.
[[nodiscard]] std::span<const close_policy> all_close_policies() noexcept;

/// The row for `code`, or nullopt for a code the table does not list.
[[nodiscard]] std::optional<close_policy> find_close_policy(std::uint16_t code) noexcept;

/// The policy to apply to any close code: the table row, or for a code it does not list the
/// conservative default, which is to resume (a session is only given up when Discord says so).
[[nodiscard]] close_policy policy_for(std::uint16_t code) noexcept;

/// "resume", "reidentify" or "fatal".
[[nodiscard]] std::string_view to_string(close_reaction r) noexcept;

/// What shardgate does for a reaction, as a sentence for people.
[[nodiscard]] std::string_view describe(close_reaction r) noexcept;

} // namespace shardgate::gateway
