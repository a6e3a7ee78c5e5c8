#include "shardgate/emulator/content.hpp"

#include "shardgate/gateway/intents.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace em = shardgate::emulator;
using em::catalog;
using em::emulator_config;
using em::guild_info;
using em::snowflake;

constexpr std::uint64_t guilds_intent = 1U << 0U;
constexpr std::uint64_t guild_members = 1U << 1U;
constexpr std::uint64_t guild_presences = 1U << 8U;
constexpr std::uint64_t guild_messages = 1U << 9U;
constexpr std::uint64_t guild_message_reactions = 1U << 10U;
constexpr std::uint64_t guild_message_typing = 1U << 11U;
constexpr std::uint64_t direct_messages = 1U << 12U;
constexpr std::uint64_t message_content = 1U << 15U;
constexpr std::uint64_t discord_epoch_ms = 1'420'070'400'000;
constexpr std::uint64_t some_unix_ms = 1'700'000'000'123; // 2023-11-14T22:13:20.123Z

emulator_config config_with(std::uint64_t seed, std::uint32_t guilds, std::uint32_t members) {
    emulator_config config;
    config.seed = seed;
    config.guilds = guilds;
    config.members_per_guild = members;
    return config;
}

// Parses `json`, failing the test when it is not valid JSON. The document lives in `parser`.
simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
    simdjson::dom::element root;
    const auto err = parser.parse(json).get(root);
    EXPECT_EQ(err, simdjson::SUCCESS) << json.substr(0, 2000);
    return root;
}

bool has(simdjson::dom::element obj, std::string_view key) {
    return obj.at_key(key).error() == simdjson::SUCCESS;
}

snowflake id_of(simdjson::dom::element e) {
    const std::string_view text = e.get_string().value();
    return std::stoull(std::string(text));
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return out;
}

// The first guild whose member count satisfies `pred`.
template <class Pred> const guild_info* guild_where(const catalog& c, Pred pred) {
    for (const auto& g : c.guilds()) {
        if (pred(g)) {
            return &g;
        }
    }
    return nullptr;
}

// READY -----------------------------------------------------------------------------------------

TEST(ready, has_exactly_the_routed_guilds_all_unavailable) {
    const catalog c(config_with(3, 40, 20));
    for (std::uint32_t shard = 0; shard < 3; ++shard) {
        em::ready_params p{"abc123", "ws://127.0.0.1:9/", shard, 3};
        const std::string body = em::ready_body(c, p);
        simdjson::dom::parser parser;
        const auto root = parse(parser, body);
        EXPECT_EQ(root["v"].get_uint64().value(), 10U);
        std::set<snowflake> got;
        for (const auto g : root["guilds"].get_array()) {
            EXPECT_TRUE(g["unavailable"].get_bool().value());
            got.insert(id_of(g["id"]));
        }
        std::set<snowflake> want;
        for (const auto* g : c.guilds_for_shard(shard, 3)) {
            want.insert(g->id);
        }
        EXPECT_EQ(got, want);
        const auto sh = root["shard"].get_array().value();
        ASSERT_EQ(sh.size(), 2U);
        EXPECT_EQ(sh.at(0).get_uint64().value(), shard);
        EXPECT_EQ(sh.at(1).get_uint64().value(), 3U);
        EXPECT_EQ(root["session_id"].get_string().value(), "abc123");
        EXPECT_EQ(root["resume_gateway_url"].get_string().value(), "ws://127.0.0.1:9/");
    }
}

TEST(ready, without_shard_has_every_guild_and_no_shard_key) {
    const catalog c(config_with(3, 12, 20));
    const std::string body = em::ready_body(c, em::ready_params{"s", "ws://x", std::nullopt, 1});
    simdjson::dom::parser parser;
    const auto root = parse(parser, body);
    EXPECT_FALSE(has(root, "shard"));
    EXPECT_EQ(root["guilds"].get_array().value().size(), 12U);
}

