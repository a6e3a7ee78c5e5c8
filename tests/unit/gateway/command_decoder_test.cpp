#include "shardgate/gateway/command_decoder.hpp"

#include "shardgate/gateway/error.hpp"

#include <cstddef>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace {

namespace gw = shardgate::gateway;
using gw::error;

// Decodes `frame`, expecting success, and returns the command.
gw::command decoded(std::string_view frame) {
    gw::command cmd;
    std::string why = "stale";
    const std::error_code ec = gw::decode_command(frame, cmd, why);
    EXPECT_FALSE(ec) << ec.message() << ": " << why << "\n" << frame;
    EXPECT_TRUE(why.empty()) << "why must be cleared on success";
    return cmd;
}

// Encodes `cmd`, decodes the frame and expects the same command back.
void expect_round_trip(const gw::command& cmd) {
    std::string frame;
    const std::error_code ec = gw::encode(cmd, frame);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(decoded(frame), cmd) << frame;
}

// Decodes `frame`, expecting `expected` with a one-line `why` that contains `why_part`, and `out`
// left as it was.
void expect_refused(std::string_view frame, error expected, std::string_view why_part) {
    const gw::command before = gw::request_soundboard_sounds{{42}};
    gw::command out = before;
    std::string why;
    const std::error_code ec = gw::decode_command(frame, out, why);
    EXPECT_EQ(ec, expected) << ec.message() << ": " << why << "\n" << frame;
    EXPECT_FALSE(why.empty()) << frame;
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    EXPECT_NE(why.find(why_part), std::string::npos) << why;
    EXPECT_EQ(out, before) << "a refused frame must leave out unchanged";
}

// --- round trips ------------------------------------------------------------------------------

TEST(command_decoder, round_trips_presence_with_everything_set) {
    gw::update_presence p;
    p.since = 91879201;
    p.activities.push_back(gw::activity{"Cards \"Against\" Humanity \xe2\x98\x95",
                                        gw::activity_type::streaming, "Level 3",
                                        "https://twitch.tv/x"});
    p.activities.push_back(
        gw::activity{"Custom Status", gw::activity_type::custom, "line one\nline two", {}});
    p.activities.push_back(gw::activity{"x", gw::activity_type::competing, {}, {}});
    p.status = gw::presence_status::dnd;
    p.afk = true;
    expect_round_trip(p);
}

TEST(command_decoder, round_trips_presence_with_nothing_set) {
    expect_round_trip(gw::update_presence{});
}

TEST(command_decoder, round_trips_every_status_and_activity_type) {
    for (const auto status :
         {gw::presence_status::online, gw::presence_status::dnd, gw::presence_status::idle,
          gw::presence_status::invisible, gw::presence_status::offline}) {
        gw::update_presence p;
        p.status = status;
        p.since = -1;
        for (int type = 0; type <= 5; ++type) {
            p.activities.push_back(gw::activity{"a", static_cast<gw::activity_type>(type), {}, {}});
        }
        expect_round_trip(p);
    }
}

TEST(command_decoder, round_trips_voice_state_joining) {
    expect_round_trip(gw::update_voice_state{41771983423143937, 127121515262115840, true, true});
}

TEST(command_decoder, round_trips_voice_state_leaving) {
    expect_round_trip(gw::update_voice_state{18446744073709551615ULL, std::nullopt, false, false});
}

TEST(command_decoder, round_trips_guild_members_by_query_with_everything_set) {
    gw::request_guild_members r;
    r.guild_id = 41771983444115456;
    r.query = "ab\\c";
    r.limit = 100;
    r.presences = true;
    r.nonce = "0123456789abcdef0123456789abcdef"; // 32 bytes, the maximum
    expect_round_trip(r);
}

TEST(command_decoder, round_trips_guild_members_everyone) {
    gw::request_guild_members r;
    r.guild_id = 1;
    r.query = "";
    r.limit = 0;
    expect_round_trip(r);
}

TEST(command_decoder, round_trips_guild_members_by_user_ids) {
    gw::request_guild_members r;
    r.guild_id = 41771983444115456;
    r.user_ids = {1, 2, 18446744073709551615ULL};
    expect_round_trip(r);
    r.user_ids = {7};
    r.nonce = "n";
    expect_round_trip(r);
}

