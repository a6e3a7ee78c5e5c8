#include "shardgate/emulator/connection.hpp"

#include "shardgate/emulator/client_command.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/gateway/opcode.hpp"
#include "world_state.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <utility>

namespace shardgate::emulator {
namespace {

using gateway::close_code;
using gateway::opcode;
using gateway::detail::json_writer;

constexpr std::size_t rate_limit_frames = 120;               // per connection ...
constexpr auto rate_limit_window = std::chrono::seconds{60}; // ... in any 60 s
constexpr auto members_everyone_interval = std::chrono::seconds{30};
constexpr std::size_t flood_high_water = 256; // pending actions a flood tops up to
constexpr std::size_t flood_low_water = 128;  // ... once the adapter drained below this
constexpr int max_traffic_burst = 256;        // generated at once after a late deadline
constexpr std::uint64_t guilds_intent = 1;

constexpr std::uint16_t code(close_code c) noexcept {
    return static_cast<std::uint16_t>(c);
}

/// A rule broken by the client, or nothing.
using check = std::optional<protocol_violation>;

// Splits `bytes` into `parts` non-empty slices (fewer if it is shorter).
std::vector<std::vector<std::byte>> split_bytes(const std::vector<std::byte>& bytes,
                                                std::size_t parts) {
    parts = std::clamp<std::size_t>(parts, 1, std::max<std::size_t>(bytes.size(), 1));
    std::vector<std::vector<std::byte>> out;
    out.reserve(parts);
    const std::size_t base = bytes.size() / parts;
    const std::size_t extra = bytes.size() % parts;
    std::size_t at = 0;
    for (std::size_t i = 0; i < parts; ++i) {
        const std::size_t n = base + (i < extra ? 1 : 0);
        out.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                         bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
    }
    return out;
}

std::chrono::steady_clock::duration traffic_period(double per_second) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(1.0 / per_second));
}

} // namespace

// parse_connect_query
// -------------------------------------------------------------------------------------------------

connect_params parse_connect_query(std::string_view query) {
    connect_params params;
    params.query = std::string(query);
    if (!query.empty() && query.front() == '?') {
        query.remove_prefix(1);
    }
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const auto key = pair.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (key == "v") {
            int version = -1;
            const auto [ptr, ec] =
                std::from_chars(value.data(), value.data() + value.size(), version);
            params.version = ec == std::errc{} && ptr == value.data() + value.size() ? version : -1;
        } else if (key == "encoding") {
            params.encoding = std::string(value);
        } else if (key == "compress") {
            // An unknown value leaves the connection uncompressed rather than failing it.
            params.compress =
                gateway::parse_compression(value).value_or(gateway::compression::none);
        }
    }
    return params;
}

// connection::impl
// -------------------------------------------------------------------------------------------------

struct connection::impl final : detail::connection_sink {
    impl(world& w, std::uint64_t id, const connect_params& params, time_point now);
    ~impl();
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    // connection_sink
    void close_from_world(time_point now, std::uint16_t code, std::string_view reason) override;
    void session_destroyed() noexcept override {
        session_ = nullptr;
        authenticated_ = false;
    }
    [[nodiscard]] std::uint64_t connection_id() const noexcept override { return id_; }

    // Inputs
    void on_text(time_point now, std::string_view text);
    void on_binary(time_point now);
    void on_client_close(time_point now, std::uint16_t code);
    void on_transport_lost(time_point now);
    void on_deadline(time_point now);
    std::optional<connection_action> poll();
    [[nodiscard]] std::optional<time_point> next_deadline() const;

    // Control API
    void inject_close(time_point now, std::uint16_t code);
    void inject_reconnect(time_point now);
    void inject_invalid_session(time_point now, bool resumable);
    void inject_zombie(time_point now, bool silent);
    void inject_drop(time_point now);
    void inject_heartbeat_request(time_point now);
    bool inject_split(time_point now, std::uint64_t payloads);
    bool inject_stall(time_point now, std::chrono::milliseconds duration);
    bool inject_hostile(time_point now, hostile_mode mode, std::uint64_t amount);
    bool dispatch(time_point now, std::string_view t, std::string_view d_json);
    bool flood(time_point now, std::string_view t, std::uint64_t count, bool prepared);

