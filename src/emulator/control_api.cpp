#include "shardgate/emulator/control_api.hpp"

#include "json_read.hpp"
#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"

#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <utility>

namespace shardgate::emulator {
namespace {

using gateway::detail::json_writer;

// HTTP statuses the emulator answers with.
namespace status {
constexpr std::uint16_t ok = 200;
constexpr std::uint16_t bad_request = 400;
constexpr std::uint16_t unauthorized = 401;
constexpr std::uint16_t not_found = 404;
constexpr std::uint16_t method_not_allowed = 405;
constexpr std::uint16_t upgrade_required = 426;
} // namespace status

/// Most connections one `POST /_emulator/hostile` arms.
constexpr std::int64_t max_hostile_connections = 1'000;
/// A stall without "ms": less than any sane heartbeat interval, so a client should ride it out.
constexpr std::uint64_t default_stall_ms = 2'000;
/// Largest `count` of one flood request.
constexpr std::uint64_t max_flood_count = 100'000'000;
/// Largest `count` of a prepared flood, whose frames are all held at once (~1.1 GB uncompressed).
constexpr std::uint64_t max_prepared_flood_count = 1'000'000;
/// Control bodies nested deeper than this are refused ("too deep"), as Boost.JSON's default
/// limit of 32 levels did when it parsed them.
constexpr int max_body_depth = 31;

// Close codes a server may put in a close frame (RFC 6455 §7.4.1-7.4.2): 1004-1006 and 1015 are
// reserved for what never goes on the wire, 1000-2999 beyond 1014 for the RFC, 3000-4999 are
// registered or private.
constexpr bool sendable_close_code(std::int64_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

std::string error_json(std::string_view message) {
    std::string out;
    json_writer w(out);
    w.begin_object().key("ok").bool_value(false).key("error").string_value(message).end_object();
    return out;
}

// Discord's own error shape, for the routes that mimic its REST API.
std::string discord_error_json(std::string_view message) {
    std::string out;
    json_writer w(out);
    w.begin_object().key("message").string_value(message).key("code").uint_value(0).end_object();
    return out;
}

std::string ok_json(std::size_t connections) {
    std::string out;
    json_writer w(out);
    w.begin_object().key("ok").bool_value(true).key("connections").uint_value(connections);
    w.end_object();
    return out;
}

http_response json_response(std::uint16_t code, std::string body) {
    return {code, "application/json", std::move(body), {}, {}};
}

http_response not_found() {
    return json_response(status::not_found, discord_error_json("404: Not Found"));
}

http_response method_not_allowed(std::string_view allow) {
    return {status::method_not_allowed,
            "application/json",
            discord_error_json("405: Method Not Allowed"),
            allow,
            {}};
}

http_response bad_request(std::string_view message) {
    return error_response(status::bad_request, message);
}

// Control bodies
// -------------------------------------------------------------------------------------------------

/// One member of a control body, as read.
struct body_member {
    detail::od::json_type type = detail::od::json_type::null;
    std::optional<std::int64_t> integer; ///< Set for an integer that fits 64 signed bits.
    bool boolean = false;
    std::string text; ///< A string's unescaped value.
    std::string raw;  ///< The value as JSON text without insignificant whitespace.
};

/// The members of a control body by key; of duplicate keys the last one counts.
class control_body {
public:
    [[nodiscard]] const body_member* find(std::string_view key) const {
        const auto it = members_.find(key);
        return it == members_.end() ? nullptr : &it->second;
    }
    void set(std::string_view key, body_member member) {
        members_.insert_or_assign(std::string(key), std::move(member));
    }

    /// The integer at `key`: nullopt when absent; `bad` set when present but not an integer that
    /// fits 64 signed bits.
    std::optional<std::int64_t> integer(std::string_view key, bool& bad) const {
        const auto* m = find(key);
        if (m == nullptr) {
            return std::nullopt;
        }
        if (!m->integer) {
            bad = true;
        }
        return m->integer;
    }
    /// A shard id at `key`: nullopt when absent; `bad` set unless it is an integer in 0..2^32-1.
    std::optional<std::uint32_t> shard(std::string_view key, bool& bad) const {
        const auto v = integer(key, bad);
        if (bad || !v) {
            return std::nullopt;
        }
        if (*v < 0 || *v > std::numeric_limits<std::uint32_t>::max()) {
            bad = true;
            return std::nullopt;
        }
        return static_cast<std::uint32_t>(*v);
    }

private:
    std::map<std::string, body_member, std::less<>> members_;
};

// JSON text without the whitespace between tokens (the body is known to be valid).
std::string compact(std::string_view json) {
    std::string out(json.size(), '\0');
    std::size_t length = 0;
    if (simdjson::minify(json.data(), json.size(), out.data(), length) != simdjson::SUCCESS) {
        return std::string(json);
    }
    out.resize(length);
    return out;
}

bool read_member(detail::od::value value, body_member& m) {
    namespace od = detail::od;
    if (value.type().get(m.type) != simdjson::SUCCESS) {
        return false;
    }
    switch (m.type) {
    case od::json_type::object:
    case od::json_type::array: {
        std::string_view raw;
        if (!detail::raw_of(value, raw)) {
            return false;
        }
        m.raw = compact(raw);
        return true;
    }
    case od::json_type::string: {
        std::string_view raw;
        std::string_view text;
        if (!detail::raw_of(value, raw) || value.get_string().get(text) != simdjson::SUCCESS) {
            return false;
        }
        m.raw = std::string(raw);
        m.text = std::string(text);
        return true;
    }
    case od::json_type::number: {
        std::string_view raw;
        if (!detail::raw_of(value, raw)) {
            return false;
        }
        m.raw = std::string(raw);
        // Only a number written as an integer counts as one: 4000.0 and 4e3 do not.
        std::int64_t integer = 0;
        if (value.get_int64().get(integer) == simdjson::SUCCESS) {
            m.integer = integer;
        }
        return true;
    }
    case od::json_type::boolean:
        if (value.get_bool().get(m.boolean) != simdjson::SUCCESS) {
            return false;
        }
        m.raw = m.boolean ? "true" : "false";
        return true;
    case od::json_type::null: m.raw = "null"; return true;
    }
    return false;
}

// A document that is one scalar (simdjson reads those with the document's own getters).
bool valid_scalar(detail::od::document& doc, detail::od::json_type type) {
    namespace od = detail::od;
    switch (type) {
    case od::json_type::string: {
        std::string_view text;
        return doc.get_string().get(text) == simdjson::SUCCESS;
    }
    case od::json_type::number: {
        double number = 0;
        return doc.get_double().get(number) == simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
        bool flag = false;
        return doc.get_bool().get(flag) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
        bool null = false;
        return doc.is_null().get(null) == simdjson::SUCCESS && null;
    }
    case od::json_type::object:
    case od::json_type::array: break;
    }
    return false;
}

/// Parses a control body: empty (or only whitespace) means `{}`; anything but one JSON object is
/// an error, described in `why`.
std::optional<control_body> parse_body(std::string_view body, std::string& why) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        return control_body{};
    }
    detail::od::parser parser;
    std::string buffer;
    detail::od::document doc;
    detail::od::json_type root{};
    if (detail::iterate_padded(parser, buffer, body).get(doc) != simdjson::SUCCESS ||
        doc.type().get(root) != simdjson::SUCCESS) {
        why = "the body is not valid JSON: syntax error";
        return std::nullopt;
    }
    if (root != detail::od::json_type::object && root != detail::od::json_type::array) {
        why = valid_scalar(doc, root) ? "the body must be a JSON object"
                                      : "the body is not valid JSON: syntax error";
        return std::nullopt;
    }
    doc.rewind();
    switch (detail::check_any_document(doc, max_body_depth)) {
    case detail::document_fault::none: break;
    case detail::document_fault::too_deep: why = "the body is not valid JSON: too deep"; break;
    case detail::document_fault::extra_data: why = "the body is not valid JSON: extra data"; break;
    case detail::document_fault::invalid: why = "the body is not valid JSON: syntax error"; break;
    }
    if (!why.empty()) {
        return std::nullopt;
    }
    if (root != detail::od::json_type::object) {
        why = "the body must be a JSON object";
        return std::nullopt;
    }
    doc.rewind();
    control_body out;
    const bool ok = detail::for_each_member(doc, [&](std::string_view key, detail::od::value v) {
        body_member m;
        if (!read_member(v, m)) {
            return false;
        }
        out.set(key, std::move(m));
        return true;
    });
    if (!ok) {
        why = "the body is not valid JSON: syntax error";
        return std::nullopt;
    }
    return out;
}

std::optional<std::uint32_t> parse_shard_id(std::string_view text) {
    std::uint32_t v = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc{} || ptr != end) {
        return std::nullopt;
    }
    return v;
}

