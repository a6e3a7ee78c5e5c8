#include "log_settings.hpp"

namespace shardgate::cli {

bool parse_log_settings(const std::string& level, const std::string& format, log_settings& settings,
                        std::string& error) {
    const auto l = observe::parse_log_level(level);
    if (!l) {
        error = "--log-level must be debug, info, warn, error or off, not '" + level + "'";
        return false;
    }
    const auto f = observe::parse_log_format(format);
    if (!f) {
        error = "--log-format must be text or json, not '" + format + "'";
        return false;
    }
    settings = {*l, *f};
    return true;
}

observe::log_level lifecycle_log_level(gateway::lifecycle_kind kind) noexcept {
    using k = gateway::lifecycle_kind;
    switch (kind) {
    case k::fatal: return observe::log_level::error;
    case k::protocol_error: return observe::log_level::warn;
    case k::connecting:
    case k::hello:
    case k::identifying:
    case k::resuming: return observe::log_level::debug;
    default: return observe::log_level::info;
    }
}

} // namespace shardgate::cli
