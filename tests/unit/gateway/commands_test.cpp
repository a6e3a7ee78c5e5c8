#include "shardgate/gateway/commands.hpp"

#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/gateway/error.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <limits>
#include <simdjson.h>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace gw = shardgate::gateway;
using gw::error;

// Encodes `cmd`, expecting success, and returns the frame.
template <class Cmd> std::string encoded(const Cmd& cmd) {
    std::string out;
    const std::error_code ec = gw::encode(cmd, out);
    EXPECT_FALSE(ec) << ec.message();
    return out;
}

template <class Cmd> std::error_code encode_error(const Cmd& cmd) {
    std::string out = "stale";
    const std::error_code ec = gw::encode(cmd, out);
    if (ec) {
        EXPECT_TRUE(out.empty()) << "a failed encode must leave no frame behind";
    }
    return ec;
}

// Parses a frame as JSON; the element lives as long as `parser` is not reused.
simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& frame) {
    simdjson::dom::element root;
    const auto err = parser.parse(frame).get(root);
    EXPECT_EQ(err, simdjson::SUCCESS) << frame;
    return root;
}

gw::update_presence presence_named(std::string name) {
    gw::update_presence p;
    p.activities.push_back(gw::activity{std::move(name), gw::activity_type::playing, {}, {}});
    return p;
}

gw::identify docs_identify() {
    gw::identify id;
    id.token = gw::secret("my_token");
    id.properties = {"linux", "disco", "disco"};
    id.compress = true;
    id.large_threshold = 250;
    id.shard = gw::shard_id{0, 1};
    id.presence = presence_named("Cards Against Humanity");
    id.presence->status = gw::presence_status::dnd;
    id.presence->since = 91879201;
    id.intents = 5;
    return id;
}

// --- json_writer ------------------------------------------------------------------------------

TEST(json_writer, commas_between_members_and_elements) {
    std::string out;
    gw::detail::json_writer w(out);
    w.begin_object().key("a").begin_array();
    w.uint_value(1).int_value(-2).bool_value(true).bool_value(false).null_value().string_value("x");
    w.begin_object().end_object().raw_value(R"({"r":1})").end_array();
    w.key("b").begin_object().key("c").begin_array().end_array().end_object().end_object();
    EXPECT_EQ(out, R"({"a":[1,-2,true,false,null,"x",{},{"r":1}],"b":{"c":[]}})");
    EXPECT_TRUE(w.valid());
}

TEST(json_writer, integer_extremes) {
    std::string out;
    gw::detail::json_writer w(out);
    w.begin_array()
        .uint_value(std::numeric_limits<std::uint64_t>::max())
        .int_value(std::numeric_limits<std::int64_t>::min())
        .uint_value(0)
        .end_array();
    EXPECT_EQ(out, "[18446744073709551615,-9223372036854775808,0]");
}

TEST(json_writer, escapes_quote_backslash_and_control_chars) {
    std::string out;
    gw::detail::json_writer w(out);
    constexpr char text[] = "a\"b\\c\nd\te\x01\x1f\x7f"
                            "f\0g"; // NOLINT: embedded NUL
    w.string_value(std::string_view(text, sizeof text - 1));
    EXPECT_EQ(out, R"("a\"b\\c\u000ad\u0009e\u0001\u001f)"
                   "\x7f"
                   R"(f\u0000g")");
    EXPECT_TRUE(w.valid());
}

TEST(json_writer, escapes_keys_too) {
    std::string out;
    gw::detail::json_writer w(out);
    w.begin_object().key("k\"").uint_value(1).end_object();
    EXPECT_EQ(out, R"({"k\"":1})");
}

TEST(json_writer, passes_utf8_through_and_flags_invalid_utf8) {
    std::string out;
    gw::detail::json_writer w(out);
    w.string_value("caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x8e\xb4");
    EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x8e\xb4\"");
    EXPECT_TRUE(w.valid());
    w.string_value("\xff");
    EXPECT_FALSE(w.valid());
}

