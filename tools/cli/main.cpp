// The shardgate command line. Each subcommand lives in its own file; this only parses and
// dispatches.
#include "connect.hpp"
#include "demo.hpp"
#include "explain.hpp"
#include "serve.hpp"
#include "shardgate/version.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    CLI::App app{"shardgate: Discord gateway shards, a gateway emulator and protocol tools"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("shardgate ") + shardgate::version_string);

    shardgate::cli::explain_options explain;
    auto* explain_cmd = app.add_subcommand(
        "explain", "Explain a gateway close code: meaning, what shardgate does, how to fix it");
    explain_cmd->add_option("code", explain.code,
                            "Close code, e.g. 4014 (omit for the whole table)");
    explain_cmd->add_flag("--json", explain.json,
                          "Print JSON: one object, or the table as an array");
    explain_cmd->add_flag("--intents", explain.intents, "List the gateway intents instead");

    shardgate::cli::serve_options serve;
    auto* serve_cmd = app.add_subcommand(
        "serve", "Run the gateway emulator: discovery, WebSocket gateway and control API");
    serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on (port 0: a free one)")
        ->capture_default_str();
    serve_cmd->add_option("--token", serve.tokens, "A valid bot token (repeatable; none: any)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    serve_cmd->add_option("--shards", serve.shards, "Shard count /gateway/bot recommends")
        ->capture_default_str();
    serve_cmd
        ->add_option("--max-concurrency", serve.max_concurrency,
                     "Identify buckets (session_start_limit.max_concurrency)")
        ->capture_default_str();
    serve_cmd
        ->add_option("--identify-window-ms", serve.identify_window_ms,
                     "Time between Identifies of one bucket")
        ->capture_default_str();
    serve_cmd
        ->add_option("--heartbeat-interval-ms", serve.heartbeat_interval_ms,
                     "heartbeat_interval in Hello")
        ->capture_default_str();
    serve_cmd
        ->add_option("--heartbeat-grace-ms", serve.heartbeat_grace_ms,
                     "Extra time after a missed heartbeat before close 4009")
        ->capture_default_str();
    serve_cmd->add_option("--guilds", serve.guilds, "Guilds the bot is in")->capture_default_str();
    serve_cmd->add_option("--privileged", serve.privileged,
                          "Privileged intents the application may use, comma-separated "
                          "(GUILD_MEMBERS,GUILD_PRESENCES,MESSAGE_CONTENT)");
    serve_cmd
        ->add_option("--session-ttl-ms", serve.session_ttl_ms,
                     "How long a dropped session may be resumed")
        ->capture_default_str();
    serve_cmd
        ->add_option("--traffic", serve.traffic,
                     "Synthetic dispatches per second per connected shard")
        ->capture_default_str();
    serve_cmd->add_option("--seed", serve.seed, "Seed of ids and traffic")->capture_default_str();
    serve_cmd
        ->add_option("--zlib-split-frames", serve.zlib_split_frames,
                     "Split each zlib-stream message into N frames")
        ->capture_default_str();
    serve_cmd
        ->add_option("--zlib-window-bits", serve.zlib_window_bits,
                     "zlib-stream deflater window (9-15; smaller saves memory)")
        ->capture_default_str();
    serve_cmd
        ->add_option("--zlib-mem-level", serve.zlib_mem_level,
                     "zlib-stream deflater memLevel (1-9)")
        ->capture_default_str();
    serve_cmd
        ->add_option("--members-per-guild", serve.members_per_guild, "Members generated per guild")
        ->capture_default_str();
    serve_cmd
        ->add_option("--session-start-limit", serve.session_start_limit,
                     "Daily session starts (session_start_limit.total)")
        ->capture_default_str();
    serve_cmd
        ->add_option("--max-guilds-per-shard", serve.max_guilds_per_shard,
                     "More guilds on one shard: close 4011")
        ->capture_default_str();
    serve_cmd->add_option("--metrics", serve.metrics,
                          "HOST:PORT for Prometheus /metrics and the live status page at /");
    serve_cmd->add_option("--log-level", serve.log_level, "debug, info, warn, error or off")
        ->capture_default_str();
    serve_cmd->add_option("--log-format", serve.log_format, "text or json")->capture_default_str();

    shardgate::cli::connect_options connect;
    auto* connect_cmd = app.add_subcommand(
        "connect", "Run shards against a gateway (token from the DISCORD_TOKEN variable only)");
    connect_cmd->add_option("--api", connect.api, "REST base for discovery (GET {api}/gateway/bot)")
        ->capture_default_str();
    connect_cmd->add_option("--gateway", connect.gateway,
                            "Gateway URL (ws:// or wss://); skips discovery");
    connect_cmd
        ->add_option("--shards", connect.shards,
                     "Total shard count: N, or auto (discovery's recommendation; 1 with --gateway)")
        ->capture_default_str();
    connect_cmd->add_option("--shard-ids", connect.shard_ids,
                            "Shards this process runs: A-B or A,B,C (default: all)");
    connect_cmd->add_option("--intents", connect.intents,
                            "Intent names (comma-separated) or a number (default: every "
                            "non-privileged intent; see shardgate explain --intents)");
    connect_cmd->add_option("--compress", connect.compress, "zlib-stream, zstd-stream or none")
        ->capture_default_str();
    connect_cmd->add_option("--threads", connect.threads, "Threads running shards")
        ->capture_default_str();
    connect_cmd
        ->add_option("--events", connect.events,
                     "jsonl (JSON lines on stdout), count (one summary line at exit) or summary "
                     "(live status on stderr)")
        ->capture_default_str();
    connect_cmd->add_option("--max-concurrency", connect.max_concurrency,
                            "Identify buckets when --gateway skips discovery (default 1)");
    connect_cmd
        ->add_option("--reshard", connect.reshard,
                     "On close 4011: auto (bring up a new shard set) or off (stop)")
        ->capture_default_str();
    connect_cmd->add_flag("--no-verify-tls", connect.no_verify_tls,
                          "FOR TESTING ONLY: do not check TLS certificates (exposes the token)");
    connect_cmd->add_option("--duration", connect.duration,
                            "Stop after this many seconds (exit status 0)");
    connect_cmd->add_option("--metrics", connect.metrics,
                            "HOST:PORT for Prometheus /metrics and the live status page at /");
    connect_cmd->add_option("--log-level", connect.log_level, "debug, info, warn, error or off")
        ->capture_default_str();
    connect_cmd->add_option("--log-format", connect.log_format, "text or json")
        ->capture_default_str();

    connect_cmd->footer(
        "The bot token is read from the environment variable DISCORD_TOKEN, never from the "
        "command line, and is never printed.\n--events count: first_ms/last_ms/elapsed_ms are "
        "milliseconds since the command started.\nExit status: 0 after SIGINT/SIGTERM or "
        "--duration, 1 when start-up fails (e.g. discovery), 2 for bad usage, 3 when every shard "
        "stopped on a fatal close code.");

    shardgate::cli::demo_options demo;
    auto* demo_cmd = app.add_subcommand(
        "demo", "The emulator and shards in one process, with faults injected: watch them recover "
                "(no token, no network)");
    demo_cmd->add_option("--shards", demo.shards, "Shards to run")->capture_default_str();
    demo_cmd->add_option("--duration", demo.duration,
                         "Stop after this many seconds (default: until Ctrl-C)");
    demo_cmd->add_flag("--json", demo.json, "Print the final summary as one JSON object on stdout");
    demo_cmd->add_option("--metrics", demo.metrics,
                         "HOST:PORT for Prometheus /metrics and the live status page at /");
    demo_cmd
        ->add_option("--fault-every", demo.fault_every, "Seconds between injected faults (0: none)")
        ->capture_default_str();
    demo_cmd->add_option("--traffic", demo.traffic, "Dispatches per second per shard")
        ->capture_default_str();
    demo_cmd->add_option("--seed", demo.seed, "Seed of ids and traffic")->capture_default_str();
    demo_cmd->add_option("--compress", demo.compress, "zlib-stream, zstd-stream or none")
        ->capture_default_str();
    demo_cmd->add_option("--threads", demo.threads, "Threads running shards")
        ->capture_default_str();
    demo_cmd->add_option("--log-level", demo.log_level, "debug, info, warn, error or off")
        ->capture_default_str();
    demo_cmd->add_option("--log-format", demo.log_format, "text or json")->capture_default_str();
    demo_cmd->footer("Exit status: 0 when every event arrived once and in order, 1 when some were "
                     "lost or duplicated (a bug: please report it) or the demo could not start, 2 "
                     "for bad usage.");

    // Before CLI11: it would echo a token typed on the command line in its error message.
    if (const int status = shardgate::cli::check_connect_argv(argc, argv, std::cerr); status != 0) {
        return status;
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::Success& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)app.exit(e);
        return 2; // bad usage, as DESIGN.md's contract says
    }

    if (explain_cmd->parsed()) {
        return shardgate::cli::run_explain(explain, std::cout, std::cerr);
    }
    if (connect_cmd->parsed()) {
        return shardgate::cli::run_connect(connect, shardgate::cli::detect_environment(), std::cout,
                                           std::cerr);
    }
    if (demo_cmd->parsed()) {
        const auto env = shardgate::cli::detect_environment();
        return shardgate::cli::run_demo(
            demo, {.stderr_is_tty = env.stderr_is_tty, .columns = env.columns}, std::cout,
            std::cerr);
    }
    if (serve_cmd->parsed()) {
        return shardgate::cli::run_serve(serve, std::cout, std::cerr);
    }
    return 2;
}
