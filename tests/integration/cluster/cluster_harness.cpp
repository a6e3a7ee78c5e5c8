#include "cluster_harness.hpp"

#include "shardgate/io/emulator_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <gtest/gtest.h>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace shardgate::test::cluster_it {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto io_timeout = 10s;
/// How long `run()` of the emulator or the cluster gets to return after `stop()`.
constexpr auto join_timeout = 20s;

/// Runs one asynchronous operation to completion; the stream's expiry bounds it.
template <typename Start> beast::error_code complete(asio::io_context& ioc, Start&& start) {
    std::optional<beast::error_code> result;
    std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result.value_or(asio::error::timed_out);
}

http_response http_call(std::uint16_t port, http::verb verb, const std::string& target,
                        const std::string& body) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(io_timeout);
    const tcp::endpoint to{asio::ip::make_address("127.0.0.1"), port};
    if (auto ec = complete(ioc, [&](auto h) { stream.async_connect(to, h); })) {
        throw std::runtime_error("connect: " + ec.message());
    }
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    stream.expires_after(io_timeout);
    if (auto ec = complete(ioc, [&](auto h) { http::async_write(stream, req, h); })) {
        throw std::runtime_error("write: " + ec.message());
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{256} << 20U); // the log of a 256-shard run is several MB
    stream.expires_after(io_timeout);
    if (auto ec = complete(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); })) {
        throw std::runtime_error("read " + target + ": " + ec.message());
    }
    auto res = parser.release();
    return {res.result_int(), std::move(res.body())};
}

/// Joins `t` once `done` is ready; aborts the test program with `what` if it does not get ready
/// within `join_timeout` (a hung thread would otherwise hang the test until ctest's timeout).
template <typename T> void bounded_join(std::thread& t, std::future<T>& done, const char* what) {
    if (!t.joinable()) {
        return;
    }
    if (done.valid() && done.wait_for(join_timeout) != std::future_status::ready) {
        std::cerr << what << " did not return " << join_timeout.count() << " s after stop()\n";
        std::abort();
    }
    t.join();
}

} // namespace

emulator::emulator_config make_emulator_config(const emulator_settings& s) {
    emulator::emulator_config c;
    c.tokens = {std::string(test_token)};
    c.recommended_shards = s.shards;
    c.max_concurrency = s.max_concurrency;
    c.identify_window = s.identify_window;
    c.heartbeat_interval = s.heartbeat_interval;
    c.heartbeat_grace = s.heartbeat_interval;
    c.traffic_per_second = s.traffic_per_second;
    c.guilds = s.guilds;
    c.members_per_guild = 10;
    c.seed = s.seed;
    // 256 connections at once: a small deflater each (the client inflates any window).
    c.zlib_window_bits = 12;
    c.zlib_mem_level = 4;
    return c;
}

http_response http_get(std::uint16_t port, const std::string& target) {
    return http_call(port, http::verb::get, target, {});
}

http_response http_post(std::uint16_t port, const std::string& target, const std::string& body) {
    return http_call(port, http::verb::post, target, body);
}

// running_emulator
// -----------------------------------------------------------------------------------------------

struct running_emulator::impl {
    std::optional<io::emulator_server> server;
    std::thread thread;
    std::future<void> finished;
};

running_emulator::running_emulator(const emulator_settings& settings)
    : settings_(settings)
    , impl_(std::make_unique<impl>()) {
    io::emulator_server_options o;
    o.listen = "127.0.0.1:0";
    o.config = make_emulator_config(settings);
    o.wall_clock = false; // deterministic snowflakes and timestamps for a given elapsed time
    o.shutdown_grace = 2'000ms;
    impl_->server.emplace(std::move(o));
    std::promise<void> done;
    impl_->finished = done.get_future();
    impl_->thread = std::thread([this, d = std::move(done)]() mutable {
        impl_->server->run();
        d.set_value();
    });
}

running_emulator::~running_emulator() {
    stop();
}

void running_emulator::stop() {
    if (!impl_->thread.joinable()) {
        return;
    }
    impl_->server->stop();
    bounded_join(impl_->thread, impl_->finished, "emulator_server::run()");
}

std::uint16_t running_emulator::port() const {
    return impl_->server->port();
}

std::string running_emulator::ws_url() const {
    return impl_->server->ws_url();
}

std::string running_emulator::http_url() const {
    return impl_->server->http_url();
}

http_response running_emulator::post(const std::string& target, const std::string& body) const {
    return http_post(port(), target, body);
}

json::array running_emulator::log() const {
    const auto r = http_get(port(), "/_emulator/log");
    if (r.status != 200) {
        throw std::runtime_error("GET /_emulator/log: " + std::to_string(r.status) + " " + r.body);
    }
    return json::parse(r.body).as_array();
}

