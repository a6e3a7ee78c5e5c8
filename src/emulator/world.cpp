#include "shardgate/emulator/world.hpp"

#include "world_state.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

namespace shardgate::emulator {
namespace {

using gateway::detail::json_writer;

// Bursts of traffic generated at once after a late deadline; past this the backlog is dropped, so
// a stalled adapter does not come back to an unbounded pile of events.
constexpr int max_traffic_burst = 256;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31U);
}

void append_hex(std::string& out, std::uint64_t value) {
    static constexpr std::string_view hex = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) {
        out.push_back(hex[(value >> static_cast<unsigned>(shift)) & 0xFU]);
    }
}

std::uint64_t ms_between(time_point from, time_point to) {
    if (to <= from) {
        return 0;
    }
    return static_cast<std::uint64_t>(std::chrono::duration_cast<milliseconds>(to - from).count());
}

std::chrono::steady_clock::duration traffic_period(double per_second) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(1.0 / per_second));
}

} // namespace

// world::state
// -------------------------------------------------------------------------------------------------

world::state::state(emulator_config cfg, time_point now)
    : config(std::move(cfg))
    , content(config)
    , started(now)
    , bucket_last_identify(std::max<std::uint32_t>(config.max_concurrency, 1))
    , budget_remaining(config.session_start_total)
    , budget_reset_at(now + config.session_start_reset_after) {}

std::string world::state::new_session_id() {
    const auto n = ++sessions_created;
    const auto a = splitmix64(config.seed ^ splitmix64(n));
    const auto b = splitmix64(a ^ n);
    std::string id;
    id.reserve(32);
    append_hex(id, a);
    append_hex(id, b);
    return id;
}

detail::session& world::state::create_session(detail::connection_sink& sink, time_point now) {
    auto s = std::make_unique<detail::session>();
    s->id = new_session_id();
    s->attached = &sink;
    if (config.traffic_per_second > 0) {
        s->next_traffic_at = now + traffic_period(config.traffic_per_second);
    }
    auto& ref = *s;
    sessions.emplace(ref.id, std::move(s));
    return ref;
}

detail::session* world::state::find_session(std::string_view id) {
    const auto it = sessions.find(std::string(id));
    return it == sessions.end() ? nullptr : it->second.get();
}

void world::state::destroy_session(detail::session& s) {
    if (s.attached != nullptr) {
        s.attached->session_destroyed();
    }
    replay_bytes -= s.replay_bytes;
    sessions.erase(s.id); // `s` is gone after this line
}

void world::state::detach_session(detail::session& s, time_point now) {
    s.attached = nullptr;
    s.expires_at = now + config.session_ttl;
}

std::string_view world::state::append_dispatch(detail::session& s, std::string_view t,
                                               std::string_view d) {
    ++s.seq;
    auto& c = counters(s.shard_id);
    c.last_seq = std::max(c.last_seq, s.seq);
    scratch.clear();
    json_writer w(scratch);
    w.begin_object().key("op").uint_value(0).key("s").uint_value(s.seq);
    w.key("t").string_value(t).key("d").raw_value(d).end_object();
    if (config.replay_buffer_events == 0) {
        return scratch;
    }
    while (!s.replay.empty() && (s.replay.size() >= config.replay_buffer_events ||
                                 s.replay_bytes + scratch.size() > config.replay_buffer_bytes)) {
        s.replay_bytes -= s.replay.front().frame.size();
        replay_bytes -= s.replay.front().frame.size();
        s.replay.pop_front();
    }
    s.replay.push_back({s.seq, scratch});
    s.replay_bytes += scratch.size();
    replay_bytes += scratch.size();
    return s.replay.back().frame;
}

std::uint64_t world::state::unix_ms(time_point now) const {
    return unix_ms_at_start + ms_between(started, now);
}

namespace {

traffic_generator& generator_of(world::state& ws, detail::session& s) {
    if (!s.traffic) {
        const auto shard_seed = ws.config.seed ^ splitmix64(0x7261666669630000ULL + s.shard_id);
        s.traffic = std::make_unique<traffic_generator>(ws.content, shard_seed, s.shard_id,
                                                        s.num_shards, s.intents);
    }
    return *s.traffic;
}

} // namespace

std::optional<dispatch_body> world::state::next_traffic(detail::session& s, time_point now) {
    if (s.traffic_exhausted) {
        return std::nullopt;
    }
    auto event = generator_of(*this, s).next(unix_ms(now));
    if (!event) {
        s.traffic_exhausted = true;
    }
    return event;
}

dispatch_body world::state::make_traffic(detail::session& s, std::string_view t, time_point now) {
    return generator_of(*this, s).make(t, unix_ms(now));
}

bool world::state::token_ok(std::string_view token) const {
    // Discord accepts the token with or without the "Bot " prefix in Identify and Resume, and
    // Discordeno sends it with the prefix.
    if (constexpr std::string_view prefix = "Bot "; token.starts_with(prefix)) {
        token.remove_prefix(prefix.size());
    }
    if (token.empty() || token_was_reset) {
        return false;
    }
    return config.tokens.empty() ||
           std::find(config.tokens.begin(), config.tokens.end(), token) != config.tokens.end();
}

