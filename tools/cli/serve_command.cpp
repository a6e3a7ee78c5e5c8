// `shardgate serve` on the command line: its options and `--config`.
#include "commands.hpp"
#include "config_file.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace shardgate::cli {

CLI::App* add_serve_command(CLI::App& app, serve_options& serve) {
    auto* cmd = app.add_subcommand(
        "serve", "Run the gateway emulator: discovery, WebSocket gateway and control API");
    cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on (port 0: a free one)")
        ->capture_default_str();
    cmd->add_option("--token", serve.tokens, "A valid bot token (repeatable; none: any)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_option("--control-token", serve.control_token,
                    "Require 'Authorization: Bearer TOKEN' on /_emulator/ (needed to listen "
                    "beyond loopback)");
    cmd->add_option("--shards", serve.shards, "Shard count /gateway/bot recommends")
        ->capture_default_str();
    cmd->add_option("--max-concurrency", serve.max_concurrency,
                    "Identify buckets (session_start_limit.max_concurrency)")
        ->capture_default_str();
    cmd->add_option("--identify-window-ms", serve.identify_window_ms,
                    "Time between Identifies of one bucket")
        ->capture_default_str();
    cmd->add_option("--heartbeat-interval-ms", serve.heartbeat_interval_ms,
                    "heartbeat_interval in Hello")
        ->capture_default_str();
    cmd->add_option("--heartbeat-grace-ms", serve.heartbeat_grace_ms,
                    "Extra time after a missed heartbeat before close 4009")
        ->capture_default_str();
    cmd->add_option("--guilds", serve.guilds, "Guilds the bot is in")->capture_default_str();
    cmd->add_option("--privileged", serve.privileged,
                    "Privileged intents the application may use, comma-separated "
                    "(GUILD_MEMBERS,GUILD_PRESENCES,MESSAGE_CONTENT)");
    cmd->add_option("--session-ttl-ms", serve.session_ttl_ms,
                    "How long a dropped session may be resumed")
        ->capture_default_str();
    cmd->add_option("--traffic", serve.traffic,
                    "Synthetic dispatches per second per connected shard")
        ->capture_default_str();
    cmd->add_option("--seed", serve.seed, "Seed of ids and traffic")->capture_default_str();
    cmd->add_option("--zlib-split-frames", serve.zlib_split_frames,
                    "Split each zlib-stream message into N frames")
        ->capture_default_str();
    cmd->add_option("--zlib-window-bits", serve.zlib_window_bits,
                    "zlib-stream deflater window (9-15; smaller saves memory)")
        ->capture_default_str();
    cmd->add_option("--zlib-mem-level", serve.zlib_mem_level, "zlib-stream deflater memLevel (1-9)")
        ->capture_default_str();
    cmd->add_option("--members-per-guild", serve.members_per_guild, "Members generated per guild")
        ->capture_default_str();
    cmd->add_option("--session-start-limit", serve.session_start_limit,
                    "Daily session starts (session_start_limit.total)")
        ->capture_default_str();
    cmd->add_option("--max-guilds-per-shard", serve.max_guilds_per_shard,
                    "More guilds on one shard: close 4011")
        ->capture_default_str();
    cmd->add_option("--metrics", serve.metrics,
                    "HOST:PORT for Prometheus /metrics and the live status page at /");
    cmd->add_option("--log-level", serve.log_level, "debug, info, warn, error or off")
        ->capture_default_str();
    cmd->add_option("--log-format", serve.log_format, "text or json")->capture_default_str();
    add_config_option(*cmd);
    cmd->footer("--config FILE: e.g. 'listen = \"127.0.0.1:4567\"', 'traffic = 20', "
                "'token = [\"test-token-1\", \"test-token-2\"]', one per line.\nExit status: 0 "
                "after SIGINT/SIGTERM, 1 when the address cannot be bound, 2 for bad usage (a bad "
                "config file too).");
    return cmd;
}

subcommand register_serve(CLI::App& app) {
    auto options = std::make_shared<serve_options>();
    subcommand command;
    command.app = add_serve_command(app, *options);
    command.run = [options](std::ostream& out, std::ostream& err) {
        return run_serve(*options, out, err);
    };
    return command;
}

} // namespace shardgate::cli
