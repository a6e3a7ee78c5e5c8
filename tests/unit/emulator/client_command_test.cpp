#include "shardgate/emulator/client_command.hpp"

#include "shardgate/gateway/commands.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace shardgate::test {
namespace {

namespace emu = shardgate::emulator;
namespace gw = shardgate::gateway;
using gw::close_code;
using gw::opcode;

// `{"op":N,"d":...}` for an opcode, so that no test spells the numbers.
std::string frame(opcode op, std::string_view d) {
    return R"({"op":)" + std::to_string(static_cast<int>(op)) + R"(,"d":)" + std::string(d) + "}";
}

// Reads `text` and expects a command of type `Command`.
template <class Command>
Command command_of(emu::client_command_reader& reader, std::string_view text) {
    const auto r = reader.read(text);
    const auto* command = std::get_if<emu::client_command>(&r);
    if (command == nullptr) {
        const auto& v = std::get<emu::protocol_violation>(r);
        ADD_FAILURE() << text << " -> " << static_cast<int>(v.code) << ' ' << v.reason;
        return {};
    }
    const auto* typed = std::get_if<Command>(command);
    EXPECT_NE(typed, nullptr) << text;
    return typed != nullptr ? *typed : Command{};
}

// Reads `text` and expects this violation.
void expect_violation(emu::client_command_reader& reader, std::string_view text, close_code code,
                      std::string_view reason, std::optional<opcode> op) {
    const auto r = reader.read(text);
    const auto* v = std::get_if<emu::protocol_violation>(&r);
    ASSERT_NE(v, nullptr) << text << " was read as a command";
    EXPECT_EQ(v->code, code) << text;
    EXPECT_EQ(v->reason, reason) << text;
    EXPECT_EQ(v->op, op) << text;
}

// Each of `bodies` as the `d` of `op` is a malformed payload: 4001 with `reason`.
void expect_malformed(opcode op, std::initializer_list<std::string_view> bodies,
                      std::string_view reason) {
    emu::client_command_reader reader;
    for (const auto d : bodies) {
        expect_violation(reader, frame(op, d), close_code::unknown_opcode, reason, op);
    }
}

// The frame itself
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, frame_over_4096_bytes_is_4002) {
    emu::client_command_reader reader;
    const std::string prefix = R"({"op":1,"d":null,"pad":")";
    std::string at_limit = prefix + std::string(4096 - prefix.size() - 2, 'x') + "\"}";
    ASSERT_EQ(at_limit.size(), emu::client_command_reader::max_frame_bytes);
    EXPECT_TRUE(std::holds_alternative<emu::client_command>(reader.read(at_limit)));
    const std::string over = prefix + std::string(4096 - prefix.size() - 1, 'x') + "\"}";
    expect_violation(reader, over, close_code::decode_error, "payload over 4096 bytes", {});
}

TEST(emulator_client_command, anything_but_one_json_object_is_4002) {
    emu::client_command_reader reader;
    // The object is level 0, so 64 nested arrays in a member reach level 64, the most allowed.
    const std::string too_deep =
        R"({"op":1,"d":null,"x":)" + std::string(65, '[') + std::string(65, ']') + "}";
    const std::string deep_enough =
        R"({"op":1,"d":null,"x":)" + std::string(64, '[') + std::string(64, ']') + "}";
    EXPECT_TRUE(std::holds_alternative<emu::client_command>(reader.read(deep_enough)));
    for (const std::string_view text :
         {std::string_view("not json"), std::string_view(""), std::string_view("[1]"),
          std::string_view("5"), std::string_view("{"), std::string_view(R"({"op":1} x)"),
          std::string_view(R"({"op":1}{"op":1})"), std::string_view(R"({"op":1,"d":nul})"),
          std::string_view(R"({"op":1,"d":null,"x":tru})"),
          std::string_view(R"({"op":1,"d":null,"x":"\q"})"),
          std::string_view("{\"op\":1,\"x\":\"\xff\"}"), std::string_view(too_deep)}) {
        expect_violation(reader, text, close_code::decode_error, "payload is not a JSON object",
                         {});
    }
}

