#include "bench.hpp"

#include "bench_limit.hpp"
#include "bench_process.hpp"
#include "event_output.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/io/cluster.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iomanip>
#include <malloc.h>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace shardgate::cli {
namespace {

namespace gw = gateway;
using bench_detail::emulator_process;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

/// A JSON object written field by field (numbers and plain strings only).
class result {
public:
    result& add(const std::string& key, const std::string& value) {
        sep();
        os_ << '"' << key << "\":\"" << value << '"';
        return *this;
    }
    result& add(const std::string& key, double value) {
        sep();
        os_ << '"' << key << "\":" << std::setprecision(6) << value;
        return *this;
    }
    result& add(const std::string& key, std::uint64_t value) {
        sep();
        os_ << '"' << key << "\":" << value;
        return *this;
    }
    [[nodiscard]] std::string str() const {
        std::string out(1, '{');
        out += os_.str();
        out += '}';
        return out;
    }

private:
    void sep() {
        if (any_) {
            os_ << ',';
        }
        any_ = true;
    }
    std::ostringstream os_;
    bool any_ = false;
};

std::string mode_name(gw::compression m) {
    return m == gw::compression::zlib_stream   ? "zlib-stream"
           : m == gw::compression::zstd_stream ? "zstd-stream"
                                               : "none";
}

std::optional<gw::compression> parse_mode(std::string_view s) {
    if (s == "none") {
        return gw::compression::none;
    }
    if (s == "zlib" || s == "zlib-stream") {
        return gw::compression::zlib_stream;
    }
    if (s == "zstd" || s == "zstd-stream") {
        return gw::compression::zstd_stream;
    }
    return std::nullopt;
}

/// How the client side consumes events in a flood.
enum class sink { library, count, jsonl };

/// The client of one scenario: a cluster run on its own thread, with counters.
class bench_client {
public:
    bench_client(io::cluster_options options, std::uint64_t expect, sink how)
        : cluster_(std::move(options))
        , expect_(expect)
        , sink_(how) {
        if (how == sink::jsonl) {
            // A reader on the other end of a pipe, as a program fed by `--events jsonl` would be.
            std::array<int, 2> p{};
            if (::pipe2(p.data(), O_CLOEXEC) != 0) {
                throw std::runtime_error("pipe failed");
            }
            pipe_out_ = std::make_unique<std::ofstream>("/proc/self/fd/" + std::to_string(p[1]));
            ::close(p[1]);
            reader_ = std::thread([fd = p[0]] {
                std::vector<char> buf(std::size_t{1} << 16U);
                while (::read(fd, buf.data(), buf.size()) > 0) {
                }
                ::close(fd);
            });
            writer_ = std::make_unique<buffered_writer>(*pipe_out_);
        }
        cluster_.on_lifecycle([this](const gw::lifecycle_event& e) {
            if (e.kind == gw::lifecycle_kind::ready) {
                const std::lock_guard lock(m_);
                ++ready_;
                cv_.notify_all();
            }
        });
        cluster_.on_dispatch([this](const io::dispatch& d) { on_dispatch(d); });
        runner_ = std::thread([this] {
            std::error_code ec;
            std::string detail;
            (void)cluster_.run(ec, detail);
        });
    }
    ~bench_client() {
        cluster_.stop();
        runner_.join();
        if (writer_) {
            writer_->flush();
            writer_.reset();
            pipe_out_.reset(); // EOF for the reader
            reader_.join();
        }
    }
    bench_client(const bench_client&) = delete;
    bench_client& operator=(const bench_client&) = delete;
    bench_client(bench_client&&) = delete;
    bench_client& operator=(bench_client&&) = delete;

    bool wait_ready(std::uint32_t shards, seconds timeout) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return ready_ >= shards; });
    }
    bool wait_done(seconds timeout) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return done_; });
    }
    void watch(pid_t emulator) { emulator_ = emulator; }

    steady::time_point first, last;
    double cpu_first = 0, cpu_last = 0, emu_first = 0, emu_last = 0;

