#include "shardgate/gateway/intents.hpp"

#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace shardgate::gateway {
namespace {

constexpr std::array intent_table{
    intent_info{"GUILDS", 0, false},
    intent_info{"GUILD_MEMBERS", 1, true},
    intent_info{"GUILD_MODERATION", 2, false},
    intent_info{"GUILD_EXPRESSIONS", 3, false},
    intent_info{"GUILD_INTEGRATIONS", 4, false},
    intent_info{"GUILD_WEBHOOKS", 5, false},
    intent_info{"GUILD_INVITES", 6, false},
    intent_info{"GUILD_VOICE_STATES", 7, false},
    intent_info{"GUILD_PRESENCES", 8, true},
    intent_info{"GUILD_MESSAGES", 9, false},
    intent_info{"GUILD_MESSAGE_REACTIONS", 10, false},
    intent_info{"GUILD_MESSAGE_TYPING", 11, false},
    intent_info{"DIRECT_MESSAGES", 12, false},
    intent_info{"DIRECT_MESSAGE_REACTIONS", 13, false},
    intent_info{"DIRECT_MESSAGE_TYPING", 14, false},
    intent_info{"MESSAGE_CONTENT", 15, true},
    intent_info{"GUILD_SCHEDULED_EVENTS", 16, false},
    intent_info{"AUTO_MODERATION_CONFIGURATION", 20, false},
    intent_info{"AUTO_MODERATION_EXECUTION", 21, false},
    intent_info{"GUILD_MESSAGE_POLLS", 24, false},
    intent_info{"DIRECT_MESSAGE_POLLS", 25, false},
};

constexpr std::uint64_t mask_of_table() {
    std::uint64_t mask = 0;
    for (const auto& i : intent_table) {
        mask |= i.value();
    }
    return mask;
}
static_assert(mask_of_table() == documented_intents_mask);

// Former names Discord renamed; bots written against them should keep working.
struct alias {
    std::string_view name;
    std::string_view target;
};
constexpr std::array aliases{
    alias{"GUILD_BANS", "GUILD_MODERATION"},
    alias{"GUILD_EMOJIS_AND_STICKERS", "GUILD_EXPRESSIONS"},
};

bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::toupper(static_cast<unsigned char>(x)) ==
               std::toupper(static_cast<unsigned char>(y));
    });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace

std::span<const intent_info> all_intents() noexcept {
    return intent_table;
}

std::optional<intent_info> find_intent(std::string_view name) noexcept {
    for (const auto& a : aliases) {
        if (iequals(a.name, name)) {
            name = a.target;
        }
    }
    for (const auto& i : intent_table) {
        if (iequals(i.name, name)) {
            return i;
        }
    }
    return std::nullopt;
}

std::error_code parse_intents(std::string_view text, std::uint64_t& intents, std::string& bad) {
    text = trim(text);
    std::uint64_t number = 0;
    const auto* last = text.data() + text.size();
    if (auto [ptr, ec] = std::from_chars(text.data(), last, number);
        ec == std::errc{} && ptr == last) {
        if ((number & ~documented_intents_mask) != 0) {
            bad = std::string(text);
            return error::unknown_intent;
        }
        intents = number;
        return {};
    }
    std::uint64_t result = 0;
    while (!text.empty()) {
        const auto cut = text.find_first_of(",|+");
        const auto token = trim(text.substr(0, cut));
        text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
        if (token.empty()) {
            continue;
        }
        if (iequals(token, "default")) {
            result |= default_intents;
        } else if (iequals(token, "all")) {
            result |= documented_intents_mask;
        } else if (auto i = find_intent(token)) {
            result |= i->value();
        } else {
            bad = std::string(token);
            return error::unknown_intent;
        }
    }
    intents = result;
    return {};
}

std::string intent_names(std::uint64_t intents) {
    std::string out;
    for (std::uint8_t bit = 0; bit < 64; ++bit) {
        const std::uint64_t value = std::uint64_t{1} << bit;
        if ((intents & value) == 0) {
            continue;
        }
        if (!out.empty()) {
            out += '|';
        }
        const auto* row = std::ranges::find(intent_table, bit, &intent_info::bit);
        out += row != intent_table.end() ? std::string(row->name) : std::to_string(value);
    }
    return out;
}

} // namespace shardgate::gateway
