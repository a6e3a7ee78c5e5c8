#include "shardgate/gateway/detail/printable.hpp"

namespace shardgate::gateway::detail {

std::string printable(std::string_view network_text, std::size_t max_bytes) {
    auto text = network_text.substr(0, max_bytes);
    if (text.size() < network_text.size()) {
        // Back off to the start of a character, so the cut leaves valid UTF-8 valid.
        while (!text.empty() &&
               (static_cast<unsigned char>(network_text[text.size()]) & 0xc0U) == 0x80U) {
            text.remove_suffix(1);
        }
    }
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        const bool c1 = u == 0xc2U && i + 1 < text.size() &&
                        static_cast<unsigned char>(text[i + 1]) >= 0x80U &&
                        static_cast<unsigned char>(text[i + 1]) <= 0x9fU;
        if (c1) {
            out += '?';
            ++i; // both bytes of the control
        } else {
            out += (u < 0x20U || u == 0x7fU) ? '?' : text[i];
        }
    }
    return out;
}

} // namespace shardgate::gateway::detail