TEST(ready, describes_the_bot_and_application) {
    emulator_config config = config_with(5, 3, 10);
    config.allowed_privileged_intents = guild_members;
    const catalog c(config);
    simdjson::dom::parser parser;
    const auto root = parse(parser, em::ready_body(c, em::ready_params{"s", "ws://x", 0, 1}));
    const auto user = root["user"];
    EXPECT_EQ(id_of(user["id"]), c.bot_user().id);
    EXPECT_EQ(user["username"].get_string().value(), c.bot_user().username);
    EXPECT_TRUE(user["global_name"].is_null());
    EXPECT_EQ(user["discriminator"].get_string().value(), "0");
    EXPECT_TRUE(user["bot"].get_bool().value());
    EXPECT_TRUE(user["verified"].get_bool().value());
    EXPECT_TRUE(user["email"].is_null());
    EXPECT_FALSE(user["mfa_enabled"].get_bool().value());
    EXPECT_EQ(id_of(root["application"]["id"]), c.application_id());
    EXPECT_EQ(root["application"]["flags"].get_uint64().value(), 1U << 15U)
        << "GATEWAY_GUILD_MEMBERS_LIMITED";
    for (const char* key : {"private_channels", "relationships", "presences", "guild_join_requests",
                            "geo_ordered_rtc_regions"}) {
        EXPECT_TRUE(root[key].is_array()) << key;
    }
    EXPECT_TRUE(root["auth"].is_object());
    EXPECT_TRUE(root["user_settings"].is_object());
}

// GUILD_CREATE ----------------------------------------------------------------------------------

TEST(guild_create, without_presences_lists_only_the_bot) {
    const catalog c(config_with(2, 5, 30));
    const guild_info& g = c.guilds()[0];
    simdjson::dom::parser parser;
    const auto root = parse(parser, em::guild_create_body(c, g, guilds_intent, 250));
    const auto members = root["members"].get_array().value();
    ASSERT_EQ(members.size(), 1U);
    EXPECT_EQ(id_of(members.at(0)["user"]["id"]), c.bot_user().id);
    EXPECT_TRUE(members.at(0)["user"]["bot"].get_bool().value());
    EXPECT_EQ(root["member_count"].get_uint64().value(), g.member_count);
    EXPECT_FALSE(root["large"].get_bool().value());
}

TEST(guild_create, small_guild_with_presences_lists_everyone) {
    const catalog c(config_with(2, 5, 30));
    const guild_info& g = c.guilds()[1];
    ASSERT_LE(g.member_count, 250U);
    simdjson::dom::parser parser;
    const auto root =
        parse(parser, em::guild_create_body(c, g, guilds_intent | guild_presences, 250));
    EXPECT_FALSE(root["large"].get_bool().value());
    std::set<snowflake> listed;
    for (const auto m : root["members"].get_array()) {
        listed.insert(id_of(m["user"]["id"]));
    }
    EXPECT_EQ(listed.size(), g.member_count);
    for (std::uint32_t i = 0; i < g.member_count; ++i) {
        EXPECT_EQ(listed.count(c.member(g, i).id), 1U);
    }
    for (const auto p : root["presences"].get_array()) {
        EXPECT_EQ(listed.count(id_of(p["user"]["id"])), 1U);
        EXPECT_NE(p["status"].get_string().value(), "offline");
    }
}

TEST(guild_create, large_guild_with_presences_lists_only_online_members) {
    const catalog c(config_with(2, 5, 400));
    const guild_info& g = c.guilds()[0];
    ASSERT_GT(g.member_count, 50U);
    simdjson::dom::parser parser;
    const auto root =
        parse(parser, em::guild_create_body(c, g, guilds_intent | guild_presences, 50));
    EXPECT_TRUE(root["large"].get_bool().value());
    std::set<snowflake> members;
    for (const auto m : root["members"].get_array()) {
        members.insert(id_of(m["user"]["id"]));
    }
    std::set<snowflake> online;
    for (const auto p : root["presences"].get_array()) {
        EXPECT_NE(p["status"].get_string().value(), "offline");
        online.insert(id_of(p["user"]["id"]));
    }
    EXPECT_EQ(members, online) << "exactly the non-offline members";
    EXPECT_EQ(members.count(c.bot_user().id), 1U);
    EXPECT_GT(members.size(), 1U);
    EXPECT_LT(members.size(), g.member_count);
}