    [[nodiscard]] std::optional<std::uint32_t> shard_id() const noexcept {
        return authenticated_ && session_ != nullptr ? std::optional{session_->shard_id}
                                                     : std::nullopt;
    }
    [[nodiscard]] bool open() const noexcept { return open_; }
    [[nodiscard]] std::size_t pending() const noexcept { return actions_.size(); }
    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

private:
    // Receiving
    check handle_frame(time_point now, std::string_view text);
    check handle(time_point now, const heartbeat_command& c);
    check handle(time_point now, const identify_command& c);
    check admit_identify(const identify_command& c);
    void start_session(time_point now, const identify_command& c);
    check handle(time_point now, const resume_command& c);
    check resume_session(time_point now, detail::session& s, std::uint64_t seq);
    check handle(time_point now, const presence_update_command& c);
    check handle(time_point now, const voice_state_update_command& c);
    check handle(time_point now, const request_guild_members_command& c);
    check handle(time_point now, const request_soundboard_sounds_command& c);
    check handle(time_point now, const request_channel_info_command& c);
    bool over_rate_limit(time_point now);

    // Sending
    void send_payload(std::string_view json);
    void send_op(opcode op, std::string_view d_json);
    void send_heartbeat_ack();
    void send_dispatch(std::string_view t, std::string_view d);
    void pump_traffic(time_point now);
    void refill_flood();
    void prepare_flood(std::string_view t, std::uint64_t count);
    void close_with(time_point now, std::uint16_t code, std::string_view reason, bool violated);
    void end(time_point now);
    void detach(time_point now);
    void destroy_session();
    void log(time_point now, log_details details) {
        ws_.log(now, id_, stats_shard_, std::move(details));
    }
    [[nodiscard]] shard_counters& counters() { return ws_.counters(stats_shard_); }
    void count_as(std::uint32_t shard);

    world::state& ws_;
    std::uint64_t id_;
    gateway::deflater deflater_;
    std::deque<connection_action> actions_;
    detail::session* session_ = nullptr;
    std::optional<std::uint32_t> stats_shard_; // whom counters and log lines go to
    time_point heartbeat_deadline_{};
    std::optional<time_point> reconnect_close_at_;
    time_point last_now_{};
    // Client frames in the last 60 s: a ring of their arrival times (sliding window).
    std::array<time_point, rate_limit_frames> frame_times_{};
    std::size_t frame_count_ = 0;
    std::size_t frame_head_ = 0;
    std::string flood_t_;
    std::uint64_t flood_left_ = 0;
    bool open_ = true;
    bool registered_ = false;
    bool authenticated_ = false; // Identify or Resume succeeded on this connection
    bool zombie_ = false;
    bool silent_ = false;                     ///< A silent zombie: nothing is written any more.
    std::uint64_t split_left_ = 0;            ///< Payloads still to split (`inject_split`).
    std::optional<time_point> stalled_until_; ///< Nothing is polled before (`inject_stall`).
    bool moved_from_unidentified_ = false;
    bool bad_resume_url_ = false; ///< Hostile: READY's resume_gateway_url is not a URL.
    void start_hostile(time_point now, hostile_mode mode);
};

namespace {

gateway::zlib_deflate_options zlib_options(const emulator_config& c) {
    gateway::zlib_deflate_options o;
    o.window_bits = c.zlib_window_bits;
    o.mem_level = c.zlib_mem_level;
    return o;
}

gateway::zstd_deflate_options zstd_options(const emulator_config& c) {
    gateway::zstd_deflate_options o;
    o.window_log = c.zstd_window_log;
    return o;
}

} // namespace

connection::impl::impl(world& w, std::uint64_t id, const connect_params& params, time_point now)
    : ws_(w.internals())
    , id_(id)
    , deflater_(params.compress, zlib_options(ws_.config), zstd_options(ws_.config))
    , last_now_(now) {
    ++ws_.unidentified.connections;
    log(now, log_event::connect{params.query, params.compress});
    ws_.open_connections.emplace(id_, this);
    registered_ = true;
    if (params.version != 10 && params.version != 9) {
        close_with(now, code(close_code::invalid_api_version), "invalid API version", true);
        return;
    }
    if (params.encoding != "json") {
        // Only JSON is emulated; an ETF client would not understand our frames anyway.
        close_with(now, code(close_code::decode_error), "etf is not emulated", true);
        return;
    }
    if (const auto mode = ws_.take_armed_hostile()) {
        start_hostile(now, *mode);
        if (*mode != hostile_mode::ready_before_hello && *mode != hostile_mode::bad_resume_url) {
            heartbeat_deadline_ = now + ws_.config.heartbeat_interval + ws_.config.heartbeat_grace;
            return; // a hostile Hello instead of ours
        }
    }
    const auto interval = ws_.config.heartbeat_interval;
    std::string d;
    json_writer hello(d);
    hello.begin_object()
        .key("heartbeat_interval")
        .uint_value(static_cast<std::uint64_t>(interval.count()));
    hello.end_object();
    send_op(opcode::hello, d);
    heartbeat_deadline_ = now + interval + ws_.config.heartbeat_grace;
    log(now, log_event::hello{interval});
}

