#include "shardgate/gateway/shard.hpp"

#include "shardgate/gateway/detail/printable.hpp"
#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/opcode.hpp"
#include "shardgate/gateway/websocket_url.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace shardgate::gateway {
namespace {

constexpr std::size_t detail_bytes = 96;

// Which of two reactions asks for more: a stop over a new session over a resume.
constexpr int severity(close_reaction r) noexcept {
    switch (r) {
    case close_reaction::resume: return 0;
    case close_reaction::reidentify: return 1;
    case close_reaction::fatal: return 2;
    }
    return 2;
}

// Context for a protocol error: the size and the start of the frame, with bytes that would break a
// log line escaped. The gateway never echoes the token, so the frame is safe to show.
std::string describe_frame(std::string_view frame) {
    std::string out = std::to_string(frame.size()) + " bytes: ";
    for (char c : frame.substr(0, detail_bytes)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) {
            constexpr std::string_view hex = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4U];
            out += hex[u & 0xfU];
        } else {
            out += c;
        }
    }
    if (frame.size() > detail_bytes) {
        out += "...";
    }
    return out;
}

} // namespace

std::string_view to_string(shard_state state) noexcept {
    switch (state) {
    case shard_state::idle: return "idle";
    case shard_state::disconnected: return "disconnected";
    case shard_state::connecting: return "connecting";
    case shard_state::awaiting_hello: return "awaiting_hello";
    case shard_state::identifying: return "identifying";
    case shard_state::resuming: return "resuming";
    case shard_state::active: return "active";
    case shard_state::closing: return "closing";
    case shard_state::fatally_closed: return "fatally_closed";
    case shard_state::stopped: return "stopped";
    }
    return "unknown";
}

std::string_view to_string(lifecycle_kind kind) noexcept {
    switch (kind) {
    case lifecycle_kind::connecting: return "connecting";
    case lifecycle_kind::hello: return "hello";
    case lifecycle_kind::identifying: return "identifying";
    case lifecycle_kind::ready: return "ready";
    case lifecycle_kind::resuming: return "resuming";
    case lifecycle_kind::resumed: return "resumed";
    case lifecycle_kind::reconnect_requested: return "reconnect_requested";
    case lifecycle_kind::invalid_session: return "invalid_session";
    case lifecycle_kind::zombie: return "zombie";
    case lifecycle_kind::closed: return "closed";
    case lifecycle_kind::fatal: return "fatal";
    case lifecycle_kind::protocol_error: return "protocol_error";
    }
    return "unknown";
}

std::string_view to_string(closed_by by) noexcept {
    switch (by) {
    case closed_by::gateway: return "gateway";
    case closed_by::shard: return "shard";
    case closed_by::transport: return "transport";
    }
    return "unknown";
}

std::string_view to_string(transport_stage stage) noexcept {
    switch (stage) {
    case transport_stage::unknown: return "unknown";
    case transport_stage::resolve: return "resolve";
    case transport_stage::connect: return "connect";
    case transport_stage::tls_handshake: return "tls_handshake";
    case transport_stage::websocket_upgrade: return "websocket_upgrade";
    case transport_stage::open: return "open";
    }
    return "unknown";
}

std::string_view to_string(disconnect_cause cause) noexcept {
    switch (cause) {
    case disconnect_cause::gateway_close: return "gateway_close";
    case disconnect_cause::connection_lost: return "connection_lost";
    case disconnect_cause::hello_timeout: return "hello_timeout";
    case disconnect_cause::zombie: return "zombie";
    case disconnect_cause::reconnect_requested: return "reconnect_requested";
    case disconnect_cause::invalid_session_resumable: return "invalid_session_resumable";
    case disconnect_cause::invalid_session: return "invalid_session";
    case disconnect_cause::protocol_error: return "protocol_error";
    case disconnect_cause::shutdown: return "shutdown";
    case disconnect_cause::handover: return "handover";
    }
    return "unknown";
}

