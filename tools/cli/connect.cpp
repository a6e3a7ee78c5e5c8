#include "connect.hpp"

#include "event_output.hpp"
#include "live_status.hpp"
#include "run_loop.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/gateway/websocket_url.hpp"
#include "shardgate/io/discovery.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <ostream>
#include <set>
#include <sys/ioctl.h>
#include <unistd.h>

namespace shardgate::cli {
namespace {

namespace gw = shardgate::gateway;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view token_variable = "DISCORD_TOKEN";
constexpr std::size_t max_unknown_count_ids = 1'000'000;
constexpr unsigned max_threads = 256;

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    return s;
}

bool parse_u32(std::string_view text, std::uint32_t& value) {
    text = trim(text);
    const auto* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    return !text.empty() && result.ec == std::errc{} && result.ptr == end;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return out;
}

/// Three dot-separated parts of base64url, about 70 characters: how Discord bot tokens look.
bool looks_like_bot_token(std::string_view arg) {
    if (arg.size() < 50 || arg.size() > 200 || arg.front() == '-') {
        return false;
    }
    std::size_t dots = 0;
    for (const char c : arg) {
        if (c == '.') {
            ++dots;
        } else if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') {
            return false;
        }
    }
    return dots == 2;
}

std::string token_hint() {
    return "the token is read only from the environment variable DISCORD_TOKEN, never from the "
           "command line (other users can read it there): DISCORD_TOKEN=<bot token> shardgate "
           "connect ...";
}

/// Serialises the event output of the cluster's threads (one mutex; uncontended with one thread).
class event_sink {
public:
    event_sink(event_mode mode, std::ostream& out, gw::secret token, clock_type::time_point start)
        : mode_(mode)
        , out_(&out)
        , writer_(out)
        , token_(std::move(token))
        , start_(start) {}

    [[nodiscard]] std::int64_t now_ms() const {
        return std::chrono::duration_cast<milliseconds>(clock_type::now() - start_).count();
    }

    void on_dispatch(const io::dispatch& d) {
        if (mode_ == event_mode::summary) {
            dispatches_.fetch_add(1, std::memory_order_relaxed); // the final line's count
            return;
        }
        const std::lock_guard lock(mutex_);
        if (mode_ == event_mode::jsonl) {
            append_dispatch_line(writer_.buffer(), d.shard, d.seq, d.name, d.data);
            writer_.commit();
        } else {
            counts_.count_dispatch(d.name, now_ms());
        }
    }

    void on_lifecycle(const gw::lifecycle_event& e) {
        const std::lock_guard lock(mutex_);
        counts_.count_lifecycle(e.kind);
        shards_seen_.insert(e.shard);
        if (e.kind == gw::lifecycle_kind::fatal) {
            fatal_shards_.insert(e.shard);
        }
        if (mode_ == event_mode::jsonl) {
            std::string line;
            if (append_lifecycle_line(line, e, now_ms())) {
                writer_.buffer() += token_.redact(std::move(line));
                writer_.commit();
            }
        }
    }

    /// Writes out what is buffered.
    void flush() {
        const std::lock_guard lock(mutex_);
        writer_.flush();
    }

    /// Whether stdout stopped accepting output (a full disk; a closed pipe when SIGPIPE is
    /// ignored).
    [[nodiscard]] bool output_failed() {
        const std::lock_guard lock(mutex_);
        return !out_->good();
    }

    /// At exit, after the cluster's threads are gone: totals for the final line. The cluster
    /// forgets its shards once it has stopped, so the counts are the sink's own where it has them.
    [[nodiscard]] status_totals final_totals(std::span<const io::shard_status> last_snapshot) {
        const std::lock_guard lock(mutex_);
        auto t = total(last_snapshot);
        t.shards = std::max(t.shards, shards_seen_.size());
        t.fatal = std::max(t.fatal, fatal_shards_.size());
        t.dispatches = std::max(t.dispatches, mode_ == event_mode::summary
                                                  ? dispatches_.load(std::memory_order_relaxed)
                                                  : counts_.dispatches);
        t.identifies =
            std::max(t.identifies, counts_.lifecycle_count(gw::lifecycle_kind::identifying));
        t.resumes = std::max(t.resumes, counts_.lifecycle_count(gw::lifecycle_kind::resumed));
        return t;
    }

