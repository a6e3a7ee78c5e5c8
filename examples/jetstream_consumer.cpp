// A bot's worker reading the dispatches that `shardgate connect --nats` publishes to JetStream, and
// counting MESSAGE_CREATE per channel. The gateway processes and the bot's workers scale
// separately: run this as many times as you like (each copy with its own durable name reads every
// event; copies sharing one name share the events).
//
//   shardgate connect --nats nats://127.0.0.1:4222 ...     # elsewhere: fills the stream
//   jetstream_consumer nats://127.0.0.1:4222               # counts until Ctrl-C
//   jetstream_consumer nats://127.0.0.1:4222 --once        # counts what is there, then stops
//
// The consumer is durable ("message-counter"): stop it and start it again and it goes on after the
// last event it acknowledged instead of starting over. docs/STREAM.md describes the stream for
// consumers in other languages.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <shardgate/bridge/connection.hpp>
#include <shardgate/bridge/stream_reader.hpp>
#include <shardgate/gateway/field.hpp>
#include <string>
#include <string_view>

namespace {

volatile std::sig_atomic_t stop_requested = 0; // NOLINT(*-avoid-non-const-global-variables)

extern "C" void request_stop(int /*signal*/) {
    stop_requested = 1;
}

} // namespace

int main(int argc, char** argv) {
    namespace bridge = shardgate::bridge;
    using namespace std::chrono_literals;

    // 1. One NATS connection (it reconnects on its own). Fail at once if no server answers now.
    bridge::nats_settings nats;
    nats.urls = bridge::split_urls(argc > 1 ? argv[1] : "nats://127.0.0.1:4222"); // NOLINT
    nats.name = "jetstream_consumer example";
    nats.wait_for_server = false;
    const bool once = argc > 2 && std::string_view(argv[2]) == "--once"; // NOLINT

    std::error_code ec;
    std::string detail;
    const auto connection = bridge::nats_connection::open(nats, ec, detail);
    if (!connection) {
        std::cerr << detail << '\n';
        return 1;
    }

    // 2. A durable pull consumer on stream SHARDGATE that only sees MESSAGE_CREATE (the server
    //    filters on the subject `shardgate.events.*.MESSAGE_CREATE`). Created on the first run,
    //    found again on the next ones.
    bridge::stream_reader_settings settings;
    settings.durable = "message-counter";
    settings.filter = {"MESSAGE_CREATE"};
    settings.follow = !once; // --once: stop when every message so far was read
    const auto reader = bridge::stream_reader::open(connection, settings, ec, detail);
    if (!reader) {
        std::cerr << detail << '\n';
        return 1;
    }

    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);

    // 3. The loop. `next` waits up to 250 ms so that Ctrl-C is seen soon. Each event is
    //    acknowledged when the next one is asked for (auto_ack): if this process dies while
    //    handling one, the next run gets it again (at-least-once delivery).
    std::map<std::string, std::uint64_t> per_channel;
    std::uint64_t total = 0;
    while (stop_requested == 0 && !reader->caught_up()) {
        const auto event = reader->next(250ms, ec, detail);
        if (ec) {
            std::cerr << detail << '\n';
            return 1;
        }
        if (!event) {
            continue; // nothing new yet
        }
        // `data` is the dispatch's `d`, as Discord sent it; read only the member needed.
        const auto channel = shardgate::gateway::string_field(event->data, "channel_id");
        ++per_channel[channel.value_or("?")];
        ++total;
    }

    // 4. Acknowledge the last event before going, so that the next run starts after it.
    reader->ack(ec, detail);
    if (ec) {
        std::cerr << detail << '\n';
    }
    std::cout << total << " MESSAGE_CREATE\n";
    for (const auto& [channel, count] : per_channel) {
        std::cout << "  channel " << channel << ": " << count << '\n';
    }
    return 0;
}