json::object running_emulator::stats() const {
    const auto r = http_get(port(), "/_emulator/stats");
    if (r.status != 200) {
        throw std::runtime_error("GET /_emulator/stats: " + std::to_string(r.status));
    }
    return json::parse(r.body).as_object();
}

// recorded / event_log
// -----------------------------------------------------------------------------------------------

std::string recorded::describe() const {
    std::ostringstream os;
    os << "shard " << shard << ' ';
    if (is_dispatch()) {
        os << "dispatch s=" << seq << ' ' << name;
    } else {
        os << gw::to_string(event);
        if (event == gw::lifecycle_kind::closed) {
            os << " code=" << code << " action=" << gw::to_string(reaction);
        } else if (event == gw::lifecycle_kind::fatal) {
            os << " code=" << code << " name=\"" << close_name << "\"";
        } else if (event == gw::lifecycle_kind::invalid_session) {
            os << " resumable=" << (resumable ? "true" : "false");
        }
    }
    return os.str();
}

void event_log::add(recorded r) {
    {
        const std::scoped_lock lock(mutex_);
        if (drop_data_) {
            r.data.clear();
        }
        records_.push_back(std::move(r));
    }
    changed_.notify_all();
}

bool event_log::wait_for(const std::function<bool(const record_list&)>& pred,
                         milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return pred(records_); });
}

record_list event_log::snapshot() const {
    const std::scoped_lock lock(mutex_);
    return records_;
}

std::size_t event_log::size() const {
    const std::scoped_lock lock(mutex_);
    return records_.size();
}

std::size_t count_shards_with(const record_list& r, gw::lifecycle_kind k, std::size_t from) {
    std::set<std::uint32_t> shards;
    for (std::size_t i = from; i < r.size(); ++i) {
        if (r[i].is(k)) {
            shards.insert(r[i].shard);
        }
    }
    return shards.size();
}

