// `shardgate bench` on the command line.
#include "bench.hpp"
#include "commands.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace shardgate::cli {

subcommand register_bench(CLI::App& app) {
    auto o = std::make_shared<bench_options>();
    auto* cmd = app.add_subcommand(
        "bench", "End-to-end figures against the emulator on 127.0.0.1: floods per compression "
                 "against the decode limit, idle memory per shard, start-up, threads, output");
    cmd->add_option("scenarios", o->scenarios,
                    "flood, idle, startup, threads, output or all (default: all)");
    cmd->add_option("--events", o->events, "MESSAGE_CREATEs per flood (1000-1000000)")
        ->capture_default_str();
    cmd->add_option("--compress", o->compressions,
                    "Compressions to measure, comma-separated (default: none,zlib-stream,"
                    "zstd-stream)")
        ->delimiter(',');
    cmd->add_option("--idle-shards", o->idle_shards,
                    "Shard counts of the idle test, comma-separated (default 1000)")
        ->delimiter(',');
    cmd->add_option("--idle-seconds", o->idle_seconds, "CPU window of the idle test")
        ->capture_default_str();
    cmd->add_option("--startup-shards", o->startup_shards, "Shards of the start-up test")
        ->capture_default_str();
    cmd->add_option("--startup-concurrency", o->startup_concurrency, "max_concurrency there")
        ->capture_default_str();
    cmd->add_option("--startup-window-ms", o->startup_window_ms,
                    "The emulator's identify window there")
        ->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed of the generated events")->capture_default_str();
    cmd->add_option("--repeat", o->repeat, "Runs of each flood; the best is reported")
        ->capture_default_str();
    cmd->add_flag("--json", o->json, "One JSON object per result on stdout");
    cmd->footer("The emulator runs as a child process, each scenario's shards in a forked child "
                "(its memory its own). See docs/BENCHMARKS.md.");

    subcommand command;
    command.app = cmd;
    command.run = [o](std::ostream& out, std::ostream& err) { return run_bench(*o, out, err); };
    return command;
}

} // namespace shardgate::cli
