// `shardgate connect` on the command line: its options, `--config`, and the token check.
#include "commands.hpp"
#include "config_file.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace shardgate::cli {

CLI::App* add_connect_command(CLI::App& app, connect_options& connect) {
    auto* cmd = app.add_subcommand(
        "connect", "Run shards against a gateway (token from the DISCORD_TOKEN variable only)");
    cmd->add_option("--api", connect.api, "REST base for discovery (GET {api}/gateway/bot)")
        ->capture_default_str();
    cmd->add_option("--gateway", connect.gateway, "Gateway URL (ws:// or wss://); skips discovery");
    cmd->add_option("--shards", connect.shards,
                    "Total shard count: N, or auto (discovery's recommendation; 1 with --gateway)")
        ->capture_default_str();
    cmd->add_option("--shard-ids", connect.shard_ids,
                    "Shards this process runs: A-B or A,B,C (default: all)");
    cmd->add_option("--intents", connect.intents,
                    "Intent names (comma-separated) or a number (default: every "
                    "non-privileged intent; see shardgate explain --intents)");
    cmd->add_option("--compress", connect.compress, "zlib-stream, zstd-stream or none")
        ->capture_default_str();
    cmd->add_option("--threads", connect.threads, "Threads running shards")->capture_default_str();
    cmd->add_option("--events", connect.events,
                    "jsonl (JSON lines on stdout), count (one summary line at exit) or summary "
                    "(live status on stderr)")
        ->capture_default_str();
    cmd->add_option("--max-concurrency", connect.max_concurrency,
                    "Identify buckets when --gateway skips discovery (default 1)");
    cmd->add_option("--reshard", connect.reshard,
                    "On close 4011: auto (bring up a new shard set) or off (stop)")
        ->capture_default_str();
    cmd->add_flag("--no-verify-tls", connect.no_verify_tls,
                  "FOR TESTING ONLY: do not check TLS certificates (exposes the token)");
    cmd->add_option("--duration", connect.duration, "Stop after this many seconds (exit status 0)");
    cmd->add_option("--metrics", connect.metrics,
                    "HOST:PORT for Prometheus /metrics and the live status page at /");
    cmd->add_option("--log-level", connect.log_level, "debug, info, warn, error or off")
        ->capture_default_str();
    cmd->add_option("--log-format", connect.log_format, "text or json")->capture_default_str();
    cmd->add_option("--identify-window-ms", connect.identify_window_ms,
                    "Spacing of identifies per bucket: Discord's 5000; lower only against an "
                    "emulator started with a shorter --identify-window-ms")
        ->capture_default_str();
    cmd->add_option("--identify-margin-ms", connect.identify_margin_ms,
                    "Added to the window between two identifies of a bucket, for an identify "
                    "that leaves late (default: 250 in one process; with --cluster 1 % of the "
                    "window, at least 25)");
    cmd->add_option("--nats", connect.nats,
                    "Publish every dispatch to NATS JetStream: URL[,URL...] (nats://HOST:PORT)");
    cmd->add_option("--stream", connect.stream, "JetStream stream (created when missing)")
        ->capture_default_str();
    cmd->add_option("--subject-prefix", connect.subject_prefix,
                    "Subjects <prefix>.events.<shard>.<EVENT>")
        ->capture_default_str();
    cmd->add_option("--cluster", connect.cluster,
                    "With --nats: share the shards with the other workers of this cluster name; "
                    "a worker that dies loses its shards to the others, which resume them");
    cmd->add_option("--worker", connect.worker,
                    "This worker's id in the cluster (default: <hostname>-<pid>)");
    cmd->add_option("--lease-ms", connect.lease_ms,
                    "With --cluster: how long a silent worker keeps its shards")
        ->capture_default_str();
    add_config_option(*cmd, [](std::string_view key, std::span<const std::string> values) {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): parsing runs before any thread
        return refuse_token_config(key, values, std::getenv("DISCORD_TOKEN"));
    });
    cmd->footer(
        "The bot token is read from the environment variable DISCORD_TOKEN, never from the "
        "command line or a config file, and is never printed.\n--config FILE: e.g. 'shards = 4', "
        "'gateway = \"wss://gateway.discord.gg\"', 'log-level = \"debug\"', one per line; a "
        "'token' key is refused.\n--events count: first_ms/last_ms/elapsed_ms are milliseconds "
        "since the command started.\nExit status: 0 after SIGINT/SIGTERM or --duration, 1 when "
        "start-up fails (e.g. discovery), 2 for bad usage (a bad config file too), 3 when every "
        "shard stopped on a fatal close code.");
    return cmd;
}

subcommand register_connect(CLI::App& app) {
    auto options = std::make_shared<connect_options>();
    subcommand command;
    command.app = add_connect_command(app, *options);
    // CLI11 would echo a token typed on the command line in its error message.
    command.check_argv = [](int argc, const char* const* argv, std::ostream& err) {
        return check_connect_argv(argc, argv, err);
    };
    command.run = [options](std::ostream& out, std::ostream& err) {
        return run_connect(*options, detect_environment(), out, err);
    };
    return command;
}

} // namespace shardgate::cli