    void write_count_summary(std::size_t shards) {
        const std::lock_guard lock(mutex_);
        append_count_summary(writer_.buffer(), counts_, now_ms(), shards);
        writer_.flush();
    }

private:
    event_mode mode_;
    std::ostream* out_;
    std::mutex mutex_;
    buffered_writer writer_;
    event_counts counts_;
    std::set<std::uint32_t> shards_seen_;
    std::set<std::uint32_t> fatal_shards_;
    std::atomic<std::uint64_t> dispatches_{0};
    gw::secret token_;
    clock_type::time_point start_;
};

} // namespace

bool parse_shard_count(std::string_view text, std::optional<std::uint32_t>& count,
                       std::string& error) {
    if (trim(text) == "auto") {
        count.reset();
        return true;
    }
    std::uint32_t n = 0;
    if (!parse_u32(text, n) || n < 1) {
        error = "--shards must be 'auto' or a shard count of at least 1 (e.g. --shards 4), not '" +
                std::string(text) + "'";
        return false;
    }
    count = n;
    return true;
}

bool parse_shard_ids(std::string_view text, std::optional<std::uint32_t> shard_count,
                     std::vector<std::uint32_t>& ids, std::string& error) {
    ids.clear();
    constexpr std::string_view how = "write a range A-B or a list A,B,C, e.g. --shard-ids 0-3";
    if (trim(text).empty()) {
        error = "--shard-ids is empty: " + std::string(how);
        return false;
    }
    const auto check = [&](std::uint32_t id) {
        if (shard_count && id >= *shard_count) {
            error = "--shard-ids: shard " + std::to_string(id) + " does not exist with --shards " +
                    std::to_string(*shard_count) + " (ids run from 0 to " +
                    std::to_string(*shard_count - 1) + ")";
            return false;
        }
        return true;
    };
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto comma = text.find(',', pos);
        const auto item = trim(text.substr(
            pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
        const auto dash = item.find('-');
        std::uint32_t first = 0;
        std::uint32_t last = 0;
        const bool ok =
            dash == std::string_view::npos
                ? parse_u32(item, first) && (last = first, true)
                : parse_u32(item.substr(0, dash), first) && parse_u32(item.substr(dash + 1), last);
        if (!ok) {
            error = "--shard-ids: '" + std::string(item) +
                    "' is not a shard id or range: " + std::string(how);
            return false;
        }
        if (first > last) {
            error = "--shard-ids: the range " + std::string(item) + " is backwards (write " +
                    std::to_string(last) + '-' + std::to_string(first) + ")";
            return false;
        }
        if (!check(last)) {
            return false;
        }
        const std::uint64_t size = std::uint64_t{last} - first + 1;
        if (ids.size() + size > max_unknown_count_ids) {
            error = "--shard-ids: more than " + std::to_string(max_unknown_count_ids) +
                    " shards in one process";
            return false;
        }
        for (std::uint64_t id = first; id <= last; ++id) {
            ids.push_back(static_cast<std::uint32_t>(id));
        }
    }
    std::sort(ids.begin(), ids.end());
    if (const auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
        error = "--shard-ids: shard " + std::to_string(*dup) + " is listed twice";
        ids.clear();
        return false;
    }
    return true;
}

namespace {

bool apply_endpoints(const connect_options& o, io::cluster_options& c, std::string& error) {
    if (!starts_with(o.api, "http://") && !starts_with(o.api, "https://")) {
        error = "--api must be an http:// or https:// URL (default https://discord.com/api/v10)";
        return false;
    }
    c.api = o.api;
    if (o.gateway) {
        if (!gw::is_websocket_url(*o.gateway)) {
            error = "--gateway must be a ws:// or wss:// URL with a host (e.g. "
                    "wss://gateway.discord.gg)";
            return false;
        }
        c.gateway_url = *o.gateway;
    }
    if (o.max_concurrency) {
        if (!o.gateway) {
            error = "--max-concurrency only applies with --gateway (discovery reports it "
                    "otherwise)";
            return false;
        }
        if (*o.max_concurrency < 1) {
            error = "--max-concurrency must be at least 1 (Discord uses 1, 16, 32, 64...)";
            return false;
        }
        c.max_concurrency = *o.max_concurrency;
    }
    c.verify_tls = !o.no_verify_tls;
    return true;
}

bool apply_sharding(const connect_options& o, io::cluster_options& c, std::string& error) {
    if (!parse_shard_count(o.shards, c.shard_count, error)) {
        return false;
    }
    const bool implicit_single = o.gateway && !c.shard_count;
    if (implicit_single) {
        c.shard_count = 1; // Nothing to discover the recommended count from.
    }
    if (!o.shard_ids) {
        return true;
    }
    if (implicit_single) {
        std::vector<std::uint32_t> ids;
        std::string ignored;
        if (!parse_shard_ids(*o.shard_ids, 1, ids, ignored)) {
            error = "--shard-ids: with --gateway (no discovery) the shard count is not known; "
                    "give it with --shards N";
            return false;
        }
    }
    return parse_shard_ids(*o.shard_ids, c.shard_count, c.shard_ids, error);
}

bool apply_session(const connect_options& o, io::cluster_options& c, std::string& error) {
    if (o.intents) {
        std::string bad;
        if (gw::parse_intents(*o.intents, c.intents, bad)) {
            error = "--intents: '" + bad +
                    "' is not an intent name or a valid intents number (names like "
                    "GUILDS,GUILD_MESSAGES, or a number); run 'shardgate explain --intents' for "
                    "the list";
            return false;
        }
    }
    const auto compression = gw::parse_compression(o.compress);
    if (!compression) {
        error = "--compress must be zlib-stream, zstd-stream or none, not '" + o.compress + "'";
        return false;
    }
    c.transport_compression = *compression;
    if (o.threads < 1 || o.threads > max_threads) {
        error = "--threads must be from 1 to " + std::to_string(max_threads) +
                " (one io_context per thread; shards are spread over them)";
        return false;
    }
    c.threads = o.threads;
    if (o.reshard != "auto" && o.reshard != "off") {
        error = "--reshard must be auto or off, not '" + o.reshard + "'";
        return false;
    }
    c.reshard_auto = o.reshard == "auto";
    if (o.identify_window_ms < 1 || o.identify_window_ms > 600'000) {
        error = "--identify-window-ms must be from 1 to 600000 (Discord's is 5000)";
        return false;
    }
    c.identify_window = milliseconds(o.identify_window_ms);
    if (o.identify_margin_ms) {
        if (*o.identify_margin_ms > 60'000) {
            error = "--identify-margin-ms must be at most 60000";
            return false;
        }
        c.identify_margin = milliseconds(*o.identify_margin_ms);
    }
    return true;
}

bool apply_bridge(const connect_options& o, connect_plan& plan, std::string& error) {
    if (!o.nats) {
        if (o.cluster || o.worker) {
            error = "--cluster and --worker need --nats URL (the workers meet on NATS JetStream)";
            return false;
        }
        return true;
    }
    bridge::worker_options b;
    b.nats.urls = bridge::split_urls(*o.nats);
    if (b.nats.urls.empty()) {
        error = "--nats needs a URL, e.g. --nats nats://127.0.0.1:4222";
        return false;
    }
    b.stream.stream = o.stream;
    b.stream.subject_prefix = o.subject_prefix;
    if (o.stream.empty() || o.subject_prefix.empty() ||
        o.stream.find_first_of(" .*>") != std::string::npos ||
        o.subject_prefix.find_first_of(" *>") != std::string::npos) {
        error = "--stream and --subject-prefix must be non-empty, without spaces or wildcards "
                "(and no '.' in a stream name)";
        return false;
    }
    if (o.worker && !o.cluster) {
        error = "--worker needs --cluster NAME (the workers of a cluster share its shards)";
        return false;
    }
    if (o.cluster) {
        if (o.cluster->empty()) {
            error = "--cluster needs a name";
            return false;
        }
        if (!plan.cluster.shard_ids.empty()) {
            error = "--cluster shares every shard among the workers: drop --shard-ids";
            return false;
        }
        if (plan.cluster.reshard_auto) {
            error = "--reshard auto is not supported with --cluster yet: use --reshard off";
            return false;
        }
        if (o.lease_ms < 1'000) {
            error = "--lease-ms must be at least 1000 (a worker renews it every fifth of it)";
            return false;
        }
        b.cluster_name = *o.cluster;
        b.worker_id = o.worker.value_or("");
        b.lease = milliseconds(o.lease_ms);
        // 1 % of the window between two slots of a bucket (50 ms at Discord's 5 s), at least 25 ms:
        // how late an Identify may leave after its slot on a busy machine.
        b.identify_margin = o.identify_margin_ms
                                ? milliseconds(*o.identify_margin_ms)
                                : std::max(milliseconds(25), plan.cluster.identify_window / 100);
    }
    plan.bridge = std::move(b);
    return true;
}

bool apply_output(const connect_options& o, connect_plan& plan, std::string& error) {
    if (o.events == "jsonl") {
        plan.events = event_mode::jsonl;
    } else if (o.events == "count") {
        plan.events = event_mode::count;
    } else if (o.events == "summary") {
        plan.events = event_mode::summary;
    } else {
        error = "--events must be jsonl, count or summary, not '" + o.events + "'";
        return false;
    }
    if (o.duration) {
        const double s = *o.duration;
        if (!std::isfinite(s) || s <= 0 || s > 1e9) {
            error = "--duration must be a positive number of seconds (e.g. --duration 10)";
            return false;
        }
        plan.duration = milliseconds(static_cast<milliseconds::rep>(std::ceil(s * 1000.0)));
    }
    if (o.metrics && o.metrics->empty()) {
        error = "--metrics needs HOST:PORT, e.g. --metrics 127.0.0.1:9464";
        return false;
    }
    plan.metrics = o.metrics;
    return parse_log_settings(o.log_level, o.log_format, plan.log, error);
}

} // namespace

std::optional<connect_plan> make_connect_plan(const connect_options& o, const char* token_env,
                                              std::string& error) {
    if (token_env == nullptr || *token_env == '\0') {
        error = std::string(token_variable) + (token_env == nullptr ? " is not set" : " is empty") +
                ": " + token_hint();
        return std::nullopt;
    }
    connect_plan plan;
    plan.cluster.token = gw::secret(token_env);
    if (!apply_endpoints(o, plan.cluster, error) || !apply_sharding(o, plan.cluster, error) ||
        !apply_session(o, plan.cluster, error) || !apply_output(o, plan, error) ||
        !apply_bridge(o, plan, error)) {
        return std::nullopt;
    }
    if (plan.bridge) {
        plan.bridge->cluster = std::move(plan.cluster);
        plan.cluster = {};
    }
    return plan;
}

std::optional<std::string> refuse_token_arguments(std::span<const char* const> args,
                                                  const char* token_env) {
    const std::string_view env = token_env == nullptr ? std::string_view{} : token_env;
    for (const char* raw : args) {
        if (raw == nullptr) {
            continue;
        }
        const std::string_view arg = raw;
        if (arg == "--") {
            continue;
        }
        if (starts_with(arg, "-")) {
            const auto name = lower(arg.substr(0, arg.find('=')));
            if (name.find("token") != std::string::npos) {
                return "shardgate connect: there is no token option: " + token_hint();
            }
            continue;
        }
        if ((!env.empty() && arg.find(env) != std::string_view::npos && env.size() >= 4) ||
            looks_like_bot_token(arg)) {
            return "shardgate connect: an argument looks like a bot token; " + token_hint() +
                   ". If it is a real token, it may now be in your shell history: consider "
                   "resetting it in the Developer Portal";
        }
    }
    return std::nullopt;
}

std::optional<std::string> refuse_token_config(std::string_view key,
                                               std::span<const std::string> values,
                                               const char* token_env) {
    constexpr std::string_view service_hint =
        " (under systemd: Environment=DISCORD_TOKEN=... or EnvironmentFile=, in a file only the "
        "service can read)";
    if (lower(key).find("token") != std::string::npos) {
        return "the key '" + std::string(key) +
               "' is refused: the token is read only from the environment variable "
               "DISCORD_TOKEN, never from a config file or the command line" +
               std::string(service_hint);
    }
    const std::string_view env = token_env == nullptr ? std::string_view{} : token_env;
    for (const auto& value : values) {
        if ((env.size() >= 4 && value.find(env) != std::string::npos) ||
            looks_like_bot_token(value)) {
            return "the value of '" + std::string(key) +
                   "' looks like a bot token; the token is read only from the environment "
                   "variable DISCORD_TOKEN" +
                   std::string(service_hint) +
                   ". If it is a real token, whoever can read the file can use it: consider "
                   "resetting it in the Developer Portal";
        }
    }
    return std::nullopt;
}

connect_environment detect_environment() {
    connect_environment env;
    env.token = std::getenv("DISCORD_TOKEN"); // NOLINT(concurrency-mt-unsafe): before any thread
    const char* term = std::getenv("TERM");   // NOLINT(concurrency-mt-unsafe)
    env.stderr_is_tty =
        ::isatty(STDERR_FILENO) == 1 && (term == nullptr || std::string_view(term) != "dumb");
    winsize size{};
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): ioctl is variadic
    if (env.stderr_is_tty && ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
        env.columns = size.ws_col;
    }
    return env;
}

