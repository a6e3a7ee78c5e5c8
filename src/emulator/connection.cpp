#include "shardgate/emulator/connection.hpp"

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

namespace od = simdjson::ondemand;
using gateway::close_code;
using gateway::detail::json_writer;

constexpr std::size_t max_frame_bytes = 4096;                // Discord's limit for client payloads
constexpr std::size_t rate_limit_frames = 120;               // per connection ...
constexpr auto rate_limit_window = std::chrono::seconds{60}; // ... in any 60 s
constexpr auto members_everyone_interval = std::chrono::seconds{30};
constexpr std::size_t flood_high_water = 256; // pending actions a flood tops up to
constexpr std::size_t flood_low_water = 128;  // ... once the adapter drained below this
constexpr int max_traffic_burst = 256;        // generated at once after a late deadline
constexpr int max_json_depth = 64;            // deeper client frames count as undecodable
constexpr std::size_t max_nonce_bytes = 32;
constexpr std::uint64_t guilds_intent = 1;

constexpr std::uint16_t code(close_code c) noexcept {
    return static_cast<std::uint16_t>(c);
}

/// A rule broken by the client: the close code and a reason for the close frame and the log.
struct violation {
    std::uint16_t code = 0;
    std::string_view reason;
};
using check = std::optional<violation>;

violation bad_payload(std::string_view reason) {
    return {code(close_code::unknown_opcode), reason};
}

// JSON reading
// -------------------------------------------------------------------------------------------------

// Walks a whole value so that every token is checked (On-Demand otherwise validates lazily, and a
// broken token inside an ignored key must still count as a decode error).
bool validate(od::value value, int depth) { // NOLINT(misc-no-recursion): bounded by max_json_depth
    if (depth > max_json_depth) {
        return false;
    }
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) {
        return false;
    }
    switch (type) {
    case od::json_type::object: {
        od::object object;
        if (value.get_object().get(object) != simdjson::SUCCESS) {
            return false;
        }
        for (auto field_result : object) {
            od::field field;
            std::string_view key;
            if (std::move(field_result).get(field) != simdjson::SUCCESS ||
                field.unescaped_key().get(key) != simdjson::SUCCESS ||
                !validate(field.value(), depth + 1)) {
                return false;
            }
        }
        return true;
    }
    case od::json_type::array: {
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) {
            return false;
        }
        for (auto element_result : array) {
            od::value element;
            if (std::move(element_result).get(element) != simdjson::SUCCESS ||
                !validate(element, depth + 1)) {
                return false;
            }
        }
        return true;
    }
    case od::json_type::string: {
        std::string_view text;
        return value.get_string().get(text) == simdjson::SUCCESS;
    }
    case od::json_type::number: {
        double number = 0;
        return value.get_double().get(number) == simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
        bool flag = false;
        return value.get_bool().get(flag) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
        bool is_null = false;
        return value.is_null().get(is_null) == simdjson::SUCCESS && is_null;
    }
    }
    return false;
}

// Copies `text` into `buffer` with simdjson's padding and starts parsing it.
simdjson::simdjson_result<od::document> iterate_padded(od::parser& parser, std::string& buffer,
                                                       std::string_view text) {
    buffer.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    buffer.assign(text);
    return parser.iterate(buffer.data(), buffer.size(), buffer.capacity());
}

// Whether `doc` is one valid JSON object and nothing else.
bool validate_object_document(od::document& doc) {
    od::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
        return false;
    }
    for (auto field_result : object) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(key) != simdjson::SUCCESS || !validate(field.value(), 1)) {
            return false;
        }
    }
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS; // nothing trails the object
}

