#include "config_file.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <set>
#include <utility>
#include <vector>

namespace shardgate::cli {
namespace {

/// The option a key sets: `--<key>`, or with `_` for `-` (TOML habits), never help.
CLI::Option* option_for(CLI::App& command, const std::string& key) {
    CLI::Option* option = command.get_option_no_throw("--" + key);
    if (option == nullptr) {
        std::string dashed = key;
        std::replace(dashed.begin(), dashed.end(), '_', '-');
        option = command.get_option_no_throw("--" + dashed);
    }
    if (option == command.get_help_ptr() || option == command.get_help_all_ptr()) {
        return nullptr;
    }
    return option;
}

std::string join(const std::vector<std::string>& values, char separator) {
    std::string out;
    for (const auto& v : values) {
        if (!out.empty()) {
            out += separator;
        }
        out += v;
    }
    return out;
}

void apply_config_file(CLI::App& command, const std::string& path, const config_key_check& check) {
    const std::string where = "--config " + path + ": ";
    std::shared_ptr<CLI::Config> format;
    if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".ini") == 0) {
        format = std::make_shared<CLI::ConfigINI>();
    } else {
        format = std::make_shared<CLI::ConfigTOML>();
    }
    std::vector<CLI::ConfigItem> items;
    try {
        items = format->from_file(path);
    } catch (const CLI::FileError&) {
        throw CLI::FileError(where + "cannot read the file");
    }

    // Every key is checked before any is applied: a refused file changes nothing.
    std::vector<std::pair<CLI::Option*, const CLI::ConfigItem*>> settings;
    std::set<CLI::Option*> seen;
    for (const auto& item : items) {
        if (item.name == "++" || item.name == "--") {
            continue; // a section's start or end
        }
        const bool in_scope = item.parents.empty() ||
                              (item.parents.size() == 1 && item.parents[0] == command.get_name());
        if (check && in_scope) {
            if (auto refusal = check(item.name, item.inputs)) {
                throw CLI::ConfigError(where + *refusal);
            }
        }
        CLI::Option* option = in_scope ? option_for(command, item.name) : nullptr;
        if (option == nullptr) {
            throw CLI::ConfigError(where + "unknown key '" + item.fullname() + "': keys are " +
                                   command.get_name() +
                                   "'s long options without the dashes, e.g. shards = 4 (see "
                                   "shardgate " +
                                   command.get_name() + " --help)");
        }
        if (!option->get_configurable()) {
            throw CLI::ConfigError(where + "the key '" + item.name +
                                   "' cannot be set in a config file");
        }
        if (!seen.insert(option).second) {
            throw CLI::ConfigError(where + "the key '" + item.name + "' is set twice");
        }
        settings.emplace_back(option, &item);
    }
    for (const auto& [option, item] : settings) {
        if (!option->empty()) {
            continue; // given on the command line, which wins
        }
        try {
            if (option->get_expected_min() == 0) { // a flag: true/false, on/off, 1/0
                option->add_result(option->get_flag_value(item->name, format->to_flag(*item)));
            } else if (option->get_items_expected_max() == 1 &&
                       option->get_multi_option_policy() == CLI::MultiOptionPolicy::Throw &&
                       item->inputs.size() > 1) {
                // One value that the file syntax split at its commas: `shard-ids = 0-3,8`.
                option->add_result(join(item->inputs, ','));
            } else {
                option->add_result(item->inputs);
            }
            option->run_callback();
        } catch (const CLI::ParseError& e) {
            throw CLI::ConfigError(where + "the key '" + item->name + "': " + e.what());
        }
    }
}

} // namespace

void add_config_option(CLI::App& command, config_key_check check) {
    CLI::Option* config = command.set_config(
        "--config", "", "Read options from FILE (TOML, or INI if *.ini): shards = 4, one per line");
    config->type_name("FILE");
    command.final_callback([&command, check = std::move(check)] {
        const CLI::Option* option = command.get_option("--config");
        if (option->count() > 0) {
            apply_config_file(command, option->as<std::string>(), check);
        }
    });
}

} // namespace shardgate::cli