close_reaction reaction_to(disconnect_cause cause, std::uint16_t code) noexcept {
    switch (cause) {
    case disconnect_cause::gateway_close: return policy_for(code).reaction;
    case disconnect_cause::invalid_session:
    case disconnect_cause::shutdown: return close_reaction::reidentify;
    default: return close_reaction::resume;
    }
}

shard::shard(shard_config config, random_source random)
    : config_(std::move(config))
    , random_(std::move(random))
    , inflater_(config_.transport_compression, config_.inflate)
    , limiter_(config_.limits)
    , backoff_(config_.backoff) {
    assert(random_ && "shard needs a random source");
    if (auto problem = validate(config_); !problem.empty()) {
        throw invalid_shard_config(problem);
    }
    if (config_.resume) {
        session_ = session_info{config_.resume->session_id, config_.resume->resume_gateway_url};
        seq_ = config_.resume->seq;
    }
}

// Inputs
// -------------------------------------------------------------------------------------------

void shard::start(time_point now) {
    if (state_ == shard_state::idle) {
        connect_now(now);
    }
}

void shard::park_if_quiet(time_point now) {
    // Checked at an ACK, the only traffic of a quiet shard: it stays parked from there to the
    // next one, but for the moment a heartbeat's ACK takes to arrive.
    const auto quiet_for = config_.park_when_quiet_for;
    if (quiet_for <= milliseconds::zero() || state_ != shard_state::active ||
        now - last_traffic_at_ < quiet_for) {
        return;
    }
    inflater_.park();
    decoder_.release_buffers();
    if (!parked_) {
        parked_ = true;
        ++stats_.parks;
    }
    emit(action::release_buffers{});
}

void shard::on_connected(time_point now) {
    if (state_ != shard_state::connecting) {
        return;
    }
    reset_connection_state();
    last_traffic_at_ = now;
    last_received_at_ = now;
    parked_ = false;
    state_ = shard_state::awaiting_hello;
    hello_deadline_ = now + config_.hello_timeout;
}

void shard::on_text(time_point now, std::string_view text) {
    if (connection_open()) {
        stats_.received_bytes += text.size();
        stats_.payload_bytes += text.size();
        handle_payload(now, text, false);
    }
}

void shard::on_binary(time_point now, std::span<const std::byte> bytes) {
    if (!connection_open()) {
        return;
    }
    stats_.received_bytes += bytes.size();
    auto result = inflater_.feed(bytes);
    if (auto ec = result.ec) {
        // The stream is unusable now; a new connection brings a fresh inflater, and resuming asks
        // Discord to replay whatever this frame held.
        fail_protocol(now, ec,
                      {reinterpret_cast<const char*>(bytes.data()), bytes.size()}); // NOLINT
        return;
    }
    if (result.message) {
        stats_.payload_bytes += result.message->size();
        handle_payload(now, *result.message, true);
    }
}

void shard::on_closed(time_point now, std::uint16_t code, std::string_view /*reason*/) {
    if (state_ == shard_state::closing) {
        // Our own close completed. A close code of the gateway's that crossed ours and asks for
        // more (a new session, or a stop) wins.
        if (code != closing_code_ && severity(reaction_to(disconnect_cause::gateway_close, code)) >
                                         severity(reaction_to(closing_cause_, closing_code_))) {
            connection_ended(now, code, closed_by::gateway, disconnect_cause::gateway_close);
            return;
        }
        connection_ended(now, closing_code_, closed_by::shard, closing_cause_);
        return;
    }
    if (connection_open() || state_ == shard_state::connecting) {
        connection_ended(now, code, closed_by::gateway, disconnect_cause::gateway_close);
    }
}

void shard::on_transport_error(time_point now, std::error_code ec, std::string_view detail,
                               transport_stage stage) {
    if (state_ == shard_state::closing) {
        connection_ended(now, closing_code_, closed_by::shard, closing_cause_);
        return;
    }
    if (connection_open() || state_ == shard_state::connecting) {
        // Once on_connected came, the handshakes are behind it, whatever the transport says.
        if (connection_open()) {
            stage = transport_stage::open;
        }
        connection_ended(now, static_cast<std::uint16_t>(close_code::abnormal_closure),
                         closed_by::transport, disconnect_cause::connection_lost, ec, detail,
                         stage);
    }
}

