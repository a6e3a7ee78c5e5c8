// The shardgate command line. Each subcommand lives in its own file; this only parses and
// dispatches.
#include "explain.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"shardgate: Discord gateway shards, a gateway emulator and protocol tools"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "shardgate 0.1.0");

    shardgate::cli::explain_options explain;
    auto* explain_cmd = app.add_subcommand(
        "explain", "Explain a gateway close code: meaning, what shardgate does, how to fix it");
    explain_cmd->add_option("code", explain.code,
                            "Close code, e.g. 4014 (omit for the whole table)");
    explain_cmd->add_flag("--json", explain.json,
                          "Print JSON: one object, or the table as an array");
    explain_cmd->add_flag("--intents", explain.intents, "List the gateway intents instead");

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
    return 2;
}
