#include "shardgate/emulator/log_entry.hpp"

#include "shardgate/gateway/detail/json_writer.hpp"

#include <string>
#include <type_traits>
#include <utility>

namespace shardgate::emulator {
namespace {

using gateway::detail::json_writer;
namespace ev = log_event;

// Each event's keys, in the order the log has always written them (clients compare the text).
void write_details(json_writer& w, const ev::connect& e) {
    w.key("query").string_value(e.query);
    w.key("compress").string_value(gateway::to_string(e.compress));
}
void write_details(json_writer& w, const ev::hello& e) {
    w.key("heartbeat_interval")
        .uint_value(static_cast<std::uint64_t>(e.heartbeat_interval.count()));
}
void write_details(json_writer& w, const ev::identify& e) {
    w.key("shard").uint_value(e.shard).key("num_shards").uint_value(e.num_shards);
    w.key("intents").uint_value(e.intents).key("token").string_value("***");
}
void write_details(json_writer& w, const ev::resume& e) {
    w.key("session_id").string_value(e.session_id).key("seq").uint_value(e.seq);
    w.key("token").string_value("***");
}
void write_details(json_writer& w, const ev::replay& e) {
    w.key("count").uint_value(e.count);
}
void write_details(json_writer& w, const ev::ready& e) {
    w.key("session_id").string_value(e.session_id).key("guilds").uint_value(e.guilds);
}
void write_details(json_writer& w, const ev::heartbeat& e) {
    w.key("seq");
    if (e.seq) {
        w.uint_value(*e.seq);
    } else {
        w.null_value();
    }
}
void write_details(json_writer& w, const ev::command& e) {
    w.key("op").int_value(static_cast<std::int64_t>(e.op));
}
void write_details(json_writer& w, const ev::client_close& e) {
    w.key("code").uint_value(e.code);
}
void write_details(json_writer& w, const ev::violation& e) {
    w.key("code").uint_value(e.code).key("reason").string_value(e.reason);
}
void write_details(json_writer& w, const ev::close_sent& e) {
    w.key("code").uint_value(e.code).key("reason").string_value(e.reason);
}
void write_details(json_writer& w, const ev::invalid_session_sent& e) {
    w.key("resumable").bool_value(e.resumable).key("reason").string_value(e.reason);
}
void write_details(json_writer& w, const ev::fault_injected& e) {
    w.key("fault").string_value(to_string(e.fault));
    switch (e.fault) {
    case injected_fault::close: w.key("code").uint_value(e.code); break;
    case injected_fault::invalid_session: w.key("resumable").bool_value(e.resumable); break;
    case injected_fault::zombie:
        if (e.silent) {
            w.key("silent").bool_value(true);
        }
        break;
    case injected_fault::flood:
        w.key("t").string_value(e.t).key("count").uint_value(e.count);
        break;
    case injected_fault::hostile:
        w.key("mode").string_value(e.mode);
        if (e.count != 0) {
            w.key("count").uint_value(e.count);
        }
        break;
    case injected_fault::split: w.key("count").uint_value(e.count); break;
    case injected_fault::stall: w.key("ms").uint_value(e.count); break;
    case injected_fault::reconnect:
    case injected_fault::drop:
    case injected_fault::heartbeat_request: break;
    }
}
void write_details(json_writer& w, const ev::dispatch& e) {
    w.key("t").string_value(e.t).key("seq").uint_value(e.seq);
    if (e.detached) {
        w.key("detached").bool_value(true);
    }
}
void write_details(json_writer& w, const ev::session_expired& e) {
    w.key("session_id").string_value(e.session_id);
}
void write_details(json_writer& w, const ev::token_reset& e) {
    w.key("reason").string_value(e.reason);
}
// Events without details.
void write_details(json_writer& /*w*/, const ev::resumed& /*e*/) {}
void write_details(json_writer& /*w*/, const ev::transport_lost& /*e*/) {}
void write_details(json_writer& /*w*/, const ev::reconnect_sent& /*e*/) {}

template <class Event> constexpr std::string_view name_of() noexcept {
    if constexpr (std::is_same_v<Event, ev::connect>) {
        return "connect";
    } else if constexpr (std::is_same_v<Event, ev::hello>) {
        return "hello";
    } else if constexpr (std::is_same_v<Event, ev::identify>) {
        return "identify";
    } else if constexpr (std::is_same_v<Event, ev::resume>) {
        return "resume";
    } else if constexpr (std::is_same_v<Event, ev::replay>) {
        return "replay";
    } else if constexpr (std::is_same_v<Event, ev::resumed>) {
        return "resumed";
    } else if constexpr (std::is_same_v<Event, ev::ready>) {
        return "ready";
    } else if constexpr (std::is_same_v<Event, ev::heartbeat>) {
        return "heartbeat";
    } else if constexpr (std::is_same_v<Event, ev::command>) {
        return "command";
    } else if constexpr (std::is_same_v<Event, ev::client_close>) {
        return "client_close";
    } else if constexpr (std::is_same_v<Event, ev::transport_lost>) {
        return "transport_lost";
    } else if constexpr (std::is_same_v<Event, ev::violation>) {
        return "violation";
    } else if constexpr (std::is_same_v<Event, ev::close_sent>) {
        return "close_sent";
    } else if constexpr (std::is_same_v<Event, ev::reconnect_sent>) {
        return "reconnect_sent";
    } else if constexpr (std::is_same_v<Event, ev::invalid_session_sent>) {
        return "invalid_session_sent";
    } else if constexpr (std::is_same_v<Event, ev::fault_injected>) {
        return "fault";
    } else if constexpr (std::is_same_v<Event, ev::dispatch>) {
        return "dispatch";
    } else if constexpr (std::is_same_v<Event, ev::session_expired>) {
        return "session_expired";
    } else {
        static_assert(std::is_same_v<Event, ev::token_reset>, "every event has a name");
        return "token_reset";
    }
}

// Calls `f` on each string member of an event (they are named query, session_id, reason or t).
template <class Event, class F> void for_each_string(Event& e, F&& f) {
    if constexpr (requires { e.query; }) {
        f(e.query);
    }
    if constexpr (requires { e.session_id; }) {
        f(e.session_id);
    }
    if constexpr (requires { e.reason; }) {
        f(e.reason);
    }
    if constexpr (requires { e.t; }) {
        f(e.t);
    }
}

bool utf8_continuation(char c) noexcept {
    return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}

void cut(std::string& text) {
    if (text.size() <= max_log_string_bytes) {
        return;
    }
    auto keep = max_log_string_bytes;
    while (keep > 0 && utf8_continuation(text[keep])) {
        --keep;
    }
    // A new string: resizing would keep the whole allocation.
    std::string shorter = text.substr(0, keep);
    shorter += "...[" + std::to_string(text.size()) + " bytes]";
    text = std::move(shorter);
}

} // namespace

void cut_long_strings(log_details& details) {
    std::visit([](auto& e) { for_each_string(e, cut); }, details);
}

std::size_t footprint(const log_entry& entry) {
    std::size_t bytes = sizeof(log_entry);
    std::visit(
        [&](auto& e) { for_each_string(e, [&](const std::string& s) { bytes += s.size(); }); },
        entry.details);
    return bytes;
}

std::string_view to_string(injected_fault fault) noexcept {
    switch (fault) {
    case injected_fault::close: return "close";
    case injected_fault::reconnect: return "reconnect";
    case injected_fault::invalid_session: return "invalid_session";
    case injected_fault::zombie: return "zombie";
    case injected_fault::drop: return "drop";
    case injected_fault::heartbeat_request: return "heartbeat_request";
    case injected_fault::flood: return "flood";
    case injected_fault::hostile: return "hostile";
    case injected_fault::split: return "split";
    case injected_fault::stall: return "stall";
    }
    return "close";
}

std::string_view event_name(const log_details& details) {
    return std::visit([](const auto& e) { return name_of<std::remove_cvref_t<decltype(e)>>(); },
                      details);
}

void append_json(std::string& out, const log_entry& entry) {
    json_writer w(out);
    w.begin_object().key("t_ms").uint_value(entry.t_ms);
    w.key("connection").uint_value(entry.connection).key("shard");
    if (entry.shard) {
        w.uint_value(*entry.shard);
    } else {
        w.null_value();
    }
    w.key("event").string_value(event_name(entry.details));
    std::visit([&](const auto& e) { write_details(w, e); }, entry.details);
    w.end_object();
}

std::string to_json(const log_entry& entry) {
    std::string out;
    append_json(out, entry);
    return out;
}

} // namespace shardgate::emulator
