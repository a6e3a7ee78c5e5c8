#include "shardgate/emulator/control_api.hpp"

#include "shardgate/emulator/world.hpp"
#include "support/emulator_harness.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace shardgate::test {
namespace {

// Routes requests without sockets; the effect runner records what it was asked and answers with
// a chosen number of connections.
struct control_fixture {
    emulator_harness h;
    std::vector<emu::control_effect> effects;
    std::size_t connections_that_take_it = 1;

    explicit control_fixture(emu::emulator_config config = emulator_test_config())
        : h(std::move(config)) {}

    emu::http_response request(std::string_view method, std::string_view target,
                               std::string_view body = {}, std::string_view authorization = {}) {
        return emu::handle_http_request(h.world, {method, target, authorization, body}, h.now,
                                        [this](const emu::control_effect& e) {
                                            effects.push_back(e);
                                            return connections_that_take_it;
                                        });
    }
    emu::http_response get(std::string_view target, std::string_view authorization = {}) {
        return request("GET", target, {}, authorization);
    }
    emu::http_response post(std::string_view target, std::string_view body = {}) {
        return request("POST", target, body);
    }
    // The one effect the last request asked for.
    template <class Effect> Effect only_effect() {
        EXPECT_EQ(effects.size(), 1U);
        const auto* e = effects.empty() ? nullptr : std::get_if<Effect>(&effects.back());
        EXPECT_NE(e, nullptr);
        return e != nullptr ? *e : Effect{};
    }
};

constexpr std::string_view not_found_body = R"({"message":"404: Not Found","code":0})";
constexpr std::string_view method_not_allowed_body =
    R"({"message":"405: Method Not Allowed","code":0})";
constexpr std::string_view bad_close_code =
    R"({"ok":false,"error":"\"code\" must be a close code a server may send: 1000-1003, )"
    R"(1007-1014 or 3000-4999, e.g. {\"code\":4000}"})";

// Discovery
// -------------------------------------------------------------------------------------------------

TEST(emulator_control_api, gateway_answers_the_ws_url) {
    control_fixture f;
    for (const auto* target :
         {"/api/v10/gateway", "/api/v10/gateway/", "/api/v9/gateway", "/api/v10/gateway?v=10"}) {
        const auto r = f.get(target);
        EXPECT_EQ(r.status, 200) << target;
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_EQ(r.body, R"({"url":"ws://emulator.test"})") << target;
        EXPECT_TRUE(r.allow.empty());
    }
}

TEST(emulator_control_api, gateway_with_another_method_is_405_allowing_get) {
    control_fixture f;
    for (const auto* method : {"POST", "PUT", "HEAD", "get"}) {
        const auto r = f.request(method, "/api/v10/gateway");
        EXPECT_EQ(r.status, 405) << method;
        EXPECT_EQ(r.allow, "GET");
        EXPECT_EQ(r.body, method_not_allowed_body);
    }
    const auto bot = f.request("POST", "/api/v10/gateway/bot", {}, "Bot good-token-SECRET");
    EXPECT_EQ(bot.status, 405);
    EXPECT_EQ(bot.allow, "GET");
}

TEST(emulator_control_api, gateway_bot_answers_with_a_valid_bot_token) {
    control_fixture f;
    for (const auto* auth : {"Bot good-token-SECRET", "Bot good-token-SECRET  "}) {
        const auto r = f.get("/api/v10/gateway/bot", auth);
        EXPECT_EQ(r.status, 200) << auth;
        EXPECT_EQ(r.body, f.h.world.gateway_bot_json(f.h.now));
    }
    EXPECT_EQ(f.get("/api/v9/gateway/bot/", "Bot good-token-SECRET").status, 200);
}

TEST(emulator_control_api, gateway_bot_is_401_without_a_valid_bot_token) {
    control_fixture f;
    for (const auto* auth : {"", "Bot ", "Bot    ", "Bot wrong", "Bearer good-token-SECRET",
                             "bot good-token-SECRET", "good-token-SECRET"}) {
        const auto r = f.get("/api/v10/gateway/bot", auth);
        EXPECT_EQ(r.status, 401) << '"' << auth << '"';
        EXPECT_EQ(r.body, R"({"message":"401: Unauthorized","code":0})");
    }
}

TEST(emulator_control_api, gateway_bot_is_401_after_the_token_reset) {
    auto config = emulator_test_config();
    config.session_start_total = 1;
    config.identify_window = 0ms;
    control_fixture f(config);
    auto& first = f.h.connect();
    f.h.identify(first);
    ASSERT_EQ(f.get("/api/v10/gateway/bot", "Bot good-token-SECRET").status, 200);
    auto& second = f.h.connect();
    f.h.identify(second); // no session starts left: Discord resets the token
    EXPECT_EQ(f.get("/api/v10/gateway/bot", "Bot good-token-SECRET").status, 401);
}

TEST(emulator_control_api, unknown_paths_are_404) {
    control_fixture f;
    for (const auto* target :
         {"/api/v10/users/@me", "/api/v8/gateway", "/api/v10", "/nothing", "/_emulator",
          "/_emulator/", "/_emulator/nope", "/_emulator/stats/", "/_emulator/shards",
          "/_emulator/shards/0", "/_emulator/shards/0/", "/_emulator/shards/0/nope",
          "/_emulator/shards/0/silent_zombie", "/_emulator/shards/0/close/x"}) {
        for (const auto* method : {"GET", "POST"}) {
            const auto r = f.request(method, target);
            EXPECT_EQ(r.status, 404) << method << ' ' << target;
            EXPECT_EQ(r.body, not_found_body) << method << ' ' << target;
        }
    }
    EXPECT_EQ(f.post("/").status, 404);
    EXPECT_TRUE(f.effects.empty());
}

TEST(emulator_control_api, root_tells_where_the_gateway_is) {
    control_fixture f;
    const auto r = f.get("/?x=1");
    EXPECT_EQ(r.status, 426);
    EXPECT_EQ(r.body, R"({"ok":false,"error":"this is the gateway: open a WebSocket to )"
                      R"(ws://emulator.test/?v=10&encoding=json"})");
}