std::optional<std::size_t> find_record(const record_list& r, std::size_t from,
                                       const std::function<bool(const recorded&)>& pred) {
    for (std::size_t i = from; i < r.size(); ++i) {
        if (pred(r[i])) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> wait_for_record(const event_log& log, std::size_t from,
                                           const std::function<bool(const recorded&)>& pred,
                                           milliseconds timeout) {
    std::optional<std::size_t> at;
    log.wait_for(
        [&](const record_list& r) {
            at = find_record(r, from, pred);
            return at.has_value();
        },
        timeout);
    return at;
}

std::size_t count_dispatches(const record_list& r, std::uint32_t shard, std::size_t from) {
    std::size_t n = 0;
    for (std::size_t i = from; i < r.size(); ++i) {
        n += r[i].is_dispatch() && r[i].shard == shard ? 1U : 0U;
    }
    return n;
}

std::vector<std::uint64_t> expect_contiguous_sessions(const record_list& r, std::uint32_t shard) {
    std::vector<std::uint64_t> sessions;
    std::uint64_t last = 0;
    bool in_session = false;
    for (const auto& e : r) {
        if (!e.is_dispatch() || e.shard != shard) {
            continue;
        }
        if (e.name == "READY") {
            if (in_session) {
                sessions.push_back(last);
            }
            in_session = true;
            last = 0;
        }
        if (!in_session) {
            ADD_FAILURE() << "shard " << shard << ": dispatch s=" << e.seq << " " << e.name
                          << " before any READY";
            continue;
        }
        if (e.seq != last + 1) {
            ADD_FAILURE() << "shard " << shard << " session " << sessions.size() + 1
                          << ": s=" << e.seq << " (" << e.name << ") after s=" << last << " — "
                          << (e.seq <= last ? "duplicate or out of order" : "gap: events lost");
        }
        last = std::max(last, e.seq);
    }
    if (in_session) {
        sessions.push_back(last);
    }
    return sessions;
}

// cluster_runner
// -----------------------------------------------------------------------------------------------

io::cluster_options cluster_options_for(const running_emulator& emu, std::uint32_t shards,
                                        std::uint32_t max_concurrency, gw::compression mode) {
    io::cluster_options o;
    o.token = gw::secret(std::string(test_token));
    o.api = emu.http_url() + "/api/v10";
    o.gateway_url = emu.ws_url();
    o.shard_count = shards;
    o.max_concurrency = max_concurrency;
    o.transport_compression = mode;
    o.verify_tls = false;
    o.connect_timeout = 5'000ms;
    o.identify_window = emu.settings().identify_window; // the emulator's, not Discord's 5 s
    // 30 % of the 500 ms test window: with 256 handshakes on two busy cores the first Identify of a
    // bucket was seen arriving up to ~80 ms after its permit, the next one at once.
    o.identify_margin = 150ms;
    o.stop_grace = 3'000ms;
    o.discovery_timeout = 5'000ms;
    o.shard_defaults.invalid_session_wait_min = 50ms;
    o.shard_defaults.invalid_session_wait_max = 100ms;
    o.shard_defaults.backoff.base = 100ms;
    o.shard_defaults.backoff.cap = 1'000ms;
    o.shard_defaults.hello_timeout = 5'000ms;
    o.shard_defaults.close_timeout = 2'000ms;
    return o;
}

cluster_runner::cluster_runner(io::cluster_options options,
                               const std::function<void(io::cluster&)>& setup)
    : events_(std::make_shared<event_log>())
    , cluster_(std::make_unique<io::cluster>(std::move(options))) {
    if (setup) {
        setup(*cluster_);
    }
    cluster_->on_dispatch([log = events_](const io::dispatch& d) {
        recorded r;
        r.kind = recorded::type::dispatch;
        r.at = steady::now();
        r.shard = d.shard;
        r.seq = d.seq;
        r.name = std::string(d.name);
        r.data = std::string(d.data);
        log->add(std::move(r));
    });
    cluster_->on_lifecycle([log = events_](const gw::lifecycle_event& e) {
        recorded r;
        r.kind = recorded::type::lifecycle;
        r.at = steady::now();
        r.shard = e.shard;
        r.event = e.kind;
        r.code = e.code;
        r.reaction = e.reaction;
        r.resumable = e.resumable;
        r.close_name = std::string(e.name);
        r.remedy = std::string(e.remedy);
        log->add(std::move(r));
    });
    std::promise<io::cluster_exit> done;
    exit_ = done.get_future();
    started_at_ = steady::now();
    thread_ = std::thread([this, d = std::move(done)]() mutable {
        std::error_code ec;
        std::string detail;
        const auto how = cluster_->run(ec, detail);
        ec_ = ec;
        detail_ = std::move(detail);
        d.set_value(how);
    });
}

cluster_runner::~cluster_runner() {
    stop();
}

std::optional<io::cluster_exit> cluster_runner::wait_exit(milliseconds timeout) {
    if (result_) {
        return result_;
    }
    if (!exit_.valid() || exit_.wait_for(timeout) != std::future_status::ready) {
        return std::nullopt;
    }
    result_ = exit_.get();
    thread_.join();
    return result_;
}

void cluster_runner::stop() {
    if (!thread_.joinable()) {
        return;
    }
    // After `run` returned by itself, `stop()` has nothing to do; the contract says it is harmless
    // (see cluster_lifecycle.stop_after_run_returned_is_harmless), but the runner does not rely on
    // that so that one bug cannot take every test of the process down with it.
    if (exit_.wait_for(0s) != std::future_status::ready) {
        cluster_->stop();
    }
    bounded_join(thread_, exit_, "cluster::run()");
    if (exit_.valid()) {
        result_ = exit_.get();
    }
}

// The emulator's log
// -----------------------------------------------------------------------------------------------

std::string_view event_of(const json::value& entry) {
    const auto& s = entry.at("event").as_string();
    return {s.data(), s.size()};
}

std::optional<std::uint32_t> shard_of(const json::value& entry) {
    const auto& v = entry.at("shard");
    if (v.is_null()) {
        return std::nullopt;
    }
    return v.to_number<std::uint32_t>();
}

std::uint64_t t_ms_of(const json::value& entry) {
    return entry.at("t_ms").to_number<std::uint64_t>();
}

std::optional<std::size_t> find_entry(const json::array& log, std::size_t from,
                                      std::string_view event, std::optional<std::uint32_t> shard) {
    for (std::size_t i = from; i < log.size(); ++i) {
        if (event_of(log[i]) == event && (!shard || shard_of(log[i]) == shard)) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> find_injected_fault(const json::array& log, std::uint32_t shard) {
    for (std::size_t i = 0; i < log.size(); ++i) {
        if (event_of(log[i]) == "fault" && shard_of(log[i]) == shard &&
            log[i].at("fault").as_string() != "flood") {
            return i;
        }
    }
    return std::nullopt;
}

std::vector<json::object> entries(const json::array& log, std::size_t from, std::string_view event,
                                  std::optional<std::uint32_t> shard) {
    std::vector<json::object> out;
    for (std::size_t i = from; i < log.size(); ++i) {
        if (event_of(log[i]) == event && (!shard || shard_of(log[i]) == shard)) {
            out.push_back(log[i].as_object());
        }
    }
    return out;
}

std::string excerpt(const json::array& log, std::size_t from, std::size_t max) {
    std::string out;
    std::size_t n = 0;
    for (std::size_t i = from; i < log.size() && n < max; ++i) {
        out += "  " + json::serialize(log[i]) + "\n";
        ++n;
    }
    return out;
}

} // namespace shardgate::test::cluster_it
