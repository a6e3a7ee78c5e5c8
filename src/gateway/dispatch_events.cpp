#include "shardgate/gateway/dispatch_events.hpp"

#include <algorithm>
#include <array>

namespace shardgate::gateway {
namespace {

constexpr std::uint64_t bit(unsigned n) noexcept {
    return std::uint64_t{1} << n;
}

// The intent bits follow intents.hpp; tests/unit/gateway/protocol_facts_test.cpp checks both
// against the docs digest in tests/data/gateway.json.
constexpr std::array dispatch_table{
    dispatch_event_info{"READY", 0},
    dispatch_event_info{"RESUMED", 0},
    dispatch_event_info{"RATE_LIMITED", 0},
    dispatch_event_info{"APPLICATION_COMMAND_PERMISSIONS_UPDATE", 0},
    dispatch_event_info{"AUTO_MODERATION_RULE_CREATE", bit(20)},
    dispatch_event_info{"AUTO_MODERATION_RULE_UPDATE", bit(20)},
    dispatch_event_info{"AUTO_MODERATION_RULE_DELETE", bit(20)},
    dispatch_event_info{"AUTO_MODERATION_ACTION_EXECUTION", bit(21)},
    dispatch_event_info{"CHANNEL_CREATE", bit(0)},
    dispatch_event_info{"CHANNEL_UPDATE", bit(0)},
    dispatch_event_info{"CHANNEL_DELETE", bit(0)},
    dispatch_event_info{"CHANNEL_INFO", 0},
    dispatch_event_info{"CHANNEL_PINS_UPDATE", bit(0) | bit(12)},
    dispatch_event_info{"THREAD_CREATE", bit(0)},
    dispatch_event_info{"THREAD_UPDATE", bit(0)},
    dispatch_event_info{"THREAD_DELETE", bit(0)},
    dispatch_event_info{"THREAD_LIST_SYNC", bit(0)},
    dispatch_event_info{"THREAD_MEMBER_UPDATE", bit(0)},
    dispatch_event_info{"THREAD_MEMBERS_UPDATE", bit(0) | bit(1)},
    dispatch_event_info{"ENTITLEMENT_CREATE", 0},
    dispatch_event_info{"ENTITLEMENT_UPDATE", 0},
    dispatch_event_info{"ENTITLEMENT_DELETE", 0},
    dispatch_event_info{"GUILD_CREATE", bit(0)},
    dispatch_event_info{"GUILD_UPDATE", bit(0)},
    dispatch_event_info{"GUILD_DELETE", bit(0)},
    dispatch_event_info{"GUILD_AUDIT_LOG_ENTRY_CREATE", bit(2)},
    dispatch_event_info{"GUILD_BAN_ADD", bit(2)},
    dispatch_event_info{"GUILD_BAN_REMOVE", bit(2)},
    dispatch_event_info{"GUILD_EMOJIS_UPDATE", bit(3)},
    dispatch_event_info{"GUILD_STICKERS_UPDATE", bit(3)},
    dispatch_event_info{"GUILD_INTEGRATIONS_UPDATE", bit(4)},
    dispatch_event_info{"GUILD_MEMBER_ADD", bit(1)},
    dispatch_event_info{"GUILD_MEMBER_REMOVE", bit(1)},
    dispatch_event_info{"GUILD_MEMBER_UPDATE", bit(1)},
    dispatch_event_info{"GUILD_MEMBERS_CHUNK", 0},
    dispatch_event_info{"GUILD_ROLE_CREATE", bit(0)},
    dispatch_event_info{"GUILD_ROLE_UPDATE", bit(0)},
    dispatch_event_info{"GUILD_ROLE_DELETE", bit(0)},
    dispatch_event_info{"GUILD_SCHEDULED_EVENT_CREATE", bit(16)},
    dispatch_event_info{"GUILD_SCHEDULED_EVENT_UPDATE", bit(16)},
    dispatch_event_info{"GUILD_SCHEDULED_EVENT_DELETE", bit(16)},
    dispatch_event_info{"GUILD_SCHEDULED_EVENT_USER_ADD", bit(16)},
    dispatch_event_info{"GUILD_SCHEDULED_EVENT_USER_REMOVE", bit(16)},
    dispatch_event_info{"GUILD_SOUNDBOARD_SOUND_CREATE", bit(3)},
    dispatch_event_info{"GUILD_SOUNDBOARD_SOUND_UPDATE", bit(3)},
    dispatch_event_info{"GUILD_SOUNDBOARD_SOUND_DELETE", bit(3)},
    dispatch_event_info{"GUILD_SOUNDBOARD_SOUNDS_UPDATE", bit(3)},
    dispatch_event_info{"SOUNDBOARD_SOUNDS", 0},
    dispatch_event_info{"INTEGRATION_CREATE", bit(4)},
    dispatch_event_info{"INTEGRATION_UPDATE", bit(4)},
    dispatch_event_info{"INTEGRATION_DELETE", bit(4)},
    dispatch_event_info{"INTERACTION_CREATE", 0},
    dispatch_event_info{"INVITE_CREATE", bit(6)},
    dispatch_event_info{"INVITE_DELETE", bit(6)},
    dispatch_event_info{"MESSAGE_CREATE", bit(9) | bit(12)},
    dispatch_event_info{"MESSAGE_UPDATE", bit(9) | bit(12)},
    dispatch_event_info{"MESSAGE_DELETE", bit(9) | bit(12)},
    dispatch_event_info{"MESSAGE_DELETE_BULK", bit(9)},
    dispatch_event_info{"MESSAGE_REACTION_ADD", bit(10) | bit(13)},
    dispatch_event_info{"MESSAGE_REACTION_REMOVE", bit(10) | bit(13)},
    dispatch_event_info{"MESSAGE_REACTION_REMOVE_ALL", bit(10) | bit(13)},
    dispatch_event_info{"MESSAGE_REACTION_REMOVE_EMOJI", bit(10) | bit(13)},
    dispatch_event_info{"PRESENCE_UPDATE", bit(8)},
    dispatch_event_info{"STAGE_INSTANCE_CREATE", bit(0)},
    dispatch_event_info{"STAGE_INSTANCE_UPDATE", bit(0)},
    dispatch_event_info{"STAGE_INSTANCE_DELETE", bit(0)},
    dispatch_event_info{"SUBSCRIPTION_CREATE", 0},
    dispatch_event_info{"SUBSCRIPTION_UPDATE", 0},
    dispatch_event_info{"SUBSCRIPTION_DELETE", 0},
    dispatch_event_info{"TYPING_START", bit(11) | bit(14)},
    dispatch_event_info{"USER_UPDATE", 0},
    dispatch_event_info{"VOICE_CHANNEL_EFFECT_SEND", bit(7)},
    dispatch_event_info{"VOICE_CHANNEL_START_TIME_UPDATE", bit(0)},
    dispatch_event_info{"VOICE_CHANNEL_STATUS_UPDATE", bit(0)},
    dispatch_event_info{"VOICE_STATE_UPDATE", bit(7)},
    dispatch_event_info{"VOICE_SERVER_UPDATE", 0},
    dispatch_event_info{"WEBHOOKS_UPDATE", bit(5)},
    dispatch_event_info{"MESSAGE_POLL_VOTE_ADD", bit(24) | bit(25)},
    dispatch_event_info{"MESSAGE_POLL_VOTE_REMOVE", bit(24) | bit(25)},
};

} // namespace

std::span<const dispatch_event_info> all_dispatch_events() noexcept {
    return dispatch_table;
}

std::optional<dispatch_event_info> find_dispatch_event(std::string_view name) noexcept {
    const auto* row = std::ranges::find(dispatch_table, name, &dispatch_event_info::name);
    if (row == dispatch_table.end()) {
        return std::nullopt;
    }
    return *row;
}

} // namespace shardgate::gateway