void shard::on_deadline(time_point now) {
    switch (state_) {
    case shard_state::disconnected:
        if (now >= reconnect_at_) {
            connect_now(now);
        }
        return;
    case shard_state::awaiting_hello:
        if (now >= hello_deadline_) {
            emit(action::drop_transport{});
            connection_ended(now, static_cast<std::uint16_t>(close_code::abnormal_closure),
                             closed_by::transport, disconnect_cause::hello_timeout,
                             error::hello_timeout, {}, transport_stage::open);
        }
        return;
    case shard_state::closing:
        if (now >= close_deadline_) {
            emit(action::drop_transport{});
            connection_ended(now, closing_code_, closed_by::shard, closing_cause_);
        }
        return;
    case shard_state::identifying:
    case shard_state::resuming:
    case shard_state::active: break;
    default: return;
    }

    flush_handshake(now);
    if (next_beat_ && now >= *next_beat_) {
        // No ACK since the last beat, or a beat a whole interval late with nothing read
        // meanwhile (the process was suspended that long, and the gateway has given up on a
        // connection that missed its beats; a loop late because it was busy reading frames beats
        // as usual): the connection is a zombie. Close with a code that keeps the session, then
        // resume on a new one rather than beat into this one and wait an interval for an ACK.
        const bool suspended = now - *next_beat_ >= *heartbeat_interval_ &&
                               now - last_received_at_ >= *heartbeat_interval_;
        if (awaiting_ack_ || suspended) {
            ++stats_.zombies;
            emit(lifecycle(lifecycle_kind::zombie));
            begin_close(now, close_code_reconnect, disconnect_cause::zombie);
            return;
        }
        const auto ready = limiter_.ready_at(send_kind::heartbeat, now);
        if (ready > now) {
            next_beat_ = ready; // only when the server flooded op 1 requests
        } else {
            send_heartbeat(now);
            *next_beat_ += *heartbeat_interval_;
            if (*next_beat_ <= now) {
                next_beat_ = now + *heartbeat_interval_;
            }
        }
    }
    flush_queue(now);
}

void shard::on_identify_permit(time_point now) {
    if (!awaiting_permit_ || state_ != shard_state::identifying) {
        return;
    }
    awaiting_permit_ = false;
    std::string text;
    // validate() encoded the same Identify when the shard was made.
    [[maybe_unused]] const auto ec = encode(identify_for(config_), text);
    assert(!ec);
    send_handshake(now, std::move(text), lifecycle_kind::identifying);
}

std::error_code shard::send(time_point now, const command& cmd) {
    if (state_ == shard_state::fatally_closed || state_ == shard_state::stopped || stopping_) {
        return error::shard_stopped;
    }
    if (queue_.size() >= config_.max_queued_commands) {
        return error::send_queue_full;
    }
    std::string text;
    if (auto ec = encode(cmd, text)) {
        return ec;
    }
    const auto kind =
        opcode_of(cmd) == opcode::presence_update ? send_kind::presence : send_kind::user_command;
    queue_.push_back({std::move(text), kind});
    flush_queue(now);
    return {};
}

void shard::close(time_point now, close_mode mode) {
    if (state_ == shard_state::fatally_closed || state_ == shard_state::stopped) {
        return;
    }
    stopping_ = true;
    const auto cause =
        mode == close_mode::keep_session ? disconnect_cause::handover : disconnect_cause::shutdown;
    cancel_identify_request();
    if (state_ == shard_state::closing) {
        closing_cause_ = cause; // the handshake under way ends in `stopped` now
        return;
    }
    if (connection_open()) {
        // 1000 ends the session on Discord's side too; 4900 keeps it for whoever resumes it.
        begin_close(
            now, cause == disconnect_cause::handover ? close_code_reconnect : close_code_shutdown,
            cause);
    } else {
        if (state_ == shard_state::connecting) {
            emit(action::drop_transport{});
        }
        connection_ended(now, close_code_shutdown, closed_by::shard, cause);
    }
}

