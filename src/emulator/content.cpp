#include "shardgate/emulator/content.hpp"

#include "content_detail.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>

namespace shardgate::emulator {
namespace detail {
namespace {

constexpr std::array<std::string_view, 64> adjective_list{
    "sleepy", "happy",  "grumpy", "sneaky",  "fuzzy",  "brave",  "quiet",  "lucky",
    "cosmic", "tiny",   "mighty", "silly",   "salty",  "spicy",  "frosty", "sunny",
    "rusty",  "golden", "silver", "crimson", "azure",  "lazy",   "swift",  "clever",
    "wild",   "gentle", "noisy",  "shiny",   "dusty",  "misty",  "stormy", "chill",
    "cozy",   "fancy",  "humble", "jolly",   "lunar",  "solar",  "pixel",  "retro",
    "neon",   "hidden", "lost",   "ancient", "modern", "secret", "bold",   "calm",
    "eager",  "fierce", "glad",   "honest",  "icy",    "jumpy",  "kind",   "loyal",
    "merry",  "nimble", "odd",    "proud",   "rapid",  "tidy",   "vivid",  "witty"};

constexpr std::array<std::string_view, 64> noun_list{
    "otter",   "panda",  "falcon",  "badger",  "koala",   "walrus",  "raven",   "gecko",
    "lynx",    "moose",  "beaver",  "ferret",  "heron",   "llama",   "narwhal", "octopus",
    "penguin", "quokka", "rabbit",  "salmon",  "tiger",   "turtle",  "viper",   "wombat",
    "yak",     "zebra",  "dragon",  "phoenix", "golem",   "wizard",  "knight",  "pirate",
    "ninja",   "robot",  "comet",   "nebula",  "pixel",   "cactus",  "maple",   "willow",
    "pebble",  "river",  "canyon",  "meadow",  "glacier", "ember",   "thunder", "cloud",
    "biscuit", "noodle", "pancake", "waffle",  "muffin",  "taco",    "mango",   "peach",
    "banjo",   "violin", "tuba",    "rocket",  "anchor",  "lantern", "compass", "kettle"};

constexpr std::array<std::string_view, 160> chat_word_list{"the",
                                                           "a",
                                                           "i",
                                                           "you",
                                                           "we",
                                                           "it",
                                                           "is",
                                                           "was",
                                                           "are",
                                                           "to",
                                                           "of",
                                                           "and",
                                                           "in",
                                                           "that",
                                                           "this",
                                                           "for",
                                                           "on",
                                                           "with",
                                                           "just",
                                                           "so",
                                                           "but",
                                                           "not",
                                                           "lol",
                                                           "lmao",
                                                           "yeah",
                                                           "no",
                                                           "ok",
                                                           "okay",
                                                           "what",
                                                           "why",
                                                           "how",
                                                           "when",
                                                           "where",
                                                           "who",
                                                           "anyone",
                                                           "know",
                                                           "think",
                                                           "really",
                                                           "pretty",
                                                           "very",
                                                           "good",
                                                           "bad",
                                                           "great",
                                                           "nice",
                                                           "cool",
                                                           "weird",
                                                           "funny",
                                                           "game",
                                                           "server",
                                                           "channel",
                                                           "bot",
                                                           "update",
                                                           "patch",
                                                           "build",
                                                           "deploy",
                                                           "stream",
                                                           "tonight",
                                                           "today",
                                                           "tomorrow",
                                                           "later",
                                                           "soon",
                                                           "now",
                                                           "again",
                                                           "still",
                                                           "played",
                                                           "playing",
                                                           "watch",
                                                           "watching",
                                                           "listen",
                                                           "song",
                                                           "album",
                                                           "movie",
                                                           "episode",
                                                           "season",
                                                           "boss",
                                                           "raid",
                                                           "quest",
                                                           "level",
                                                           "loot",
                                                           "drop",
                                                           "match",
                                                           "ranked",
                                                           "queue",
                                                           "team",
                                                           "carry",
                                                           "gg",
                                                           "wp",
                                                           "brb",
                                                           "afk",
                                                           "idk",
                                                           "imo",
                                                           "tbh",
                                                           "btw",
                                                           "ngl",
                                                           "fr",
                                                           "omg",
                                                           "thanks",
                                                           "thx",
                                                           "please",
                                                           "sorry",
                                                           "hey",
                                                           "hello",
                                                           "hi",
                                                           "morning",
                                                           "night",
                                                           "coffee",
                                                           "tea",
                                                           "pizza",
                                                           "lunch",
                                                           "dinner",
                                                           "sleep",
                                                           "work",
                                                           "code",
                                                           "bug",
                                                           "fix",
                                                           "error",
                                                           "crash",
                                                           "works",
                                                           "broken",
                                                           "test",
                                                           "python",
                                                           "rust",
                                                           "cpp",
                                                           "discord",
                                                           "gateway",
                                                           "shard",
                                                           "message",
                                                           "role",
                                                           "voice",
                                                           "chat",
                                                           "meme",
                                                           "picture",
                                                           "link",
                                                           "check",
                                                           "out",
                                                           "this",
                                                           "guys",
                                                           "everyone",
                                                           "someone",
                                                           "maybe",
                                                           "probably",
                                                           "actually",
                                                           "honestly",
                                                           "literally",
                                                           "\xf0\x9f\x98\x82",
                                                           "\xf0\x9f\x91\x8d",
                                                           "\xf0\x9f\x94\xa5",
                                                           "\xe2\x9d\xa4\xef\xb8\x8f",
                                                           "\xf0\x9f\x98\xad",
                                                           "\xf0\x9f\x92\x80",
                                                           "\xf0\x9f\x8e\x89",
                                                           "\xf0\x9f\x98\x8e",
                                                           "very",
                                                           "much",
                                                           "more",
                                                           "less",
                                                           "all",
                                                           "some",
                                                           "any",
                                                           "every"};

constexpr std::array<std::string_view, 12> nick_list{
    "Captain", "The Boss", "Snacks", "Professor",
    "Chef",    "Doc",      "Sparky", "Night Owl",
    "Gremlin", "Legend",   "Rookie", "\xf0\x9f\x8d\x95 enjoyer"}; // U+1F355 pizza

constexpr std::array<std::string_view, 10> game_list{
    "Minecraft",  "Valorant",      "League of Legends", "Fortnite", "Stardew Valley",
    "Elden Ring", "Rocket League", "Counter-Strike 2",  "Terraria", "Among Us"};

constexpr std::uint64_t salt_status = 0x7374'6174; // "stat"
constexpr std::uint64_t salt_activity = 0x6163'7476;

} // namespace

std::span<const std::string_view> adjectives() noexcept {
    return adjective_list;
}
std::span<const std::string_view> nouns() noexcept {
    return noun_list;
}
std::span<const std::string_view> chat_words() noexcept {
    return chat_word_list;
}

std::string_view status_name(presence_status s) noexcept {
    switch (s) {
    case presence_status::online: return "online";
    case presence_status::idle: return "idle";
    case presence_status::dnd: return "dnd";
    case presence_status::offline: break;
    }
    return "offline";
}

presence_status member_status(const user_info& u, std::uint32_t index) noexcept {
    if (index == 0) {
        return presence_status::online;
    }
    const std::uint64_t r = hash(u.id, salt_status) % 100;
    if (r < 60) {
        return presence_status::offline;
    }
    if (r < 85) {
        return presence_status::online;
    }
    return r < 95 ? presence_status::idle : presence_status::dnd;
}

void write_id(json_writer& w, snowflake id) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), id);
    static_cast<void>(ec); // 24 chars hold any 64-bit integer
    w.string_value(std::string_view(buf.data(), static_cast<std::size_t>(end - buf.data())));
}

