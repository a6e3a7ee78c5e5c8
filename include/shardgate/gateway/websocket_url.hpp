#pragma once
/// @file
/// The one check of "can this be a gateway URL", shared by the user's configuration, the URL from
/// `/gateway/bot` and READY's `resume_gateway_url`.

#include <cstddef>
#include <string_view>

namespace shardgate::gateway {

/// The longest URL taken; Discord's are well under 100 bytes.
inline constexpr std::size_t max_websocket_url_bytes = 2048;

/// True for `ws://` or `wss://` followed by a host, in printable ASCII (no spaces, no controls) and
/// at most `max_websocket_url_bytes`. The transport checks the rest (port, resolution) when it
/// connects; this only refuses what could never connect.
[[nodiscard]] bool is_websocket_url(std::string_view url) noexcept;

} // namespace shardgate::gateway
