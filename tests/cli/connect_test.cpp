#include "connect.hpp"

#include "shardgate/gateway/intents.hpp"

#include <array>
#include <gtest/gtest.h>
#include <sstream>

namespace cli = shardgate::cli;
namespace gw = shardgate::gateway;

namespace {

constexpr const char* token = "secret-XYZ";

struct plan_result {
    std::optional<cli::connect_plan> plan;
    std::string error;
};

plan_result plan(const cli::connect_options& options, const char* env = token) {
    plan_result r;
    r.plan = cli::make_connect_plan(options, env, r.error);
    return r;
}

struct run_result {
    int status;
    std::string out;
    std::string err;
};

run_result run(const cli::connect_options& options, const char* env = token) {
    std::ostringstream out;
    std::ostringstream err;
    const int status = cli::run_connect(options, {.token = env}, out, err);
    return {status, out.str(), err.str()};
}

} // namespace

TEST(connect_options, shard_ids_ranges_and_lists) {
    std::vector<std::uint32_t> ids;
    std::string error;
    ASSERT_TRUE(cli::parse_shard_ids("0-3", 4, ids, error)) << error;
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{0, 1, 2, 3}));
    ASSERT_TRUE(cli::parse_shard_ids("5,0,2", 8, ids, error)) << error;
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{0, 2, 5}));
    ASSERT_TRUE(cli::parse_shard_ids(" 8-9 , 1 ", std::nullopt, ids, error)) << error;
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{1, 8, 9}));
    ASSERT_TRUE(cli::parse_shard_ids("7", std::nullopt, ids, error)) << error;
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{7}));
}

TEST(connect_options, shard_ids_errors_say_what_is_wrong) {
    std::vector<std::uint32_t> ids;
    const auto error_for = [&](std::string_view text, std::optional<std::uint32_t> count) {
        std::string error;
        EXPECT_FALSE(cli::parse_shard_ids(text, count, ids, error)) << text;
        return error;
    };
    EXPECT_NE(error_for("", 4).find("empty"), std::string::npos);
    EXPECT_NE(error_for("a-b", 4).find("'a-b' is not a shard id or range"), std::string::npos);
    EXPECT_NE(error_for("1,,2", 4).find("''"), std::string::npos);
    EXPECT_NE(error_for("-1", 4).find("is not a shard id"), std::string::npos);
    EXPECT_NE(error_for("3-1", 4).find("backwards (write 1-3)"), std::string::npos);
    EXPECT_NE(error_for("0-2,2", 4).find("shard 2 is listed twice"), std::string::npos);
    const auto outside = error_for("2-5", 4);
    EXPECT_NE(outside.find("shard 5 does not exist with --shards 4 (ids run from 0 to 3)"),
              std::string::npos)
        << outside;
    EXPECT_NE(error_for("0-4294967295", std::nullopt).find("more than"), std::string::npos);
}

TEST(connect_options, shard_count) {
    std::optional<std::uint32_t> count = 9;
    std::string error;
    ASSERT_TRUE(cli::parse_shard_count("auto", count, error));
    EXPECT_FALSE(count);
    ASSERT_TRUE(cli::parse_shard_count("16", count, error));
    EXPECT_EQ(count, 16U);
    EXPECT_FALSE(cli::parse_shard_count("0", count, error));
    EXPECT_FALSE(cli::parse_shard_count("many", count, error));
    EXPECT_NE(error.find("'many'"), std::string::npos) << error;
}

TEST(connect_options, defaults_follow_the_contract) {
    const auto r = plan({});
    ASSERT_TRUE(r.plan) << r.error;
    const auto& c = r.plan->cluster;
    EXPECT_EQ(c.token.expose(), token);
    EXPECT_EQ(c.api, "https://discord.com/api/v10");
    EXPECT_FALSE(c.gateway_url);
    EXPECT_FALSE(c.shard_count); // auto
    EXPECT_TRUE(c.shard_ids.empty());
    EXPECT_EQ(c.intents, gw::default_intents);
    EXPECT_EQ(c.transport_compression, gw::compression::zlib_stream);
    EXPECT_EQ(c.threads, 1U);
    EXPECT_TRUE(c.verify_tls);
    EXPECT_FALSE(c.reshard_auto);
    EXPECT_EQ(r.plan->events, cli::event_mode::summary);
    EXPECT_FALSE(r.plan->duration);
}

