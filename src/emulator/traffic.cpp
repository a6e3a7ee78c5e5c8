#include "content_detail.hpp"
#include "shardgate/emulator/content.hpp"
#include "shardgate/gateway/dispatch_events.hpp"

#include <algorithm>
#include <charconv>

namespace shardgate::emulator {
namespace {

using detail::json_writer;
using detail::write_id;

// The kinds the generator knows and how often each comes, roughly the mix a busy bot sees:
// messages dominate, typing and reactions follow, presences only with the privileged intent.
struct kind_info {
    std::string_view t;
    std::uint32_t weight;
};
constexpr std::array<kind_info, 7> kinds{{{"MESSAGE_CREATE", 50},
                                          {"TYPING_START", 16},
                                          {"MESSAGE_REACTION_ADD", 12},
                                          {"PRESENCE_UPDATE", 10},
                                          {"MESSAGE_UPDATE", 6},
                                          {"MESSAGE_DELETE", 3},
                                          {"GUILD_MEMBER_UPDATE", 3}}};
enum kind_index : std::size_t {
    message_create,
    typing_start,
    reaction_add,
    presence_update,
    message_update,
    message_delete,
    member_update,
};

// Every generated event happens in a guild channel, so the DIRECT_* intents that also gate these
// names (they cover DMs) do not let them through (§9).
constexpr std::uint64_t direct_intents =
    (1U << 12U) | (1U << 13U) | (1U << 14U) | (std::uint64_t{1} << 25U);
constexpr std::uint64_t message_content_intent = 1U << 15U;

constexpr std::array<std::string_view, 8> reaction_emojis{
    "\xf0\x9f\x91\x8d", "\xe2\x9d\xa4\xef\xb8\x8f", "\xf0\x9f\x98\x82", "\xf0\x9f\x94\xa5",
    "\xf0\x9f\x8e\x89", "\xf0\x9f\x98\xae",         "\xf0\x9f\x91\x80", "\xe2\x9c\x85"};
constexpr std::array<std::string_view, 5> endings{"", "", "?", "!", "..."};

std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t n) {
    return n == 0 ? 0 : rng() % n;
}

// Active members talk much more than the rest: index 1 + (count-1)·u², so caches see hot keys.
std::uint32_t pick_member(std::mt19937_64& rng, const guild_info& g) {
    if (g.member_count <= 1) {
        return 0;
    }
    const double u = static_cast<double>(rng() >> 11U) * 0x1.0p-53;
    const auto span = static_cast<double>(g.member_count - 1);
    return 1 + std::min(g.member_count - 2, static_cast<std::uint32_t>(span * u * u));
}

snowflake pick_channel(std::mt19937_64& rng, const guild_info& g) {
    if (g.text_channel_ids.empty()) {
        return g.id; // a guild_info made by hand: its default channel
    }
    return g.text_channel_ids[uniform(rng, g.text_channel_ids.size())];
}

void append_id(std::string& out, snowflake id) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), id);
    static_cast<void>(ec);
    out.append(buf.data(), end);
}

// Message text of a realistic length: mostly a few words, sometimes a paragraph.
void compose(std::string& out, std::mt19937_64& rng, snowflake mention) {
    out.clear();
    if (mention != 0) {
        out.append("<@");
        append_id(out, mention);
        out.append("> ");
    }
    const std::uint64_t r = rng() % 100;
    std::uint64_t words = 0;
    if (r < 45) {
        words = 1 + uniform(rng, 6);
    } else if (r < 80) {
        words = 6 + uniform(rng, 14);
    } else if (r < 95) {
        words = 20 + uniform(rng, 30);
    } else {
        words = 50 + uniform(rng, 100);
    }
    const auto all = detail::chat_words();
    for (std::uint64_t i = 0; i < words; ++i) {
        if (i != 0) {
            out.push_back(rng() % 16 == 0 ? '\n' : ' ');
        }
        const std::size_t at = out.size();
        out.append(detail::pick(all, rng()));
        if (i == 0 && out[at] >= 'a' && out[at] <= 'z' && rng() % 2 == 0) {
            out[at] = static_cast<char>(out[at] - 'a' + 'A');
        }
    }
    out.append(detail::pick(endings, rng()));
}

