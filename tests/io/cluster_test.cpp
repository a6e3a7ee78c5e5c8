// io::cluster against the emulator on 127.0.0.1: start-up, commands, stop, fatal codes, threads,
// resharding on 4011, and the lazy `field` helper. Every wait is bounded.
#include "shardgate/io/cluster.hpp"

#include "cluster_metrics.hpp"
#include "io_test_support.hpp"

#include <boost/asio/error.hpp>
#include <cstdlib>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <sstream>

namespace {

using namespace shardgate;
using namespace std::chrono_literals;
using gateway::lifecycle_kind;

/// A cluster running `run()` on a thread, recording what its callbacks see.
class cluster_run {
public:
    explicit cluster_run(io::cluster_options options)
        : bot_(std::move(options)) {
        bot_.on_dispatch([this](const io::dispatch& d) {
            latch_.update([&] {
                ++dispatches_[std::string(d.name)];
                if (d.name == "GUILD_CREATE") {
                    if (auto id = io::string_field(d.data, "id")) {
                        guilds_[d.shard].insert(std::stoull(*id));
                    }
                }
            });
        });
        bot_.on_lifecycle([this](const gateway::lifecycle_event& e) {
            latch_.update([&] { events_.push_back(e); });
        });
    }
    cluster_run(const cluster_run&) = delete;
    cluster_run& operator=(const cluster_run&) = delete;
    cluster_run(cluster_run&&) = delete;
    cluster_run& operator=(cluster_run&&) = delete;
    ~cluster_run() {
        if (thread_.joinable()) {
            bot_.stop();
            if (done_.wait_for(30s) != std::future_status::ready) {
                std::cerr << "cluster::run() did not return 30 s after stop()\n";
                std::abort();
            }
            thread_.join();
        }
    }

    void start() {
        std::promise<void> p;
        done_ = p.get_future();
        thread_ = std::thread([this, p = std::move(p)]() mutable {
            exit_ = bot_.run(ec_, detail_);
            p.set_value();
        });
    }
    /// Waits for `run` to return (bounded) and gives its result.
    io::cluster_exit join(std::chrono::milliseconds timeout = 30s) {
        if (done_.wait_for(timeout) != std::future_status::ready) {
            ADD_FAILURE() << "cluster::run() did not return";
            bot_.stop();
            done_.wait();
        }
        thread_.join();
        return exit_;
    }

    [[nodiscard]] std::size_t count(lifecycle_kind kind) {
        std::size_t n = 0;
        latch_.update([&] {
            n = static_cast<std::size_t>(std::count_if(
                events_.begin(), events_.end(), [&](const auto& e) { return e.kind == kind; }));
        });
        return n;
    }
    bool wait_for_count(lifecycle_kind kind, std::size_t n, std::chrono::milliseconds t = 20s) {
        return latch_.wait(
            [&] {
                return static_cast<std::size_t>(
                           std::count_if(events_.begin(), events_.end(),
                                         [&](const auto& e) { return e.kind == kind; })) >= n;
            },
            t);
    }
    bool wait_for_dispatch(const std::string& name, std::size_t n = 1) {
        return latch_.wait([&] { return dispatches_[name] >= n; });
    }
    std::vector<gateway::lifecycle_event> events(lifecycle_kind kind) {
        std::vector<gateway::lifecycle_event> out;
        latch_.update([&] {
            for (const auto& e : events_) {
                if (e.kind == kind) {
                    out.push_back(e);
                }
            }
        });
        return out;
    }
    std::map<std::uint32_t, std::set<std::uint64_t>> guilds() {
        std::map<std::uint32_t, std::set<std::uint64_t>> out;
        latch_.update([&] { out = guilds_; });
        return out;
    }

