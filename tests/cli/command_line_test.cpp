// The command line as CLI11 parses it: `--config FILE` for connect and serve (the file sets
// options, the command line wins, unknown keys and a token are refused), and the options each
// subcommand registers. The only test file that includes CLI11.
#include "commands.hpp"

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <string_view>
#include <unistd.h>

namespace cli = shardgate::cli;

namespace {

/// A config file in the test's temporary directory, removed at the end of the test.
class config_file {
public:
    explicit config_file(std::string_view text, std::string_view extension = ".toml") {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::path(::testing::TempDir()) /
                ("shardgate-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) +
                 std::string(extension));
        std::ofstream(path_) << text;
    }
    ~config_file() { std::filesystem::remove(path_); }
    config_file(const config_file&) = delete;
    config_file& operator=(const config_file&) = delete;

    [[nodiscard]] std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

/// Parses `shardgate <args>` with connect and serve registered; returns CLI11's error, if any.
struct parsed {
    cli::connect_options connect;
    cli::serve_options serve;
    std::string error; ///< The message `main` would print; empty after a successful parse.

    explicit parsed(const std::string& args) {
        CLI::App app;
        (void)cli::add_connect_command(app, connect);
        (void)cli::add_serve_command(app, serve);
        try {
            app.parse(args, false);
        } catch (const CLI::ParseError& e) {
            error = e.what();
        }
    }
};

TEST(connect_config, the_file_sets_options) {
    const config_file file(R"(# shardgate connect, for systemd
api = "http://127.0.0.1:4567/api/v10"
gateway = "ws://127.0.0.1:4567"
shards = 4
shard-ids = "0-1,3"
intents = "GUILDS,GUILD_MESSAGES"
compress = "zstd-stream"
threads = 2
events = "count"
max-concurrency = 2
duration = 2.5
no-verify-tls = true
metrics = "127.0.0.1:9464"
log_level = "debug"
log-format = "json"
)");
    const parsed p("connect --config " + file.path());
    ASSERT_EQ(p.error, "");
    const auto& o = p.connect;
    EXPECT_EQ(o.api, "http://127.0.0.1:4567/api/v10");
    EXPECT_EQ(o.gateway, "ws://127.0.0.1:4567");
    EXPECT_EQ(o.shards, "4");
    EXPECT_EQ(o.shard_ids, "0-1,3") << "one value, though the file's syntax splits at commas";
    EXPECT_EQ(o.intents, "GUILDS,GUILD_MESSAGES");
    EXPECT_EQ(o.compress, "zstd-stream");
    EXPECT_EQ(o.threads, 2U);
    EXPECT_EQ(o.events, "count");
    EXPECT_EQ(o.max_concurrency, 2U);
    EXPECT_EQ(o.duration, 2.5);
    EXPECT_TRUE(o.no_verify_tls);
    EXPECT_EQ(o.metrics, "127.0.0.1:9464");
    EXPECT_EQ(o.log_level, "debug") << "log_level is log-level";
    EXPECT_EQ(o.log_format, "json");
}

TEST(connect_config, the_command_line_wins) {
    const config_file file("shards = 4\ngateway = \"ws://from-the-file\"\nthreads = 3\n"
                           "no-verify-tls = true\n");
    const parsed p("connect --shards 8 --config " + file.path() +
                   " --gateway ws://from-the-command-line");
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.connect.shards, "8");
    EXPECT_EQ(p.connect.gateway, "ws://from-the-command-line");
    EXPECT_EQ(p.connect.threads, 3U)
        << "what the command line leaves out still comes from the file";
    EXPECT_TRUE(p.connect.no_verify_tls);
}

TEST(connect_config, without_config_nothing_changes) {
    const parsed p("connect --shards 2");
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.connect.shards, "2");
    EXPECT_EQ(p.connect.api, cli::connect_options{}.api);
    EXPECT_FALSE(p.connect.gateway);
}

TEST(connect_config, a_section_named_after_the_command_is_read) {
    const config_file file("[connect]\nshards = 6\nevents = \"jsonl\"\n");
    const parsed p("connect --config " + file.path());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.connect.shards, "6");
    EXPECT_EQ(p.connect.events, "jsonl");
}

TEST(connect_config, ini_files_too) {
    const config_file file(
        "; shardgate connect\n[connect]\nshards=3\nintents=GUILDS,GUILD_MEMBERS\n"
        "no-verify-tls=false\n",
        ".ini");
    const parsed p("connect --config " + file.path());
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.connect.shards, "3");
    EXPECT_EQ(p.connect.intents, "GUILDS,GUILD_MEMBERS");
    EXPECT_FALSE(p.connect.no_verify_tls);
}

TEST(connect_config, an_unknown_key_is_named) {
    const config_file file("shards = 4\nshard_count = 4\n");
    const parsed p("connect --config " + file.path());
    EXPECT_NE(p.error.find("unknown key 'shard_count'"), std::string::npos) << p.error;
    EXPECT_NE(p.error.find(file.path()), std::string::npos) << p.error;
    EXPECT_EQ(p.connect.shards, "auto") << "a refused file changes nothing";
}

TEST(connect_config, another_commands_section_is_an_unknown_key) {
    const config_file file("[serve]\ntraffic = 20\n");
    const parsed p("connect --config " + file.path());
    EXPECT_NE(p.error.find("unknown key 'serve.traffic'"), std::string::npos) << p.error;
}