struct message_ctx {
    const guild_info* guild;
    snowflake id;
    snowflake channel_id;
    std::uint32_t author;
    std::uint64_t created_unix_ms;
};

// MESSAGE_CREATE or (with `edited_unix_ms`) MESSAGE_UPDATE, which carries the full message.
void write_message(json_writer& w, const catalog& c, std::mt19937_64& rng, std::string& text,
                   const message_ctx& m, bool content_intent, std::uint64_t edited_unix_ms) {
    const guild_info& g = *m.guild;
    const user_info author = c.member(g, m.author);
    const user_info& bot = c.bot_user();

    // Who the message mentions: now and then the bot (so its content is visible without
    // MESSAGE_CONTENT, §9), more often another member.
    const std::uint64_t r = rng() % 100;
    std::optional<std::uint32_t> mentioned;
    if (r < 3) {
        mentioned = 0;
    } else if (r < 11 && g.member_count > 1) {
        mentioned = pick_member(rng, g);
    }
    const user_info mentioned_user =
        mentioned && *mentioned != 0 ? c.member(g, *mentioned) : user_info{};
    const user_info& target = mentioned && *mentioned == 0 ? bot : mentioned_user;
    compose(text, rng, mentioned ? target.id : 0);
    const bool with_content = content_intent || (mentioned && *mentioned == 0);
    const bool attachment = with_content && rng() % 25 == 0;

    gateway::timestamp_text buf{};
    w.begin_object();
    w.key("type").uint_value(0); // DEFAULT
    w.key("tts").bool_value(false);
    w.key("timestamp").string_value(detail::iso8601(m.created_unix_ms, buf));
    w.key("pinned").bool_value(false);
    if (edited_unix_ms == 0 && rng() % 10 < 7) {
        w.key("nonce");
        write_id(w, m.id + 1'234'567 + (rng() & 0xFFFFU));
    }
    w.key("mentions").begin_array();
    if (mentioned) {
        // Users in `mentions` carry a partial member.
        w.begin_object();
        w.key("id");
        write_id(w, target.id);
        w.key("username").string_value(target.username);
        w.key("global_name");
        target.global_name.empty() ? w.null_value() : w.string_value(target.global_name);
        w.key("avatar").string_value(target.avatar);
        w.key("discriminator").string_value("0");
        w.key("public_flags").uint_value(0);
        if (*mentioned == 0) {
            w.key("bot").bool_value(true);
        }
        w.key("member");
        detail::write_member(w, g, target, *mentioned, false);
        w.end_object();
    }
    w.end_array();
    w.key("mention_roles").begin_array().end_array();
    w.key("mention_everyone").bool_value(false);
    w.key("member");
    detail::write_member(w, g, author, m.author, false);
    w.key("id");
    write_id(w, m.id);
    w.key("flags").uint_value(0);
    w.key("embeds").begin_array().end_array();
    w.key("edited_timestamp");
    if (edited_unix_ms != 0) {
        w.string_value(detail::iso8601(edited_unix_ms, buf));
    } else {
        w.null_value();
    }
    w.key("content").string_value(with_content ? std::string_view(text) : std::string_view());
    w.key("components").begin_array().end_array();
    w.key("channel_type").uint_value(0);
    w.key("channel_id");
    write_id(w, m.channel_id);
    w.key("author");
    detail::write_user(w, author, m.author == 0);
    w.key("attachments").begin_array();
    if (attachment) {
        const snowflake att = m.id + 1;
        text.assign("https://cdn.discordapp.com/attachments/");
        append_id(text, m.channel_id);
        text.push_back('/');
        append_id(text, att);
        text.append("/image.png");
        w.begin_object();
        w.key("id");
        write_id(w, att);
        w.key("filename").string_value("image.png");
        w.key("size").uint_value(20'000 + uniform(rng, 2'000'000));
        w.key("url").string_value(text);
        text.replace(8, 18, "media.discordapp.net"); // cdn.discordapp.com -> the proxy host
        w.key("proxy_url").string_value(text);
        w.key("width").uint_value(1920);
        w.key("height").uint_value(1080);
        w.key("content_type").string_value("image/png");
        w.end_object();
    }
    w.end_array();
    w.key("guild_id");
    write_id(w, g.id);
    w.end_object();
}

} // namespace

