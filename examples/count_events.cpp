// Connects a cluster of shards and counts dispatches by event name; Ctrl-C (SIGINT) closes every
// shard with 1000 and prints the counts.
//
//   DISCORD_TOKEN=... count_events                          # Discord, shard count from discovery
//   DISCORD_TOKEN=t count_events --gateway ws://127.0.0.1:PORT --shards 4   # `shardgate serve`
//   DISCORD_TOKEN=t count_events --api http://127.0.0.1:PORT/api/v10
//
// The token comes from the environment only (never argv). SHARDGATE_GATEWAY and SHARDGATE_API may
// replace --gateway and --api.
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <shardgate/io/cluster.hpp>
#include <string>
#include <string_view>

namespace {

void usage() {
    std::cerr << "usage: DISCORD_TOKEN=... count_events [--gateway URL | --api URL] "
                 "[--shards N] [--threads N]\n";
}

} // namespace

int main(int argc, char** argv) {
    namespace io = shardgate::io;
    const char* token = std::getenv("DISCORD_TOKEN");
    if (token == nullptr || *token == '\0') {
        std::cerr << "set DISCORD_TOKEN\n";
        return 2;
    }
    io::cluster_options options;
    options.token = shardgate::gateway::secret(token);
    if (const char* g = std::getenv("SHARDGATE_GATEWAY")) {
        options.gateway_url = g;
    }
    if (const char* a = std::getenv("SHARDGATE_API")) {
        options.api = a;
    }
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i]; // NOLINT(*-pointer-arithmetic)
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        const std::string value = argv[++i]; // NOLINT(*-pointer-arithmetic)
        try {
            if (arg == "--gateway") {
                options.gateway_url = value;
            } else if (arg == "--api") {
                options.api = value;
            } else if (arg == "--shards") {
                options.shard_count = static_cast<std::uint32_t>(std::stoul(value));
            } else if (arg == "--threads") {
                options.threads = static_cast<unsigned>(std::stoul(value));
            } else {
                usage();
                return 2;
            }
        } catch (const std::exception&) {
            usage();
            return 2;
        }
    }

    io::cluster bot(options);
    std::mutex m; // with --threads > 1 the callback runs on several threads
    std::map<std::string, std::uint64_t, std::less<>> counts;
    bot.on_dispatch([&](const io::dispatch& d) {
        const std::lock_guard lock(m);
        if (auto it = counts.find(d.name); it != counts.end()) {
            ++it->second;
        } else {
            counts.emplace(std::string(d.name), 1);
        }
    });
    bot.on_lifecycle([](const shardgate::gateway::lifecycle_event& e) {
        if (e.kind == shardgate::gateway::lifecycle_kind::fatal) {
            std::cerr << "shard " << e.shard << " stopped: " << e.code << " " << e.name << ": "
                      << e.remedy << '\n';
        } else if (e.kind == shardgate::gateway::lifecycle_kind::ready) {
            std::cerr << "shard " << e.shard << " ready\n";
        }
    });
    bot.handle_signals(true);

    std::error_code ec;
    std::string detail;
    const auto why = bot.run(ec, detail);
    if (why == io::cluster_exit::startup_failed) {
        std::cerr << "start-up failed: " << detail << '\n';
        return 1;
    }
    for (const auto& [name, n] : counts) {
        std::cout << name << ' ' << n << '\n';
    }
    return why == io::cluster_exit::all_fatal ? 3 : 0;
}
