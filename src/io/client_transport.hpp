#pragma once
// Private to shardgate::io: the WebSocket client transport and a small HTTP(S) client, behind plain
// interfaces. Their only implementation is client_transport.cpp, the one translation unit that
// instantiates Beast's client streams (ws and wss); discovery.cpp and cluster.cpp include this
// header and need no Beast.
//
// Threading: a transport lives on one io_context that one thread runs (its implicit strand). Every
// member function must be called from that thread, and every handler callback is invoked from it,
// never synchronously from inside a member function.

#include "shardgate/io/transport.hpp"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace shardgate::io::detail {

/// A URL split into what a connection needs. `target` is the path plus the query (at least "/").
struct parsed_url {
    std::string scheme; ///< "ws", "wss", "http" or "https" (lower case).
    std::string host;   ///< Without brackets for IPv6 literals.
    std::uint16_t port = 0;
    std::string target;
    [[nodiscard]] bool secure() const noexcept { return scheme == "wss" || scheme == "https"; }
};

/// Parses `scheme://host[:port][/path][?query]`. Default ports: 80 (ws, http), 443 (wss, https).
/// Returns nullopt for another scheme, an empty host, a bad port or user info (`user@host`).
[[nodiscard]] std::optional<parsed_url> parse_url(std::string_view url);

/// One TLS client context (the system trust store, TLS 1.2+), shared by every connection of a
/// cluster: loading the trust store is too costly to repeat per connection. Thread-safe to share.
class tls_context;

/// Creates a client TLS context. `verify`: check the certificate chain against the system store
/// (`set_default_verify_paths`) and the host name; off only for tests against self-signed servers.
[[nodiscard]] std::shared_ptr<tls_context> make_tls_context(bool verify);

/// The transport interfaces are public (shardgate/io/transport.hpp); these names are the ones
/// the adapters grew up with.
using transport_handler = io::transport_handler;
using client_transport = io::transport;

/// Settings of one client connection.
struct transport_options {
    std::chrono::milliseconds connect_timeout{10'000};      ///< Resolve + TCP + TLS + WebSocket.
    std::size_t max_message_bytes = std::size_t{64} << 20U; ///< Beast's `read_message_max`.
    std::shared_ptr<tls_context> tls; ///< Required for wss:// (else the connection fails).
};

/// The default transport: Beast's WebSocket (ws:// or wss://, `permessage-deflate` off; the read
/// buffer shrinks back after a large message such as READY, so an idle connection stays small).
/// Starts connecting to `url` (ws:// or wss://) on `ioc`. `handler` must stay valid until the
/// transport has ended (closed / failed) or `drop()` was called. A bad URL fails asynchronously
/// with `std::errc::invalid_argument`.
[[nodiscard]] std::shared_ptr<client_transport> open_transport(boost::asio::io_context& ioc,
                                                               std::string_view url,
                                                               const transport_options& options,
                                                               transport_handler& handler);

/// The answer to an HTTP request.
struct http_response {
    unsigned status = 0;
    std::string body;
    std::string retry_after; ///< The Retry-After header, if any.
};

/// One HTTP request.
struct http_request {
    std::string method = "GET";
    std::string url; ///< http:// or https://
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;                          ///< Sent as application/json when non-empty.
    std::chrono::milliseconds timeout{10'000}; ///< For the whole exchange.
    bool verify_tls = true;
    std::size_t max_body_bytes = std::size_t{8} << 20U;
};

/// Performs one HTTP/1.1 request synchronously on a private io_context (TLS 1.2+ with SNI and
/// verification for https). Returns a network/TLS error, `std::errc::invalid_argument` for a bad
/// URL, or success with `out` filled (any status).
[[nodiscard]] std::error_code http_exchange(const http_request& request, http_response& out);

} // namespace shardgate::io::detail
