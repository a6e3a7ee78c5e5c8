// libFuzzer target: the control API must answer any request (method, target, Authorization,
// body) with a status it documents and a JSON body, never crash, ask for at most one effect, and
// only for effects whose fields are in range. The effects are carried out on a real identified
// connection, so the fault scripts run too.
#include "fuzz_input.hpp"
#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/control_api.hpp"
#include "shardgate/emulator/world.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <variant>

namespace emu = shardgate::emulator;
namespace gw = shardgate::gateway;

namespace {

using shardgate::fuzz::input;

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

constexpr std::array<std::string_view, 5> methods = {"GET", "POST", "PUT", "HEAD", "post"};
// Targets a real client uses, so that the fuzzer reaches every route; a raw target comes from the
// input otherwise.
constexpr std::array<std::string_view, 16> targets = {
    "/api/v10/gateway",
    "/api/v9/gateway/bot",
    "/",
    "/_emulator/stats",
    "/_emulator/log",
    "/_emulator/dispatch",
    "/_emulator/flood",
    "/_emulator/shards/0/close",
    "/_emulator/shards/0/reconnect",
    "/_emulator/shards/0/invalidate",
    "/_emulator/shards/0/zombie",
    "/_emulator/shards/0/drop",
    "/_emulator/shards/0/heartbeat",
    "/_emulator/shards/1/close",
    "/_emulator/shards/x/close",
    "/api/v10/gateway/bot?x=1",
};
constexpr std::array<std::string_view, 4> authorizations = {"", "Bot fuzz-token", "Bot nope",
                                                            "Bearer fuzz-token"};

bool valid_json(std::string_view text) {
    static simdjson::dom::parser parser;
    simdjson::dom::element doc;
    return parser.parse(text.data(), text.size()).get(doc) == simdjson::SUCCESS;
}

void drain(emu::connection& c) {
    while (c.poll_action()) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in(data, size);
    emu::emulator_config config;
    config.tokens = {"fuzz-token"};
    config.guilds = 2;
    config.members_per_guild = 3;
    gw::time_point now{};
    emu::world world(config, now);
    auto conn = std::make_unique<emu::connection>(world, 1, emu::parse_connect_query("v=10"), now);
    conn->on_text(now, R"({"op":2,"d":{"token":"fuzz-token","properties":{},"intents":513,)"
                       R"("shard":[0,1]}})");
    drain(*conn);

    const auto method = methods.at(in.byte() % methods.size());
    const auto target_choice = in.byte();
    const auto authorization = authorizations.at(in.byte() % authorizations.size());
    std::string target;
    if (target_choice < 128) {
        target = targets.at(target_choice % targets.size());
    } else {
        target = std::string(in.bytes(in.byte()));
    }
    const auto body = in.bytes(size);

    int runs = 0;
    const auto answer = emu::handle_http_request(
        world, {method, target, authorization, body}, now, [&](const emu::control_effect& e) {
            ++runs;
            if (const auto* f = std::get_if<emu::inject_fault>(&e)) {
                check(f->close_code >= 1000 && f->close_code <= 4999);
            } else if (const auto* flood = std::get_if<emu::start_flood>(&e)) {
                check(flood->count >= 1 && flood->count <= 100'000'000 && !flood->t.empty());
            } else {
                const auto& d = std::get<emu::send_dispatch>(e);
                check(!d.t.empty() && valid_json(d.d_json));
            }
            const auto shard = emu::target_shard(e); // nullopt: every shard
            if (!conn->open() || (shard && conn->shard_id() != *shard)) {
                return std::size_t{0};
            }
            const bool took = emu::apply_effect(*conn, e, now);
            // A flood is generated as the adapter drains; a few polls are enough here.
            for (int i = 0; i < 600 && conn->poll_action(); ++i) {
            }
            return std::size_t{took ? 1U : 0U};
        });
    check(runs <= 1);
    switch (answer.status) {
    case 200:
    case 400:
    case 401:
    case 404:
    case 426: check(answer.allow.empty()); break;
    case 405: check(answer.allow == "GET" || answer.allow == "POST"); break;
    default: check(false);
    }
    check(answer.content_type == "application/json");
    check(valid_json(answer.body));
    static_cast<void>(world.stats_json());
    static_cast<void>(world.log_json());
    return 0;
}
