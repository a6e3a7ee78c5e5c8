#pragma once
/// @file
/// Reading what a client sends the gateway: one text frame in, one typed command out, or the rule
/// the frame broke with the close code Discord documents for it.
///
/// @par Theory of operation
/// `client_command_reader::read` checks, in this order: the size (over 4096 bytes: 4002), that the
/// frame is exactly one JSON object no deeper than 64 levels with every token valid (else 4002),
/// that `op` is an integer (else 4001) naming an opcode a client may send (Heartbeat, Identify,
/// Presence Update, Voice State Update, Resume, Request Guild Members, Request Soundboard Sounds,
/// Request Channel Info; anything else 4001), and then that `d` has the shape that opcode needs
/// (else 4001). It knows nothing of the connection's state: whether a command is allowed now
/// (4003 before Identify, 4005 for a second one), whether a token is accepted (4004), whether a
/// shard or intents are (4010-4014), and the rate limit (4008) are the connection's checks. So
/// that those still come first, a violation of `d` carries the opcode it was for.
///
/// What the reader accepts, opcode by opcode (unknown keys are ignored, as Discord does):
/// - Heartbeat: `d` an unsigned integer or null.
/// - Identify: `token` (string), `properties` (object) and `intents` (unsigned integer) required;
///   `shard` null or any array (whether it is `[id, n]` with id < n is reported, not checked:
///   4010 comes after the token check); `large_threshold` 50..250; `compress` a boolean;
///   `presence` null or a valid presence.
/// - Presence Update: `status` one of online, dnd, idle, invisible, offline; `activities` an
///   array of activities (`name` string and `type` 0..5 required, `state` and `url` strings or
///   null); `since` an integer or null; `afk` a boolean.
/// - Voice State Update: `guild_id` (snowflake), `channel_id` (snowflake or null), `self_mute`,
///   `self_deaf` (booleans) required.
/// - Resume: `token`, `session_id` (strings) and `seq` (unsigned integer) required.
/// - Request Guild Members: `guild_id` and exactly one of `query` (with `limit`) or `user_ids`
///   (a snowflake or an array of them); `presences` a boolean; `nonce` a string (kept when at most
///   32 bytes, dropped silently otherwise, as documented).
/// - Request Soundboard Sounds: `guild_ids` a non-empty array of snowflakes.
/// - Request Channel Info: `guild_id` and `fields`, a non-empty array of "status" and
///   "voice_start_time".
/// Snowflakes may be strings of digits or integers, never 0.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe. The views in a returned command point into the
/// reader and stay valid until its next call.
/// @see https://discord.com/developers/docs/events/gateway-events#send-events
/// @see
/// https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes

#include "shardgate/emulator/content.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/opcode.hpp"
#include "shardgate/gateway/snowflake.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace shardgate::emulator {

/// op 1: the client's last sequence number (nullopt for `null`).
struct heartbeat_command {
    std::optional<std::uint64_t> seq;
};

/// op 2, as far as the emulator cares. The token is a view into the reader; never log it.
struct identify_command {
    std::string_view token;
    std::uint64_t intents = 0;
    bool sharded = false;         ///< `shard` was given and not null.
    bool shard_valid = true;      ///< `shard` is `[id, n]` with 0 <= id < n (else close 4010).
    std::uint32_t shard_id = 0;   ///< 0 without a valid `shard`.
    std::uint32_t num_shards = 1; ///< 1 without a valid `shard`.
    std::uint32_t large_threshold = 50;
};

/// op 3. Validated only: Discord sends the bot no answer to its own presence.
struct presence_update_command {};

/// op 4.
struct voice_state_update_command {
    gateway::snowflake guild_id = 0;
    std::optional<gateway::snowflake> channel_id; ///< nullopt: leave the voice channel.
    bool self_mute = false;
    bool self_deaf = false;
};

/// op 6. The token and the session id are views into the reader.
struct resume_command {
    std::string_view token;
    std::string_view session_id;
    std::uint64_t seq = 0;
};

/// op 8.
struct request_guild_members_command {
    member_request request;
};

/// op 31.
struct request_soundboard_sounds_command {
    std::vector<gateway::snowflake> guild_ids; ///< At least one.
};

/// op 43.
struct request_channel_info_command {
    gateway::snowflake guild_id = 0;
    std::vector<std::string> fields; ///< At least one of "status", "voice_start_time".
};

/// Every command a client may send.
using client_command =
    std::variant<heartbeat_command, identify_command, presence_update_command,
                 voice_state_update_command, resume_command, request_guild_members_command,
                 request_soundboard_sounds_command, request_channel_info_command>;

/// The opcode a command is sent with.
[[nodiscard]] gateway::opcode opcode_of(const client_command& command);

/// A frame that broke a rule: the close code and a reason for the close frame and the log.
struct protocol_violation {
    gateway::close_code code = gateway::close_code::decode_error;
    std::string_view reason; ///< Static text.
    /// The opcode whose `d` was malformed; nullopt when the frame itself was (size, JSON, `op`).
    std::optional<gateway::opcode> op{};
};

/// A command, or the rule the frame broke.
using read_result = std::variant<client_command, protocol_violation>;

/// Reads client frames with simdjson On-Demand. Keeps one parser and padded copies of the frame and
/// of its `d`, so reading allocates only while frames grow.
class client_command_reader {
public:
    /// Discord's limit for a client payload; longer frames get 4002.
    static constexpr std::size_t max_frame_bytes = 4096;

    client_command_reader() = default;

    /// Reads one text frame.
    [[nodiscard]] read_result read(std::string_view frame);

    /// Whether `json` is exactly one valid JSON object or array, at most 64 levels deep: what may
    /// go on the wire as an injected dispatch's `d`. A lone scalar (`5`, `"text"`, `null`) is
    /// refused, as it always was (simdjson 3.0.1 reads no scalar document as a value).
    [[nodiscard]] bool is_json_object_or_array(std::string_view json);

private:
    simdjson::simdjson_result<simdjson::ondemand::document> parse_body(std::string_view d);
    read_result read_d(gateway::opcode op, std::string_view d);

    simdjson::ondemand::parser parser_;
    std::string frame_buffer_; // the frame, padded; `d` points into it
    std::string body_buffer_;  // `d`, padded, while its members are read
};

} // namespace shardgate::emulator
