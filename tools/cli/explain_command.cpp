// `shardgate explain` on the command line.
#include "commands.hpp"
#include "explain.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace shardgate::cli {

subcommand register_explain(CLI::App& app) {
    auto explain = std::make_shared<explain_options>();
    auto* cmd = app.add_subcommand(
        "explain", "Explain a gateway close code: meaning, what shardgate does, how to fix it");
    cmd->add_option("code", explain->code, "Close code, e.g. 4014 (omit for the whole table)");
    cmd->add_flag("--json", explain->json, "Print JSON: one object, or the table as an array");
    cmd->add_flag("--intents", explain->intents, "List the gateway intents instead");

    subcommand command;
    command.app = cmd;
    command.run = [explain](std::ostream& out, std::ostream& err) {
        return run_explain(*explain, out, err);
    };
    return command;
}

} // namespace shardgate::cli