traffic_generator::traffic_generator(const catalog& c, std::uint64_t seed, std::uint32_t shard_id,
                                     std::uint32_t num_shards, std::uint64_t intents)
    : catalog_(&c)
    , rng_(detail::hash(seed, shard_id, num_shards))
    , guilds_(c.guilds_for_shard(shard_id, num_shards == 0 ? 1 : num_shards))
    , intents_(intents)
    , shard_id_(shard_id) {
    std::uint32_t sum = 0;
    for (std::size_t k = 0; k < kinds.size(); ++k) {
        const auto info = gateway::find_dispatch_event(kinds[k].t);
        const std::uint64_t gating = info ? info->intents & ~direct_intents : 0;
        if ((gating & intents) != 0) {
            sum += kinds[k].weight;
        }
        cumulative_[k] = sum;
    }
    total_weight_ = sum;
    buffer_.reserve(4096);
    text_.reserve(1024);
}

snowflake traffic_generator::next_id_(std::uint64_t unix_ms) noexcept {
    const std::uint64_t ms =
        unix_ms > gateway::discord_epoch_ms ? unix_ms - gateway::discord_epoch_ms : 0;
    // Worker/process bits carry the shard, so shards generating in the same ms do not collide.
    const std::uint64_t low = ((std::uint64_t{shard_id_} & 0x3FFU) << 12U) | (counter_++ & 0xFFFU);
    return catalog::make_snowflake(ms, low);
}

std::optional<dispatch_body> traffic_generator::next(std::uint64_t unix_ms) {
    if (guilds_.empty() || total_weight_ == 0) {
        return std::nullopt;
    }
    const std::uint64_t r = rng_() % total_weight_;
    std::size_t k = 0;
    while (r >= cumulative_[k]) {
        ++k;
    }
    write_(k, unix_ms);
    return dispatch_body{std::string(kinds[k].t), buffer_};
}

dispatch_body traffic_generator::make(std::string_view t, std::uint64_t unix_ms) {
    if (guilds_.empty()) {
        return dispatch_body{std::string(t), "{}"}; // no guild on this shard to place it in
    }
    for (std::size_t k = 0; k < kinds.size(); ++k) {
        if (kinds[k].t == t) {
            write_(k, unix_ms);
            return dispatch_body{std::string(t), buffer_};
        }
    }
    buffer_.clear();
    json_writer w(buffer_);
    w.begin_object().key("guild_id");
    write_id(w, guilds_[uniform(rng_, guilds_.size())]->id);
    w.end_object();
    return dispatch_body{std::string(t), buffer_};
}

