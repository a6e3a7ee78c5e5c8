#include "shardgate/gateway/websocket_url.hpp"

#include <algorithm>

namespace shardgate::gateway {

bool is_websocket_url(std::string_view url) noexcept {
    std::string_view rest;
    for (const std::string_view scheme : {"ws://", "wss://"}) {
        if (url.starts_with(scheme)) {
            rest = url.substr(scheme.size());
        }
    }
    const bool has_host = !rest.empty() && rest.front() != '/' && rest.front() != ':' &&
                          rest.front() != '?' && rest.front() != '#';
    const bool printable = std::all_of(url.begin(), url.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20U && u < 0x7fU;
    });
    return has_host && printable && url.size() <= max_websocket_url_bytes;
}

} // namespace shardgate::gateway