TEST(emulator_client_command, missing_or_non_integer_op_is_4001) {
    emu::client_command_reader reader;
    for (const auto* text : {"{}", R"({"d":null})", R"({"op":"1"})", R"({"op":1.5})",
                             R"({"op":null})", R"({"op":[1]})"}) {
        expect_violation(reader, text, close_code::unknown_opcode, "missing or non-integer op", {});
    }
}

TEST(emulator_client_command, unknown_or_server_only_opcode_is_4001) {
    emu::client_command_reader reader;
    for (const auto* text : {R"({"op":5,"d":{}})", R"({"op":12})", R"({"op":99,"d":null})",
                             R"({"op":-1})", R"({"op":9223372036854775807})"}) {
        expect_violation(reader, text, close_code::unknown_opcode, "unknown opcode", {});
    }
    for (const auto op : {opcode::dispatch, opcode::reconnect, opcode::invalid_session,
                          opcode::hello, opcode::heartbeat_ack}) {
        expect_violation(reader, frame(op, "null"), close_code::unknown_opcode, "unknown opcode",
                         {});
    }
}

TEST(emulator_client_command, of_duplicate_keys_the_last_counts) {
    emu::client_command_reader reader;
    const auto hb = command_of<emu::heartbeat_command>(reader, R"({"op":2,"d":7,"op":1})");
    EXPECT_EQ(hb.seq, 7U);
}

// Heartbeat
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, heartbeat_carries_the_sequence_or_null) {
    emu::client_command_reader reader;
    EXPECT_EQ(command_of<emu::heartbeat_command>(reader, frame(opcode::heartbeat, "null")).seq,
              std::nullopt);
    EXPECT_EQ(command_of<emu::heartbeat_command>(reader, R"({"op":1})").seq, std::nullopt);
    EXPECT_EQ(command_of<emu::heartbeat_command>(reader, frame(opcode::heartbeat, "42")).seq, 42U);
    EXPECT_EQ(command_of<emu::heartbeat_command>(reader, R"({"d": 7 ,"op":1})").seq, 7U);
    EXPECT_EQ(
        command_of<emu::heartbeat_command>(reader, frame(opcode::heartbeat, "18446744073709551615"))
            .seq,
        18'446'744'073'709'551'615U);
}

TEST(emulator_client_command, malformed_heartbeat_is_4001) {
    expect_malformed(opcode::heartbeat,
                     {R"("5")", "-1", "1.5", "1e3", "{}", "[]", "true", "18446744073709551616"},
                     "heartbeat d must be an integer or null");
}

TEST(emulator_client_command, heartbeat_from_the_client_encoder_is_read) {
    emu::client_command_reader reader;
    std::string text;
    ASSERT_FALSE(gw::encode(gw::heartbeat{12}, text));
    EXPECT_EQ(command_of<emu::heartbeat_command>(reader, text).seq, 12U);
}

// Identify
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, identify_carries_token_intents_shard_and_large_threshold) {
    emu::client_command_reader reader;
    const auto c = command_of<emu::identify_command>(
        reader, frame(opcode::identify,
                      R"({"token":"Bot abc","properties":{"os":"x"},"intents":513,)"
                      R"("shard":[1,4],"large_threshold":250,"compress":false,)"
                      R"("presence":{"since":null,"activities":[{"name":"x","type":5,)"
                      R"("state":null,"url":"https://twitch.tv/x"}],"status":"idle","afk":true},)"
                      R"("capabilities":16381,"client_state":{"guild_versions":{}}})"));
    EXPECT_EQ(c.token, "Bot abc");
    EXPECT_EQ(c.intents, 513U);
    EXPECT_TRUE(c.sharded);
    EXPECT_TRUE(c.shard_valid);
    EXPECT_EQ(c.shard_id, 1U);
    EXPECT_EQ(c.num_shards, 4U);
    EXPECT_EQ(c.large_threshold, 250U);
}

