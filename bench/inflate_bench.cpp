// Transport decompression throughput: raw zlib / zstd against shardgate's inflaters, on the same
// bytes.
//
// 20,000 generated MESSAGE_CREATE dispatches (about 1 KB each) are compressed once, as Discord
// would send them on one connection (zlib_deflater at default settings; zstd_deflater at level 3).
// Every benchmark iteration inflates the whole connection in order, one WebSocket message per
// payload:
//   raw_zlib        one z_stream, inflate(Z_SYNC_FLUSH) per message into a fixed buffer
//   zlib_inflater   shardgate::gateway::zlib_inflater::feed per message
//   raw_zstd        one ZSTD_DCtx, ZSTD_decompressStream per message into a fixed buffer
//   zstd_inflater   shardgate::gateway::zstd_inflater::feed per message
// items/s is messages per second; bytes/s counts decompressed bytes.
//
// The pipeline pair measures the whole sans-I/O receive path against its floor:
//   raw_zlib_simdjson  raw inflate + simdjson On-Demand reading op, s, t and the raw d: the limit
//   shard_zlib         gateway::shard::on_binary + poll_action: inflate, decode, sequence tracking,
//                      dispatch events to the caller (no sockets; shardgate::io adds those)

#include "shardgate/gateway/shard.hpp"
#include "shardgate/gateway/zlib_stream.hpp"
#include "shardgate/gateway/zstd_stream.hpp"

#include <benchmark/benchmark.h>
#include <cstddef>
#include <cstdint>
#include <random>
#include <simdjson.h>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <zlib.h>
#include <zstd.h>

namespace sg = shardgate::gateway;

namespace {

constexpr std::size_t message_count = 20'000;

struct compressed_stream {
    std::vector<std::byte> bytes;
    std::vector<std::size_t> offsets; // message i is [offsets[i], offsets[i + 1])

    [[nodiscard]] std::span<const std::byte> message(std::size_t i) const {
        return std::span<const std::byte>(bytes).subspan(offsets[i], offsets[i + 1] - offsets[i]);
    }
};

struct corpus {
    std::vector<std::string> payloads;
    std::size_t total_bytes = 0;
    compressed_stream zlib;
    compressed_stream zstd;
    compressed_stream session; // Hello, READY, then the payloads: one whole zlib-stream connection
};

constexpr std::size_t session_prefix = 2; // Hello and READY before the payloads

std::string snowflake(std::mt19937_64& rng) {
    // 2023-2024 era ids: 19 digits.
    return std::to_string(std::uniform_int_distribution<std::uint64_t>(
        1'050'000'000'000'000'000ULL, 1'250'000'000'000'000'000ULL)(rng));
}

std::string hex_hash(std::mt19937_64& rng) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 32; ++i) {
        out += digits[std::uniform_int_distribution<std::size_t>(0, 15)(rng)];
    }
    return out;
}

std::string content(std::mt19937_64& rng) {
    static constexpr std::string_view words[] = {
        "the",   "gateway", "shard",  "discord", "lol",   "hello", "anyone",   "online", "?",
        "game",  "tonight", "pls",    "merge",   "the",   "PR",    "broken",   "again",  "why",
        "is",    "this",    "so",     "slow",    "ok",    "nice",  "thanks",   "!",      "see",
        "you",   "later",   "server", "update",  "patch", "notes", "released", "today",  "maybe",
        "check", "logs",    "ping",   "me",      "when",  "done",  "a",        "to",     "and"};
    const std::size_t length = std::uniform_int_distribution<std::size_t>(20, 330)(rng);
    std::string out;
    while (out.size() < length) {
        if (!out.empty()) {
            out += ' ';
        }
        out += words[std::uniform_int_distribution<std::size_t>(0, std::size(words) - 1)(rng)];
    }
    return out;
}

struct user {
    std::string id;
    std::string name;
    std::string avatar;
    std::string joined_at;
};