connection::impl::~impl() {
    if (open_) {
        detach(last_now_); // the adapter let go without telling us: as good as a drop
    }
    if (registered_) {
        ws_.open_connections.erase(id_);
    }
}

// Inputs
// -------------------------------------------------------------------------------------------------

void connection::impl::on_text(time_point now, std::string_view text) {
    if (!open_) {
        return;
    }
    last_now_ = now;
    if (over_rate_limit(now)) {
        close_with(now, code(close_code::rate_limited), "more than 120 frames in 60 s", true);
        return;
    }
    if (auto v = handle_frame(now, text)) {
        close_with(now, code(v->code), v->reason, true);
    }
}

void connection::impl::on_binary(time_point now) {
    if (!open_) {
        return;
    }
    last_now_ = now;
    if (over_rate_limit(now)) {
        close_with(now, code(close_code::rate_limited), "more than 120 frames in 60 s", true);
        return;
    }
    close_with(now, code(close_code::decode_error), "binary frame on a JSON connection", true);
}

void connection::impl::on_client_close(time_point now, std::uint16_t close) {
    if (!open_) {
        return;
    }
    log(now, log_event::client_close{close});
    actions_.clear(); // the socket is closing: queued frames would never be sent
    // 1000 and 1001 end the session at once (the bot goes offline); any other code keeps it.
    if (close == code(close_code::normal_closure) || close == code(close_code::going_away)) {
        destroy_session();
    }
    end(now);
}

void connection::impl::on_transport_lost(time_point now) {
    if (!open_) {
        return;
    }
    log(now, log_event::transport_lost{});
    actions_.clear();
    end(now);
}

void connection::impl::on_deadline(time_point now) {
    if (!open_) {
        return;
    }
    last_now_ = now;
    if (stalled_until_ && now >= *stalled_until_) {
        stalled_until_.reset();
    }
    if (reconnect_close_at_ && now >= *reconnect_close_at_) {
        close_with(now, code(close_code::unknown_error), "reconnect requested", false);
        return;
    }
    if (now >= heartbeat_deadline_) {
        // The session dies with the connection: 4009 tells the client to identify afresh.
        destroy_session();
        close_with(now, code(close_code::session_timed_out), "heartbeat timeout", true);
        return;
    }
    pump_traffic(now);
}

std::optional<connection_action> connection::impl::poll() {
    if (actions_.empty() || (stalled_until_ && open_)) {
        return std::nullopt;
    }
    auto a = std::move(actions_.front());
    actions_.pop_front();
    if (flood_left_ > 0 && actions_.size() < flood_low_water) {
        refill_flood();
    }
    return a;
}

std::optional<time_point> connection::impl::next_deadline() const {
    if (!open_) {
        return std::nullopt;
    }
    auto next = heartbeat_deadline_;
    if (stalled_until_) {
        next = std::min(next, *stalled_until_);
    }
    if (reconnect_close_at_) {
        next = std::min(next, *reconnect_close_at_);
    }
    if (authenticated_ && session_ != nullptr && ws_.config.traffic_per_second > 0 &&
        !session_->traffic_exhausted) {
        next = std::min(next, session_->next_traffic_at);
    }
    return next;
}

// Receiving
// -------------------------------------------------------------------------------------------------

bool connection::impl::over_rate_limit(time_point now) {
    // The ring holds the last 120 arrival times; a 121st within 60 s of the oldest breaks the rule.
    if (frame_count_ == rate_limit_frames &&
        now - frame_times_.at(frame_head_) < rate_limit_window) {
        return true;
    }
    frame_times_.at(frame_head_) = now;
    frame_head_ = (frame_head_ + 1) % rate_limit_frames;
    frame_count_ = std::min(frame_count_ + 1, rate_limit_frames);
    return false;
}

check connection::impl::handle_frame(time_point now, std::string_view text) {
    const auto read = ws_.reader.read(text);
    const auto* violation = std::get_if<protocol_violation>(&read);
    if (violation != nullptr && !violation->op) {
        return *violation; // not a frame at all, or an opcode no client may send
    }
    const auto op =
        violation != nullptr ? *violation->op : opcode_of(std::get<client_command>(read));
    // What the connection's state forbids comes before the shape of `d`: a second Identify is
    // 4005 and a command before Identify 4003 however malformed their `d`.
    if (op == opcode::identify || op == opcode::resume) {
        if (authenticated_) {
            return protocol_violation{close_code::already_authenticated, "already authenticated"};
        }
    } else if (op != opcode::heartbeat) {
        if (!authenticated_) {
            return protocol_violation{close_code::not_authenticated,
                                      "payload sent before identifying"};
        }
        log(now, log_event::command{op});
    }
    if (violation != nullptr) {
        return *violation;
    }
    // The command's views point into the world's reader, untouched until the next frame.
    return std::visit([&](const auto& command) { return handle(now, command); },
                      std::get<client_command>(read));
}

