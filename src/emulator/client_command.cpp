#include "shardgate/emulator/client_command.hpp"

#include "json_read.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace shardgate::emulator {
namespace {

using detail::for_each_element;
using detail::for_each_member;
using detail::is_null;
using detail::is_optional_string;
namespace od = detail::od;
using detail::read_snowflake;
using detail::read_u32;
using gateway::close_code;
using gateway::opcode;

constexpr std::size_t max_nonce_bytes = 32; // longer nonces are dropped, as Discord documents
constexpr std::uint64_t max_activity_type = 5;
constexpr std::uint32_t min_large_threshold = 50;
constexpr std::uint32_t max_large_threshold = 250;

/// A malformed `d` for a known opcode: Discord answers 4001 ("invalid payload").
protocol_violation bad_payload(opcode op, std::string_view reason) {
    return {close_code::unknown_opcode, reason, op};
}

// Presence
// -------------------------------------------------------------------------------------------------

// One activity of a presence: `name` and `type` (0..5) required, `state` and `url` optional.
bool read_activity(od::value value) {
    bool have_name = false;
    bool have_type = false;
    const bool ok = for_each_member(value, [&](std::string_view key, od::value v) {
        if (key == "name") {
            std::string_view name;
            have_name = v.get_string().get(name) == simdjson::SUCCESS;
            return have_name;
        }
        if (key == "type") {
            std::uint64_t type = 0;
            have_type = v.get_uint64().get(type) == simdjson::SUCCESS && type <= max_activity_type;
            return have_type;
        }
        if (key == "state" || key == "url") {
            return is_optional_string(v);
        }
        return true;
    });
    return ok && have_name && have_type;
}

// A member of an Update Presence object (op 3's `d`, Identify's `presence`): `status` in the
// documented set and `activities` an array of activities are required; `since` (integer or null)
// and `afk` (boolean) are checked when present.
bool read_presence_member(bool& have_status, bool& have_activities, std::string_view key,
                          od::value v) {
    if (key == "status") {
        std::string_view status;
        have_status = v.get_string().get(status) == simdjson::SUCCESS &&
                      (status == "online" || status == "dnd" || status == "idle" ||
                       status == "invisible" || status == "offline");
        return have_status;
    }
    if (key == "activities") {
        have_activities = for_each_element(v, [](od::value a) { return read_activity(a); });
        return have_activities;
    }
    if (key == "since") {
        std::int64_t since = 0;
        return is_null(v) || v.get_int64().get(since) == simdjson::SUCCESS;
    }
    if (key == "afk") {
        bool afk = false;
        return v.get_bool().get(afk) == simdjson::SUCCESS;
    }
    return true;
}

bool read_presence_value(od::value value) {
    bool have_status = false;
    bool have_activities = false;
    const bool ok = for_each_member(value, [&](std::string_view key, od::value v) {
        return read_presence_member(have_status, have_activities, key, v);
    });
    return ok && have_status && have_activities;
}

// Identify
// -------------------------------------------------------------------------------------------------

struct identify_fields {
    identify_command command;
    bool have_token = false;
    bool have_properties = false;
    bool have_intents = false;
};

// `[shard_id, num_shards]` with 0 <= shard_id < num_shards; anything else is an invalid shard.
void read_shard(od::value value, identify_command& c) {
    std::array<std::uint64_t, 2> parts{};
    std::size_t count = 0;
    const bool ok = for_each_element(value, [&](od::value e) {
        if (count >= parts.size()) {
            ++count;
            return false;
        }
        return e.get_uint64().get(parts.at(count++)) == simdjson::SUCCESS;
    });
    c.shard_valid =
        ok && count == 2 && parts[1] >= 1 && parts[1] <= UINT32_MAX && parts[0] < parts[1];
    if (c.shard_valid) {
        c.shard_id = static_cast<std::uint32_t>(parts[0]);
        c.num_shards = static_cast<std::uint32_t>(parts[1]);
    }
}

bool read_identify_field(identify_fields& f, std::string_view key, od::value v) {
    auto& c = f.command;
    if (key == "token") {
        f.have_token = v.get_string().get(c.token) == simdjson::SUCCESS;
        return f.have_token;
    }
    if (key == "properties") {
        od::object properties;
        f.have_properties = v.get_object().get(properties) == simdjson::SUCCESS;
        return f.have_properties;
    }
    if (key == "intents") {
        f.have_intents = v.get_uint64().get(c.intents) == simdjson::SUCCESS;
        return f.have_intents;
    }
    if (key == "shard") {
        if (!is_null(v)) {
            c.sharded = true;
            read_shard(v, c);
        }
        return true;
    }
    if (key == "large_threshold") {
        return read_u32(v, c.large_threshold) && c.large_threshold >= min_large_threshold &&
               c.large_threshold <= max_large_threshold;
    }
    if (key == "compress") {
        bool compress = false;
        return v.get_bool().get(compress) == simdjson::SUCCESS;
    }
    if (key == "presence") {
        return is_null(v) || read_presence_value(v);
    }
    return true; // unknown keys (e.g. `capabilities`) are ignored, as Discord does
}

// Request Guild Members
// -------------------------------------------------------------------------------------------------

struct member_fields {
    member_request request;
    bool have_guild = false;
    bool have_limit = false;
    bool have_user_ids = false;
};

bool read_member_field(member_fields& f, std::string_view key, od::value v) {
    auto& r = f.request;
    if (key == "guild_id") {
        f.have_guild = read_snowflake(v, r.guild_id);
        return f.have_guild;
    }
    if (key == "query") {
        std::string_view query;
        if (v.get_string().get(query) != simdjson::SUCCESS) {
            return false;
        }
        r.query = std::string(query);
        return true;
    }
    if (key == "limit") {
        f.have_limit = read_u32(v, r.limit);
        return f.have_limit;
    }
    if (key == "presences") {
        return v.get_bool().get(r.presences) == simdjson::SUCCESS;
    }
    if (key == "user_ids") {
        f.have_user_ids = true;
        od::json_type type{};
        if (v.type().get(type) != simdjson::SUCCESS) {
            return false;
        }
        // One snowflake or an array of them.
        if (type != od::json_type::array) {
            r.user_ids.push_back(0);
            return read_snowflake(v, r.user_ids.back());
        }
        return for_each_element(v, [&](od::value e) {
            r.user_ids.push_back(0);
            return read_snowflake(e, r.user_ids.back());
        });
    }
    if (key == "nonce") {
        std::string_view nonce;
        if (v.get_string().get(nonce) != simdjson::SUCCESS) {
            return false;
        }
        if (nonce.size() <= max_nonce_bytes) {
            r.nonce = std::string(nonce); // a longer nonce is dropped silently, as documented
        }
        return true;
    }
    return true;
}

} // namespace

