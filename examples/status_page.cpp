// A bot's own live status page: `io::status_server` serves it (and Prometheus /metrics),
// `observe::status_feed` builds its data from the cluster's snapshots, and every lifecycle event
// (closes with their names and what was done) reaches its feed. The gateway here is the emulator
// on a free loopback port, so no token and no network; for Discord, leave `gateway_url` unset and
// take the token from DISCORD_TOKEN. Runs for 2 s, prints the page's address and what
// /status.json says, and exits.
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <shardgate/io/cluster.hpp>
#include <shardgate/io/emulator_server.hpp>
#include <shardgate/io/status_server.hpp>
#include <shardgate/observe/status_feed.hpp>
#include <stop_token>
#include <string>
#include <thread>

int main() {
    namespace io = shardgate::io;

    io::emulator_server_options gateway_options;
    gateway_options.config.recommended_shards = 2;
    gateway_options.config.max_concurrency = 2; // both shards identify at once
    gateway_options.config.traffic_per_second = 20;
    gateway_options.config.heartbeat_interval =
        std::chrono::milliseconds(500); // latency shows soon
    io::emulator_server gateway(gateway_options);
    std::thread gateway_thread([&] { gateway.run(); });

    io::cluster_options options;
    options.token = shardgate::gateway::secret("status-page-example");
    options.gateway_url = gateway.ws_url();
    options.shard_count = 2;
    options.max_concurrency = 2;
    io::cluster bot(options);

    // The page, fed from the cluster.
    shardgate::observe::status_feed feed("status page example");
    const auto status_json = [&] { return feed.snapshot(io::status_shards(bot.status())); };
    io::status_server page(
        {.listen = "127.0.0.1:0", .metrics = [&] { return bot.metrics(); }, .status = status_json});
    bot.on_lifecycle([&](const shardgate::gateway::lifecycle_event& e) { page.publish(e); });
    page.start();
    std::cout << "status page at " << page.url() << std::endl;

    std::jthread stop_after_2s([&](const std::stop_token& stop) {
        std::mutex mutex;
        std::condition_variable_any timer;
        std::unique_lock lock(mutex);
        const auto wait = [&](std::chrono::milliseconds t) {
            (void)timer.wait_for(lock, stop, t, [] { return false; });
        };
        wait(std::chrono::milliseconds(1000));
        (void)status_json(); // what a browser fetches; events/s come from two snapshots 1 s apart
        wait(std::chrono::milliseconds(1000));
        std::cout << "/status.json " << status_json() << std::endl;
        bot.stop();
    });
    std::error_code ec;
    std::string detail;
    const auto exit = bot.run(ec, detail);
    stop_after_2s.join();
    page.stop(); // before the cluster and the feed it reads go
    gateway.stop();
    gateway_thread.join();
    if (exit != io::cluster_exit::stopped) {
        std::cerr << "the cluster did not start: " << (detail.empty() ? ec.message() : detail)
                  << '\n';
        return 1;
    }
    return 0;
}