std::vector<std::string> make_payloads() {
    std::mt19937_64 rng(20240523);
    std::vector<std::string> guilds;
    std::vector<std::string> channels;
    std::vector<std::string> roles;
    std::vector<user> users;
    for (int i = 0; i < 8; ++i) {
        guilds.push_back(snowflake(rng));
    }
    for (int i = 0; i < 40; ++i) {
        channels.push_back(snowflake(rng));
    }
    for (int i = 0; i < 30; ++i) {
        roles.push_back(snowflake(rng));
    }
    for (int i = 0; i < 300; ++i) {
        users.push_back(
            {snowflake(rng), "user_" + std::to_string(i * 7919 % 100'000), hex_hash(rng),
             "202" + std::to_string(i % 4) + "-0" + std::to_string(1 + i % 9) + "-1" +
                 std::to_string(i % 10) + "T0" + std::to_string(i % 10) + ":12:34.567000+00:00"});
    }
    auto pick = [&rng](const auto& v) -> const auto& {
        return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
    };

    std::vector<std::string> out;
    out.reserve(message_count);
    for (std::size_t seq = 0; seq < message_count; ++seq) {
        const user& author = pick(users);
        std::string member_roles;
        const int n_roles = std::uniform_int_distribution<int>(0, 4)(rng);
        for (int r = 0; r < n_roles; ++r) {
            member_roles += (r == 0 ? "\"" : ",\"") + pick(roles) + "\"";
        }
        std::string mentions;
        if (std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
            const user& m = pick(users);
            mentions = R"({"username":")" + m.name + R"(","public_flags":0,"id":")" + m.id +
                       R"(","global_name":")" + m.name + R"(","discriminator":"0","avatar":")" +
                       m.avatar + R"("})";
        }
        const auto second = std::to_string(10 + seq % 50);
        std::string p =
            R"({"t":"MESSAGE_CREATE","s":)" + std::to_string(seq + 2) +
            R"(,"op":0,"d":{"type":0,"tts":false,"timestamp":"2024-05-23T12:34:)" + second +
            R"(.)" + std::to_string(100'000 + seq % 900'000) +
            R"(+00:00","referenced_message":null,"pinned":false,"nonce":")" + snowflake(rng) +
            R"(","mentions":[)" + mentions +
            R"(],"mention_roles":[],"mention_everyone":false,"member":{"roles":[)" + member_roles +
            R"(],"premium_since":null,"pending":false,"nick":null,)" +
            R"("mute":false,"joined_at":")" + author.joined_at +
            R"(","flags":0,"deaf":false,"communication_disabled_until":null,)" +
            R"("avatar":null},"id":")" + snowflake(rng) +
            R"(","flags":0,"embeds":[],"edited_timestamp":null,"content":")" + content(rng) +
            R"(","components":[],"channel_id":")" + pick(channels) + R"(","author":{"username":")" +
            author.name + R"(","public_flags":0,"id":")" + author.id + R"(","global_name":")" +
            author.name + R"(","discriminator":"0","avatar_decoration_data":null,"avatar":")" +
            author.avatar + R"("},"attachments":[],"guild_id":")" + pick(guilds) + R"("}})";
        out.push_back(std::move(p));
    }
    return out;
}

template <class Deflater> compressed_stream compress_all(const std::vector<std::string>& payloads) {
    Deflater d;
    compressed_stream s;
    s.offsets.push_back(0);
    for (const auto& p : payloads) {
        d.compress(p, s.bytes);
        s.offsets.push_back(s.bytes.size());
    }
    return s;
}

const corpus& get_corpus() {
    static const corpus c = [] {
        corpus built;
        built.payloads = make_payloads();
        for (const auto& p : built.payloads) {
            built.total_bytes += p.size();
        }
        built.zlib = compress_all<sg::zlib_deflater>(built.payloads);
        built.zstd = compress_all<sg::zstd_deflater>(built.payloads);
        std::vector<std::string> session{
            R"({"op":10,"d":{"heartbeat_interval":41250}})",
            R"({"op":0,"s":1,"t":"READY","d":{"session_id":"bench","resume_gateway_url":"wss://r"}})"};
        session.insert(session.end(), built.payloads.begin(), built.payloads.end());
        built.session = compress_all<sg::zlib_deflater>(session);
        return built;
    }();
    return c;
}

void report(benchmark::State& state, const corpus& c) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(message_count));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.total_bytes));
    state.counters["avg_payload_B"] =
        static_cast<double>(c.total_bytes) / static_cast<double>(message_count);
}

