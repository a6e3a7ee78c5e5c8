#pragma once
/// @file
/// The subcommands as the command line sees them. Each adds itself and its options to the App in
/// a file of its own (`<name>_command.cpp`) and hands back what `main` needs: the subcommand, a
/// check of the raw arguments before CLI11 parses them, and what to run once they are parsed.
///
/// CLI11 stays out of this header (it is only named): it costs seconds in every file that
/// includes it, and the tests of the commands' logic include their headers only.

#include "connect.hpp"
#include "serve.hpp"

#include <functional>
#include <iosfwd>

namespace CLI {
class App;
} // namespace CLI

namespace shardgate::cli {

/// One subcommand added to the App.
struct subcommand {
    CLI::App* app = nullptr; ///< Run it when `app->parsed()`.
    /// Before CLI11 parses `argv` (it echoes unexpected arguments in its errors): 0 to go on,
    /// or the exit status after printing why not. Empty for commands with nothing to hide.
    std::function<int(int argc, const char* const* argv, std::ostream& err)> check_argv{};
    /// After a successful parse: runs the command and returns its exit status.
    std::function<int(std::ostream& out, std::ostream& err)> run{};
};

[[nodiscard]] subcommand register_explain(CLI::App& app);
[[nodiscard]] subcommand register_serve(CLI::App& app);
[[nodiscard]] subcommand register_connect(CLI::App& app);
[[nodiscard]] subcommand register_demo(CLI::App& app);
[[nodiscard]] subcommand register_events(CLI::App& app);
[[nodiscard]] subcommand register_bench(CLI::App& app);

/// Adds `connect` and its options (`--config` included) to `app`, bound to `options`, which
/// must outlive parsing. `register_connect` uses it; so do the tests.
CLI::App* add_connect_command(CLI::App& app, connect_options& options);
/// Adds `serve` and its options (`--config` included) to `app`, bound to `options`.
CLI::App* add_serve_command(CLI::App& app, serve_options& options);

} // namespace shardgate::cli