// Whether `doc` is exactly one valid JSON value of any kind.
bool validate_any_document(od::document& doc) {
    od::value value;
    if (doc.get_value().get(value) != simdjson::SUCCESS || !validate(value, 0)) {
        return false;
    }
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// The raw JSON text of a value (objects and arrays whole, scalars trimmed).
bool raw_of(od::value value, std::string_view& out) {
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) {
        return false;
    }
    if (type == od::json_type::object) {
        od::object object;
        return value.get_object().get(object) == simdjson::SUCCESS &&
               object.raw_json().get(out) == simdjson::SUCCESS;
    }
    if (type == od::json_type::array) {
        od::array array;
        return value.get_array().get(array) == simdjson::SUCCESS &&
               array.raw_json().get(out) == simdjson::SUCCESS;
    }
    out = value.raw_json_token();
    while (!out.empty() &&
           (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' || out.back() == '\t')) {
        out.remove_suffix(1);
    }
    return true;
}

bool is_null(od::value& value) {
    bool null = false;
    return value.is_null().get(null) == simdjson::SUCCESS && null;
}

// A snowflake as Discord accepts it: a string of decimal digits (the usual form) or an integer.
bool read_snowflake(od::value value, snowflake& out) {
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) {
        return false;
    }
    if (type == od::json_type::number) {
        return value.get_uint64().get(out) == simdjson::SUCCESS && out != 0;
    }
    std::string_view text;
    if (type != od::json_type::string || value.get_string().get(text) != simdjson::SUCCESS ||
        text.empty()) {
        return false;
    }
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc{} && ptr == end && out != 0;
}

bool read_u32(od::value value, std::uint32_t& out) {
    std::uint64_t wide = 0;
    if (value.get_uint64().get(wide) != simdjson::SUCCESS || wide > UINT32_MAX) {
        return false;
    }
    out = static_cast<std::uint32_t>(wide);
    return true;
}

// Calls `on_field(key, value)` for each member of `json` (a document or a value), which must be an
// object; stops at the first false.
template <class Json, class OnField> bool for_each_member(Json&& json, OnField on_field) {
    od::object object;
    if (json.get_object().get(object) != simdjson::SUCCESS) {
        return false;
    }
    for (auto field_result : object) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(key) != simdjson::SUCCESS || !on_field(key, field.value())) {
            return false;
        }
    }
    return true;
}

template <class OnElement> bool for_each_element(od::value value, OnElement on_element) {
    od::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
        return false;
    }
    for (auto element_result : array) {
        od::value element;
        if (std::move(element_result).get(element) != simdjson::SUCCESS || !on_element(element)) {
            return false;
        }
    }
    return true;
}

bool is_optional_string(od::value& value) {
    if (is_null(value)) {
        return true;
    }
    std::string_view text;
    return value.get_string().get(text) == simdjson::SUCCESS;
}

// One activity of a presence: `name` and `type` (0..5) required, `state` and `url` optional.
bool read_activity(od::value value) {
    bool have_name = false;
    bool have_type = false;
    const bool ok = for_each_member(value, [&](std::string_view key, od::value v) {
        if (key == "name") {
            std::string_view name;
            have_name = v.get_string().get(name) == simdjson::SUCCESS;
            return have_name;
        }
        if (key == "type") {
            std::uint64_t type = 0;
            have_type = v.get_uint64().get(type) == simdjson::SUCCESS && type <= 5;
            return have_type;
        }
        if (key == "state" || key == "url") {
            return is_optional_string(v);
        }
        return true;
    });
    return ok && have_name && have_type;
}

// An Update Presence object (op 3's `d`, Identify's `presence`): `status` in the documented set and
// `activities` an array of activities are required; `since` (integer or null) and `afk` (boolean)
// are checked when present.
bool read_presence_member(bool& have_status, bool& have_activities, std::string_view key,
                          od::value v) {
    if (key == "status") {
        std::string_view status;
        have_status = v.get_string().get(status) == simdjson::SUCCESS &&
                      (status == "online" || status == "dnd" || status == "idle" ||
                       status == "invisible" || status == "offline");
        return have_status;
    }
    if (key == "activities") {
        have_activities = for_each_element(v, [](od::value a) { return read_activity(a); });
        return have_activities;
    }
    if (key == "since") {
        std::int64_t since = 0;
        return is_null(v) || v.get_int64().get(since) == simdjson::SUCCESS;
    }
    if (key == "afk") {
        bool afk = false;
        return v.get_bool().get(afk) == simdjson::SUCCESS;
    }
    return true;
}

bool read_presence_value(od::value value) {
    bool have_status = false;
    bool have_activities = false;
    const bool ok = for_each_member(value, [&](std::string_view key, od::value v) {
        return read_presence_member(have_status, have_activities, key, v);
    });
    return ok && have_status && have_activities;
}

