#pragma once
// Private to shardgate::bridge: commands by NATS request. `<prefix>.commands.<shard>` and
// `<prefix>.commands.guild.<guild_id>` carry `{"op":N,"d":{...}}`; the worker that runs the shard
// hands it to the shard's send limiter and replies `{"ok":true}`, or `{"ok":false,"error":...}`
// when it cannot (malformed, over 4096 bytes, the shard stopped). Workers that do not run the shard
// stay silent, so a command follows its shard when it moves; a shard id that no worker could run
// (not below the shard count) is answered by every worker with an error.

#include "nats_handle.hpp"
#include "shardgate/io/cluster.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace shardgate::bridge::detail {

class command_server {
public:
    /// @param runs_here Whether this process runs a shard now (any thread).
    command_server(natsConnection* nc, std::string prefix, io::cluster& cluster,
                   std::function<bool(std::uint32_t)> runs_here);
    ~command_server();
    command_server(const command_server&) = delete;
    command_server& operator=(const command_server&) = delete;
    command_server(command_server&&) = delete;
    command_server& operator=(command_server&&) = delete;

    /// Subscribes; false (and `detail`) when NATS refused.
    bool start(std::string& detail);

    [[nodiscard]] std::uint64_t accepted() const { return accepted_; }
    [[nodiscard]] std::uint64_t refused() const { return refused_; }

private:
    static void on_message(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure);
    void handle(natsMsg* msg);
    void reply(const std::string& to, bool ok, const std::string& error, std::uint32_t shard);

    natsConnection* nc_;
    std::string prefix_;
    io::cluster& cluster_;
    std::function<bool(std::uint32_t)> runs_here_;
    subscription_ptr by_shard_;
    subscription_ptr by_guild_;
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::uint64_t> refused_{0};
};

} // namespace shardgate::bridge::detail
