#include "serve.hpp"

#include "emulator_log.hpp"
#include "log_settings.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/io/status_server.hpp"
#include "shardgate/observe/status_feed.hpp"

#include <cmath>
#include <ostream>
#include <string_view>
#include <system_error>

namespace shardgate::cli {
namespace {

namespace gw = shardgate::gateway;

std::string privileged_names() {
    std::string names;
    for (const auto& i : gw::all_intents()) {
        if (i.privileged) {
            names += names.empty() ? "" : ", ";
            names += i.name;
        }
    }
    return names;
}

bool parse_privileged(std::string_view text, std::uint64_t& bits, std::string& error) {
    bits = 0;
    if (text.empty() || text == "none") {
        return true;
    }
    std::string bad;
    if (gw::parse_intents(text, bits, bad)) {
        error = "--privileged: '" + bad + "' is not an intent name; privileged intents are " +
                privileged_names() + " (e.g. --privileged GUILD_MEMBERS,MESSAGE_CONTENT)";
        return false;
    }
    if (const auto extra = bits & ~gw::privileged_intents_mask; extra != 0) {
        error = "--privileged: " + gw::intent_names(extra) +
                " is not privileged (every application may use it); list only " +
                privileged_names();
        return false;
    }
    return true;
}

/// The emulator's view of each shard, for the status page: a shard with an open connection is
/// "active", one without (its session may wait to be resumed) "away".
std::vector<observe::status_shard>
emulator_shards(const emulator::world_stats& stats,
                const std::map<std::uint32_t, std::size_t>& open) {
    std::vector<observe::status_shard> shards;
    shards.reserve(stats.shards.size());
    for (const auto& [id, counters] : stats.shards) { // ascending by id
        observe::status_shard f;
        f.id = id;
        f.state = open.contains(id) ? "active" : "away";
        f.dispatches = counters.last_seq;
        f.identifies = counters.identifies;
        f.resumes = counters.resumes;
        shards.push_back(f);
    }
    return shards;
}

} // namespace

std::optional<io::emulator_server_options> make_serve_options(const serve_options& o,
                                                              std::string& error) {
    const auto positive = [&](std::int64_t v, std::string_view flag, std::string_view example) {
        if (v > 0) {
            return true;
        }
        error = std::string(flag) + " must be a positive number of milliseconds (e.g. " +
                std::string(flag) + " " + std::string(example) + ")";
        return false;
    };
    for (const auto& t : o.tokens) {
        if (t.empty()) {
            error = "--token must not be empty (leave --token out to accept any token)";
            return std::nullopt;
        }
    }
    if (o.shards < 1) {
        error = "--shards must be at least 1 (e.g. --shards 4)";
        return std::nullopt;
    }
    if (o.max_concurrency < 1) {
        error = "--max-concurrency must be at least 1 (Discord uses 1, 16, 32, 64...)";
        return std::nullopt;
    }
    if (!positive(o.identify_window_ms, "--identify-window-ms", "5000") ||
        !positive(o.heartbeat_interval_ms, "--heartbeat-interval-ms", "41250") ||
        !positive(o.session_ttl_ms, "--session-ttl-ms", "180000")) {
        return std::nullopt;
    }
    if (o.heartbeat_grace_ms < 0) {
        error = "--heartbeat-grace-ms must be 0 or more";
        return std::nullopt;
    }
    if (!std::isfinite(o.traffic) || o.traffic < 0) {
        error = "--traffic must be 0 or a positive number of events per second (e.g. --traffic 50)";
        return std::nullopt;
    }
    if (o.zlib_split_frames < 1) {
        error = "--zlib-split-frames must be at least 1 (1 sends each message in one frame)";
        return std::nullopt;
    }
    if (o.zlib_window_bits < 9 || o.zlib_window_bits > 15) {
        error = "--zlib-window-bits must be from 9 to 15 (15 is what Discord sends)";
        return std::nullopt;
    }
    if (o.zlib_mem_level < 1 || o.zlib_mem_level > 9) {
        error = "--zlib-mem-level must be from 1 to 9 (8 is zlib's default)";
        return std::nullopt;
    }
    if (o.max_guilds_per_shard < 1) {
        error = "--max-guilds-per-shard must be at least 1 (Discord: 2500)";
        return std::nullopt;
    }
    std::uint64_t privileged = 0;
    if (!parse_privileged(o.privileged, privileged, error)) {
        return std::nullopt;
    }

    io::emulator_server_options s;
    s.listen = o.listen;
    s.config.control_token = gw::secret(o.control_token);
    s.handle_signals = true;
    auto& c = s.config;
    c.tokens = o.tokens;
    c.recommended_shards = o.shards;
    c.max_concurrency = o.max_concurrency;
    c.identify_window = gw::milliseconds(o.identify_window_ms);
    c.heartbeat_interval = gw::milliseconds(o.heartbeat_interval_ms);
    c.heartbeat_grace = gw::milliseconds(o.heartbeat_grace_ms);
    c.guilds = o.guilds;
    c.members_per_guild = o.members_per_guild;
    c.max_guilds_per_shard = o.max_guilds_per_shard;
    c.allowed_privileged_intents = privileged;
    c.session_ttl = gw::milliseconds(o.session_ttl_ms);
    c.traffic_per_second = o.traffic;
    c.seed = o.seed;
    c.session_start_total = o.session_start_limit;
    c.zlib_split_frames = o.zlib_split_frames;
    c.zlib_window_bits = o.zlib_window_bits;
    c.zlib_mem_level = o.zlib_mem_level;
    return s;
}

int run_serve(const serve_options& options, std::ostream& out, std::ostream& err) {
    std::string error;
    auto server_options = make_serve_options(options, error);
    if (log_settings ls;
        server_options && !parse_log_settings(options.log_level, options.log_format, ls, error)) {
        server_options.reset();
    }
    if (server_options && options.metrics && options.metrics->empty()) {
        error = "--metrics needs HOST:PORT, e.g. --metrics 127.0.0.1:9464";
        server_options.reset();
    }
    if (!server_options) {
        err << "shardgate serve: " << error << '\n';
        return 2;
    }
    log_settings log_options;
    (void)parse_log_settings(options.log_level, options.log_format, log_options, error);
    observe::logger log(err, log_options.level, log_options.format);
    for (const auto& t : options.tokens) {
        log.add_secret(t);
    }
    log.add_secret(options.control_token);
    std::optional<io::status_server> status; // stopped before the server and feed go
    observe::status_feed feed("shardgate serve", "serve");
    // The emulator's own account of each connection, to the log and the page's feed.
    server_options->on_log = [&log, &status](std::string_view entry) {
        const auto view = describe_emulator_log(entry, std::chrono::system_clock::now());
        if (!view) {
            return;
        }
        if (log.enabled(view->level)) {
            log.log(view->level,
                    (view->shard ? "shard " + std::to_string(*view->shard) + ": " : std::string()) +
                        view->text);
        }
        if (status) {
            status->publish("lifecycle", view->entry_json);
        }
    };
    std::optional<io::emulator_server> server;
    try {
        server.emplace(std::move(*server_options));
    } catch (const std::system_error& e) {
        err << "shardgate serve: " << e.what() << '\n';
        if (e.code() == std::errc::invalid_argument) {
            return 2;
        }
        if (e.code() == std::errc::operation_not_permitted) {
            err << "Give --control-token TOKEN (clients of /_emulator/ then send 'Authorization: "
                   "Bearer TOKEN'), or listen on loopback, e.g. --listen 127.0.0.1:0.\n";
            return 2;
        }
        err << "Pick another port with --listen, e.g. --listen 127.0.0.1:0 for a free one.\n";
        return 1;
    }
    if (options.metrics) {
        io::status_server_options so;
        so.listen = *options.metrics;
        so.metrics = [&server] { return server->metrics(); };
        so.status = [&server, &feed] {
            const auto stats = server->stats();
            return feed.snapshot(stats
                                     ? emulator_shards(*stats, server->open_connections_by_shard())
                                     : std::vector<observe::status_shard>{});
        };
        try {
            status.emplace(std::move(so));
        } catch (const std::system_error& e) {
            err << "shardgate serve: --metrics: " << e.what() << '\n';
            return e.code() == std::errc::invalid_argument ? 2 : 1;
        }
    }
    // The contract: the first stdout line says where to connect; flushed so a parent can read it.
    out << R"({"listening":")" << server->http_url() << "\"}" << std::endl;
    log.info("listening on " + server->local_endpoint() +
                 (server->loopback() ? std::string() : "; the control API needs its Bearer token"),
             {{"endpoint", server->local_endpoint()}});
    if (status) {
        status->start();
        log.info("status page and metrics at " + status->url(),
                 {{"metrics", status->url() + "metrics"}});
    }
    server->run();
    if (status) {
        status->stop();
    }
    return 0;
}

} // namespace shardgate::cli