int check_connect_argv(int argc, const char* const* argv, std::ostream& err) {
    if (argc < 2 || std::string_view(argv[1]) != "connect") { // NOLINT(*-pointer-arithmetic)
        return 0;
    }
    const std::span<const char* const> args(argv + 2, // NOLINT(*-pointer-arithmetic)
                                            static_cast<std::size_t>(argc - 2));
    // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread
    if (const auto refusal = refuse_token_arguments(args, std::getenv("DISCORD_TOKEN"))) {
        err << *refusal << '\n';
        return 2;
    }
    return 0;
}

namespace {

/// The exit status and message of a start-up failure.
int report_startup_failure(const std::error_code& ec, std::string detail, bool shard_ids_given,
                           bool shards_given, const gw::secret& token, std::ostream& err) {
    if (ec == io::discovery_error::token_rejected) {
        std::string line = "token rejected (401): check DISCORD_TOKEN";
        if (!detail.empty() && detail.find("token rejected") == std::string::npos) {
            line += " (" + detail + ")";
        }
        err << "shardgate connect: " << token.redact(line) << '\n';
        return 1;
    }
    if (ec == std::errc::invalid_argument) {
        // A configuration only discovery could judge, e.g. --shard-ids beyond the recommended
        // count: bad usage.
        std::string line = detail.empty() ? ec.message() : detail;
        if (shard_ids_given && !shards_given) {
            line += " (the count comes from discovery; give --shards N to choose it)";
        }
        err << "shardgate connect: " << token.redact(line) << '\n';
        return 2;
    }
    if (detail.empty()) {
        detail = ec ? ec.message() : std::string("unknown error");
    }
    err << "shardgate connect: start-up failed: " << token.redact(detail) << '\n';
    return 1;
}

/// One run of the command: the cluster, its event sink and the run loop.
class connect_session {
public:
    connect_session(connect_plan& plan, const connect_environment& environment, std::ostream& out,
                    std::ostream& err, clock_type::time_point start)
        : mode_(plan.events)
        , badge_(plan.bridge && !plan.bridge->cluster_name.empty()
                     ? "worker " +
                           (plan.bridge->worker_id.empty() ? std::string("(pid)")
                                                           : plan.bridge->worker_id) +
                           " of cluster " + plan.bridge->cluster_name
                 : plan.bridge ? std::string("connect + NATS")
                               : std::string("connect"))
        , token_(environment.token == nullptr ? std::string{} : environment.token)
        , err_(&err)
        , sink_(plan.events, out, token_, start)
        , loop_({.command = "shardgate connect",
                 .mode = badge_,
                 .log = plan.log,
                 .live_status = plan.events == event_mode::summary,
                 .stderr_is_tty = environment.stderr_is_tty,
                 .columns = environment.columns,
                 .duration = plan.duration,
                 .metrics = plan.metrics,
                 .started_at = start,
                 .metrics_text = plan.bridge ? std::function<std::string()>(
                                                   [this] { return worker_->metrics(); })
                                             : std::function<std::string()>{}},
                err)
        , worker_(plan.bridge ? std::make_unique<bridge::worker>(std::move(*plan.bridge)) : nullptr)
        , own_cluster_(worker_ ? nullptr : std::make_unique<io::cluster>(std::move(plan.cluster)))
        , cluster_(worker_ ? worker_->shards() : *own_cluster_) {
        loop_.log().add_secret(token_);
        const auto on_dispatch = [this](const io::dispatch& d) { sink_.on_dispatch(d); };
        const auto on_lifecycle = [this](const gw::lifecycle_event& e) {
            sink_.on_lifecycle(e);
            loop_.report(e);
        };
        if (!worker_) {
            cluster_.on_dispatch(on_dispatch);
            cluster_.on_lifecycle(on_lifecycle);
            cluster_.handle_signals(true);
            return;
        }
        worker_->on_dispatch(on_dispatch);
        worker_->on_lifecycle(on_lifecycle);
        worker_->on_notice([this](const std::string& line) { loop_.log().warn(line); });
        worker_->on_ownership([this](const bridge::ownership_event& e) { report(e); });
    }