// Outputs
// ------------------------------------------------------------------------------------------

std::optional<shard_action> shard::poll_action() {
    if (actions_.empty()) {
        return std::nullopt;
    }
    auto a = std::move(actions_.front());
    actions_.pop_front();
    return a;
}

std::optional<time_point> shard::next_deadline() const {
    switch (state_) {
    case shard_state::disconnected: return reconnect_at_;
    case shard_state::awaiting_hello: return hello_deadline_;
    case shard_state::closing: return close_deadline_;
    case shard_state::identifying:
    case shard_state::resuming:
    case shard_state::active: {
        std::optional<time_point> deadline = next_beat_;
        if (state_ == shard_state::active && !queue_.empty()) {
            deadline = deadline ? std::min(*deadline, queue_ready_at_) : queue_ready_at_;
        }
        if (!handshake_.empty()) {
            deadline = deadline ? std::min(*deadline, handshake_ready_at_) : handshake_ready_at_;
        }
        return deadline;
    }
    default: return std::nullopt;
    }
}

// Transitions
// --------------------------------------------------------------------------------------

void shard::connect_now(time_point /*now*/) {
    state_ = shard_state::connecting;
    ++stats_.connects;
    to_resume_url_ = session_.has_value() && session_->resume_gateway_url != config_.gateway_url;
    auto url = connect_url();
    auto event = lifecycle(lifecycle_kind::connecting);
    event.url = url;
    emit(std::move(event));
    emit(action::connect{std::move(url)});
}

void shard::begin_close(time_point now, std::uint16_t code, disconnect_cause cause) {
    cancel_identify_request();
    state_ = shard_state::closing;
    closing_code_ = code;
    closing_cause_ = cause;
    close_deadline_ = now + config_.close_timeout;
    emit(action::send_close{code, {}});
}

// Every way a connection ends comes here: the reaction is decided once (reaction_to), and this is
// the only place a session is given up.
void shard::connection_ended(time_point now, std::uint16_t code, closed_by by,
                             disconnect_cause cause, std::error_code ec, std::string_view detail,
                             transport_stage stage) {
    const bool before_hello =
        state_ == shard_state::connecting || state_ == shard_state::awaiting_hello;
    cancel_identify_request();
    reset_connection_state();
    if (before_hello && to_resume_url_ && by == closed_by::transport) {
        count_resume_url_failure();
    }
    auto reaction = reaction_to(cause, code);
    if (reaction != close_reaction::resume) {
        session_.reset();
        seq_.reset();
    }
    if (stopping_) {
        state_ = shard_state::stopped;
        return;
    }
    if (reaction == close_reaction::resume && !session_) {
        reaction = close_reaction::reidentify;
    }
    auto event = lifecycle(lifecycle_kind::closed);
    event.code = code;
    event.reaction = reaction;
    event.by = by;
    event.cause = cause;
    event.error = ec;
    event.detail = detail;
    event.stage = stage;
    emit(std::move(event));
    if (reaction == close_reaction::fatal) {
        stop_fatally(code);
        return;
    }
    schedule_reconnect(now);
}

// A resume URL that keeps failing before Hello may be wrong or unreachable while the session lives
// on: resume through the gateway URL instead of retrying it for ever.
void shard::count_resume_url_failure() {
    if (!session_ || ++resume_url_failures_ < config_.resume_url_attempts) {
        return;
    }
    auto event = lifecycle(lifecycle_kind::protocol_error);
    event.error = error::resume_gateway_url_unreachable;
    event.detail = std::to_string(resume_url_failures_) + " connections to " +
                   session_->resume_gateway_url.substr(0, 200) +
                   " failed before Hello; resuming through gateway_url " + config_.gateway_url;
    emit(std::move(event));
    session_->resume_gateway_url = config_.gateway_url;
    resume_url_failures_ = 0;
}

