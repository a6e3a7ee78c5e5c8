#pragma once
/// @file
/// The names of every dispatch event (`t` of an op 0 payload) and the intents that gate them.
/// @see https://discord.com/developers/docs/events/gateway-events#receive-events

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace shardgate::gateway {

/// One documented dispatch event.
struct dispatch_event_info {
    std::string_view name; ///< UPPER_SNAKE_CASE, e.g. "MESSAGE_CREATE".
    std::uint64_t intents; ///< Intents any one of which lets the event through; 0 = never gated.
};

/// The 79 documented dispatch events, in Discord's order.
[[nodiscard]] std::span<const dispatch_event_info> all_dispatch_events() noexcept;

/// The event with this name, or nullopt when Discord documents none (new events still reach user
/// code; this is for validation and the emulator).
[[nodiscard]] std::optional<dispatch_event_info>
find_dispatch_event(std::string_view name) noexcept;

} // namespace shardgate::gateway
