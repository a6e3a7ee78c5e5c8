// libFuzzer target: drives the client shard state machine with an arbitrary sequence of inputs
// (frames, closes, drops, permits, time jumps, commands) and checks invariants that must hold on
// every path: nothing crashes, Identify is only sent after a permit, nothing is sent after a fatal
// stop, and no 60 s window holds more than 120 frames.
#include "fuzz_input.hpp"
#include "shardgate/gateway/shard.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>

namespace gw = shardgate::gateway;

namespace {

using shardgate::fuzz::input;

// Frames a real gateway sends, so that the fuzzer reaches deep states quickly.
constexpr std::string_view canned[] = {
    R"({"op":10,"d":{"heartbeat_interval":1000}})",
    R"({"op":11})",
    R"({"op":1,"d":null})",
    R"({"op":7,"d":null})",
    R"({"op":9,"d":true})",
    R"({"op":9,"d":false})",
    R"({"op":0,"s":1,"t":"READY","d":{"session_id":"s","resume_gateway_url":"wss://r"}})",
    R"({"op":0,"s":2,"t":"RESUMED","d":null})",
    R"({"op":0,"s":3,"t":"MESSAGE_CREATE","d":{"id":"1"}})",
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in(data, size);
    gw::shard_config config;
    config.token = gw::secret("fuzz-token");
    constexpr gw::compression compressions[] = {gw::compression::none, gw::compression::zlib_stream,
                                                gw::compression::zstd_stream};
    config.transport_compression = compressions[in.byte() % 3];
    double random = 0.5;
    gw::shard shard(config, [&random] { return random; });
    gw::time_point now{};
    bool permitted = false;
    bool fatal = false;
    std::deque<gw::time_point> sends; // this connection's (Discord limits each connection)
    int beats_this_step = 0;

    auto drain = [&] {
        while (auto a = shard.poll_action()) {
            if (const auto* s = std::get_if<gw::action::send_text>(&*a)) {
                if (fatal) {
                    std::abort(); // sent after a fatal stop
                }
                if (s->payload.find(R"("op":2)") != std::string::npos) {
                    if (!permitted) {
                        std::abort(); // Identify without a permit
                    }
                    permitted = false;
                }
                if (s->payload.starts_with(R"({"op":1,)") && ++beats_this_step > 1) {
                    std::abort(); // a burst of beats (after a time jump)
                }
                sends.push_back(now);
                while (!sends.empty() && sends.front() + std::chrono::seconds(60) <= now) {
                    sends.pop_front();
                }
                if (sends.size() > 120) {
                    std::abort(); // over Discord's send limit
                }
            } else if (const auto* e = std::get_if<gw::lifecycle_event>(&*a)) {
                fatal = fatal || e->kind == gw::lifecycle_kind::fatal;
            }
        }
    };

    shard.start(now);
    drain();
    while (!in.empty()) {
        beats_this_step = 0;
        switch (in.byte() % 13) {
        case 0:
            sends.clear();
            shard.on_connected(now);
            break;
        case 1: shard.on_text(now, canned[in.byte() % std::size(canned)]); break;
        case 2: shard.on_text(now, in.bytes(in.byte())); break;
        case 3: {
            const auto b = in.bytes(in.byte());
            shard.on_binary(now, std::as_bytes(std::span(b.data(), b.size())));
            break;
        }
        case 4: shard.on_closed(now, static_cast<std::uint16_t>(3990 + in.byte() % 30)); break;
        case 5:
            shard.on_transport_error(now, std::make_error_code(std::errc::connection_reset));
            break;
        case 6:
            permitted = true;
            shard.on_identify_permit(now);
            break;
        case 7: {
            now += std::chrono::milliseconds(in.byte() * 100);
            if (auto d = shard.next_deadline(); d && *d <= now) {
                shard.on_deadline(now);
            }
            break;
        }
        case 8: {
            gw::request_soundboard_sounds cmd;
            cmd.guild_ids = {1U + in.byte()};
            (void)shard.send(now, cmd);
            break;
        }
        case 9: random = in.byte() / 256.0; break;
        case 10: {
            // A suspend or a clock jump: minutes to days in one step.
            now += std::chrono::minutes(1 + in.byte()) * (1 + in.byte() % 4 * 60);
            if (auto d = shard.next_deadline(); d && *d <= now) {
                shard.on_deadline(now);
            }
            break;
        }
        case 11: {
            // A gateway flooding op 1 requests: answered only from unreserved slots.
            for (int i = 0, n = in.byte(); i < n; ++i) {
                beats_this_step = 0;
                shard.on_text(now, R"({"op":1,"d":null})");
                drain();
            }
            break;
        }
        case 12: {
            constexpr std::errc causes[] = {std::errc::connection_refused, std::errc::timed_out,
                                            std::errc::connection_reset, std::errc::io_error};
            const auto cause = causes[in.byte() % std::size(causes)];
            const auto stage = static_cast<gw::transport_stage>(in.byte() % 6);
            shard.on_transport_error(now, std::make_error_code(cause), in.bytes(in.byte() % 64),
                                     stage);
            break;
        }
        default: break;
        }
        drain();
        if (in.byte() == 0xff) {
            shard.close(now);
            drain();
        }
    }
    return 0;
}