TEST(emulator_client_command, identify_without_shard_is_shard_zero_of_one) {
    emu::client_command_reader reader;
    for (const auto* d : {R"({"token":"t","properties":{},"intents":0})",
                          R"({"token":"t","properties":{},"intents":0,"shard":null})"}) {
        const auto c = command_of<emu::identify_command>(reader, frame(opcode::identify, d));
        EXPECT_FALSE(c.sharded) << d;
        EXPECT_TRUE(c.shard_valid) << d;
        EXPECT_EQ(c.shard_id, 0U);
        EXPECT_EQ(c.num_shards, 1U);
        EXPECT_EQ(c.large_threshold, 50U);
    }
}

TEST(emulator_client_command,
     identify_with_an_invalid_shard_is_read_for_the_connection_to_close_4010) {
    emu::client_command_reader reader;
    for (const auto* shard : {"[1,1]", "[0,0]", "[0]", "[0,1,2]", R"(["0",1])", "[-1,2]", "[]",
                              "{}", "5", "[0,4294967296]"}) {
        const auto c = command_of<emu::identify_command>(
            reader, frame(opcode::identify, R"({"token":"t","properties":{},"intents":0,"shard":)" +
                                                std::string(shard) + "}"));
        EXPECT_TRUE(c.sharded) << shard;
        EXPECT_FALSE(c.shard_valid) << shard;
    }
}

TEST(emulator_client_command, malformed_identify_is_4001) {
    expect_malformed(
        opcode::identify,
        {"null", "[]", "{}", R"({"properties":{},"intents":1})", R"({"token":"t","intents":1})",
         R"({"token":"t","properties":{}})", R"({"token":5,"properties":{},"intents":1})",
         R"({"token":"t","properties":[],"intents":1})",
         R"({"token":"t","properties":{},"intents":"1"})",
         R"({"token":"t","properties":{},"intents":-1})",
         R"({"token":"t","properties":{},"intents":1,"large_threshold":49})",
         R"({"token":"t","properties":{},"intents":1,"large_threshold":251})",
         R"({"token":"t","properties":{},"intents":1,"large_threshold":"50"})",
         R"({"token":"t","properties":{},"intents":1,"compress":"no"})",
         R"({"token":"t","properties":{},"intents":1,"presence":{"status":"busy","activities":[]}})",
         R"({"token":"t","properties":{},"intents":1,"presence":{"status":"online"}})",
         R"({"token":"t","properties":{},"intents":1,"presence":5})"},
        "malformed identify");
}

TEST(emulator_client_command, identify_from_the_client_encoder_is_read) {
    emu::client_command_reader reader;
    gw::identify id;
    id.token = gw::secret("secret-token");
    id.intents = 1 | 512;
    id.shard = gw::shard_id{2, 3};
    id.presence = gw::update_presence{};
    id.large_threshold = 100;
    std::string text;
    ASSERT_FALSE(gw::encode(id, text));
    const auto c = command_of<emu::identify_command>(reader, text);
    EXPECT_EQ(c.token, "secret-token");
    EXPECT_EQ(c.intents, 513U);
    EXPECT_EQ(c.shard_id, 2U);
    EXPECT_EQ(c.num_shards, 3U);
    EXPECT_EQ(c.large_threshold, 100U);
}

// Resume
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, resume_carries_token_session_and_seq) {
    emu::client_command_reader reader;
    const auto c = command_of<emu::resume_command>(
        reader,
        frame(opcode::resume, R"({"token":"t\u0041","session_id":"abc","seq":0,"other":[]})"));
    EXPECT_EQ(c.token, "tA");
    EXPECT_EQ(c.session_id, "abc");
    EXPECT_EQ(c.seq, 0U);
    std::string text;
    ASSERT_FALSE(gw::encode(gw::resume{gw::secret("tok"), "0123", 99}, text));
    const auto encoded = command_of<emu::resume_command>(reader, text);
    EXPECT_EQ(encoded.token, "tok");
    EXPECT_EQ(encoded.session_id, "0123");
    EXPECT_EQ(encoded.seq, 99U);
}