check connection::impl::handle(time_point now, const heartbeat_command& c) {
    ++counters().heartbeats;
    heartbeat_deadline_ = now + ws_.config.heartbeat_interval + ws_.config.heartbeat_grace;
    log(now, log_event::heartbeat{c.seq});
    if (!zombie_) {
        send_heartbeat_ack();
    }
    return std::nullopt;
}

check connection::impl::handle(time_point now, const identify_command& f) {
    if (f.sharded && f.shard_valid) {
        stats_shard_ = f.shard_id; // attribute what follows to the shard it claims
    }
    log(now, log_event::identify{f.shard_id, f.num_shards, f.intents});
    if (auto v = admit_identify(f)) {
        return v;
    }
    // Pacing: one Identify per bucket per window; too early gets op 9 and costs nothing.
    const auto bucket = f.shard_id % static_cast<std::uint32_t>(ws_.bucket_last_identify.size());
    auto& last = ws_.bucket_last_identify.at(bucket);
    if (last && now < *last + ws_.config.identify_window) {
        send_op(opcode::invalid_session, "false");
        log(now, log_event::invalid_session_sent{false, "identify bucket busy"});
        return std::nullopt;
    }
    if (ws_.budget_remaining == 0) {
        // Discord's penalty: every session ends and the token is reset.
        close_with(now, code(close_code::authentication_failed),
                   "session start limit exhausted: token reset", true);
        ws_.reset_token(now);
        return std::nullopt;
    }
    last = now;
    --ws_.budget_remaining;
    start_session(now, f);
    return std::nullopt;
}

// The checks of Identify that end the connection, in the order Discord's codes are listed.
check connection::impl::admit_identify(const identify_command& f) {
    if (!ws_.token_ok(f.token)) {
        return protocol_violation{close_code::authentication_failed, "authentication failed"};
    }
    if (!f.shard_valid) {
        return protocol_violation{close_code::invalid_shard, "invalid shard"};
    }
    if (ws_.config.reject_undocumented_intents &&
        (f.intents & ~gateway::documented_intents_mask) != 0) {
        return protocol_violation{close_code::invalid_intents, "invalid intents"};
    }
    if ((f.intents & gateway::privileged_intents_mask & ~ws_.config.allowed_privileged_intents) !=
        0) {
        return protocol_violation{close_code::disallowed_intents, "disallowed intents"};
    }
    if (ws_.content.guilds_for_shard(f.shard_id, f.num_shards).size() >
        ws_.config.max_guilds_per_shard) {
        return protocol_violation{close_code::sharding_required, "sharding required"};
    }
    return std::nullopt;
}

void connection::impl::count_as(std::uint32_t shard) {
    stats_shard_ = shard;
    if (!moved_from_unidentified_) {
        moved_from_unidentified_ = true;
        --ws_.unidentified.connections;
        ++ws_.counters(shard).connections;
    }
}

void connection::impl::start_session(time_point now, const identify_command& f) {
    auto& s = ws_.create_session(*this, now);
    s.shard_id = f.shard_id;
    s.num_shards = f.num_shards;
    s.sharded = f.sharded;
    s.intents = f.intents;
    s.large_threshold = f.large_threshold;
    session_ = &s;
    authenticated_ = true;
    count_as(f.shard_id);
    ++counters().identifies;

    ready_params params;
    params.session_id = s.id;
    params.resume_gateway_url =
        bad_resume_url_ ? std::string(bad_resume_gateway_url) : ws_.config.public_ws_url;
    if (f.sharded) {
        params.shard_id = f.shard_id;
    }
    params.num_shards = f.num_shards;
    send_dispatch("READY", ready_body(ws_.content, params));
    const auto guilds = ws_.content.guilds_for_shard(f.shard_id, f.num_shards);
    log(now, log_event::ready{s.id, guilds.size()});
    if ((f.intents & guilds_intent) != 0) {
        for (const auto* g : guilds) {
            send_dispatch("GUILD_CREATE",
                          guild_create_body(ws_.content, *g, f.intents, f.large_threshold));
        }
    }
}

check connection::impl::handle(time_point now, const resume_command& f) {
    auto* s = ws_.find_session(f.session_id);
    if (s != nullptr) {
        stats_shard_ = s->shard_id;
    }
    log(now, log_event::resume{std::string(f.session_id), f.seq});
    if (!ws_.token_ok(f.token)) {
        return protocol_violation{close_code::authentication_failed, "authentication failed"};
    }
    if (s == nullptr) {
        // Unknown, destroyed or expired: the client must identify afresh.
        send_op(opcode::invalid_session, "false");
        log(now, log_event::invalid_session_sent{false, "unknown session"});
        return std::nullopt;
    }
    return resume_session(now, *s, f.seq);
}

