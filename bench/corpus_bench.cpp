// The receive path per kind of event, on a seeded, realistic corpus from the emulator's own
// generator: MESSAGE_CREATE (members, embeds, attachments as the generator makes them),
// TYPING_START, PRESENCE_UPDATE, and GUILD_CREATE of a large guild (1,000 members listed, with
// GUILD_PRESENCES). Each corpus is one zlib-stream connection, sync-flushed per payload.
//
//   limit/<kind>   zlib's standard inflate + simdjson On-Demand reading op, s, t and the raw d:
//                  what a client cannot beat on one core (the issue's limit)
//   shard/<kind>   gateway::shard::on_binary + poll_action: inflate, decode, sequence tracking,
//                  the dispatch handed to the caller (sans-I/O: no sockets)
//
// items/s is events per second; bytes/s counts decoded JSON. The ratio shard/limit per kind is the
// figure to watch (docs/BENCHMARKS.md).

#include "shardgate/emulator/catalog.hpp"
#include "shardgate/emulator/content.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/gateway/shard.hpp"
#include "shardgate/gateway/zlib_stream.hpp"

#include <benchmark/benchmark.h>
#include <simdjson.h>
#include <string>
#include <vector>
#include <zlib.h>

namespace em = shardgate::emulator;
namespace gw = shardgate::gateway;

namespace {

constexpr std::uint64_t seed = 42;
constexpr std::uint64_t start_ms = 1'780'000'000'000;

struct corpus {
    std::vector<std::vector<std::byte>> frames; // one zlib-stream connection
    std::uint64_t json_bytes = 0;
};

std::string envelope(std::string_view t, std::uint64_t s, std::string_view d) {
    std::string out = R"({"t":")";
    out += t;
    out += R"(","s":)" + std::to_string(s) + R"(,"op":0,"d":)";
    out += d;
    out += '}';
    return out;
}

const em::catalog& shared_catalog() {
    static const em::catalog c = [] {
        em::emulator_config config;
        config.seed = seed;
        config.guilds = 50;
        config.members_per_guild = 5'000;
        config.allowed_privileged_intents = gw::privileged_intents_mask;
        return em::catalog(config);
    }();
    return c;
}

const corpus& corpus_of(std::string_view t) {
    static std::map<std::string, corpus, std::less<>> cache;
    if (const auto it = cache.find(t); it != cache.end()) {
        return it->second;
    }
    const auto& c = shared_catalog();
    std::vector<std::string> payloads;
    if (t == "GUILD_CREATE") {
        const auto guilds = c.guilds();
        for (std::size_t i = 0; i < 200; ++i) {
            payloads.push_back(envelope(t, i + 1,
                                        em::guild_create_body(c, guilds[i % guilds.size()],
                                                              gw::documented_intents_mask, 250)));
        }
    } else {
        em::traffic_generator g(c, seed, 0, 1, gw::documented_intents_mask);
        for (std::uint64_t i = 0; i < 5'000; ++i) {
            payloads.push_back(envelope(t, i + 1, g.make(t, start_ms + i * 7).d));
        }
    }
    corpus out;
    gw::zlib_deflater d;
    for (const auto& p : payloads) {
        out.frames.emplace_back();
        d.compress(p, out.frames.back());
        out.json_bytes += p.size();
    }
    return cache.emplace(std::string(t), std::move(out)).first->second;
}

void limit(benchmark::State& state, std::string_view t) {
    const auto& c = corpus_of(t);
    std::vector<char> out(std::size_t{16} << 20U);
    simdjson::ondemand::parser parser;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        z_stream zs{};
        inflateInit2(&zs, 15);
        for (const auto& f : c.frames) {
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(f.data())); // NOLINT
            zs.avail_in = static_cast<uInt>(f.size());
            zs.next_out = reinterpret_cast<Bytef*>(out.data()); // NOLINT
            zs.avail_out = static_cast<uInt>(out.size() - simdjson::SIMDJSON_PADDING);
            inflate(&zs, Z_SYNC_FLUSH);
            const std::size_t n = out.size() - simdjson::SIMDJSON_PADDING - zs.avail_out;
            auto doc = parser.iterate(simdjson::padded_string_view(out.data(), n, out.size()));
            std::int64_t op = 0;
            std::uint64_t s = 0;
            std::string_view name;
            std::string_view d;
            simdjson::ondemand::object o;
            bool ok = doc["op"].get_int64().get(op) == simdjson::SUCCESS;
            ok = doc["s"].get_uint64().get(s) == simdjson::SUCCESS && ok;
            ok = doc["t"].get_string().get(name) == simdjson::SUCCESS && ok;
            ok = doc["d"].get_object().get(o) == simdjson::SUCCESS && ok;
            ok = o.raw_json().get(d) == simdjson::SUCCESS && ok;
            sum += ok ? 1 : 0;
            sum += static_cast<std::uint64_t>(op) + s + name.size() + d.size();
        }
        inflateEnd(&zs);
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.frames.size()));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.json_bytes));
}

void shard_path(benchmark::State& state, std::string_view t) {
    const auto& c = corpus_of(t);
    std::uint64_t sum = 0;
    for (auto _ : state) {
        gw::shard_config config;
        config.token = gw::secret("bench");
        config.transport_compression = gw::compression::zlib_stream;
        gw::shard s(config, [] { return 0.5; });
        const auto now = gw::time_point{} + std::chrono::hours(1);
        s.start(now);
        s.on_connected(now);
        while (s.poll_action()) {
        }
        for (const auto& f : c.frames) {
            s.on_binary(now, f);
            while (auto a = s.poll_action()) {
                if (const auto* d = std::get_if<gw::dispatch_event>(&*a)) {
                    sum += d->seq + d->data.size();
                }
            }
        }
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.frames.size()));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.json_bytes));
}

} // namespace

// NOLINTBEGIN: Google Benchmark's registration macros
BENCHMARK_CAPTURE(limit, MESSAGE_CREATE, "MESSAGE_CREATE");
BENCHMARK_CAPTURE(shard_path, MESSAGE_CREATE, "MESSAGE_CREATE");
BENCHMARK_CAPTURE(limit, TYPING_START, "TYPING_START");
BENCHMARK_CAPTURE(shard_path, TYPING_START, "TYPING_START");
BENCHMARK_CAPTURE(limit, PRESENCE_UPDATE, "PRESENCE_UPDATE");
BENCHMARK_CAPTURE(shard_path, PRESENCE_UPDATE, "PRESENCE_UPDATE");
BENCHMARK_CAPTURE(limit, GUILD_CREATE, "GUILD_CREATE");
BENCHMARK_CAPTURE(shard_path, GUILD_CREATE, "GUILD_CREATE");
// NOLINTEND

BENCHMARK_MAIN();