void write_user(json_writer& w, const user_info& u, bool is_bot) {
    w.begin_object();
    w.key("id");
    write_id(w, u.id);
    w.key("username").string_value(u.username);
    w.key("global_name");
    u.global_name.empty() ? w.null_value() : w.string_value(u.global_name);
    w.key("avatar");
    u.avatar.empty() ? w.null_value() : w.string_value(u.avatar);
    w.key("discriminator").string_value("0");
    w.key("public_flags").uint_value(0);
    if (is_bot) {
        w.key("bot").bool_value(true);
    }
    w.key("avatar_decoration_data").null_value();
    w.key("collectibles").null_value();
    w.key("primary_guild").null_value();
    w.key("clan").null_value();
    w.end_object();
}

std::uint64_t member_joined_unix_ms(const guild_info& g, const user_info& u) noexcept {
    const std::uint64_t lo =
        std::max(gateway::ms_since_discord_epoch(g.id), gateway::ms_since_discord_epoch(u.id));
    const std::uint64_t hi = end_created_ms;
    const std::uint64_t ms = lo >= hi ? lo : in_range(hash(g.id, u.id), lo, hi);
    return ms + gateway::discord_epoch_ms;
}

void write_member(json_writer& w, const guild_info& g, const user_info& u, std::uint32_t index,
                  bool with_user, snowflake guild_id) {
    w.begin_object();
    if (guild_id != 0) {
        w.key("guild_id");
        write_id(w, guild_id);
    }
    if (with_user) {
        w.key("user");
        write_user(w, u, index == 0);
    }
    const std::uint64_t h = hash(u.id, g.id);
    w.key("roles").begin_array();
    if (index == 0) {
        if (g.role_ids.size() >= 2) {
            write_id(w, g.role_ids.back()); // the bot's managed role
        }
    } else if (g.role_ids.size() > 2) {
        // Ordinary roles lie between @everyone (first) and the bot's role (last); each is held by
        // about one member in four.
        for (std::size_t k = 1; k + 1 < g.role_ids.size(); ++k) {
            if (mix(h ^ g.role_ids[k]) % 4 == 0) {
                write_id(w, g.role_ids[k]);
            }
        }
    }
    w.end_array();
    w.key("nick");
    (index != 0 && h % 10 == 0) ? w.string_value(pick(nick_list, mix(h))) : w.null_value();
    w.key("avatar").null_value();
    w.key("banner").null_value();
    gateway::timestamp_text buf{};
    const std::uint64_t joined = member_joined_unix_ms(g, u);
    w.key("joined_at").string_value(iso8601(joined, buf));
    w.key("premium_since");
    constexpr std::uint64_t end_created_unix_ms = end_created_ms + gateway::discord_epoch_ms;
    if (index != 0 && (h >> 8U) % 20 == 0 && joined < end_created_unix_ms) {
        w.string_value(iso8601(in_range(mix(h), joined, end_created_unix_ms), buf));
    } else {
        w.null_value();
    }
    w.key("deaf").bool_value(false);
    w.key("mute").bool_value(false);
    w.key("flags").uint_value(0);
    w.key("pending").bool_value(false);
    w.key("communication_disabled_until").null_value();
    w.end_object();
}