TEST(command_decoder, round_trips_soundboard_sounds) {
    expect_round_trip(gw::request_soundboard_sounds{{613425648685547541}});
    expect_round_trip(gw::request_soundboard_sounds{{613425648685547541, 81384788765712384, 3}});
}

TEST(command_decoder, round_trips_channel_info) {
    expect_round_trip(gw::request_channel_info{613425648685547541, {"status"}});
    expect_round_trip(gw::request_channel_info{613425648685547541, {"status", "voice_start_time"}});
}

// --- what other programs may write ------------------------------------------------------------

TEST(command_decoder, takes_snowflakes_as_integers) {
    EXPECT_EQ(
        decoded(R"({"op":4,"d":{"guild_id":41771983423143937,"channel_id":127121515262115840,)"
                R"("self_mute":false,"self_deaf":true}})"),
        gw::command(gw::update_voice_state{41771983423143937, 127121515262115840, false, true}));
    EXPECT_EQ(decoded(R"({"op":31,"d":{"guild_ids":[18446744073709551615,"2"]}})"),
              gw::command(gw::request_soundboard_sounds{{18446744073709551615ULL, 2}}));
}

TEST(command_decoder, takes_one_user_id_without_an_array) {
    gw::request_guild_members r;
    r.guild_id = 5;
    r.user_ids = {80351110224678912};
    EXPECT_EQ(decoded(R"({"op":8,"d":{"guild_id":"5","user_ids":"80351110224678912"}})"),
              gw::command(r));
    EXPECT_EQ(decoded(R"({"op":8,"d":{"guild_id":"5","user_ids":80351110224678912}})"),
              gw::command(r));
}

TEST(command_decoder, takes_members_in_any_order_and_ignores_others) {
    EXPECT_EQ(decoded(" {\"t\":null, \"d\" : {\"extra\":[1,{}],\"fields\":[\"status\"],"
                      "\"guild_id\":\"9\"}, \"s\":null,\"op\":43}\n"),
              gw::command(gw::request_channel_info{9, {"status"}}));
}

TEST(command_decoder, treats_null_optionals_as_absent) {
    gw::request_guild_members r;
    r.guild_id = 5;
    r.query = "";
    r.limit = 10;
    EXPECT_EQ(decoded(R"({"op":8,"d":{"guild_id":"5","query":"","limit":10,"presences":null,)"
                      R"("user_ids":null,"nonce":null}})"),
              gw::command(r));
    gw::update_presence p;
    p.activities.push_back(gw::activity{"g", gw::activity_type::playing, {}, {}});
    EXPECT_EQ(decoded(R"({"op":3,"d":{"since":null,"activities":[{"name":"g","type":0,)"
                      R"("state":null,"url":null}],"status":"online","afk":false}})"),
              gw::command(p));
}

TEST(command_decoder, accepts_a_frame_of_exactly_4096_bytes) {
    std::string frame = R"({"op":31,"d":{"guild_ids":["1"]}})";
    frame.insert(frame.size() - 1, gw::max_payload_bytes - frame.size(), ' ');
    ASSERT_EQ(frame.size(), gw::max_payload_bytes);
    EXPECT_EQ(decoded(frame), gw::command(gw::request_soundboard_sounds{{1}}));
}

// --- refusals ---------------------------------------------------------------------------------

TEST(command_decoder, refuses_malformed_json) {
    expect_refused(R"({"op":3,)", error::invalid_command, "not valid JSON");
    expect_refused("", error::invalid_command, "not valid JSON");
    expect_refused(R"({"op":31,"d":{"guild_ids":["1"]}} {})", error::invalid_command,
                   "not valid JSON");
    expect_refused(
        "{\"op\":3,\"d\":{\"since\":null,\"activities\":[{\"name\":\"\xff\",\"type\":0}],"
        "\"status\":\"online\",\"afk\":false}}",
        error::invalid_command, "not valid JSON");
}

TEST(command_decoder, refuses_a_frame_that_is_not_an_object) {
    expect_refused(R"([3,{}])", error::invalid_command, "expected a JSON object");
}

TEST(command_decoder, refuses_a_missing_op) {
    expect_refused(R"({"d":{"guild_ids":["1"]}})", error::invalid_command, "op: missing");
}

TEST(command_decoder, refuses_an_op_that_is_not_an_integer) {
    expect_refused(R"({"op":"31","d":{"guild_ids":["1"]}})", error::invalid_command, "op:");
    expect_refused(R"({"op":-3,"d":{}})", error::invalid_command, "op:");
}

