#pragma once
/// @file
/// The inverse of `encode(const command&, std::string&)`: reads a user command from its JSON frame,
/// so that other programs (through the NATS bridge) can hand commands to a shard.

#include "shardgate/gateway/commands.hpp"

#include <string>
#include <string_view>
#include <system_error>

namespace shardgate::gateway {

/// Reads one user command frame `{"op":N,"d":{...}}` (what `encode(const command&)` writes): op 3
/// update_presence, 4 update_voice_state, 8 request_guild_members, 31 request_soundboard_sounds,
/// 43 request_channel_info. Identify, Resume and Heartbeat are refused (the shard's own business).
///
/// Field names and JSON types are Discord's; fields Discord marks required are required (e.g.
/// `since` and `afk` of a presence, `channel_id` of a voice state, which may be `null`). An
/// optional field may also be `null`, meaning absent. Snowflakes may be strings of digits or
/// non-negative integers; `user_ids` may be one snowflake or an array. Members that are not part of
/// the command (in the envelope, such as `s` and `t`, or in `d`) are ignored, as Discord ignores
/// them. The decoded command must then pass `encode`'s validation, so whatever decodes can be sent.
///
/// @param frame The JSON text; it need not be padded (it is copied into a per-thread buffer).
/// @param out Receives the command on success; left unchanged on error.
/// @param why One line naming what is wrong (for a reply to the sender), e.g.
///        `d.guild_id: expected a snowflake (a string of digits or an integer)`; empty on success.
/// @return `error::invalid_command` for malformed JSON, an unknown or refused op, or a `d` of the
///         wrong shape; `error::payload_too_large` for a frame over `max_payload_bytes` (4096).
///
/// @par Example
/// @code
/// shardgate::gateway::command cmd;
/// std::string why;
/// if (auto ec = shardgate::gateway::decode_command(msg, cmd, why)) {
///     reply(why);
/// } else {
///     shard.send(cmd);
/// }
/// @endcode
/// @par Thread Safety
/// Safe (the parser and buffer are thread-local).
/// @see https://discord.com/developers/docs/events/gateway-events#send-events
[[nodiscard]] std::error_code decode_command(std::string_view frame, command& out,
                                             std::string& why);

} // namespace shardgate::gateway
