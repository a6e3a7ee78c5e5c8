#pragma once
/// @file
/// Gateway intents: the bitfield sent in Identify that decides which events a session receives.
/// @see https://discord.com/developers/docs/events/gateway#gateway-intents

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace shardgate::gateway {

/// One documented intent.
struct intent_info {
    std::string_view name; ///< As in Discord's docs, e.g. "GUILD_MESSAGES".
    std::uint8_t bit;
    bool privileged; ///< Must be enabled in the Developer Portal, or Identify gets 4014.
    [[nodiscard]] constexpr std::uint64_t value() const noexcept { return std::uint64_t{1} << bit; }
};

/// The 21 documented intents, by bit.
[[nodiscard]] std::span<const intent_info> all_intents() noexcept;

/// Every documented intent ORed together (0x331FFFF). Bits outside it get close 4013.
inline constexpr std::uint64_t documented_intents_mask = 53'608'447;

/// GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT.
inline constexpr std::uint64_t privileged_intents_mask = (1U << 1U) | (1U << 8U) | (1U << 15U);

/// All documented intents that are not privileged: the default of `--intents`.
inline constexpr std::uint64_t default_intents = documented_intents_mask & ~privileged_intents_mask;

/// The intent with this name (case-insensitive; the former names GUILD_BANS and
/// GUILD_EMOJIS_AND_STICKERS are accepted), or nullopt.
[[nodiscard]] std::optional<intent_info> find_intent(std::string_view name) noexcept;

/// Parses what a user writes for `--intents`: a number, or names separated by commas, `|` or `+`;
/// `default` stands for every non-privileged intent and `all` for every documented one.
/// @param text The user's text.
/// @param intents Receives the bitfield on success.
/// @param bad Receives the offending token on failure, for the error message.
/// @return `error::unknown_intent` for an unknown name or a number with undocumented bits.
[[nodiscard]] std::error_code parse_intents(std::string_view text, std::uint64_t& intents,
                                            std::string& bad);

/// The names of the bits set in `intents`, joined with `|` (undocumented bits as numbers).
[[nodiscard]] std::string intent_names(std::uint64_t intents);

} // namespace shardgate::gateway