// READY's resume URL is used as given only when it is a plausible ws:// or wss:// URL; anything
// else (another scheme, no host, control characters, absurd length) would keep the shard offline.
void shard::take_resume_url(std::string url) {
    resume_url_failures_ = 0;
    if (is_websocket_url(url)) {
        session_->resume_gateway_url = std::move(url);
        return;
    }
    auto event = lifecycle(lifecycle_kind::protocol_error);
    event.error = error::bad_resume_gateway_url;
    event.detail = "resume_gateway_url \"" + detail::printable(url, 200) +
                   "\" is unusable; resuming through gateway_url " + config_.gateway_url;
    emit(std::move(event));
    session_->resume_gateway_url = config_.gateway_url;
}

void shard::schedule_reconnect(time_point now) {
    state_ = shard_state::disconnected;
    const auto delay = std::max(backoff_.next_delay(random_()), extra_wait_);
    extra_wait_ = milliseconds{0};
    reconnect_at_ = now + delay;
}

void shard::stop_fatally(std::uint16_t code) {
    const auto policy = policy_for(code);
    state_ = shard_state::fatally_closed;
    queue_.clear();
    auto event = lifecycle(lifecycle_kind::fatal);
    event.code = code;
    event.reaction = close_reaction::fatal;
    event.name = policy.name;
    event.remedy = policy.remedy;
    emit(std::move(event));
}

void shard::fail_protocol(time_point now, std::error_code ec, std::string_view frame) {
    ++stats_.protocol_errors;
    auto event = lifecycle(lifecycle_kind::protocol_error);
    event.error = ec;
    event.detail = describe_frame(frame);
    emit(std::move(event));
    begin_close(now, close_code_reconnect, disconnect_cause::protocol_error);
}

// Receiving
// ----------------------------------------------------------------------------------------

void shard::handle_payload(time_point now, std::string_view text, bool padded) {
    received_payload payload;
    if (auto ec = decoder_.decode(text, padded, payload)) {
        fail_protocol(now, ec, text);
        return;
    }
    const auto op = to_opcode(payload.op);
    last_received_at_ = now;
    if (op != opcode::heartbeat_ack) {
        last_traffic_at_ = now;
        parked_ = false;
    }
    if (!op || !client_receives(*op)) {
        // Not an error on our side and nothing is lost (only dispatches carry events): count it and
        // report it, so a new Discord opcode shows up in logs instead of breaking the shard.
        ++stats_.unknown_opcodes;
        auto event = lifecycle(lifecycle_kind::protocol_error);
        event.error = error::unknown_opcode;
        event.detail = describe_frame(text);
        emit(std::move(event));
        return;
    }
    switch (*op) {
    case opcode::dispatch: handle_dispatch(now, payload); return;
    case opcode::heartbeat:
        // The server asks for a beat now; the regular schedule stays as it is.
        // Answered only from slots outside the reserve: a flood of requests is the gateway's
        // problem and must not push our Identify, Resume or scheduled beats past the limit.
        if (heartbeat_interval_ && limiter_.ready_at(send_kind::requested_heartbeat, now) <= now) {
            send_heartbeat(now, send_kind::requested_heartbeat);
        } else {
            ++stats_.heartbeat_requests_unanswered;
        }
        return;
    case opcode::reconnect:
        emit(lifecycle(lifecycle_kind::reconnect_requested));
        if (state_ != shard_state::closing) {
            begin_close(now, close_code_reconnect, disconnect_cause::reconnect_requested);
        }
        return;
    case opcode::invalid_session: handle_invalid_session(now, payload.d); return;
    case opcode::hello: handle_hello(now, payload.d); return;
    case opcode::heartbeat_ack:
        if (awaiting_ack_) {
            awaiting_ack_ = false;
            ++stats_.heartbeat_acks;
            latency_ = std::chrono::duration_cast<std::chrono::microseconds>(now - last_beat_at_);
            if (state_ == shard_state::active) {
                backoff_.reset(); // a session that is up and acknowledged counts as healthy
            }
        }
        park_if_quiet(now);
        return;
    default: return;
    }
}

