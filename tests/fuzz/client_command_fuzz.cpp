// libFuzzer target: the reader of client frames must turn any bytes into a typed command or a
// protocol violation, never a crash, and keep its promises: violations carry 4001 or 4002 only
// (the connection decides every other code), a violation of `d` names a client opcode and is
// 4001, a command comes only from a frame of at most 4096 bytes, and reading the same frame again
// gives the same answer.
#include "shardgate/emulator/client_command.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

namespace emu = shardgate::emulator;
namespace gw = shardgate::gateway;

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

bool client_sends(gw::opcode op) {
    return !gw::client_receives(op) || op == gw::opcode::heartbeat;
}

// What must not change between two reads of one frame.
struct outcome {
    bool is_command = false;
    gw::opcode op = gw::opcode::dispatch;
    gw::close_code code = gw::close_code::decode_error;
};

outcome check_result(const emu::read_result& r, std::size_t frame_size) {
    if (const auto* v = std::get_if<emu::protocol_violation>(&r)) {
        check(v->code == gw::close_code::unknown_opcode || v->code == gw::close_code::decode_error);
        check(!v->reason.empty());
        if (v->op) {
            check(v->code == gw::close_code::unknown_opcode);
            check(client_sends(*v->op));
        }
        return {false, v->op.value_or(gw::opcode::dispatch), v->code};
    }
    const auto& command = std::get<emu::client_command>(r);
    check(frame_size <= emu::client_command_reader::max_frame_bytes);
    const auto op = emu::opcode_of(command);
    check(client_sends(op));
    if (const auto* identify = std::get_if<emu::identify_command>(&command)) {
        check(identify->large_threshold >= 50 && identify->large_threshold <= 250);
        check(!identify->shard_valid || identify->shard_id < identify->num_shards);
    }
    if (const auto* sounds = std::get_if<emu::request_soundboard_sounds_command>(&command)) {
        check(!sounds->guild_ids.empty());
    }
    if (const auto* info = std::get_if<emu::request_channel_info_command>(&command)) {
        check(!info->fields.empty());
    }
    if (const auto* members = std::get_if<emu::request_guild_members_command>(&command)) {
        check(members->request.guild_id != 0);
        check(!members->request.nonce || members->request.nonce->size() <= 32);
    }
    return {true, op, gw::close_code::decode_error};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static emu::client_command_reader reader;
    static emu::client_command_reader second;
    const std::string_view frame(reinterpret_cast<const char*>(data), size); // NOLINT
    const auto first = check_result(reader.read(frame), size);
    const auto again = check_result(second.read(frame), size);
    check(first.is_command == again.is_command && first.op == again.op && first.code == again.code);
    static_cast<void>(reader.is_json_object_or_array(frame));
    return 0;
}
