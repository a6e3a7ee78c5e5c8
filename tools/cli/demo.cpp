#include "demo.hpp"

#include "latency_samples.hpp"
#include "live_status.hpp"
#include "log_settings.hpp"
#include "run_loop.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/gateway/sequence_check.hpp"
#include "shardgate/gateway/timestamp.hpp"
#include "shardgate/io/cluster.hpp"
#include "shardgate/io/emulator_server.hpp"
#include "shardgate/observe/log.hpp"
#include "shardgate/observe/prometheus.hpp"
#include "shardgate/observe/status_feed.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <ostream>
#include <random>
#include <span>
#include <thread>

namespace shardgate::cli {
namespace {

namespace gw = gateway;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

/// The emulator accepts this and only this; it never leaves the process.
constexpr std::string_view demo_token = "shardgate-demo-token";
constexpr std::uint32_t max_demo_shards = 2'500; // two descriptors per shard; the limit is 20,000

/// The faults injected in turn, one every `--fault-every` seconds.
struct fault_step {
    io::emulator_fault fault;
    std::string_view name; ///< In the summary, the feed and the metrics' `fault` label.
    std::string_view description;
    std::uint16_t close_code = 4000; ///< For `close`.
    bool resumable = true;           ///< For `invalidate`.
};
constexpr std::array fault_cycle{
    fault_step{io::emulator_fault::close, "close", "close 4000 (Unknown error)"},
    fault_step{io::emulator_fault::reconnect, "reconnect", "op 7 Reconnect"},
    fault_step{io::emulator_fault::invalidate, "invalidate", "op 9 Invalid Session (resumable)"},
    // Silent, as when the network path dies: no ACKs and no events until the shard notices at its
    // next heartbeat and resumes; what it missed meanwhile is replayed.
    fault_step{io::emulator_fault::silent_zombie, "zombie",
               "zombie connection (goes silent: no heartbeat ACKs, no events)"},
    fault_step{io::emulator_fault::drop, "drop", "TCP drop without a close frame"},
};

/// `--chaos`: every fault the gateway may do without ending the bot (no 4004, 4010-4014), drawn at
/// random. A shard must resume where the session lives and identify afresh where it does not.
constexpr std::array chaos_menu{
    fault_step{io::emulator_fault::close, "close_4000", "close 4000 (Unknown error)", 4000},
    fault_step{io::emulator_fault::close, "close_4001", "close 4001 (Unknown opcode)", 4001},
    fault_step{io::emulator_fault::close, "close_4002", "close 4002 (Decode error)", 4002},
    fault_step{io::emulator_fault::close, "close_4003", "close 4003 (Not authenticated)", 4003},
    fault_step{io::emulator_fault::close, "close_4005", "close 4005 (Already authenticated)", 4005},
    fault_step{io::emulator_fault::close, "close_4007", "close 4007 (Invalid seq)", 4007},
    fault_step{io::emulator_fault::close, "close_4008", "close 4008 (Rate limited)", 4008},
    fault_step{io::emulator_fault::close, "close_4009", "close 4009 (Session timed out)", 4009},
    fault_step{io::emulator_fault::close, "close_1001", "close 1001 (Going away)", 1001},
    fault_step{io::emulator_fault::reconnect, "reconnect", "op 7 Reconnect"},
    fault_step{io::emulator_fault::invalidate, "invalidate", "op 9 Invalid Session (resumable)"},
    fault_step{io::emulator_fault::invalidate, "invalidate_gone",
               "op 9 Invalid Session (not resumable)", 4000, false},
    fault_step{io::emulator_fault::zombie, "zombie_acks", "zombie (no heartbeat ACKs)"},
    fault_step{io::emulator_fault::silent_zombie, "zombie",
               "zombie connection (goes silent: no heartbeat ACKs, no events)"},
    fault_step{io::emulator_fault::drop, "drop", "TCP drop without a close frame"},
    fault_step{io::emulator_fault::heartbeat, "heartbeat_request", "op 1 Heartbeat request"},
    fault_step{io::emulator_fault::split, "split_frames",
               "the next 20 payloads split over WebSocket messages"},
    fault_step{io::emulator_fault::stall, "stall",
               "the gateway's writes stall for 2 s (slow reads), then arrive at once"},
};

/// The validated command.
struct demo_plan {
    io::emulator_server_options emulator;
    io::cluster_options cluster;
    std::optional<milliseconds> duration;
    milliseconds fault_every{0};
    log_settings log;
};

std::optional<demo_plan> make_demo_plan(const demo_options& o, std::string& error) {
    demo_plan plan;
    if (o.shards < 1 || o.shards > max_demo_shards) {
        error = "--shards must be from 1 to " + std::to_string(max_demo_shards) +
                " (each shard holds two file descriptors in one process)";
        return std::nullopt;
    }
    if (o.duration) {
        if (!std::isfinite(*o.duration) || *o.duration <= 0 || *o.duration > 1e9) {
            error = "--duration must be a positive number of seconds (e.g. --duration 60)";
            return std::nullopt;
        }
        plan.duration = milliseconds(static_cast<std::int64_t>(std::ceil(*o.duration * 1000)));
    }
    if (!std::isfinite(o.fault_every) || o.fault_every < 0 || o.fault_every > 86'400) {
        error = "--fault-every must be a number of seconds, 0 for no faults (e.g. --fault-every 3)";
        return std::nullopt;
    }
    plan.fault_every = milliseconds(static_cast<std::int64_t>(std::ceil(o.fault_every * 1000)));
    if (!std::isfinite(o.traffic) || o.traffic < 0 || o.traffic > 10'000) {
        error = "--traffic must be from 0 to 10000 dispatches per second per shard";
        return std::nullopt;
    }
    if (o.threads < 1 || o.threads > 64) {
        error = "--threads must be from 1 to 64";
        return std::nullopt;
    }
    const auto compression = gw::parse_compression(o.compress);
    if (!compression) {
        error = "--compress must be zlib-stream, zstd-stream or none, not '" + o.compress + "'";
        return std::nullopt;
    }
    if (!parse_log_settings(o.log_level, o.log_format, plan.log, error)) {
        return std::nullopt;
    }

    // An emulator that starts quickly and recovers visibly: 16 identify buckets 1 s apart, a
    // heartbeat every 5 s (a zombie is noticed within 10 s).
    const std::uint32_t buckets = std::min<std::uint32_t>(o.shards, 16);
    constexpr milliseconds identify_window{1'000};
    auto& e = plan.emulator.config;
    e.tokens = {std::string(demo_token)};
    e.recommended_shards = o.shards;
    e.max_concurrency = buckets;
    e.identify_window = identify_window;
    e.heartbeat_interval = milliseconds(5'000);
    // Guilds land on shards by id: eight per shard leave almost none without traffic.
    e.guilds = std::max<std::uint32_t>(16, o.shards * 8);
    e.members_per_guild = 5;
    e.traffic_per_second = o.traffic;
    e.seed = o.seed;
    // ~13 s of a shard's traffic (~20 events of ~1 KB a second): more than a shard misses across
    // a fault (a silent zombie is noticed within two 5 s intervals). Small against a session's
    // life (~50 s under --chaos), so almost every buffer is full and the sum of 64 is steady:
    // with 1 MiB most were still filling, and resident memory crept up to each new peak of it.
    e.replay_buffer_bytes = std::size_t{256} << 10U;
    plan.emulator.listen = "127.0.0.1:0";
    plan.emulator.wall_clock = true; // event timestamps are real: latency is read from them

    auto& c = plan.cluster;
    c.token = gw::secret(std::string(demo_token));
    c.shard_count = o.shards;
    c.max_concurrency = buckets;
    c.identify_window = identify_window;
    c.identify_margin = milliseconds(100);
    c.transport_compression = *compression;
    c.threads = o.threads;
    return plan;
}

void append_ms(gw::detail::json_writer& w, std::optional<std::chrono::microseconds> v) {
    if (!v) {
        w.null_value();
        return;
    }
    std::array<char, 32> buf{};
    const double ms = std::round(static_cast<double>(v->count()) / 100.0) / 10.0;
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), ms);
    w.raw_value(std::string_view(buf.data(), static_cast<std::size_t>(r.ptr - buf.data())));
}

std::string fixed1(double v) {
    std::array<char, 32> buf{};
    const auto r =
        std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, 1);
    return {buf.data(), r.ptr};
}

std::string ms_text(std::optional<std::chrono::microseconds> v) {
    if (!v) {
        return "n/a";
    }
    const double ms = static_cast<double>(v->count()) / 1000.0;
    return ms < 1000 ? fixed1(ms) + " ms" : fixed1(ms / 1000.0) + " s";
}

/// The cluster's options, pointed at the in-process emulator.
io::cluster_options against(io::cluster_options options, const io::emulator_server& server) {
    options.gateway_url = server.ws_url();
    return options;
}

/// One run: the emulator, the cluster, the checks, the faults and the status.
class demo_session {
public:
    demo_session(demo_plan& plan, const demo_options& options, const demo_environment& environment,
                 std::ostream& err)
        : options_(options)
        , plan_(plan)
        , err_(&err)
        , loop_({.command = "shardgate demo",
                 .mode = "demo",
                 .log = plan.log,
                 .stderr_is_tty = environment.stderr_is_tty,
                 .columns = environment.columns,
                 .duration = plan.duration,
                 .metrics = options.metrics,
                 .metrics_text = [this] { return metrics_text(); },
                 .status_extras = [this] { return extras(); }},
                err)
        , check_(options.shards)
        , server_(plan.emulator)
        , cluster_(against(plan.cluster, server_)) {
        loop_.log().add_secret(std::string(demo_token));
        cluster_.on_dispatch([this](const io::dispatch& d) { on_dispatch(d); });
        cluster_.on_lifecycle([this](const gw::lifecycle_event& e) { on_lifecycle(e); });
    }

