#pragma once
/// @file
/// The emulator's HTTP side without the HTTP: discovery and the control API as one function from a
/// parsed request to an answer, sans-I/O like the rest of the emulator core.
///
/// @par Theory of operation
/// The server adapter (`io::emulator_server`) reads an HTTP request, passes `handle_http_request`
/// the method, the target, the `Authorization` header and the body, and writes back the status,
/// content type, body and `Allow` header it returns. What the world owns it answers itself
/// (discovery, stats, the log, dispatches into sessions whose client is away). What acts on open
/// connections becomes a typed `control_effect` (a fault, a dispatch, a flood): the adapter owns
/// the connections, so it carries the effect out through the `effect_runner` it passes in (for each
/// open connection of the effect's shard, `apply_effect`, then wakes it) and returns how many took
/// it; the answer follows from that count.
///
/// @par Routes (DESIGN.md, "shardgate serve"; other programs rely on every route, field and status)
/// - `GET /api/v10/gateway` (also `/api/v9`, with or without a trailing `/`): 200
///   `{"url":"ws://..."}`; another method: 405 with `Allow: GET`.
/// - `GET /api/v10/gateway/bot`: 200 with `url`, `shards` and `session_start_limit` when
///   `Authorization` is `Bot <token>` with an accepted token (trailing spaces ignored), else 401
///   `{"message":"401: Unauthorized","code":0}`; another method: 405.
/// - Any other path under `/api/v10/` or `/api/v9/`, and anything unknown: 404
///   `{"message":"404: Not Found","code":0}`.
/// - `GET /`: 426 `{"ok":false,"error":"this is the gateway: open a WebSocket to ..."}`.
/// - `GET /_emulator/stats` (`world::stats_json`), `GET /_emulator/log` (`world::log_json`): 200;
///   another method: 405 with `Allow: GET`.
/// - `POST /_emulator/shards/{id}/{close,reconnect,invalidate,zombie,drop,heartbeat}` with an
///   optional JSON object body (`{"code":4000}` for close, `{"resumable":false}` for invalidate,
///   `{"silent":true}` for zombie): 200 `{"ok":true,"connections":K}`, 404 when no open connection
///   has the shard, 400 `{"ok":false,"error":"..."}` for a bad id or body; another method: 405 with
///   `Allow: POST`; an unknown action: 404. `{id}` may be `all`: the fault goes to every open
///   connection of every shard at once (a reconnect storm), 404 when none took it.
/// - `POST /_emulator/shards/{id}/hostile` `{"mode":M}` with M one of `compression_bomb`
///   (optional `"bytes"`: inflated size, default 256 MiB, at most 4 GiB; needs a zlib-stream
///   connection), `oversized_frame` (`"bytes"` of content, default 16 MiB, at most 256 MiB; needs
///   a live session), `heartbeat_burst` (`"count"` op 1s, default 200, at most 10000), `silence`:
///   200 with `connections`, 404 when no open connection of the shard took it, 400 for a mode that
///   acts at connection start (it names `/_emulator/hostile`) or a bad amount.
/// - `POST /_emulator/hostile` `{"mode":M,"connections":N}` with M one of
///   `hello_without_interval`, `hello_zero_interval`, `hello_huge_interval`, `ready_before_hello`,
///   `bad_resume_url` (`connections` 1 to 1000, default 1): the next N connections start that way:
///   200 `{"ok":true,"armed":N}` (fewer when 10000 are already armed); 400 for a mode that acts on
///   open connections (it names the per-shard route); another method: 405.
/// - `POST /_emulator/dispatch` `{"t":"NAME","d":{...},"shard":N}` (`d` defaults to `{}`, no
///   `shard` means every identified connection): 200 with `connections`; when no open connection
///   has the shard, into its sessions waiting for a Resume: 200
///   `{"ok":true,"connections":0,"detached_sessions":K}`; else 404.
/// - `POST /_emulator/flood` `{"t":"MESSAGE_CREATE","count":N,"shard":N}` (`count` 1 to 100000000,
///   `t` defaults to MESSAGE_CREATE; `"prepared":true`, at most 1000000 events, encodes and
///   compresses the whole flood before the first frame goes, for benchmarks that must outrun the
///   client): 200 with `connections`. When no open connection has the shard, into its sessions
///   waiting for a Resume, as for a dispatch (`world::flood_to_detached`): 200
///   `{"ok":true,"connections":0,"detached_sessions":K,"dropped":D}`, where D > 0 says the flood
///   went past the replay buffer (`replay_buffer_events`, 10000 by default): only its last events
///   are kept and a Resume from before them gets 4007, as Discord past its replay window. Else
///   404.
/// - With a control token (`emulator_config::control_token`), every path under `/_emulator/`
///   first needs `Authorization: Bearer <token>` (the scheme in any case), compared in constant
///   time: else 401 `{"ok":false,"error":"the control API needs Authorization: Bearer <control
///   token>"}` with `WWW-Authenticate: Bearer`, whatever the path or method.
/// Bodies are JSON objects (an empty body counts as `{}`) nested at most 32 deep; duplicate keys:
/// the last one wins.
///
/// @par Thread Safety
/// Free functions over a `world` and its connections: call them on the thread that drives the
/// world (world.hpp).
/// @see https://discord.com/developers/docs/events/gateway#get-gateway-bot