TEST(guild_create, carries_channels_roles_and_guild_fields) {
    const catalog c(config_with(4, 3, 30));
    const guild_info& g = c.guilds()[2];
    simdjson::dom::parser parser;
    const auto root = parse(parser, em::guild_create_body(c, g, guilds_intent, 50));
    EXPECT_EQ(id_of(root["id"]), g.id);
    EXPECT_EQ(root["name"].get_string().value(), g.name);
    EXPECT_FALSE(root["unavailable"].get_bool().value());
    // ISO-8601 as Discord writes it: 2021-03-04T05:06:07.890000+00:00
    const std::string_view joined = root["joined_at"].get_string().value();
    ASSERT_EQ(joined.size(), 32U) << joined;
    EXPECT_EQ(joined[10], 'T');
    EXPECT_EQ(joined.substr(23), "000+00:00");

    const auto channels = root["channels"].get_array().value();
    EXPECT_EQ(channels.size(), g.text_channel_ids.size() + g.voice_channel_ids.size());
    std::size_t text = 0;
    std::size_t voice = 0;
    for (const auto ch : channels) {
        EXPECT_FALSE(has(ch, "guild_id")) << "channels in GUILD_CREATE carry no guild_id";
        EXPECT_FALSE(ch["name"].get_string().value().empty());
        const auto type = ch["type"].get_uint64().value();
        const snowflake id = id_of(ch["id"]);
        if (type == 0) {
            EXPECT_EQ(id, g.text_channel_ids[text++]);
        } else {
            EXPECT_EQ(type, 2U);
            EXPECT_EQ(id, g.voice_channel_ids[voice++]);
        }
    }
    const auto roles = root["roles"].get_array().value();
    ASSERT_EQ(roles.size(), g.role_ids.size());
    EXPECT_EQ(id_of(roles.at(0)["id"]), g.id);
    EXPECT_EQ(roles.at(0)["name"].get_string().value(), "@everyone");
    EXPECT_TRUE(roles.at(g.role_ids.size() - 1)["managed"].get_bool().value());
    for (const char* key : {"voice_states", "threads", "presences", "stage_instances",
                            "guild_scheduled_events", "soundboard_sounds"}) {
        EXPECT_TRUE(root[key].is_array()) << key;
    }
}

