#pragma once
/// @file
/// The commands a client sends to the gateway, and their JSON encoding.
///
/// Every `encode` overload validates the command, writes the whole frame `{"op":N,"d":...}` and
/// checks Discord's 4096-byte limit for client payloads, so whatever it returns without error can
/// go on the wire as one text message. Ranges that Discord documents are checked here and reported
/// as `error::invalid_command` instead of being left to a close code later.
///
/// @see https://discord.com/developers/docs/events/gateway-events#send-events

#include "shardgate/gateway/opcode.hpp"
#include "shardgate/gateway/secret.hpp"
#include "shardgate/gateway/snowflake.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace shardgate::gateway {

/// Discord's limit on one client-to-server payload, in bytes of the encoded frame. A bigger payload
/// gets close code 4002.
inline constexpr std::size_t max_payload_bytes = 4096;

/// Which shard a connection is: sent in Identify as `[id, count]`.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#sharding
struct shard_id {
    std::uint32_t id = 0;    ///< This shard, `0 <= id < count`.
    std::uint32_t count = 1; ///< Total number of shards, at least 1.

    friend bool operator==(const shard_id&, const shard_id&) = default;
};

/// A presence status, sent as its lower-case name.
/// @see https://discord.com/developers/docs/events/gateway-events#update-presence-status-types
enum class presence_status { online, dnd, idle, invisible, offline };

/// The kind of an activity; the values are Discord's.
/// @see https://discord.com/developers/docs/events/gateway-events#activity-object-activity-types
enum class activity_type : int {
    playing = 0,
    streaming = 1,
    listening = 2,
    watching = 3,
    custom = 4, ///< Shows `state` (a custom status).
    competing = 5,
};

/// An activity in a presence. Bots may set only these four fields, so the struct has no others.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#activity-object
struct activity {
    std::string name; ///< Activity name, e.g. the game. Must be valid UTF-8.
    activity_type type = activity_type::playing; ///< Must be one of the enumerators.
    std::optional<std::string> state; ///< The custom status text (`custom`), or a detail line.
    /// Stream URL. Discord uses it only with `activity_type::streaming`, and only twitch.tv and
    /// youtube.com URLs; it is sent as given and not checked here.
    std::optional<std::string> url;

    friend bool operator==(const activity&, const activity&) = default;
};

/// Update Presence (op 3); also the `presence` of Identify.
///
/// Validation: `status` and every activity's `type` must be enumerators, all strings valid UTF-8.
/// Discord allows 5 presence updates per 20 s on top of the general send limit.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#update-presence
struct update_presence {
    static constexpr opcode op = opcode::presence_update; ///< The opcode (3).

    /// Unix time in milliseconds when the client went idle; unset is sent as `null` (not idle).
    std::optional<std::int64_t> since;
    std::vector<activity> activities; ///< Sent as an array, possibly empty.
    presence_status status = presence_status::online;
    bool afk = false;

    friend bool operator==(const update_presence&, const update_presence&) = default;
};

/// The `properties` of Identify, under the current key names `os`, `browser`, `device` (not the
/// deprecated `$os` spelling).
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see
/// https://discord.com/developers/docs/events/gateway-events#identify-identify-connection-properties
struct connection_properties {
    std::string os = "linux";          ///< Operating system.
    std::string browser = "shardgate"; ///< Library name.
    std::string device = "shardgate";  ///< Library name.

    friend bool operator==(const connection_properties&, const connection_properties&) = default;
};

/// Identify (op 2): starts a new session. Sent by the shard itself, never through `command`.
///
/// Validation: `token` not empty; `large_threshold` in 50..250; `shard`, when set, has
/// `count >= 1` and `id < count`; `presence` as for `update_presence`. `compress` and
/// `large_threshold` are always sent; `shard` and `presence` only when set.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#identify
struct identify {
    static constexpr opcode op = opcode::identify; ///< The opcode (2).

    secret token; ///< Bot token without the `Bot ` prefix.
    connection_properties properties;
    std::uint64_t intents = 0; ///< Intent bitfield; not checked here.
    std::optional<shard_id> shard;
    std::optional<update_presence> presence; ///< Initial presence.
    /// Member count above which a guild is "large" and GUILD_CREATE leaves out offline members;
    /// 50..250.
    std::uint32_t large_threshold = 50;
    /// Per-message payload compression. Transport compression (`compress=zlib-stream` in the URL)
    /// is the usual choice, and the two must not be combined.
    bool compress = false;

    friend bool operator==(const identify&, const identify&) = default;
};

/// Resume (op 6): continues a session after a reconnect. Sent by the shard itself.
///
/// Validation: `token` and `session_id` not empty.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#resume
struct resume {
    static constexpr opcode op = opcode::resume; ///< The opcode (6).

    secret token;           ///< Bot token without the `Bot ` prefix.
    std::string session_id; ///< From READY.
    std::uint64_t seq = 0;  ///< The last sequence number received.