void write_presence(json_writer& w, const user_info& u, presence_status s, snowflake guild_id) {
    w.begin_object();
    w.key("user").begin_object().key("id");
    write_id(w, u.id);
    w.end_object();
    w.key("status").string_value(status_name(s));
    if (guild_id != 0) {
        w.key("guild_id");
        write_id(w, guild_id);
    }
    const std::uint64_t h = hash(u.id, salt_activity);
    w.key("activities").begin_array();
    if (s != presence_status::offline) {
        if (h % 3 == 0) {
            w.begin_object();
            w.key("type").uint_value(0);
            w.key("name").string_value(pick(game_list, h >> 8U));
            w.key("id").string_value("ec0b28a579ecb4bd");
            w.key("created_at").uint_value(1'735'689'600'000 + (h >> 16U) % 31'536'000'000);
            w.end_object();
        } else if (h % 3 == 1) {
            w.begin_object();
            w.key("type").uint_value(4);
            w.key("name").string_value("Custom Status");
            w.key("state").string_value(pick(chat_word_list, h >> 8U));
            w.key("id").string_value("custom");
            w.key("created_at").uint_value(1'735'689'600'000 + (h >> 16U) % 31'536'000'000);
            w.end_object();
        }
    }
    w.end_array();
    w.key("client_status").begin_object();
    if (s != presence_status::offline) {
        w.key((h >> 4U) % 3 == 0 ? "mobile" : "desktop").string_value(status_name(s));
    }
    w.end_object();
    w.end_object();
}

} // namespace detail

namespace {

using detail::hash;
using detail::in_range;
using detail::json_writer;
using detail::mix;
using detail::presence_status;
using detail::write_id;

constexpr std::uint64_t guild_presences = std::uint64_t{1} << 8U;
// Above this many members Discord sends only the bot and users in voice, whatever the intents
// (§5.9).
constexpr std::uint32_t presence_member_cap = 75'000;
// GUILD_CREATE lists at most this many members, to keep the body bounded for huge guilds; Discord
// sends every non-offline member there, but a test world gains nothing from 20 MB bodies.
constexpr std::size_t guild_create_member_cap = 1'000;
constexpr std::size_t chunk_size = 1'000;         // members per GUILD_MEMBERS_CHUNK
constexpr std::size_t query_result_cap = 100;     // op 8 query or user_ids
constexpr std::uint64_t salt_sound = 0x736f'756e; // "soun"
constexpr std::uint64_t salt_voice = 0x766f'6963; // "voic"

constexpr std::array<std::string_view, 16> text_channel_names{
    "general",      "off-topic", "memes",  "announcements", "help", "introductions",
    "bot-commands", "music",     "gaming", "art",           "pets", "food",
    "dev",          "random",    "media",  "suggestions"};
constexpr std::array<std::string_view, 8> voice_channel_names{
    "General", "Gaming", "Music", "Lounge", "Study Room", "Chill", "Stage", "AFK"};
constexpr std::array<std::string_view, 10> role_names{"Moderator", "Admin",  "Member", "VIP",
                                                      "Artist",    "Gamer",  "Helper", "Musician",
                                                      "Booster",   "Regular"};
constexpr std::array<std::string_view, 6> channel_statuses{
    "\xf0\x9f\x8e\xb5 lofi beats to study to",
    "ranked grind",
    "movie night",
    "chilling",
    "study session",
    "AFK"};
constexpr std::array<std::string_view, 8> rtc_regions{
    "rotterdam", "frankfurt", "london", "madrid", "milan", "bucharest", "stockholm", "us-east"};

struct sound_info {
    std::string_view name;
    std::string_view emoji;
};
constexpr std::array<sound_info, 6> sounds{{{"quack", "\xf0\x9f\xa6\x86"},
                                            {"airhorn", "\xf0\x9f\x93\xa2"},
                                            {"cricket", "\xf0\x9f\xa6\x97"},
                                            {"golf clap", "\xf0\x9f\x91\x8f"},
                                            {"sad trombone", "\xf0\x9f\x8e\xba"},
                                            {"ba dum tss", "\xf0\x9f\xa5\x81"}}};

// FNV-1a: a hash of text that, unlike std::hash, is the same in every build.
std::uint64_t text_hash(std::string_view text) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c : text) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
    return h;
}