TEST(json_writer, appends_to_existing_text) {
    std::string out = "prefix:";
    gw::detail::json_writer w(out);
    w.begin_array().end_array();
    EXPECT_EQ(out, "prefix:[]");
}

// --- exact frames -----------------------------------------------------------------------------

TEST(commands, heartbeat_is_null_without_seq) {
    EXPECT_EQ(encoded(gw::heartbeat{}), R"({"op":1,"d":null})");
}

TEST(commands, heartbeat_carries_seq) {
    EXPECT_EQ(encoded(gw::heartbeat{251}), R"({"op":1,"d":251})");
}

TEST(commands, identify_matches_docs_example) {
    EXPECT_EQ(
        encoded(docs_identify()),
        R"({"op":2,"d":{"token":"my_token",)"
        R"("properties":{"os":"linux","browser":"disco","device":"disco"},)"
        R"("compress":true,"large_threshold":250,"shard":[0,1],)"
        R"("presence":{"since":91879201,"activities":[{"name":"Cards Against Humanity","type":0}],)"
        R"("status":"dnd","afk":false},"intents":5}})");
}

TEST(commands, identify_defaults_omit_shard_and_presence) {
    gw::identify id;
    id.token = gw::secret("t");
    id.intents = 53608447;
    EXPECT_EQ(encoded(id),
              R"({"op":2,"d":{"token":"t",)"
              R"("properties":{"os":"linux","browser":"shardgate","device":"shardgate"},)"
              R"("compress":false,"large_threshold":50,"intents":53608447}})");
}

TEST(commands, resume_exact) {
    const gw::resume r{gw::secret("my_token"), "session_id_i_stored", 1337};
    EXPECT_EQ(encoded(r),
              R"({"op":6,"d":{"token":"my_token","session_id":"session_id_i_stored","seq":1337}})");
}

TEST(commands, presence_matches_docs_example) {
    gw::update_presence p = presence_named("Save the Oxford Comma");
    p.since = 91879201;
    EXPECT_EQ(encoded(p), R"({"op":3,"d":{"since":91879201,)"
                          R"("activities":[{"name":"Save the Oxford Comma","type":0}],)"
                          R"("status":"online","afk":false}})");
}

TEST(commands, presence_since_is_null_when_unset) {
    gw::update_presence p;
    p.status = gw::presence_status::idle;
    p.afk = true;
    EXPECT_EQ(encoded(p),
              R"({"op":3,"d":{"since":null,"activities":[],"status":"idle","afk":true}})");
}

TEST(commands, presence_activity_optional_fields) {
    gw::update_presence p;
    p.activities.push_back({"Custom Status", gw::activity_type::custom, "brb", {}});
    p.activities.push_back({"live", gw::activity_type::streaming, {}, "https://twitch.tv/someone"});
    p.activities.push_back({"x", gw::activity_type::competing, "s", "u"});
    EXPECT_EQ(encoded(p), R"({"op":3,"d":{"since":null,"activities":[)"
                          R"({"name":"Custom Status","type":4,"state":"brb"},)"
                          R"({"name":"live","type":1,"url":"https://twitch.tv/someone"},)"
                          R"({"name":"x","type":5,"state":"s","url":"u"}],)"
                          R"("status":"online","afk":false}})");
}

