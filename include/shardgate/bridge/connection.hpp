#pragma once
/// @file
/// A connection to NATS (libnats underneath; no libnats type in this header), shared by the
/// bridge's publisher, reader, identify scheduler and shard ownership.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace shardgate::bridge {

/// How to reach NATS.
struct nats_settings {
    /// Server URLs (`nats://host:port`); several for a NATS cluster.
    std::vector<std::string> urls{"nats://127.0.0.1:4222"};
    /// The connection's name, as `nats-server` monitoring shows it.
    std::string name = "shardgate";
    /// One connect attempt's limit.
    std::chrono::milliseconds connect_timeout{2'000};
    /// When no server answers at start: keep trying in the background (`open` returns at once and
    /// the bridge waits for it) instead of failing. Reconnects after a loss always go on forever.
    bool wait_for_server = true;
    /// Pause between reconnect attempts to the same server.
    std::chrono::milliseconds reconnect_wait{250};
};

/// Splits `--nats URL[,URL...]`; empty entries are dropped.
[[nodiscard]] std::vector<std::string> split_urls(std::string_view comma_list);

/// One NATS connection, reconnecting on its own. Thread-safe.
class nats_connection {
public:
    /// Connects.
    /// @param ec `std::errc::invalid_argument` for no URL; a libnats error when the first
    ///        connect failed and `wait_for_server` is off.
    /// @param detail One line naming what failed and the fix.
    [[nodiscard]] static std::shared_ptr<nats_connection>
    open(const nats_settings& settings, std::error_code& ec, std::string& detail);

    ~nats_connection();
    nats_connection(const nats_connection&) = delete;
    nats_connection& operator=(const nats_connection&) = delete;
    nats_connection(nats_connection&&) = delete;
    nats_connection& operator=(nats_connection&&) = delete;

    /// Connected right now (false while reconnecting).
    [[nodiscard]] bool connected() const;
    /// Waits until connected, up to `timeout`.
    [[nodiscard]] bool wait_connected(std::chrono::milliseconds timeout) const;
    /// The largest message the server takes (its `max_payload`; 0 before the first connect).
    [[nodiscard]] std::size_t max_payload() const;
    /// The URL of the server in use, for logs (no credentials).
    [[nodiscard]] std::string server() const;

    class impl;
    /// For the bridge's own sources.
    [[nodiscard]] impl& internals() const { return *impl_; }

private:
    explicit nats_connection(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::bridge