#include "shardgate/emulator/hostile.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace shardgate::emulator {

class world;
class connection;
using gateway::time_point;

/// A fault the control API injects into a shard's connections (`POST /_emulator/shards/{id}/...`).
enum class fault_kind : std::uint8_t {
    close,         ///< Close with `close_code` (default 4000).
    reconnect,     ///< op 7, then close 3 s later if the client does not.
    invalidate,    ///< op 9 with `resumable`.
    zombie,        ///< Stop acknowledging heartbeats.
    silent_zombie, ///< Stop sending anything (a dead network path); `zombie` with
                   ///< `{"silent":true}`.
    drop,          ///< Cut the TCP connection without a close frame.
    heartbeat,     ///< op 1: ask for a heartbeat now.
    hostile,       ///< Act as a hostile gateway (`hostile_mode`, hostile.hpp).
    split,         ///< Split the next `amount` payloads over several WebSocket messages
                   ///< (zlib-stream only; `connection::inject_split`).
    stall,         ///< Write nothing for `amount` ms, then all of it (`connection::inject_stall`).
};

/// "close", "reconnect", "invalidate", "zombie", "silent_zombie", "drop", "heartbeat", "hostile",
/// "split", "stall" (the path segments of the control API, plus silent_zombie).
[[nodiscard]] std::string_view to_string(fault_kind fault) noexcept;

/// Inject `fault` into every open connection that identified or resumed as `shard` (into every
/// open connection of any shard with nullopt: `POST /_emulator/shards/all/...`, a storm at once).
struct inject_fault {
    std::optional<std::uint32_t> shard = 0;
    fault_kind fault = fault_kind::close;
    /// For `close`: any code a server may send.
    std::uint16_t close_code = static_cast<std::uint16_t>(gateway::close_code::unknown_error);
    bool resumable = false; ///< For `invalidate`: op 9's `d`.
    /// For `hostile`: the mode (one that acts on open connections) and its size or count (0: the
    /// mode's default). For `split`: the number of payloads (0: the default). For `stall`: ms.
    hostile_mode hostile = hostile_mode::silence;
    std::uint64_t amount = 0;
};
/// Send a dispatch named `t` with `d_json` on the live sessions of `shard` (of every shard with
/// nullopt).
struct send_dispatch {
    std::optional<std::uint32_t> shard;
    std::string t;
    std::string d_json = "{}"; ///< Valid JSON (the control API checked it), compact.
};
/// Send `count` generated dispatches named `t` on the live sessions of `shard` (of every shard
/// with nullopt), as fast as each socket takes them.
struct start_flood {
    std::optional<std::uint32_t> shard;
    std::string t = "MESSAGE_CREATE";
    std::uint64_t count = 0;
    bool prepared = false; ///< Encode and compress every event before sending (benchmarks).
};
/// What a control request asks of the open connections.
using control_effect = std::variant<inject_fault, send_dispatch, start_flood>;

/// The shard whose open connections `effect` is for; nullopt means every connection that
/// identified or resumed.
[[nodiscard]] std::optional<std::uint32_t> target_shard(const control_effect& effect);

/// Carries `effect` out on one connection (one that identified or resumed as the target shard).
/// @return Whether the connection took it: a fault always counts; a dispatch or a flood needs a
/// live session (and a dispatch's `d` must be valid JSON).
bool apply_effect(connection& c, const control_effect& effect, time_point now);

/// Carries `effect` out on the adapter's open connections (those that identified or resumed as
/// `target_shard(effect)`; `apply_effect` on each, then drains it) and returns how many took it.
using effect_runner = std::function<std::size_t(const control_effect& effect)>;

/// What of an HTTP request the emulator looks at.
struct http_request {
    std::string_view method;        ///< "GET", "POST", ... (case-sensitive, as on the wire)
    std::string_view target;        ///< Path and query, e.g. "/api/v10/gateway/bot?x=1".
    std::string_view authorization; ///< The `Authorization` header; empty when absent.
    std::string_view body;
};

/// The answer to write back.
struct http_response {
    std::uint16_t status = 200;
    std::string_view content_type = "application/json";
    std::string body;
    std::string_view allow; ///< The `Allow` header of a 405; empty otherwise.
    /// The `WWW-Authenticate` header of a 401 for the control API (`Bearer`); empty otherwise.
    std::string_view www_authenticate;
};

/// Routes one request (the routes above). Never throws for bad input: a bad body is a 400.
/// @param w The world the answers come from; dispatches for a shard whose connection is away go
/// into its detached sessions.
/// @param now The time of the request (for `reset_after` and detached dispatches).
/// @param run Carries out effects on open connections; called at most once per request.
[[nodiscard]] http_response handle_http_request(world& w, const http_request& request,
                                                time_point now, const effect_runner& run);

/// `{"ok":false,"error":message}` with `status`: how the emulator answers a request it cannot
/// serve (the adapter's own 400/413/431 for unreadable HTTP, 500 for an internal error).
[[nodiscard]] http_response error_response(std::uint16_t status, std::string_view message);

} // namespace shardgate::emulator