void shard::handle_dispatch(time_point now, const received_payload& payload) {
    if (state_ == shard_state::awaiting_hello) {
        // Without Hello there is no heartbeat and no deadline: a shard taking READY here would be
        // "ready" on a connection nobody watches. Nothing is lost by refusing it: the sequence is
        // not taken, and the resume (or identify) that follows starts from what was delivered.
        fail_protocol(now, error::dispatch_before_hello,
                      payload.t.empty() ? std::string_view("dispatch") : payload.t);
        return;
    }
    if (payload.s) {
        seq_ = payload.s;
    }
    ++stats_.dispatches;
    if (state_ == shard_state::resuming && payload.t != "RESUMED") {
        ++stats_.replayed;
    }
    emit(dispatch_event{id(), payload.s.value_or(0), payload.t, payload.d});
    if (payload.t == "READY") {
        ready_info ready;
        if (auto ec = decoder_.read_ready(payload.d, ready)) {
            fail_protocol(now, ec, payload.d);
            return;
        }
        session_ = session_info{std::move(ready.session_id), {}};
        take_resume_url(std::move(ready.resume_gateway_url));
        become_active(now);
        emit(lifecycle(lifecycle_kind::ready));
    } else if (payload.t == "RESUMED") {
        ++stats_.resumes;
        become_active(now);
        emit(lifecycle(lifecycle_kind::resumed));
    }
}

void shard::handle_hello(time_point now, std::string_view d) {
    if (state_ != shard_state::awaiting_hello) {
        return;
    }
    milliseconds interval{};
    if (auto ec = decoder_.read_hello(d, interval)) {
        fail_protocol(now, ec, d);
        return;
    }
    heartbeat_interval_ = interval;
    if (to_resume_url_) {
        resume_url_failures_ = 0; // the URL works
    }
    limiter_.set_heartbeat_reserve(heartbeat_reserve_for(interval, config_.limits));
    // The first beat is jittered so that shards reconnecting together do not beat together.
    const auto jitter =
        std::chrono::duration_cast<milliseconds>(std::chrono::duration<double, std::milli>(
            static_cast<double>(interval.count()) * random_()));
    next_beat_ = now + jitter;
    auto event = lifecycle(lifecycle_kind::hello);
    event.heartbeat_interval = interval;
    emit(std::move(event));

    if (session_) {
        state_ = shard_state::resuming;
        resume payload{config_.token, session_->session_id, seq_.value_or(0)};
        std::string text;
        if (auto ec = encode(payload, text)) {
            fail_protocol(now, ec, {});
            return;
        }
        send_handshake(now, std::move(text), lifecycle_kind::resuming);
    } else {
        state_ = shard_state::identifying;
        awaiting_permit_ = true;
        emit(action::request_identify{});
    }
}

void shard::handle_invalid_session(time_point now, std::string_view d) {
    const bool resumable = payload_decoder::read_invalid_session(d);
    auto event = lifecycle(lifecycle_kind::invalid_session);
    event.resumable = resumable;
    emit(std::move(event));
    if (state_ == shard_state::closing) {
        return;
    }
    if (resumable && session_) {
        begin_close(now, close_code_reconnect, disconnect_cause::invalid_session_resumable);
        return;
    }
    // The session is gone: end it cleanly on Discord's side too, wait, then identify afresh.
    extra_wait_ =
        random_between(config_.invalid_session_wait_min, config_.invalid_session_wait_max);
    begin_close(now, close_code_shutdown, disconnect_cause::invalid_session);
}

// Sending
// ------------------------------------------------------------------------------------------