    /// Runs the cluster in the loop; returns what `cluster::run` said.
    io::cluster_exit run(std::error_code& ec, std::string& detail) {
        const run_hooks hooks{
            .before_tick = [this] { sink_.flush(); },
            .after_tick = [this] { stop_on_failed_output(); },
        };
        auto with_worker = hooks;
        if (worker_) {
            with_worker.run = [this](std::error_code& e, std::string& d) {
                return worker_->run(e, d);
            };
            with_worker.stop = [this] { stop(); };
        }
        return loop_.run(cluster_, with_worker, ec, detail);
    }

    /// After `run`: the final output; returns the exit status.
    int finish(io::cluster_exit exit) {
        sink_.flush();
        loop_.keep_final_snapshot(cluster_);
        const auto totals = sink_.final_totals(loop_.last_snapshot());
        if (mode_ == event_mode::count) {
            sink_.write_count_summary(totals.shards);
        }
        const std::string_view reason = exit == io::cluster_exit::all_fatal ? "every shard stopped"
                                        : loop_.stopped_by() == stop_cause::duration
                                            ? "duration reached"
                                            : "stopped";
        if (exit == io::cluster_exit::startup_failed) {
            loop_.write_pending_messages();
        } else {
            loop_.write_final(reason, totals,
                              {{"elapsed_ms", loop_.elapsed().count()},
                               {"shards", totals.shards},
                               {"dispatches", totals.dispatches},
                               {"identifies", totals.identifies},
                               {"resumes", totals.resumes},
                               {"fatal", totals.fatal}});
        }
        if (exit == io::cluster_exit::all_fatal) {
            *err_ << "shardgate connect: every shard stopped on a fatal close code (see above; "
                     "'shardgate explain CODE' says what to change)\n";
            return 3;
        }
        return output_failed_ ? 1 : 0;
    }

private:
    /// A worker of a cluster hands its shards over (no close with 1000); otherwise 1000.
    void stop() {
        if (worker_) {
            worker_->stop(gw::close_mode::end_session);
        } else {
            cluster_.stop();
        }
    }

