#pragma once
/// @file
/// `--config FILE` for a subcommand, so that an operator can keep settings in a file for a service
/// manager. CLI11 2.1 reads config files for the top-level App only (`set_config` on a subcommand
/// adds the option and nothing more), so this reads the subcommand's own once it is parsed.
///
/// The file: one `key = value` per line, each key a long option of the subcommand without its
/// dashes (`shards = 4`, `log-level = "debug"`; `log_level` works too), at the top level or under a
/// `[<subcommand>]` section; `#` comments; lists as `["a", "b"]`. TOML as CLI11 reads it, or INI
/// for a file named `*.ini` (`;` comments). Options given on the command line win over the file.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace CLI {
class App;
} // namespace CLI

namespace shardgate::cli {

/// Looks at one key of the file before anything is applied: a refusal to print, which must not
/// quote the value, or nullopt.
using config_key_check = std::function<std::optional<std::string>(
    std::string_view key, std::span<const std::string> values)>;

/// Adds `--config FILE` to `command` and reads the file at the end of parsing. A file that cannot
/// be read (`CLI::FileError`), a key that names no option or appears twice, a key `check` refuses
/// and a value an option rejects (`CLI::ConfigError`, `CLI::ConversionError`...) are bad usage:
/// `parse` throws, and the message names the file and the key.
void add_config_option(CLI::App& command, config_key_check check = {});

} // namespace shardgate::cli
