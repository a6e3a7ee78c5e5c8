// User commands from JSON: simdjson DOM over a padded, thread-local copy, then `encode`'s own
// validation so that the two directions cannot disagree. A frame is at most 4 KiB, so the whole
// tree is cheap, and unlike On-Demand it takes members in any order and checks types up front.
#include "shardgate/gateway/command_decoder.hpp"

#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/opcode.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <simdjson.h>
#include <string>
#include <utility>
#include <vector>

namespace shardgate::gateway {
namespace {

using simdjson::dom::element;

/// The padded copy of the frame, the parser and the re-encoding scratch, one per thread, reused.
struct decoder_state {
    simdjson::dom::parser parser;
    std::string buffer;
    std::string encoded;
};

decoder_state& thread_state() {
    thread_local decoder_state s;
    return s;
}

// Sets `why` to "<path>: <what>" and returns false, so that a reader can `return fail(...)`.
bool fail(std::string& why, std::string_view path, std::string_view what) {
    why.assign(path).append(": ").append(what);
    return false;
}

bool missing(std::string& why, std::string_view path) {
    return fail(why, path, "missing");
}

std::string indexed(std::string_view path, std::size_t i) {
    return std::string(path).append("[").append(std::to_string(i)).append("]");
}

std::string member(std::string_view path, std::string_view key) {
    return std::string(path).append(".").append(key);
}

// Ids go out as strings (see commands.cpp), but a sender may well write them as numbers. Zero is
// never an id, and every snowflake of a user command is one.
bool read_snowflake(element v, snowflake& out, std::string_view path, std::string& why) {
    constexpr std::string_view expected = "expected a snowflake (a string of digits or an integer)";
    std::string_view text;
    if (v.get_string().get(text) == simdjson::SUCCESS) {
        const char* const end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, out);
        if (text.empty() || ptr != end || ec == std::errc::invalid_argument) {
            return fail(why, path, expected);
        }
        if (ec == std::errc::result_out_of_range) {
            return fail(why, path, "snowflake does not fit in 64 bits");
        }
    } else if (v.get_uint64().get(out) != simdjson::SUCCESS) {
        return fail(why, path, expected);
    }
    if (out == 0) {
        return fail(why, path, "0 is not a valid id");
    }
    return true;
}

bool read_snowflakes(element v, std::vector<snowflake>& out, std::string_view path,
                     std::string& why) {
    simdjson::dom::array array;
    if (v.get_array().get(array) != simdjson::SUCCESS) {
        return fail(why, path, "expected an array of snowflakes");
    }
    out.clear();
    std::size_t i = 0;
    for (const element item : array) {
        if (!read_snowflake(item, out.emplace_back(), indexed(path, i), why)) {
            return false;
        }
        ++i;
    }
    return true;
}

bool read_bool(element v, bool& out, std::string_view path, std::string& why) {
    return v.get_bool().get(out) == simdjson::SUCCESS || fail(why, path, "expected true or false");
}

// An optional flag: `null` is the same as leaving the member out, which is false.
bool read_optional_flag(element v, bool& out, std::string_view path, std::string& why) {
    if (v.is_null()) {
        out = false;
        return true;
    }
    return read_bool(v, out, path, why);
}

bool read_string(element v, std::string& out, std::string_view path, std::string& why) {
    std::string_view text;
    if (v.get_string().get(text) != simdjson::SUCCESS) {
        return fail(why, path, "expected a string");
    }
    out.assign(text);
    return true;
}

// An optional string: `null` is the same as leaving the member out.
bool read_optional_string(element v, std::optional<std::string>& out, std::string_view path,
                          std::string& why) {
    if (v.is_null()) {
        out.reset();
        return true;
    }
    return read_string(v, out.emplace(), path, why);
}

bool read_strings(element v, std::vector<std::string>& out, std::string_view path,
                  std::string& why) {
    simdjson::dom::array array;
    if (v.get_array().get(array) != simdjson::SUCCESS) {
        return fail(why, path, "expected an array of strings");
    }
    out.clear();
    std::size_t i = 0;
    for (const element item : array) {
        if (!read_string(item, out.emplace_back(), indexed(path, i), why)) {
            return false;
        }
        ++i;
    }
    return true;
}

bool read_object(element v, simdjson::dom::object& out, std::string_view path, std::string& why) {
    return v.get_object().get(out) == simdjson::SUCCESS || fail(why, path, "expected an object");
}

std::optional<presence_status> to_status(std::string_view name) noexcept {
    if (name == "online") {
        return presence_status::online;
    }
    if (name == "dnd") {
        return presence_status::dnd;
    }
    if (name == "idle") {
        return presence_status::idle;
    }
    if (name == "invisible") {
        return presence_status::invisible;
    }
    if (name == "offline") {
        return presence_status::offline;
    }
    return std::nullopt;
}

bool read_activity_type(element v, activity_type& out, std::string_view path, std::string& why) {
    std::int64_t type = 0;
    if (v.get_int64().get(type) != simdjson::SUCCESS ||
        type < static_cast<int>(activity_type::playing) ||
        type > static_cast<int>(activity_type::competing)) {
        return fail(why, path, "expected an activity type, an integer 0..5");
    }
    out = static_cast<activity_type>(static_cast<int>(type));
    return true;
}

bool read_activity(element v, activity& out, std::string_view path, std::string& why) {
    simdjson::dom::object object;
    if (!read_object(v, object, path, why)) {
        return false;
    }
    bool have_name = false;
    bool have_type = false;
    for (const auto [key, value] : object) {
        bool ok = true;
        if (key == "name") {
            have_name = true;
            ok = read_string(value, out.name, member(path, key), why);
        } else if (key == "type") {
            have_type = true;
            ok = read_activity_type(value, out.type, member(path, key), why);
        } else if (key == "state") {
            ok = read_optional_string(value, out.state, member(path, key), why);
        } else if (key == "url") {
            ok = read_optional_string(value, out.url, member(path, key), why);
        }
        if (!ok) {
            return false;
        }
    }
    if (!have_name) {
        return missing(why, member(path, "name"));
    }
    return have_type || missing(why, member(path, "type"));
}

bool read_activities(element v, std::vector<activity>& out, std::string& why) {
    simdjson::dom::array array;
    if (v.get_array().get(array) != simdjson::SUCCESS) {
        return fail(why, "d.activities", "expected an array");
    }
    out.clear();
    std::size_t i = 0;
    for (const element item : array) {
        if (!read_activity(item, out.emplace_back(), indexed("d.activities", i), why)) {
            return false;
        }
        ++i;
    }
    return true;
}

bool read_status(element v, presence_status& out, std::string& why) {
    std::string_view name;
    std::optional<presence_status> status;
    if (v.get_string().get(name) == simdjson::SUCCESS) {
        status = to_status(name);
    }
    if (!status) {
        return fail(why, "d.status",
                    R"(expected "online", "dnd", "idle", "invisible" or "offline")");
    }
    out = *status;
    return true;
}

// An optional count: `null` is the same as leaving the member out.
bool read_limit(element v, std::optional<std::uint32_t>& out, std::string& why) {
    std::uint64_t limit = 0;
    if (v.is_null()) {
        out.reset();
    } else if (v.get_uint64().get(limit) != simdjson::SUCCESS ||
               limit > std::numeric_limits<std::uint32_t>::max()) {
        return fail(why, "d.limit", "expected a non-negative integer");
    } else {
        out = static_cast<std::uint32_t>(limit);
    }
    return true;
}

// Discord takes one snowflake or an array of them.
bool read_user_ids(element v, std::vector<snowflake>& out, std::string& why) {
    if (v.is_null()) {
        out.clear();
        return true;
    }
    if (v.is_array()) {
        return read_snowflakes(v, out, "d.user_ids", why);
    }
    out.assign(1, 0);
    return read_snowflake(v, out.front(), "d.user_ids", why);
}

bool read_d(simdjson::dom::object d, update_presence& out, std::string& why) {
    bool have_since = false;
    bool have_activities = false;
    bool have_status = false;
    bool have_afk = false;
    for (const auto [key, value] : d) {
        bool ok = true;
        if (key == "since") {
            have_since = true;
            if (value.is_null()) {
                out.since.reset();
            } else if (value.get_int64().get(out.since.emplace()) != simdjson::SUCCESS) {
                ok = fail(why, "d.since", "expected an integer (Unix ms) or null");
            }
        } else if (key == "activities") {
            have_activities = true;
            ok = read_activities(value, out.activities, why);
        } else if (key == "status") {
            have_status = true;
            ok = read_status(value, out.status, why);
        } else if (key == "afk") {
            have_afk = true;
            ok = read_bool(value, out.afk, "d.afk", why);
        }
        if (!ok) {
            return false;
        }
    }
    // Discord requires all four, `since` as null when not idle.
    if (!have_since) {
        return fail(why, "d.since", "missing (null when not idle)");
    }
    if (!have_activities) {
        return fail(why, "d.activities", "missing (may be [])");
    }
    if (!have_status) {
        return missing(why, "d.status");
    }
    return have_afk || missing(why, "d.afk");
}

bool read_d(simdjson::dom::object d, update_voice_state& out, std::string& why) {
    bool have_guild = false;
    bool have_channel = false;
    bool have_mute = false;
    bool have_deaf = false;
    for (const auto [key, value] : d) {
        bool ok = true;
        if (key == "guild_id") {
            have_guild = true;
            ok = read_snowflake(value, out.guild_id, "d.guild_id", why);
        } else if (key == "channel_id") {
            have_channel = true;
            if (value.is_null()) {
                out.channel_id.reset();
            } else {
                ok = read_snowflake(value, out.channel_id.emplace(), "d.channel_id", why);
            }
        } else if (key == "self_mute") {
            have_mute = true;
            ok = read_bool(value, out.self_mute, "d.self_mute", why);
        } else if (key == "self_deaf") {
            have_deaf = true;
            ok = read_bool(value, out.self_deaf, "d.self_deaf", why);
        }
        if (!ok) {
            return false;
        }
    }
    if (!have_guild) {
        return missing(why, "d.guild_id");
    }
    if (!have_channel) {
        return fail(why, "d.channel_id", "missing (null to leave)");
    }
    if (!have_mute) {
        return missing(why, "d.self_mute");
    }
    return have_deaf || missing(why, "d.self_deaf");
}

bool read_d(simdjson::dom::object d, request_guild_members& out, std::string& why) {
    bool have_guild = false;
    for (const auto [key, value] : d) {
        bool ok = true;
        if (key == "guild_id") {
            have_guild = true;
            ok = read_snowflake(value, out.guild_id, "d.guild_id", why);
        } else if (key == "query") {
            ok = read_optional_string(value, out.query, "d.query", why);
        } else if (key == "limit") {
            ok = read_limit(value, out.limit, why);
        } else if (key == "presences") {
            ok = read_optional_flag(value, out.presences, "d.presences", why);
        } else if (key == "user_ids") {
            ok = read_user_ids(value, out.user_ids, why);
        } else if (key == "nonce") {
            ok = read_optional_string(value, out.nonce, "d.nonce", why);
        }
        if (!ok) {
            return false;
        }
    }
    return have_guild || missing(why, "d.guild_id");
}

bool read_d(simdjson::dom::object d, request_soundboard_sounds& out, std::string& why) {
    bool have_guilds = false;
    for (const auto [key, value] : d) {
        if (key == "guild_ids") {
            have_guilds = true;
            if (!read_snowflakes(value, out.guild_ids, "d.guild_ids", why)) {
                return false;
            }
        }
    }
    return have_guilds || missing(why, "d.guild_ids");
}

bool read_d(simdjson::dom::object d, request_channel_info& out, std::string& why) {
    bool have_guild = false;
    bool have_fields = false;
    for (const auto [key, value] : d) {
        bool ok = true;
        if (key == "guild_id") {
            have_guild = true;
            ok = read_snowflake(value, out.guild_id, "d.guild_id", why);
        } else if (key == "fields") {
            have_fields = true;
            ok = read_strings(value, out.fields, "d.fields", why);
        }
        if (!ok) {
            return false;
        }
    }
    if (!have_guild) {
        return missing(why, "d.guild_id");
    }
    return have_fields || missing(why, "d.fields");
}

// What `encode` checks beyond the shape, in words, for when it refuses a decoded command.
std::string_view rule_of(const update_presence& /*cmd*/) noexcept {
    return "d: not a valid presence";
}
std::string_view rule_of(const update_voice_state& /*cmd*/) noexcept {
    return "d: not a valid voice state";
}
std::string_view rule_of(const request_guild_members& /*cmd*/) noexcept {
    return "d: needs exactly one of query and a non-empty user_ids, limit with query, limit at "
           "most 100, at most 100 user_ids and a nonce of at most 32 bytes";
}
std::string_view rule_of(const request_soundboard_sounds& /*cmd*/) noexcept {
    return "d.guild_ids: needs at least one guild id";
}
std::string_view rule_of(const request_channel_info& /*cmd*/) noexcept {
    return R"(d.fields: needs one or more of "status" and "voice_start_time")";
}

// Reads `d` as a `Cmd`, then checks it with `encode`.
template <class Cmd>
std::error_code decode_as(const std::optional<element>& d, command& out, std::string& why,
                          std::string& scratch) {
    if (!d) {
        missing(why, "d");
        return error::invalid_command;
    }
    simdjson::dom::object object;
    if (!read_object(*d, object, "d", why)) {
        return error::invalid_command;
    }
    Cmd cmd;
    if (!read_d(object, cmd, why)) {
        return error::invalid_command;
    }
    if (const std::error_code ec = encode(cmd, scratch)) {
        if (ec == error::payload_too_large) {
            why = "the command encodes to more than " + std::to_string(max_payload_bytes) +
                  " bytes, Discord's limit";
        } else {
            why = rule_of(cmd);
        }
        return ec;
    }
    out = std::move(cmd);
    return {};
}

std::string op_text(std::uint64_t op) {
    std::string text = std::to_string(op);
    if (op <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        if (const auto known = to_opcode(static_cast<std::int64_t>(op))) {
            text.append(" (").append(info(*known).name).append(")");
        }
    }
    return text;
}

} // namespace