void traffic_generator::write_(std::size_t kind, std::uint64_t unix_ms) {
    const catalog& c = *catalog_;
    buffer_.clear();
    json_writer w(buffer_);

    // Updates, deletes and reactions mostly refer to a message generated before; without one,
    // to a message from the last ten minutes.
    const auto earlier_message = [&]() -> recent_message {
        if (recent_count_ > 0) {
            return recent_[uniform(rng_, recent_count_)];
        }
        const guild_info* g = guilds_[uniform(rng_, guilds_.size())];
        const std::uint64_t then =
            unix_ms - std::min<std::uint64_t>(unix_ms, uniform(rng_, 600'000));
        return recent_message{g, next_id_(then), pick_channel(rng_, *g), pick_member(rng_, *g),
                              then};
    };

    switch (kind) {
    case message_create: {
        const guild_info* g = guilds_[uniform(rng_, guilds_.size())];
        const message_ctx m{g, next_id_(unix_ms), pick_channel(rng_, *g), pick_member(rng_, *g),
                            unix_ms};
        write_message(w, c, rng_, text_, m, (intents_ & message_content_intent) != 0, 0);
        const recent_message rec{g, m.id, m.channel_id, m.author, unix_ms};
        if (recent_count_ < recent_capacity_) {
            recent_[recent_count_++] = rec;
        } else {
            recent_[uniform(rng_, recent_capacity_)] = rec;
        }
        break;
    }
    case message_update: {
        const recent_message e = earlier_message();
        const message_ctx m{e.guild, e.id, e.channel_id, e.author, e.unix_ms};
        write_message(w, c, rng_, text_, m, (intents_ & message_content_intent) != 0,
                      std::max(unix_ms, e.unix_ms + 1));
        break;
    }
    case message_delete: {
        std::size_t at = recent_capacity_;
        recent_message e;
        if (recent_count_ > 0) {
            at = uniform(rng_, recent_count_);
            e = recent_[at];
            recent_[at] = recent_[--recent_count_]; // deleted messages get no more events
        } else {
            e = earlier_message();
        }
        w.begin_object();
        w.key("id");
        write_id(w, e.id);
        w.key("channel_id");
        write_id(w, e.channel_id);
        w.key("guild_id");
        write_id(w, e.guild->id);
        w.end_object();
        break;
    }
    case reaction_add: {
        const recent_message e = earlier_message();
        const guild_info& g = *e.guild;
        const std::uint32_t who = pick_member(rng_, g);
        const user_info u = c.member(g, who);
        w.begin_object();
        w.key("user_id");
        write_id(w, u.id);
        w.key("type").uint_value(0);
        w.key("message_id");
        write_id(w, e.id);
        w.key("message_author_id");
        write_id(w, c.member(g, e.author).id);
        w.key("member");
        detail::write_member(w, g, u, who, true);
        w.key("emoji").begin_object();
        w.key("id").null_value();
        w.key("name").string_value(detail::pick(reaction_emojis, rng_()));
        w.end_object();
        w.key("channel_id");
        write_id(w, e.channel_id);
        w.key("burst").bool_value(false);
        w.key("guild_id");
        write_id(w, g.id);
        w.key("burst_colors").begin_array().end_array();
        w.end_object();
        break;
    }
    case typing_start: {
        const guild_info& g = *guilds_[uniform(rng_, guilds_.size())];
        const std::uint32_t who = pick_member(rng_, g);
        const user_info u = c.member(g, who);
        w.begin_object();
        w.key("user_id");
        write_id(w, u.id);
        w.key("timestamp").uint_value(unix_ms / 1000); // Unix seconds here, unlike elsewhere
        w.key("member");
        detail::write_member(w, g, u, who, true);
        w.key("channel_id");
        write_id(w, pick_channel(rng_, g));
        w.key("guild_id");
        write_id(w, g.id);
        w.end_object();
        break;
    }
    case presence_update: {
        const guild_info& g = *guilds_[uniform(rng_, guilds_.size())];
        const std::uint32_t who = pick_member(rng_, g);
        const std::uint64_t r = rng_() % 100;
        const auto status = r < 50   ? detail::presence_status::online
                            : r < 75 ? detail::presence_status::idle
                            : r < 85 ? detail::presence_status::dnd
                                     : detail::presence_status::offline;
        detail::write_presence(w, c.member(g, who), status, g.id);
        break;
    }
    case member_update:
    default: {
        const guild_info& g = *guilds_[uniform(rng_, guilds_.size())];
        const std::uint32_t who = pick_member(rng_, g);
        detail::write_member(w, g, c.member(g, who), who, true, g.id);
        break;
    }
    }
}

} // namespace shardgate::emulator