// What Identify's `d` says, as far as the emulator cares.
struct identify_fields {
    std::string_view token;
    bool have_token = false;
    bool have_properties = false;
    bool have_intents = false;
    std::uint64_t intents = 0;
    bool sharded = false;
    bool shard_valid = true;
    std::uint32_t shard_id = 0;
    std::uint32_t num_shards = 1;
    std::uint32_t large_threshold = 50;
};

// `[shard_id, num_shards]` with 0 <= shard_id < num_shards; anything else is an invalid shard.
void read_shard(od::value value, identify_fields& f) {
    std::array<std::uint64_t, 2> parts{};
    std::size_t count = 0;
    const bool ok = for_each_element(value, [&](od::value e) {
        if (count >= parts.size()) {
            ++count;
            return false;
        }
        return e.get_uint64().get(parts.at(count++)) == simdjson::SUCCESS;
    });
    f.shard_valid =
        ok && count == 2 && parts[1] >= 1 && parts[1] <= UINT32_MAX && parts[0] < parts[1];
    if (f.shard_valid) {
        f.shard_id = static_cast<std::uint32_t>(parts[0]);
        f.num_shards = static_cast<std::uint32_t>(parts[1]);
    }
}

bool read_identify_field(identify_fields& f, std::string_view key, od::value v) {
    if (key == "token") {
        f.have_token = v.get_string().get(f.token) == simdjson::SUCCESS;
        return f.have_token;
    }
    if (key == "properties") {
        od::object properties;
        f.have_properties = v.get_object().get(properties) == simdjson::SUCCESS;
        return f.have_properties;
    }
    if (key == "intents") {
        f.have_intents = v.get_uint64().get(f.intents) == simdjson::SUCCESS;
        return f.have_intents;
    }
    if (key == "shard") {
        if (!is_null(v)) {
            f.sharded = true;
            read_shard(v, f);
        }
        return true;
    }
    if (key == "large_threshold") {
        return read_u32(v, f.large_threshold) && f.large_threshold >= 50 &&
               f.large_threshold <= 250;
    }
    if (key == "compress") {
        bool compress = false;
        return v.get_bool().get(compress) == simdjson::SUCCESS;
    }
    if (key == "presence") {
        return is_null(v) || read_presence_value(v);
    }
    return true; // unknown keys (e.g. `capabilities`) are ignored, as Discord does
}

struct resume_fields {
    std::string_view token;
    std::string_view session_id;
    std::uint64_t seq = 0;
    bool have_token = false;
    bool have_session = false;
    bool have_seq = false;
};

struct member_fields {
    member_request request;
    bool have_guild = false;
    bool have_limit = false;
    bool have_user_ids = false;
};

