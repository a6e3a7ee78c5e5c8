#pragma once
/// @file
/// Gateway discovery: `GET {api}/gateway/bot` with `Authorization: Bot <token>`, over HTTP or
/// HTTPS.
/// @see https://discord.com/developers/docs/events/gateway#get-gateway-bot

#include "shardgate/gateway/identify_scheduler.hpp"
#include "shardgate/gateway/secret.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace shardgate::io {

/// What `GET /gateway/bot` answers.
struct gateway_bot_info {
    std::string url;                      ///< e.g. "wss://gateway.discord.gg"
    std::uint32_t shards = 1;             ///< Discord's recommended shard count.
    gateway::session_start_limit limit{}; ///< total, remaining, reset_after, max_concurrency
};

/// Why discovery failed.
enum class discovery_error {
    token_rejected = 1, ///< 401: the token is not valid ("token rejected: check DISCORD_TOKEN").
    rate_limited,       ///< 429 more often than the retry budget allows.
    bad_response,       ///< Not JSON, or fields missing or of the wrong type.
    http_error,         ///< Any other HTTP status.
    bad_url,            ///< `api` is not an http:// or https:// URL.
};

[[nodiscard]] const std::error_category& discovery_category() noexcept;
[[nodiscard]] std::error_code make_error_code(discovery_error e) noexcept;

struct discovery_options {
    std::string api = "https://discord.com/api/v10"; ///< REST base; `/gateway/bot` is appended.
    gateway::secret token;
    std::chrono::milliseconds timeout{10'000}; ///< For the whole request, per attempt.
    unsigned max_rate_limit_retries = 3;       ///< 429: wait `retry_after`, then retry.
    bool verify_tls = true;                    ///< Certificate and host-name checks (https).
};

/// Fetches `/gateway/bot` synchronously (it runs once at start-up, and again when resharding).
/// @param out Filled on success.
/// @param detail A one-line human explanation on failure (never contains the token).
/// @return A `discovery_error`, or a system/TLS error code for network failures.
[[nodiscard]] std::error_code discover(const discovery_options& options, gateway_bot_info& out,
                                       std::string& detail);

/// Reads the body of a `GET /gateway/bot` answer (what `discover` does with a 200).
/// @param detail A one-line explanation when it returns `discovery_error::bad_response`: a field
/// missing or of the wrong type, or a gateway URL that is not ws:// or wss:// (quoted, printable).
[[nodiscard]] std::error_code parse_gateway_bot(std::string_view body, gateway_bot_info& out,
                                                std::string& detail);

} // namespace shardgate::io

template <> struct std::is_error_code_enum<shardgate::io::discovery_error> : std::true_type {};