void world::state::reset_token(time_point now) {
    token_was_reset = true;
    log(now, 0, std::nullopt, log_event::token_reset{"session start limit exhausted"});
    // Collect first: closing a connection removes it from the map.
    std::vector<detail::connection_sink*> victims;
    victims.reserve(open_connections.size());
    for (const auto& [id, sink] : open_connections) {
        victims.push_back(sink);
    }
    for (auto* sink : victims) {
        sink->close_from_world(now, 4004, "token reset: session start limit exhausted");
        wake_connection(sink->connection_id());
    }
    while (!sessions.empty()) {
        destroy_session(*sessions.begin()->second);
    }
}

void world::state::wake_connection(std::uint64_t id) const {
    if (wake) {
        wake(id);
    }
}

shard_counters& world::state::counters(std::optional<std::uint32_t> shard) {
    if (!shard) {
        return unidentified;
    }
    if (const auto it = shard_stats.find(*shard); it != shard_stats.end()) {
        return it->second;
    }
    if (shard_stats.size() >= config.max_tracked_shards) {
        return unidentified;
    }
    return shard_stats[*shard];
}

void world::state::log(time_point now, std::uint64_t connection, std::optional<std::uint32_t> shard,
                       log_details details) {
    cut_long_strings(details);
    log_entry entry{ms_between(started, now), connection, shard, std::move(details)};
    const auto bytes = footprint(entry);
    while (!log_entries.empty() && (log_entries.size() >= world::max_log_entries ||
                                    log_bytes + bytes > config.log_byte_budget)) {
        log_bytes -= footprint(log_entries.front());
        log_entries.pop_front();
        ++log_dropped;
    }
    log_entries.push_back(std::move(entry));
    log_bytes += bytes;
    if (log_observer) {
        log_observer(log_entries.back());
    }
}

// world
// -------------------------------------------------------------------------------------------------

world::world(emulator_config config, time_point now)
    : state_(std::make_unique<state>(std::move(config), now)) {}

world::~world() = default;

const emulator_config& world::config() const noexcept {
    return state_->config;
}

const catalog& world::content() const noexcept {
    return state_->content;
}

void world::set_public_ws_url(std::string url) {
    state_->config.public_ws_url = std::move(url);
}

void world::set_unix_time(time_point now, std::uint64_t unix_ms) {
    const auto elapsed = ms_between(state_->started, now);
    state_->unix_ms_at_start = unix_ms >= elapsed ? unix_ms - elapsed : 0;
}

void world::set_wake_handler(std::function<void(std::uint64_t)> handler) {
    state_->wake = std::move(handler);
}

void world::set_log_observer(std::function<void(const log_entry& entry)> observer) {
    state_->log_observer = std::move(observer);
}

std::string world::gateway_json() const {
    std::string out;
    json_writer w(out);
    w.begin_object().key("url").string_value(state_->config.public_ws_url).end_object();
    return out;
}

bool world::token_accepted(std::string_view token) const {
    return state_->token_ok(token);
}

std::string world::gateway_bot_json(time_point now) const {
    const auto& s = *state_;
    std::string out;
    json_writer w(out);
    w.begin_object().key("url").string_value(s.config.public_ws_url);
    w.key("shards").uint_value(s.config.recommended_shards);
    w.key("session_start_limit").begin_object();
    w.key("total").uint_value(s.config.session_start_total);
    w.key("remaining").uint_value(s.budget_remaining);
    w.key("reset_after").uint_value(ms_between(now, s.budget_reset_at));
    w.key("max_concurrency").uint_value(std::max<std::uint32_t>(s.config.max_concurrency, 1));
    w.end_object().end_object();
    return out;
}

world_stats world::stats() const {
    const auto& s = *state_;
    world_stats out;
    out.shards = s.shard_stats;
    for (const auto& [id, counters] : s.shard_stats) {
        out.totals += counters;
    }
    out.totals += s.unidentified;
    out.unidentified = s.unidentified;
    out.sessions = s.sessions.size();
    out.session_start_remaining = s.budget_remaining;
    out.token_reset = s.token_was_reset;
    out.log_dropped = s.log_dropped;
    return out;
}

std::string world::stats_json() const {
    return to_json(stats());
}

std::size_t world::dispatch_to_detached(time_point now, std::uint32_t shard, std::string_view t,
                                        std::string_view d_json) {
    auto& s = *state_;
    std::size_t count = 0;
    for (auto& entry : s.sessions) {
        // A named reference: clang 14 cannot capture structured bindings in a lambda.
        detail::session& session = *entry.second;
        if (session.attached != nullptr || session.shard_id != shard) {
            continue;
        }
        static_cast<void>(s.append_dispatch(session, t, d_json));
        s.log(now, 0, shard, log_event::dispatch{std::string(t), session.seq, true});
        ++count;
    }
    return count;
}

