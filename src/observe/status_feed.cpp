#include "shardgate/observe/status_feed.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/observe/log.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace shardgate::observe {

namespace gw = gateway;
using gw::detail::json_writer;

namespace {

void number(json_writer& w, double v) {
    std::array<char, 32> buf{};
    const double rounded = std::round(v * 10.0) / 10.0; // one decimal is all a person reads
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), rounded);
    w.raw_value(std::string_view(buf.data(), static_cast<std::size_t>(r.ptr - buf.data())));
}

std::string_view close_name(std::uint16_t code) {
    return code == gw::close_code_reconnect ? std::string_view("shardgate's reconnect")
                                            : gw::policy_for(code).name;
}

} // namespace

status_feed::status_feed(std::string title, std::string mode)
    : title_(std::move(title))
    , mode_(std::move(mode)) {}

std::string status_feed::snapshot(std::span<const status_shard> shards,
                                  const status_extras& extras) {
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
        // A drop says why: the transport's error and where it happened.
        std::string why;
        if (e.error) {
            why = " (" + e.error.message() + (e.detail.empty() ? "" : ", " + e.detail) + ")";
        } else if (e.cause != gw::disconnect_cause::gateway_close) {
            why = " (" + std::string(gw::to_string(e.cause)) + ")";
        }
        return "closed with " + code_text() + why + ": " + what;
    }
    case kind::fatal: return "stopped on " + code_text() + ": " + std::string(e.remedy);
    case kind::protocol_error:
        return "gateway error: " + (e.error ? e.error.message() : std::string("unknown")) +
               (e.detail.empty() ? std::string() : " (" + e.detail + ")");
    }
    return std::string(gw::to_string(e.kind));
}

bool shown_in_feed(gw::lifecycle_kind kind) noexcept {
    return kind != gw::lifecycle_kind::hello;
}

std::string lifecycle_entry_json(const gw::lifecycle_event& e,
                                 std::chrono::system_clock::time_point when) {
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("time").string_value(format_utc_millis(when));
    w.key("shard").uint_value(e.shard);
    w.key("kind").string_value(gw::to_string(e.kind));
    if (e.kind == gw::lifecycle_kind::closed || e.kind == gw::lifecycle_kind::fatal) {
        w.key("code").uint_value(e.code);
        w.key("name").string_value(close_name(e.code));
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
    w.key("time").string_value(format_utc_millis(when));
    w.key("shard").uint_value(shard);
    w.key("kind").string_value("fault");
    w.key("fault").string_value(fault);
    w.key("text").string_value(text);
    w.end_object();
    return out;
}

} // namespace shardgate::observe