// Observation
// -------------------------------------------------------------------------------------------------

TEST(emulator_control_api, stats_and_log_are_the_worlds_json) {
    control_fixture f;
    auto& c = f.h.connect();
    f.h.identify(c);
    const auto stats = f.get("/_emulator/stats");
    EXPECT_EQ(stats.status, 200);
    EXPECT_EQ(stats.body, f.h.world.stats_json());
    const auto log = f.get("/_emulator/log?since=0");
    EXPECT_EQ(log.status, 200);
    EXPECT_EQ(log.body, f.h.world.log_json());
    for (const auto* target : {"/_emulator/stats", "/_emulator/log"}) {
        const auto r = f.post(target);
        EXPECT_EQ(r.status, 405) << target;
        EXPECT_EQ(r.allow, "GET");
    }
}

// Faults
// -------------------------------------------------------------------------------------------------

TEST(emulator_control_api, with_a_control_token_every_control_route_needs_it_as_bearer) {
    auto config = emulator_test_config();
    config.control_token = gw::secret("ctl-SECRET-token");
    control_fixture f(config);
    const std::string_view needed =
        R"({"ok":false,"error":"the control API needs Authorization: Bearer <control token>"})";
    for (const auto& auth :
         {std::string(), std::string("Bearer wrong"), std::string("Bearer ctl-SECRET-token2"),
          std::string("Bearer ctl"), std::string("Bot ctl-SECRET-token"),
          std::string("ctl-SECRET-token"), std::string("Bearer  ctl-SECRET-token")}) {
        for (const auto* path : {"/_emulator/stats", "/_emulator/log"}) {
            const auto r = f.get(path, auth);
            EXPECT_EQ(r.status, 401) << path << " with '" << auth << "'";
            EXPECT_EQ(r.body, needed);
            EXPECT_EQ(r.www_authenticate, "Bearer");
        }
        const auto post = f.request("POST", "/_emulator/shards/0/close", "", auth);
        EXPECT_EQ(post.status, 401);
        EXPECT_EQ(f.request("POST", "/_emulator/nonexistent", "", auth).status, 401)
            << "nothing under /_emulator/ is revealed without the token";
    }
    EXPECT_TRUE(f.effects.empty());
    EXPECT_EQ(f.get("/_emulator/stats", "Bearer ctl-SECRET-token").status, 200);
    EXPECT_EQ(f.request("POST", "/_emulator/shards/0/close", "", "Bearer ctl-SECRET-token").status,
              200);
    EXPECT_EQ(f.effects.size(), 1U);
    // Discovery and the gateway keep their own rules.
    EXPECT_EQ(f.get("/api/v10/gateway").status, 200);
    EXPECT_EQ(f.get("/api/v10/gateway/bot", "Bot good-token-SECRET").status, 200);
}

TEST(emulator_control_api, without_a_control_token_control_routes_are_open) {
    control_fixture f;
    EXPECT_EQ(f.get("/_emulator/stats").status, 200);
    EXPECT_EQ(f.get("/_emulator/stats", "Bearer anything").status, 200);
}