    io::cluster& bot() { return bot_; }
    const std::error_code& ec() const { return ec_; }
    const std::string& detail() const { return detail_; }

private:
    io::cluster bot_;
    test::latch_until latch_;
    std::vector<gateway::lifecycle_event> events_;
    std::map<std::string, std::size_t> dispatches_;
    std::map<std::uint32_t, std::set<std::uint64_t>> guilds_;
    std::thread thread_;
    std::future<void> done_;
    io::cluster_exit exit_ = io::cluster_exit::startup_failed;
    std::error_code ec_;
    std::string detail_;
};

io::cluster_options options_for(const test::emulator_thread& emu, std::uint32_t shards) {
    io::cluster_options o;
    o.token = gateway::secret(std::string(test::io_test_token));
    o.gateway_url = emu.ws_url();
    o.shard_count = shards;
    o.max_concurrency = 16;
    o.identify_window = 150ms;
    o.stop_grace = 5s;
    return o;
}

std::size_t count_log(const std::vector<boost::json::object>& entries, const char* key,
                      std::int64_t value) {
    return static_cast<std::size_t>(std::count_if(entries.begin(), entries.end(), [&](auto& e) {
        const auto* v = e.if_contains(key);
        return v != nullptr && v->is_int64() && v->as_int64() == value;
    }));
}

TEST(cluster, four_shards_ready_command_and_clean_stop) {
    test::emulator_thread emu;
    cluster_run run(options_for(emu, 4));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 4));
    EXPECT_EQ(run.bot().shard_count(), 4U);

    // The guilds each shard got (GUILD_CREATE, read with io::string_field); wait for all 8.
    ASSERT_TRUE(run.wait_for_dispatch("GUILD_CREATE", 8));
    const auto guilds = run.guilds();
    ASSERT_FALSE(guilds.empty());
    const auto [owner, ids] = *guilds.rbegin();
    const auto guild = *ids.begin();
    EXPECT_EQ(io::shard_for_guild(guild, 4), owner);

    // A command routed by guild: its answer proves it reached the right shard.
    gateway::request_guild_members request;
    request.guild_id = guild;
    request.query = "";
    request.limit = 0;
    ASSERT_FALSE(run.bot().send_to_guild(guild, request));
    ASSERT_TRUE(run.wait_for_dispatch("GUILD_MEMBERS_CHUNK"));
    const auto commands = emu.log_events("command");
    ASSERT_EQ(commands.size(), 1U);
    EXPECT_EQ(commands.front().at("op").as_int64(), 8);
    EXPECT_EQ(commands.front().at("shard").as_int64(), owner);

    // Bad commands and unknown shards are refused at once.
    EXPECT_EQ(run.bot().send(99, request), std::make_error_code(std::errc::invalid_argument));
    gateway::request_guild_members bad; // guild_id 0
    EXPECT_TRUE(run.bot().send(0, bad));

    const auto status = run.bot().status();
    ASSERT_EQ(status.size(), 4U);
    for (const auto& s : status) {
        EXPECT_EQ(s.state, gateway::shard_state::active) << s.id;
        EXPECT_EQ(s.identifies, 1U);
        EXPECT_GT(s.dispatches, 0U);
    }

    run.bot().stop();
    run.bot().stop(); // idempotent
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
    const auto closes = emu.log_events("client_close");
    EXPECT_EQ(closes.size(), 4U);
    EXPECT_EQ(count_log(closes, "code", 1000), 4U);
    EXPECT_TRUE(emu.log_events("invalid_session_sent").empty());
    EXPECT_EQ(run.bot().send(0, request), gateway::error::shard_stopped);
    const auto after = run.bot().status();
    ASSERT_EQ(after.size(), 4U);
    for (const auto& s : after) {
        EXPECT_EQ(s.state, gateway::shard_state::stopped) << s.id;
        EXPECT_EQ(s.last_close_code, std::nullopt) << s.id; // a clean stop emits no `closed`
    }
}

