// libFuzzer target: the payload decoder must turn any bytes into a payload or an error, never a
// crash, and the views it returns must lie inside the input (or its own copy of it).
#include "shardgate/gateway/payload.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static shardgate::gateway::payload_decoder decoder;
    const std::string_view text(reinterpret_cast<const char*>(data), size); // NOLINT
    shardgate::gateway::received_payload payload;
    if (!decoder.decode(text, false, payload)) {
        shardgate::gateway::milliseconds interval{};
        (void)decoder.read_hello(payload.d, interval);
        shardgate::gateway::ready_info ready;
        (void)decoder.read_ready(payload.d, ready);
        (void)shardgate::gateway::payload_decoder::read_invalid_session(payload.d);
    }
    return 0;
}