bool starts_with_icase(std::string_view text, std::string_view lower_prefix) noexcept {
    if (text.size() < lower_prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<unsigned char>(c - 'A' + 'a');
        }
        if (c != static_cast<unsigned char>(lower_prefix[i])) {
            return false;
        }
    }
    return true;
}

void write_role(json_writer& w, const guild_info& g, std::size_t k, const user_info& bot) {
    const snowflake id = g.role_ids[k];
    const std::uint64_t h = mix(id);
    const bool everyone = k == 0;
    const bool bot_role = k + 1 == g.role_ids.size() && k != 0;
    w.begin_object();
    w.key("id");
    write_id(w, id);
    if (everyone) {
        w.key("name").string_value("@everyone");
    } else if (bot_role) {
        w.key("name").string_value(bot.username);
    } else {
        // Consecutive names from a per-guild offset, so a guild's roles have distinct names.
        w.key("name").string_value(role_names[(mix(g.id) + k) % role_names.size()]);
    }
    w.key("description").null_value();
    const std::uint64_t color = everyone || bot_role ? 0 : (h >> 8U) & 0xFFFFFFU;
    w.key("color").uint_value(color);
    w.key("colors").begin_object();
    w.key("primary_color").uint_value(color);
    w.key("secondary_color").null_value();
    w.key("tertiary_color").null_value();
    w.end_object();
    w.key("hoist").bool_value(!everyone && !bot_role && (h >> 40U) % 2 == 0);
    w.key("icon").null_value();
    w.key("unicode_emoji").null_value();
    w.key("position").uint_value(k);
    // Discord's defaults: @everyone's default permissions, a typical member role, Administrator.
    w.key("permissions")
        .string_value(everyone   ? "2248473465835073"
                      : bot_role ? "8"
                                 : "1071698660929");
    w.key("managed").bool_value(bot_role);
    w.key("mentionable").bool_value(!everyone && (h >> 48U) % 3 == 0);
    w.key("flags").uint_value(0);
    if (bot_role) {
        w.key("tags").begin_object().key("bot_id");
        write_id(w, bot.id);
        w.end_object();
    }
    w.end_object();
}

