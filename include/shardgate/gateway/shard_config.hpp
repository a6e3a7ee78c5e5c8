#pragma once
/// @file
/// Everything a shard needs to know before it connects.

#include "shardgate/gateway/backoff.hpp"
#include "shardgate/gateway/commands.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/gateway/secret.hpp"
#include "shardgate/gateway/send_limiter.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace shardgate::gateway {

/// Everything needed to resume a session on another connection, process or machine: what a shard
/// reports as it changes (`shard::resumable_session`) and can start from (`shard_config::resume`).
struct session_state {
    std::string session_id;
    std::string resume_gateway_url; ///< READY's `resume_gateway_url`, without query.
    std::uint64_t seq = 0;          ///< The last sequence received; Resume replays what follows.

    friend bool operator==(const session_state&, const session_state&) = default;
};

/// Configuration of one shard. The defaults follow Discord's documentation.
struct shard_config {
    secret token;     ///< The bot token, without "Bot ".
    shard_id shard{}; ///< `[id, count]` sent in Identify.
    std::uint64_t intents = default_intents;
    /// The URL from `GET /gateway/bot` (e.g. "wss://gateway.discord.gg"). Query parameters are
    /// added by the shard.
    std::string gateway_url = "wss://gateway.discord.gg";
    compression transport_compression = compression::zlib_stream;
    connection_properties properties{};
    std::optional<update_presence> presence; ///< Initial presence sent in Identify.
    std::uint32_t large_threshold = 50;      ///< 50..250.
    backoff_config backoff{};
    send_limiter_config limits{};
    inflate_limits inflate{}; ///< Caps that turn a compression bomb into a decode error.
    /// Time allowed between the socket opening and Hello before the connection is abandoned.
    milliseconds hello_timeout{20'000};
    /// Time allowed for a close handshake before the transport is dropped.
    milliseconds close_timeout{5'000};
    /// After op 9 `false` the shard waits a random time in [min, max] before identifying, as the
    /// docs advised before 2022 and Discordeno still does: it spreads re-identifies after a mass
    /// invalidation.
    milliseconds invalid_session_wait_min{1'000};
    milliseconds invalid_session_wait_max{5'000};
    /// A connection that received nothing but heartbeat ACKs for this long is parked at its next
    /// ACK: its zlib history is kept compressed, its inflater and buffers freed (about 40 KiB of
    /// an idle zlib-stream shard down to a few), and the transport is told to release its buffers
    /// (`action::release_buffers`). Zero turns parking off.
    milliseconds park_when_quiet_for{10'000};
    /// Connections to READY's `resume_gateway_url` that may fail before Hello in a row; after
    /// that the session is resumed through `gateway_url` (it may still live there), so an
    /// unreachable resume URL cannot keep a shard offline. At least 1.
    std::uint32_t resume_url_attempts = 3;
    /// Commands queued while the shard is not connected; `send` fails beyond this.
    std::size_t max_queued_commands = 1'000;
    /// A session to resume instead of identifying: saved by an earlier run of this process, or
    /// handed over by another process. If the gateway no longer knows it, the shard is told so
    /// (op 9) and identifies afresh.
    std::optional<session_state> resume;
};

/// A `shard_config` that cannot work. `what()` names the field and the accepted values, e.g.
/// "shard_config.large_threshold is 300; it must be between 50 and 250".
class invalid_shard_config : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// The Identify (op 2) a shard with `config` sends.
[[nodiscard]] identify identify_for(const shard_config& config);

/// Checks every field of `config` (the shard's constructor does too).
/// @return An empty string when it is valid, else one line naming the field and the fix.
[[nodiscard]] std::string validate(const shard_config& config);

} // namespace shardgate::gateway