TEST(cluster, start_up_follows_the_identify_buckets) {
    auto config = test::io_emulator_config();
    config.max_concurrency = 2;
    config.identify_window = 300ms;
    test::emulator_thread emu(config);
    auto o = options_for(emu, 4);
    o.max_concurrency = 2;
    o.identify_window = 350ms; // a margin over the emulator's for network jitter
    cluster_run run(std::move(o));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 4));
    const auto identifies = emu.log_events("identify");
    ASSERT_EQ(identifies.size(), 4U);
    std::map<std::int64_t, std::int64_t> at; // shard -> t_ms
    for (const auto& e : identifies) {
        at[e.at("shard").as_int64()] = e.at("t_ms").as_int64();
    }
    // Buckets 0 (shards 0, 2) and 1 (shards 1, 3): a bucket's second Identify a window after its
    // first (within a bucket the order is that of the Hellos, so either shard may go first).
    EXPECT_GE(std::abs(at[2] - at[0]), 300);
    EXPECT_GE(std::abs(at[3] - at[1]), 300);
    EXPECT_TRUE(emu.log_events("invalid_session_sent").empty());
}

TEST(cluster, every_shard_fatal_ends_run_with_all_fatal_and_a_remedy) {
    test::emulator_thread emu; // no privileged intents allowed
    auto o = options_for(emu, 2);
    o.intents = gateway::default_intents | (1U << 1U); // GUILD_MEMBERS: 4014
    cluster_run run(std::move(o));
    run.start();
    EXPECT_EQ(run.join(), io::cluster_exit::all_fatal);
    const auto fatal = run.events(lifecycle_kind::fatal);
    ASSERT_EQ(fatal.size(), 2U);
    for (const auto& e : fatal) {
        EXPECT_EQ(e.code, 4014);
        EXPECT_FALSE(e.name.empty());
        EXPECT_FALSE(e.remedy.empty());
    }
}

TEST(cluster, two_threads_eight_shards_reach_ready_and_stop) {
    test::emulator_thread emu;
    auto o = options_for(emu, 8);
    o.threads = 2;
    cluster_run run(std::move(o));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 8));
    EXPECT_EQ(run.bot().status().size(), 8U);
    run.bot().stop();
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
    EXPECT_EQ(count_log(emu.log_events("client_close"), "code", 1000), 8U);
}

TEST(cluster, subset_of_shard_ids_runs_only_those) {
    test::emulator_thread emu;
    auto o = options_for(emu, 4);
    o.shard_ids = {1, 3};
    cluster_run run(std::move(o));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 2));
    const auto status = run.bot().status();
    ASSERT_EQ(status.size(), 2U);
    EXPECT_EQ(status[0].id, 1U);
    EXPECT_EQ(status[1].id, 3U);
    run.bot().stop();
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
}

TEST(cluster, discovery_gives_url_and_count) {
    test::emulator_thread emu; // recommends 2 shards
    io::cluster_options o;
    o.token = gateway::secret(std::string(test::io_test_token));
    o.api = emu.api();
    o.identify_window = 150ms;
    cluster_run run(std::move(o));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 2));
    EXPECT_EQ(run.bot().shard_count(), 2U);
    run.bot().stop();
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
}

TEST(cluster, rejected_token_fails_start_up_without_the_token) {
    test::emulator_thread emu;
    io::cluster_options o;
    o.token = gateway::secret("bad-token-NEVER-PRINTED");
    o.api = emu.api();
    cluster_run run(std::move(o));
    run.start();
    EXPECT_EQ(run.join(), io::cluster_exit::startup_failed);
    EXPECT_EQ(run.ec(), io::discovery_error::token_rejected);
    EXPECT_EQ(run.detail(), "token rejected (401): check DISCORD_TOKEN");
}

TEST(cluster, bad_configuration_fails_start_up) {
    io::cluster_options o;
    o.token = gateway::secret("t");
    o.gateway_url = "ws://127.0.0.1:1";
    o.shard_count = 2;
    o.shard_ids = {5};
    io::cluster bot(o);
    std::error_code ec;
    std::string detail;
    EXPECT_EQ(bot.run(ec, detail), io::cluster_exit::startup_failed);
    EXPECT_EQ(ec, std::make_error_code(std::errc::invalid_argument));
    EXPECT_NE(detail.find("shard id 5"), std::string::npos) << detail;
}