void raw_zlib(benchmark::State& state) {
    const corpus& c = get_corpus();
    state.counters["avg_compressed_B"] =
        static_cast<double>(c.zlib.bytes.size()) / static_cast<double>(message_count);
    z_stream zs{};
    if (inflateInit2(&zs, 15) != Z_OK) {
        state.SkipWithError("inflateInit2");
        return;
    }
    std::vector<unsigned char> out(std::size_t{1} << 16U);
    for (auto _ : state) {
        inflateReset(&zs);
        for (std::size_t i = 0; i < message_count; ++i) {
            const auto in = c.zlib.message(i);
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
            zs.avail_in = static_cast<uInt>(in.size());
            zs.next_out = out.data();
            zs.avail_out = static_cast<uInt>(out.size());
            const int rc = inflate(&zs, Z_SYNC_FLUSH);
            if ((rc != Z_OK && rc != Z_BUF_ERROR) || zs.avail_in != 0 ||
                out.size() - zs.avail_out != c.payloads[i].size()) {
                state.SkipWithError("inflate");
                break;
            }
            benchmark::DoNotOptimize(out.data());
        }
    }
    inflateEnd(&zs);
    report(state, c);
}

void zlib_inflater(benchmark::State& state) {
    const corpus& c = get_corpus();
    sg::zlib_inflater z;
    for (auto _ : state) {
        z.reset();
        for (std::size_t i = 0; i < message_count; ++i) {
            const auto r = z.feed(c.zlib.message(i));
            if (r.ec || !r.message || r.message->size() != c.payloads[i].size()) {
                state.SkipWithError("zlib_inflater");
                break;
            }
            benchmark::DoNotOptimize(r.message->data());
        }
    }
    report(state, c);
}

void raw_zstd(benchmark::State& state) {
    const corpus& c = get_corpus();
    state.counters["avg_compressed_B"] =
        static_cast<double>(c.zstd.bytes.size()) / static_cast<double>(message_count);
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    std::vector<char> out(std::size_t{1} << 16U);
    for (auto _ : state) {
        ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
        for (std::size_t i = 0; i < message_count; ++i) {
            const auto in_bytes = c.zstd.message(i);
            ZSTD_inBuffer in{in_bytes.data(), in_bytes.size(), 0};
            ZSTD_outBuffer dst{out.data(), out.size(), 0};
            const std::size_t rc = ZSTD_decompressStream(ctx, &dst, &in);
            if (ZSTD_isError(rc) != 0U || in.pos != in.size || dst.pos != c.payloads[i].size()) {
                state.SkipWithError("ZSTD_decompressStream");
                break;
            }
            benchmark::DoNotOptimize(out.data());
        }
    }
    ZSTD_freeDCtx(ctx);
    report(state, c);
}

void zstd_inflater(benchmark::State& state) {
    const corpus& c = get_corpus();
    sg::zstd_inflater z;
    for (auto _ : state) {
        z.reset();
        for (std::size_t i = 0; i < message_count; ++i) {
            const auto r = z.feed(c.zstd.message(i));
            if (r.ec || !r.message || r.message->size() != c.payloads[i].size()) {
                state.SkipWithError("zstd_inflater");
                break;
            }
            benchmark::DoNotOptimize(r.message->data());
        }
    }
    report(state, c);
}

