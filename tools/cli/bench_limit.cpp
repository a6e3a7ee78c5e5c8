#include "bench_limit.hpp"

#include "serve.hpp"
#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/intents.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <simdjson.h>
#include <stdexcept>
#include <string>
#include <zlib.h>
#include <zstd.h>

namespace shardgate::cli::bench_detail {
namespace {

using gateway::compression;

/// What a client reads of each payload; returns something so the work cannot be dropped.
std::uint64_t parse(simdjson::ondemand::parser& parser, const char* data, std::size_t size,
                    std::size_t capacity) {
    auto doc = parser.iterate(simdjson::padded_string_view(data, size, capacity));
    std::uint64_t sum = 0;
    std::int64_t op = -1;
    if (doc["op"].get_int64().get(op) == simdjson::SUCCESS) {
        sum += static_cast<std::uint64_t>(op);
    }
    std::uint64_t s = 0;
    if (doc["s"].get_uint64().get(s) == simdjson::SUCCESS) {
        sum += s;
    }
    std::string_view t;
    if (doc["t"].get_string().get(t) == simdjson::SUCCESS) {
        sum += t.size();
    }
    std::string_view d;
    simdjson::ondemand::object object;
    if (doc["d"].get_object().get(object) == simdjson::SUCCESS &&
        object.raw_json().get(d) == simdjson::SUCCESS) {
        sum += d.size();
    }
    return sum;
}

/// One pass: decodes every frame, parses (and times) those of the flood. Seconds.
double one_round(const corpus& c, std::uint64_t& checksum) {
    constexpr std::size_t cap = std::size_t{8} << 20U;
    std::vector<char> out(cap + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::parser parser;
    z_stream zs{};
    ZSTD_DStream* zstd = nullptr;
    if (c.mode == compression::zlib_stream && inflateInit2(&zs, 15) != Z_OK) {
        throw std::runtime_error("inflateInit2 failed");
    }
    if (c.mode == compression::zstd_stream) {
        zstd = ZSTD_createDStream();
    }
    std::chrono::steady_clock::time_point start;
    for (std::size_t i = 0; i < c.frames.size(); ++i) {
        if (i == c.flood_begin) {
            start = std::chrono::steady_clock::now();
        }
        const auto& f = c.frames[i];
        std::size_t n = 0;
        if (c.mode == compression::zlib_stream) {
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(f.data())); // NOLINT
            zs.avail_in = static_cast<uInt>(f.size());
            zs.next_out = reinterpret_cast<Bytef*>(out.data()); // NOLINT
            zs.avail_out = static_cast<uInt>(cap);
            if (const int rc = inflate(&zs, Z_SYNC_FLUSH); rc != Z_OK && rc != Z_BUF_ERROR) {
                throw std::runtime_error("zlib rejected the corpus");
            }
            n = cap - zs.avail_out;
        } else if (c.mode == compression::zstd_stream) {
            ZSTD_inBuffer in{f.data(), f.size(), 0};
            ZSTD_outBuffer o{out.data(), cap, 0};
            while (in.pos < in.size) {
                if (ZSTD_isError(ZSTD_decompressStream(zstd, &o, &in)) != 0U) {
                    throw std::runtime_error("zstd rejected the corpus");
                }
            }
            n = o.pos;
        } else {
            std::memcpy(out.data(), f.data(), f.size());
            n = f.size();
        }
        if (i >= c.flood_begin) {
            std::memset(out.data() + n, 0, simdjson::SIMDJSON_PADDING); // NOLINT
            checksum += parse(parser, out.data(), n, n + simdjson::SIMDJSON_PADDING);
        }
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (c.mode == compression::zlib_stream) {
        inflateEnd(&zs);
    }
    ZSTD_freeDStream(zstd);
    return took.count();
}

} // namespace

corpus make_corpus(compression mode, std::uint64_t events, std::uint64_t seed) {
    serve_options so;
    so.seed = seed;
    so.privileged = "MESSAGE_CONTENT";
    std::string error;
    auto options = make_serve_options(so, error);
    if (!options) {
        throw std::runtime_error(error);
    }
    const auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    emulator::world world(options->config, now);
    world.set_public_ws_url("ws://127.0.0.1:1");
    const std::string query = std::string("v=10&encoding=json&compress=") +
                              (mode == compression::zlib_stream   ? "zlib-stream"
                               : mode == compression::zstd_stream ? "zstd-stream"
                                                                  : "none");
    emulator::connection conn(world, 1, emulator::parse_connect_query(query), now);
    corpus c;
    c.mode = mode;
    const auto collect = [&] {
        while (auto a = conn.poll_action()) {
            if (auto* send = std::get_if<emulator::server_action::send>(&*a)) {
                if (send->prepared) {
                    c.wire_bytes += send->bytes.size();
                }
                c.frames.push_back(std::move(send->bytes));
            }
        }
    };
    collect();
    conn.on_text(
        now,
        R"({"op":2,"d":{"token":"bench-token","intents":)" +
            std::to_string(gateway::default_intents | message_content_intent) +
            R"(,"properties":{"os":"linux","browser":"shardgate","device":"shardgate"},"shard":[0,1]}})");
    collect();
    c.flood_begin = c.frames.size();
    if (!conn.flood(now, "MESSAGE_CREATE", events, true)) {
        throw std::runtime_error("the emulator refused the flood");
    }
    collect();
    if (c.frames.size() != c.flood_begin + events) {
        throw std::runtime_error("the corpus lacks events");
    }
    // The decoded size, for the report.
    if (mode == compression::none) {
        c.json_bytes = c.wire_bytes;
    } else {
        gateway::inflater inf(mode);
        for (std::size_t i = 0; i < c.frames.size(); ++i) {
            auto r = inf.feed(c.frames[i]);
            if (i >= c.flood_begin && r.message) {
                c.json_bytes += r.message->size();
            }
        }
    }
    return c;
}

double limit_events_per_second(const corpus& c, int rounds) {
    double best = 0;
    std::uint64_t checksum = 0;
    for (int r = 0; r < rounds; ++r) {
        const double secs = one_round(c, checksum);
        best = std::max(best, static_cast<double>(c.frames.size() - c.flood_begin) / secs);
    }
    if (checksum == 0) {
        throw std::runtime_error("the limit loop parsed nothing");
    }
    return best;
}

} // namespace shardgate::cli::bench_detail