    /// Runs until the duration, a signal, or every shard stopped; returns the exit status.
    int run(std::ostream& out) {
        std::thread emulator([this] { server_.run(); });
        std::error_code ec;
        std::string detail;
        const run_hooks hooks{
            .on_start =
                [this] {
                    loop_.log().info("demo started", {{"shards", options_.shards},
                                                      {"emulator", server_.http_url()},
                                                      {"traffic_per_shard_per_s", options_.traffic},
                                                      {"fault_every_s", options_.fault_every}});
                },
            .on_tick = [this](std::span<const io::shard_status> shards) { on_tick(shards); },
        };
        const auto exit = loop_.run(cluster_, hooks, ec, detail);
        server_.stop();
        emulator.join();

        if (exit == io::cluster_exit::startup_failed) {
            *err_ << "shardgate demo: could not start the shards: "
                  << (detail.empty() ? ec.message() : detail) << '\n';
            return 1;
        }
        loop_.write_final(loop_.stopped_by() == stop_cause::duration ? "duration reached"
                                                                     : "stopped",
                          total(loop_.last_snapshot()), {{"elapsed_ms", loop_.elapsed().count()}});
        write_summary(out, static_cast<double>(loop_.elapsed().count()) / 1000.0);
        if (check_.lost() > 0 || check_.duplicated() > 0) {
            *err_ << "shardgate demo: " << check_.lost() << " events lost and "
                  << check_.duplicated()
                  << " duplicated: that is a bug in shardgate; please report it with this "
                     "output\n";
            return 1;
        }
        if (exit == io::cluster_exit::all_fatal) {
            *err_ << "shardgate demo: every shard stopped on a fatal close code\n";
            return 1;
        }
        return 0;
    }

private:
    void on_dispatch(const io::dispatch& d) {
        check_.on_dispatch(d.shard, d.seq, d.name);
        if (d.shard < resuming_.size() && resuming_[d.shard] != 0 && d.name != "RESUMED") {
            replayed_.fetch_add(1, std::memory_order_relaxed);
        }
        if (d.name != "MESSAGE_CREATE") {
            return;
        }
        // Discord stamps messages with their creation time: gateway to callback, replays included.
        const auto stamp = io::string_field(d.data, "timestamp");
        if (!stamp) {
            return;
        }
        if (const auto created = gw::parse_timestamp(*stamp)) {
            const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now());
            const auto latency = std::max(std::chrono::microseconds(0), now - *created);
            latency_.add(latency);
            latency_histogram_.observe(static_cast<double>(latency.count()) / 1e6);
        }
    }