TEST(emulator_control_api, shard_commands_become_typed_faults) {
    struct row {
        std::string_view path;
        std::string_view body;
        emu::fault_kind fault;
        std::uint16_t close_code;
        bool resumable;
    };
    const row rows[] = {
        {"close", "", emu::fault_kind::close, 4000, false},
        {"close", R"({"code":4014})", emu::fault_kind::close, 4014, false},
        {"close", R"({"code":1000})", emu::fault_kind::close, 1000, false},
        {"close", R"({"code":3000})", emu::fault_kind::close, 3000, false},
        {"reconnect", "", emu::fault_kind::reconnect, 4000, false},
        {"invalidate", "", emu::fault_kind::invalidate, 4000, false},
        {"invalidate", R"({"resumable":true})", emu::fault_kind::invalidate, 4000, true},
        {"zombie", "", emu::fault_kind::zombie, 4000, false},
        {"zombie", R"({"silent":false})", emu::fault_kind::zombie, 4000, false},
        {"zombie", R"({"silent":true})", emu::fault_kind::silent_zombie, 4000, false},
        {"drop", "{}", emu::fault_kind::drop, 4000, false},
        {"heartbeat", " \r\n", emu::fault_kind::heartbeat, 4000, false},
        {"split", "", emu::fault_kind::split, 4000, false},
        {"stall", "", emu::fault_kind::stall, 4000, false},
    };
    for (const auto& r : rows) {
        control_fixture f;
        f.connections_that_take_it = 2;
        const auto target = "/_emulator/shards/3/" + std::string(r.path);
        const auto answer = f.post(target, r.body);
        EXPECT_EQ(answer.status, 200) << target << ' ' << r.body;
        EXPECT_EQ(answer.body, R"({"ok":true,"connections":2})");
        const auto e = f.only_effect<emu::inject_fault>();
        EXPECT_EQ(e.shard, 3U);
        EXPECT_EQ(e.fault, r.fault) << target << ' ' << r.body;
        EXPECT_EQ(e.close_code, r.close_code) << target << ' ' << r.body;
        EXPECT_EQ(e.resumable, r.resumable) << target << ' ' << r.body;
        EXPECT_EQ(emu::target_shard(f.effects.back()), 3U);
    }
}

TEST(emulator_control_api, hostile_modes_for_open_connections_become_typed_faults) {
    control_fixture f;
    const auto r =
        f.post("/_emulator/shards/3/hostile", R"({"mode":"compression_bomb","bytes":1024})");
    EXPECT_EQ(r.status, 200) << r.body;
    auto e = f.only_effect<emu::inject_fault>();
    EXPECT_EQ(e.shard, 3U);
    EXPECT_EQ(e.fault, emu::fault_kind::hostile);
    EXPECT_EQ(e.hostile, emu::hostile_mode::compression_bomb);
    EXPECT_EQ(e.amount, 1024U);
    f.effects.clear();
    ASSERT_EQ(f.post("/_emulator/shards/0/hostile", R"({"mode":"heartbeat_burst"})").status, 200);
    e = f.only_effect<emu::inject_fault>();
    EXPECT_EQ(e.hostile, emu::hostile_mode::heartbeat_burst);
    EXPECT_EQ(e.amount, 0U) << "the mode's default";
    f.effects.clear();
    for (const auto* bad :
         {R"({})", R"({"mode":"bomb"})", R"({"mode":"heartbeat_burst","count":0})",
          R"({"mode":"heartbeat_burst","count":10001})",
          R"({"mode":"oversized_frame","bytes":"big"})", R"({"mode":"ready_before_hello"})"}) {
        const auto b = f.post("/_emulator/shards/0/hostile", bad);
        EXPECT_EQ(b.status, 400) << bad << " " << b.body;
    }
    EXPECT_NE(f.post("/_emulator/shards/0/hostile", R"({"mode":"ready_before_hello"})")
                  .body.find("POST /_emulator/hostile"),
              std::string::npos);
    EXPECT_TRUE(f.effects.empty());
    f.connections_that_take_it = 0;
    const auto none = f.post("/_emulator/shards/0/hostile", R"({"mode":"compression_bomb"})");
    EXPECT_EQ(none.status, 404);
    EXPECT_NE(none.body.find("zlib-stream"), std::string::npos) << none.body;
}

