// libFuzzer target: the reader of `GET /gateway/bot` answers (discovery's 200 body) must turn any
// bytes into gateway settings a cluster can use, or into bad_response with a printable one-line
// reason; never a crash.
#include "shardgate/io/discovery.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size); // NOLINT
    shardgate::io::gateway_bot_info info;
    std::string detail;
    if (const auto ec = shardgate::io::parse_gateway_bot(body, info, detail)) {
        if (ec != shardgate::io::discovery_error::bad_response || detail.empty() ||
            detail.size() > 400) {
            std::abort();
        }
        for (const char c : detail) {
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                std::abort(); // the network's control characters reached the message
            }
        }
        return 0;
    }
    const bool websocket = info.url.starts_with("ws://") || info.url.starts_with("wss://");
    if (!websocket || info.shards == 0 || info.limit.max_concurrency == 0) {
        std::abort();
    }
    return 0;
}