std::optional<fault_kind> parse_fault(std::string_view name) {
    for (const auto f : {fault_kind::close, fault_kind::reconnect, fault_kind::invalidate,
                         fault_kind::zombie, fault_kind::drop, fault_kind::heartbeat,
                         fault_kind::hostile, fault_kind::split, fault_kind::stall}) {
        if (name == to_string(f)) {
            return f;
        }
    }
    return std::nullopt; // silent_zombie is `zombie` with a body, not a path of its own
}

// Whether `presented` equals `expected`, in a time that depends on `presented`'s length only
// (not on where the first difference is), so the control token cannot be guessed byte by byte.
bool same_secret(std::string_view presented, std::string_view expected) noexcept {
    if (expected.empty()) {
        return false;
    }
    unsigned diff = presented.size() == expected.size() ? 0U : 1U;
    for (std::size_t i = 0; i < presented.size(); ++i) {
        diff |= static_cast<unsigned>(static_cast<unsigned char>(presented[i]) ^
                                      static_cast<unsigned char>(expected[i % expected.size()]));
    }
    return diff == 0;
}

// `Authorization: Bearer <token>` with the token; the scheme is case-insensitive (RFC 9110).
bool bearer_matches(std::string_view authorization, std::string_view token) noexcept {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() < scheme.size()) {
        return false;
    }
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        const auto c = static_cast<unsigned char>(authorization[i]);
        if (static_cast<char>(std::tolower(c)) != scheme[i]) {
            return false;
        }
    }
    return same_secret(authorization.substr(scheme.size()), token);
}