TEST(emulator_control_api, hostile_start_modes_are_armed_for_the_next_connections) {
    control_fixture f;
    const auto r =
        f.post("/_emulator/hostile", R"({"mode":"hello_zero_interval","connections":2})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true,"armed":2})");
    EXPECT_EQ(f.h.connect().frames.front().text,
              R"({"op":10,"d":{"heartbeat_interval":0},"s":null,"t":null})");
    EXPECT_EQ(f.h.connect().frames.front().text,
              R"({"op":10,"d":{"heartbeat_interval":0},"s":null,"t":null})");
    EXPECT_EQ(f.h.connect().frames.front().text,
              R"({"op":10,"d":{"heartbeat_interval":1000},"s":null,"t":null})");
    EXPECT_EQ(f.post("/_emulator/hostile", R"({"mode":"ready_before_hello"})").body,
              R"({"ok":true,"armed":1})");
    const auto wrong = f.post("/_emulator/hostile", R"({"mode":"compression_bomb"})");
    EXPECT_EQ(wrong.status, 400);
    EXPECT_NE(wrong.body.find("/_emulator/shards/{id}/hostile"), std::string::npos) << wrong.body;
    EXPECT_EQ(
        f.post("/_emulator/hostile", R"({"mode":"bad_resume_url","connections":1001})").status,
        400);
    EXPECT_EQ(f.get("/_emulator/hostile").status, 405);
    EXPECT_TRUE(f.effects.empty());
}

TEST(emulator_control_api, shard_command_for_a_shard_without_connections_is_404) {
    control_fixture f;
    f.connections_that_take_it = 0;
    const auto r = f.post("/_emulator/shards/7/close", R"({"code":4000})");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"ok":false,"error":"no open connection has shard 7"})");
    EXPECT_EQ(f.effects.size(), 1U);
}

TEST(emulator_control_api, shard_command_with_another_method_is_405_allowing_post) {
    control_fixture f;
    for (const auto* method : {"GET", "PUT", "DELETE"}) {
        const auto r = f.request(method, "/_emulator/shards/0/close");
        EXPECT_EQ(r.status, 405) << method;
        EXPECT_EQ(r.allow, "POST");
    }
    // The method is checked before the shard id.
    EXPECT_EQ(f.get("/_emulator/shards/x/drop").status, 405);
    EXPECT_TRUE(f.effects.empty());
}

TEST(emulator_control_api, bad_shard_id_is_400) {
    control_fixture f;
    for (const auto* target :
         {"/_emulator/shards/x/close", "/_emulator/shards//close", "/_emulator/shards/-1/close",
          "/_emulator/shards/+1/close", "/_emulator/shards/1.0/close",
          "/_emulator/shards/4294967296/close"}) {
        const auto r = f.post(target);
        EXPECT_EQ(r.status, 400) << target;
        EXPECT_EQ(r.body, R"({"ok":false,"error":"the shard id in the path must be a )"
                          R"(non-negative integer or all"})")
            << target;
    }
    EXPECT_TRUE(f.effects.empty());
    EXPECT_EQ(f.post("/_emulator/shards/4294967295/close").status, 200);
}

TEST(emulator_control_api, shard_all_sends_the_fault_to_every_shard_at_once) {
    control_fixture f;
    f.connections_that_take_it = 64;
    const auto r = f.post("/_emulator/shards/all/drop");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, R"({"ok":true,"connections":64})");
    const auto e = f.only_effect<emu::inject_fault>();
    EXPECT_FALSE(e.shard) << "one effect for every shard, not one per shard";
    EXPECT_EQ(e.fault, emu::fault_kind::drop);
    EXPECT_FALSE(emu::target_shard(f.effects.back()));
    f.effects.clear();
    ASSERT_EQ(f.post("/_emulator/shards/all/close", R"({"code":4009})").status, 200);
    EXPECT_EQ(f.only_effect<emu::inject_fault>().close_code, 4009);

    f.effects.clear();
    f.connections_that_take_it = 0;
    const auto none = f.post("/_emulator/shards/all/reconnect");
    EXPECT_EQ(none.status, 404);
    EXPECT_EQ(none.body, R"({"ok":false,"error":"no shard has an open connection"})");
    EXPECT_EQ(f.post("/_emulator/shards/ALL/drop").status, 400)
        << "all is lower case, as paths are";
}

TEST(emulator_control_api, bad_json_bodies_are_400) {
    struct row {
        std::string_view body;
        std::string_view error;
    };
    std::string deep = R"({"x":)";
    deep += std::string(32, '[') + std::string(32, ']') + "}";
    std::string deep_enough = R"({"code":4000,"x":)";
    deep_enough += std::string(30, '[') + std::string(30, ']') + "}";
    const row rows[] = {
        {"not json", "the body is not valid JSON: syntax error"},
        {R"({"a":1,})", "the body is not valid JSON: syntax error"},
        {R"({"a":[1,2)", "the body is not valid JSON: syntax error"},
        {"nul", "the body is not valid JSON: syntax error"},
        {R"({"a":"\ud800"})", "the body is not valid JSON: syntax error"},
        {"{\"a\":\"\xff\"}", "the body is not valid JSON: syntax error"},
        {R"({"code":4000} x)", "the body is not valid JSON: extra data"},
        {deep, "the body is not valid JSON: too deep"},
        {"[1]", "the body must be a JSON object"},
        {"5", "the body must be a JSON object"},
        {R"("text")", "the body must be a JSON object"},
        {"null", "the body must be a JSON object"},
    };
    for (const auto& r : rows) {
        for (const auto* target :
             {"/_emulator/shards/0/close", "/_emulator/dispatch", "/_emulator/flood"}) {
            control_fixture f;
            const auto answer = f.post(target, r.body);
            EXPECT_EQ(answer.status, 400) << target << ' ' << r.body;
            EXPECT_EQ(answer.body, R"({"ok":false,"error":")" + std::string(r.error) + R"("})")
                << target << ' ' << r.body;
            EXPECT_TRUE(f.effects.empty());
        }
    }
    control_fixture f;
    EXPECT_EQ(f.post("/_emulator/shards/0/close", deep_enough).status, 200);
}

