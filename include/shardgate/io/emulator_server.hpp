#pragma once
/// @file
/// The gateway emulator on the network: HTTP discovery, the WebSocket gateway and the control API
/// on one TCP port, driving the sans-I/O `emulator::world` and one `emulator::connection` per
/// client.
///
/// Boost.Asio and Boost.Beast stay inside `src/io/emulator_server.cpp` (pimpl): including this
/// header costs nothing. `shardgate serve`, `shardgate demo` and the integration tests run it.
///
/// @par Theory of operation
/// The server only moves bytes: it accepts connections, reads and writes HTTP, upgrades to
/// WebSocket and runs the timers. The emulator core decides everything else: each HTTP request is
/// answered by `emulator::handle_http_request` (control_api.hpp), which also says which faults,
/// dispatches and floods go to which open connections; each WebSocket is an
/// `emulator::connection` of one `emulator::world`.
///
/// Endpoints (DESIGN.md, "shardgate serve"):
/// - `GET /api/v10/gateway`, `GET /api/v10/gateway/bot` (401 without a valid `Authorization: Bot`
///   token); `/api/v9/` is accepted too.
/// - A WebSocket upgrade on any path: the gateway, honouring `v`, `encoding` and `compress`.
/// - The control API under `/_emulator/`: `GET stats`, `GET log`,
///   `POST shards/{id}/{close,reconnect,invalidate,zombie,drop,heartbeat,hostile}`,
///   `POST hostile`, `POST dispatch`, `POST flood`. Answers `{"ok":true,"connections":K}`, 404 when
///   no open connection has the shard, 400 for a bad body. With `config.control_token` set, each
///   needs `Authorization: Bearer <token>` (401 otherwise); without one the server listens on
///   loopback only.
///
/// @see https://discord.com/developers/docs/events/gateway

#include "shardgate/emulator/config.hpp"
#include "shardgate/emulator/control_api.hpp"
#include "shardgate/emulator/log_entry.hpp"
#include "shardgate/emulator/stats.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace shardgate::io {

/// How an `emulator_server` listens and what it emulates.
struct emulator_server_options {
    /// `HOST:PORT` to listen on; port 0 picks a free one. IPv6 hosts in brackets: `[::1]:0`.
    std::string listen = "127.0.0.1:0";
    /// What Discord would decide. `public_ws_url` is overwritten with the bound address.
    emulator::emulator_config config;
    /// Stamp generated events (snowflakes, timestamps) with the real time; off, the emulator
    /// pretends it started at 2026-01-01T00:00:00Z.
    bool wall_clock = true;
    /// Stop on SIGINT and SIGTERM (for the `serve` command; tests leave it off).
    bool handle_signals = false;
    /// Largest client WebSocket message the server buffers. Discord closes frames over 4096 bytes
    /// with 4002 (the connection does that); past this cap the server stops reading and closes with
    /// 4002 itself, so a 100 MB frame is never buffered.
    std::size_t max_message_bytes = std::size_t{64} * 1024;
    /// How long open WebSockets get to finish their close handshake (1001) on `stop()` before the
    /// server cuts them.
    std::chrono::milliseconds shutdown_grace{2'000};
    /// Each entry of the emulator's log (`GET /_emulator/log`'s objects) as it is written, on the
    /// server's thread: for live displays. Must be quick and must not call the server.
    std::function<void(std::string_view entry_json)> on_log;
    /// The same entries as values (log_entry.hpp), for displays that read fields rather than
    /// parse JSON; called before `on_log`. Same rules.
    std::function<void(const emulator::log_entry& entry)> on_log_entry;
};

/// A fault the control API injects into a shard's connections (DESIGN.md, "shardgate serve"):
/// close, reconnect, invalidate, zombie, silent_zombie, drop, heartbeat, hostile (through
/// `inject`: `silence`). `to_string` gives
/// "close", "reconnect", ... as in the control API's paths.
using emulator_fault = emulator::fault_kind;
using emulator::to_string;

/// The gateway emulator's network server: one `io_context` on the thread that calls `run()`.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: `stop()`, `port()` and `http_url()` may be called from
/// any thread; `run()` from one thread, once.
///
/// @par Example
/// @code
/// shardgate::io::emulator_server server({.listen = "127.0.0.1:0"});
/// std::thread t([&] { server.run(); });
/// // ... connect to server.http_url() ...
/// server.stop();
/// t.join();
/// @endcode
class emulator_server {
public:
    /// Binds and listens (connections are served once `run()` is called).
    /// @throws std::system_error with `std::errc::invalid_argument` for a malformed `listen`;
    /// `std::errc::operation_not_permitted` when `listen` is not a loopback address and
    /// `config.control_token` is empty (the control API would be open to the network); or the
    /// socket error (e.g. address in use) for a failed bind. `what()` names the address.
    explicit emulator_server(emulator_server_options options);
    ~emulator_server();
    emulator_server(const emulator_server&) = delete;
    emulator_server& operator=(const emulator_server&) = delete;
    emulator_server(emulator_server&&) = delete;
    emulator_server& operator=(emulator_server&&) = delete;

    /// The bound port (useful with port 0).
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// `http://HOST:PORT` of the bound address, e.g. `http://127.0.0.1:4567`.
    [[nodiscard]] std::string http_url() const;
    /// `ws://HOST:PORT`: what `/gateway` answers and READY's `resume_gateway_url` carry.
    [[nodiscard]] std::string ws_url() const;
    /// The address as bound, e.g. `0.0.0.0:4567` for `--listen 0.0.0.0:0` (where `http_url()`
    /// says `http://127.0.0.1:4567`, an address to connect to).
    [[nodiscard]] std::string local_endpoint() const;
    /// Whether the server is reachable from this machine only (bound to a loopback address).
    [[nodiscard]] bool loopback() const noexcept;

    /// Serves until `stop()` (or SIGINT/SIGTERM with `handle_signals`), then closes the open
    /// WebSockets with 1001 and returns within `shutdown_grace` plus a little.
    void run();
    /// Asks `run()` to stop: stop accepting, close WebSockets with 1001, end HTTP connections.
    /// Safe from any thread and before `run()`; idempotent.
    void stop();

    /// Injects `fault` into every open connection that identified or resumed as `shard`, as
    /// `POST /_emulator/shards/{id}/...` does. Safe from any thread while `run()` runs; waits for
    /// the server's thread (at most 2 s).
    /// @return How many connections got it (0 when none has the shard or the server is not
    /// running).
    std::size_t inject(std::uint32_t shard, emulator_fault fault, std::uint16_t close_code = 4000,
                       bool resumable = true);
    /// `GET /_emulator/stats`, from any thread (nullopt when the server is not running).
    [[nodiscard]] std::optional<std::string> stats_json() const;
    /// The same figures as values (stats.hpp): what `stats_json` renders. From any thread; waits
    /// for the server's thread (at most 2 s); nullopt when the server is not running.
    [[nodiscard]] std::optional<emulator::world_stats> stats() const;
    /// Open connections per shard they identified or resumed as, from any thread (empty when not
    /// running).
    [[nodiscard]] std::map<std::uint32_t, std::size_t> open_connections_by_shard() const;
    /// Prometheus text of what the emulator saw (`shardgate_emulator_*`: open connections,
    /// sessions, identifies, resumes, heartbeats, replayed dispatches, close codes sent,
    /// violations, the session-start budget). From any thread; empty when not running.
    [[nodiscard]] std::string metrics() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::io