    void on_lifecycle(const gw::lifecycle_event& e) {
        using kind = gw::lifecycle_kind;
        if (e.kind == kind::identifying) {
            identifies_.fetch_add(1, std::memory_order_relaxed);
        } else if (e.kind == kind::resumed) {
            resumes_.fetch_add(1, std::memory_order_relaxed);
        } else if (e.kind == kind::fatal) {
            fatal_.fetch_add(1, std::memory_order_relaxed);
        }
        if (e.shard < resuming_.size()) {
            // Dispatches between Resume and RESUMED are the gateway's replay.
            if (e.kind == kind::resuming) {
                resuming_[e.shard] = 1;
            } else if (e.kind == kind::resumed || e.kind == kind::closed) {
                resuming_[e.shard] = 0;
            }
        }
        loop_.report(e);
    }

    /// On the loop's timer thread: a fault every `--fault-every` once every shard was active.
    void on_tick(std::span<const io::shard_status> shards) {
        const auto now = steady::now();
        const bool all_active =
            !shards.empty() && std::all_of(shards.begin(), shards.end(), [](const auto& s) {
                return s.state == gw::shard_state::active;
            });
        if (all_active && !started_all_) {
            started_all_ = true;
            next_fault_ = now + plan_.fault_every;
        }
        if (started_all_ && plan_.fault_every.count() > 0 && now >= next_fault_ &&
            loop_.stopped_by() == stop_cause::none) {
            inject_next_fault();
            next_fault_ = now + plan_.fault_every;
        }
    }