TEST(emulator_control_api, bad_fault_fields_are_400) {
    for (const auto* body :
         {R"({"code":"4000"})", R"({"code":1006})", R"({"code":1004})", R"({"code":1015})",
          R"({"code":2999})", R"({"code":5000})", R"({"code":4000.0})", R"({"code":4e3})",
          R"({"code":-0})", R"({"code":99999999999999999999})", R"({"code":null})",
          R"({"code":true})"}) {
        control_fixture f;
        const auto r = f.post("/_emulator/shards/0/close", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(r.body, bad_close_code) << body;
        EXPECT_TRUE(f.effects.empty());
    }
    control_fixture f;
    EXPECT_EQ(f.post("/_emulator/shards/0/invalidate", R"({"resumable":1})").body,
              R"({"ok":false,"error":"\"resumable\" must be true or false"})");
    EXPECT_EQ(f.post("/_emulator/shards/0/zombie", R"({"silent":"yes"})").body,
              R"({"ok":false,"error":"\"silent\" must be true or false"})");
    EXPECT_TRUE(f.effects.empty());
    // Fields of other commands are not looked at.
    EXPECT_EQ(f.post("/_emulator/shards/0/drop", R"({"code":"x","silent":1})").status, 200);
}

TEST(emulator_control_api, of_duplicate_keys_the_last_counts) {
    control_fixture f;
    EXPECT_EQ(f.post("/_emulator/shards/0/close", R"({"code":1006,"code":4001})").status, 200);
    EXPECT_EQ(f.only_effect<emu::inject_fault>().close_code, 4001);
    EXPECT_EQ(f.post("/_emulator/shards/0/close", R"({"code":4001,"code":1006})").status, 400);
}

// Dispatch and flood
// -------------------------------------------------------------------------------------------------

TEST(emulator_control_api, dispatch_becomes_an_effect_with_compact_d) {
    control_fixture f;
    f.connections_that_take_it = 2;
    const auto r = f.post("/_emulator/dispatch",
                          R"({"t":"MESSAGE_CREATE","d":{"content": "h\u00e9", "n": [1, 2.5]},)"
                          R"( "shard":3})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true,"connections":2})");
    const auto e = f.only_effect<emu::send_dispatch>();
    EXPECT_EQ(e.shard, 3U);
    EXPECT_EQ(e.t, "MESSAGE_CREATE");
    EXPECT_EQ(e.d_json, R"({"content":"h\u00e9","n":[1,2.5]})");
    f.effects.clear();
    ASSERT_EQ(f.post("/_emulator/dispatch", R"({"t":"TYPING_START"})").status, 200);
    const auto all = f.only_effect<emu::send_dispatch>();
    EXPECT_FALSE(all.shard);
    EXPECT_EQ(all.d_json, "{}");
    EXPECT_FALSE(emu::target_shard(f.effects.back()));
    f.effects.clear();
    ASSERT_EQ(f.post("/_emulator/dispatch", R"({"t":"X","d":[1, "a b"]})").status, 200);
    EXPECT_EQ(f.only_effect<emu::send_dispatch>().d_json, R"([1,"a b"])");
}

TEST(emulator_control_api, dispatch_with_another_method_is_405_allowing_post) {
    control_fixture f;
    for (const auto* target : {"/_emulator/dispatch", "/_emulator/flood"}) {
        const auto r = f.get(target);
        EXPECT_EQ(r.status, 405) << target;
        EXPECT_EQ(r.allow, "POST");
    }
}