// Routes
// -------------------------------------------------------------------------------------------------

class router {
public:
    router(world& w, time_point now, const effect_runner& run)
        : world_(w)
        , now_(now)
        , run_(run) {}

    http_response route(const http_request& req);

private:
    http_response discovery(std::string_view rest, const http_request& req);
    http_response control(std::string_view rest, const http_request& req);
    /// A fault for the open connections of `shard` (of every shard with nullopt).
    http_response shard_command(std::optional<std::uint32_t> shard, fault_kind fault,
                                std::string_view body);
    http_response dispatch(std::string_view body);
    http_response flood(std::string_view body);
    http_response arm_hostile(std::string_view body);
    /// Reads a hostile fault's mode and amount into `effect`; an answer when they are bad.
    std::optional<http_response> read_hostile(const control_body& o, inject_fault& effect);

    world& world_;
    time_point now_;
    const effect_runner& run_;
};

http_response router::route(const http_request& req) {
    const auto path = req.target.substr(0, req.target.find('?'));
    for (const std::string_view prefix : {"/api/v10", "/api/v9"}) {
        if (path.starts_with(prefix)) {
            return discovery(path.substr(prefix.size()), req);
        }
    }
    constexpr std::string_view control_prefix = "/_emulator/";
    if (path.starts_with(control_prefix)) {
        return control(path.substr(control_prefix.size()), req);
    }
    if (path == "/" && req.method == "GET") {
        return error_response(status::upgrade_required,
                              "this is the gateway: open a WebSocket to " +
                                  world_.config().public_ws_url + "/?v=10&encoding=json");
    }
    return not_found();
}