    /// The faults this run draws from: the cycle, or with `--chaos` the whole menu.
    [[nodiscard]] std::span<const fault_step> faults() const {
        return options_.chaos ? std::span<const fault_step>(chaos_menu)
                              : std::span<const fault_step>(fault_cycle);
    }

    /// The next fault (of the cycle, or drawn), on the next shard (or a drawn one) that has a
    /// connection.
    void inject_next_fault() {
        const auto menu = faults();
        auto index = options_.chaos ? static_cast<std::size_t>(chaos_rng_() % menu.size())
                                    : fault_index_ % menu.size();
        // Only zlib-stream payloads may arrive split: draw again for the other compressions.
        while (menu[index].fault == io::emulator_fault::split &&
               options_.compress != "zlib-stream") {
            index = static_cast<std::size_t>(chaos_rng_() % menu.size());
        }
        const auto& step = menu[index];
        if (options_.chaos) {
            next_shard_ = static_cast<std::uint32_t>(chaos_rng_() % options_.shards);
        }
        for (std::uint32_t tries = 0; tries < options_.shards; ++tries) {
            const auto shard = next_shard_++ % options_.shards;
            if (server_.inject(shard, step.fault, step.close_code, step.resumable) == 0) {
                continue;
            }
            ++fault_index_;
            faults_.fetch_add(1, std::memory_order_relaxed);
            {
                const std::lock_guard lock(faults_mutex_);
                ++faults_by_kind_[index];
            }
            const std::string text =
                "injected " + std::string(step.description) + " on shard " + std::to_string(shard);
            loop_.log().info(text, {{"shard", shard}, {"fault", step.name}});
            loop_.publish_entry(observe::fault_entry_json(shard, step.name, text,
                                                          std::chrono::system_clock::now()));
            return;
        }
    }

    [[nodiscard]] observe::status_extras extras() const {
        return {.faults = faults_.load(), .lost = check_.lost(), .duplicated = check_.duplicated()};
    }

    [[nodiscard]] std::string metrics_text() const {
        std::string out = cluster_.metrics();
        out += server_.metrics();
        observe::prometheus_writer w(out);
        w.family("shardgate_demo_faults_total", "counter", "Faults the demo injected, by kind.");
        {
            const std::lock_guard lock(faults_mutex_);
            for (std::size_t i = 0; i < faults().size(); ++i) {
                w.sample("shardgate_demo_faults_total", {{"fault", faults()[i].name}},
                         faults_by_kind_.at(i));
            }
        }
        w.family("shardgate_demo_lost_events_total", "counter",
                 "Sequence numbers skipped within a session (must stay 0).");
        w.sample("shardgate_demo_lost_events_total", {}, check_.lost());
        w.family("shardgate_demo_duplicated_events_total", "counter",
                 "Sequence numbers delivered twice within a session (must stay 0).");
        w.sample("shardgate_demo_duplicated_events_total", {}, check_.duplicated());
        w.family("shardgate_event_latency_seconds", "histogram",
                 "From a message's timestamp to its callback (replays included).");
        w.histogram("shardgate_event_latency_seconds", {}, latency_histogram_.snapshot());
        return out;
    }

