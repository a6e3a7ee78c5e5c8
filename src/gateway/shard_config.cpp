#include "shardgate/gateway/shard_config.hpp"

#include "shardgate/gateway/commands.hpp"
#include "shardgate/gateway/detail/printable.hpp"
#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/websocket_url.hpp"

#include <string_view>

namespace shardgate::gateway {
identify identify_for(const shard_config& config) {
    identify payload;
    payload.token = config.token;
    payload.properties = config.properties;
    payload.intents = config.intents;
    payload.shard = config.shard;
    payload.presence = config.presence;
    payload.large_threshold = config.large_threshold;
    return payload;
}

// Every check names the field as a user writes it, so that a mistake is found where it is made
// rather than at the first Identify (where the gateway would answer 4002 or 4013).
std::string validate(const shard_config& config) {
    const auto field = [](std::string_view name, const std::string& problem) {
        return "shard_config." + std::string(name) + ' ' + problem;
    };
    if (config.token.empty()) {
        return field("token", "is empty; set the bot token (without \"Bot \")");
    }
    if (config.shard.count == 0) {
        return field("shard.count", "is 0; it must be at least 1");
    }
    if (config.shard.id >= config.shard.count) {
        return field("shard.id", "is " + std::to_string(config.shard.id) +
                                     "; it must be below shard.count (" +
                                     std::to_string(config.shard.count) + ")");
    }
    if (!is_websocket_url(config.gateway_url)) {
        return field("gateway_url", "is \"" + detail::printable(config.gateway_url, 200) +
                                        "\"; it must be a ws:// or wss:// URL with a host, e.g. "
                                        "wss://gateway.discord.gg");
    }
    // Intents are left to the gateway (4013 names them): Discord adds bits before we know them.
    if (config.large_threshold < 50 || config.large_threshold > 250) {
        return field("large_threshold", "is " + std::to_string(config.large_threshold) +
                                            "; it must be between 50 and 250");
    }
    if (config.resume_url_attempts == 0) {
        return field("resume_url_attempts", "is 0; it must be at least 1");
    }
    if (config.hello_timeout.count() <= 0 || config.close_timeout.count() <= 0) {
        return field(config.hello_timeout.count() <= 0 ? "hello_timeout" : "close_timeout",
                     "must be positive");
    }
    if (config.invalid_session_wait_min.count() < 0 ||
        config.invalid_session_wait_max < config.invalid_session_wait_min) {
        return field("invalid_session_wait_min", "must be >= 0 and <= invalid_session_wait_max");
    }
    if (config.max_queued_commands == 0) {
        return field("max_queued_commands", "is 0; it must be at least 1");
    }
    if (config.resume && (config.resume->session_id.empty() ||
                          !is_websocket_url(config.resume->resume_gateway_url))) {
        return field("resume",
                     "needs a session_id and a ws:// or wss:// resume_gateway_url with a host");
    }
    // Last, the Identify itself: an invalid presence, or properties and presence together longer
    // than the gateway's 4096-byte limit.
    std::string text;
    if (const auto ec = encode(identify_for(config), text)) {
        if (ec == error::payload_too_large) {
            return field("presence", "and properties make Identify longer than 4096 bytes");
        }
        return field("presence", "is not valid: " + ec.message());
    }
    return {};
}

} // namespace shardgate::gateway