    void report(const bridge::ownership_event& e) {
        using kind = bridge::ownership_event::kind;
        const auto shard = static_cast<std::int64_t>(e.shard);
        switch (e.what) {
        case kind::took:
            loop_.log().info("shard " + std::to_string(e.shard) + " starts here" +
                                 (e.resumes ? " (resuming its saved session)" : ""),
                             {{"shard", shard}, {"worker", worker_->id()}});
            break;
        case kind::took_over:
            loop_.log().info("shard " + std::to_string(e.shard) + " taken over from dead worker " +
                                 e.from + (e.resumes ? ", resuming" : ", identifying"),
                             {{"shard", shard}, {"from", e.from}, {"worker", worker_->id()}});
            break;
        case kind::handed_over:
            loop_.log().info("shard " + std::to_string(e.shard) + " handed over",
                             {{"shard", shard}, {"worker", worker_->id()}});
            break;
        case kind::fenced:
            loop_.log().warn("shard " + std::to_string(e.shard) + " dropped: lease lost",
                             {{"shard", shard}, {"worker", worker_->id()}});
            break;
        }
    }

    /// On the timer thread: a full disk or a closed pipe ends the run (events would be lost).
    void stop_on_failed_output() {
        if (!output_failed_ && mode_ != event_mode::summary && sink_.output_failed()) {
            output_failed_ = true;
            *err_ << "shardgate connect: cannot write to stdout; stopping\n";
            stop();
        }
    }

