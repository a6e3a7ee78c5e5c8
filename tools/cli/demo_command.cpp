// `shardgate demo` on the command line.
#include "commands.hpp"
#include "demo.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace shardgate::cli {

subcommand register_demo(CLI::App& app) {
    auto demo = std::make_shared<demo_options>();
    auto* cmd = app.add_subcommand(
        "demo", "The emulator and shards in one process, with faults injected: watch them recover "
                "(no token, no network)");
    cmd->add_option("--shards", demo->shards, "Shards to run")->capture_default_str();
    cmd->add_option("--duration", demo->duration,
                    "Stop after this many seconds (default: until Ctrl-C)");
    cmd->add_flag("--json", demo->json, "Print the final summary as one JSON object on stdout");
    cmd->add_option("--metrics", demo->metrics,
                    "HOST:PORT for Prometheus /metrics and the live status page at /");
    cmd->add_option("--fault-every", demo->fault_every, "Seconds between injected faults (0: none)")
        ->capture_default_str();
    cmd->add_flag("--chaos", demo->chaos,
                  "Faults drawn at random (from --seed) from every non-fatal close code, op 7, "
                  "op 9 both ways, zombies silent and not, drops and op 1 requests");
    cmd->add_option("--traffic", demo->traffic, "Dispatches per second per shard")
        ->capture_default_str();
    cmd->add_option("--seed", demo->seed, "Seed of ids and traffic")->capture_default_str();
    cmd->add_option("--compress", demo->compress, "zlib-stream, zstd-stream or none")
        ->capture_default_str();
    cmd->add_option("--threads", demo->threads, "Threads running shards")->capture_default_str();
    cmd->add_option("--log-level", demo->log_level, "debug, info, warn, error or off")
        ->capture_default_str();
    cmd->add_option("--log-format", demo->log_format, "text or json")->capture_default_str();
    cmd->add_option("--workers", demo->workers,
                    "Run the scale-out instead: nats-server, N worker processes sharing the shards "
                    "on JetStream, one killed mid-run (needs the nats-server package)");
    cmd->footer("Exit status: 0 when every event arrived once and in order, 1 when some were "
                "lost or duplicated (a bug: please report it) or the demo could not start, 2 "
                "for bad usage.");

    subcommand command;
    command.app = cmd;
    command.run = [demo](std::ostream& out, std::ostream& err) {
        const auto env = detect_environment();
        return run_demo(*demo, {.stderr_is_tty = env.stderr_is_tty, .columns = env.columns}, out,
                        err);
    };
    return command;
}

} // namespace shardgate::cli