TEST(emulator_client_command, malformed_resume_is_4001) {
    expect_malformed(
        opcode::resume,
        {"null", "{}", R"({"session_id":"s","seq":1})", R"({"token":"t","seq":1})",
         R"({"token":"t","session_id":"s"})", R"({"token":1,"session_id":"s","seq":1})",
         R"({"token":"t","session_id":1,"seq":1})", R"({"token":"t","session_id":"s","seq":-1})",
         R"({"token":"t","session_id":"s","seq":"1"})"},
        "malformed resume");
}

// Presence Update
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, presence_update_is_validated) {
    emu::client_command_reader reader;
    for (const auto* d : {R"({"status":"online","activities":[]})",
                          R"({"since":91879201,"activities":[{"name":"x","type":0}],)"
                          R"("status":"dnd","afk":false})",
                          R"({"since":null,"activities":[],"status":"offline","extra":1})"}) {
        command_of<emu::presence_update_command>(reader, frame(opcode::presence_update, d));
    }
    std::string text;
    gw::update_presence p;
    p.activities.push_back({"game", gw::activity_type::custom, "state", std::nullopt});
    ASSERT_FALSE(gw::encode(p, text));
    command_of<emu::presence_update_command>(reader, text);
}

TEST(emulator_client_command, malformed_presence_update_is_4001) {
    expect_malformed(opcode::presence_update,
                     {"null", "{}", R"({"status":"online"})", R"({"activities":[]})",
                      R"({"status":"busy","activities":[]})",
                      R"({"status":"online","activities":{}})",
                      R"({"status":"online","activities":[],"since":"now"})",
                      R"({"status":"online","activities":[],"afk":"no"})",
                      R"({"status":"online","activities":[{"type":0}]})",
                      R"({"status":"online","activities":[{"name":"x"}]})",
                      R"({"status":"online","activities":[{"name":"x","type":6}]})",
                      R"({"status":"online","activities":[{"name":"x","type":0,"url":5}]})"},
                     "malformed presence update");
}