TEST(cluster, stop_before_run_returns_stopped) {
    io::cluster_options o;
    o.token = gateway::secret("t");
    o.gateway_url = "ws://127.0.0.1:1"; // nothing listens: the shards would only back off
    o.shard_count = 2;
    io::cluster bot(o);
    bot.stop();
    std::error_code ec;
    std::string detail;
    EXPECT_EQ(bot.run(ec, detail), io::cluster_exit::stopped);
    EXPECT_FALSE(ec);
}

TEST(cluster, sharding_required_brings_up_a_larger_set_then_retires_the_old) {
    auto config = test::io_emulator_config();
    config.guilds = 8;
    config.max_guilds_per_shard = 4; // one shard holding 8 guilds gets 4011
    config.recommended_shards = 4;
    test::emulator_thread emu(config);
    io::cluster_options o;
    o.token = gateway::secret(std::string(test::io_test_token));
    o.api = emu.api();
    o.shard_count = 1;
    o.reshard_auto = true;
    o.identify_window = 150ms;
    cluster_run run(std::move(o));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 4));
    const auto fatal = run.events(lifecycle_kind::fatal);
    ASSERT_EQ(fatal.size(), 1U);
    EXPECT_EQ(fatal.front().code, 4011);
    EXPECT_EQ(run.bot().shard_count(), 4U);
    const auto status = run.bot().status();
    EXPECT_EQ(status.size(), 4U);
    ASSERT_TRUE(run.wait_for_dispatch("GUILD_CREATE", 8));
    run.bot().stop();
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
}

} // namespace