    void write_summary(std::ostream& out, double seconds) {
        const auto p50 = latency_.percentile(50);
        const auto p99 = latency_.percentile(99);
        const auto max = latency_.percentile(100);
        const auto delivered = check_.delivered();
        const auto replayed = replayed_.load();
        // What the emulator held against the shards (4008 for a send over the limit, ...).
        std::map<std::uint16_t, std::uint64_t> violations;
        if (const auto stats = server_.stats()) {
            violations = stats->totals.violations;
        }
        if (options_.json) {
            std::string line;
            gw::detail::json_writer w(line);
            w.begin_object();
            w.key("shards").uint_value(options_.shards);
            w.key("duration_s").raw_value(fixed1(seconds));
            w.key("dispatches").uint_value(delivered);
            w.key("identifies").uint_value(identifies_.load());
            w.key("resumes").uint_value(resumes_.load());
            w.key("replayed").uint_value(replayed);
            w.key("faults").uint_value(faults_.load());
            w.key("faults_by_kind").begin_object();
            for (std::size_t i = 0; i < faults().size(); ++i) {
                w.key(faults()[i].name).uint_value(faults_by_kind_.at(i));
            }
            w.end_object();
            w.key("fatal").uint_value(fatal_.load());
            w.key("emulator_violations").begin_object();
            for (const auto& [code, n] : violations) {
                w.key(std::to_string(code)).uint_value(n);
            }
            w.end_object();
            w.key("lost").uint_value(check_.lost());
            w.key("duplicated").uint_value(check_.duplicated());
            w.key("latency_samples").uint_value(latency_.size());
            w.key("p50_ms");
            append_ms(w, p50);
            w.key("p99_ms");
            append_ms(w, p99);
            w.key("max_ms");
            append_ms(w, max);
            w.end_object();
            out << line << '\n';
            out.flush();
            return;
        }
        std::string by_kind;
        for (std::size_t i = 0; i < faults().size(); ++i) {
            const auto n = faults_by_kind_.at(i);
            if (n > 0) {
                by_kind += (by_kind.empty() ? "" : ", ") + std::string(faults()[i].name) + " " +
                           std::to_string(n);
            }
        }
        out << "shardgate demo: " << options_.shards << " shards for "
            << format_elapsed(milliseconds(static_cast<std::int64_t>(seconds * 1000))) << '\n'
            << "  events delivered  " << delivered << " ("
            << format_rate(seconds > 0 ? static_cast<double>(delivered) / seconds : 0.0) << "/s)\n"
            << "  faults injected   " << faults_.load()
            << (by_kind.empty() ? std::string() : " (" + by_kind + ")") << '\n'
            << "  identifies        " << identifies_.load() << '\n'
            << "  resumes           " << resumes_.load() << " (" << replayed
            << " events replayed)\n"
            << "  lost              " << check_.lost() << '\n'
            << "  duplicated        " << check_.duplicated() << '\n'
            << "  latency           p50 " << ms_text(p50) << ", p99 " << ms_text(p99) << ", max "
            << ms_text(max) << " (message timestamp to callback, " << latency_.size()
            << " messages, replays included)\n";
        out.flush();
    }

    const demo_options& options_;
    const demo_plan& plan_;
    std::ostream* err_;
    run_loop loop_; // its status server is stopped before the emulator and the cluster go
    gw::sequence_check check_;
    latency_samples latency_;
    observe::histogram latency_histogram_{observe::latency_buckets_seconds};
    io::emulator_server server_;
    io::cluster cluster_;

    std::atomic<std::uint64_t> identifies_{0};
    std::atomic<std::uint64_t> resumes_{0};
    std::atomic<std::uint64_t> faults_{0};
    std::atomic<std::uint64_t> replayed_{0};
    std::vector<char> resuming_ = std::vector<char>(options_.shards, 0); // per shard, its thread's
    mutable std::mutex faults_mutex_;
    std::array<std::uint64_t, chaos_menu.size()> faults_by_kind_{}; ///< By `faults()` index.
    std::mt19937_64 chaos_rng_{options_.seed};
    std::atomic<std::uint64_t> fatal_{0};
    // The loop's timer thread's.
    steady::time_point next_fault_ = steady::now();
    bool started_all_ = false;
    std::size_t fault_index_ = 0;
    std::uint32_t next_shard_ = 0;
};

} // namespace

int run_demo(const demo_options& options, const demo_environment& environment, std::ostream& out,
             std::ostream& err) {
    if (options.workers != 0) {
        return run_demo_workers(options, out, err);
    }
    std::string error;
    auto plan = make_demo_plan(options, error);
    if (!plan) {
        err << "shardgate demo: " << error << '\n';
        return 2;
    }
    std::optional<demo_session> session;
    try {
        session.emplace(*plan, options, environment, err);
    } catch (const std::system_error& e) {
        err << "shardgate demo: " << e.what() << '\n';
        if (e.code() == std::errc::address_in_use) {
            err << "Pick another port with --metrics, e.g. --metrics 127.0.0.1:0 for a free one.\n";
        }
        return e.code() == std::errc::invalid_argument ? 2 : 1;
    }
    return session->run(out);
}

} // namespace shardgate::cli