check connection::impl::resume_session(time_point now, detail::session& s, std::uint64_t seq) {
    const bool gap = seq < s.seq && (s.replay.empty() || s.replay.front().seq > seq + 1);
    if (seq > s.seq || gap) {
        return protocol_violation{close_code::invalid_seq, "invalid seq"};
    }
    if (s.attached != nullptr && s.attached != this) {
        // The session is still on another connection (a half-open socket the client gave up on):
        // Discord ends that one. 4000 lets a client that still holds it resume, as after any
        // unknown error.
        auto* old = s.attached;
        old->close_from_world(now, code(close_code::unknown_error),
                              "session resumed on another connection");
        ws_.wake_connection(old->connection_id());
    }
    s.attached = this;
    session_ = &s;
    authenticated_ = true;
    count_as(s.shard_id);
    ++counters().resumes;
    std::uint64_t replayed = 0;
    for (const auto& entry : s.replay) {
        if (entry.seq > seq) {
            send_payload(entry.frame);
            ++replayed;
        }
    }
    counters().replayed += replayed;
    log(now, log_event::replay{replayed});
    send_dispatch("RESUMED", "null");
    log(now, log_event::resumed{});
    return std::nullopt;
}

check connection::impl::handle(time_point /*now*/, const presence_update_command& /*c*/) {
    return std::nullopt; // accepted; Discord sends no dispatch to the bot itself
}

check connection::impl::handle(time_point /*now*/, const voice_state_update_command& c) {
    for (const auto& answer : voice_state_answer(ws_.content, c.guild_id, c.channel_id, c.self_mute,
                                                 c.self_deaf, session_->id)) {
        send_dispatch(answer.t, answer.d);
    }
    return std::nullopt;
}

check connection::impl::handle(time_point now, const request_guild_members_command& c) {
    const auto& r = c.request;
    if (r.query && r.query->empty() && r.limit == 0 &&
        ws_.content.find_guild(r.guild_id) != nullptr) {
        // "Everyone" is limited to 1 per guild per 30 s for the whole application. Only the
        // application's guilds are tracked (a guild it is not in gets `not_found` anyway), so the
        // map holds at most one time per guild whatever ids clients send.
        auto [it, fresh] = ws_.members_everyone_at.try_emplace(r.guild_id, now);
        if (!fresh && now < it->second + members_everyone_interval) {
            const auto wait =
                std::chrono::duration<double>(it->second + members_everyone_interval - now);
            send_dispatch("RATE_LIMITED", rate_limited_body(r.guild_id, wait.count(), r.nonce));
            return std::nullopt;
        }
        it->second = now;
    }
    for (const auto& chunk : guild_members_chunks(ws_.content, r, session_->intents)) {
        send_dispatch("GUILD_MEMBERS_CHUNK", chunk);
    }
    return std::nullopt;
}

check connection::impl::handle(time_point /*now*/, const request_soundboard_sounds_command& c) {
    for (const auto id : c.guild_ids) {
        send_dispatch("SOUNDBOARD_SOUNDS", soundboard_sounds_body(ws_.content, id));
    }
    return std::nullopt;
}

check connection::impl::handle(time_point /*now*/, const request_channel_info_command& c) {
    send_dispatch("CHANNEL_INFO", channel_info_body(ws_.content, c.guild_id, c.fields));
    return std::nullopt;
}

// Sending
// -------------------------------------------------------------------------------------------------

void connection::impl::send_payload(std::string_view json) {
    if (!open_ || silent_) {
        return;
    }
    const auto* first = reinterpret_cast<const std::byte*>(json.data()); // NOLINT
    if (deflater_.mode() == gateway::compression::none) {
        actions_.emplace_back(server_action::send{{first, first + json.size()}, false});
        return;
    }
    std::vector<std::byte> bytes;
    deflater_.compress(json, bytes);
    std::size_t parts = ws_.config.zlib_split_frames;
    if (split_left_ > 0 && deflater_.mode() == gateway::compression::zlib_stream) {
        --split_left_;
        parts = std::max<std::size_t>(parts, 2 + split_left_ % 3); // 2, 3 or 4 messages
    }
    if (deflater_.mode() != gateway::compression::zlib_stream || parts <= 1) {
        actions_.emplace_back(server_action::send{std::move(bytes), true});
        return;
    }
    for (auto& part : split_bytes(bytes, parts)) {
        actions_.emplace_back(server_action::send{std::move(part), true});
    }
}

