// libFuzzer target over the transport inflaters.
//
// Input layout: byte 0 picks the codec (bit 0: zlib-stream or zstd-stream) and what happens after
// an error (bit 1: reset and go on, else stop). The rest is a sequence of frames, each a 2-byte
// little-endian length followed by that many bytes (a short last frame takes what is left). Every
// frame goes to one `inflater`, as the WebSocket messages of one connection would.
//
// Checks: no crash, leak or sanitizer report; every message is within the cap and its padding is
// readable; the output buffer never grows past the cap.

#include "shardgate/gateway/compression.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

namespace sg = shardgate::gateway;

namespace {

// Small caps, so that bombs are reached quickly and memory stays low.
constexpr sg::inflate_limits limits{
    .max_message_bytes = std::size_t{1} << 20U,
    .max_pending_compressed_bytes = std::size_t{256} << 10U,
    .window_log_max = 20,
};

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t selector = data[0];
    const auto mode =
        (selector & 1U) != 0 ? sg::compression::zstd_stream : sg::compression::zlib_stream;
    const bool reset_after_error = (selector & 2U) != 0;
    sg::inflater z(mode, limits);

    std::span<const std::byte> rest = std::as_bytes(std::span(data, size)).subspan(1);
    while (!rest.empty()) {
        std::size_t length = std::to_integer<std::size_t>(rest[0]);
        if (rest.size() >= 2) {
            length |= std::to_integer<std::size_t>(rest[1]) << 8U;
        }
        rest = rest.subspan(std::min<std::size_t>(2, rest.size()));
        length = std::min(length, rest.size());
        const auto frame = rest.first(length);
        rest = rest.subspan(length);

        const auto result = z.feed(frame);
        check(z.buffer_capacity() <= limits.max_message_bytes + 1 + sg::json_padding);
        if (result.ec) {
            check(!result.message.has_value());
            if (!reset_after_error) {
                break;
            }
            z.reset();
            continue;
        }
        if (result.message) {
            const std::string_view message = *result.message;
            check(message.size() <= limits.max_message_bytes);
            // Touch the message and its padding, so that ASan sees any overrun.
            unsigned sum = 0;
            for (std::size_t i = 0; i < message.size() + sg::json_padding; ++i) {
                sum += static_cast<unsigned char>(message.data()[i]);
            }
            for (std::size_t i = 0; i < sg::json_padding; ++i) {
                check(message.data()[message.size() + i] == '\0');
            }
            static_cast<void>(sum);
        }
    }
    return 0;
}
