#pragma once
/// @file
/// What `--metrics HOST:PORT` serves: Prometheus metrics at `/metrics`, the live status page at
/// `/`, its data at `/status.json` and as Server-Sent Events at `/events`.
///
/// The server has an io_context and a thread of its own, so a busy cluster never delays a scrape
/// and a slow browser never delays a shard. Boost.Beast stays in `src/io/status_server.cpp`.
///
/// Endpoints:
/// - `GET /metrics`: `options.metrics()`, `text/plain; version=0.0.4`.
/// - `GET /`: the page (`observe::status_page_html()`).
/// - `GET /status.json`: `options.status()`.
/// - `GET /events`: `text/event-stream`; first the last `replay_events` published `lifecycle`
///   events, then a `status` event (`options.status()`) every `status_interval`, and every
///   event `publish`ed from then on. `lifecycle` events carry an `id:` (`<run>-<n>`): a browser
///   that reconnects with `Last-Event-ID` gets only the kept ones it missed. A client that stops
///   reading is dropped past `max_backlog`.
///
/// The page's data comes from `observe::status_feed`; a cluster feeds it through `status_shards`
/// and `publish(const gateway::lifecycle_event&)` (example in `shardgate/observe/status_feed.hpp`).

#include "shardgate/gateway/shard_event.hpp"
#include "shardgate/observe/status_feed.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::io {

struct shard_status; // shardgate/io/cluster.hpp

/// The page's view of `cluster::status()`: state names, and heartbeat round trips in
/// milliseconds (to the microsecond when known).
[[nodiscard]] std::vector<observe::status_shard>
status_shards(const std::vector<shard_status>& shards);

struct status_server_options {
    /// `HOST:PORT`; port 0 picks a free one.
    std::string listen = "127.0.0.1:0";
    /// The Prometheus text. Called on the server's thread: must be thread-safe.
    std::function<std::string()> metrics;
    /// The status snapshot (a JSON object). Called on the server's thread: must be thread-safe.
    std::function<std::string()> status;
    std::chrono::milliseconds status_interval{500};
    /// `lifecycle` events a new `/events` client gets first, so the feed is never empty on load.
    std::size_t replay_events = 50;
    /// Events queued for one slow `/events` client before it is dropped.
    std::size_t max_backlog = 1000;
};

/// @par Thread Safety
/// Every member may be called from any thread.
class status_server {
public:
    /// Binds and listens; serving starts with `start()`.
    /// @throws std::system_error for a malformed `listen` (`std::errc::invalid_argument`, the
    /// message shows the expected form) or a failed bind (the message names the address).
    explicit status_server(status_server_options options);
    /// Stops and joins the thread.
    ~status_server();
    status_server(const status_server&) = delete;
    status_server& operator=(const status_server&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept;
    /// `http://HOST:PORT/`.
    [[nodiscard]] std::string url() const;

    /// Serves on a thread of its own until `stop()`.
    void start();
    /// Closes every connection and joins the thread. Idempotent.
    void stop();
    /// Sends `event: <event>\ndata: <data>\n\n` to every `/events` client; `lifecycle` events are
    /// also kept for clients that connect later. `data` should be one line of JSON.
    void publish(std::string_view event, std::string data);
    /// Publishes a shard's lifecycle event to the page's feed as `observe::lifecycle_entry_json`
    /// (stamped now), unless the feed leaves its kind out (`observe::shown_in_feed`). Cheap
    /// enough to call from `cluster::on_lifecycle`.
    void publish(const gateway::lifecycle_event& event);

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::io
