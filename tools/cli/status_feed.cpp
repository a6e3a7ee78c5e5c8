#include "status_feed.hpp"

#include "event_output.hpp"
#include "log_settings.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/observe/log.hpp"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

namespace shardgate::cli {

namespace gw = gateway;
using gw::detail::json_writer;

namespace {

void number(json_writer& w, double v) {
    std::array<char, 32> buf{};
    const double rounded = std::round(v * 10.0) / 10.0; // one decimal is all a person reads
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), rounded);
    w.raw_value(std::string_view(buf.data(), static_cast<std::size_t>(r.ptr - buf.data())));
}

} // namespace

status_feed::status_feed(std::string title, std::string mode)
    : title_(std::move(title))
    , mode_(std::move(mode)) {}

std::string status_feed::snapshot(std::span<const io::shard_status> shards,
                                  const feed_extras& extras) {
    std::vector<feed_shard> converted;
    converted.reserve(shards.size());
    for (const auto& s : shards) {
        feed_shard f;
        f.id = s.id;
        f.state = gw::to_string(s.state);
        if (s.heartbeat_rtt) {
            f.latency_ms = static_cast<double>(s.heartbeat_rtt->count()) / 1000.0;
        } else if (s.latency) {
            f.latency_ms = static_cast<double>(s.latency->count());
        }
        f.dispatches = s.dispatches;
        f.identifies = s.identifies;
        f.resumes = s.resumes;
        f.last_close_code = s.last_close_code;
        converted.push_back(f);
    }
    return snapshot(std::span<const feed_shard>(converted), extras);
}

std::string status_feed::snapshot(std::span<const feed_shard> shards, const feed_extras& extras) {
    const auto now = steady::now();
    const std::lock_guard lock(mutex_);
    if (!window_start_) {
        window_start_ = now;
        for (const auto& s : shards) {
            window_counts_[s.id] = s.dispatches;
        }
    } else if (const auto span = std::chrono::duration<double>(now - *window_start_).count();
               span >= 1.0) {
        for (const auto& s : shards) {
            const auto before = window_counts_[s.id];
            rates_[s.id] =
                s.dispatches >= before ? static_cast<double>(s.dispatches - before) / span : 0.0;
            window_counts_[s.id] = s.dispatches;
        }
        window_start_ = now;
    }

    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("title").string_value(title_);
    w.key("mode").string_value(mode_);
    w.key("uptime_s");
    number(w, std::chrono::duration<double>(now - start_).count());
    w.key("shards").begin_array();
    double total_rate = 0;
    std::uint64_t dispatches = 0;
    std::uint64_t resumes = 0;
    std::uint64_t identifies = 0;
    for (const auto& s : shards) {
        const auto rate = rates_.find(s.id);
        const double r = rate == rates_.end() ? 0.0 : rate->second;
        total_rate += r;
        dispatches += s.dispatches;
        resumes += s.resumes;
        identifies += s.identifies;
        w.begin_object();
        w.key("id").uint_value(s.id);
        w.key("state").string_value(s.state);
        w.key("latency_ms");
        if (s.latency_ms) {
            number(w, *s.latency_ms);
        } else {
            w.null_value();
        }
        w.key("events_per_s");
        number(w, r);
        w.key("dispatches").uint_value(s.dispatches);
        w.key("resumes").uint_value(s.resumes);
        w.key("identifies").uint_value(s.identifies);
        w.key("last_close_code");
        if (s.last_close_code) {
            w.uint_value(*s.last_close_code);
        } else {
            w.null_value();
        }
        w.end_object();
    }
    w.end_array();
    w.key("totals").begin_object();
    w.key("events_per_s");
    number(w, total_rate);
    w.key("dispatches").uint_value(dispatches);
    w.key("resumes").uint_value(resumes);
    w.key("identifies").uint_value(identifies);
    if (extras.faults) {
        w.key("faults").uint_value(*extras.faults);
    }
    if (extras.lost) {
        w.key("lost").uint_value(*extras.lost);
    }
    if (extras.duplicated) {
        w.key("duplicated").uint_value(*extras.duplicated);
    }
    w.end_object();
    w.end_object();
    return out;
}