    friend bool operator==(const resume&, const resume&) = default;
};

/// Heartbeat (op 1): `d` is the last sequence number received, or `null` before the first dispatch.
/// Sent by the shard itself.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#heartbeat
struct heartbeat {
    static constexpr opcode op = opcode::heartbeat; ///< The opcode (1).

    std::optional<std::uint64_t> seq; ///< Unset is sent as `null`.

    friend bool operator==(const heartbeat&, const heartbeat&) = default;
};

/// Update Voice State (op 4): joins, moves between or leaves voice channels.
///
/// Validation: `guild_id` and a set `channel_id` are non-zero.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#update-voice-state
struct update_voice_state {
    static constexpr opcode op = opcode::voice_state_update; ///< The opcode (4).

    snowflake guild_id = 0;
    std::optional<snowflake>
        channel_id; ///< Channel to join; unset is sent as `null`, which leaves.
    bool self_mute = false;
    bool self_deaf = false;

    friend bool operator==(const update_voice_state&, const update_voice_state&) = default;
};

/// Request Guild Members (op 8): asks for GUILD_MEMBERS_CHUNK dispatches of one guild.
///
/// Validation:
/// - `guild_id` is non-zero (one guild per request);
/// - exactly one of `query` and a non-empty `user_ids` is given;
/// - with `query`, `limit` is required;
/// - `limit` is at most 100; `query == ""` with `limit == 0` is the "everyone" form, which needs
/// the
///   GUILD_MEMBERS intent and is rate limited to 1 per guild per 30 s (answered by RATE_LIMITED);
/// - `user_ids` has at most 100 non-zero ids;
/// - `nonce` is at most 32 bytes (Discord silently drops a longer one).
///
/// `presences` is sent only when true; it needs the GUILD_PRESENCES intent.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#request-guild-members
struct request_guild_members {
    static constexpr opcode op = opcode::request_guild_members; ///< The opcode (8).

    snowflake guild_id = 0;
    std::optional<std::string> query;   ///< Username prefix; `""` matches everyone.
    std::optional<std::uint32_t> limit; ///< Maximum members returned; 0 with `""` means all.
    bool presences = false;             ///< Also return presences.
    std::vector<snowflake> user_ids;    ///< Specific users; empty means "not used".
    std::optional<std::string> nonce;   ///< Echoed in the chunks; at most 32 bytes.

    friend bool operator==(const request_guild_members&, const request_guild_members&) = default;
};

/// Request Soundboard Sounds (op 31): answered by one SOUNDBOARD_SOUNDS dispatch per guild.
///
/// Validation: `guild_ids` is non-empty and has no zero id.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#request-soundboard-sounds
struct request_soundboard_sounds {
    static constexpr opcode op = opcode::request_soundboard_sounds; ///< The opcode (31).

    std::vector<snowflake> guild_ids;

    friend bool operator==(const request_soundboard_sounds&,
                           const request_soundboard_sounds&) = default;
};

/// Request Channel Info (op 43): answered by a CHANNEL_INFO dispatch.
///
/// Validation: `guild_id` is non-zero; `fields` is non-empty and holds only `"status"` and
/// `"voice_start_time"`, the only names Discord documents.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#request-channel-info
struct request_channel_info {
    static constexpr opcode op = opcode::request_channel_info; ///< The opcode (43).

    snowflake guild_id = 0;
    std::vector<std::string> fields; ///< Which channel fields to return.

    friend bool operator==(const request_channel_info&, const request_channel_info&) = default;
};

/// What user code may send through a shard. Identify, Resume and Heartbeat are the shard's own
/// business and are not part of it.
using command = std::variant<update_presence, update_voice_state, request_guild_members,
                             request_soundboard_sounds, request_channel_info>;

/// Encodes a command as one complete frame `{"op":N,"d":...}`.
///
/// `out` is cleared first; its capacity is reused. Strings are JSON-escaped and must be valid
/// UTF-8.
///
/// @param cmd The command; its validation rules are on its type.
/// @param out Receives the frame. Left empty when an error is returned.
/// @return `error::invalid_command` if a field is out of its documented range or a string is not
///         valid UTF-8; `error::payload_too_large` if the frame is over `max_payload_bytes`;
///         otherwise no error.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway-events#send-events
[[nodiscard]] std::error_code encode(const identify& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const resume& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const heartbeat& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const update_presence& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const update_voice_state& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const request_guild_members& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const request_soundboard_sounds& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const request_channel_info& cmd, std::string& out);
/// @copydoc encode(const identify&, std::string&)
[[nodiscard]] std::error_code encode(const command& cmd, std::string& out);

/// The gateway opcode `cmd` is sent with, e.g. `opcode::presence_update` (3), which Discord rate
/// limits separately.
///
/// @param cmd Any user command.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-opcodes
[[nodiscard]] opcode opcode_of(const command& cmd);

} // namespace shardgate::gateway
