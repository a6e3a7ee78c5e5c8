#pragma once
// The emulator server on its own thread for one test, and HTTP helpers over the library's own HTTP
// client (src/io/client_transport.hpp). Every wait is bounded.

#include "client_transport.hpp"
#include "shardgate/emulator/config.hpp"
#include "shardgate/io/emulator_server.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <gtest/gtest.h>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace shardgate::test {

using namespace std::chrono_literals;

inline constexpr std::string_view io_test_token = "io-test-token-SECRET";

/// A small, fast emulator: short identify window, many buckets, a few guilds.
inline emulator::emulator_config io_emulator_config() {
    emulator::emulator_config c;
    c.tokens = {std::string(io_test_token)};
    c.recommended_shards = 2;
    c.max_concurrency = 16;
    c.identify_window = 100ms;
    c.heartbeat_interval = 45'000ms;
    c.guilds = 8;
    c.seed = 11;
    return c;
}

/// Runs an `io::emulator_server` on a thread; stops and joins it on destruction.
class emulator_thread {
public:
    explicit emulator_thread(emulator::emulator_config config = io_emulator_config()) {
        io::emulator_server_options o;
        o.config = std::move(config);
        o.wall_clock = false;
        o.shutdown_grace = 500ms;
        server_.emplace(std::move(o));
        std::promise<void> done;
        finished_ = done.get_future();
        thread_ = std::thread([this, d = std::move(done)]() mutable {
            server_->run();
            d.set_value();
        });
    }
    ~emulator_thread() {
        server_->stop();
        if (finished_.wait_for(10s) != std::future_status::ready) {
            std::cerr << "emulator_server::run() did not return 10 s after stop()\n";
            std::abort();
        }
        thread_.join();
    }
    emulator_thread(const emulator_thread&) = delete;
    emulator_thread& operator=(const emulator_thread&) = delete;
    emulator_thread(emulator_thread&&) = delete;
    emulator_thread& operator=(emulator_thread&&) = delete;

    [[nodiscard]] io::emulator_server& server() { return *server_; }
    [[nodiscard]] std::string http_url() const { return server_->http_url(); }
    [[nodiscard]] std::string ws_url() const { return server_->ws_url(); }
    [[nodiscard]] std::string api() const { return http_url() + "/api/v10"; }

    /// GET or POST on the control API; returns the parsed JSON body (throws on a network error).
    [[nodiscard]] boost::json::value control(const std::string& method, const std::string& path,
                                             const std::string& body = {}) const {
        io::detail::http_request req;
        req.method = method;
        req.url = http_url() + path;
        req.body = body;
        req.timeout = 10s;
        io::detail::http_response res;
        if (const auto ec = io::detail::http_exchange(req, res)) {
            throw std::runtime_error(method + " " + path + ": " + ec.message());
        }
        return boost::json::parse(res.body);
    }

    /// The client actions the emulator logged with this `event` name.
    [[nodiscard]] std::vector<boost::json::object> log_events(std::string_view event) const {
        std::vector<boost::json::object> out;
        const auto log = control("GET", "/_emulator/log");
        for (const auto& e : log.as_array()) {
            const auto& o = e.as_object();
            if (o.at("event").as_string() == event) {
                out.push_back(o);
            }
        }
        return out;
    }

private:
    std::optional<io::emulator_server> server_;
    std::thread thread_;
    std::future<void> finished_;
};

/// A condition another thread makes true; `wait` is bounded.
class latch_until {
public:
    void update(const std::function<void()>& f) {
        {
            const std::lock_guard lock(m_);
            f();
        }
        cv_.notify_all();
    }
    /// Waits until `pred` (checked under the lock) holds, or `timeout`.
    bool wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, pred);
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
};

} // namespace shardgate::test