namespace {

/// `name{labels} value` lines of a Prometheus text, keyed by everything before the value.
std::map<std::string, double> samples_of(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto space = line.rfind(' ');
        EXPECT_NE(space, std::string::npos) << line;
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

/// A bot that reads `status()` or `metrics()` when told of a READY or a RESUMED sees it counted:
/// the figures are published before the callbacks run, on the same thread.
TEST(cluster, a_lifecycle_callback_sees_its_own_event_in_status_and_metrics) {
    test::emulator_thread emu(test::io_emulator_config());
    io::cluster bot(options_for(emu, 1));
    struct seen {
        std::uint64_t identifies = 0;
        std::uint64_t resumes = 0;
        gateway::shard_state state = gateway::shard_state::idle;
        bool metrics_counted = false;
    };
    test::latch_until latch;
    std::optional<seen> at_ready;
    std::optional<seen> at_resumed;
    bot.on_lifecycle([&](const gateway::lifecycle_event& e) {
        if (e.kind != lifecycle_kind::ready && e.kind != lifecycle_kind::resumed) {
            return;
        }
        const auto status = bot.status();
        const auto metrics = bot.metrics();
        seen s;
        if (!status.empty()) {
            s = {status[0].identifies, status[0].resumes, status[0].state, false};
        }
        s.metrics_counted =
            metrics.find(e.kind == lifecycle_kind::ready
                             ? "\nshardgate_identifies_total 1\n"
                             : "\nshardgate_resumes_total 1\n") != std::string::npos;
        latch.update([&] { (e.kind == lifecycle_kind::ready ? at_ready : at_resumed) = s; });
    });
    std::error_code ec;
    std::string detail;
    auto exit = io::cluster_exit::startup_failed;
    std::thread runner([&] { exit = bot.run(ec, detail); });
    ASSERT_TRUE(latch.wait([&] { return at_ready.has_value(); })) << "no READY";
    (void)emu.control("POST", "/_emulator/shards/0/close", R"({"code":4000})");
    const bool resumed = latch.wait([&] { return at_resumed.has_value(); });
    bot.stop();
    runner.join();
    EXPECT_EQ(exit, io::cluster_exit::stopped) << detail;
    ASSERT_TRUE(resumed) << "no RESUMED";
    EXPECT_EQ(at_ready->identifies, 1U);
    EXPECT_EQ(at_ready->state, gateway::shard_state::active);
    EXPECT_TRUE(at_ready->metrics_counted);
    EXPECT_EQ(at_resumed->resumes, 1U);
    EXPECT_EQ(at_resumed->state, gateway::shard_state::active);
    EXPECT_TRUE(at_resumed->metrics_counted);
}

TEST(cluster, metrics_count_sessions_reconnects_by_cause_bytes_and_events) {
    auto config = test::io_emulator_config();
    config.traffic_per_second = 50;
    test::emulator_thread emu(config);
    cluster_run run(options_for(emu, 2));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 2));
    (void)emu.control("POST", "/_emulator/shards/0/close", R"({"code":4000})");
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::resumed, 1));
    (void)emu.control("POST", "/_emulator/shards/1/reconnect");
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::resumed, 2));
    ASSERT_TRUE(run.wait_for_dispatch("MESSAGE_CREATE", 5));

    auto m = samples_of(run.bot().metrics());
    EXPECT_EQ(m["shardgate_num_shards"], 2);
    EXPECT_EQ(m[R"(shardgate_shards{state="active"})"], 2);
    EXPECT_EQ(m[R"(shardgate_shard_state{shard="0",state="active"})"], 1);
    EXPECT_EQ(m["shardgate_identifies_total"], 2);
    EXPECT_EQ(m["shardgate_resumes_total"], 2);
    EXPECT_EQ(m[R"(shardgate_reconnects_total{cause="closed_by_gateway"})"], 1);
    EXPECT_EQ(m[R"(shardgate_reconnects_total{cause="reconnect_requested"})"], 1);
    EXPECT_EQ(m[R"(shardgate_reconnects_total{cause="connection_lost"})"], 0);
    EXPECT_EQ(m[R"(shardgate_gateway_closes_total{code="4000",name="Unknown error"})"], 1);
    EXPECT_EQ(m[R"(shardgate_dispatches_total{event="READY"})"], 2);
    EXPECT_GE(m[R"(shardgate_dispatches_total{event="MESSAGE_CREATE"})"], 5);
    EXPECT_EQ(m[R"(shardgate_dispatches_total{event="RESUMED"})"], 2);
    // zlib-stream: fewer bytes on the wire than after inflating.
    EXPECT_GT(m["shardgate_received_bytes_total"], 0);
    EXPECT_LT(m["shardgate_received_bytes_total"],
              m["shardgate_received_decompressed_bytes_total"]);
    EXPECT_GT(m["shardgate_sent_bytes_total"], 0);
    EXPECT_EQ(m["shardgate_identify_budget_remaining"], 998);
    EXPECT_EQ(m[R"(shardgate_decode_errors_total{error="all"})"], 0);
    EXPECT_EQ(m["shardgate_heartbeat_latency_seconds_count"],
              m[R"(shardgate_heartbeat_latency_seconds_bucket{le="+Inf"})"]);

    run.bot().stop();
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
    m = samples_of(run.bot().metrics()); // the counters outlive run()
    EXPECT_EQ(m["shardgate_identifies_total"], 2);
    EXPECT_EQ(m["shardgate_resumes_total"], 2);
    EXPECT_EQ(m[R"(shardgate_shards{state="stopped"})"], 2);
}

} // namespace