world::detached_flood world::flood_to_detached(time_point now, std::uint32_t shard,
                                               std::string_view t, std::uint64_t count) {
    auto& s = *state_;
    const std::uint64_t kept = std::min<std::uint64_t>(count, s.config.replay_buffer_events);
    detached_flood out;
    out.dropped = count - kept;
    for (auto& entry : s.sessions) {
        detail::session& session = *entry.second;
        if (session.attached != nullptr || session.shard_id != shard) {
            continue;
        }
        s.log(now, 0, shard,
              log_event::fault_injected{
                  .fault = injected_fault::flood, .t = std::string(t), .count = count});
        // Events that would leave the buffer before a Resume could ask for them only take their
        // sequence numbers; the buffer then holds the last `kept`, as if all had been appended.
        session.seq += count - kept;
        const auto first_generated = session.seq + 1;
        for (std::uint64_t i = 0; i < kept; ++i) {
            const auto event = s.make_traffic(session, t, now);
            static_cast<void>(s.append_dispatch(session, event.t, event.d));
        }
        // The byte bound may have pushed out some of the generated ones too.
        const auto& replay = session.replay;
        const auto first_kept = replay.empty() ? session.seq + 1 : replay.front().seq;
        out.dropped = std::max(
            out.dropped,
            count - kept +
                (first_kept > first_generated ? std::min(first_kept - first_generated, kept) : 0));
        auto& c = s.counters(shard);
        c.last_seq = std::max(c.last_seq, session.seq);
        ++out.sessions;
    }
    return out;
}

const std::deque<log_entry>& world::log() const noexcept {
    return state_->log_entries;
}

std::optional<hostile_mode> world::state::take_armed_hostile() {
    if (armed_hostile.empty()) {
        return std::nullopt;
    }
    const auto mode = armed_hostile.front();
    armed_hostile.pop_front();
    return mode;
}

std::size_t world::arm_hostile(hostile_mode mode, std::size_t connections) {
    auto& armed = state_->armed_hostile;
    if (!acts_at_connection_start(mode)) {
        return 0;
    }
    const auto n =
        std::min(connections, max_armed_hostile - std::min(max_armed_hostile, armed.size()));
    armed.insert(armed.end(), n, mode);
    return n;
}

std::size_t world::replay_bytes() const noexcept {
    return state_->replay_bytes;
}

std::size_t world::log_bytes() const noexcept {
    return state_->log_bytes;
}

std::string world::log_json() const {
    std::string out;
    out.push_back('[');
    bool first = true;
    for (const auto& e : state_->log_entries) {
        if (!first) {
            out.push_back(',');
        }
        first = false;
        append_json(out, e);
    }
    out.push_back(']');
    return out;
}

namespace {

// Traffic keeps flowing into a detached session's replay buffer, as Discord keeps queueing events
// for a session that may still be resumed.
void pump_detached_traffic(world::state& s, detail::session& session, time_point now) {
    if (s.config.traffic_per_second <= 0) {
        return;
    }
    const auto period = traffic_period(s.config.traffic_per_second);
    int burst = 0;
    while (session.next_traffic_at <= now && burst < max_traffic_burst) {
        auto event = s.next_traffic(session, session.next_traffic_at);
        if (!event) {
            return;
        }
        static_cast<void>(s.append_dispatch(session, event->t, event->d));
        session.next_traffic_at += period;
        ++burst;
    }
    if (session.next_traffic_at <= now) {
        session.next_traffic_at = now + period; // drop the backlog beyond one burst
    }
}

} // namespace

void world::on_deadline(time_point now) {
    auto& s = *state_;
    if (now >= s.budget_reset_at) {
        s.budget_remaining = s.config.session_start_total;
        while (s.budget_reset_at <= now) {
            s.budget_reset_at += std::max(s.config.session_start_reset_after, milliseconds{1});
        }
    }
    std::vector<detail::session*> expired;
    for (auto& [id, session] : s.sessions) {
        if (session->attached != nullptr) {
            continue;
        }
        if (session->expires_at <= now) {
            expired.push_back(session.get());
        } else {
            pump_detached_traffic(s, *session, now);
        }
    }
    for (auto* session : expired) {
        const auto shard = session->shard_id;
        s.log(now, 0, shard, log_event::session_expired{session->id});
        s.destroy_session(*session);
    }
}

std::optional<time_point> world::next_deadline() const {
    const auto& s = *state_;
    std::optional<time_point> next = s.budget_reset_at;
    for (const auto& [id, session] : s.sessions) {
        if (session->attached != nullptr) {
            continue;
        }
        next = std::min(*next, session->expires_at);
        if (s.config.traffic_per_second > 0 && !session->traffic_exhausted) {
            next = std::min(*next, session->next_traffic_at);
        }
    }
    return next;
}

} // namespace shardgate::emulator
