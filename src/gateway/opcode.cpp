#include "shardgate/gateway/opcode.hpp"

#include <algorithm>
#include <array>

namespace shardgate::gateway {
namespace {

using enum opcode_direction;

constexpr std::array opcode_table{
    opcode_info{opcode::dispatch, "Dispatch", receive},
    opcode_info{opcode::heartbeat, "Heartbeat", both},
    opcode_info{opcode::identify, "Identify", send},
    opcode_info{opcode::presence_update, "Presence Update", send},
    opcode_info{opcode::voice_state_update, "Voice State Update", send},
    opcode_info{opcode::resume, "Resume", send},
    opcode_info{opcode::reconnect, "Reconnect", receive},
    opcode_info{opcode::request_guild_members, "Request Guild Members", send},
    opcode_info{opcode::invalid_session, "Invalid Session", receive},
    opcode_info{opcode::hello, "Hello", receive},
    opcode_info{opcode::heartbeat_ack, "Heartbeat ACK", receive},
    opcode_info{opcode::request_soundboard_sounds, "Request Soundboard Sounds", send},
    opcode_info{opcode::request_channel_info, "Request Channel Info", send},
};

static_assert(std::ranges::is_sorted(opcode_table, {}, &opcode_info::op));

} // namespace

std::span<const opcode_info> all_opcodes() noexcept {
    return opcode_table;
}

const opcode_info& info(opcode op) noexcept {
    // Every enumerator is in the table, so the search always finds it.
    return *std::ranges::lower_bound(opcode_table, op, {}, &opcode_info::op);
}

std::optional<opcode> to_opcode(std::int64_t value) noexcept {
    const auto* row = std::ranges::find_if(opcode_table, [value](const opcode_info& r) {
        return static_cast<std::int64_t>(r.op) == value;
    });
    if (row == opcode_table.end()) {
        return std::nullopt;
    }
    return row->op;
}

} // namespace shardgate::gateway