// Every payload carries the whole envelope, as Discord's does: `s` and `t` are null outside
// dispatches. Clients rely on it (Discordeno takes a missing `s` as "no sequence" and would then
// resume with seq 0).
void connection::impl::send_op(opcode op, std::string_view d_json) {
    std::string frame;
    json_writer w(frame);
    w.begin_object().key("op").uint_value(static_cast<std::uint64_t>(op));
    w.key("d").raw_value(d_json);
    w.key("s").null_value().key("t").null_value().end_object();
    send_payload(frame);
}

void connection::impl::send_heartbeat_ack() {
    send_op(opcode::heartbeat_ack, "null");
}

void connection::impl::send_dispatch(std::string_view t, std::string_view d) {
    if (session_ == nullptr) {
        return;
    }
    send_payload(ws_.append_dispatch(*session_, t, d));
}

void connection::impl::pump_traffic(time_point now) {
    if (!authenticated_ || session_ == nullptr || ws_.config.traffic_per_second <= 0) {
        return;
    }
    auto& s = *session_;
    const auto period = traffic_period(ws_.config.traffic_per_second);
    int burst = 0;
    while (open_ && s.next_traffic_at <= now && burst < max_traffic_burst) {
        auto event = ws_.next_traffic(s, s.next_traffic_at);
        if (!event) {
            return;
        }
        send_dispatch(event->t, event->d);
        s.next_traffic_at += period;
        ++burst;
    }
    if (s.next_traffic_at <= now) {
        s.next_traffic_at = now + period; // catch up at most one burst; drop the rest
    }
}

void connection::impl::refill_flood() {
    while (flood_left_ > 0 && open_ && authenticated_ && session_ != nullptr &&
           actions_.size() < flood_high_water) {
        auto event = ws_.make_traffic(*session_, flood_t_, last_now_);
        send_dispatch(event.t, event.d);
        --flood_left_;
    }
    if (!open_ || session_ == nullptr) {
        flood_left_ = 0;
    }
}

void connection::impl::prepare_flood(std::string_view t, std::uint64_t count) {
    const bool binary = deflater_.mode() != gateway::compression::none;
    for (std::uint64_t i = 0; i < count && open_ && session_ != nullptr; ++i) {
        auto event = ws_.make_traffic(*session_, t, last_now_);
        const auto json = ws_.append_dispatch(*session_, event.t, event.d);
        server_action::send frame{{}, binary, true};
        if (binary) {
            deflater_.compress(json, frame.bytes);
        } else {
            const auto* first = reinterpret_cast<const std::byte*>(json.data()); // NOLINT
            frame.bytes.assign(first, first + json.size());
        }
        actions_.emplace_back(std::move(frame));
    }
}

void connection::impl::close_with(time_point now, std::uint16_t close, std::string_view reason,
                                  bool violated) {
    if (!open_) {
        return;
    }
    if (violated) {
        ++counters().violations[close];
        log(now, log_event::violation{close, std::string(reason)});
    }
    // A code after which a client must identify afresh (close_code.hpp) ends the session: kept
    // for session_ttl, it would fill a replay buffer for nobody, and a Resume of it is refused.
    if (gateway::policy_for(close).reaction == gateway::close_reaction::reidentify) {
        destroy_session();
    }
    ++counters().close_codes_sent[close];
    log(now, log_event::close_sent{close, std::string(reason)});
    actions_.emplace_back(server_action::close{close, std::string(reason)});
    end(now);
}

void connection::impl::close_from_world(time_point now, std::uint16_t close,
                                        std::string_view reason) {
    close_with(now, close, reason, false);
}

// The connection is over: nothing more is sent; the session (if any) waits for a Resume.
void connection::impl::end(time_point now) {
    open_ = false;
    flood_left_ = 0;
    reconnect_close_at_.reset();
    detach(now);
    if (registered_) {
        ws_.open_connections.erase(id_);
        registered_ = false;
    }
}

void connection::impl::detach(time_point now) {
    if (session_ != nullptr && session_->attached == this) {
        ws_.detach_session(*session_, now);
    }
    session_ = nullptr;
    authenticated_ = false;
}

void connection::impl::destroy_session() {
    if (session_ != nullptr) {
        ws_.destroy_session(*session_); // calls session_destroyed() on us
    }
    session_ = nullptr;
    authenticated_ = false;
}

// Control API
// -------------------------------------------------------------------------------------------------

void connection::impl::inject_close(time_point now, std::uint16_t close) {
    if (!open_) {
        return;
    }
    log(now, log_event::fault_injected{.fault = injected_fault::close, .code = close});
    close_with(now, close, "injected by the control API", false);
}

void connection::impl::inject_reconnect(time_point now) {
    if (!open_) {
        return;
    }
    log(now, log_event::fault_injected{.fault = injected_fault::reconnect});
    send_op(opcode::reconnect, "null");
    log(now, log_event::reconnect_sent{});
    reconnect_close_at_ = now + ws_.config.reconnect_close_after;
}

