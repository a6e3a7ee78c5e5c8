// `shardgate events` on the command line.
#include "commands.hpp"
#include "events.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace shardgate::cli {

subcommand register_events(CLI::App& app) {
    auto events = std::make_shared<events_options>();
    auto* cmd = app.add_subcommand(
        "events", "Print the dispatches `connect --nats` published to JetStream, as jsonl");
    cmd->add_option("--nats", events->nats, "NATS server URL(s), comma-separated")
        ->required()
        ->type_name("URL[,URL...]");
    cmd->add_option("--stream", events->stream, "JetStream stream")->capture_default_str();
    cmd->add_option("--subject-prefix", events->subject_prefix,
                    "Subject prefix: subjects are <prefix>.events.<shard>.<EVENT>")
        ->capture_default_str();
    cmd->add_option("--filter", events->filter, "Only these events, e.g. MESSAGE_CREATE,READY")
        ->type_name("EVENT,...");
    cmd->add_option("--durable", events->durable,
                    "Durable consumer name: a later run goes on after the events printed")
        ->type_name("NAME");
    cmd->add_flag("--follow", events->follow,
                  "Keep waiting for new events (until SIGINT/SIGTERM) instead of stopping at the "
                  "end of the stream");

    subcommand command;
    command.app = cmd;
    command.run = [events](std::ostream& out, std::ostream& err) {
        return run_events(*events, out, err);
    };
    return command;
}

} // namespace shardgate::cli