TEST(commands, presence_status_names) {
    const std::vector<std::pair<gw::presence_status, std::string>> names = {
        {gw::presence_status::online, "online"},   {gw::presence_status::dnd, "dnd"},
        {gw::presence_status::idle, "idle"},       {gw::presence_status::invisible, "invisible"},
        {gw::presence_status::offline, "offline"},
    };
    for (const auto& [status, name] : names) {
        gw::update_presence p;
        p.status = status;
        EXPECT_NE(encoded(p).find(R"("status":")" + name + '"'), std::string::npos) << name;
    }
}

TEST(commands, voice_state_join_and_leave) {
    gw::update_voice_state v{41771983423143937, 127121515262115840, false, true};
    EXPECT_EQ(encoded(v),
              R"({"op":4,"d":{"guild_id":"41771983423143937",)"
              R"("channel_id":"127121515262115840","self_mute":false,"self_deaf":true}})");
    v.channel_id.reset();
    EXPECT_EQ(encoded(v), R"({"op":4,"d":{"guild_id":"41771983423143937",)"
                          R"("channel_id":null,"self_mute":false,"self_deaf":true}})");
}

TEST(commands, request_guild_members_everyone_form) {
    gw::request_guild_members r;
    r.guild_id = 41771983444115456;
    r.query = "";
    r.limit = 0;
    EXPECT_EQ(encoded(r), R"({"op":8,"d":{"guild_id":"41771983444115456","query":"","limit":0}})");
}

TEST(commands, request_guild_members_by_ids) {
    gw::request_guild_members r;
    r.guild_id = 1;
    r.user_ids = {2, 3};
    r.presences = true;
    r.nonce = "n1";
    EXPECT_EQ(encoded(r), R"({"op":8,"d":{"guild_id":"1","presences":true,)"
                          R"("user_ids":["2","3"],"nonce":"n1"}})");
}

TEST(commands, request_soundboard_sounds_exact) {
    EXPECT_EQ(encoded(gw::request_soundboard_sounds{{613425648685547541, 81384788765712384}}),
              R"({"op":31,"d":{"guild_ids":["613425648685547541","81384788765712384"]}})");
}

TEST(commands, request_channel_info_exact) {
    EXPECT_EQ(encoded(gw::request_channel_info{7, {"status", "voice_start_time"}}),
              R"({"op":43,"d":{"guild_id":"7","fields":["status","voice_start_time"]}})");
}

TEST(commands, snowflakes_are_strings_up_to_u64_max) {
    constexpr gw::snowflake max = std::numeric_limits<gw::snowflake>::max();
    EXPECT_EQ(encoded(gw::request_soundboard_sounds{{max}}),
              R"({"op":31,"d":{"guild_ids":["18446744073709551615"]}})");
}

TEST(commands, escapes_strings_and_keeps_utf8) {
    const std::string name = "say \"hi\" \\ to\nall \x01 caf\xc3\xa9 \xf0\x9f\x8e\xb4";
    const std::string frame = encoded(presence_named(name));
    EXPECT_NE(frame.find(R"("name":"say \"hi\" \\ to\u000aall \u0001 caf)"
                         "\xc3\xa9 \xf0\x9f\x8e\xb4\""),
              std::string::npos)
        << frame;
    simdjson::dom::parser parser;
    const auto root = parse(parser, frame);
    EXPECT_EQ(std::string_view(root["d"]["activities"].at(0)["name"]), name);
}

TEST(commands, invalid_utf8_is_rejected) {
    EXPECT_EQ(encode_error(presence_named("bad \xc3")), error::invalid_command);
    gw::request_guild_members r;
    r.guild_id = 1;
    r.query = "\xff";
    r.limit = 1;
    EXPECT_EQ(encode_error(r), error::invalid_command);
}

TEST(commands, command_variant_dispatches_and_reports_opcode) {
    using gw::opcode;
    const std::vector<std::pair<gw::command, opcode>> cases = {
        {gw::update_presence{}, opcode::presence_update},
        {gw::update_voice_state{1, {}, false, false}, opcode::voice_state_update},
        {gw::request_guild_members{1, "", 0, false, {}, {}}, opcode::request_guild_members},
        {gw::request_soundboard_sounds{{1}}, opcode::request_soundboard_sounds},
        {gw::request_channel_info{1, {"status"}}, opcode::request_channel_info},
    };
    simdjson::dom::parser parser;
    for (const auto& [cmd, op] : cases) {
        EXPECT_EQ(gw::opcode_of(cmd), op);
        const std::string frame = encoded(cmd);
        EXPECT_EQ(std::int64_t(parse(parser, frame)["op"]), static_cast<std::int64_t>(op)) << frame;
    }
    EXPECT_EQ(gw::update_presence::op, opcode::presence_update);
    EXPECT_EQ(static_cast<int>(gw::identify::op), 2);
    EXPECT_EQ(static_cast<int>(gw::resume::op), 6);
    EXPECT_EQ(static_cast<int>(gw::heartbeat::op), 1);
}

// --- every frame is JSON ----------------------------------------------------------------------

TEST(commands, every_frame_parses_as_json) {
    simdjson::dom::parser parser;

    auto root = parse(parser, encoded(docs_identify()));
    EXPECT_EQ(std::int64_t(root["op"]), 2);
    EXPECT_EQ(std::uint64_t(root["d"]["intents"]), 5U);
    EXPECT_EQ(std::uint64_t(root["d"]["shard"].at(1)), 1U);
    EXPECT_EQ(std::string_view(root["d"]["properties"]["os"]), "linux");
    EXPECT_EQ(std::string_view(root["d"]["presence"]["status"]), "dnd");

    root = parse(parser, encoded(gw::resume{gw::secret("t"), "sid", 42}));
    EXPECT_EQ(std::int64_t(root["op"]), 6);
    EXPECT_EQ(std::uint64_t(root["d"]["seq"]), 42U);
    EXPECT_EQ(std::string_view(root["d"]["session_id"]), "sid");

    root = parse(parser, encoded(gw::heartbeat{}));
    EXPECT_EQ(std::int64_t(root["op"]), 1);
    EXPECT_TRUE(root["d"].is_null());
    root = parse(parser, encoded(gw::heartbeat{7}));
    EXPECT_EQ(std::uint64_t(root["d"]), 7U);

    gw::update_presence p = presence_named("n");
    p.activities[0].state = "s";
    root = parse(parser, encoded(p));
    EXPECT_EQ(std::int64_t(root["op"]), 3);
    EXPECT_TRUE(root["d"]["since"].is_null());
    EXPECT_EQ(std::string_view(root["d"]["activities"].at(0)["state"]), "s");

    root = parse(parser, encoded(gw::update_voice_state{5, {}, true, false}));
    EXPECT_EQ(std::int64_t(root["op"]), 4);
    EXPECT_EQ(std::string_view(root["d"]["guild_id"]), "5");
    EXPECT_TRUE(root["d"]["channel_id"].is_null());
    EXPECT_TRUE(bool(root["d"]["self_mute"]));

    root = parse(parser, encoded(gw::request_guild_members{9, {}, 10, true, {1, 2}, "abc"}));
    EXPECT_EQ(std::int64_t(root["op"]), 8);
    EXPECT_EQ(std::string_view(root["d"]["user_ids"].at(1)), "2");
    EXPECT_EQ(std::uint64_t(root["d"]["limit"]), 10U);
    EXPECT_EQ(std::string_view(root["d"]["nonce"]), "abc");

    root = parse(parser, encoded(gw::request_soundboard_sounds{{3, 4}}));
    EXPECT_EQ(std::int64_t(root["op"]), 31);
    EXPECT_EQ(std::string_view(root["d"]["guild_ids"].at(0)), "3");

    root = parse(parser, encoded(gw::request_channel_info{8, {"voice_start_time"}}));
    EXPECT_EQ(std::int64_t(root["op"]), 43);
    EXPECT_EQ(std::string_view(root["d"]["fields"].at(0)), "voice_start_time");
}

// --- validation -------------------------------------------------------------------------------

TEST(commands, identify_large_threshold_range) {
    gw::identify id;
    id.token = gw::secret("t");
    for (const std::uint32_t ok : {50U, 51U, 249U, 250U}) {
        id.large_threshold = ok;
        EXPECT_FALSE(encode_error(id)) << ok;
    }
    for (const std::uint32_t bad : {0U, 49U, 251U, 306U}) {
        id.large_threshold = bad;
        EXPECT_EQ(encode_error(id), error::invalid_command) << bad;
    }
}

TEST(commands, identify_shard_range) {
    gw::identify id;
    id.token = gw::secret("t");
    id.shard = gw::shard_id{0, 0};
    EXPECT_EQ(encode_error(id), error::invalid_command);
    id.shard = gw::shard_id{3, 3};
    EXPECT_EQ(encode_error(id), error::invalid_command);
    id.shard = gw::shard_id{2, 3};
    EXPECT_FALSE(encode_error(id));
}

TEST(commands, identify_and_resume_need_credentials) {
    gw::identify id;
    EXPECT_EQ(encode_error(id), error::invalid_command);
    EXPECT_EQ(encode_error(gw::resume{gw::secret(), "sid", 1}), error::invalid_command);
    EXPECT_EQ(encode_error(gw::resume{gw::secret("t"), "", 1}), error::invalid_command);
}

TEST(commands, identify_checks_its_presence) {
    gw::identify id = docs_identify();
    id.presence->activities[0].type = static_cast<gw::activity_type>(6);
    EXPECT_EQ(encode_error(id), error::invalid_command);
}

TEST(commands, presence_rejects_values_outside_the_enums) {
    gw::update_presence p = presence_named("n");
    p.activities[0].type = static_cast<gw::activity_type>(-1);
    EXPECT_EQ(encode_error(p), error::invalid_command);
    p.activities[0].type = gw::activity_type::competing;
    p.status = static_cast<gw::presence_status>(42);
    EXPECT_EQ(encode_error(p), error::invalid_command);
}

TEST(commands, voice_state_rejects_zero_ids) {
    EXPECT_EQ(encode_error(gw::update_voice_state{0, 1, false, false}), error::invalid_command);
    EXPECT_EQ(encode_error(gw::update_voice_state{1, 0, false, false}), error::invalid_command);
}

TEST(commands, request_guild_members_needs_exactly_one_of_query_and_user_ids) {
    gw::request_guild_members r;
    r.guild_id = 1;
    EXPECT_EQ(encode_error(r), error::invalid_command); // neither
    r.query = "a";
    r.limit = 5;
    r.user_ids = {2};
    EXPECT_EQ(encode_error(r), error::invalid_command); // both
    r.user_ids.clear();
    EXPECT_FALSE(encode_error(r));
    r.guild_id = 0;
    EXPECT_EQ(encode_error(r), error::invalid_command);
}

TEST(commands, request_guild_members_query_needs_limit) {
    gw::request_guild_members r;
    r.guild_id = 1;
    r.query = "ab";
    EXPECT_EQ(encode_error(r), error::invalid_command);
    r.limit = 0;
    EXPECT_FALSE(encode_error(r));
}

TEST(commands, request_guild_members_result_cap) {
    gw::request_guild_members r;
    r.guild_id = 1;
    r.query = "ab";
    r.limit = 100;
    EXPECT_FALSE(encode_error(r));
    r.limit = 101;
    EXPECT_EQ(encode_error(r), error::invalid_command);
    r.query = "";
    EXPECT_EQ(encode_error(r), error::invalid_command); // "everyone" is limit 0, not a big limit
    r.limit = 0;
    EXPECT_FALSE(encode_error(r));

    gw::request_guild_members ids;
    ids.guild_id = 1;
    for (gw::snowflake i = 1; i <= 100; ++i) {
        ids.user_ids.push_back(i);
    }
    EXPECT_FALSE(encode_error(ids));
    ids.user_ids.push_back(101);
    EXPECT_EQ(encode_error(ids), error::invalid_command);
    ids.user_ids = {1, 0};
    EXPECT_EQ(encode_error(ids), error::invalid_command);
    ids.user_ids = {1};
    ids.limit = 101;
    EXPECT_EQ(encode_error(ids), error::invalid_command);
}

TEST(commands, request_guild_members_nonce_is_at_most_32_bytes) {
    gw::request_guild_members r;
    r.guild_id = 1;
    r.user_ids = {2};
    r.nonce = std::string(32, 'n');
    EXPECT_FALSE(encode_error(r));
    r.nonce = std::string(33, 'n');
    EXPECT_EQ(encode_error(r), error::invalid_command);
    r.nonce = std::string(15, 'n') + "\xc3\xa9"; // bytes, not characters: 17 bytes
    EXPECT_FALSE(encode_error(r));
    r.nonce = std::string(31, 'n') + "\xc3\xa9"; // 33 bytes, 32 characters
    EXPECT_EQ(encode_error(r), error::invalid_command);
}

TEST(commands, request_soundboard_sounds_needs_guilds) {
    EXPECT_EQ(encode_error(gw::request_soundboard_sounds{}), error::invalid_command);
    EXPECT_EQ(encode_error(gw::request_soundboard_sounds{{1, 0}}), error::invalid_command);
}

TEST(commands, request_channel_info_accepts_only_documented_fields) {
    EXPECT_FALSE(encode_error(gw::request_channel_info{1, {"status"}}));
    EXPECT_EQ(encode_error(gw::request_channel_info{1, {}}), error::invalid_command);
    EXPECT_EQ(encode_error(gw::request_channel_info{1, {"status", "topic"}}),
              error::invalid_command);
    EXPECT_EQ(encode_error(gw::request_channel_info{1, {"Status"}}), error::invalid_command);
    EXPECT_EQ(encode_error(gw::request_channel_info{0, {"status"}}), error::invalid_command);
}

// --- the 4096-byte limit ----------------------------------------------------------------------

// Bytes a presence frame has besides its single activity name.
std::size_t presence_overhead() {
    return encoded(presence_named("")).size();
}

TEST(commands, payload_limit_boundary_is_exactly_4096_bytes) {
    const std::size_t pad = gw::max_payload_bytes - presence_overhead();
    const std::string frame = encoded(presence_named(std::string(pad, 'x')));
    EXPECT_EQ(frame.size(), 4096U);
    EXPECT_EQ(encode_error(presence_named(std::string(pad + 1, 'x'))), error::payload_too_large);
}

TEST(commands, payload_limit_counts_escaped_bytes) {
    const std::size_t pad = gw::max_payload_bytes - presence_overhead();
    // A control character takes 6 bytes on the wire.
    EXPECT_EQ(encoded(presence_named(std::string(pad - 6, 'x') + '\n')).size(), 4096U);
    EXPECT_EQ(encode_error(presence_named(std::string(pad - 5, 'x') + '\n')),
              error::payload_too_large);
}

TEST(commands, payload_limit_counts_utf8_bytes_not_characters) {
    const std::size_t pad = gw::max_payload_bytes - presence_overhead();
    EXPECT_EQ(encoded(presence_named(std::string(pad - 2, 'x') + "\xc3\xa9")).size(), 4096U);
    EXPECT_EQ(encode_error(presence_named(std::string(pad - 1, 'x') + "\xc3\xa9")),
              error::payload_too_large);
}

TEST(commands, oversized_identify_leaves_no_token_behind) {
    gw::identify id;
    id.token = gw::secret("tok");
    id.properties.device = std::string(5000, 'd');
    std::string out;
    EXPECT_EQ(gw::encode(id, out), error::payload_too_large);
    EXPECT_TRUE(out.empty());
}

TEST(commands, output_buffer_is_replaced_not_appended) {
    std::string out = "garbage";
    ASSERT_FALSE(gw::encode(gw::heartbeat{1}, out));
    ASSERT_FALSE(gw::encode(gw::heartbeat{2}, out));
    EXPECT_EQ(out, R"({"op":1,"d":2})");
}

// --- the token --------------------------------------------------------------------------------

TEST(commands, token_appears_only_as_the_payload_token) {
    const std::string token = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
    gw::identify id = docs_identify();
    id.token = gw::secret(token);
    id.presence->activities[0].name = "not the token";
    const std::string frame = encoded(id);
    const std::size_t at = frame.find(token);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(frame.find(token, at + 1), std::string::npos) << "token written twice";
    simdjson::dom::parser parser;
    EXPECT_EQ(std::string_view(parse(parser, frame)["d"]["token"]), token);

    const std::string resumed = encoded(gw::resume{gw::secret(token), "sid", 1});
    EXPECT_EQ(std::string_view(parse(parser, resumed)["d"]["token"]), token);

    std::ostringstream printed;
    printed << id.token;
    EXPECT_EQ(printed.str(), "***");
    EXPECT_EQ(printed.str().find(token), std::string::npos);
}

} // namespace