// Voice State Update
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, voice_state_update_carries_guild_channel_and_flags) {
    emu::client_command_reader reader;
    const auto join = command_of<emu::voice_state_update_command>(
        reader, frame(opcode::voice_state_update,
                      R"({"guild_id":"41771983423143937","channel_id":127121515262115840,)"
                      R"("self_mute":true,"self_deaf":false})"));
    EXPECT_EQ(join.guild_id, 41'771'983'423'143'937U);
    EXPECT_EQ(join.channel_id, 127'121'515'262'115'840U);
    EXPECT_TRUE(join.self_mute);
    EXPECT_FALSE(join.self_deaf);
    const auto leave = command_of<emu::voice_state_update_command>(
        reader, frame(opcode::voice_state_update,
                      R"({"guild_id":"1","channel_id":null,"self_mute":false,"self_deaf":true})"));
    EXPECT_FALSE(leave.channel_id);
    EXPECT_TRUE(leave.self_deaf);
}

TEST(emulator_client_command, malformed_voice_state_update_is_4001) {
    expect_malformed(
        opcode::voice_state_update,
        {"null", "{}", R"({"channel_id":null,"self_mute":false,"self_deaf":false})",
         R"({"guild_id":"1","self_mute":false,"self_deaf":false})",
         R"({"guild_id":"1","channel_id":null,"self_deaf":false})",
         R"({"guild_id":"1","channel_id":null,"self_mute":false})",
         R"({"guild_id":"0","channel_id":null,"self_mute":false,"self_deaf":false})",
         R"({"guild_id":"abc","channel_id":null,"self_mute":false,"self_deaf":false})",
         R"({"guild_id":"1","channel_id":"0","self_mute":false,"self_deaf":false})",
         R"({"guild_id":"1","channel_id":null,"self_mute":"false","self_deaf":false})"},
        "malformed voice state update");
}

// Request Guild Members
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, request_guild_members_by_query) {
    emu::client_command_reader reader;
    const auto c = command_of<emu::request_guild_members_command>(
        reader, frame(opcode::request_guild_members,
                      R"({"guild_id":"5","query":"ab","limit":10,"presences":true,"nonce":"n"})"));
    EXPECT_EQ(c.request.guild_id, 5U);
    EXPECT_EQ(c.request.query, "ab");
    EXPECT_EQ(c.request.limit, 10U);
    EXPECT_TRUE(c.request.presences);
    EXPECT_EQ(c.request.nonce, "n");
    EXPECT_TRUE(c.request.user_ids.empty());
}

TEST(emulator_client_command, request_guild_members_by_user_ids) {
    emu::client_command_reader reader;
    const auto many = command_of<emu::request_guild_members_command>(
        reader, frame(opcode::request_guild_members, R"({"guild_id":5,"user_ids":["1",2]})"));
    EXPECT_EQ(many.request.user_ids, (std::vector<gw::snowflake>{1, 2}));
    EXPECT_FALSE(many.request.query);
    const auto one = command_of<emu::request_guild_members_command>(
        reader, frame(opcode::request_guild_members, R"({"guild_id":5,"user_ids":"7"})"));
    EXPECT_EQ(one.request.user_ids, (std::vector<gw::snowflake>{7}));
}

TEST(emulator_client_command, request_guild_members_drops_a_nonce_over_32_bytes) {
    emu::client_command_reader reader;
    const std::string d32 =
        R"({"guild_id":"5","query":"","limit":0,"nonce":")" + std::string(32, 'n') + "\"}";
    const std::string d33 =
        R"({"guild_id":"5","query":"","limit":0,"nonce":")" + std::string(33, 'n') + "\"}";
    EXPECT_EQ(command_of<emu::request_guild_members_command>(
                  reader, frame(opcode::request_guild_members, d32))
                  .request.nonce,
              std::string(32, 'n'));
    EXPECT_FALSE(command_of<emu::request_guild_members_command>(
                     reader, frame(opcode::request_guild_members, d33))
                     .request.nonce);
}

TEST(emulator_client_command, malformed_request_guild_members_is_4001) {
    expect_malformed(opcode::request_guild_members,
                     {"null", "[]", R"({"guild_id":"0","query":"","limit":0})",
                      R"({"guild_id":"5","query":5,"limit":0})",
                      R"({"guild_id":"5","query":"","limit":-1})",
                      R"({"guild_id":"5","user_ids":["x"]})", R"({"guild_id":"5","user_ids":[0]})",
                      R"({"guild_id":"5","query":"","limit":0,"nonce":5})",
                      R"({"guild_id":"5","query":"","limit":0,"presences":"yes"})"},
                     "malformed request guild members");
    expect_malformed(opcode::request_guild_members,
                     {"{}", R"({"query":"","limit":0})", R"({"guild_id":"5"})",
                      R"({"guild_id":"5","query":"a"})",
                      R"({"guild_id":"5","query":"a","limit":1,"user_ids":["1"]})"},
                     "request guild members needs guild_id and one of query or user_ids");
}

// Request Soundboard Sounds and Request Channel Info
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, request_soundboard_sounds_carries_the_guilds) {
    emu::client_command_reader reader;
    const auto c = command_of<emu::request_soundboard_sounds_command>(
        reader, frame(opcode::request_soundboard_sounds, R"({"guild_ids":["3",4]})"));
    EXPECT_EQ(c.guild_ids, (std::vector<gw::snowflake>{3, 4}));
}

