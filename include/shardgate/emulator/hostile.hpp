#pragma once
/// @file
/// The hostile gateway: what a broken or malicious gateway may send, so that a bot can be tested
/// against it. Each mode is a fault of the control API (control_api.hpp), injected like the others.
///
/// @par Two kinds of modes
/// - On an open connection of a shard (`POST /_emulator/shards/{id}/hostile {"mode":M}`):
///   `compression_bomb` (one zlib-stream message that inflates to `bytes`, 256 MiB by default,
///   from ~0.1 % of that on the wire; the connection then sends nothing more, since the client's
///   inflater window no longer matches ours), `oversized_frame` (a MESSAGE_CREATE of `bytes`, 16
///   MiB by default, in one message), `heartbeat_burst` (`count` op 1 requests at once, 200 by
///   default), `silence` (heartbeats are no longer acknowledged; `zombie` under another name).
/// - On the next connections, from their first frame (`POST /_emulator/hostile
///   {"mode":M,"connections":N}`): `hello_without_interval` (Hello with `d: {}`),
///   `hello_zero_interval` (`heartbeat_interval: 0`), `hello_huge_interval` (2^64-1 ms),
///   `ready_before_hello` (a READY dispatch as the first frame, then Hello), `bad_resume_url`
///   (READY's `resume_gateway_url` is not a URL). The emulator's own rules (its heartbeat timeout
///   included) are unchanged: only what the client is told is hostile.
///
/// @par Thread Safety
/// Free functions on values: Safe.

#include "shardgate/gateway/compression.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::emulator {

/// What the hostile gateway does.
enum class hostile_mode : std::uint8_t {
    compression_bomb,
    oversized_frame,
    heartbeat_burst,
    silence,
    hello_without_interval,
    hello_zero_interval,
    hello_huge_interval,
    ready_before_hello,
    bad_resume_url,
};

/// The mode's name in the control API and the log, e.g. "compression_bomb".
[[nodiscard]] std::string_view to_string(hostile_mode mode) noexcept;
/// The mode named `name`, or nullopt.
[[nodiscard]] std::optional<hostile_mode> parse_hostile_mode(std::string_view name) noexcept;
/// Whether the mode acts when a connection starts (armed for the next connections) rather than on
/// an open one.
[[nodiscard]] bool acts_at_connection_start(hostile_mode mode) noexcept;

/// Defaults and limits of the amounts.
inline constexpr std::uint64_t default_bomb_bytes = std::uint64_t{256} << 20U;
inline constexpr std::uint64_t max_bomb_bytes = std::uint64_t{4} << 30U;
inline constexpr std::uint64_t default_oversized_bytes = std::uint64_t{16} << 20U;
inline constexpr std::uint64_t max_oversized_bytes = std::uint64_t{256} << 20U;
inline constexpr std::uint64_t default_heartbeat_burst = 200;
inline constexpr std::uint64_t max_heartbeat_burst = 10'000;

/// One zlib-stream message, to be sent in the middle of a connection's stream, that inflates to
/// `{"op":11}` followed by spaces, `inflated_bytes` in all (valid JSON, so only the size is
/// hostile). Raw deflate blocks from a fresh compressor, each ending in `00 00 ff ff`: they never
/// refer to what the connection sent before. Built 1 MiB at a time; ~1 KB on the wire per MiB.
[[nodiscard]] std::vector<std::byte> zlib_bomb(std::uint64_t inflated_bytes,
                                               const gateway::zlib_deflate_options& options);

/// The Hello a connection starts with in a hello_* mode (`{"op":10,"d":{...}}`).
[[nodiscard]] std::string hostile_hello(hostile_mode mode);

/// The `resume_gateway_url` READY carries in `bad_resume_url` mode.
inline constexpr std::string_view bad_resume_gateway_url = "not a url";

} // namespace shardgate::emulator