http_response router::discovery(std::string_view rest, const http_request& req) {
    const bool get = req.method == "GET";
    if (rest == "/gateway" || rest == "/gateway/") {
        return get ? json_response(status::ok, world_.gateway_json()) : method_not_allowed("GET");
    }
    if (rest == "/gateway/bot" || rest == "/gateway/bot/") {
        if (!get) {
            return method_not_allowed("GET");
        }
        constexpr std::string_view scheme = "Bot ";
        if (req.authorization.starts_with(scheme)) {
            auto token = req.authorization.substr(scheme.size());
            while (!token.empty() && token.back() == ' ') {
                token.remove_suffix(1);
            }
            if (!token.empty() && world_.token_accepted(token)) {
                return json_response(status::ok, world_.gateway_bot_json(now_));
            }
        }
        return json_response(status::unauthorized, discord_error_json("401: Unauthorized"));
    }
    return not_found();
}

http_response router::control(std::string_view rest, const http_request& req) {
    if (const auto& token = world_.config().control_token; !token.empty()) {
        if (!bearer_matches(req.authorization, token.expose())) {
            auto r = error_response(status::unauthorized,
                                    "the control API needs Authorization: Bearer <control token>");
            r.www_authenticate = "Bearer";
            return r;
        }
    }
    const bool get = req.method == "GET";
    const bool post = req.method == "POST";
    if (rest == "stats") {
        return get ? json_response(status::ok, world_.stats_json()) : method_not_allowed("GET");
    }
    if (rest == "log") {
        return get ? json_response(status::ok, world_.log_json()) : method_not_allowed("GET");
    }
    if (rest == "dispatch") {
        return post ? dispatch(req.body) : method_not_allowed("POST");
    }
    if (rest == "flood") {
        return post ? flood(req.body) : method_not_allowed("POST");
    }
    if (rest == "hostile") {
        return post ? arm_hostile(req.body) : method_not_allowed("POST");
    }
    constexpr std::string_view shards = "shards/";
    if (!rest.starts_with(shards)) {
        return not_found();
    }
    const auto tail = rest.substr(shards.size());
    const auto slash = tail.find('/');
    if (slash == std::string_view::npos) {
        return not_found();
    }
    const auto fault = parse_fault(tail.substr(slash + 1));
    if (!fault) {
        return not_found();
    }
    if (!post) {
        return method_not_allowed("POST");
    }
    const auto id = tail.substr(0, slash);
    if (id == "all") {
        return shard_command(std::nullopt, *fault, req.body);
    }
    const auto shard = parse_shard_id(id);
    if (!shard) {
        return bad_request("the shard id in the path must be a non-negative integer or all");
    }
    return shard_command(*shard, *fault, req.body);
}