private:
    void on_dispatch(const io::dispatch& d) {
        if (d.name != "MESSAGE_CREATE") {
            return;
        }
        if (sink_ == sink::count) {
            const std::lock_guard lock(out_m_);
            counts_.count_dispatch(d.name, 0);
        } else if (sink_ == sink::jsonl) {
            const std::lock_guard lock(out_m_);
            append_dispatch_line(writer_->buffer(), d.shard, d.seq, d.name, d.data);
            writer_->commit();
        }
        const auto k = n_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (k == 1) {
            first = steady::now();
            cpu_first = bench_detail::self_cpu_seconds();
            emu_first = bench_detail::process_cpu_seconds(emulator_);
        }
        if (k == expect_) {
            if (writer_) {
                const std::lock_guard lock(out_m_);
                writer_->flush(); // the last line is out, as a user would wait for
            }
            last = steady::now();
            cpu_last = bench_detail::self_cpu_seconds();
            emu_last = bench_detail::process_cpu_seconds(emulator_);
            const std::lock_guard lock(m_);
            done_ = true;
            cv_.notify_all();
        }
    }

    io::cluster cluster_;
    std::uint64_t expect_;
    sink sink_;
    pid_t emulator_ = -1;
    std::atomic<std::uint64_t> n_{0};
    std::mutex m_;
    std::condition_variable cv_;
    std::uint32_t ready_ = 0;
    bool done_ = false;
    std::mutex out_m_;
    event_counts counts_;
    std::unique_ptr<std::ofstream> pipe_out_;
    std::unique_ptr<buffered_writer> writer_;
    std::thread reader_;
    std::thread runner_;
};