TEST(command_decoder, refuses_identify_resume_and_heartbeat) {
    expect_refused(R"({"op":2,"d":{"token":"t","properties":{},"intents":0}})",
                   error::invalid_command, "op: 2 (Identify) is sent by the shard itself");
    expect_refused(R"({"op":6,"d":{"token":"t","session_id":"s","seq":1}})", error::invalid_command,
                   "op: 6 (Resume)");
    expect_refused(R"({"op":1,"d":null})", error::invalid_command, "op: 1 (Heartbeat)");
}

TEST(command_decoder, refuses_unknown_ops) {
    expect_refused(R"({"op":99,"d":{}})", error::invalid_command, "op: 99 is not a user command");
    expect_refused(R"({"op":10,"d":{"heartbeat_interval":45000}})", error::invalid_command,
                   "op: 10 (Hello) is not a user command");
}

TEST(command_decoder, refuses_a_missing_d) {
    expect_refused(R"({"op":31})", error::invalid_command, "d: missing");
}

TEST(command_decoder, refuses_d_of_the_wrong_type) {
    expect_refused(R"({"op":31,"d":["1"]})", error::invalid_command, "d: expected an object");
    expect_refused(R"({"op":3,"d":null})", error::invalid_command, "d: expected an object");
    expect_refused(R"({"op":4,"d":"x"})", error::invalid_command, "d: expected an object");
}

TEST(command_decoder, refuses_members_of_the_wrong_type) {
    expect_refused(R"({"op":4,"d":{"guild_id":"1","channel_id":null,"self_mute":0,)"
                   R"("self_deaf":false}})",
                   error::invalid_command, "d.self_mute: expected true or false");
    expect_refused(R"({"op":3,"d":{"since":"now","activities":[],"status":"idle","afk":true}})",
                   error::invalid_command, "d.since");
    expect_refused(R"({"op":3,"d":{"since":null,"activities":{},"status":"idle","afk":true}})",
                   error::invalid_command, "d.activities: expected an array");
    expect_refused(R"({"op":3,"d":{"since":null,"activities":[{"name":"a","type":0},)"
                   R"({"name":5,"type":0}],"status":"idle","afk":true}})",
                   error::invalid_command, "d.activities[1].name: expected a string");
    expect_refused(R"({"op":43,"d":{"guild_id":"1","fields":["status",1]}})",
                   error::invalid_command, "d.fields[1]: expected a string");
    expect_refused(R"({"op":8,"d":{"guild_id":"1","query":"","limit":-1}})", error::invalid_command,
                   "d.limit");
    expect_refused(R"({"op":8,"d":{"guild_id":"1","query":"","limit":4294967296}})",
                   error::invalid_command, "d.limit");
}

TEST(command_decoder, refuses_missing_required_members) {
    expect_refused(R"({"op":3,"d":{"since":null,"activities":[],"status":"idle"}})",
                   error::invalid_command, "d.afk: missing");
    expect_refused(R"({"op":3,"d":{"activities":[],"status":"idle","afk":false}})",
                   error::invalid_command, "d.since: missing");
    expect_refused(R"({"op":3,"d":{"since":null,"activities":[{"type":0}],"status":"idle",)"
                   R"("afk":false}})",
                   error::invalid_command, "d.activities[0].name: missing");
    expect_refused(R"({"op":4,"d":{"guild_id":"1","self_mute":false,"self_deaf":false}})",
                   error::invalid_command, "d.channel_id: missing");
    expect_refused(R"({"op":8,"d":{"query":"","limit":0}})", error::invalid_command,
                   "d.guild_id: missing");
    expect_refused(R"({"op":31,"d":{}})", error::invalid_command, "d.guild_ids: missing");
    expect_refused(R"({"op":43,"d":{"guild_id":"1"}})", error::invalid_command,
                   "d.fields: missing");
}

