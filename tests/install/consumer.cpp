// A bot built against an installed shardgate: the emulator on a free loopback port, one shard of
// io::cluster connecting to it, stopped after the first MESSAGE_CREATE. Prints what it saw; run.sh
// checks the lines.
#include <atomic>
#include <iostream>
#include <shardgate/gateway/close_code.hpp>
#include <shardgate/io/cluster.hpp>
#include <shardgate/io/emulator_server.hpp>
#include <shardgate/version.hpp>
#include <string>
#include <thread>

int main() {
    namespace io = shardgate::io;
    std::cout << "shardgate " << shardgate::version_string << '\n';

    io::emulator_server_options server_options;
    server_options.config.traffic_per_second = 50;
    io::emulator_server server(server_options);
    std::thread server_thread([&] { server.run(); });

    io::cluster_options options;
    options.token = shardgate::gateway::secret("consumer-test-token");
    options.gateway_url = server.ws_url();
    options.shard_count = 1;
    io::cluster bot(options);
    std::atomic<bool> ready{false};
    std::atomic<bool> message{false};
    bot.on_lifecycle([&](const shardgate::gateway::lifecycle_event& event) {
        if (event.kind == shardgate::gateway::lifecycle_kind::ready) {
            ready = true;
        }
    });
    bot.on_dispatch([&](const io::dispatch& d) {
        if (d.name == "MESSAGE_CREATE" && !message.exchange(true)) {
            std::cout << "MESSAGE_CREATE channel_id "
                      << io::field(d.data, "channel_id").value_or("?") << '\n';
            bot.stop();
        }
    });
    std::error_code ec;
    std::string detail;
    const auto exit = bot.run(ec, detail);
    server.stop();
    server_thread.join();

    std::cout << "ready " << ready.load() << " message " << message.load() << " stopped "
              << (exit == io::cluster_exit::stopped) << '\n';
    const auto policy = shardgate::gateway::policy_for(4004);
    std::cout << "4004 " << policy.name << " -> " << shardgate::gateway::to_string(policy.reaction)
              << '\n';
    return ready && message && exit == io::cluster_exit::stopped ? 0 : 1;
}