/// The emulator's options every scenario shares: a daily budget no run exhausts, and messages
/// with their content (as the peers get them).
std::vector<std::string> emulator_args(std::uint32_t shards, std::vector<std::string> more) {
    std::vector<std::string> args{"--shards",
                                  std::to_string(shards),
                                  "--session-start-limit",
                                  std::to_string(std::max<std::uint32_t>(1'000, 4 * shards)),
                                  "--privileged",
                                  "MESSAGE_CONTENT"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

io::cluster_options client_options(const emulator_process& emu, std::uint32_t shards,
                                   gw::compression mode, unsigned threads,
                                   std::uint32_t concurrency, milliseconds window) {
    io::cluster_options o;
    o.token = gw::secret("bench-token");
    // Discovery, as a bot starts: the emulator's gateway URL, identify buckets and daily budget.
    o.api = "http://127.0.0.1:" + std::to_string(emu.port()) + "/api/v10";
    o.shard_count = shards;
    o.transport_compression = mode;
    o.threads = threads;
    o.max_concurrency = concurrency;
    o.identify_window = window;
    o.identify_margin = milliseconds(5);
    // A bot that reads messages: MESSAGE_CREATE with its content, as the peers get it.
    o.intents = gw::default_intents | bench_detail::message_content_intent;
    return o;
}

struct flood_setup {
    gw::compression mode = gw::compression::zlib_stream;
    std::uint32_t shards = 1;
    unsigned threads = 1;
    std::uint64_t events = 200'000; // in all
    sink how = sink::library;
    std::uint64_t seed = 1;
};

std::string flood_once(const flood_setup& f);
double field(const std::string& json, const std::string& key);

/// The best of `repeat` floods (a shared 2-core machine has bad moments; the limit is a best of
/// rounds too), or the first error.
std::string flood(const flood_setup& f, unsigned repeat) {
    std::string best;
    for (unsigned i = 0; i < std::max(repeat, 1U); ++i) {
        auto line = flood_once(f);
        if (line.starts_with("error: ")) {
            return line;
        }
        if (best.empty() || field(line, "events_per_s") > field(best, "events_per_s")) {
            best = std::move(line);
        }
    }
    return best;
}

/// One flood, end to end: the emulator prepared every frame, the client's rate from its first
/// flood event to its last.
std::string flood_once(const flood_setup& f) {
    emulator_process emu(
        emulator_args(f.shards, {"--max-concurrency", std::to_string(f.shards),
                                 "--identify-window-ms", "100", "--seed", std::to_string(f.seed)}));
    const auto per_shard = f.events / f.shards;
    ::malloc_trim(0); // what the parent freed is not the child's
    return bench_detail::run_forked(
        [&] {
            bench_client c(
                client_options(emu, f.shards, f.mode, f.threads, f.shards, milliseconds(100)),
                per_shard * f.shards, f.how);
            c.watch(emu.pid());
            if (!c.wait_ready(f.shards, seconds(60))) {
                return std::string("error: the shards did not get READY in 60 s");
            }
            (void)bench_detail::reset_peak_rss();
            const auto rss_before = bench_detail::self_status_kib("VmRSS");
            const auto [status, body] =
                emu.post("/_emulator/flood", R"({"t":"MESSAGE_CREATE","prepared":true,"count":)" +
                                                 std::to_string(per_shard) + "}");
            if (status != 200) {
                return "error: the emulator refused the flood: " + body;
            }
            if (!c.wait_done(seconds(600))) {
                return std::string("error: the flood did not arrive in 600 s");
            }
            const double secs = std::chrono::duration<double>(c.last - c.first).count();
            const auto n = per_shard * f.shards;
            return result()
                .add("test", f.how == sink::library ? "flood" : "output")
                .add("compress", mode_name(f.mode))
                .add("sink", f.how == sink::library ? "library"
                             : f.how == sink::count ? "count"
                                                    : "jsonl")
                .add("shards", std::uint64_t{f.shards})
                .add("threads", std::uint64_t{f.threads})
                .add("events", n)
                .add("seconds", secs)
                .add("events_per_s", static_cast<double>(n - 1) / secs)
                .add("client_cpu_s", c.cpu_last - c.cpu_first)
                .add("emulator_cpu_s", c.emu_last - c.emu_first)
                .add("emulator_cpu_share", (c.emu_last - c.emu_first) / secs)
                .add("rss_before_kib", static_cast<std::uint64_t>(rss_before))
                .add("peak_rss_kib",
                     static_cast<std::uint64_t>(bench_detail::self_status_kib("VmHWM")))
                .str();
        },
        seconds(900));
}

std::string limit(gw::compression mode, std::uint64_t events, std::uint64_t seed) {
    const auto c = bench_detail::make_corpus(mode, events, seed);
    const double rate = bench_detail::limit_events_per_second(c);
    const auto n = c.frames.size() - c.flood_begin;
    return result()
        .add("test", "limit")
        .add("compress", mode_name(mode))
        .add("events", static_cast<std::uint64_t>(n))
        .add("events_per_s", rate)
        .add("mean_event_bytes", static_cast<double>(c.json_bytes) / static_cast<double>(n))
        .add("mean_wire_bytes", static_cast<double>(c.wire_bytes) / static_cast<double>(n))
        .str();
}

/// N idle shards: resident memory and CPU per shard once they are parked.
std::string idle(std::uint32_t shards, gw::compression mode, double cpu_window,
                 std::uint64_t seed) {
    constexpr int heartbeat_ms = 5'000;
    constexpr auto park_after = milliseconds(3'000);
    emulator_process emu(emulator_args(
        shards, {"--max-concurrency", std::to_string(shards), "--identify-window-ms", "100",
                 "--heartbeat-interval-ms", std::to_string(heartbeat_ms), "--zlib-window-bits",
                 "12", "--zlib-mem-level", "4", "--guilds", "1", "--seed", std::to_string(seed)}));
    return bench_detail::run_forked(
        [&] {
            ::malloc_trim(0);
            const auto rss_base = bench_detail::self_status_kib("VmRSS");
            const auto heap_base = static_cast<std::int64_t>(::mallinfo2().uordblks / 1024);
            auto o = client_options(emu, shards, mode, 1, shards, milliseconds(100));
            o.shard_defaults.park_when_quiet_for = park_after;
            const auto started = steady::now();
            bench_client c(std::move(o), 0, sink::library);
            if (!c.wait_ready(shards, seconds(300))) {
                return std::string("error: the shards did not get READY in 300 s");
            }
            const double ready_s = std::chrono::duration<double>(steady::now() - started).count();
            const auto rss_ready = bench_detail::self_status_kib("VmRSS");
            // Quiet for `park_after`, then the next ACK parks each shard; the cluster gives freed
            // memory back at most every 10 s, so one more period after the last park.
            std::this_thread::sleep_for(park_after + milliseconds(heartbeat_ms) + seconds(12));
            const auto rss_idle = bench_detail::self_status_kib("VmRSS");
            const auto heap_idle = static_cast<std::int64_t>(::mallinfo2().uordblks / 1024);
            ::malloc_trim(0); // what the allocator still holds of freed buffers
            const auto rss_trimmed = bench_detail::self_status_kib("VmRSS");
            const double cpu0 = bench_detail::self_cpu_seconds();
            std::this_thread::sleep_for(std::chrono::duration<double>(cpu_window));
            const double cpu = bench_detail::self_cpu_seconds() - cpu0;
            const auto n = static_cast<double>(shards);
            return result()
                .add("test", "idle")
                .add("compress", mode_name(mode))
                .add("shards", std::uint64_t{shards})
                .add("ready_s", ready_s)
                .add("rss_per_shard_kib_at_ready", static_cast<double>(rss_ready - rss_base) / n)
                .add("rss_per_shard_kib", static_cast<double>(rss_idle - rss_base) / n)
                .add("heap_per_shard_kib", static_cast<double>(heap_idle - heap_base) / n)
                .add("rss_per_shard_kib_after_trim",
                     static_cast<double>(rss_trimmed - rss_base) / n)
                .add("cpu_us_per_shard_per_s", cpu * 1e6 / n / cpu_window)
                .add("heartbeat_interval_ms", std::uint64_t{heartbeat_ms})
                .str();
        },
        seconds(900));
}

/// Start-up: every shard READY, against the minimum the identify buckets allow.
std::string startup(std::uint32_t shards, std::uint32_t concurrency, std::int64_t window_ms,
                    std::uint64_t seed) {
    emulator_process emu(emulator_args(
        shards, {"--max-concurrency", std::to_string(concurrency), "--identify-window-ms",
                 std::to_string(window_ms), "--guilds", "1", "--zlib-window-bits", "12",
                 "--zlib-mem-level", "4", "--seed", std::to_string(seed)}));
    return bench_detail::run_forked(
        [&] {
            const auto started = steady::now();
            bench_client c(client_options(emu, shards, gw::compression::zlib_stream, 1, concurrency,
                                          milliseconds(window_ms)),
                           0, sink::library);
            if (!c.wait_ready(shards, seconds(3'600))) {
                return std::string("error: the shards did not get READY");
            }
            const double secs = std::chrono::duration<double>(steady::now() - started).count();
            const auto rounds = (shards + concurrency - 1) / concurrency;
            const double minimum =
                static_cast<double>(rounds - 1) * static_cast<double>(window_ms) / 1e3;
            const auto [status, stats] = emu.post("/_emulator/stats", "");
            (void)status;
            return result()
                .add("test", "startup")
                .add("shards", std::uint64_t{shards})
                .add("max_concurrency", std::uint64_t{concurrency})
                .add("identify_window_ms", static_cast<std::uint64_t>(window_ms))
                .add("seconds", secs)
                .add("minimum_s", minimum)
                .add("over_minimum", minimum > 0 ? secs / minimum - 1 : 0.0)
                .str();
        },
        seconds(3'700));
}

double field(const std::string& json, const std::string& key) {
    const auto at = json.find("\"" + key + "\":");
    return at == std::string::npos ? 0 : std::atof(json.c_str() + at + key.size() + 3);
}

std::string text_field(const std::string& json, const std::string& key) {
    const auto at = json.find("\"" + key + "\":\"");
    if (at == std::string::npos) {
        return "";
    }
    const auto from = at + key.size() + 4;
    return json.substr(from, json.find('"', from) - from);
}

} // namespace

int run_bench(const bench_options& o, std::ostream& out, std::ostream& err) {
    std::vector<std::string> scenarios = o.scenarios;
    if (scenarios.empty() ||
        std::find(scenarios.begin(), scenarios.end(), "all") != scenarios.end()) {
        scenarios = {"flood", "idle", "startup", "threads", "output"};
    }
    std::vector<gw::compression> modes;
    for (const auto& c : o.compressions.empty()
                             ? std::vector<std::string>{"none", "zlib-stream", "zstd-stream"}
                             : o.compressions) {
        const auto m = parse_mode(c);
        if (!m) {
            err << "shardgate bench: --compress " << c
                << " is not none, zlib-stream or zstd-stream\n";
            return 2;
        }
        modes.push_back(*m);
    }
    for (const auto& s : scenarios) {
        if (s != "flood" && s != "idle" && s != "startup" && s != "threads" && s != "output") {
            err << "shardgate bench: unknown scenario '" << s
                << "' (flood, idle, startup, threads, output or all)\n";
            return 2;
        }
    }
    if (o.events < 1'000 || o.events > 1'000'000) {
        err << "shardgate bench: --events must be from 1000 to 1000000\n";
        return 2;
    }
    int status = 0;
    const auto report = [&](const std::string& line, const std::string& what) {
        if (line.starts_with("error: ")) {
            err << "shardgate bench: " << what << ": " << line.substr(7) << "\n";
            status = 1;
            return;
        }
        if (o.json) {
            out << line << "\n" << std::flush;
            return;
        }
        out << std::left << std::setw(34) << what << " " << std::fixed << std::setprecision(1);
        const auto test = text_field(line, "test");
        if (test == "flood" || test == "output") {
            out << std::setw(10) << field(line, "events_per_s") / 1e3 << "k ev/s   client cpu "
                << std::setprecision(2) << field(line, "client_cpu_s") << " s, emulator "
                << std::setprecision(0) << 100 * field(line, "emulator_cpu_share")
                << " % of a core, peak rss " << field(line, "peak_rss_kib") / 1024 << " MiB";
        } else if (test == "limit") {
            out << std::setw(10) << field(line, "events_per_s") / 1e3 << "k ev/s   ("
                << field(line, "mean_event_bytes") << " B per event, "
                << field(line, "mean_wire_bytes") << " B on the wire)";
        } else if (test == "idle") {
            out << std::setw(10) << field(line, "rss_per_shard_kib") << " KiB per shard   ("
                << field(line, "rss_per_shard_kib_at_ready") << " at READY), cpu "
                << std::setprecision(1) << field(line, "cpu_us_per_shard_per_s")
                << " us/s per shard, heap " << field(line, "heap_per_shard_kib")
                << " KiB, after malloc_trim " << field(line, "rss_per_shard_kib_after_trim")
                << " KiB per shard, ready in " << std::setprecision(2) << field(line, "ready_s")
                << " s";
        } else if (test == "startup") {
            out << std::setw(10) << field(line, "seconds") << " s to READY   (minimum "
                << field(line, "minimum_s") << " s, +" << std::setprecision(2)
                << 100 * field(line, "over_minimum") << " %)";
        }
        out << "\n" << std::flush;
    };
    const auto has = [&](const char* s) {
        return std::find(scenarios.begin(), scenarios.end(), s) != scenarios.end();
    };
    std::map<std::string, double> flood_rate;
    if (has("flood")) {
        for (const auto m : modes) {
            const auto line = flood({.mode = m, .events = o.events, .seed = o.seed}, o.repeat);
            report(line, "flood " + mode_name(m) + " (end to end)");
            flood_rate[mode_name(m)] = field(line, "events_per_s");
            const auto lim = limit(m, o.events, o.seed);
            report(lim, "  limit: decode+simdjson, 1 core");
            if (const double l = field(lim, "events_per_s");
                l > 0 && flood_rate[mode_name(m)] > 0) {
                const auto ratio = result()
                                       .add("test", "ratio")
                                       .add("compress", mode_name(m))
                                       .add("end_to_end_over_limit", flood_rate[mode_name(m)] / l)
                                       .str();
                if (o.json) {
                    out << ratio << "\n";
                } else {
                    out << "  end to end / limit: " << std::setprecision(2)
                        << flood_rate[mode_name(m)] / l << "\n";
                }
            }
        }
    }
    if (has("output")) {
        for (const auto how : {sink::count, sink::jsonl}) {
            report(flood({.mode = gw::compression::zlib_stream,
                          .events = o.events,
                          .how = how,
                          .seed = o.seed},
                         o.repeat),
                   std::string("output zlib-stream, ") +
                       (how == sink::count ? "--events count" : "--events jsonl | pipe"));
        }
    }
    if (has("threads")) {
        for (const unsigned t : {1U, 2U}) {
            report(flood({.mode = gw::compression::zlib_stream,
                          .shards = 4,
                          .threads = t,
                          .events = o.events,
                          .seed = o.seed},
                         o.repeat),
                   "threads " + std::to_string(t) + ", 4 shards flooded, zlib");
        }
    }
    if (has("idle")) {
        for (const auto n :
             o.idle_shards.empty() ? std::vector<std::uint32_t>{1'000} : o.idle_shards) {
            for (const auto m : modes) {
                report(idle(n, m, o.idle_seconds, o.seed),
                       "idle " + std::to_string(n) + " shards, " + mode_name(m));
            }
        }
    }
    if (has("startup")) {
        report(startup(o.startup_shards, o.startup_concurrency, o.startup_window_ms, o.seed),
               "startup " + std::to_string(o.startup_shards) + " shards, concurrency " +
                   std::to_string(o.startup_concurrency));
    }
    return status;
}

} // namespace shardgate::cli