std::string describe_lifecycle(const gw::lifecycle_event& e) {
    using kind = gw::lifecycle_kind;
    const auto code_text = [&] {
        if (e.code == gw::close_code_reconnect) {
            return std::to_string(e.code) + " (shardgate's own code for a reconnect)";
        }
        return std::to_string(e.code) + " (" + std::string(gw::policy_for(e.code).name) + ")";
    };
    switch (e.kind) {
    case kind::connecting: return "connecting to " + e.url;
    case kind::hello:
        return "hello, heartbeat every " + std::to_string(e.heartbeat_interval.count()) + " ms";
    case kind::identifying: return "identifying (new session)";
    case kind::ready: return "ready";
    case kind::resuming: return "resuming the session";
    case kind::resumed: return "resumed: missed events replayed";
    case kind::reconnect_requested: return "gateway asked to reconnect (op 7)";
    case kind::invalid_session:
        return std::string("invalid session (op 9), ") +
               (e.resumable ? "resumable: resuming" : "not resumable: identifying afresh");
    case kind::zombie: return "zombie connection: no heartbeat ACK, reconnecting";
    case kind::closed: {
        std::string what;
        switch (e.reaction) {
        case gw::close_reaction::resume: what = "resuming"; break;
        case gw::close_reaction::reidentify: what = "identifying afresh"; break;
        case gw::close_reaction::fatal: what = "stopping"; break;
        }
        return "closed with " + code_text() + ": " + what;
    }
    case kind::fatal: return "stopped on " + code_text() + ": " + std::string(e.remedy);
    case kind::protocol_error:
        return "bad frame from the gateway: " +
               (e.error ? e.error.message() : std::string("unknown")) +
               (e.detail.empty() ? std::string() : " (" + e.detail + ")");
    }
    return std::string(gw::to_string(e.kind));
}

std::string lifecycle_entry_json(const gw::lifecycle_event& e,
                                 std::chrono::system_clock::time_point when) {
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("time").string_value(observe::format_utc_millis(when));
    w.key("shard").uint_value(e.shard);
    w.key("kind").string_value(gw::to_string(e.kind));
    if (e.kind == gw::lifecycle_kind::closed || e.kind == gw::lifecycle_kind::fatal) {
        w.key("code").uint_value(e.code);
        w.key("name").string_value(e.code == gw::close_code_reconnect
                                       ? std::string_view("shardgate's reconnect")
                                       : gw::policy_for(e.code).name);
        w.key("reaction")
            .string_value(gw::to_string(
                e.kind == gw::lifecycle_kind::fatal ? gw::close_reaction::fatal : e.reaction));
    }
    if (e.kind == gw::lifecycle_kind::fatal) {
        w.key("remedy").string_value(e.remedy);
    }
    w.key("text").string_value(describe_lifecycle(e));
    w.end_object();
    return out;
}

std::string fault_entry_json(std::uint32_t shard, std::string_view fault, std::string_view text,
                             std::chrono::system_clock::time_point when) {
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("time").string_value(observe::format_utc_millis(when));
    w.key("shard").uint_value(shard);
    w.key("kind").string_value("fault");
    w.key("fault").string_value(fault);
    w.key("text").string_value(text);
    w.end_object();
    return out;
}