void connection::impl::inject_invalid_session(time_point now, bool resumable) {
    if (!open_) {
        return;
    }
    log(now, log_event::fault_injected{.fault = injected_fault::invalid_session,
                                       .resumable = resumable});
    send_op(opcode::invalid_session, resumable ? "true" : "false");
    log(now, log_event::invalid_session_sent{resumable, "injected"});
    if (!resumable) {
        destroy_session();
    }
}

void connection::impl::inject_zombie(time_point now, bool silent) {
    if (!open_) {
        return;
    }
    log(now, log_event::fault_injected{.fault = injected_fault::zombie, .silent = silent});
    zombie_ = true;
    silent_ = silent_ || silent;
}

void connection::impl::inject_drop(time_point now) {
    if (!open_) {
        return;
    }
    log(now, log_event::fault_injected{.fault = injected_fault::drop});
    actions_.clear(); // nothing queued would reach the client anyway
    actions_.emplace_back(server_action::drop{});
    end(now);
}

void connection::impl::inject_heartbeat_request(time_point now) {
    if (!open_) {
        return;
    }
    log(now, log_event::fault_injected{.fault = injected_fault::heartbeat_request});
    send_op(opcode::heartbeat, "null");
}

bool connection::impl::inject_split(time_point now, std::uint64_t payloads) {
    if (!open_ || deflater_.mode() != gateway::compression::zlib_stream) {
        return false;
    }
    const auto n = payloads == 0 ? connection::default_split_payloads : payloads;
    log(now, log_event::fault_injected{.fault = injected_fault::split, .count = n});
    split_left_ = n;
    return true;
}

bool connection::impl::inject_stall(time_point now, std::chrono::milliseconds duration) {
    if (!open_) {
        return false;
    }
    const auto ms = std::max<std::int64_t>(duration.count(), 0);
    log(now, log_event::fault_injected{.fault = injected_fault::stall,
                                       .count = static_cast<std::uint64_t>(ms)});
    stalled_until_ = now + std::chrono::milliseconds(ms);
    return true;
}

// A hostile mode armed for this connection, at its start.
void connection::impl::start_hostile(time_point now, hostile_mode mode) {
    log(now, log_event::fault_injected{.fault = injected_fault::hostile,
                                       .mode = std::string(to_string(mode))});
    switch (mode) {
    case hostile_mode::hello_without_interval:
    case hostile_mode::hello_zero_interval:
    case hostile_mode::hello_huge_interval: send_payload(hostile_hello(mode)); break;
    case hostile_mode::ready_before_hello: {
        ready_params params;
        params.session_id = "hostile-ready-before-hello";
        params.resume_gateway_url = ws_.config.public_ws_url;
        std::string frame;
        json_writer w(frame);
        w.begin_object().key("op").uint_value(0).key("s").uint_value(1);
        w.key("t").string_value("READY").key("d").raw_value(ready_body(ws_.content, params));
        w.end_object();
        send_payload(frame);
        break;
    }
    case hostile_mode::bad_resume_url: bad_resume_url_ = true; break;
    case hostile_mode::compression_bomb:
    case hostile_mode::oversized_frame:
    case hostile_mode::heartbeat_burst:
    case hostile_mode::silence: break; // act on open connections only
    }
}

bool connection::impl::inject_hostile(time_point now, hostile_mode mode, std::uint64_t amount) {
    if (!open_ || acts_at_connection_start(mode)) {
        return false;
    }
    last_now_ = now;
    switch (mode) {
    case hostile_mode::compression_bomb: {
        if (deflater_.mode() != gateway::compression::zlib_stream || silent_) {
            return false; // the bomb is made of zlib-stream blocks
        }
        amount = amount != 0 ? amount : default_bomb_bytes;
        auto& cache = ws_.bomb_cache;
        if (!cache || cache->first != amount) {
            cache.emplace(amount, zlib_bomb(amount, zlib_options(ws_.config)));
        }
        log(now, log_event::fault_injected{.fault = injected_fault::hostile,
                                           .count = amount,
                                           .mode = std::string(to_string(mode))});
        actions_.emplace_back(server_action::send{cache->second, true});
        // The client's inflater window now holds the bomb, not what our deflater refers to:
        // anything more we compressed would inflate to garbage. Nothing more is sent.
        silent_ = true;
        return true;
    }
    case hostile_mode::oversized_frame: {
        if (!authenticated_ || session_ == nullptr) {
            return false;
        }
        amount = amount != 0 ? amount : default_oversized_bytes;
        log(now, log_event::fault_injected{.fault = injected_fault::hostile,
                                           .count = amount,
                                           .mode = std::string(to_string(mode))});
        std::string d = R"({"content":")";
        d.append(static_cast<std::size_t>(amount), 'x');
        d += R"("})";
        send_dispatch("MESSAGE_CREATE", d);
        return true;
    }
    case hostile_mode::heartbeat_burst:
        amount = amount != 0 ? amount : default_heartbeat_burst;
        log(now, log_event::fault_injected{.fault = injected_fault::hostile,
                                           .count = amount,
                                           .mode = std::string(to_string(mode))});
        for (std::uint64_t i = 0; i < amount; ++i) {
            send_op(opcode::heartbeat, "null");
        }
        return true;
    case hostile_mode::silence:
        log(now, log_event::fault_injected{.fault = injected_fault::hostile,
                                           .mode = std::string(to_string(mode))});
        zombie_ = true;
        return true;
    case hostile_mode::hello_without_interval:
    case hostile_mode::hello_zero_interval:
    case hostile_mode::hello_huge_interval:
    case hostile_mode::ready_before_hello:
    case hostile_mode::bad_resume_url: break;
    }
    return false;
}