TEST(emulator_client_command, malformed_request_soundboard_sounds_is_4001) {
    expect_malformed(opcode::request_soundboard_sounds,
                     {"null", "{}", R"({"guild_ids":[]})", R"({"guild_ids":"3"})",
                      R"({"guild_ids":["x"]})", R"({"guild_ids":[0]})"},
                     "malformed request soundboard sounds");
}

TEST(emulator_client_command, request_channel_info_carries_guild_and_fields) {
    emu::client_command_reader reader;
    const auto c = command_of<emu::request_channel_info_command>(
        reader, frame(opcode::request_channel_info,
                      R"({"guild_id":"9","fields":["status","voice_start_time"]})"));
    EXPECT_EQ(c.guild_id, 9U);
    EXPECT_EQ(c.fields, (std::vector<std::string>{"status", "voice_start_time"}));
}

TEST(emulator_client_command, malformed_request_channel_info_is_4001) {
    expect_malformed(opcode::request_channel_info,
                     {"null", "{}", R"({"fields":["status"]})", R"({"guild_id":"9"})",
                      R"({"guild_id":"9","fields":[]})", R"({"guild_id":"9","fields":["topic"]})",
                      R"({"guild_id":"9","fields":"status"})"},
                     "malformed request channel info");
}

// The rest
// -------------------------------------------------------------------------------------------------

TEST(emulator_client_command, opcode_of_each_command) {
    EXPECT_EQ(emu::opcode_of(emu::heartbeat_command{}), opcode::heartbeat);
    EXPECT_EQ(emu::opcode_of(emu::identify_command{}), opcode::identify);
    EXPECT_EQ(emu::opcode_of(emu::presence_update_command{}), opcode::presence_update);
    EXPECT_EQ(emu::opcode_of(emu::voice_state_update_command{}), opcode::voice_state_update);
    EXPECT_EQ(emu::opcode_of(emu::resume_command{}), opcode::resume);
    EXPECT_EQ(emu::opcode_of(emu::request_guild_members_command{}), opcode::request_guild_members);
    EXPECT_EQ(emu::opcode_of(emu::request_soundboard_sounds_command{}),
              opcode::request_soundboard_sounds);
    EXPECT_EQ(emu::opcode_of(emu::request_channel_info_command{}), opcode::request_channel_info);
}

TEST(emulator_client_command, views_point_into_the_reader_not_into_the_frame) {
    emu::client_command_reader reader;
    auto text = frame(opcode::resume, R"({"token":"tok","session_id":"s1","seq":1})");
    const auto r = reader.read(text);
    text.assign(text.size(), 'x'); // the caller's buffer may go away at once
    const auto& c = std::get<emu::resume_command>(std::get<emu::client_command>(r));
    EXPECT_EQ(c.token, "tok");
    EXPECT_EQ(c.session_id, "s1");
}

TEST(emulator_client_command, is_json_object_or_array) {
    emu::client_command_reader reader;
    EXPECT_TRUE(reader.is_json_object_or_array("{}"));
    EXPECT_TRUE(reader.is_json_object_or_array(R"({"a":[1,2,{"b":null}]})"));
    EXPECT_TRUE(reader.is_json_object_or_array("[1] "));
    EXPECT_FALSE(reader.is_json_object_or_array("{"));
    EXPECT_FALSE(reader.is_json_object_or_array("{} x"));
    EXPECT_FALSE(reader.is_json_object_or_array(""));
    EXPECT_FALSE(reader.is_json_object_or_array("5"))
        << "simdjson 3.0.1 reads no lone scalar as a value";
    EXPECT_TRUE(reader.is_json_object_or_array(std::string(65, '[') + std::string(65, ']')));
    EXPECT_FALSE(reader.is_json_object_or_array(std::string(66, '[') + std::string(66, ']')));
}

} // namespace
} // namespace shardgate::test
