#pragma once
/// @file
/// One entry of the emulator's action log, as a value: when, which connection, which shard, and
/// what happened with its details, one struct per kind of event.
///
/// @par Theory of operation
/// Connections and the world record what clients do (connect, identify, resume, heartbeat,
/// commands, closes) and how the emulator answers (close codes sent, op 7 and op 9, replays,
/// injected faults) as `log_entry` values in the world's bounded log (`world::log()`). Whoever
/// shows them reads the fields: `to_json` renders the objects `GET /_emulator/log` lists (and
/// `io::emulator_server_options::on_log` receives), byte for byte what earlier versions wrote;
/// a live display can switch on the `details` alternative instead of parsing that JSON back.
///
/// No entry ever holds a token: Identify and Resume are logged without it (the JSON says `"***"`).
///
/// @par Thread Safety
/// Plain values: Distinct objects: Safe. Shared objects: Safe for reading.

#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/opcode.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace shardgate::emulator {

/// Faults the control API injected, as the log names them (`"fault":"close"`, ...).
enum class injected_fault : std::uint8_t {
    close,             ///< A close frame with `code`.
    reconnect,         ///< op 7 Reconnect.
    invalid_session,   ///< op 9 Invalid Session with `resumable`.
    zombie,            ///< Heartbeats no longer acknowledged (`silent`: nothing sent at all).
    drop,              ///< The TCP connection cut without a close frame.
    heartbeat_request, ///< op 1, asking for a heartbeat now.
    flood,             ///< `count` generated dispatches of kind `t`.
    hostile,           ///< A hostile gateway `mode` (hostile.hpp), with its `count` if any.
    split,             ///< The next `count` payloads split over several WebSocket messages.
    stall,             ///< Nothing written for `count` ms, then everything queued.
};

/// "close", "reconnect", "invalid_session", "zombie", "drop", "heartbeat_request", "flood",
/// "hostile", "split", "stall".
[[nodiscard]] std::string_view to_string(injected_fault fault) noexcept;

/// What happened, one struct per `"event"` of the log (the struct's name is the event's name,
/// except `fault_injected`, whose event is `"fault"`). Fields are in the JSON's key order.
namespace log_event {
/// A WebSocket connection was accepted; `query` is its query string as sent.
struct connect {
    std::string query;
    gateway::compression compress = gateway::compression::none;
};
/// Hello was sent.
struct hello {
    gateway::milliseconds heartbeat_interval{0};
};
/// An Identify arrived (before any check); the token is never kept.
struct identify {
    std::uint32_t shard = 0;
    std::uint32_t num_shards = 1;
    std::uint64_t intents = 0;
};
/// A Resume arrived (before any check); the token is never kept.
struct resume {
    std::string session_id;
    std::uint64_t seq = 0;
};
/// `count` dispatches were replayed after a Resume.
struct replay {
    std::uint64_t count = 0;
};
/// RESUMED was sent.
struct resumed {};
/// READY was sent for a new session routing `guilds` guilds to the shard.
struct ready {
    std::string session_id;
    std::uint64_t guilds = 0;
};
/// A Heartbeat arrived with `d` = `seq` (nullopt for `null`).
struct heartbeat {
    std::optional<std::uint64_t> seq;
};
/// A command other than Heartbeat, Identify and Resume arrived from an identified client.
struct command {
    gateway::opcode op = gateway::opcode::presence_update;
};
/// The client sent a close frame with `code`.
struct client_close {
    std::uint16_t code = 0;
};
/// The TCP connection ended without a close frame.
struct transport_lost {};
/// The client broke a rule and earned `code`.
struct violation {
    std::uint16_t code = 0;
    std::string reason;
};
/// The emulator sent a close frame.
struct close_sent {
    std::uint16_t code = 0;
    std::string reason;
};
/// op 7 Reconnect was sent.
struct reconnect_sent {};
/// op 9 Invalid Session was sent.
struct invalid_session_sent {
    bool resumable = false;
    std::string reason;
};
/// The control API injected a fault. Which fields mean something depends on `fault`: `code` for
/// close, `resumable` for invalid_session, `silent` for zombie, `t` and `count` for flood.
struct fault_injected {
    injected_fault fault = injected_fault::close;
    std::uint16_t code = 0;
    bool resumable = false;
    bool silent = false;
    std::string t{};
    std::uint64_t count = 0;
    std::string mode{}; ///< For `hostile`: the mode's name.
};
/// A dispatch injected through the control API (generated traffic is not logged); `detached`
/// when it went into a session whose client is away, to be replayed on Resume.
struct dispatch {
    std::string t{};
    std::uint64_t seq = 0;
    bool detached = false;
};
/// A detached session passed `session_ttl` and can no longer be resumed.
struct session_expired {
    std::string session_id;
};
/// The session-start budget ran out: every session ended and the token counts as reset.
struct token_reset {
    std::string reason;
};
} // namespace log_event

/// The details of one entry: exactly one kind of event.
using log_details =
    std::variant<log_event::connect, log_event::hello, log_event::identify, log_event::resume,
                 log_event::replay, log_event::resumed, log_event::ready, log_event::heartbeat,
                 log_event::command, log_event::client_close, log_event::transport_lost,
                 log_event::violation, log_event::close_sent, log_event::reconnect_sent,
                 log_event::invalid_session_sent, log_event::fault_injected, log_event::dispatch,
                 log_event::session_expired, log_event::token_reset>;

/// One entry of the emulator's log.
struct log_entry {
    std::uint64_t t_ms = 0;       ///< Milliseconds since the emulator started.
    std::uint64_t connection = 0; ///< The connection's id; 0 for the world's own entries.
    /// The shard the connection identified or resumed as (or claimed in its Identify); nullopt
    /// before that and for entries of no shard.
    std::optional<std::uint32_t> shard;
    log_details details;
};

/// The longest string an entry keeps (a query string, a reason, an event name, a session id).
inline constexpr std::size_t max_log_string_bytes = 256;

/// Cuts every string of `details` longer than `max_log_string_bytes` to its first bytes (never
/// half a UTF-8 character) followed by `...[N bytes]`, N its length as received, and frees the
/// rest: the log holds what clients send (a query string of kilobytes per connection), so what
/// it keeps of each must be bounded.
void cut_long_strings(log_details& details);

/// The bytes an entry takes: its own size plus its strings. What the world's log budget counts.
[[nodiscard]] std::size_t footprint(const log_entry& entry);

/// The entry's `"event"`: "connect", "hello", ..., "fault" for `fault_injected`.
[[nodiscard]] std::string_view event_name(const log_details& details);

/// The entry as `GET /_emulator/log` lists it:
/// `{"t_ms":N,"connection":N,"shard":N|null,"event":E,...details}`, e.g.
/// `{"t_ms":12,"connection":3,"shard":0,"event":"close_sent","code":4000,"reason":"..."}`.
/// Identify and Resume carry `"token":"***"`.
[[nodiscard]] std::string to_json(const log_entry& entry);
/// Appends `to_json(entry)` to `out`.
void append_json(std::string& out, const log_entry& entry);

} // namespace shardgate::emulator