bool connection::impl::dispatch(time_point now, std::string_view t, std::string_view d_json) {
    if (!open_ || !authenticated_ || session_ == nullptr) {
        return false;
    }
    if (!ws_.reader.is_json_object_or_array(d_json)) {
        return false; // never put broken JSON on the wire
    }
    last_now_ = now;
    send_dispatch(t, d_json);
    log(now, log_event::dispatch{std::string(t), session_->seq, false});
    return true;
}

bool connection::impl::flood(time_point now, std::string_view t, std::uint64_t count,
                             bool prepared) {
    if (!open_ || !authenticated_ || session_ == nullptr) {
        return false;
    }
    last_now_ = now;
    log(now, log_event::fault_injected{
                 .fault = injected_fault::flood, .t = std::string(t), .count = count});
    if (prepared && !silent_ &&
        (deflater_.mode() != gateway::compression::zlib_stream ||
         ws_.config.zlib_split_frames <= 1)) {
        prepare_flood(t, count);
        return true;
    }
    flood_t_ = std::string(t);
    flood_left_ += count;
    refill_flood();
    return true;
}

// connection
// -------------------------------------------------------------------------------------------------

connection::connection(world& w, std::uint64_t id, const connect_params& params, time_point now)
    : impl_(std::make_unique<impl>(w, id, params, now)) {}

connection::~connection() = default;

void connection::on_text(time_point now, std::string_view text) {
    impl_->on_text(now, text);
}

void connection::on_binary(time_point now, std::span<const std::byte> /*bytes*/) {
    impl_->on_binary(now);
}

void connection::on_client_close(time_point now, std::uint16_t code) {
    impl_->on_client_close(now, code);
}

void connection::on_transport_lost(time_point now) {
    impl_->on_transport_lost(now);
}

void connection::on_deadline(time_point now) {
    impl_->on_deadline(now);
}

std::optional<connection_action> connection::poll_action() {
    return impl_->poll();
}

std::optional<time_point> connection::next_deadline() const {
    return impl_->next_deadline();
}

void connection::inject_close(time_point now, std::uint16_t code) {
    impl_->inject_close(now, code);
}

void connection::inject_reconnect(time_point now) {
    impl_->inject_reconnect(now);
}

void connection::inject_invalid_session(time_point now, bool resumable) {
    impl_->inject_invalid_session(now, resumable);
}

void connection::inject_zombie(time_point now, bool silent) {
    impl_->inject_zombie(now, silent);
}

void connection::inject_drop(time_point now) {
    impl_->inject_drop(now);
}

void connection::inject_heartbeat_request(time_point now) {
    impl_->inject_heartbeat_request(now);
}

bool connection::dispatch(time_point now, std::string_view t, std::string_view d_json) {
    return impl_->dispatch(now, t, d_json);
}

bool connection::inject_split(time_point now, std::uint64_t payloads) {
    return impl_->inject_split(now, payloads);
}

bool connection::inject_stall(time_point now, std::chrono::milliseconds duration) {
    return impl_->inject_stall(now, duration);
}

bool connection::inject_hostile(time_point now, hostile_mode mode, std::uint64_t amount) {
    return impl_->inject_hostile(now, mode, amount);
}

bool connection::flood(time_point now, std::string_view t, std::uint64_t count, bool prepared) {
    return impl_->flood(now, t, count, prepared);
}

std::uint64_t connection::id() const noexcept {
    return impl_->id();
}

std::optional<std::uint32_t> connection::shard_id() const noexcept {
    return impl_->shard_id();
}

bool connection::open() const noexcept {
    return impl_->open();
}

std::size_t connection::pending_actions() const noexcept {
    return impl_->pending();
}

} // namespace shardgate::emulator