namespace {

/// `shardgate_connection_failures_total{kind}`: what the transport said failed, as one word: the
/// stage it was in and the error, never the wording of `detail` (which is for people).
TEST(cluster_metrics, a_connection_failure_is_named_by_what_failed) {
    using gateway::transport_stage;
    struct row {
        gateway::disconnect_cause cause;
        transport_stage stage;
        std::error_code error;
        std::string_view kind;
    };
    const auto e = [](std::errc c) { return std::make_error_code(c); };
    const std::error_code eof = boost::asio::error::make_error_code(boost::asio::error::eof);
    const auto lost = gateway::disconnect_cause::connection_lost;
    const row rows[] = {
        {gateway::disconnect_cause::hello_timeout, transport_stage::open, {}, "hello_timeout"},
        {lost, transport_stage::connect, e(std::errc::timed_out), "timeout"},
        {lost, transport_stage::resolve, e(std::errc::timed_out), "timeout"},
        {lost, transport_stage::resolve, e(std::errc::host_unreachable), "unresolved"},
        {lost, transport_stage::tls_handshake, e(std::errc::protocol_error), "tls"},
        {lost, transport_stage::tls_handshake, e(std::errc::connection_reset), "tls"},
        {lost, transport_stage::websocket_upgrade, e(std::errc::permission_denied),
         "upgrade_declined"},
        {lost, transport_stage::websocket_upgrade, e(std::errc::connection_reset), "reset"},
        {lost, transport_stage::websocket_upgrade, eof, "eof"},
        {lost, transport_stage::connect, e(std::errc::connection_refused), "refused"},
        {lost, transport_stage::open, e(std::errc::connection_reset), "reset"},
        {lost, transport_stage::open, e(std::errc::broken_pipe), "reset"},
        {lost, transport_stage::unknown, e(std::errc::invalid_argument), "url"},
        {lost, transport_stage::open, eof, "eof"},
        {lost, transport_stage::open, e(std::errc::no_buffer_space), "other"},
    };
    for (const auto& r : rows) {
        gateway::lifecycle_event closed;
        closed.kind = lifecycle_kind::closed;
        closed.by = gateway::closed_by::transport;
        closed.code = 1006;
        closed.cause = r.cause;
        closed.stage = r.stage;
        closed.error = r.error;
        closed.detail = "resolving, TLS handshake: words that must not decide";
        EXPECT_EQ(io::detail::connection_failure_kind(closed), r.kind)
            << r.error.message() << " / " << gateway::to_string(r.stage);
    }
}

TEST(cluster, refused_connections_are_counted_as_refused_in_metrics) {
    io::cluster_options o;
    o.token = gateway::secret(std::string(test::io_test_token));
    o.gateway_url = "ws://127.0.0.1:1"; // nothing listens on port 1
    o.shard_count = 1;
    o.shard_defaults.backoff.first_jitter = 10ms;
    o.shard_defaults.backoff.base = 10ms;
    o.shard_defaults.backoff.cap = 20ms;
    cluster_run run(std::move(o));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::closed, 3));
    run.bot().stop();
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
    std::size_t by_transport = 0;
    for (const auto& e : run.events(lifecycle_kind::closed)) {
        by_transport += e.by == gateway::closed_by::transport ? 1 : 0;
        EXPECT_TRUE(e.error == std::errc::connection_refused)
            << e.error.message() << ": " << e.detail;
    }
    const auto m = samples_of(run.bot().metrics());
    EXPECT_GE(by_transport, 3U);
    std::size_t failures = 0;
    for (const auto& [key, value] : m) {
        if (key.starts_with("shardgate_connection_failures_total{")) {
            EXPECT_EQ(key, R"(shardgate_connection_failures_total{kind="refused"})");
            failures += static_cast<std::size_t>(value);
        }
    }
    EXPECT_EQ(failures, by_transport);
}

/// Slow reads: the gateway writes nothing for 700 ms (its heartbeat interval is 1 s), then all
/// of it. The shard takes the late ACK and the burst without a reconnect.
TEST(cluster, a_stall_shorter_than_the_heartbeat_interval_is_ridden_out) {
    auto config = test::io_emulator_config();
    config.heartbeat_interval = 1'000ms;
    config.traffic_per_second = 50;
    test::emulator_thread emu(config);
    cluster_run run(options_for(emu, 1));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 1));
    for (int i = 0; i < 3; ++i) {
        const auto stalled_at = std::chrono::steady_clock::now();
        const auto answer = emu.control("POST", "/_emulator/shards/0/stall", R"({"ms":700})");
        ASSERT_EQ(answer.at("connections").as_int64(), 1);
        (void)emu.control("POST", "/_emulator/dispatch", R"({"t":"AFTER_STALL","d":{},"shard":0})");
        ASSERT_TRUE(run.wait_for_dispatch("AFTER_STALL", static_cast<std::size_t>(i) + 1));
        EXPECT_GE(std::chrono::steady_clock::now() - stalled_at, 650ms)
            << "the dispatch was held by the stall";
    }
    run.bot().stop();
    EXPECT_EQ(run.join(), io::cluster_exit::stopped);
    for (const auto& e : run.events(lifecycle_kind::closed)) {
        EXPECT_EQ(e.cause, gateway::disconnect_cause::shutdown)
            << "a reconnect during a stall: " << gateway::to_string(e.cause);
    }
    EXPECT_EQ(run.count(lifecycle_kind::resumed), 0U);
}