void shard::send_handshake(time_point now, std::string text, lifecycle_kind sent) {
    handshake_ = std::move(text);
    handshake_kind_ = sent;
    flush_handshake(now);
}

// Identify and Resume may use the reserve, but like every frame they wait for a free slot.
void shard::flush_handshake(time_point now) {
    if (handshake_.empty()) {
        return;
    }
    handshake_ready_at_ = limiter_.ready_at(send_kind::heartbeat, now);
    if (handshake_ready_at_ > now) {
        return;
    }
    if (handshake_kind_ == lifecycle_kind::identifying) {
        ++stats_.identifies;
    } else {
        ++stats_.resume_attempts;
    }
    send_frame(now, std::exchange(handshake_, {}), send_kind::heartbeat, true);
    emit(lifecycle(handshake_kind_));
}

void shard::send_heartbeat(time_point now, send_kind kind) {
    std::string text;
    // A heartbeat always encodes: it is a few bytes.
    [[maybe_unused]] auto ec = encode(heartbeat{seq_}, text);
    assert(!ec);
    ++stats_.heartbeats_sent;
    awaiting_ack_ = true;
    last_beat_at_ = now;
    send_frame(now, std::move(text), kind, false);
}

void shard::send_frame(time_point now, std::string payload, send_kind kind, bool sensitive) {
    limiter_.record(kind, now);
    stats_.sent_bytes += payload.size();
    emit(action::send_text{std::move(payload), sensitive});
}

void shard::flush_queue(time_point now) {
    while (state_ == shard_state::active && !queue_.empty()) {
        auto& front = queue_.front();
        queue_ready_at_ = limiter_.ready_at(front.kind, now);
        if (queue_ready_at_ > now) {
            if (!front.waited) {
                front.waited = true;
                ++stats_.send_limiter_waits;
            }
            return;
        }
        ++stats_.commands_sent;
        send_frame(now, std::move(front.payload), front.kind, false);
        queue_.pop_front();
    }
}

void shard::become_active(time_point now) {
    state_ = shard_state::active;
    flush_queue(now);
}

// Helpers
// ------------------------------------------------------------------------------------------

void shard::cancel_identify_request() {
    if (awaiting_permit_) {
        awaiting_permit_ = false;
        emit(action::cancel_identify{});
    }
}

void shard::reset_connection_state() {
    inflater_.reset();
    limiter_.reset();
    heartbeat_interval_.reset();
    next_beat_.reset();
    awaiting_ack_ = false;
    handshake_.clear();
}

bool shard::connection_open() const noexcept {
    return state_ == shard_state::awaiting_hello || state_ == shard_state::identifying ||
           state_ == shard_state::resuming || state_ == shard_state::active ||
           state_ == shard_state::closing;
}

std::string shard::connect_url() const {
    std::string url = session_ ? session_->resume_gateway_url : config_.gateway_url;
    std::string query = "v=10&encoding=json";
    if (config_.transport_compression != compression::none) {
        query += "&compress=";
        query += to_string(config_.transport_compression);
    }
    if (url.find('?') != std::string::npos) {
        url += '&';
    } else {
        // "wss://host" needs a path before the query; "wss://host/" and "wss://host/path" do not.
        const auto scheme_end = url.find("://");
        const auto host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
        if (url.find('/', host_start) == std::string::npos) {
            url += '/';
        }
        url += '?';
    }
    return url + query;
}

milliseconds shard::random_between(milliseconds low, milliseconds high) {
    const auto span = static_cast<double>((high - low).count());
    return low + milliseconds{static_cast<milliseconds::rep>(span * random_())};
}

std::optional<session_state> shard::resumable_session() const {
    if (!session_) {
        return std::nullopt;
    }
    return session_state{session_->session_id, session_->resume_gateway_url, seq_.value_or(0)};
}

lifecycle_event shard::lifecycle(lifecycle_kind kind) const {
    lifecycle_event event;
    event.kind = kind;
    event.shard = id();
    return event;
}

} // namespace shardgate::gateway
