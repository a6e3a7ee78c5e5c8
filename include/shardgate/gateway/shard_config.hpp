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
#include <string>

namespace shardgate::gateway {

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
    /// Commands queued while the shard is not connected; `send` fails beyond this.
    std::size_t max_queued_commands = 1'000;
};

} // namespace shardgate::gateway