TEST(emulator_control_api, bad_dispatch_bodies_are_400) {
    constexpr std::string_view bad_t = R"({"ok":false,"error":"\"t\" must be the event name, e.g. )"
                                       R"({\"t\":\"MESSAGE_CREATE\",\"d\":{...},\"shard\":0}"})";
    constexpr std::string_view bad_shard =
        R"({"ok":false,"error":"\"shard\" must be a non-negative integer"})";
    const std::pair<std::string_view, std::string_view> rows[] = {
        {R"({"d":{}})", bad_t},
        {R"({"t":""})", bad_t},
        {R"({"t":5})", bad_t},
        {R"({"t":null})", bad_t},
        {"", bad_t},
        {R"({"t":"X","shard":-1})", bad_shard},
        {R"({"t":"X","shard":"0"})", bad_shard},
        {R"({"t":"X","shard":1.5})", bad_shard},
        {R"({"t":"X","shard":4294967296})", bad_shard},
    };
    for (const auto& [body, error] : rows) {
        control_fixture f;
        const auto r = f.post("/_emulator/dispatch", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(r.body, error) << body;
        EXPECT_TRUE(f.effects.empty());
    }
}

TEST(emulator_control_api, dispatch_for_a_shard_that_is_away_goes_into_its_detached_session) {
    control_fixture f;
    f.connections_that_take_it = 0;
    auto& c = f.h.connect();
    f.h.identify(c);
    const auto seen = c.dispatches().back().s.value();
    c.conn->on_transport_lost(f.h.now);
    const auto r =
        f.post("/_emulator/dispatch", R"({"t":"MESSAGE_CREATE","d":{"id":"1"},"shard":0})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true,"connections":0,"detached_sessions":1})");
    EXPECT_EQ(f.h.world.stats().shards.at(0).last_seq, seen + 1);

    const auto other = f.post("/_emulator/dispatch", R"({"t":"MESSAGE_CREATE","shard":5})");
    EXPECT_EQ(other.status, 404);
    EXPECT_EQ(other.body,
              R"({"ok":false,"error":"no connection or resumable session has shard 5"})");
    const auto everyone = f.post("/_emulator/dispatch", R"({"t":"MESSAGE_CREATE"})");
    EXPECT_EQ(everyone.status, 404);
    EXPECT_EQ(everyone.body, R"({"ok":false,"error":"no connection has a live session"})");
}

TEST(emulator_control_api, flood_becomes_an_effect) {
    control_fixture f;
    const auto r = f.post("/_emulator/flood", R"({"t":"TYPING_START","count":1000,"shard":2})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true,"connections":1})");
    const auto e = f.only_effect<emu::start_flood>();
    EXPECT_EQ(e.t, "TYPING_START");
    EXPECT_EQ(e.count, 1000U);
    EXPECT_EQ(e.shard, 2U);
    f.effects.clear();
    ASSERT_EQ(f.post("/_emulator/flood", R"({"count":100000000})").status, 200);
    const auto all = f.only_effect<emu::start_flood>();
    EXPECT_EQ(all.t, "MESSAGE_CREATE");
    EXPECT_FALSE(all.shard);
    EXPECT_FALSE(all.prepared);
    f.effects.clear();
    ASSERT_EQ(f.post("/_emulator/flood", R"({"count":1000000,"prepared":true})").status, 200);
    EXPECT_TRUE(f.only_effect<emu::start_flood>().prepared);
}

TEST(emulator_control_api, a_prepared_flood_is_bounded_and_prepared_is_a_boolean) {
    control_fixture f;
    const auto big = f.post("/_emulator/flood", R"({"count":1000001,"prepared":true})");
    EXPECT_EQ(big.status, 400);
    EXPECT_NE(big.body.find("at most 1000000"), std::string::npos) << big.body;
    const auto bad = f.post("/_emulator/flood", R"({"count":10,"prepared":1})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.body, R"({"ok":false,"error":"\"prepared\" must be true or false"})");
    EXPECT_TRUE(f.effects.empty());
}

TEST(emulator_control_api, flood_without_a_live_session_is_404) {
    control_fixture f;
    f.connections_that_take_it = 0;
    EXPECT_EQ(f.post("/_emulator/flood", R"({"count":10,"shard":9})").body,
              R"({"ok":false,"error":"no connection or resumable session has shard 9"})");
    EXPECT_EQ(f.post("/_emulator/flood", R"({"count":10})").body,
              R"({"ok":false,"error":"no connection has a live session"})");
}

TEST(emulator_control_api, flood_for_a_shard_that_is_away_goes_into_its_detached_session) {
    control_fixture f;
    f.connections_that_take_it = 0;
    auto& c = f.h.connect();
    f.h.identify(c);
    const auto session = emulator_harness::session_id_of(c);
    const auto seen = c.dispatches().back().s.value();
    c.conn->on_transport_lost(f.h.now);
    const auto r = f.post("/_emulator/flood", R"({"t":"TYPING_START","count":5,"shard":0})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true,"connections":0,"detached_sessions":1,"dropped":0})");

    auto& again = f.h.connect();
    f.h.text(again, emulator_harness::resume_frame(session, seen));
    const auto d = again.dispatches();
    ASSERT_EQ(d.size(), 6U);
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(d[i].t, "TYPING_START");
        EXPECT_EQ(d[i].s, seen + 1 + i);
    }
    EXPECT_EQ(d[5].t, "RESUMED");
}