gateway::opcode opcode_of(const client_command& command) {
    struct visitor {
        opcode operator()(const heartbeat_command&) const { return opcode::heartbeat; }
        opcode operator()(const identify_command&) const { return opcode::identify; }
        opcode operator()(const presence_update_command&) const { return opcode::presence_update; }
        opcode operator()(const voice_state_update_command&) const {
            return opcode::voice_state_update;
        }
        opcode operator()(const resume_command&) const { return opcode::resume; }
        opcode operator()(const request_guild_members_command&) const {
            return opcode::request_guild_members;
        }
        opcode operator()(const request_soundboard_sounds_command&) const {
            return opcode::request_soundboard_sounds;
        }
        opcode operator()(const request_channel_info_command&) const {
            return opcode::request_channel_info;
        }
    };
    return std::visit(visitor{}, command);
}

simdjson::simdjson_result<od::document> client_command_reader::parse_body(std::string_view d) {
    return detail::iterate_padded(parser_, body_buffer_, d);
}

bool client_command_reader::is_json_object_or_array(std::string_view json) {
    od::document doc;
    return parse_body(json).get(doc) == simdjson::SUCCESS &&
           detail::check_any_document(doc, detail::max_frame_json_depth) ==
               detail::document_fault::none;
}

read_result client_command_reader::read(std::string_view frame) {
    if (frame.size() > max_frame_bytes) {
        return protocol_violation{close_code::decode_error, "payload over 4096 bytes", {}};
    }
    od::document doc;
    if (detail::iterate_padded(parser_, frame_buffer_, frame).get(doc) != simdjson::SUCCESS ||
        !detail::validate_object_document(doc, detail::max_frame_json_depth)) {
        return protocol_violation{close_code::decode_error, "payload is not a JSON object", {}};
    }
    doc.rewind();
    std::optional<std::int64_t> op;
    std::string_view d = "null";
    const bool envelope_ok = for_each_member(doc, [&](std::string_view key, od::value v) {
        if (key == "op") {
            std::int64_t value = 0;
            if (v.get_int64().get(value) != simdjson::SUCCESS) {
                return false;
            }
            op = value;
        } else if (key == "d") {
            return detail::raw_of(v, d);
        }
        return true;
    });
    if (!envelope_ok || !op) {
        return protocol_violation{close_code::unknown_opcode, "missing or non-integer op", {}};
    }
    // Heartbeat goes both ways; every other opcode the client receives is one it must not send.
    const auto known = gateway::to_opcode(*op);
    if (!known || (gateway::client_receives(*known) && *known != opcode::heartbeat)) {
        return protocol_violation{close_code::unknown_opcode, "unknown opcode", {}};
    }
    // `d` points into frame_buffer_, which stays untouched until the next frame.
    return read_d(*known, d);
}