// Channels inside GUILD_CREATE carry no guild_id (the guild is implied).
void write_channels(json_writer& w, const guild_info& g) {
    const std::uint64_t offset = mix(g.id);
    w.key("channels").begin_array();
    for (std::size_t k = 0; k < g.text_channel_ids.size(); ++k) {
        const snowflake id = g.text_channel_ids[k];
        w.begin_object();
        w.key("id");
        write_id(w, id);
        w.key("type").uint_value(0);
        w.key("name").string_value(
            k == 0 ? text_channel_names[0]
                   : text_channel_names[1 + (offset + k) % (text_channel_names.size() - 1)]);
        w.key("position").uint_value(k);
        w.key("parent_id").null_value();
        w.key("topic");
        mix(id) % 3 == 0 ? w.string_value("Be nice. Read the rules before posting.")
                         : w.null_value();
        w.key("nsfw").bool_value(false);
        w.key("rate_limit_per_user").uint_value(0);
        w.key("last_message_id").null_value();
        w.key("permission_overwrites").begin_array().end_array();
        w.key("flags").uint_value(0);
        w.end_object();
    }
    for (std::size_t k = 0; k < g.voice_channel_ids.size(); ++k) {
        const snowflake id = g.voice_channel_ids[k];
        w.begin_object();
        w.key("id");
        write_id(w, id);
        w.key("type").uint_value(2);
        w.key("name").string_value(voice_channel_names[(offset + k) % voice_channel_names.size()]);
        w.key("position").uint_value(k);
        w.key("parent_id").null_value();
        w.key("bitrate").uint_value(64'000);
        w.key("user_limit").uint_value(mix(id) % 4 == 0 ? 10 : 0);
        w.key("rtc_region").null_value();
        w.key("nsfw").bool_value(false);
        w.key("rate_limit_per_user").uint_value(0);
        w.key("last_message_id").null_value();
        w.key("permission_overwrites").begin_array().end_array();
        w.key("flags").uint_value(0);
        w.end_object();
    }
    w.end_array();
}

// A voice channel's status (CHANNEL_INFO) and start time, fixed per channel id.
std::optional<std::string_view> voice_status(snowflake channel_id) {
    const std::uint64_t h = hash(channel_id, salt_voice);
    if (h % 2 == 0) {
        return std::nullopt;
    }
    return detail::pick(channel_statuses, h >> 8U);
}
std::optional<std::uint64_t> voice_start_time(snowflake channel_id) {
    const std::uint64_t h = hash(channel_id, salt_voice + 1);
    if (h % 3 == 0) {
        return std::nullopt;
    }
    // Unix seconds during 2025.
    return 1'735'689'600 + (h >> 8U) % 31'536'000;
}

} // namespace

std::string ready_body(const catalog& c, const ready_params& p) {
    // Without `shard` in Identify the session is [0, 1]: every guild.
    const std::uint32_t shard = p.shard_id.value_or(0);
    const std::uint32_t shards = p.shard_id ? std::max<std::uint32_t>(p.num_shards, 1) : 1;
    const auto routed = c.guilds_for_shard(shard, shards);
    const user_info& bot = c.bot_user();

    std::string out;
    out.reserve(900 + routed.size() * 48);
    json_writer w(out);
    w.begin_object();
    w.key("v").uint_value(10);
    w.key("user_settings").begin_object().end_object();
    w.key("user").begin_object();
    w.key("id");
    write_id(w, bot.id);
    w.key("username").string_value(bot.username);
    w.key("global_name");
    bot.global_name.empty() ? w.null_value() : w.string_value(bot.global_name);
    w.key("avatar");
    bot.avatar.empty() ? w.null_value() : w.string_value(bot.avatar);
    w.key("discriminator").string_value("0");
    w.key("public_flags").uint_value(0);
    w.key("flags").uint_value(0);
    w.key("bot").bool_value(true);
    w.key("banner").null_value();
    w.key("accent_color").null_value();
    w.key("avatar_decoration_data").null_value();
    w.key("mfa_enabled").bool_value(false);
    w.key("email").null_value();
    w.key("verified").bool_value(true);
    w.key("premium_type").uint_value(0);
    w.end_object();
    w.key("session_type").string_value("normal");
    w.key("session_id").string_value(p.session_id);
    w.key("resume_gateway_url").string_value(p.resume_gateway_url);
    w.key("relationships").begin_array().end_array();
    w.key("private_channels").begin_array().end_array();
    w.key("presences").begin_array().end_array();
    w.key("guild_join_requests").begin_array().end_array();
    w.key("geo_ordered_rtc_regions").begin_array();
    for (std::size_t i = 0; i < 5; ++i) {
        w.string_value(rtc_regions[(bot.id + i) % rtc_regions.size()]);
    }
    w.end_array();
    w.key("auth").begin_object().end_object();
    w.key("guilds").begin_array();
    for (const guild_info* g : routed) {
        w.begin_object();
        w.key("id");
        write_id(w, g->id);
        w.key("unavailable").bool_value(true);
        w.end_object();
    }
    w.end_array();
    if (p.shard_id) {
        w.key("shard").begin_array().uint_value(shard).uint_value(shards).end_array();
    }
    w.key("application").begin_object();
    w.key("id");
    write_id(w, c.application_id());
    w.key("flags").uint_value(c.application_flags());
    w.end_object();
    w.end_object();
    return out;
}