bool read_member_field(member_fields& f, std::string_view key, od::value v) {
    auto& r = f.request;
    if (key == "guild_id") {
        f.have_guild = read_snowflake(v, r.guild_id);
        return f.have_guild;
    }
    if (key == "query") {
        std::string_view query;
        if (v.get_string().get(query) != simdjson::SUCCESS) {
            return false;
        }
        r.query = std::string(query);
        return true;
    }
    if (key == "limit") {
        f.have_limit = read_u32(v, r.limit);
        return f.have_limit;
    }
    if (key == "presences") {
        return v.get_bool().get(r.presences) == simdjson::SUCCESS;
    }
    if (key == "user_ids") {
        f.have_user_ids = true;
        od::json_type type{};
        if (v.type().get(type) != simdjson::SUCCESS) {
            return false;
        }
        // One snowflake or an array of them.
        if (type != od::json_type::array) {
            r.user_ids.push_back(0);
            return read_snowflake(v, r.user_ids.back());
        }
        return for_each_element(v, [&](od::value e) {
            r.user_ids.push_back(0);
            return read_snowflake(e, r.user_ids.back());
        });
    }
    if (key == "nonce") {
        std::string_view nonce;
        if (v.get_string().get(nonce) != simdjson::SUCCESS) {
            return false;
        }
        if (nonce.size() <= max_nonce_bytes) {
            r.nonce = std::string(nonce); // a longer nonce is dropped silently, as documented
        }
        return true;
    }
    return true;
}

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
    bool dispatch(time_point now, std::string_view t, std::string_view d_json);
    bool flood(time_point now, std::string_view t, std::uint64_t count);

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
    check handle_heartbeat(time_point now, std::string_view d);
    check handle_identify(time_point now, std::string_view d);
    check admit_identify(time_point now, const identify_fields& f);
    void start_session(time_point now, const identify_fields& f);
    check handle_resume(time_point now, std::string_view d);
    check resume_session(time_point now, detail::session& s, std::uint64_t seq);
    check handle_presence(time_point now, std::string_view d);
    check handle_voice_state(time_point now, std::string_view d);
    check handle_request_members(time_point now, std::string_view d);
    check handle_soundboard(time_point now, std::string_view d);
    check handle_channel_info(time_point now, std::string_view d);
    bool over_rate_limit(time_point now);
    simdjson::simdjson_result<od::document> parse_body(std::string_view d);

    // Sending
    void send_payload(std::string_view json);
    void send_op(std::uint64_t op, std::string_view d_json);
    void send_dispatch(std::string_view t, std::string_view d);
    void pump_traffic(time_point now);
    void refill_flood();
    void close_with(time_point now, std::uint16_t code, std::string_view reason, bool violated);
    void end(time_point now);
    void detach(time_point now);
    void destroy_session();
    void log(time_point now, std::string_view event) { ws_.log(now, id_, stats_shard_, event); }
    template <class Details> void log(time_point now, std::string_view event, Details details) {
        ws_.log(now, id_, stats_shard_, event, std::move(details));
    }
    [[nodiscard]] detail::shard_counters& counters() { return ws_.counters(stats_shard_); }
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
    bool silent_ = false; ///< A silent zombie: nothing is written any more.
    bool moved_from_unidentified_ = false;
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
    log(now, "connect", [&](json_writer& wr) {
        wr.key("query").string_value(params.query);
        wr.key("compress").string_value(gateway::to_string(params.compress));
    });
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
    const auto interval = ws_.config.heartbeat_interval;
    std::string d;
    json_writer hello(d);
    hello.begin_object()
        .key("heartbeat_interval")
        .uint_value(static_cast<std::uint64_t>(interval.count()));
    hello.end_object();
    send_op(10, d);
    heartbeat_deadline_ = now + interval + ws_.config.heartbeat_grace;
    log(now, "hello", [&](json_writer& wr) {
        wr.key("heartbeat_interval").uint_value(static_cast<std::uint64_t>(interval.count()));
    });
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
    if (text.size() > max_frame_bytes) {
        close_with(now, code(close_code::decode_error), "payload over 4096 bytes", true);
        return;
    }
    if (auto v = handle_frame(now, text)) {
        close_with(now, v->code, v->reason, true);
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
    log(now, "client_close", [&](json_writer& w) { w.key("code").uint_value(close); });
    actions_.clear(); // the socket is closing: queued frames would never be sent
    // 1000 and 1001 end the session at once (the bot goes offline); any other code keeps it.
    if (close == 1000 || close == 1001) {
        destroy_session();
    }
    end(now);
}

void connection::impl::on_transport_lost(time_point now) {
    if (!open_) {
        return;
    }
    log(now, "transport_lost");
    actions_.clear();
    end(now);
}