TEST(connect_config, a_token_key_is_refused_without_its_value) {
    for (const std::string_view key : {"token", "Token", "discord_token", "bot-token"}) {
        const config_file file("shards = 2\n" + std::string(key) + " = \"hunter2-secret-value\"\n");
        const parsed p("connect --config " + file.path());
        EXPECT_NE(p.error.find("the key '" + std::string(key) + "' is refused"), std::string::npos)
            << p.error;
        EXPECT_NE(p.error.find("DISCORD_TOKEN"), std::string::npos) << p.error;
        EXPECT_EQ(p.error.find("hunter2"), std::string::npos) << p.error;
    }
}

TEST(connect_config, a_value_shaped_like_a_token_is_refused_without_it) {
    const std::string token = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs";
    const config_file file("gateway = \"" + token + "\"\n");
    const parsed p("connect --config " + file.path());
    EXPECT_NE(p.error.find("the value of 'gateway' looks like a bot token"), std::string::npos)
        << p.error;
    EXPECT_EQ(p.error.find("ZnCjm1XVW7"), std::string::npos) << p.error;
    EXPECT_FALSE(p.connect.gateway);
}

TEST(connect_config, bad_files_and_values_are_errors_that_name_the_key) {
    {
        const parsed p("connect --config /nonexistent/shardgate.toml");
        EXPECT_NE(p.error.find("/nonexistent/shardgate.toml: cannot read the file"),
                  std::string::npos)
            << p.error;
    }
    {
        const config_file file("threads = many\n");
        const parsed p("connect --config " + file.path());
        EXPECT_NE(p.error.find("the key 'threads'"), std::string::npos) << p.error;
    }
    {
        const config_file file("shards = 2\nthreads = 1\nshards = 4\n");
        const parsed p("connect --config " + file.path());
        EXPECT_NE(p.error.find("'shards' is set twice"), std::string::npos) << p.error;
    }
    {
        const config_file file("config = \"other.toml\"\n");
        const parsed p("connect --config " + file.path());
        EXPECT_NE(p.error.find("'config' cannot be set in a config file"), std::string::npos)
            << p.error;
    }
    {
        const config_file file("help = true\n");
        const parsed p("connect --config " + file.path());
        EXPECT_NE(p.error.find("unknown key 'help'"), std::string::npos) << p.error;
    }
}

TEST(serve_config, the_file_sets_options_and_the_command_line_wins) {
    const config_file file(R"(listen = "127.0.0.1:4567"
token = ["test-token-1", "test-token-2"]
shards = 2
max-concurrency = 2
identify-window-ms = 200
traffic = 20
privileged = "GUILD_MEMBERS,MESSAGE_CONTENT"
seed = 7
metrics = "127.0.0.1:9464"
)");
    const parsed p("serve --config " + file.path() + " --traffic 5");
    ASSERT_EQ(p.error, "");
    const auto& o = p.serve;
    EXPECT_EQ(o.listen, "127.0.0.1:4567");
    EXPECT_EQ(o.tokens, (std::vector<std::string>{"test-token-1", "test-token-2"}));
    EXPECT_EQ(o.shards, 2U);
    EXPECT_EQ(o.max_concurrency, 2U);
    EXPECT_EQ(o.identify_window_ms, 200);
    EXPECT_EQ(o.traffic, 5.0) << "the command line wins";
    EXPECT_EQ(o.privileged, "GUILD_MEMBERS,MESSAGE_CONTENT");
    EXPECT_EQ(o.seed, 7U);
    EXPECT_EQ(o.metrics, "127.0.0.1:9464");
}

TEST(serve_config, tokens_on_the_command_line_replace_the_files) {
    const config_file file("token = [\"from-the-file\"]\n");
    const parsed p("serve --config " + file.path() + " --token a --token b");
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.serve.tokens, (std::vector<std::string>{"a", "b"}));
}

TEST(serve_config, an_unknown_key_is_named) {
    const config_file file("listen = \"127.0.0.1:0\"\nport = 4567\n");
    const parsed p("serve --config " + file.path());
    EXPECT_NE(p.error.find("unknown key 'port'"), std::string::npos) << p.error;
}

TEST(register_commands, every_subcommand_and_its_options) {
    CLI::App app;
    const auto explain = cli::register_explain(app);
    const auto serve = cli::register_serve(app);
    const auto connect = cli::register_connect(app);
    const auto demo = cli::register_demo(app);
    for (const auto* command : {&explain, &serve, &connect, &demo}) {
        ASSERT_NE(command->app, nullptr);
        EXPECT_TRUE(command->run);
    }
    EXPECT_EQ(explain.app->get_name(), "explain");
    EXPECT_EQ(serve.app->get_name(), "serve");
    EXPECT_EQ(connect.app->get_name(), "connect");
    EXPECT_EQ(demo.app->get_name(), "demo");
    EXPECT_TRUE(connect.check_argv) << "connect refuses a token on the command line";
    EXPECT_NE(connect.app->get_option_no_throw("--config"), nullptr);
    EXPECT_NE(serve.app->get_option_no_throw("--config"), nullptr);
    EXPECT_EQ(demo.app->get_option_no_throw("--config"), nullptr);
    EXPECT_NE(connect.app->help().find("'token' key is refused"), std::string::npos);
}

} // namespace
