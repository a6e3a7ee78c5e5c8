// Drives one shardgate::gateway::shard by hand: the whole protocol without a socket. A real program
// lets shardgate::io do this over Boost.Beast; this shows what that layer does for you.
#include <iostream>
#include <random>
#include <shardgate/gateway/shard.hpp>

namespace gw = shardgate::gateway;

int main() {
    gw::shard_config config;
    config.token = gw::secret("example-token");
    config.transport_compression = gw::compression::none;
    config.intents = gw::default_intents;

    std::mt19937 rng{42};
    std::uniform_real_distribution<double> uniform{0.0, 1.0};
    gw::shard shard(config, [&] { return uniform(rng); });

    // Carry out (here: print) what the shard asks for. Drain after every input: the views inside a
    // dispatch event are only valid until the next input.
    auto drain = [&shard] {
        while (auto action = shard.poll_action()) {
            std::visit(
                [](const auto& a) {
                    using T = std::decay_t<decltype(a)>;
                    if constexpr (std::is_same_v<T, gw::action::connect>) {
                        std::cout << "connect " << a.url << '\n';
                    } else if constexpr (std::is_same_v<T, gw::action::send_text>) {
                        std::cout << "send " << (a.sensitive ? "<identify or resume>" : a.payload)
                                  << '\n';
                    } else if constexpr (std::is_same_v<T, gw::dispatch_event>) {
                        std::cout << "dispatch #" << a.seq << ' ' << a.name << ' ' << a.data
                                  << '\n';
                    } else if constexpr (std::is_same_v<T, gw::lifecycle_event>) {
                        std::cout << "lifecycle " << gw::to_string(a.kind);
                        if (a.kind == gw::lifecycle_kind::closed) {
                            std::cout << ' ' << a.code << " -> " << gw::to_string(a.reaction);
                        }
                        std::cout << '\n';
                    } else if constexpr (std::is_same_v<T, gw::action::request_identify>) {
                        std::cout << "request identify permit\n";
                    }
                },
                *action);
        }
    };

    // What a gateway would send, in order.
    const auto now = gw::clock::now();
    shard.start(now);
    drain();
    shard.on_connected(now);
    shard.on_text(now, R"({"op":10,"d":{"heartbeat_interval":41250}})");
    drain();
    shard.on_identify_permit(now); // a real driver asks an identify_scheduler
    drain();
    shard.on_text(now, R"({"op":0,"s":1,"t":"READY","d":{"session_id":"abc",)"
                       R"("resume_gateway_url":"wss://resume.example"}})");
    drain();
    shard.on_text(now, R"({"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"content":"hi"}})");
    drain();
    shard.on_closed(now, 4000); // Discord's "unknown error": shardgate will resume
    drain();
    std::cout << "state " << gw::to_string(shard.state()) << ", session "
              << shard.session()->session_id << ", seq " << *shard.sequence() << '\n';
    return 0;
}
