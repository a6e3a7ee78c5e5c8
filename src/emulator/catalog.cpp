#include "shardgate/emulator/catalog.hpp"

#include "content_detail.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <random>
#include <unordered_set>

namespace shardgate::emulator {
namespace {

using detail::end_created_ms;
using detail::first_created_ms;
using detail::hash;
using detail::in_range;
using detail::pick;
using gateway::snowflake_low_mask;

// member_index() decodes the index from the low 22 bits of the user id, so a guild cannot have
// more members than those bits can count. 4 194 304 is more than any real guild but the largest.
constexpr std::uint64_t max_members = snowflake_low_mask + 1;

// Salts keep the hash streams of different attributes apart.
constexpr std::uint64_t salt_user = 0x7573'6572; // "user"
constexpr std::uint64_t salt_mask = 0x6d61'736b; // "mask"

std::string capitalized(std::string_view word) {
    std::string s(word);
    if (!s.empty()) {
        s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    }
    return s;
}

std::string avatar_hash(std::uint64_t h) {
    static constexpr std::string_view hex = "0123456789abcdef";
    std::string out(32, '0');
    std::uint64_t a = detail::mix(h ^ 1U);
    std::uint64_t b = detail::mix(h ^ 2U);
    for (std::size_t i = 0; i < 16; ++i) {
        out[i] = hex[a & 0xFU];
        out[16 + i] = hex[b & 0xFU];
        a >>= 4U;
        b >>= 4U;
    }
    return out;
}

// A random snowflake created in [lo_ms, end_created_ms).
snowflake random_snowflake(std::mt19937_64& rng, std::uint64_t lo_ms) {
    const std::uint64_t ms = in_range(rng(), lo_ms, end_created_ms);
    return gateway::make_snowflake(ms, rng());
}

std::string guild_name(std::uint64_t h) {
    const auto adj = capitalized(pick(detail::adjectives(), detail::mix(h ^ 1U)));
    const auto noun = capitalized(pick(detail::nouns(), detail::mix(h ^ 2U)));
    switch (h % 5U) {
    case 0: return adj + " " + noun + "s";
    case 1: return "The " + noun + " Lounge";
    case 2: return noun + " Club";
    case 3: return adj + " " + noun + " Hub";
    default: return "r/" + adj + noun;
    }
}

} // namespace

catalog::catalog(const emulator_config& config)
    : seed_(config.seed) {
    std::mt19937_64 rng(detail::mix(config.seed));

    // The bot user; for applications made since 2016 the bot user id equals the application id.
    {
        const std::uint64_t ms = in_range(rng(), first_created_ms, end_created_ms - 31'536'000'000);
        bot_.id = gateway::make_snowflake(ms, rng());
        bot_.username = capitalized(pick(detail::nouns(), rng())) + "Bot";
        bot_.avatar = avatar_hash(rng());
        // bot_.global_name stays empty: bots have none (written as null).
    }
    application_id_ = bot_.id;

    // Privileged intents the Developer Portal allows show up as application flags; apps in fewer
    // than 100 guilds get the *_LIMITED variants.
    // https://discord.com/developers/docs/resources/application#application-object-application-flags
    const bool verified = config.guilds >= 100;
    const auto allowed = config.allowed_privileged_intents;
    if ((allowed & (1U << 8U)) != 0) {
        application_flags_ |= verified ? (1U << 12U) : (1U << 13U);
    }
    if ((allowed & (1U << 1U)) != 0) {
        application_flags_ |= verified ? (1U << 14U) : (1U << 15U);
    }
    if ((allowed & (1U << 15U)) != 0) {
        application_flags_ |= verified ? (1U << 18U) : (1U << 19U);
    }

    const std::uint64_t per_guild = config.members_per_guild;
    std::unordered_set<snowflake> used;
    used.reserve(config.guilds);
    guilds_.reserve(config.guilds);
    for (std::uint32_t n = 0; n < config.guilds; ++n) {
        guild_info g;
        // Random creation times spread guilds evenly over shards: (id >> 22) % n is the time in
        // ms modulo n.
        do {
            g.id = random_snowflake(rng, first_created_ms);
        } while (!used.insert(g.id).second);
        const std::uint64_t created = gateway::ms_since_discord_epoch(g.id);
        g.name = guild_name(rng());

        const auto text_count = static_cast<std::size_t>(in_range(rng(), 3, 9));
        const auto voice_count = static_cast<std::size_t>(in_range(rng(), 1, 5));
        const auto role_count = static_cast<std::size_t>(in_range(rng(), 2, 7));
        for (std::size_t i = 0; i < text_count; ++i) {
            g.text_channel_ids.push_back(random_snowflake(rng, created));
        }
        // Channel ids are sorted so that "general", the first, is the oldest.
        std::sort(g.text_channel_ids.begin(), g.text_channel_ids.end());
        for (std::size_t i = 0; i < voice_count; ++i) {
            g.voice_channel_ids.push_back(random_snowflake(rng, created));
        }
        g.role_ids.push_back(g.id); // @everyone
        for (std::size_t i = 0; i < role_count; ++i) {
            g.role_ids.push_back(random_snowflake(rng, created));
        }
        g.role_ids.push_back(random_snowflake(rng, created)); // the bot's managed role

        // Log-uniform between half and twice members_per_guild.
        const double u = static_cast<double>(rng() >> 11U) * 0x1.0p-53;
        const double count = std::round(static_cast<double>(per_guild) * std::exp2(2 * u - 1));
        g.member_count = static_cast<std::uint32_t>(
            std::clamp<std::uint64_t>(static_cast<std::uint64_t>(count), 1, max_members));
        guilds_.push_back(std::move(g));
    }
    // Sorted by id for find_guild's binary search (and because ids sort by creation time).
    std::sort(guilds_.begin(), guilds_.end(),
              [](const guild_info& a, const guild_info& b) { return a.id < b.id; });
}

snowflake catalog::application_id() const noexcept {
    return application_id_;
}

std::uint64_t catalog::application_flags() const noexcept {
    return application_flags_;
}

const user_info& catalog::bot_user() const noexcept {
    return bot_;
}

std::span<const guild_info> catalog::guilds() const noexcept {
    return guilds_;
}

const guild_info* catalog::find_guild(snowflake id) const noexcept {
    const auto it = std::lower_bound(guilds_.begin(), guilds_.end(), id,
                                     [](const guild_info& g, snowflake v) { return g.id < v; });
    return it != guilds_.end() && it->id == id ? &*it : nullptr;
}

std::vector<const guild_info*> catalog::guilds_for_shard(std::uint32_t shard_id,
                                                         std::uint32_t num_shards) const {
    assert(num_shards > 0); // shard_for_guild treats 0 as 1 in release builds
    std::vector<const guild_info*> out;
    for (const auto& g : guilds_) {
        if (gateway::shard_for_guild(g.id, num_shards) == shard_id) {
            out.push_back(&g);
        }
    }
    return out;
}

snowflake catalog::member_id_(const guild_info& guild, std::uint32_t index) const noexcept {
    const std::uint64_t ms =
        in_range(hash(seed_, guild.id, index), first_created_ms, end_created_ms);
    const std::uint64_t mask = hash(seed_, guild.id, salt_mask) & snowflake_low_mask;
    return gateway::make_snowflake(ms, index ^ mask);
}

user_info catalog::member(const guild_info& guild, std::uint32_t index) const {
    if (index == 0) {
        return bot_;
    }
    user_info u;
    u.id = member_id_(guild, index);
    // Names and avatar depend on the id only, which already depends on the seed.
    const std::uint64_t h = hash(u.id, salt_user);
    const auto adj = pick(detail::adjectives(), detail::mix(h ^ 3U));
    const auto noun = pick(detail::nouns(), detail::mix(h ^ 4U));
    const std::uint64_t digits = detail::mix(h ^ 5U);
    u.username.reserve(32);
    switch (h % 6U) {
    case 0: u.username.append(adj).append(noun).append(std::to_string(digits % 100)); break;
    case 1: u.username.append(adj).append("_").append(noun); break;
    case 2: u.username.append(noun).append(".").append(adj); break;
    case 3: u.username.append(adj).append(noun); break;
    case 4: u.username.append(noun).append(std::to_string(digits % 10'000)); break;
    default: u.username.append("the").append(noun).append("_"); break;
    }
    switch ((h >> 8U) % 5U) {
    case 0: u.global_name = capitalized(adj) + " " + capitalized(noun); break;
    case 1: u.global_name = capitalized(noun); break;
    case 2: u.global_name = std::string(adj) + std::string(noun); break;
    case 3: u.global_name = capitalized(noun) + " \xe2\x9c\xa8"; break; // U+2728 sparkles
    default: break;                                                     // no display name
    }
    u.avatar = avatar_hash(h);
    return u;
}

std::optional<std::uint32_t> catalog::member_index(const guild_info& guild,
                                                   snowflake user_id) const {
    if (user_id == bot_.id) {
        return guild.member_count > 0 ? std::optional<std::uint32_t>(0) : std::nullopt;
    }
    const std::uint64_t mask = hash(seed_, guild.id, salt_mask) & snowflake_low_mask;
    const auto index = static_cast<std::uint32_t>((user_id & snowflake_low_mask) ^ mask);
    if (index == 0 || index >= guild.member_count || member_id_(guild, index) != user_id) {
        return std::nullopt;
    }
    return index;
}

snowflake catalog::make_snowflake(std::uint64_t ms_since_discord_epoch,
                                  std::uint64_t counter) noexcept {
    // The counter fills worker, process and increment, so 4 194 304 ids per ms stay distinct.
    return gateway::make_snowflake(ms_since_discord_epoch, counter);
}

} // namespace shardgate::emulator