read_result client_command_reader::read_d(opcode op, std::string_view d) {
    od::document doc;
    switch (op) {
    case opcode::heartbeat: {
        heartbeat_command c;
        if (d != "null") {
            std::uint64_t seq = 0;
            const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), seq);
            if (ec != std::errc{} || ptr != d.data() + d.size()) {
                return bad_payload(op, "heartbeat d must be an integer or null");
            }
            c.seq = seq;
        }
        return c;
    }
    case opcode::identify: {
        identify_fields f;
        if (parse_body(d).get(doc) != simdjson::SUCCESS ||
            !for_each_member(doc, [&](std::string_view key,
                                      od::value v) { return read_identify_field(f, key, v); }) ||
            !f.have_token || !f.have_properties || !f.have_intents) {
            return bad_payload(op, "malformed identify");
        }
        return f.command;
    }
    case opcode::resume: {
        resume_command c;
        bool have_token = false;
        bool have_session = false;
        bool have_seq = false;
        const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                        for_each_member(doc, [&](std::string_view key, od::value v) {
                            if (key == "token") {
                                have_token = v.get_string().get(c.token) == simdjson::SUCCESS;
                                return have_token;
                            }
                            if (key == "session_id") {
                                have_session =
                                    v.get_string().get(c.session_id) == simdjson::SUCCESS;
                                return have_session;
                            }
                            if (key == "seq") {
                                have_seq = v.get_uint64().get(c.seq) == simdjson::SUCCESS;
                                return have_seq;
                            }
                            return true;
                        });
        if (!ok || !have_token || !have_session || !have_seq) {
            return bad_payload(op, "malformed resume");
        }
        return c;
    }
    case opcode::presence_update: {
        bool have_status = false;
        bool have_activities = false;
        if (parse_body(d).get(doc) != simdjson::SUCCESS ||
            !for_each_member(doc,
                             [&](std::string_view key, od::value v) {
                                 return read_presence_member(have_status, have_activities, key, v);
                             }) ||
            !have_status || !have_activities) {
            return bad_payload(op, "malformed presence update");
        }
        return presence_update_command{};
    }
    case opcode::voice_state_update: {
        voice_state_update_command c;
        bool have_guild = false;
        bool have_channel = false;
        bool have_mute = false;
        bool have_deaf = false;
        const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                        for_each_member(doc, [&](std::string_view key, od::value v) {
                            if (key == "guild_id") {
                                have_guild = read_snowflake(v, c.guild_id);
                                return have_guild;
                            }
                            if (key == "channel_id") {
                                have_channel = true;
                                if (is_null(v)) {
                                    return true;
                                }
                                c.channel_id = 0;
                                return read_snowflake(v, *c.channel_id);
                            }
                            if (key == "self_mute") {
                                have_mute = v.get_bool().get(c.self_mute) == simdjson::SUCCESS;
                                return have_mute;
                            }
                            if (key == "self_deaf") {
                                have_deaf = v.get_bool().get(c.self_deaf) == simdjson::SUCCESS;
                                return have_deaf;
                            }
                            return true;
                        });
        if (!ok || !have_guild || !have_channel || !have_mute || !have_deaf) {
            return bad_payload(op, "malformed voice state update");
        }
        return c;
    }
    case opcode::request_guild_members: {
        member_fields f;
        if (parse_body(d).get(doc) != simdjson::SUCCESS ||
            !for_each_member(doc, [&](std::string_view key, od::value v) {
                return read_member_field(f, key, v);
            })) {
            return bad_payload(op, "malformed request guild members");
        }
        const bool by_query = f.request.query.has_value();
        if (!f.have_guild || by_query == f.have_user_ids || (by_query && !f.have_limit)) {
            return bad_payload(op,
                               "request guild members needs guild_id and one of query or user_ids");
        }
        return request_guild_members_command{std::move(f.request)};
    }
    case opcode::request_soundboard_sounds: {
        request_soundboard_sounds_command c;
        bool have_ids = false;
        const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                        for_each_member(doc, [&](std::string_view key, od::value v) {
                            if (key != "guild_ids") {
                                return true;
                            }
                            have_ids = true;
                            return for_each_element(v, [&](od::value e) {
                                c.guild_ids.push_back(0);
                                return read_snowflake(e, c.guild_ids.back());
                            });
                        });
        if (!ok || !have_ids || c.guild_ids.empty()) {
            return bad_payload(op, "malformed request soundboard sounds");
        }
        return c;
    }
    case opcode::request_channel_info: {
        request_channel_info_command c;
        bool have_guild = false;
        bool have_fields = false;
        const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                        for_each_member(doc, [&](std::string_view key, od::value v) {
                            if (key == "guild_id") {
                                have_guild = read_snowflake(v, c.guild_id);
                                return have_guild;
                            }
                            if (key == "fields") {
                                have_fields = true;
                                return for_each_element(v, [&](od::value e) {
                                    std::string_view name;
                                    if (e.get_string().get(name) != simdjson::SUCCESS ||
                                        (name != "status" && name != "voice_start_time")) {
                                        return false; // the only two field names Discord documents
                                    }
                                    c.fields.emplace_back(name);
                                    return true;
                                });
                            }
                            return true;
                        });
        if (!ok || !have_guild || !have_fields || c.fields.empty()) {
            return bad_payload(op, "malformed request channel info");
        }
        return c;
    }
    case opcode::dispatch:
    case opcode::reconnect:
    case opcode::invalid_session:
    case opcode::hello:
    case opcode::heartbeat_ack: break; // refused by read() already
    }
    return protocol_violation{close_code::unknown_opcode, "unknown opcode", {}};
}

} // namespace shardgate::emulator