void report_lifecycle(observe::logger& log, io::status_server* page, const gw::lifecycle_event& e) {
    const auto level = lifecycle_log_level(e.kind);
    if (log.enabled(level)) {
        const auto text = e.kind == gw::lifecycle_kind::fatal ? fatal_line(e)
                          : e.kind == gw::lifecycle_kind::protocol_error
                              ? protocol_error_line(e)
                              : "shard " + std::to_string(e.shard) + ": " + describe_lifecycle(e);
        log.log(level, text, {{"shard", e.shard}, {"event", gw::to_string(e.kind)}});
    }
    if (page != nullptr && e.kind != gw::lifecycle_kind::hello) {
        page->publish("lifecycle", lifecycle_entry_json(e, std::chrono::system_clock::now()));
    }
}

std::optional<emulator_log_view> describe_emulator_log(std::string_view entry_json,
                                                       std::chrono::system_clock::time_point when) {
    boost::system::error_code ec;
    const auto parsed = boost::json::parse(entry_json, ec);
    if (ec || !parsed.is_object()) {
        return std::nullopt;
    }
    const auto& o = parsed.as_object();
    const auto text_of = [&](std::string_view key) -> std::string {
        const auto* v = o.if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    const auto int_of = [&](std::string_view key) -> std::int64_t {
        const auto* v = o.if_contains(key);
        return v != nullptr && v->is_int64() ? v->as_int64() : 0;
    };
    const auto code_name = [](std::int64_t code) {
        return std::to_string(code) + " (" +
               std::string(gw::policy_for(static_cast<std::uint16_t>(code)).name) + ")";
    };
    const auto event = text_of("event");
    emulator_log_view view;
    std::string kind;
    std::optional<std::int64_t> code;
    if (event == "close_sent") {
        code = int_of("code");
        kind = "closed";
        view.text = "sent close " + code_name(*code);
    } else if (event == "violation") {
        code = int_of("code");
        kind = "protocol_error";
        view.level = observe::log_level::warn;
        view.text =
            "client broke a rule: " + text_of("reason") + " (close " + code_name(*code) + ")";
    } else if (event == "client_close") {
        code = int_of("code");
        kind = "closed";
        view.text = "client closed with " + code_name(*code);
    } else if (event == "transport_lost") {
        code = 1006;
        kind = "closed";
        view.text = "connection lost without a close frame";
    } else if (event == "reconnect_sent") {
        kind = "reconnect_requested";
        view.text = "sent op 7 Reconnect";
    } else if (event == "invalid_session_sent") {
        const auto* r = o.if_contains("resumable");
        kind = "invalid_session";
        view.text = std::string("sent op 9 Invalid Session (") +
                    (r != nullptr && r->is_bool() && r->as_bool() ? "resumable" : "not resumable") +
                    ")";
    } else if (event == "ready") {
        kind = "ready";
        view.text = "READY: new session";
    } else if (event == "resumed") {
        kind = "resumed";
        view.text = "RESUMED";
    } else if (event == "replay") {
        kind = "resuming";
        view.text = "replayed " + std::to_string(int_of("count")) + " missed dispatches";
    } else if (event == "fault") {
        kind = "fault";
        view.text = "injected " + text_of("fault");
    } else if (event == "session_expired") {
        kind = "closed";
        view.text = "a resumable session expired";
    } else if (event == "token_reset") {
        kind = "fatal";
        view.level = observe::log_level::warn;
        view.text = "session-start budget spent: the token was reset (4004 from now on)";
    } else {
        return std::nullopt;
    }
    if (const auto* s = o.if_contains("shard");
        s != nullptr && s->is_int64() && s->as_int64() >= 0) {
        view.shard = static_cast<std::uint32_t>(s->as_int64());
    }
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("time").string_value(observe::format_utc_millis(when));
    w.key("shard");
    if (view.shard) {
        w.uint_value(*view.shard);
    } else {
        w.null_value();
    }
    w.key("kind").string_value(kind);
    if (code) {
        w.key("code").int_value(*code);
        w.key("name").string_value(gw::policy_for(static_cast<std::uint16_t>(*code)).name);
    }
    w.key("text").string_value(view.text);
    w.end_object();
    view.entry_json = std::move(out);
    return view;
}

} // namespace shardgate::cli
