// The shardgate command line. Each subcommand adds its own options in its own file
// (`<name>_command.cpp`); this creates the App, registers them, parses and dispatches.
#include "commands.hpp"
#include "shardgate/version.hpp"

#include <CLI/CLI.hpp>
#include <array>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    namespace cli = shardgate::cli;
    CLI::App app{"shardgate: Discord gateway shards, a gateway emulator and protocol tools"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("shardgate ") + shardgate::version_string);
    const std::array commands{cli::register_explain(app), cli::register_serve(app),
                              cli::register_connect(app), cli::register_demo(app),
                              cli::register_events(app),  cli::register_bench(app)};

    for (const auto& command : commands) {
        if (command.check_argv) {
            if (const int status = command.check_argv(argc, argv, std::cerr); status != 0) {
                return status;
            }
        }
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
    for (const auto& command : commands) {
        if (command.app->parsed()) {
            return command.run(std::cout, std::cerr);
        }
    }
    return 2;
}