void connection::impl::on_deadline(time_point now) {
    if (!open_) {
        return;
    }
    last_now_ = now;
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
    if (actions_.empty()) {
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

simdjson::simdjson_result<od::document> connection::impl::parse_body(std::string_view d) {
    return iterate_padded(ws_.parser, ws_.body_buffer, d);
}

check connection::impl::handle_frame(time_point now, std::string_view text) {
    od::document doc;
    if (iterate_padded(ws_.parser, ws_.frame_buffer, text).get(doc) != simdjson::SUCCESS ||
        !validate_object_document(doc)) {
        return violation{code(close_code::decode_error), "payload is not a JSON object"};
    }
    doc.rewind();
    std::optional<std::int64_t> op;
    std::string_view d = "null";
    const bool envelope_ok = for_each_member(doc, [&](std::string_view key, od::value v) {
        if (key == "op") {
            std::int64_t value = 0;
            if (v.get_int64().get(value) != simdjson::SUCCESS) {
                return false;
            }
            op = value;
        } else if (key == "d") {
            return raw_of(v, d);
        }
        return true;
    });
    if (!envelope_ok || !op) {
        return bad_payload("missing or non-integer op");
    }
    // `d` points into frame_buffer, which stays untouched until the next frame.
    const auto known = gateway::to_opcode(*op);
    using gateway::opcode;
    if (!known || (gateway::client_receives(*known) && *known != opcode::heartbeat)) {
        return bad_payload("unknown opcode");
    }
    switch (*known) {
    case opcode::heartbeat: return handle_heartbeat(now, d);
    case opcode::identify: return handle_identify(now, d);
    case opcode::resume: return handle_resume(now, d);
    default: break;
    }
    if (!authenticated_) {
        return violation{code(close_code::not_authenticated), "payload sent before identifying"};
    }
    log(now, "command", [&](json_writer& w) { w.key("op").int_value(*op); });
    switch (*known) {
    case opcode::presence_update: return handle_presence(now, d);
    case opcode::voice_state_update: return handle_voice_state(now, d);
    case opcode::request_guild_members: return handle_request_members(now, d);
    case opcode::request_soundboard_sounds: return handle_soundboard(now, d);
    case opcode::request_channel_info: return handle_channel_info(now, d);
    default: return bad_payload("unknown opcode");
    }
}

check connection::impl::handle_heartbeat(time_point now, std::string_view d) {
    std::optional<std::uint64_t> seq;
    if (d != "null") {
        std::uint64_t value = 0;
        const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), value);
        if (ec != std::errc{} || ptr != d.data() + d.size()) {
            return bad_payload("heartbeat d must be an integer or null");
        }
        seq = value;
    }
    ++counters().heartbeats;
    heartbeat_deadline_ = now + ws_.config.heartbeat_interval + ws_.config.heartbeat_grace;
    log(now, "heartbeat", [&](json_writer& w) {
        w.key("seq");
        if (seq) {
            w.uint_value(*seq);
        } else {
            w.null_value();
        }
    });
    if (!zombie_) {
        send_payload(R"({"op":11})");
    }
    return std::nullopt;
}