void raw_zlib_simdjson(benchmark::State& state) {
    const corpus& c = get_corpus();
    z_stream zs{};
    if (inflateInit2(&zs, 15) != Z_OK) {
        state.SkipWithError("inflateInit2");
        return;
    }
    std::vector<unsigned char> out(std::size_t{1} << 16U);
    simdjson::ondemand::parser parser;
    for (auto _ : state) {
        inflateReset(&zs);
        for (std::size_t i = 0; i < message_count; ++i) {
            const auto in = c.zlib.message(i);
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
            zs.avail_in = static_cast<uInt>(in.size());
            zs.next_out = out.data();
            zs.avail_out = static_cast<uInt>(out.size() - simdjson::SIMDJSON_PADDING);
            const int rc = inflate(&zs, Z_SYNC_FLUSH);
            const std::size_t size = out.size() - simdjson::SIMDJSON_PADDING - zs.avail_out;
            if ((rc != Z_OK && rc != Z_BUF_ERROR) || size != c.payloads[i].size()) {
                state.SkipWithError("inflate");
                break;
            }
            simdjson::ondemand::document doc;
            simdjson::ondemand::object object;
            if (parser.iterate(reinterpret_cast<const char*>(out.data()), size, out.size())
                    .get(doc) ||
                doc.get_object().get(object)) {
                state.SkipWithError("simdjson");
                break;
            }
            std::int64_t op = -1;
            std::uint64_t seq = 0;
            std::string_view t;
            std::string_view d;
            for (auto field : object) {
                const std::string_view key = field.unescaped_key().value_unsafe();
                if (key == "op") {
                    op = field.value().get_int64().value_unsafe();
                } else if (key == "s") {
                    seq = field.value().get_uint64().value_unsafe();
                } else if (key == "t") {
                    t = field.value().get_string().value_unsafe();
                } else if (key == "d") {
                    simdjson::ondemand::object body;
                    if (field.value().get_object().get(body) == simdjson::SUCCESS) {
                        d = body.raw_json().value_unsafe();
                    }
                }
            }
            benchmark::DoNotOptimize(op);
            benchmark::DoNotOptimize(seq);
            benchmark::DoNotOptimize(t.data());
            benchmark::DoNotOptimize(d.data());
        }
    }
    inflateEnd(&zs);
    report(state, c);
}

void shard_zlib(benchmark::State& state) {
    const corpus& c = get_corpus();
    sg::shard_config config;
    config.token = sg::secret("bench-token");
    config.transport_compression = sg::compression::zlib_stream;
    const auto now = sg::time_point{} + std::chrono::hours(1);
    std::uint64_t dispatches = 0;
    for (auto _ : state) {
        state.PauseTiming();
        sg::shard shard(config, [] { return 0.5; });
        shard.start(now);
        shard.on_connected(now);
        while (shard.poll_action()) {
        }
        shard.on_binary(now, c.session.message(0));
        shard.on_identify_permit(now);
        shard.on_binary(now, c.session.message(1));
        while (shard.poll_action()) {
        }
        if (shard.state() != sg::shard_state::active) {
            state.SkipWithError("shard did not reach READY");
            break;
        }
        state.ResumeTiming();
        for (std::size_t i = 0; i < message_count; ++i) {
            shard.on_binary(now, c.session.message(session_prefix + i));
            while (auto action = shard.poll_action()) {
                if (const auto* d = std::get_if<sg::dispatch_event>(&*action)) {
                    benchmark::DoNotOptimize(d->data.data());
                    ++dispatches;
                }
            }
        }
        if (shard.sequence() != message_count + 1) {
            state.SkipWithError("lost events");
            break;
        }
    }
    benchmark::DoNotOptimize(dispatches);
    report(state, c);
}

} // namespace

BENCHMARK(raw_zlib_simdjson)->Unit(benchmark::kMillisecond);
BENCHMARK(shard_zlib)->Unit(benchmark::kMillisecond);
BENCHMARK(raw_zlib)->Unit(benchmark::kMillisecond);
BENCHMARK(zlib_inflater)->Unit(benchmark::kMillisecond);
BENCHMARK(raw_zstd)->Unit(benchmark::kMillisecond);
BENCHMARK(zstd_inflater)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