std::string guild_create_body(const catalog& c, const guild_info& g, std::uint64_t intents,
                              std::uint32_t large_threshold) {
    const bool presences_intent = (intents & guild_presences) != 0;
    const bool large = g.member_count > large_threshold;
    const user_info& bot = c.bot_user();

    // Which members GUILD_CREATE lists (§5.9): without GUILD_PRESENCES or above 75k members only
    // the bot (no one is in voice here); in a large guild the non-offline ones; else everyone.
    std::vector<std::uint32_t> listed;
    if (!presences_intent || g.member_count > presence_member_cap) {
        listed.push_back(0);
    } else {
        for (std::uint32_t i = 0; i < g.member_count && listed.size() < guild_create_member_cap;
             ++i) {
            if (!large || i == 0 ||
                detail::member_status(c.member(g, i), i) != presence_status::offline) {
                listed.push_back(i);
            }
        }
    }

    std::string out;
    out.reserve(3'000 + listed.size() * 700);
    json_writer w(out);
    gateway::timestamp_text buf{};
    w.begin_object();
    w.key("id");
    write_id(w, g.id);
    w.key("name").string_value(g.name);
    w.key("icon").null_value();
    w.key("description").null_value();
    w.key("splash").null_value();
    w.key("discovery_splash").null_value();
    w.key("banner").null_value();
    w.key("owner_id");
    write_id(w, g.member_count > 1 ? c.member(g, 1).id : bot.id);
    w.key("application_id").null_value();
    w.key("region").string_value("deprecated");
    w.key("afk_channel_id").null_value();
    w.key("afk_timeout").uint_value(300);
    w.key("system_channel_id");
    if (g.text_channel_ids.empty()) {
        w.null_value();
    } else {
        write_id(w, g.text_channel_ids.front());
    }
    w.key("system_channel_flags").uint_value(0);
    w.key("widget_enabled").bool_value(false);
    w.key("verification_level").uint_value(mix(g.id) % 3);
    w.key("default_message_notifications").uint_value(1);
    w.key("explicit_content_filter").uint_value(2);
    w.key("mfa_level").uint_value(0);
    w.key("nsfw_level").uint_value(0);
    w.key("features").begin_array().end_array();
    w.key("emojis").begin_array().end_array();
    w.key("stickers").begin_array().end_array();
    w.key("roles").begin_array();
    for (std::size_t k = 0; k < g.role_ids.size(); ++k) {
        write_role(w, g, k, bot);
    }
    w.end_array();
    w.key("rules_channel_id").null_value();
    w.key("public_updates_channel_id").null_value();
    w.key("safety_alerts_channel_id").null_value();
    w.key("max_presences").null_value();
    w.key("max_members").uint_value(500'000);
    w.key("max_video_channel_users").uint_value(25);
    w.key("max_stage_video_channel_users").uint_value(50);
    w.key("vanity_url_code").null_value();
    w.key("premium_tier").uint_value(0);
    w.key("premium_subscription_count").uint_value(0);
    w.key("premium_progress_bar_enabled").bool_value(false);
    w.key("preferred_locale").string_value("en-US");
    w.key("incidents_data").null_value();
    w.key("lazy").bool_value(true);
    w.key("joined_at").string_value(detail::iso8601(detail::member_joined_unix_ms(g, bot), buf));
    w.key("large").bool_value(large);
    w.key("unavailable").bool_value(false);
    w.key("member_count").uint_value(g.member_count);
    w.key("voice_states").begin_array().end_array();
    w.key("members").begin_array();
    for (const std::uint32_t i : listed) {
        const user_info u = c.member(g, i);
        detail::write_member(w, g, u, i, true);
    }
    w.end_array();
    write_channels(w, g);
    w.key("threads").begin_array().end_array();
    w.key("presences").begin_array();
    for (const std::uint32_t i : listed) {
        const user_info u = c.member(g, i);
        const auto s = detail::member_status(u, i);
        if (s != presence_status::offline) {
            detail::write_presence(w, u, s, 0);
        }
    }
    w.end_array();
    w.key("stage_instances").begin_array().end_array();
    w.key("guild_scheduled_events").begin_array().end_array();
    w.key("soundboard_sounds").begin_array().end_array();
    w.key("embedded_activities").begin_array().end_array();
    w.end_object();
    return out;
}

std::vector<std::string> guild_members_chunks(const catalog& c, const member_request& r,
                                              std::uint64_t intents) {
    const guild_info* g = c.find_guild(r.guild_id);
    const bool with_presences = r.presences && (intents & guild_presences) != 0;
    const bool by_ids = !r.user_ids.empty();

    // Selection. The everyone form needs no list: it is 0..member_count-1.
    std::vector<std::uint32_t> selected;
    std::vector<snowflake> not_found;
    bool everyone = false;
    if (by_ids) {
        const std::size_t n = std::min(r.user_ids.size(), query_result_cap);
        for (std::size_t k = 0; k < n; ++k) {
            const snowflake id = r.user_ids[k];
            const auto index = g != nullptr ? c.member_index(*g, id) : std::nullopt;
            if (!index) {
                if (std::find(not_found.begin(), not_found.end(), id) == not_found.end()) {
                    not_found.push_back(id);
                }
            } else if (std::find(selected.begin(), selected.end(), *index) == selected.end()) {
                selected.push_back(*index);
            }
        }
    } else if (r.query && g != nullptr) {
        everyone = r.query->empty() && r.limit == 0;
        if (!everyone) {
            const std::size_t cap =
                r.limit == 0 ? query_result_cap : std::min<std::size_t>(r.limit, query_result_cap);
            std::string prefix(*r.query);
            std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](char ch) {
                return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
            });
            for (std::uint32_t i = 0; i < g->member_count && selected.size() < cap; ++i) {
                if (starts_with_icase(c.member(*g, i).username, prefix)) {
                    selected.push_back(i);
                }
            }
        }
    }
    const std::size_t total = everyone ? g->member_count : selected.size();
    const std::size_t chunk_count = std::max<std::size_t>(1, (total + chunk_size - 1) / chunk_size);

    std::vector<std::string> chunks;
    chunks.reserve(chunk_count);
    std::vector<user_info> users;
    for (std::size_t k = 0; k < chunk_count; ++k) {
        const std::size_t begin = k * chunk_size;
        const std::size_t end = std::min(total, begin + chunk_size);
        users.clear();
        std::vector<std::uint32_t> indexes;
        indexes.reserve(end - begin);
        for (std::size_t j = begin; j < end; ++j) {
            const auto i = everyone ? static_cast<std::uint32_t>(j) : selected[j];
            indexes.push_back(i);
            users.push_back(c.member(*g, i));
        }

        std::string out;
        out.reserve(200 + users.size() * 650);
        json_writer w(out);
        w.begin_object();
        w.key("guild_id");
        write_id(w, r.guild_id);
        w.key("members").begin_array();
        for (std::size_t j = 0; j < users.size(); ++j) {
            detail::write_member(w, *g, users[j], indexes[j], true);
        }
        w.end_array();
        w.key("chunk_index").uint_value(k);
        w.key("chunk_count").uint_value(chunk_count);
        if (by_ids && k == 0) {
            w.key("not_found").begin_array();
            for (const snowflake id : not_found) {
                write_id(w, id);
            }
            w.end_array();
        }
        if (with_presences) {
            w.key("presences").begin_array();
            for (std::size_t j = 0; j < users.size(); ++j) {
                const auto s = detail::member_status(users[j], indexes[j]);
                if (s != presence_status::offline) {
                    detail::write_presence(w, users[j], s, 0);
                }
            }
            w.end_array();
        }
        if (r.nonce) {
            w.key("nonce").string_value(*r.nonce);
        }
        w.end_object();
        chunks.push_back(std::move(out));
    }
    return chunks;
}