TEST(connect_options, everything_set) {
    const auto r = plan({.api = "http://127.0.0.1:8080/api/v10",
                         .gateway = "ws://127.0.0.1:8080",
                         .shards = "4",
                         .shard_ids = "2-3",
                         .intents = "GUILDS,GUILD_MESSAGES",
                         .compress = "zstd-stream",
                         .threads = 2,
                         .events = "jsonl",
                         .max_concurrency = 2,
                         .reshard = "auto",
                         .no_verify_tls = true,
                         .duration = 1.5});
    ASSERT_TRUE(r.plan) << r.error;
    const auto& c = r.plan->cluster;
    EXPECT_EQ(c.gateway_url, "ws://127.0.0.1:8080");
    EXPECT_EQ(c.shard_count, 4U);
    EXPECT_EQ(c.shard_ids, (std::vector<std::uint32_t>{2, 3}));
    EXPECT_EQ(c.intents, 513U);
    EXPECT_EQ(c.transport_compression, gw::compression::zstd_stream);
    EXPECT_EQ(c.threads, 2U);
    EXPECT_EQ(c.max_concurrency, 2U);
    EXPECT_TRUE(c.reshard_auto);
    EXPECT_FALSE(c.verify_tls);
    EXPECT_EQ(r.plan->events, cli::event_mode::jsonl);
    EXPECT_EQ(r.plan->duration, std::chrono::milliseconds{1'500});
}

TEST(connect_options, intents_numbers_and_errors) {
    auto r = plan({.intents = "513"});
    ASSERT_TRUE(r.plan) << r.error;
    EXPECT_EQ(r.plan->cluster.intents, 513U);
    r = plan({.intents = "GUILDS,NOT_AN_INTENT"});
    ASSERT_FALSE(r.plan);
    EXPECT_NE(r.error.find("'NOT_AN_INTENT'"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("shardgate explain --intents"), std::string::npos) << r.error;
}

TEST(connect_options, compress_values) {
    for (const auto& [text, mode] : {std::pair{"zlib-stream", gw::compression::zlib_stream},
                                     std::pair{"zstd-stream", gw::compression::zstd_stream},
                                     std::pair{"none", gw::compression::none}}) {
        const auto r = plan({.compress = text});
        ASSERT_TRUE(r.plan) << r.error;
        EXPECT_EQ(r.plan->cluster.transport_compression, mode) << text;
    }
    const auto r = plan({.compress = "gzip"});
    ASSERT_FALSE(r.plan);
    EXPECT_NE(r.error.find("zlib-stream, zstd-stream or none"), std::string::npos) << r.error;
}

TEST(connect_options, events_modes) {
    EXPECT_EQ(plan({.events = "count"}).plan->events, cli::event_mode::count);
    EXPECT_EQ(plan({.events = "jsonl"}).plan->events, cli::event_mode::jsonl);
    const auto r = plan({.events = "json"});
    ASSERT_FALSE(r.plan);
    EXPECT_NE(r.error.find("jsonl, count or summary"), std::string::npos) << r.error;
}

TEST(connect_options, other_bad_values) {
    const auto error_of = [](const cli::connect_options& o) {
        const auto r = plan(o);
        EXPECT_FALSE(r.plan);
        return r.error;
    };
    EXPECT_NE(error_of({.api = "discord.com/api"}).find("--api"), std::string::npos);
    EXPECT_NE(error_of({.gateway = "http://x"}).find("--gateway"), std::string::npos);
    EXPECT_NE(error_of({.threads = 0}).find("--threads"), std::string::npos);
    EXPECT_NE(error_of({.max_concurrency = 4}).find("only applies with --gateway"),
              std::string::npos);
    EXPECT_NE(error_of({.gateway = "ws://x", .max_concurrency = 0}).find("at least 1"),
              std::string::npos);
    EXPECT_NE(error_of({.reshard = "yes"}).find("--reshard"), std::string::npos);
    EXPECT_NE(error_of({.duration = -1.0}).find("--duration"), std::string::npos);
    EXPECT_NE(error_of({.duration = 0.0}).find("--duration"), std::string::npos);
    EXPECT_NE(error_of({.shards = "4", .shard_ids = "4"}).find("does not exist"),
              std::string::npos);
}

TEST(connect_options, gateway_without_shards_means_one_shard) {
    auto r = plan({.gateway = "ws://127.0.0.1:1"});
    ASSERT_TRUE(r.plan) << r.error;
    EXPECT_EQ(r.plan->cluster.shard_count, 1U);
    r = plan({.gateway = "ws://127.0.0.1:1", .shard_ids = "0-3"});
    ASSERT_FALSE(r.plan);
    EXPECT_NE(r.error.find("give it with --shards N"), std::string::npos) << r.error;
    r = plan({.shard_ids = "0-3"}); // discovery decides the count later
    ASSERT_TRUE(r.plan) << r.error;
}

TEST(connect_token, missing_or_empty_names_the_variable) {
    auto r = plan({}, nullptr);
    ASSERT_FALSE(r.plan);
    EXPECT_NE(r.error.find("DISCORD_TOKEN is not set"), std::string::npos) << r.error;
    r = plan({}, "");
    ASSERT_FALSE(r.plan);
    EXPECT_NE(r.error.find("DISCORD_TOKEN is empty"), std::string::npos) << r.error;
}

TEST(connect_token, run_without_token_exits_2) {
    const auto r = run({}, nullptr);
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(r.out.empty());
    EXPECT_NE(r.err.find("DISCORD_TOKEN"), std::string::npos) << r.err;
}

TEST(connect_token, bad_usage_messages_never_show_the_token) {
    // A user who pastes the token into another option gets an error that does not repeat it.
    for (const auto& options :
         {cli::connect_options{.intents = token}, cli::connect_options{.shards = token},
          cli::connect_options{.shard_ids = token}, cli::connect_options{.compress = token},
          cli::connect_options{.events = token}, cli::connect_options{.reshard = token}}) {
        const auto r = run(options);
        EXPECT_EQ(r.status, 2);
        EXPECT_EQ(r.err.find(token), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find(token), std::string::npos) << r.out;
        EXPECT_NE(r.err.find("***"), std::string::npos) << r.err;
    }
}

TEST(connect_token, token_arguments_are_refused_with_the_hint) {
    const auto refuse = [](std::vector<const char*> args, const char* env = nullptr) {
        return cli::refuse_token_arguments(args, env);
    };
    for (const auto* flag : {"--token", "--token=secret-XYZ", "--bot-token", "--TOKEN", "-token"}) {
        const auto message = refuse({"--shards", "2", flag, "secret-XYZ"});
        ASSERT_TRUE(message) << flag;
        EXPECT_NE(message->find("DISCORD_TOKEN"), std::string::npos) << *message;
        EXPECT_EQ(message->find("secret-XYZ"), std::string::npos) << *message;
    }
    // The value of DISCORD_TOKEN typed as an argument.
    auto message = refuse({"--gateway", "ws://x", "secret-XYZ"}, token);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->find("secret-XYZ"), std::string::npos) << *message;
    // Something shaped like a bot token, even without DISCORD_TOKEN set.
    const char* shaped = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB";
    message = refuse({shaped});
    ASSERT_TRUE(message);
    EXPECT_EQ(message->find(shaped), std::string::npos);
    EXPECT_NE(message->find("resetting it"), std::string::npos) << *message;
    // Ordinary arguments pass.
    EXPECT_FALSE(refuse({"--shards", "2", "--shard-ids", "0-1", "--events", "jsonl", "--gateway",
                         "wss://gateway.discord.gg", "--duration", "3"},
                        token));
}

TEST(connect_token, check_connect_argv_only_looks_at_connect) {
    std::ostringstream err;
    const std::array connect_argv{"shardgate", "connect", "--token", "secret-XYZ"};
    EXPECT_EQ(cli::check_connect_argv(4, connect_argv.data(), err), 2);
    EXPECT_NE(err.str().find("DISCORD_TOKEN"), std::string::npos) << err.str();
    EXPECT_EQ(err.str().find("secret-XYZ"), std::string::npos) << err.str();
    std::ostringstream quiet;
    const std::array serve_argv{"shardgate", "serve", "--token", "secret-XYZ"};
    EXPECT_EQ(cli::check_connect_argv(4, serve_argv.data(), quiet), 0);
    EXPECT_TRUE(quiet.str().empty());
}

TEST(connect_config, refuse_token_config_looks_at_keys_and_values) {
    const std::vector<std::string> plain{"ws://127.0.0.1:4567"};
    EXPECT_FALSE(cli::refuse_token_config("gateway", plain, token));
    EXPECT_FALSE(cli::refuse_token_config("shards", std::vector<std::string>{"4"}, nullptr));
    const auto key = cli::refuse_token_config("token", std::vector<std::string>{"abc"}, nullptr);
    ASSERT_TRUE(key);
    EXPECT_NE(key->find("DISCORD_TOKEN"), std::string::npos) << *key;
    EXPECT_TRUE(cli::refuse_token_config("DISCORD_TOKEN", plain, nullptr));
    // The environment's token anywhere in a value, and anything shaped like a bot token.
    const auto env = cli::refuse_token_config(
        "api", std::vector<std::string>{std::string("http://x/") + token}, token);
    ASSERT_TRUE(env);
    EXPECT_EQ(env->find(token), std::string::npos) << *env;
    const auto shaped = cli::refuse_token_config(
        "intents",
        std::vector<std::string>{"GUILDS",
                                 "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"},
        nullptr);
    ASSERT_TRUE(shaped);
    EXPECT_EQ(shaped->find("ZnCjm"), std::string::npos) << *shaped;
    EXPECT_NE(shaped->find("'intents'"), std::string::npos) << *shaped;
}