TEST(emulator_control_api, a_flood_past_the_replay_buffer_of_an_away_shard_costs_its_resume) {
    auto config = emulator_test_config();
    config.replay_buffer_events = 10;
    control_fixture f(config);
    f.connections_that_take_it = 0;
    auto& c = f.h.connect();
    f.h.identify(c);
    const auto session = emulator_harness::session_id_of(c);
    const auto seen = c.dispatches().back().s.value();
    c.conn->on_transport_lost(f.h.now);
    // A prepared flood of a million events: only the last 10 are generated and kept.
    const auto r = f.post("/_emulator/flood", R"({"count":1000000,"prepared":true,"shard":0})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true,"connections":0,"detached_sessions":1,"dropped":999990})");
    EXPECT_EQ(f.h.world.stats().shards.at(0).last_seq, seen + 1'000'000);

    // As on Discord past the replay window: the Resume from before the flood is refused (4007)...
    auto& late = f.h.connect();
    f.h.text(late, emulator_harness::resume_frame(session, seen));
    EXPECT_EQ(late.close_code(), 4007);
    // ... while one from inside the window gets the kept events.
    auto& inside = f.h.connect();
    f.h.text(inside, emulator_harness::resume_frame(session, seen + 1'000'000 - 10));
    const auto d = inside.dispatches();
    ASSERT_EQ(d.size(), 11U);
    EXPECT_EQ(d.front().s, seen + 1'000'000 - 9);
    EXPECT_EQ(d.front().t, "MESSAGE_CREATE");
}

TEST(emulator_control_api, a_flood_to_an_away_shard_counts_what_the_byte_bound_dropped) {
    auto config = emulator_test_config();
    config.replay_buffer_bytes = 8 * 1024; // a handful of ~1 KB MESSAGE_CREATE frames
    control_fixture f(config);
    f.connections_that_take_it = 0;
    auto& c = f.h.connect();
    f.h.identify(c);
    c.conn->on_transport_lost(f.h.now);
    const auto r = f.post("/_emulator/flood", R"({"count":100,"shard":0})");
    EXPECT_EQ(r.status, 200);
    const auto at = r.body.find(R"("dropped":)");
    ASSERT_NE(at, std::string::npos) << r.body;
    const auto dropped = std::stoul(r.body.substr(at + 10));
    EXPECT_GT(dropped, 80U) << r.body;
    EXPECT_LT(dropped, 100U) << r.body;
    EXPECT_LE(f.h.world.replay_bytes(), config.replay_buffer_bytes);
}

TEST(emulator_control_api, bad_flood_bodies_are_400) {
    constexpr std::string_view bad_count =
        R"({"ok":false,"error":"\"count\" must be an integer from 1 to 100000000, e.g. )"
        R"({\"t\":\"MESSAGE_CREATE\",\"count\":1000,\"shard\":0}"})";
    constexpr std::string_view bad_t =
        R"({"ok":false,"error":"\"t\" must be an event name, e.g. \"MESSAGE_CREATE\""})";
    const std::pair<std::string_view, std::string_view> rows[] = {
        {"{}", bad_count},
        {R"({"count":0})", bad_count},
        {R"({"count":-5,"shard":0})", bad_count},
        {R"({"count":100000001})", bad_count},
        {R"({"count":"10"})", bad_count},
        {R"({"count":1.5})", bad_count},
        {R"({"t":"","count":1})", bad_t},
        {R"({"t":1,"count":1})", bad_t},
        {R"({"count":1,"shard":-2})",
         R"({"ok":false,"error":"\"shard\" must be a non-negative integer"})"},
    };
    for (const auto& [body, error] : rows) {
        control_fixture f;
        const auto r = f.post("/_emulator/flood", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(r.body, error) << body;
        EXPECT_TRUE(f.effects.empty());
    }
}

// Effects on connections
// -------------------------------------------------------------------------------------------------

TEST(emulator_control_api, apply_effect_injects_faults_into_a_connection) {
    emulator_harness h;
    auto& c = h.connect();
    h.identify(c);
    EXPECT_TRUE(
        emu::apply_effect(*c.conn, emu::inject_fault{0, emu::fault_kind::heartbeat}, h.now));
    h.drain(c);
    EXPECT_EQ(c.frames.back().text, R"({"op":1,"d":null,"s":null,"t":null})");
    EXPECT_TRUE(emu::apply_effect(
        *c.conn, emu::inject_fault{0, emu::fault_kind::invalidate, 4000, true}, h.now));
    h.drain(c);
    EXPECT_EQ(c.frames.back().text, R"({"op":9,"d":true,"s":null,"t":null})");
    EXPECT_TRUE(
        emu::apply_effect(*c.conn, emu::inject_fault{0, emu::fault_kind::close, 4014}, h.now));
    h.drain(c);
    EXPECT_EQ(c.close_code(), 4014);
}