std::string rate_limited_body(snowflake guild_id, double retry_after_seconds,
                              const std::optional<std::string>& nonce) {
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("opcode").uint_value(8);
    w.key("retry_after");
    if (std::isfinite(retry_after_seconds) && retry_after_seconds > 0) {
        std::array<char, 32> buf{};
        const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(),
                                             retry_after_seconds, std::chars_format::fixed, 3);
        if (ec == std::errc{}) {
            w.raw_value(std::string_view(buf.data(), static_cast<std::size_t>(end - buf.data())));
        } else {
            w.raw_value("0.0");
        }
    } else {
        w.raw_value("0.0");
    }
    w.key("meta").begin_object();
    w.key("guild_id");
    write_id(w, guild_id);
    if (nonce) {
        w.key("nonce").string_value(*nonce);
    }
    w.end_object();
    w.end_object();
    return out;
}

std::vector<dispatch_body> voice_state_answer(const catalog& c, snowflake guild_id,
                                              std::optional<snowflake> channel_id, bool self_mute,
                                              bool self_deaf, std::string_view session_id) {
    std::vector<dispatch_body> out;
    const guild_info* g = c.find_guild(guild_id);
    if (g == nullptr) {
        return out; // the bot is not in that guild: Discord has nothing to answer
    }
    const user_info& bot = c.bot_user();
    {
        dispatch_body state{"VOICE_STATE_UPDATE", {}};
        json_writer w(state.d);
        w.begin_object();
        w.key("member");
        detail::write_member(w, *g, bot, 0, true);
        w.key("user_id");
        write_id(w, bot.id);
        w.key("suppress").bool_value(false);
        w.key("session_id").string_value(session_id);
        w.key("self_video").bool_value(false);
        w.key("self_mute").bool_value(self_mute);
        w.key("self_deaf").bool_value(self_deaf);
        w.key("request_to_speak_timestamp").null_value();
        w.key("mute").bool_value(false);
        w.key("guild_id");
        write_id(w, guild_id);
        w.key("deaf").bool_value(false);
        w.key("channel_id");
        if (channel_id) {
            write_id(w, *channel_id);
        } else {
            w.null_value(); // leaving voice
        }
        w.end_object();
        out.push_back(std::move(state));
    }
    if (channel_id) {
        // A voice token and endpoint that look like Discord's, fixed per (guild, channel, session).
        const std::uint64_t h = hash(guild_id, *channel_id, text_hash(session_id));
        static constexpr std::string_view hex = "0123456789abcdef";
        std::string token(16, '0');
        for (std::size_t i = 0; i < token.size(); ++i) {
            token[i] = hex[(h >> (4 * i)) & 0xFU];
        }
        static constexpr std::array<std::string_view, 4> pops{"ams", "fra", "lhr", "iad"};
        std::string endpoint = "c-";
        endpoint.append(pops[mix(h) % pops.size()]);
        endpoint.append(std::to_string(10 + mix(h ^ 1U) % 20)).append("-");
        endpoint.append(token.substr(0, 8)).append(".discord.media:443");

        dispatch_body server{"VOICE_SERVER_UPDATE", {}};
        json_writer w(server.d);
        w.begin_object();
        w.key("token").string_value(token);
        w.key("guild_id");
        write_id(w, guild_id);
        w.key("endpoint").string_value(endpoint);
        w.end_object();
        out.push_back(std::move(server));
    }
    return out;
}

