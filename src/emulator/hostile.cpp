#include "shardgate/emulator/hostile.hpp"

#include "shardgate/gateway/detail/json_writer.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

namespace shardgate::emulator {
namespace {

using gateway::detail::json_writer;

constexpr std::array all_modes{
    hostile_mode::compression_bomb,       hostile_mode::oversized_frame,
    hostile_mode::heartbeat_burst,        hostile_mode::silence,
    hostile_mode::hello_without_interval, hostile_mode::hello_zero_interval,
    hostile_mode::hello_huge_interval,    hostile_mode::ready_before_hello,
    hostile_mode::bad_resume_url,
};

// The zlib header a fresh zlib-stream compressor puts before its first message.
constexpr std::size_t zlib_header_bytes = 2;

} // namespace

std::string_view to_string(hostile_mode mode) noexcept {
    switch (mode) {
    case hostile_mode::compression_bomb: return "compression_bomb";
    case hostile_mode::oversized_frame: return "oversized_frame";
    case hostile_mode::heartbeat_burst: return "heartbeat_burst";
    case hostile_mode::silence: return "silence";
    case hostile_mode::hello_without_interval: return "hello_without_interval";
    case hostile_mode::hello_zero_interval: return "hello_zero_interval";
    case hostile_mode::hello_huge_interval: return "hello_huge_interval";
    case hostile_mode::ready_before_hello: return "ready_before_hello";
    case hostile_mode::bad_resume_url: return "bad_resume_url";
    }
    return "silence";
}

std::optional<hostile_mode> parse_hostile_mode(std::string_view name) noexcept {
    for (const auto m : all_modes) {
        if (name == to_string(m)) {
            return m;
        }
    }
    return std::nullopt;
}

bool acts_at_connection_start(hostile_mode mode) noexcept {
    switch (mode) {
    case hostile_mode::compression_bomb:
    case hostile_mode::oversized_frame:
    case hostile_mode::heartbeat_burst:
    case hostile_mode::silence: return false;
    case hostile_mode::hello_without_interval:
    case hostile_mode::hello_zero_interval:
    case hostile_mode::hello_huge_interval:
    case hostile_mode::ready_before_hello:
    case hostile_mode::bad_resume_url: return true;
    }
    return false;
}

std::vector<std::byte> zlib_bomb(std::uint64_t inflated_bytes,
                                 const gateway::zlib_deflate_options& options) {
    constexpr std::string_view head = R"({"op":11})";
    gateway::deflater fresh(gateway::compression::zlib_stream, options);
    std::vector<std::byte> out;
    fresh.compress(head, out);
    // Mid-stream, the client expects deflate blocks, not a second zlib header.
    out.erase(out.begin(), out.begin() + zlib_header_bytes);
    constexpr std::size_t chunk = std::size_t{1} << 20U;
    const std::string spaces(chunk, ' ');
    std::vector<std::byte> part;
    for (std::uint64_t left = inflated_bytes > head.size() ? inflated_bytes - head.size() : 0;
         left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk));
        part.clear();
        fresh.compress(std::string_view(spaces).substr(0, n), part);
        out.insert(out.end(), part.begin(), part.end());
        left -= n;
    }
    return out;
}

std::string hostile_hello(hostile_mode mode) {
    std::string out;
    json_writer w(out);
    w.begin_object().key("op").uint_value(10).key("d").begin_object();
    if (mode == hostile_mode::hello_zero_interval) {
        w.key("heartbeat_interval").uint_value(0);
    } else if (mode == hostile_mode::hello_huge_interval) {
        w.key("heartbeat_interval").uint_value(std::numeric_limits<std::uint64_t>::max());
    }
    w.end_object().key("s").null_value().key("t").null_value().end_object();
    return out;
}

} // namespace shardgate::emulator
