// libFuzzer target: drives emulator connections (several, sharing one world) with an arbitrary
// sequence of client frames, closes, drops, control-API faults and time jumps, and checks the
// invariants every path must keep: nothing crashes, nothing is output after a close or a drop, a
// closed connection wants no timer, and a flood never queues without bound.
#include "fuzz_input.hpp"
#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/world.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace emu = shardgate::emulator;
namespace gw = shardgate::gateway;

namespace {

using shardgate::fuzz::input;

// Frames a real client sends, so that the fuzzer reaches deep states quickly. "@S" is replaced by
// the last session id seen.
constexpr std::array<std::string_view, 12> canned = {
    R"({"op":1,"d":null})",
    R"({"op":1,"d":3})",
    R"({"op":2,"d":{"token":"fuzz-token","properties":{"os":"x"},"intents":513,"shard":[0,1]}})",
    R"({"op":2,"d":{"token":"fuzz-token","properties":{},"intents":3,"shard":[1,2]}})",
    R"({"op":6,"d":{"token":"fuzz-token","session_id":"@S","seq":1}})",
    R"({"op":6,"d":{"token":"fuzz-token","session_id":"@S","seq":4}})",
    R"({"op":3,"d":{"since":null,"activities":[{"name":"x","type":0}],"status":"idle","afk":false}})",
    R"({"op":4,"d":{"guild_id":"1","channel_id":null,"self_mute":false,"self_deaf":false}})",
    R"({"op":8,"d":{"guild_id":"1","query":"","limit":0,"nonce":"n"}})",
    R"({"op":8,"d":{"guild_id":"1","user_ids":["1","2"]}})",
    R"({"op":31,"d":{"guild_ids":["1"]}})",
    R"({"op":43,"d":{"guild_id":"1","fields":["status"]}})",
};

struct endpoint {
    std::unique_ptr<emu::connection> conn;
    bool ended = false; // a close or drop came out
};

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

// Drains one connection, checking that nothing follows a close or a drop.
void drain(endpoint& e, std::string& last_session) {
    while (auto a = e.conn->poll_action()) {
        check(!e.ended);
        check(e.conn->pending_actions() <= 4'096);
        if (auto* send = std::get_if<emu::server_action::send>(&*a)) {
            const std::string_view text(reinterpret_cast<const char*>(send->bytes.data()), // NOLINT
                                        send->bytes.size());
            const auto at = text.find(R"("session_id":")");
            if (!send->binary && at != std::string_view::npos && text.size() > at + 46) {
                last_session = std::string(text.substr(at + 14, 32));
            }
        } else {
            e.ended = true;
        }
    }
    if (!e.conn->open()) {
        check(!e.conn->next_deadline());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in(data, size);
    emu::emulator_config config;
    config.tokens = {"fuzz-token"};
    config.heartbeat_interval = gw::milliseconds{1'000};
    config.heartbeat_grace = gw::milliseconds{500};
    config.guilds = 3;
    config.members_per_guild = 5;
    config.session_start_total = 4;
    config.identify_window = gw::milliseconds{in.byte() % 2 == 0 ? 0 : 5'000};
    config.replay_buffer_events = 1U + in.byte() % 8U;
    config.traffic_per_second = in.byte() % 3 == 0 ? 20 : 0;
    config.zlib_split_frames = 1U + in.byte() % 3U;
    config.zlib_window_bits = 9;
    config.zlib_mem_level = 1;
    config.zstd_window_log = 10;
    gw::time_point now{};
    emu::world world(config, now);
    std::vector<endpoint> ends;
    std::string session = "00000000000000000000000000000000";
    std::uint64_t next_id = 1;
    static constexpr std::array<std::string_view, 5> queries = {
        "v=10&encoding=json", "v=10&encoding=json&compress=zlib-stream",
        "v=10&encoding=json&compress=zstd-stream", "v=8", "encoding=etf"};

    while (!in.empty() && ends.size() < 64) {
        const auto op = in.byte();
        if (ends.empty() || op % 13 == 0) {
            const auto q = queries.at(in.byte() % queries.size());
            ends.push_back({std::make_unique<emu::connection>(world, next_id++,
                                                              emu::parse_connect_query(q), now)});
            drain(ends.back(), session);
            continue;
        }
        auto& e = ends.at(in.byte() % ends.size());
        switch (op % 13) {
        case 1: {
            const auto n = static_cast<std::size_t>(in.byte()) * 20;
            e.conn->on_text(now, in.bytes(n));
            break;
        }
        case 2:
        case 3: {
            std::string frame(canned.at(in.byte() % canned.size()));
            if (const auto at = frame.find("@S"); at != std::string::npos) {
                frame.replace(at, 2, session);
            }
            e.conn->on_text(now, frame);
            break;
        }
        case 4: {
            now += gw::milliseconds{static_cast<int>(in.byte()) * 50};
            world.on_deadline(now);
            for (auto& other : ends) {
                if (auto d = other.conn->next_deadline(); d && *d <= now) {
                    other.conn->on_deadline(now);
                }
            }
            break;
        }
        case 5:
            e.conn->on_client_close(now, static_cast<std::uint16_t>(1000 + in.byte() * 16));
            break;
        case 6: e.conn->on_transport_lost(now); break;
        case 7: {
            const auto bytes = in.bytes(in.byte());
            e.conn->on_binary(now, {reinterpret_cast<const std::byte*>(bytes.data()), // NOLINT
                                    bytes.size()});
            break;
        }
        case 8: e.conn->inject_close(now, static_cast<std::uint16_t>(4000 + in.byte() % 15)); break;
        case 9: e.conn->inject_reconnect(now); break;
        case 10: e.conn->inject_invalid_session(now, in.byte() % 2 == 0); break;
        case 11: {
            switch (in.byte() % 6) {
            case 0: e.conn->inject_zombie(now); break;
            case 1: e.conn->inject_drop(now); break;
            case 2: e.conn->inject_heartbeat_request(now); break;
            case 3: static_cast<void>(e.conn->inject_split(now, in.byte())); break;
            case 4:
                static_cast<void>(e.conn->inject_stall(now, std::chrono::milliseconds(in.byte())));
                break;
            default: static_cast<void>(e.conn->dispatch(now, "FUZZ", in.bytes(in.byte()))); break;
            }
            break;
        }
        default: static_cast<void>(e.conn->flood(now, "MESSAGE_CREATE", in.byte() * 10U)); break;
        }
        for (auto& other : ends) {
            drain(other, session);
        }
        static_cast<void>(world.stats_json());
    }
    static_cast<void>(world.log_json());
    return 0;
}
