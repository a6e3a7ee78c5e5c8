#pragma once
/// @file
/// `shardgate explain [CODE] [--json] [--intents]`: the close-code policy table for people and
/// programs.

#include <iosfwd>
#include <optional>
#include <string>

namespace shardgate::cli {

struct explain_options {
    std::optional<std::string> code; ///< As typed; validated by `run_explain`.
    bool json = false;
    bool intents = false;
};

/// Runs the command; returns the process exit status (0, or 2 for bad usage).
int run_explain(const explain_options& options, std::ostream& out, std::ostream& err);

} // namespace shardgate::cli
