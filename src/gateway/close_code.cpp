#include "shardgate/gateway/close_code.hpp"

#include <algorithm>
#include <array>

namespace shardgate::gateway {
namespace {

using enum close_reaction;

// Our reading of Discord's table (the "Reconnect" column plus each code's explanation):
// 4007 and 4009 say the session is gone, and 4003 says "the session has been invalidated", so those
// three identify afresh; the other reconnectable codes keep the session and resume.
constexpr std::array policy_table{
    close_policy{1000, "Normal closure", resume,
                 "The server closed the connection normally; Discord does not use this for errors.",
                 "Nothing to do.", false},
    close_policy{1001, "Going away", resume,
                 "The server is going away (restart or load balancing).", "Nothing to do.", false},
    close_policy{1006, "Abnormal closure", resume,
                 "The connection dropped without a close frame (network loss, proxy, crash).",
                 "Nothing to do; if it repeats, check the network path to Discord.", false},
    close_policy{4000, "Unknown error", resume, "Discord hit an unexpected error on its side.",
                 "Nothing to do.", true},
    close_policy{
        4001, "Unknown opcode", resume,
        "The client sent an opcode Discord does not know, or a bad payload for a known one.",
        "Nothing to do; if it repeats, a command you send is malformed: please report it.", true},
    close_policy{
        4002, "Decode error", resume,
        "Discord could not decode a payload the client sent (bad JSON or over 4096 bytes).",
        "Nothing to do; shardgate rejects oversized commands before sending, so please report it.",
        true},
    close_policy{4003, "Not authenticated", reidentify,
                 "A payload arrived before Identify, or the session was invalidated.",
                 "Nothing to do.", true},
    close_policy{
        4004, "Authentication failed", fatal, "Discord rejected the bot token sent in Identify.",
        "Put a valid bot token in DISCORD_TOKEN (Developer Portal > your app > Bot > Reset "
        "Token).",
        true},
    close_policy{4005, "Already authenticated", resume,
                 "The client sent Identify or Resume twice on one connection.",
                 "Nothing to do; if it repeats, please report it.", true},
    close_policy{4007, "Invalid seq", reidentify,
                 "The sequence number sent in Resume was not valid for the session.",
                 "Nothing to do; events between the drop and the new session are not replayed.",
                 true},
    close_policy{
        4008, "Rate limited", resume, "The client sent more than 120 payloads in 60 seconds.",
        "Nothing to do; shardgate's send limiter should prevent this, so please report it.", true},
    close_policy{4009, "Session timed out", reidentify,
                 "The session expired (heartbeats stopped or a resume came too late).",
                 "Nothing to do; if frequent, look for a blocked event loop delaying heartbeats.",
                 true},
    close_policy{
        4010, "Invalid shard", fatal, "The shard id or shard count sent in Identify is invalid.",
        "Keep every --shard-ids value below --shards (for large-bot sharding use a multiple "
        "of the count Discord assigned).",
        true},
    close_policy{
        4011, "Sharding required", fatal,
        "The session would hold too many guilds (2500 or more per shard).",
        "Run more shards: --shards auto (or --reshard auto) uses Discord's recommendation.", true},
    close_policy{4012, "Invalid API version", fatal,
                 "The gateway URL asked for an API version Discord does not serve.",
                 "Use API version 10 (do not put v= in --gateway).", true},
    close_policy{
        4013, "Invalid intent(s)", fatal,
        "The intents bitfield in Identify has bits Discord does not define.",
        "Pass documented intent names to --intents (list them with shardgate explain --intents).",
        true},
    close_policy{
        4014, "Disallowed intent(s)", fatal,
        "Identify asked for a privileged intent this application may not use.",
        "Enable the intent in the Developer Portal (Bot > Privileged Gateway Intents) or drop "
        "it from --intents.",
        true},
};

static_assert(std::ranges::is_sorted(policy_table, {}, &close_policy::code));

constexpr close_policy unknown_code_policy{0,
                                           "Unknown close code",
                                           resume,
                                           "A close code that Discord does not document.",
                                           "Nothing to do; if it repeats, please report the code.",
                                           false};

} // namespace

std::span<const close_policy> all_close_policies() noexcept {
    return policy_table;
}

std::optional<close_policy> find_close_policy(std::uint16_t code) noexcept {
    const auto* row = std::ranges::lower_bound(policy_table, code, {}, &close_policy::code);
    if (row == policy_table.end() || row->code != code) {
        return std::nullopt;
    }
    return *row;
}

close_policy policy_for(std::uint16_t code) noexcept {
    if (auto row = find_close_policy(code)) {
        return *row;
    }
    close_policy fallback = unknown_code_policy;
    fallback.code = code;
    return fallback;
}

std::string_view to_string(close_reaction r) noexcept {
    switch (r) {
    case resume: return "resume";
    case reidentify: return "reidentify";
    case fatal: return "fatal";
    }
    return "resume";
}

std::string_view describe(close_reaction r) noexcept {
    switch (r) {
    case resume:
        return "reconnects to resume_gateway_url and resumes the session; missed events are "
               "replayed";
    case reidentify: return "reconnects to the gateway URL and identifies a new session";
    case fatal: return "stops the shard; the other shards keep running";
    }
    return "";
}

} // namespace shardgate::gateway