std::string soundboard_sounds_body(const catalog& c, snowflake guild_id) {
    const guild_info* g = c.find_guild(guild_id);
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("guild_id");
    write_id(w, guild_id);
    w.key("soundboard_sounds").begin_array();
    if (g != nullptr) {
        const std::uint64_t h = hash(g->id, salt_sound);
        const std::size_t count = 2 + h % 2;
        const user_info uploader = c.member(*g, g->member_count > 1 ? 1 : 0);
        for (std::size_t k = 0; k < count; ++k) {
            const auto& s = sounds[(h + k) % sounds.size()];
            const std::uint64_t created = in_range(
                mix(h + k), gateway::ms_since_discord_epoch(g->id), detail::end_created_ms);
            w.begin_object();
            w.key("name").string_value(s.name);
            w.key("sound_id");
            write_id(w, catalog::make_snowflake(created, mix(h ^ k)));
            w.key("volume").raw_value(k == 0 ? "1.0" : "0.5");
            w.key("emoji_id").null_value();
            w.key("emoji_name").string_value(s.emoji);
            w.key("guild_id");
            write_id(w, g->id);
            w.key("available").bool_value(true);
            w.key("user");
            detail::write_user(w, uploader, g->member_count <= 1);
            w.end_object();
        }
    }
    w.end_array();
    w.end_object();
    return out;
}

std::string channel_info_body(const catalog& c, snowflake guild_id,
                              const std::vector<std::string>& fields) {
    const auto wants = [&](std::string_view f) {
        return std::find(fields.begin(), fields.end(), f) != fields.end();
    };
    const bool want_status = wants("status");
    const bool want_start = wants("voice_start_time");
    const guild_info* g = c.find_guild(guild_id);

    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("guild_id");
    write_id(w, guild_id);
    w.key("channels").begin_array();
    if (g != nullptr) {
        for (const snowflake id : g->voice_channel_ids) {
            w.begin_object();
            w.key("id");
            write_id(w, id);
            if (want_status) {
                const auto s = voice_status(id);
                w.key("status");
                s ? w.string_value(*s) : w.null_value();
            }
            if (want_start) {
                const auto t = voice_start_time(id);
                w.key("voice_start_time");
                t ? w.uint_value(*t) : w.null_value();
            }
            w.end_object();
        }
    }
    w.end_array();
    w.end_object();
    return out;
}

} // namespace shardgate::emulator
