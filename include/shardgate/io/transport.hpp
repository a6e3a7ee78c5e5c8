#pragma once
/// @file
/// The seam between a shard and its connection: what `io::cluster` asks of a WebSocket transport,
/// and how a program supplies its own through `cluster_options::transport_factory` (a proxy, an
/// in-memory gateway, a test double that fails on purpose). The default transport is Beast's
/// WebSocket over TCP or TLS (src/io/client_transport.cpp); this header needs no Asio.
///
/// @par Contract
/// A transport reports to its handler, always later than the call that caused it and always on
/// the shard's thread (through `transport_request::post`): `on_transport_open` once the handshakes
/// are done, then messages, then exactly one of `on_transport_closed` / `on_transport_failed`,
/// after which nothing more. `drop()` ends it without either. The shard's reaction to each ending
/// is the core's (close_code.hpp): a close frame's code decides, a failure counts as 1006.

#include "shardgate/gateway/shard_event.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace shardgate::io {

/// Receives what happens on a transport.
class transport_handler {
public:
    virtual ~transport_handler() = default;
    /// The TCP, TLS and WebSocket handshakes are done.
    virtual void on_transport_open() = 0;
    /// One complete message (`text` or binary). The bytes are valid during the call only.
    virtual void on_transport_message(std::span<const std::byte> bytes, bool text) = 0;
    /// The connection ended with a close frame (the peer's, or the echo of ours). A close frame
    /// without a status reports 1005.
    virtual void on_transport_closed(std::uint16_t code, std::string_view reason) = 0;
    /// The connection failed or ended without a close frame (connect, handshake, read or write
    /// error, EOF, the connect timeout, a message over the read limit). `stage` says where (it
    /// names the failure in `/metrics`; `unknown` when nothing was started), `detail` the same
    /// for people: "connecting to 127.0.0.1:1", "TLS handshake with gateway.discord.gg", "the
    /// WebSocket upgrade was answered with HTTP 403 Forbidden", "reading".
    virtual void on_transport_failed(std::error_code ec, gateway::transport_stage stage,
                                     std::string_view detail) = 0;

protected:
    transport_handler() = default;
    transport_handler(const transport_handler&) = default;
    transport_handler& operator=(const transport_handler&) = default;
    transport_handler(transport_handler&&) = default;
    transport_handler& operator=(transport_handler&&) = default;
};

/// One WebSocket client connection.
class transport {
public:
    virtual ~transport() = default;
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;
    transport(transport&&) = delete;
    transport& operator=(transport&&) = delete;

    /// Queues one text frame; frames go out in order. Ignored once a close was started or the
    /// transport ended.
    virtual void send_text(std::string payload) = 0;
    /// Sends a close frame with `code` after the queued frames; the end is reported by
    /// `on_transport_closed` (the peer's answer) or `on_transport_failed`.
    virtual void close(std::uint16_t code, std::string_view reason = {}) = 0;
    /// Cuts the connection at once, without a close frame. Nothing more reaches the handler.
    virtual void drop() noexcept = 0;
    /// The connection went quiet: give back buffers held for traffic (they grow again when it
    /// returns). A hint; the default does nothing.
    virtual void release_buffers() noexcept {}

protected:
    transport() = default;
};

/// What a transport factory is asked for.
struct transport_request {
    std::string url; ///< ws:// or wss://, with the gateway's query (`v`, `encoding`, `compress`).
    std::chrono::milliseconds connect_timeout{10'000};      ///< For every handshake together.
    std::size_t max_message_bytes = std::size_t{64} << 20U; ///< Larger messages fail the transport.
    /// Runs a function later on the shard's thread. Every handler callback goes through it.
    std::function<void(std::function<void()>)> post;
};

/// Makes the transport for one connection; `handler` outlives it until it ended or was dropped.
/// Must not call the handler before returning (report failures through `post`).
using transport_factory =
    std::function<std::shared_ptr<transport>(const transport_request&, transport_handler&)>;

} // namespace shardgate::io