TEST(command_decoder, refuses_bad_snowflakes) {
    for (const std::string_view bad : {R"("12a")", R"("")", R"("-1")", R"("+1")", R"(" 1")",
                                       R"("1.0")", "-1", "1.5", "1e3", "true", "null", "[]"}) {
        expect_refused(std::string(R"({"op":43,"d":{"guild_id":)") + std::string(bad) +
                           R"(,"fields":["status"]}})",
                       error::invalid_command, "d.guild_id: expected a snowflake");
    }
    expect_refused(R"({"op":43,"d":{"guild_id":"18446744073709551616","fields":["status"]}})",
                   error::invalid_command, "d.guild_id: snowflake does not fit in 64 bits");
    expect_refused(R"({"op":43,"d":{"guild_id":"0","fields":["status"]}})", error::invalid_command,
                   "d.guild_id: 0 is not a valid id");
    expect_refused(R"({"op":31,"d":{"guild_ids":["1","x"]}})", error::invalid_command,
                   "d.guild_ids[1]: expected a snowflake");
    expect_refused(R"({"op":8,"d":{"guild_id":"1","user_ids":[1,0]}})", error::invalid_command,
                   "d.user_ids[1]: 0 is not a valid id");
    expect_refused(R"({"op":4,"d":{"guild_id":"1","channel_id":"abc","self_mute":false,)"
                   R"("self_deaf":false}})",
                   error::invalid_command, "d.channel_id: expected a snowflake");
}

TEST(command_decoder, refuses_an_unknown_status) {
    expect_refused(R"({"op":3,"d":{"since":null,"activities":[],"status":"away","afk":false}})",
                   error::invalid_command, "d.status: expected");
    expect_refused(R"({"op":3,"d":{"since":null,"activities":[],"status":"Online","afk":false}})",
                   error::invalid_command, "d.status");
    expect_refused(R"({"op":3,"d":{"since":null,"activities":[],"status":0,"afk":false}})",
                   error::invalid_command, "d.status");
}

TEST(command_decoder, refuses_an_unknown_activity_type) {
    for (const std::string_view bad : {"6", "-1", "1.0", R"("0")"}) {
        expect_refused(std::string(R"({"op":3,"d":{"since":null,"activities":[{"name":"a",)") +
                           R"("type":)" + std::string(bad) +
                           R"(}],"status":"online","afk":false}})",
                       error::invalid_command, "d.activities[0].type");
    }
}

TEST(command_decoder, refuses_what_encode_refuses) {
    // Both query and user_ids.
    expect_refused(R"({"op":8,"d":{"guild_id":"1","query":"a","limit":1,"user_ids":["2"]}})",
                   error::invalid_command, "exactly one of query");
    // Neither.
    expect_refused(R"({"op":8,"d":{"guild_id":"1"}})", error::invalid_command,
                   "exactly one of query");
    // Query without limit; limit over 100; nonce over 32 bytes.
    expect_refused(R"({"op":8,"d":{"guild_id":"1","query":"a"}})", error::invalid_command,
                   "limit with query");
    expect_refused(R"({"op":8,"d":{"guild_id":"1","query":"a","limit":101}})",
                   error::invalid_command, "limit at most 100");
    expect_refused(R"({"op":8,"d":{"guild_id":"1","user_ids":["2"],)"
                   R"("nonce":"0123456789abcdef0123456789abcdefX"}})",
                   error::invalid_command, "nonce of at most 32 bytes");
    expect_refused(R"({"op":31,"d":{"guild_ids":[]}})", error::invalid_command,
                   "d.guild_ids: needs at least one");
    expect_refused(R"({"op":43,"d":{"guild_id":"1","fields":["topic"]}})", error::invalid_command,
                   "d.fields: needs one or more");
    expect_refused(R"({"op":43,"d":{"guild_id":"1","fields":[]}})", error::invalid_command,
                   "d.fields: needs one or more");
}

TEST(command_decoder, refuses_a_frame_over_4096_bytes) {
    std::string frame = R"({"op":31,"d":{"guild_ids":["1"]}})";
    frame.insert(frame.size() - 1, gw::max_payload_bytes + 1 - frame.size(), ' ');
    ASSERT_EQ(frame.size(), gw::max_payload_bytes + 1);
    expect_refused(frame, error::payload_too_large, "4097 bytes");
}

TEST(command_decoder, refuses_a_command_that_encodes_over_4096_bytes) {
    // Each `\n` (2 bytes here) is written back as `\u000a` (6 bytes).
    std::string newlines;
    for (int i = 0; i < 1000; ++i) {
        newlines += "\\n";
    }
    const std::string frame = R"({"op":3,"d":{"since":null,"activities":[{"name":")" + newlines +
                              R"(","type":0}],"status":"online","afk":false}})";
    ASSERT_LE(frame.size(), gw::max_payload_bytes);
    expect_refused(frame, error::payload_too_large, "encodes to more than 4096 bytes");
}

} // namespace
