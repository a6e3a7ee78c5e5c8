#include "shardgate/gateway/commands.hpp"

#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>
#include <type_traits>
#include <utility>

namespace shardgate::gateway {
namespace {

using detail::json_writer;

constexpr std::uint32_t min_large_threshold = 50;
constexpr std::uint32_t max_large_threshold = 250;
constexpr std::size_t max_members_per_request = 100;
constexpr std::size_t max_nonce_bytes = 32;

std::error_code invalid() noexcept {
    return make_error_code(error::invalid_command);
}

// Ids go out as strings: JSON numbers lose precision above 2^53 in many parsers.
void write_snowflake(json_writer& w, snowflake id) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), id);
    static_cast<void>(ec); // 24 chars hold any 64-bit integer
    w.string_value(std::string_view(buf.data(), static_cast<std::size_t>(end - buf.data())));
}

void write_snowflakes(json_writer& w, const std::vector<snowflake>& ids) {
    w.begin_array();
    for (const snowflake id : ids) {
        write_snowflake(w, id);
    }
    w.end_array();
}

bool has_zero(const std::vector<snowflake>& ids) noexcept {
    return std::find(ids.begin(), ids.end(), snowflake{0}) != ids.end();
}

std::string_view status_name(presence_status s) noexcept {
    switch (s) {
    case presence_status::online: return "online";
    case presence_status::dnd: return "dnd";
    case presence_status::idle: return "idle";
    case presence_status::invisible: return "invisible";
    case presence_status::offline: return "offline";
    }
    return {};
}

bool is_valid(const update_presence& p) noexcept {
    if (status_name(p.status).empty()) {
        return false;
    }
    return std::all_of(p.activities.begin(), p.activities.end(), [](const activity& a) {
        const auto t = static_cast<int>(a.type);
        return t >= static_cast<int>(activity_type::playing) &&
               t <= static_cast<int>(activity_type::competing);
    });
}

void write_presence(json_writer& w, const update_presence& p) {
    w.begin_object().key("since");
    if (p.since) {
        w.int_value(*p.since);
    } else {
        w.null_value(); // Discord wants the key even when not idle
    }
    w.key("activities").begin_array();
    for (const activity& a : p.activities) {
        w.begin_object().key("name").string_value(a.name);
        w.key("type").int_value(static_cast<int>(a.type));
        if (a.state) {
            w.key("state").string_value(*a.state);
        }
        if (a.url) {
            w.key("url").string_value(*a.url);
        }
        w.end_object();
    }
    w.end_array();
    w.key("status").string_value(status_name(p.status));
    w.key("afk").bool_value(p.afk);
    w.end_object();
}

// Writes {"op":Cmd::op,"d":<write_d>} into `out` and applies the checks every frame shares.
template <class Cmd, class WriteD> std::error_code write_frame(std::string& out, WriteD&& write_d) {
    out.clear();
    json_writer w(out);
    w.begin_object().key("op").uint_value(static_cast<std::uint64_t>(Cmd::op)).key("d");
    std::forward<WriteD>(write_d)(w);
    w.end_object();
    if (!w.valid()) {
        out.clear();
        return invalid();
    }
    if (out.size() > max_payload_bytes) {
        out.clear(); // may hold a token, and is useless anyway
        return make_error_code(error::payload_too_large);
    }
    return {};
}

} // namespace

std::error_code encode(const identify& cmd, std::string& out) {
    out.clear();
    const bool shard_ok = !cmd.shard || (cmd.shard->count >= 1 && cmd.shard->id < cmd.shard->count);
    if (cmd.token.empty() || cmd.large_threshold < min_large_threshold ||
        cmd.large_threshold > max_large_threshold || !shard_ok ||
        (cmd.presence && !is_valid(*cmd.presence))) {
        return invalid();
    }
    return write_frame<identify>(out, [&](json_writer& w) {
        w.begin_object().key("token").string_value(cmd.token.expose());
        w.key("properties").begin_object();
        w.key("os").string_value(cmd.properties.os);
        w.key("browser").string_value(cmd.properties.browser);
        w.key("device").string_value(cmd.properties.device);
        w.end_object();
        w.key("compress").bool_value(cmd.compress);
        w.key("large_threshold").uint_value(cmd.large_threshold);
        if (cmd.shard) {
            w.key("shard").begin_array().uint_value(cmd.shard->id).uint_value(cmd.shard->count);
            w.end_array();
        }
        if (cmd.presence) {
            w.key("presence");
            write_presence(w, *cmd.presence);
        }
        w.key("intents").uint_value(cmd.intents);
        w.end_object();
    });
}