TEST(emulator_control_api, apply_effect_dispatches_and_floods_only_with_a_session) {
    emulator_harness h;
    auto& waiting = h.connect(); // no Identify yet
    EXPECT_FALSE(emu::apply_effect(*waiting.conn, emu::send_dispatch{0, "X", "{}"}, h.now));
    EXPECT_FALSE(emu::apply_effect(*waiting.conn, emu::start_flood{0, "MESSAGE_CREATE", 3}, h.now));
    auto& c = h.connect();
    h.identify(c);
    const auto before = c.dispatches().size();
    EXPECT_TRUE(emu::apply_effect(*c.conn, emu::send_dispatch{0, "X", R"({"a":1})"}, h.now));
    EXPECT_FALSE(emu::apply_effect(*c.conn, emu::send_dispatch{0, "X", "{"}, h.now))
        << "broken JSON never goes on the wire";
    EXPECT_TRUE(emu::apply_effect(*c.conn, emu::start_flood{0, "MESSAGE_CREATE", 3}, h.now));
    h.drain(c);
    const auto d = c.dispatches();
    ASSERT_EQ(d.size(), before + 4);
    EXPECT_EQ(d[before].t, "X");
    EXPECT_EQ(d[before].d, R"({"a":1})");
    EXPECT_EQ(d.back().t, "MESSAGE_CREATE");
}

TEST(emulator_control_api, fault_names) {
    EXPECT_EQ(emu::to_string(emu::fault_kind::close), "close");
    EXPECT_EQ(emu::to_string(emu::fault_kind::reconnect), "reconnect");
    EXPECT_EQ(emu::to_string(emu::fault_kind::invalidate), "invalidate");
    EXPECT_EQ(emu::to_string(emu::fault_kind::zombie), "zombie");
    EXPECT_EQ(emu::to_string(emu::fault_kind::silent_zombie), "silent_zombie");
    EXPECT_EQ(emu::to_string(emu::fault_kind::drop), "drop");
    EXPECT_EQ(emu::to_string(emu::fault_kind::heartbeat), "heartbeat");
    EXPECT_EQ(emu::to_string(emu::fault_kind::split), "split");
    EXPECT_EQ(emu::to_string(emu::fault_kind::stall), "stall");
}

TEST(emulator_control_api, stall_takes_milliseconds) {
    for (const auto& [body, ms] : {std::pair{"", 2'000U}, std::pair{R"({"ms":250})", 250U}}) {
        control_fixture f;
        const auto r = f.post("/_emulator/shards/1/stall", body);
        EXPECT_EQ(r.status, 200) << r.body;
        const auto e = f.only_effect<emu::inject_fault>();
        EXPECT_EQ(e.fault, emu::fault_kind::stall);
        EXPECT_EQ(e.amount, ms) << body;
    }
    for (const auto* body : {R"({"ms":0})", R"({"ms":600001})", R"({"ms":true})"}) {
        control_fixture f;
        const auto r = f.post("/_emulator/shards/1/stall", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_NE(r.body.find("\\\"ms\\\" must be"), std::string::npos) << r.body;
    }
}

TEST(emulator_control_api, split_takes_a_payload_count_and_names_what_it_needs) {
    {
        control_fixture f;
        const auto r = f.post("/_emulator/shards/2/split", R"({"payloads":7})");
        EXPECT_EQ(r.status, 200) << r.body;
        const auto e = f.only_effect<emu::inject_fault>();
        EXPECT_EQ(e.fault, emu::fault_kind::split);
        EXPECT_EQ(e.amount, 7U);
    }
    for (const auto* body : {R"({"payloads":0})", R"({"payloads":-1})", R"({"payloads":"x"})",
                             R"({"payloads":1000001})"}) {
        control_fixture f;
        const auto r = f.post("/_emulator/shards/2/split", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_NE(r.body.find("payloads"), std::string::npos) << r.body;
        EXPECT_TRUE(f.effects.empty());
    }
    control_fixture none;
    none.connections_that_take_it = 0;
    const auto r = none.post("/_emulator/shards/2/split", "");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("compress=zlib-stream"), std::string::npos) << r.body;
}

TEST(emulator_control_api, error_response_is_ok_false_with_the_message) {
    const auto r = emu::error_response(413, R"(body "over" 1 MiB)");
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"ok":false,"error":"body \"over\" 1 MiB"})");
}

} // namespace
} // namespace shardgate::test