    event_mode mode_;
    std::string badge_; // the status page's badge: which worker of which cluster
    gw::secret token_;
    std::ostream* err_;
    event_sink sink_;            // outlives the cluster and its callbacks
    run_loop loop_;              // likewise; its status server is stopped before the cluster goes
    bool output_failed_ = false; // the timer thread's; read by `finish` after it is joined
    std::unique_ptr<bridge::worker> worker_;   // with --nats
    std::unique_ptr<io::cluster> own_cluster_; // without
    io::cluster& cluster_;                     // the worker's or our own
};

} // namespace

int run_connect(const connect_options& options, const connect_environment& environment,
                std::ostream& out, std::ostream& err) {
    const auto start = clock_type::now();
    const gw::secret token(environment.token == nullptr ? std::string{} : environment.token);
    std::string error;
    auto plan = make_connect_plan(options, environment.token, error);
    if (!plan) {
        err << "shardgate connect: " << token.redact(error) << '\n';
        return 2;
    }
    const auto& shards_options = plan->bridge ? plan->bridge->cluster : plan->cluster;
    if (!shards_options.verify_tls) {
        err << "shardgate connect: WARNING: --no-verify-tls: TLS certificates and host names are "
               "NOT checked; anyone on the path can read the token. For testing only.\n";
    }
    const bool shard_ids_given = !shards_options.shard_ids.empty();
    const bool shards_given = options.shards != "auto";

    // SIGINT/SIGTERM before the cluster's own handler is installed would otherwise kill the process
    // with 143 instead of the contract's clean stop and 0: the session's run loop notes them from
    // its construction on, and its timer acts on them.
    std::optional<connect_session> session;
    try {
        session.emplace(*plan, environment, out, err, start);
    } catch (const std::exception& e) {
        err << "shardgate connect: " << token.redact(e.what()) << '\n';
        return 2;
    }
    std::error_code ec;
    std::string detail;
    const auto exit = session->run(ec, detail);
    const int status = session->finish(exit);
    if (exit != io::cluster_exit::startup_failed) {
        return status;
    }
    return report_startup_failure(ec, std::move(detail), shard_ids_given, shards_given, token, err);
}

} // namespace shardgate::cli
