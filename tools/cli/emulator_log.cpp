#include "emulator_log.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace shardgate::cli {

namespace gw = gateway;
using gw::detail::json_writer;

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