std::error_code encode(const resume& cmd, std::string& out) {
    out.clear();
    if (cmd.token.empty() || cmd.session_id.empty()) {
        return invalid();
    }
    return write_frame<resume>(out, [&](json_writer& w) {
        w.begin_object().key("token").string_value(cmd.token.expose());
        w.key("session_id").string_value(cmd.session_id);
        w.key("seq").uint_value(cmd.seq);
        w.end_object();
    });
}

std::error_code encode(const heartbeat& cmd, std::string& out) {
    return write_frame<heartbeat>(out, [&](json_writer& w) {
        if (cmd.seq) {
            w.uint_value(*cmd.seq);
        } else {
            w.null_value();
        }
    });
}

std::error_code encode(const update_presence& cmd, std::string& out) {
    out.clear();
    if (!is_valid(cmd)) {
        return invalid();
    }
    return write_frame<update_presence>(out, [&](json_writer& w) { write_presence(w, cmd); });
}

std::error_code encode(const update_voice_state& cmd, std::string& out) {
    out.clear();
    if (cmd.guild_id == 0 || (cmd.channel_id && *cmd.channel_id == 0)) {
        return invalid();
    }
    return write_frame<update_voice_state>(out, [&](json_writer& w) {
        w.begin_object().key("guild_id");
        write_snowflake(w, cmd.guild_id);
        w.key("channel_id");
        if (cmd.channel_id) {
            write_snowflake(w, *cmd.channel_id);
        } else {
            w.null_value(); // null means "leave the voice channel"
        }
        w.key("self_mute").bool_value(cmd.self_mute);
        w.key("self_deaf").bool_value(cmd.self_deaf);
        w.end_object();
    });
}

std::error_code encode(const request_guild_members& cmd, std::string& out) {
    out.clear();
    const bool by_query = cmd.query.has_value();
    const bool by_ids = !cmd.user_ids.empty();
    if (cmd.guild_id == 0 || by_query == by_ids || (by_query && !cmd.limit) ||
        (cmd.limit && *cmd.limit > max_members_per_request) ||
        cmd.user_ids.size() > max_members_per_request || has_zero(cmd.user_ids) ||
        (cmd.nonce && cmd.nonce->size() > max_nonce_bytes)) {
        return invalid();
    }
    return write_frame<request_guild_members>(out, [&](json_writer& w) {
        w.begin_object().key("guild_id");
        write_snowflake(w, cmd.guild_id);
        if (cmd.query) {
            w.key("query").string_value(*cmd.query);
        }
        if (cmd.limit) {
            w.key("limit").uint_value(*cmd.limit);
        }
        if (cmd.presences) {
            w.key("presences").bool_value(true);
        }
        if (by_ids) {
            w.key("user_ids");
            write_snowflakes(w, cmd.user_ids);
        }
        if (cmd.nonce) {
            w.key("nonce").string_value(*cmd.nonce);
        }
        w.end_object();
    });
}

std::error_code encode(const request_soundboard_sounds& cmd, std::string& out) {
    out.clear();
    if (cmd.guild_ids.empty() || has_zero(cmd.guild_ids)) {
        return invalid();
    }
    return write_frame<request_soundboard_sounds>(out, [&](json_writer& w) {
        w.begin_object().key("guild_ids");
        write_snowflakes(w, cmd.guild_ids);
        w.end_object();
    });
}

std::error_code encode(const request_channel_info& cmd, std::string& out) {
    out.clear();
    const bool fields_ok =
        !cmd.fields.empty() &&
        std::all_of(cmd.fields.begin(), cmd.fields.end(),
                    [](const std::string& f) { return f == "status" || f == "voice_start_time"; });
    if (cmd.guild_id == 0 || !fields_ok) {
        return invalid();
    }
    return write_frame<request_channel_info>(out, [&](json_writer& w) {
        w.begin_object().key("guild_id");
        write_snowflake(w, cmd.guild_id);
        w.key("fields").begin_array();
        for (const std::string& f : cmd.fields) {
            w.string_value(f);
        }
        w.end_array().end_object();
    });
}

std::error_code encode(const command& cmd, std::string& out) {
    return std::visit([&out](const auto& c) { return encode(c, out); }, cmd);
}

opcode opcode_of(const command& cmd) {
    return std::visit([](const auto& c) noexcept { return std::remove_cvref_t<decltype(c)>::op; },
                      cmd);
}

} // namespace shardgate::gateway
