#pragma once
/// @file
/// Text from the network quoted in a message (a URL, an HTTP reason phrase, a frame's start): it
/// must stay on one line and must not drive the terminal.

#include <cstddef>
#include <string>
#include <string_view>

namespace shardgate::gateway::detail {

/// `network_text` cut to at most `max_bytes` (never inside a UTF-8 character) with C0 controls,
/// DEL and the UTF-8 encodings of C1 controls each shown as `?`.
[[nodiscard]] std::string printable(std::string_view network_text, std::size_t max_bytes);

} // namespace shardgate::gateway::detail