check connection::impl::handle_identify(time_point now, std::string_view d) {
    if (authenticated_) {
        return violation{code(close_code::already_authenticated), "already authenticated"};
    }
    identify_fields f;
    od::document doc;
    if (parse_body(d).get(doc) != simdjson::SUCCESS ||
        !for_each_member(doc, [&](std::string_view key,
                                  od::value v) { return read_identify_field(f, key, v); }) ||
        !f.have_token || !f.have_properties || !f.have_intents) {
        return bad_payload("malformed identify");
    }
    if (f.sharded && f.shard_valid) {
        stats_shard_ = f.shard_id; // attribute what follows to the shard it claims
    }
    log(now, "identify", [&](json_writer& w) {
        w.key("shard").uint_value(f.shard_id).key("num_shards").uint_value(f.num_shards);
        w.key("intents").uint_value(f.intents).key("token").string_value("***");
    });
    if (auto v = admit_identify(now, f)) {
        return v;
    }
    // Pacing: one Identify per bucket per window; too early gets op 9 and costs nothing.
    const auto bucket = f.shard_id % static_cast<std::uint32_t>(ws_.bucket_last_identify.size());
    auto& last = ws_.bucket_last_identify.at(bucket);
    if (last && now < *last + ws_.config.identify_window) {
        send_op(9, "false");
        log(now, "invalid_session_sent", [&](json_writer& w) {
            w.key("resumable").bool_value(false).key("reason").string_value("identify bucket busy");
        });
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
check connection::impl::admit_identify(time_point /*now*/, const identify_fields& f) {
    if (!ws_.token_ok(f.token)) {
        return violation{code(close_code::authentication_failed), "authentication failed"};
    }
    if (!f.shard_valid) {
        return violation{code(close_code::invalid_shard), "invalid shard"};
    }
    if (ws_.config.reject_undocumented_intents &&
        (f.intents & ~gateway::documented_intents_mask) != 0) {
        return violation{code(close_code::invalid_intents), "invalid intents"};
    }
    if ((f.intents & gateway::privileged_intents_mask & ~ws_.config.allowed_privileged_intents) !=
        0) {
        return violation{code(close_code::disallowed_intents), "disallowed intents"};
    }
    if (ws_.content.guilds_for_shard(f.shard_id, f.num_shards).size() >
        ws_.config.max_guilds_per_shard) {
        return violation{code(close_code::sharding_required), "sharding required"};
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

void connection::impl::start_session(time_point now, const identify_fields& f) {
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
    params.resume_gateway_url = ws_.config.public_ws_url;
    if (f.sharded) {
        params.shard_id = f.shard_id;
    }
    params.num_shards = f.num_shards;
    send_dispatch("READY", ready_body(ws_.content, params));
    const auto guilds = ws_.content.guilds_for_shard(f.shard_id, f.num_shards);
    log(now, "ready", [&](json_writer& w) {
        w.key("session_id").string_value(s.id).key("guilds").uint_value(guilds.size());
    });
    if ((f.intents & guilds_intent) != 0) {
        for (const auto* g : guilds) {
            send_dispatch("GUILD_CREATE",
                          guild_create_body(ws_.content, *g, f.intents, f.large_threshold));
        }
    }
}

check connection::impl::handle_resume(time_point now, std::string_view d) {
    if (authenticated_) {
        return violation{code(close_code::already_authenticated), "already authenticated"};
    }
    resume_fields f;
    od::document doc;
    const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                    for_each_member(doc, [&](std::string_view key, od::value v) {
                        if (key == "token") {
                            f.have_token = v.get_string().get(f.token) == simdjson::SUCCESS;
                            return f.have_token;
                        }
                        if (key == "session_id") {
                            f.have_session = v.get_string().get(f.session_id) == simdjson::SUCCESS;
                            return f.have_session;
                        }
                        if (key == "seq") {
                            f.have_seq = v.get_uint64().get(f.seq) == simdjson::SUCCESS;
                            return f.have_seq;
                        }
                        return true;
                    });
    if (!ok || !f.have_token || !f.have_session || !f.have_seq) {
        return bad_payload("malformed resume");
    }
    auto* s = ws_.find_session(f.session_id);
    if (s != nullptr) {
        stats_shard_ = s->shard_id;
    }
    log(now, "resume", [&](json_writer& w) {
        w.key("session_id").string_value(f.session_id).key("seq").uint_value(f.seq);
        w.key("token").string_value("***");
    });
    if (!ws_.token_ok(f.token)) {
        return violation{code(close_code::authentication_failed), "authentication failed"};
    }
    if (s == nullptr) {
        // Unknown, destroyed or expired: the client must identify afresh.
        send_op(9, "false");
        log(now, "invalid_session_sent", [&](json_writer& w) {
            w.key("resumable").bool_value(false).key("reason").string_value("unknown session");
        });
        return std::nullopt;
    }
    return resume_session(now, *s, f.seq);
}

check connection::impl::resume_session(time_point now, detail::session& s, std::uint64_t seq) {
    const bool gap = seq < s.seq && (s.replay.empty() || s.replay.front().seq > seq + 1);
    if (seq > s.seq || gap) {
        return violation{code(close_code::invalid_seq), "invalid seq"};
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
    log(now, "replay", [&](json_writer& w) { w.key("count").uint_value(replayed); });
    send_dispatch("RESUMED", "null");
    log(now, "resumed");
    return std::nullopt;
}

check connection::impl::handle_presence(time_point /*now*/, std::string_view d) {
    od::document doc;
    bool have_status = false;
    bool have_activities = false;
    if (parse_body(d).get(doc) != simdjson::SUCCESS ||
        !for_each_member(doc,
                         [&](std::string_view key, od::value v) {
                             return read_presence_member(have_status, have_activities, key, v);
                         }) ||
        !have_status || !have_activities) {
        return bad_payload("malformed presence update");
    }
    return std::nullopt; // accepted; Discord sends no dispatch to the bot itself
}

check connection::impl::handle_voice_state(time_point now, std::string_view d) {
    snowflake guild_id = 0;
    std::optional<snowflake> channel_id;
    bool have_guild = false;
    bool have_channel = false;
    bool self_mute = false;
    bool self_deaf = false;
    bool have_mute = false;
    bool have_deaf = false;
    od::document doc;
    const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                    for_each_member(doc, [&](std::string_view key, od::value v) {
                        if (key == "guild_id") {
                            have_guild = read_snowflake(v, guild_id);
                            return have_guild;
                        }
                        if (key == "channel_id") {
                            have_channel = true;
                            if (is_null(v)) {
                                return true;
                            }
                            channel_id = 0;
                            return read_snowflake(v, *channel_id);
                        }
                        if (key == "self_mute") {
                            have_mute = v.get_bool().get(self_mute) == simdjson::SUCCESS;
                            return have_mute;
                        }
                        if (key == "self_deaf") {
                            have_deaf = v.get_bool().get(self_deaf) == simdjson::SUCCESS;
                            return have_deaf;
                        }
                        return true;
                    });
    if (!ok || !have_guild || !have_channel || !have_mute || !have_deaf) {
        return bad_payload("malformed voice state update");
    }
    static_cast<void>(now);
    for (const auto& answer : voice_state_answer(ws_.content, guild_id, channel_id, self_mute,
                                                 self_deaf, session_->id)) {
        send_dispatch(answer.t, answer.d);
    }
    return std::nullopt;
}

check connection::impl::handle_request_members(time_point now, std::string_view d) {
    member_fields f;
    od::document doc;
    if (parse_body(d).get(doc) != simdjson::SUCCESS ||
        !for_each_member(
            doc, [&](std::string_view key, od::value v) { return read_member_field(f, key, v); })) {
        return bad_payload("malformed request guild members");
    }
    auto& r = f.request;
    const bool by_query = r.query.has_value();
    if (!f.have_guild || by_query == f.have_user_ids || (by_query && !f.have_limit)) {
        return bad_payload("request guild members needs guild_id and one of query or user_ids");
    }
    if (by_query && r.query->empty() && r.limit == 0) {
        // "Everyone" is limited to 1 per guild per 30 s for the whole application.
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

check connection::impl::handle_soundboard(time_point /*now*/, std::string_view d) {
    std::vector<snowflake> guild_ids;
    bool have_ids = false;
    od::document doc;
    const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                    for_each_member(doc, [&](std::string_view key, od::value v) {
                        if (key != "guild_ids") {
                            return true;
                        }
                        have_ids = true;
                        return for_each_element(v, [&](od::value e) {
                            guild_ids.push_back(0);
                            return read_snowflake(e, guild_ids.back());
                        });
                    });
    if (!ok || !have_ids || guild_ids.empty()) {
        return bad_payload("malformed request soundboard sounds");
    }
    for (const auto id : guild_ids) {
        send_dispatch("SOUNDBOARD_SOUNDS", soundboard_sounds_body(ws_.content, id));
    }
    return std::nullopt;
}

check connection::impl::handle_channel_info(time_point /*now*/, std::string_view d) {
    snowflake guild_id = 0;
    bool have_guild = false;
    bool have_fields = false;
    std::vector<std::string> fields;
    od::document doc;
    const bool ok = parse_body(d).get(doc) == simdjson::SUCCESS &&
                    for_each_member(doc, [&](std::string_view key, od::value v) {
                        if (key == "guild_id") {
                            have_guild = read_snowflake(v, guild_id);
                            return have_guild;
                        }
                        if (key == "fields") {
                            have_fields = true;
                            return for_each_element(v, [&](od::value e) {
                                std::string_view name;
                                if (e.get_string().get(name) != simdjson::SUCCESS ||
                                    (name != "status" && name != "voice_start_time")) {
                                    return false; // the only two field names Discord documents
                                }
                                fields.emplace_back(name);
                                return true;
                            });
                        }
                        return true;
                    });
    if (!ok || !have_guild || !have_fields || fields.empty()) {
        return bad_payload("malformed request channel info");
    }
    send_dispatch("CHANNEL_INFO", channel_info_body(ws_.content, guild_id, fields));
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
    const auto parts = ws_.config.zlib_split_frames;
    if (deflater_.mode() != gateway::compression::zlib_stream || parts <= 1) {
        actions_.emplace_back(server_action::send{std::move(bytes), true});
        return;
    }
    for (auto& part : split_bytes(bytes, parts)) {
        actions_.emplace_back(server_action::send{std::move(part), true});
    }
}

void connection::impl::send_op(std::uint64_t op, std::string_view d_json) {
    std::string frame;
    json_writer w(frame);
    w.begin_object().key("op").uint_value(op).key("d").raw_value(d_json).end_object();
    send_payload(frame);
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

void connection::impl::close_with(time_point now, std::uint16_t close, std::string_view reason,
                                  bool violated) {
    if (!open_) {
        return;
    }
    if (violated) {
        ++counters().violations[close];
        log(now, "violation", [&](json_writer& w) {
            w.key("code").uint_value(close).key("reason").string_value(reason);
        });
    }
    ++counters().close_codes_sent[close];
    log(now, "close_sent", [&](json_writer& w) {
        w.key("code").uint_value(close).key("reason").string_value(reason);
    });
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
    log(now, "fault", [&](json_writer& w) {
        w.key("fault").string_value("close").key("code").uint_value(close);
    });
    close_with(now, close, "injected by the control API", false);
}

void connection::impl::inject_reconnect(time_point now) {
    if (!open_) {
        return;
    }
    log(now, "fault", [](json_writer& w) { w.key("fault").string_value("reconnect"); });
    send_op(7, "null");
    log(now, "reconnect_sent");
    reconnect_close_at_ = now + ws_.config.reconnect_close_after;
}

void connection::impl::inject_invalid_session(time_point now, bool resumable) {
    if (!open_) {
        return;
    }
    log(now, "fault", [&](json_writer& w) {
        w.key("fault").string_value("invalid_session").key("resumable").bool_value(resumable);
    });
    send_op(9, resumable ? "true" : "false");
    log(now, "invalid_session_sent", [&](json_writer& w) {
        w.key("resumable").bool_value(resumable).key("reason").string_value("injected");
    });
    if (!resumable) {
        destroy_session();
    }
}

void connection::impl::inject_zombie(time_point now, bool silent) {
    if (!open_) {
        return;
    }
    log(now, "fault", [&](json_writer& w) {
        w.key("fault").string_value("zombie");
        if (silent) {
            w.key("silent").bool_value(true);
        }
    });
    zombie_ = true;
    silent_ = silent_ || silent;
}

void connection::impl::inject_drop(time_point now) {
    if (!open_) {
        return;
    }
    log(now, "fault", [](json_writer& w) { w.key("fault").string_value("drop"); });
    actions_.clear(); // nothing queued would reach the client anyway
    actions_.emplace_back(server_action::drop{});
    end(now);
}

void connection::impl::inject_heartbeat_request(time_point now) {
    if (!open_) {
        return;
    }
    log(now, "fault", [](json_writer& w) { w.key("fault").string_value("heartbeat_request"); });
    send_op(1, "null");
}

bool connection::impl::dispatch(time_point now, std::string_view t, std::string_view d_json) {
    if (!open_ || !authenticated_ || session_ == nullptr) {
        return false;
    }
    od::document doc;
    if (parse_body(d_json).get(doc) != simdjson::SUCCESS || !validate_any_document(doc)) {
        return false; // never put broken JSON on the wire
    }
    last_now_ = now;
    send_dispatch(t, d_json);
    log(now, "dispatch",
        [&](json_writer& w) { w.key("t").string_value(t).key("seq").uint_value(session_->seq); });
    return true;
}

bool connection::impl::flood(time_point now, std::string_view t, std::uint64_t count) {
    if (!open_ || !authenticated_ || session_ == nullptr) {
        return false;
    }
    last_now_ = now;
    log(now, "fault", [&](json_writer& w) {
        w.key("fault").string_value("flood").key("t").string_value(t).key("count").uint_value(
            count);
    });
    flood_t_ = std::string(t);
    flood_left_ += count;
    refill_flood();
    return true;
}

// connection
// -------------------------------------------------------------------------------------------------

connection::connection(world& w, std::uint64_t id, connect_params params, time_point now)
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

bool connection::flood(time_point now, std::string_view t, std::uint64_t count) {
    return impl_->flood(now, t, count);
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