TEST(emulator_server_api, inject_stats_and_metrics_from_another_thread) {
    {
        io::emulator_server idle({}); // bound but not running: nothing to inject into
        EXPECT_EQ(idle.inject(0, io::emulator_fault::close), 0U);
        EXPECT_FALSE(idle.stats_json().has_value());
        EXPECT_EQ(idle.metrics(), "");
    }
    test::emulator_thread emu;
    cluster_run run(options_for(emu, 2));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 2));
    EXPECT_EQ(emu.server().inject(1, io::emulator_fault::reconnect), 1U);
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::resumed, 1));
    EXPECT_EQ(run.count(lifecycle_kind::reconnect_requested), 1U);
    EXPECT_EQ(emu.server().inject(7, io::emulator_fault::drop), 0U) << "no such shard";
    EXPECT_EQ(emu.server().inject(0, io::emulator_fault::close, 4001), 1U);
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::resumed, 2));

    const auto stats = emu.server().stats_json();
    ASSERT_TRUE(stats.has_value());
    const auto totals = boost::json::parse(*stats).at("totals");
    EXPECT_EQ(totals.at("resumes").as_int64(), 2);
    const auto m = samples_of(emu.server().metrics());
    EXPECT_EQ(m.at("shardgate_emulator_open_connections"), 2);
    EXPECT_EQ(m.at("shardgate_emulator_identifies_total"), 2);
    EXPECT_EQ(m.at("shardgate_emulator_resumes_total"), 2);
    EXPECT_EQ(m.at(R"(shardgate_emulator_closes_sent_total{code="4001",name="Unknown opcode"})"),
              1);
    EXPECT_EQ(m.at(R"(shardgate_emulator_shard_open_connections{shard="0"})"), 1);
    EXPECT_EQ(m.at(R"(shardgate_emulator_shard_connections_total{shard="0"})"), 2);
    const auto open = emu.server().open_connections_by_shard();
    EXPECT_EQ(open, (std::map<std::uint32_t, std::size_t>{{0, 1}, {1, 1}}));
}

} // namespace

namespace {

TEST(emulator_server_api, a_silent_zombie_is_noticed_and_its_missed_events_replayed) {
    auto config = test::io_emulator_config();
    config.heartbeat_interval = 300ms;
    config.traffic_per_second = 100;
    test::emulator_thread emu(config);
    cluster_run run(options_for(emu, 1));
    run.start();
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::ready, 1));
    ASSERT_TRUE(run.wait_for_dispatch("MESSAGE_CREATE", 5));
    EXPECT_EQ(
        emu.control("POST", "/_emulator/shards/0/zombie", R"({"silent":"yes"})").at("ok").as_bool(),
        false);
    ASSERT_EQ(emu.server().inject(0, io::emulator_fault::silent_zombie), 1U);
    ASSERT_TRUE(run.wait_for_count(lifecycle_kind::resumed, 1, 10s));
    EXPECT_EQ(run.count(lifecycle_kind::zombie), 1U);
    EXPECT_EQ(run.count(lifecycle_kind::ready), 1U) << "the session survives";
    const auto m = samples_of(run.bot().metrics());
    EXPECT_EQ(m.at(R"(shardgate_reconnects_total{cause="zombie"})"), 1);
    EXPECT_GT(m.at("shardgate_replayed_dispatches_total"), 0) << "events sent into the silence";
    const auto stats = boost::json::parse(emu.server().stats_json().value());
    EXPECT_GT(stats.at("totals").at("replayed").as_int64(), 0);
}

} // namespace