std::error_code decode_command(std::string_view frame, command& out, std::string& why) {
    why.clear();
    if (frame.size() > max_payload_bytes) {
        why = "the frame is " + std::to_string(frame.size()) + " bytes, over Discord's limit of " +
              std::to_string(max_payload_bytes);
        return error::payload_too_large;
    }
    auto& state = thread_state();
    state.buffer.assign(frame);
    state.buffer.append(simdjson::SIMDJSON_PADDING, '\0');
    element root;
    if (const auto err = state.parser.parse(state.buffer.data(), frame.size(), false).get(root)) {
        why = std::string("not valid JSON: ") + simdjson::error_message(err);
        return error::invalid_command;
    }
    simdjson::dom::object envelope;
    if (root.get_object().get(envelope) != simdjson::SUCCESS) {
        why = R"(expected a JSON object {"op":N,"d":{...}})";
        return error::invalid_command;
    }
    std::optional<std::uint64_t> op;
    std::optional<element> d;
    for (const auto [key, value] : envelope) {
        if (key == "op") {
            if (value.get_uint64().get(op.emplace()) != simdjson::SUCCESS) {
                fail(why, "op", "expected a non-negative integer");
                return error::invalid_command;
            }
        } else if (key == "d") {
            d = value;
        } // `s` and `t` (null in a client frame) and anything else are ignored.
    }
    if (!op) {
        missing(why, "op");
        return error::invalid_command;
    }
    switch (*op) {
    case static_cast<std::uint64_t>(opcode::presence_update):
        return decode_as<update_presence>(d, out, why, state.encoded);
    case static_cast<std::uint64_t>(opcode::voice_state_update):
        return decode_as<update_voice_state>(d, out, why, state.encoded);
    case static_cast<std::uint64_t>(opcode::request_guild_members):
        return decode_as<request_guild_members>(d, out, why, state.encoded);
    case static_cast<std::uint64_t>(opcode::request_soundboard_sounds):
        return decode_as<request_soundboard_sounds>(d, out, why, state.encoded);
    case static_cast<std::uint64_t>(opcode::request_channel_info):
        return decode_as<request_channel_info>(d, out, why, state.encoded);
    case static_cast<std::uint64_t>(opcode::heartbeat):
    case static_cast<std::uint64_t>(opcode::identify):
    case static_cast<std::uint64_t>(opcode::resume):
        fail(why, "op", op_text(*op) + " is sent by the shard itself, not accepted as a command");
        return error::invalid_command;
    default:
        fail(why, "op", op_text(*op) + " is not a user command (3, 4, 8, 31 or 43)");
        return error::invalid_command;
    }
}

} // namespace shardgate::gateway