TEST(guild_create, huge_guild_lists_only_the_bot_even_with_presences) {
    const catalog c(config_with(4, 2, 200'000));
    const guild_info* g =
        guild_where(c, [](const guild_info& x) { return x.member_count > 75'000; });
    ASSERT_NE(g, nullptr);
    simdjson::dom::parser parser;
    const auto root =
        parse(parser, em::guild_create_body(c, *g, guilds_intent | guild_presences, 250));
    EXPECT_EQ(root["members"].get_array().value().size(), 1U);
    EXPECT_TRUE(root["large"].get_bool().value());
}

// GUILD_MEMBERS_CHUNK ---------------------------------------------------------------------------

TEST(members_chunk, everyone_form_comes_in_chunks_of_a_thousand) {
    const catalog c(config_with(6, 20, 1'700));
    const guild_info* g = guild_where(
        c, [](const guild_info& x) { return x.member_count > 2'000 && x.member_count <= 3'000; });
    ASSERT_NE(g, nullptr);
    em::member_request r;
    r.guild_id = g->id;
    r.query = "";
    r.limit = 0;
    r.nonce = "n0nce";
    const auto chunks = em::guild_members_chunks(c, r, guilds_intent | guild_members);
    ASSERT_EQ(chunks.size(), 3U);
    std::set<snowflake> seen;
    for (std::size_t k = 0; k < chunks.size(); ++k) {
        simdjson::dom::parser parser;
        const auto root = parse(parser, chunks[k]);
        EXPECT_EQ(id_of(root["guild_id"]), g->id);
        EXPECT_EQ(root["chunk_index"].get_uint64().value(), k);
        EXPECT_EQ(root["chunk_count"].get_uint64().value(), 3U);
        EXPECT_EQ(root["nonce"].get_string().value(), "n0nce");
        EXPECT_FALSE(has(root, "presences"));
        EXPECT_FALSE(has(root, "not_found"));
        const auto members = root["members"].get_array().value();
        EXPECT_EQ(members.size(), k < 2 ? 1'000U : g->member_count - 2'000U);
        for (const auto m : members) {
            EXPECT_TRUE(seen.insert(id_of(m["user"]["id"])).second);
            EXPECT_TRUE(m["roles"].is_array());
            EXPECT_TRUE(m["joined_at"].is_string());
            EXPECT_FALSE(m["pending"].get_bool().value());
            EXPECT_FALSE(m["deaf"].get_bool().value());
            EXPECT_EQ(m["flags"].get_uint64().value(), 0U);
        }
    }
    EXPECT_EQ(seen.size(), g->member_count);
}

TEST(members_chunk, query_is_a_case_insensitive_username_prefix_within_limit) {
    const catalog c(config_with(6, 3, 1'000));
    const guild_info& g = c.guilds()[0];
    const std::string prefix = c.member(g, 5).username.substr(0, 1);
    std::size_t matching = 0;
    for (std::uint32_t i = 0; i < g.member_count; ++i) {
        matching += c.member(g, i).username.rfind(prefix, 0) == 0 ? 1U : 0U;
    }
    ASSERT_GT(matching, 10U);
    for (const std::uint32_t limit : {3U, 10U, 500U}) {
        em::member_request r;
        r.guild_id = g.id;
        std::string upper = prefix;
        upper[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[0])));
        r.query = upper;
        r.limit = limit;
        const auto chunks = em::guild_members_chunks(c, r, guilds_intent);
        ASSERT_EQ(chunks.size(), 1U);
        simdjson::dom::parser parser;
        const auto root = parse(parser, chunks[0]);
        const auto members = root["members"].get_array().value();
        EXPECT_EQ(members.size(), std::min<std::size_t>({limit, std::size_t{100}, matching}));
        for (const auto m : members) {
            const auto name = lower(m["user"]["username"].get_string().value());
            EXPECT_EQ(name.rfind(prefix, 0), 0U) << name;
        }
        EXPECT_FALSE(has(root, "nonce"));
    }
}

TEST(members_chunk, user_ids_report_the_unknown_ones_in_not_found) {
    const catalog c(config_with(6, 3, 100));
    const guild_info& g = c.guilds()[0];
    const guild_info& other = c.guilds()[1];
    em::member_request r;
    r.guild_id = g.id;
    const snowflake stranger = c.member(other, 1).id;
    r.user_ids = {c.member(g, 3).id, 12'345, c.member(g, 7).id, stranger, c.bot_user().id};
    const auto chunks = em::guild_members_chunks(c, r, guilds_intent);
    ASSERT_EQ(chunks.size(), 1U);
    simdjson::dom::parser parser;
    const auto root = parse(parser, chunks[0]);
    std::set<snowflake> found;
    for (const auto m : root["members"].get_array()) {
        found.insert(id_of(m["user"]["id"]));
    }
    EXPECT_EQ(found, (std::set<snowflake>{c.member(g, 3).id, c.member(g, 7).id, c.bot_user().id}));
    std::vector<snowflake> not_found;
    for (const auto id : root["not_found"].get_array()) {
        ASSERT_TRUE(id.is_string()) << "ids are strings";
        not_found.push_back(id_of(id));
    }
    EXPECT_EQ(not_found, (std::vector<snowflake>{12'345, stranger}));
}

TEST(members_chunk, user_ids_are_capped_at_a_hundred) {
    const catalog c(config_with(6, 1, 1'000));
    const guild_info& g = c.guilds()[0];
    em::member_request r;
    r.guild_id = g.id;
    for (std::uint32_t i = 0; i < 150; ++i) {
        r.user_ids.push_back(c.member(g, i).id);
    }
    const auto chunks = em::guild_members_chunks(c, r, guilds_intent);
    ASSERT_EQ(chunks.size(), 1U);
    simdjson::dom::parser parser;
    EXPECT_EQ(parse(parser, chunks[0])["members"].get_array().value().size(), 100U);
}

TEST(members_chunk, presences_only_when_asked_and_allowed) {
    const catalog c(config_with(6, 1, 200));
    const guild_info& g = c.guilds()[0];
    em::member_request r;
    r.guild_id = g.id;
    r.query = "";
    r.limit = 50;
    r.presences = true;
    {
        simdjson::dom::parser parser;
        const auto root =
            parse(parser, em::guild_members_chunks(c, r, guilds_intent | guild_members)[0]);
        EXPECT_FALSE(has(root, "presences")) << "GUILD_PRESENCES missing: treated as false";
        EXPECT_EQ(root["members"].get_array().value().size(), 50U);
    }
    {
        simdjson::dom::parser parser;
        const auto root =
            parse(parser, em::guild_members_chunks(c, r, guilds_intent | guild_presences)[0]);
        const auto presences = root["presences"].get_array().value();
        EXPECT_GT(presences.size(), 0U);
        for (const auto p : presences) {
            EXPECT_NE(p["status"].get_string().value(), "offline");
        }
    }
    r.presences = false;
    {
        simdjson::dom::parser parser;
        const auto root =
            parse(parser, em::guild_members_chunks(c, r, guilds_intent | guild_presences)[0]);
        EXPECT_FALSE(has(root, "presences"));
    }
}

TEST(members_chunk, unknown_guild_gives_one_empty_chunk) {
    const catalog c(config_with(6, 2, 10));
    em::member_request r;
    r.guild_id = 42;
    r.user_ids = {7, 8};
    r.nonce = "x";
    const auto chunks = em::guild_members_chunks(c, r, guilds_intent);
    ASSERT_EQ(chunks.size(), 1U);
    simdjson::dom::parser parser;
    const auto root = parse(parser, chunks[0]);
    EXPECT_EQ(id_of(root["guild_id"]), 42U);
    EXPECT_EQ(root["members"].get_array().value().size(), 0U);
    EXPECT_EQ(root["chunk_count"].get_uint64().value(), 1U);
    EXPECT_EQ(root["not_found"].get_array().value().size(), 2U);
    EXPECT_EQ(root["nonce"].get_string().value(), "x");

    em::member_request q;
    q.guild_id = 42;
    q.query = "";
    q.limit = 0;
    const auto empty = em::guild_members_chunks(c, q, guilds_intent | guild_members);
    ASSERT_EQ(empty.size(), 1U);
    simdjson::dom::parser parser2;
    EXPECT_EQ(parse(parser2, empty[0])["members"].get_array().value().size(), 0U);
}

// Other answers ---------------------------------------------------------------------------------

TEST(rate_limited, echoes_guild_and_nonce) {
    simdjson::dom::parser parser;
    const auto root = parse(parser, em::rate_limited_body(123, 29.5, std::string("abc")));
    EXPECT_EQ(root["opcode"].get_uint64().value(), 8U);
    EXPECT_DOUBLE_EQ(root["retry_after"].get_double().value(), 29.5);
    EXPECT_EQ(id_of(root["meta"]["guild_id"]), 123U);
    EXPECT_EQ(root["meta"]["nonce"].get_string().value(), "abc");

    simdjson::dom::parser parser2;
    const auto bare = parse(parser2, em::rate_limited_body(123, 1.0, std::nullopt));
    EXPECT_FALSE(has(bare["meta"], "nonce"));
}

TEST(voice_state, join_answers_with_state_and_server) {
    const catalog c(config_with(7, 2, 10));
    const guild_info& g = c.guilds()[0];
    const snowflake channel = g.voice_channel_ids[0];
    const auto answer = em::voice_state_answer(c, g.id, channel, true, false, "sess");
    ASSERT_EQ(answer.size(), 2U);
    EXPECT_EQ(answer[0].t, "VOICE_STATE_UPDATE");
    EXPECT_EQ(answer[1].t, "VOICE_SERVER_UPDATE");
    simdjson::dom::parser parser;
    const auto state = parse(parser, answer[0].d);
    EXPECT_EQ(id_of(state["guild_id"]), g.id);
    EXPECT_EQ(id_of(state["channel_id"]), channel);
    EXPECT_EQ(id_of(state["user_id"]), c.bot_user().id);
    EXPECT_EQ(state["session_id"].get_string().value(), "sess");
    EXPECT_TRUE(state["self_mute"].get_bool().value());
    EXPECT_FALSE(state["self_deaf"].get_bool().value());
    EXPECT_FALSE(state["deaf"].get_bool().value());
    EXPECT_FALSE(state["mute"].get_bool().value());
    EXPECT_FALSE(state["suppress"].get_bool().value());
    EXPECT_TRUE(state["request_to_speak_timestamp"].is_null());
    EXPECT_EQ(id_of(state["member"]["user"]["id"]), c.bot_user().id);
    simdjson::dom::parser parser2;
    const auto server = parse(parser2, answer[1].d);
    EXPECT_FALSE(server["token"].get_string().value().empty());
    EXPECT_EQ(id_of(server["guild_id"]), g.id);
    EXPECT_NE(server["endpoint"].get_string().value().find("discord.media"), std::string::npos);
}

TEST(voice_state, leave_answers_with_state_only) {
    const catalog c(config_with(7, 2, 10));
    const guild_info& g = c.guilds()[0];
    const auto answer = em::voice_state_answer(c, g.id, std::nullopt, false, true, "sess");
    ASSERT_EQ(answer.size(), 1U);
    simdjson::dom::parser parser;
    const auto state = parse(parser, answer[0].d);
    EXPECT_TRUE(state["channel_id"].is_null());
    EXPECT_TRUE(state["self_deaf"].get_bool().value());
    EXPECT_TRUE(em::voice_state_answer(c, 42, std::nullopt, false, false, "s").empty())
        << "not a guild of the bot";
}

TEST(soundboard, lists_a_few_sounds_of_the_guild) {
    const catalog c(config_with(7, 2, 10));
    const guild_info& g = c.guilds()[1];
    simdjson::dom::parser parser;
    const auto root = parse(parser, em::soundboard_sounds_body(c, g.id));
    EXPECT_EQ(id_of(root["guild_id"]), g.id);
    const auto sounds = root["soundboard_sounds"].get_array().value();
    EXPECT_GE(sounds.size(), 2U);
    for (const auto s : sounds) {
        EXPECT_EQ(id_of(s["guild_id"]), g.id);
        EXPECT_FALSE(s["name"].get_string().value().empty());
        EXPECT_GT(id_of(s["sound_id"]), 0U);
        EXPECT_GT(s["volume"].get_double().value(), 0.0);
    }
    simdjson::dom::parser parser2;
    EXPECT_EQ(parse(parser2, em::soundboard_sounds_body(c, 42))["soundboard_sounds"]
                  .get_array()
                  .value()
                  .size(),
              0U);
}

TEST(channel_info, lists_voice_channels_with_the_requested_fields_only) {
    const catalog c(config_with(7, 4, 10));
    const guild_info& g = c.guilds()[0];
    const auto check = [&](const std::vector<std::string>& fields, bool status, bool start) {
        simdjson::dom::parser parser;
        const auto root = parse(parser, em::channel_info_body(c, g.id, fields));
        EXPECT_EQ(id_of(root["guild_id"]), g.id);
        const auto channels = root["channels"].get_array().value();
        ASSERT_EQ(channels.size(), g.voice_channel_ids.size());
        std::size_t k = 0;
        for (const auto ch : channels) {
            EXPECT_EQ(id_of(ch["id"]), g.voice_channel_ids[k++]);
            EXPECT_EQ(has(ch, "status"), status);
            EXPECT_EQ(has(ch, "voice_start_time"), start);
            if (start && !ch["voice_start_time"].is_null()) {
                EXPECT_GT(ch["voice_start_time"].get_uint64().value(), 1'600'000'000U);
            }
        }
    };
    check({"status"}, true, false);
    check({"voice_start_time"}, false, true);
    check({"status", "voice_start_time"}, true, true);
    check({}, false, false);
}

// Traffic -----------------------------------------------------------------------------------------

std::map<std::string, int> kinds_seen(const catalog& c, std::uint64_t intents, int n) {
    em::traffic_generator gen(c, 1, 0, 1, intents);
    std::map<std::string, int> seen;
    for (int i = 0; i < n; ++i) {
        const auto ev = gen.next(some_unix_ms + static_cast<std::uint64_t>(i));
        if (!ev) {
            break;
        }
        ++seen[ev->t];
    }
    return seen;
}

TEST(traffic, only_kinds_the_intents_allow) {
    const catalog c(config_with(8, 10, 100));
    const auto messages = kinds_seen(c, guild_messages, 2'000);
    ASSERT_FALSE(messages.empty());
    for (const auto& [t, n] : messages) {
        EXPECT_TRUE(t == "MESSAGE_CREATE" || t == "MESSAGE_UPDATE" || t == "MESSAGE_DELETE") << t;
    }
    EXPECT_GT(messages.at("MESSAGE_CREATE"), messages.at("MESSAGE_UPDATE"));

    EXPECT_TRUE(kinds_seen(c, guilds_intent, 100).empty());
    EXPECT_TRUE(kinds_seen(c, direct_messages, 100).empty()) << "DMs are not guild traffic";

    const auto presences = kinds_seen(c, guild_presences, 200);
    ASSERT_EQ(presences.size(), 1U);
    EXPECT_EQ(presences.begin()->first, "PRESENCE_UPDATE");

    const auto typing = kinds_seen(c, guild_message_typing | guild_message_reactions, 500);
    EXPECT_EQ(typing.size(), 2U);
    EXPECT_EQ(typing.count("TYPING_START"), 1U);
    EXPECT_EQ(typing.count("MESSAGE_REACTION_ADD"), 1U);

    const auto all = kinds_seen(c, shardgate::gateway::documented_intents_mask, 5'000);
    EXPECT_EQ(all.size(), 7U);
    EXPECT_EQ(all.count("GUILD_MEMBER_UPDATE"), 1U);
}

TEST(traffic, every_body_is_valid_json_in_a_routed_guild) {
    const catalog c(config_with(9, 30, 200));
    std::set<snowflake> routed;
    for (const auto* g : c.guilds_for_shard(1, 3)) {
        routed.insert(g->id);
    }
    ASSERT_FALSE(routed.empty());
    em::traffic_generator gen(c, 9, 1, 3, shardgate::gateway::documented_intents_mask);
    simdjson::dom::parser parser;
    for (int i = 0; i < 3'000; ++i) {
        const auto ev = gen.next(some_unix_ms + static_cast<std::uint64_t>(i) * 37);
        ASSERT_TRUE(ev);
        const auto root = parse(parser, ev->d);
        ASSERT_TRUE(has(root, "guild_id")) << ev->t;
        const snowflake guild_id = id_of(root["guild_id"]);
        ASSERT_EQ(routed.count(guild_id), 1U) << ev->t;
        const guild_info* g = c.find_guild(guild_id);
        if (ev->t == "MESSAGE_CREATE") {
            EXPECT_TRUE(c.member_index(*g, id_of(root["author"]["id"])));
            EXPECT_EQ(std::count(g->text_channel_ids.begin(), g->text_channel_ids.end(),
                                 id_of(root["channel_id"])),
                      1);
        } else if (ev->t == "TYPING_START" || ev->t == "MESSAGE_REACTION_ADD") {
            EXPECT_TRUE(c.member_index(*g, id_of(root["user_id"])));
        } else if (ev->t == "PRESENCE_UPDATE" || ev->t == "GUILD_MEMBER_UPDATE") {
            EXPECT_TRUE(c.member_index(*g, id_of(root["user"]["id"])));
        }
    }
}

TEST(traffic, same_seed_and_shard_repeat) {
    const catalog c(config_with(10, 20, 100));
    const auto intents = shardgate::gateway::documented_intents_mask;
    em::traffic_generator a(c, 5, 0, 2, intents);
    em::traffic_generator b(c, 5, 0, 2, intents);
    em::traffic_generator other_shard(c, 5, 1, 2, intents);
    em::traffic_generator other_seed(c, 6, 0, 2, intents);
    int differs_shard = 0;
    int differs_seed = 0;
    for (int i = 0; i < 200; ++i) {
        const auto ea = a.next(some_unix_ms + static_cast<std::uint64_t>(i));
        const auto eb = b.next(some_unix_ms + static_cast<std::uint64_t>(i));
        ASSERT_TRUE(ea && eb);
        EXPECT_EQ(ea->t, eb->t);
        EXPECT_EQ(ea->d, eb->d);
        differs_shard += other_shard.next(some_unix_ms)->d != ea->d ? 1 : 0;
        differs_seed += other_seed.next(some_unix_ms)->d != ea->d ? 1 : 0;
    }
    EXPECT_GT(differs_shard, 190);
    EXPECT_GT(differs_seed, 190);
}

TEST(traffic, message_create_has_realistic_size_and_fields) {
    const catalog c(config_with(11, 10, 500));
    for (const std::uint64_t content : {std::uint64_t{0}, message_content}) {
        em::traffic_generator gen(c, 11, 0, 1, guild_messages | content);
        std::size_t total = 0;
        std::size_t count = 0;
        std::size_t with_text = 0;
        simdjson::dom::parser parser;
        for (int i = 0; i < 4'000; ++i) {
            const auto ev = gen.make("MESSAGE_CREATE", some_unix_ms);
            total += ev.d.size();
            ++count;
            const auto root = parse(parser, ev.d);
            EXPECT_EQ(root["timestamp"].get_string().value(), "2023-11-14T22:13:20.123000+00:00");
            EXPECT_EQ((id_of(root["id"]) >> 22U) + discord_epoch_ms, some_unix_ms);
            EXPECT_TRUE(root["member"].is_object());
            EXPECT_TRUE(root["author"].is_object());
            EXPECT_TRUE(root["mentions"].is_array());
            EXPECT_TRUE(root["embeds"].is_array());
            EXPECT_TRUE(root["attachments"].is_array());
            const auto text = root["content"].get_string().value();
            if (!text.empty()) {
                ++with_text;
                if (content == 0) {
                    // Without MESSAGE_CONTENT only messages that mention the bot show text (§9).
                    bool mentions_bot = false;
                    for (const auto m : root["mentions"].get_array()) {
                        mentions_bot = mentions_bot || id_of(m["id"]) == c.bot_user().id;
                    }
                    EXPECT_TRUE(mentions_bot) << text;
                }
            }
        }
        const double mean = static_cast<double>(total) / static_cast<double>(count);
        EXPECT_GE(mean, 600.0) << "MESSAGE_CONTENT " << content;
        EXPECT_LE(mean, 1'500.0) << "MESSAGE_CONTENT " << content;
        if (content != 0) {
            EXPECT_GT(with_text, count * 9 / 10);
        } else {
            EXPECT_LT(with_text, count / 10);
        }
    }
}

TEST(traffic, message_ids_are_unique) {
    const catalog c(config_with(12, 10, 100));
    em::traffic_generator gen(c, 12, 0, 1, guild_messages);
    std::set<snowflake> ids;
    simdjson::dom::parser parser;
    for (int i = 0; i < 3'000; ++i) {
        const auto ev = gen.make("MESSAGE_CREATE", some_unix_ms); // all in the same ms
        EXPECT_TRUE(ids.insert(id_of(parse(parser, ev.d)["id"])).second);
    }
}

TEST(traffic, updates_and_deletes_refer_to_generated_messages) {
    const catalog c(config_with(13, 5, 100));
    em::traffic_generator gen(c, 13, 0, 1, guild_messages);
    std::set<snowflake> created;
    simdjson::dom::parser parser;
    for (int i = 0; i < 20; ++i) {
        const auto ev = gen.make("MESSAGE_CREATE", some_unix_ms + static_cast<std::uint64_t>(i));
        created.insert(id_of(parse(parser, ev.d)["id"]));
    }
    for (int i = 0; i < 10; ++i) {
        const auto up = gen.make("MESSAGE_UPDATE", some_unix_ms + 1'000);
        const auto root = parse(parser, up.d);
        EXPECT_EQ(created.count(id_of(root["id"])), 1U);
        EXPECT_TRUE(root["edited_timestamp"].is_string());
    }
    for (int i = 0; i < 10; ++i) {
        const auto del = gen.make("MESSAGE_DELETE", some_unix_ms + 2'000);
        EXPECT_EQ(created.erase(id_of(parse(parser, del.d)["id"])), 1U) << "each deleted once";
    }
}

TEST(traffic, make_builds_named_kinds_and_a_minimal_body_for_others) {
    const catalog c(config_with(14, 6, 50));
    em::traffic_generator gen(c, 14, 0, 1, guilds_intent); // make() ignores intents
    simdjson::dom::parser parser;
    for (const char* t :
         {"MESSAGE_CREATE", "TYPING_START", "MESSAGE_REACTION_ADD", "PRESENCE_UPDATE",
          "GUILD_MEMBER_UPDATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"}) {
        const auto ev = gen.make(t, some_unix_ms);
        EXPECT_EQ(ev.t, t);
        const auto root = parse(parser, ev.d);
        EXPECT_NE(c.find_guild(id_of(root["guild_id"])), nullptr) << t;
    }
    const auto other = gen.make("GUILD_BAN_ADD", some_unix_ms);
    EXPECT_EQ(other.t, "GUILD_BAN_ADD");
    const auto root = parse(parser, other.d);
    EXPECT_EQ(root.get_object().value().size(), 1U);
    EXPECT_NE(c.find_guild(id_of(root["guild_id"])), nullptr);
    EXPECT_FALSE(gen.next(some_unix_ms)) << "GUILDS alone lets none of the kinds through";
}

TEST(traffic, shard_without_guilds_is_quiet) {
    const catalog c(config_with(15, 1, 50));
    const std::uint32_t empty_shard = ((c.guilds()[0].id >> 22U) + 1) % 2;
    em::traffic_generator gen(c, 15, empty_shard, 2, shardgate::gateway::documented_intents_mask);
    EXPECT_FALSE(gen.next(some_unix_ms));
    const auto ev = gen.make("MESSAGE_CREATE", some_unix_ms);
    simdjson::dom::parser parser;
    EXPECT_TRUE(parse(parser, ev.d).is_object());
}

} // namespace