http_response router::shard_command(std::optional<std::uint32_t> shard, fault_kind fault,
                                    std::string_view body) {
    std::string why;
    const auto o = parse_body(body, why);
    if (!o) {
        return bad_request(why);
    }
    inject_fault effect{shard, fault};
    if (fault == fault_kind::close) {
        bool bad = false;
        const auto c = o->integer("code", bad);
        if (bad || (c && !sendable_close_code(*c))) {
            return bad_request("\"code\" must be a close code a server may send: 1000-1003, "
                               "1007-1014 or 3000-4999, e.g. {\"code\":4000}");
        }
        if (c) {
            effect.close_code = static_cast<std::uint16_t>(*c);
        }
    }
    if (fault == fault_kind::zombie) {
        if (const auto* v = o->find("silent")) {
            if (v->type != detail::od::json_type::boolean) {
                return bad_request("\"silent\" must be true or false");
            }
            if (v->boolean) {
                effect.fault = fault_kind::silent_zombie;
            }
        }
    }
    if (fault == fault_kind::invalidate) {
        if (const auto* v = o->find("resumable")) {
            if (v->type != detail::od::json_type::boolean) {
                return bad_request("\"resumable\" must be true or false");
            }
            effect.resumable = v->boolean;
        }
    }
    if (fault == fault_kind::hostile) {
        if (auto bad = read_hostile(*o, effect)) {
            return *bad;
        }
    }
    if (fault == fault_kind::split) {
        bool bad = false;
        const auto payloads = o->integer("payloads", bad);
        if (bad || (payloads && (*payloads < 1 || *payloads > 1'000'000))) {
            return bad_request("\"payloads\" must be from 1 to 1000000, e.g. {\"payloads\":20}");
        }
        effect.amount = payloads ? static_cast<std::uint64_t>(*payloads) : 0;
    }
    if (fault == fault_kind::stall) {
        bool bad = false;
        const auto ms = o->integer("ms", bad);
        if (bad || (ms && (*ms < 1 || *ms > 600'000))) {
            return bad_request("\"ms\" must be from 1 to 600000, e.g. {\"ms\":2000}");
        }
        effect.amount = ms ? static_cast<std::uint64_t>(*ms) : default_stall_ms;
    }
    const auto n = run_(effect);
    const std::string of_shard = shard ? " of shard " + std::to_string(*shard) : "";
    if (n == 0 && fault == fault_kind::split) {
        return json_response(status::not_found,
                             error_json("no open connection" + of_shard +
                                        " took it (split needs compress=zlib-stream)"));
    }
    if (n == 0 && fault == fault_kind::hostile) {
        return json_response(status::not_found,
                             error_json("no open connection" + of_shard +
                                        " took it (compression_bomb needs "
                                        "compress=zlib-stream, oversized_frame a live session)"));
    }
    if (n == 0) {
        return json_response(
            status::not_found,
            error_json(shard ? "no open connection has shard " + std::to_string(*shard)
                             : std::string("no shard has an open connection")));
    }
    return json_response(status::ok, ok_json(n));
}

std::optional<http_response> router::read_hostile(const control_body& o, inject_fault& effect) {
    const auto* m = o.find("mode");
    const auto mode = m != nullptr && m->type == detail::od::json_type::string
                          ? parse_hostile_mode(m->text)
                          : std::nullopt;
    if (!mode) {
        return bad_request("\"mode\" must be one of compression_bomb, oversized_frame, "
                           "heartbeat_burst, silence, e.g. {\"mode\":\"compression_bomb\"}");
    }
    if (acts_at_connection_start(*mode)) {
        return bad_request("\"" + std::string(to_string(*mode)) +
                           "\" acts when a connection starts: POST /_emulator/hostile "
                           "{\"mode\":\"" +
                           std::string(to_string(*mode)) +
                           "\",\"connections\":1} arms it for the next connection");
    }
    effect.hostile = *mode;
    const auto amount = [&](std::string_view key, std::uint64_t max) -> bool {
        bool bad = false;
        const auto v = o.integer(key, bad);
        if (bad || (v && (*v < 1 || static_cast<std::uint64_t>(*v) > max))) {
            return false;
        }
        effect.amount = v ? static_cast<std::uint64_t>(*v) : 0;
        return true;
    };
    switch (*mode) {
    case hostile_mode::compression_bomb:
        if (!amount("bytes", max_bomb_bytes)) {
            return bad_request("\"bytes\" must be an integer from 1 to 4294967296");
        }
        break;
    case hostile_mode::oversized_frame:
        if (!amount("bytes", max_oversized_bytes)) {
            return bad_request("\"bytes\" must be an integer from 1 to 268435456");
        }
        break;
    case hostile_mode::heartbeat_burst:
        if (!amount("count", max_heartbeat_burst)) {
            return bad_request("\"count\" must be an integer from 1 to 10000");
        }
        break;
    default: break;
    }
    return std::nullopt;
}

http_response router::arm_hostile(std::string_view body) {
    std::string why;
    const auto o = parse_body(body, why);
    if (!o) {
        return bad_request(why);
    }
    const auto* m = o->find("mode");
    const auto mode = m != nullptr && m->type == detail::od::json_type::string
                          ? parse_hostile_mode(m->text)
                          : std::nullopt;
    if (!mode) {
        return bad_request("\"mode\" must be one of hello_without_interval, hello_zero_interval, "
                           "hello_huge_interval, ready_before_hello, bad_resume_url, e.g. "
                           "{\"mode\":\"ready_before_hello\",\"connections\":1}");
    }
    if (!acts_at_connection_start(*mode)) {
        return bad_request("\"" + std::string(to_string(*mode)) +
                           "\" acts on an open connection: POST /_emulator/shards/{id}/hostile "
                           "{\"mode\":\"" +
                           std::string(to_string(*mode)) + "\"}");
    }
    bool bad = false;
    const auto connections = o->integer("connections", bad);
    if (bad || (connections && (*connections < 1 || *connections > max_hostile_connections))) {
        return bad_request("\"connections\" must be an integer from 1 to 1000");
    }
    const auto armed =
        world_.arm_hostile(*mode, connections ? static_cast<std::size_t>(*connections) : 1);
    std::string out;
    json_writer w(out);
    w.begin_object().key("ok").bool_value(true).key("armed").uint_value(armed).end_object();
    return json_response(status::ok, std::move(out));
}

http_response router::dispatch(std::string_view body) {
    std::string why;
    const auto o = parse_body(body, why);
    if (!o) {
        return bad_request(why);
    }
    const auto* t = o->find("t");
    if (t == nullptr || t->type != detail::od::json_type::string || t->text.empty()) {
        return bad_request("\"t\" must be the event name, e.g. "
                           "{\"t\":\"MESSAGE_CREATE\",\"d\":{...},\"shard\":0}");
    }
    bool bad = false;
    const auto shard = o->shard("shard", bad);
    if (bad) {
        return bad_request("\"shard\" must be a non-negative integer");
    }
    send_dispatch effect{shard, t->text};
    if (const auto* d = o->find("d")) {
        effect.d_json = d->raw;
    }
    const auto count = run_(effect);
    if (count == 0 && shard) {
        // The shard is away: the event goes into its detached session and is replayed on Resume.
        const auto detached = world_.dispatch_to_detached(now_, *shard, effect.t, effect.d_json);
        if (detached != 0) {
            std::string out;
            json_writer w(out);
            w.begin_object().key("ok").bool_value(true).key("connections").uint_value(0);
            w.key("detached_sessions").uint_value(detached).end_object();
            return json_response(status::ok, std::move(out));
        }
    }
    if (count == 0) {
        return json_response(status::not_found,
                             error_json(shard ? "no connection or resumable session has shard " +
                                                    std::to_string(*shard)
                                              : std::string("no connection has a live session")));
    }
    return json_response(status::ok, ok_json(count));
}

http_response router::flood(std::string_view body) {
    std::string why;
    const auto o = parse_body(body, why);
    if (!o) {
        return bad_request(why);
    }
    start_flood effect;
    if (const auto* t = o->find("t")) {
        if (t->type != detail::od::json_type::string || t->text.empty()) {
            return bad_request("\"t\" must be an event name, e.g. \"MESSAGE_CREATE\"");
        }
        effect.t = t->text;
    }
    bool bad = false;
    const auto count = o->integer("count", bad);
    if (bad || !count || *count < 1 || static_cast<std::uint64_t>(*count) > max_flood_count) {
        return bad_request("\"count\" must be an integer from 1 to 100000000, e.g. "
                           "{\"t\":\"MESSAGE_CREATE\",\"count\":1000,\"shard\":0}");
    }
    effect.count = static_cast<std::uint64_t>(*count);
    if (const auto* v = o->find("prepared")) {
        if (v->type != detail::od::json_type::boolean) {
            return bad_request("\"prepared\" must be true or false");
        }
        effect.prepared = v->boolean;
    }
    if (effect.prepared && effect.count > max_prepared_flood_count) {
        return bad_request("a prepared flood holds every frame at once: \"count\" must be at "
                           "most 1000000 with \"prepared\":true");
    }
    effect.shard = o->shard("shard", bad);
    if (bad) {
        return bad_request("\"shard\" must be a non-negative integer");
    }
    const auto n = run_(effect);
    if (n == 0 && effect.shard) {
        // The shard is away: the flood goes into its detached sessions, bounded by their replay
        // buffers (`prepared` has nothing to prepare there), and is replayed on Resume.
        const auto away = world_.flood_to_detached(now_, *effect.shard, effect.t, effect.count);
        if (away.sessions != 0) {
            std::string out;
            json_writer w(out);
            w.begin_object().key("ok").bool_value(true).key("connections").uint_value(0);
            w.key("detached_sessions").uint_value(away.sessions);
            w.key("dropped").uint_value(away.dropped).end_object();
            return json_response(status::ok, std::move(out));
        }
    }
    if (n == 0) {
        return json_response(status::not_found,
                             error_json(effect.shard
                                            ? "no connection or resumable session has shard " +
                                                  std::to_string(*effect.shard)
                                            : std::string("no connection has a live session")));
    }
    return json_response(status::ok, ok_json(n));
}

} // namespace

std::string_view to_string(fault_kind fault) noexcept {
    switch (fault) {
    case fault_kind::close: return "close";
    case fault_kind::reconnect: return "reconnect";
    case fault_kind::invalidate: return "invalidate";
    case fault_kind::zombie: return "zombie";
    case fault_kind::silent_zombie: return "silent_zombie";
    case fault_kind::drop: return "drop";
    case fault_kind::heartbeat: return "heartbeat";
    case fault_kind::hostile: return "hostile";
    case fault_kind::split: return "split";
    case fault_kind::stall: return "stall";
    }
    return "close";
}

std::optional<std::uint32_t> target_shard(const control_effect& effect) {
    return std::visit([](const auto& e) -> std::optional<std::uint32_t> { return e.shard; },
                      effect);
}

bool apply_effect(connection& c, const control_effect& effect, time_point now) {
    if (const auto* f = std::get_if<inject_fault>(&effect)) {
        switch (f->fault) {
        case fault_kind::close: c.inject_close(now, f->close_code); break;
        case fault_kind::reconnect: c.inject_reconnect(now); break;
        case fault_kind::invalidate: c.inject_invalid_session(now, f->resumable); break;
        case fault_kind::zombie: c.inject_zombie(now, false); break;
        case fault_kind::silent_zombie: c.inject_zombie(now, true); break;
        case fault_kind::drop: c.inject_drop(now); break;
        case fault_kind::heartbeat: c.inject_heartbeat_request(now); break;
        case fault_kind::hostile: return c.inject_hostile(now, f->hostile, f->amount);
        case fault_kind::split: return c.inject_split(now, f->amount);
        case fault_kind::stall:
            return c.inject_stall(now, std::chrono::milliseconds(static_cast<std::int64_t>(
                                           f->amount == 0 ? default_stall_ms : f->amount)));
        }
        return true;
    }
    if (const auto* d = std::get_if<send_dispatch>(&effect)) {
        return c.dispatch(now, d->t, d->d_json);
    }
    const auto& flood = std::get<start_flood>(effect);
    // The connection generates the events lazily, topping its queue up as the adapter drains it,
    // so a flood goes as fast as the socket takes it without buffering all of it.
    return c.flood(now, flood.t, flood.count, flood.prepared);
}

http_response handle_http_request(world& w, const http_request& request, time_point now,
                                  const effect_runner& run) {
    return router(w, now, run).route(request);
}

http_response error_response(std::uint16_t code, std::string_view message) {
    return json_response(code, error_json(message));
}

} // namespace shardgate::emulator
