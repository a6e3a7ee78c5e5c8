#pragma once
/// @file
/// Live shards: many `gateway::shard` state machines on real WebSockets (ws:// or wss://), started in
/// identify-bucket order, recovered per the close-code policy, observed and commanded from user code.
///
/// Boost.Asio/Beast stay inside src/io (pimpl): including this header costs nothing.
///
/// @par Example
/// @code
/// shardgate::io::cluster_options options;
/// options.token = shardgate::gateway::secret(std::getenv("DISCORD_TOKEN"));
/// shardgate::io::cluster bot(options);
/// bot.on_dispatch([](const shardgate::io::dispatch& d) { if (d.name == "MESSAGE_CREATE") ... });
/// bot.run(); // until stop() or every shard has stopped
/// @endcode

#include "shardgate/gateway/commands.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/gateway/secret.hpp"
#include "shardgate/gateway/shard.hpp"
#include "shardgate/gateway/shard_event.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace shardgate::io {

/// How a cluster connects. Mirrors `shardgate connect`'s options (DESIGN.md).
struct cluster_options {
    gateway::secret token;
    std::string api = "https://discord.com/api/v10"; ///< `--api`: discovery base.
    std::optional<std::string> gateway_url;          ///< `--gateway`: skips discovery.
    std::optional<std::uint32_t> shard_count;        ///< `--shards N`; nullopt = auto (discovery).
    std::vector<std::uint32_t> shard_ids;            ///< `--shard-ids`; empty = all of them.
    std::uint64_t intents = gateway::default_intents;
    gateway::compression transport_compression = gateway::compression::zlib_stream;
    unsigned threads = 1;                 ///< `--threads N`: io_contexts, shards spread over them.
    bool reshard_auto = false;            ///< `--reshard auto`: on 4011, bring up a new set.
    /// Used when discovery is skipped (`--gateway`): identify pacing buckets.
    std::uint32_t max_concurrency = 1;
    bool verify_tls = true;
    std::chrono::milliseconds connect_timeout{10'000}; ///< TCP + TLS + WebSocket handshake.
    std::size_t max_message_bytes = std::size_t{64} << 20U; ///< Read limit per message.
    /// Template for each shard's core settings (token, shard id, URL, intents, compression are
    /// filled in by the cluster).
    gateway::shard_config shard_defaults{};
};

/// A dispatch as user code sees it. Views are valid during the callback only.
struct dispatch {
    std::uint32_t shard = 0;
    std::uint64_t seq = 0;
    std::string_view name; ///< `t`
    std::string_view data; ///< `d` verbatim (raw JSON)
};

/// A snapshot of one shard, for status displays and metrics.
struct shard_status {
    std::uint32_t id = 0;
    gateway::shard_state state = gateway::shard_state::idle;
    std::optional<std::chrono::milliseconds> latency;
    std::uint64_t dispatches = 0;
    std::uint64_t identifies = 0;
    std::uint64_t resumes = 0;
    std::uint64_t reconnects = 0;
    std::optional<std::uint16_t> last_close_code;
};

/// Why `run` returned.
enum class cluster_exit {
    stopped,        ///< `stop()` (or a signal with `handle_signals`): every shard closed with 1000.
    all_fatal,      ///< Every shard stopped on a fatal close code.
    startup_failed, ///< Discovery or configuration failed; see `run`'s error.
};

/// Many shards on one or more io_contexts.
///
/// @par Thread Safety
/// `stop`, `send`, `send_to_guild` and `status` may be called from any thread. Callbacks run on the
/// cluster's threads (with `threads > 1`, concurrently for different shards).
class cluster {
public:
    explicit cluster(cluster_options options);
    ~cluster();
    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    /// Called for every dispatch, in sequence order per shard.
    void on_dispatch(std::function<void(const dispatch&)> handler);
    /// Called for every lifecycle event (connecting, ready, resumed, closed, fatal, ...).
    void on_lifecycle(std::function<void(const gateway::lifecycle_event&)> handler);

    /// Discovers (unless `gateway_url`), starts the shards in identify-bucket order and runs until
    /// `stop()` or until every shard stopped fatally. Blocks the calling thread.
    /// @param detail One line explaining a startup failure (never the token).
    [[nodiscard]] cluster_exit run(std::error_code& ec, std::string& detail);
    /// Closes every shard with 1000 and makes `run` return. Thread-safe, idempotent.
    void stop();
    /// SIGINT/SIGTERM call `stop()` while `run` is running.
    void handle_signals(bool enable);

    /// Queues a command on a shard (sent after READY/RESUMED, through its limiter).
    [[nodiscard]] std::error_code send(std::uint32_t shard, gateway::command cmd);
    /// Queues a command on the shard that owns `guild_id`: `(guild_id >> 22) % shard_count`.
    [[nodiscard]] std::error_code send_to_guild(gateway::snowflake guild_id, gateway::command cmd);

    /// The total shard count in use (known after discovery).
    [[nodiscard]] std::uint32_t shard_count() const;
    /// A snapshot of every shard this process runs.
    [[nodiscard]] std::vector<shard_status> status() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

/// The shard that owns a guild: `(guild_id >> 22) % shard_count`.
[[nodiscard]] constexpr std::uint32_t shard_for_guild(gateway::snowflake guild_id,
                                                      std::uint32_t shard_count) noexcept {
    return static_cast<std::uint32_t>((guild_id >> 22U) % (shard_count == 0 ? 1 : shard_count));
}

} // namespace shardgate::io
