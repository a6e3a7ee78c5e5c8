#include "shardgate/emulator/stats.hpp"

#include "shardgate/gateway/detail/json_writer.hpp"

#include <algorithm>
#include <string>

namespace shardgate::emulator {
namespace {

using gateway::detail::json_writer;

void write_code_map(json_writer& w, const std::map<std::uint16_t, std::uint64_t>& codes) {
    w.begin_object();
    for (const auto& [code, count] : codes) {
        w.key(std::to_string(code)).uint_value(count);
    }
    w.end_object();
}

// The key order is part of the control API's output: clients and tests compare it as text.
void write_counters(json_writer& w, const shard_counters& c) {
    w.begin_object();
    w.key("identifies").uint_value(c.identifies);
    w.key("resumes").uint_value(c.resumes);
    w.key("heartbeats").uint_value(c.heartbeats);
    w.key("last_seq").uint_value(c.last_seq);
    w.key("close_codes_sent");
    write_code_map(w, c.close_codes_sent);
    w.key("violations");
    write_code_map(w, c.violations);
    w.key("connections").uint_value(c.connections);
    w.key("replayed").uint_value(c.replayed);
    w.end_object();
}

} // namespace

shard_counters& shard_counters::operator+=(const shard_counters& other) {
    identifies += other.identifies;
    resumes += other.resumes;
    heartbeats += other.heartbeats;
    last_seq = std::max(last_seq, other.last_seq);
    connections += other.connections;
    replayed += other.replayed;
    for (const auto& [code, n] : other.close_codes_sent) {
        close_codes_sent[code] += n;
    }
    for (const auto& [code, n] : other.violations) {
        violations[code] += n;
    }
    return *this;
}

std::string to_json(const world_stats& stats) {
    std::string out;
    json_writer w(out);
    w.begin_object().key("shards").begin_object();
    for (const auto& [id, counters] : stats.shards) {
        w.key(std::to_string(id));
        write_counters(w, counters);
    }
    w.end_object();
    w.key("totals");
    write_counters(w, stats.totals);
    w.key("unidentified");
    write_counters(w, stats.unidentified);
    w.key("sessions").uint_value(stats.sessions);
    w.key("session_start_remaining").uint_value(stats.session_start_remaining);
    w.key("token_reset").bool_value(stats.token_reset);
    w.key("log_dropped").uint_value(stats.log_dropped);
    w.end_object();
    return out;
}

} // namespace shardgate::emulator
