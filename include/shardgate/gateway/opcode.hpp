#pragma once
/// @file
/// Gateway opcodes: the `op` field of every payload.
/// @see https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-opcodes

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace shardgate::gateway {

/// Every opcode Discord documents for the gateway (API v10). 5, 12-30, 32-42 are unused.
enum class opcode : std::uint8_t {
    dispatch = 0,
    heartbeat = 1,
    identify = 2,
    presence_update = 3,
    voice_state_update = 4,
    resume = 6,
    reconnect = 7,
    request_guild_members = 8,
    invalid_session = 9,
    hello = 10,
    heartbeat_ack = 11,
    request_soundboard_sounds = 31,
    request_channel_info = 43,
};

/// Who sends an opcode.
enum class opcode_direction : std::uint8_t { send, receive, both };

/// One row of the opcode table.
struct opcode_info {
    opcode op;
    std::string_view name; ///< Discord's name, e.g. "Presence Update".
    opcode_direction direction;
};

/// The whole opcode table, in numeric order.
[[nodiscard]] std::span<const opcode_info> all_opcodes() noexcept;

/// The row for `op`; every enumerator has one.
[[nodiscard]] const opcode_info& info(opcode op) noexcept;

/// The opcode with this number, or nullopt if Discord documents none.
[[nodiscard]] std::optional<opcode> to_opcode(std::int64_t value) noexcept;

/// Whether a client may receive this opcode from the gateway.
[[nodiscard]] constexpr bool client_receives(opcode op) noexcept {
    return op == opcode::dispatch || op == opcode::heartbeat || op == opcode::reconnect ||
           op == opcode::invalid_session || op == opcode::hello || op == opcode::heartbeat_ack;
}

} // namespace shardgate::gateway
