#pragma once
// Shared by the cluster integration tests: the gateway emulator in-process on its own thread, a
// small synchronous HTTP client for its control API, and an `io::cluster` on another thread whose
// callbacks record every dispatch and lifecycle event into a mutex-protected log.
//
// Synchronisation is by condition variable with a deadline (`event_log::wait_for`): every wait is
// bounded, and no test sleeps to let something happen. Beast stays in cluster_harness.cpp, so the
// test sources compile quickly.

#include "shardgate/emulator/config.hpp"
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/shard_event.hpp"
#include "shardgate/io/cluster.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace shardgate::test::cluster_it {

namespace gw = shardgate::gateway;
namespace io = shardgate::io;
namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// The token the emulator accepts and the clusters send.
inline constexpr std::string_view test_token = "cluster-it-token";

/// Emulator settings shared by the tests: short heartbeats (2 s) and a short identify window
/// (500 ms instead of Discord's 5 s) so that pacing and recovery take seconds, not minutes. (With
/// 1 s heartbeats, a shard reading a flood slowly on a loaded machine can miss an ACK queued
/// behind the flood and take its connection for a zombie.)
struct emulator_settings {
    std::uint32_t shards = 1;          ///< recommended_shards (what discovery answers)
    std::uint32_t max_concurrency = 1; ///< identify buckets
    milliseconds identify_window{500};
    milliseconds heartbeat_interval{2'000};
    double traffic_per_second = 0;
    std::uint32_t guilds = 10;
    std::uint64_t seed = 7;
};

[[nodiscard]] emulator::emulator_config make_emulator_config(const emulator_settings& s);

// HTTP
// -----------------------------------------------------------------------------------------------

struct http_response {
    unsigned status = 0;
    std::string body;
};

/// One request to 127.0.0.1:port, every step bounded by a 10 s expiry; throws on a transport
/// error (GoogleTest reports the exception as a failure).
[[nodiscard]] http_response http_get(std::uint16_t port, const std::string& target);
[[nodiscard]] http_response http_post(std::uint16_t port, const std::string& target,
                                      const std::string& body = {});

// The emulator on a thread
// -----------------------------------------------------------------------------------------------

/// `io::emulator_server` on 127.0.0.1:0, running on its own thread until destroyed.
class running_emulator {
public:
    explicit running_emulator(const emulator_settings& settings);
    ~running_emulator();
    running_emulator(const running_emulator&) = delete;
    running_emulator& operator=(const running_emulator&) = delete;

    [[nodiscard]] std::uint16_t port() const;
    [[nodiscard]] std::string ws_url() const;
    [[nodiscard]] std::string http_url() const;
    [[nodiscard]] const emulator_settings& settings() const noexcept { return settings_; }

    /// POST to the control API; the status and body as answered.
    http_response post(const std::string& target, const std::string& body = {}) const;
    /// `GET /_emulator/log`, parsed: oldest first.
    [[nodiscard]] json::array log() const;
    /// `GET /_emulator/stats`, parsed.
    [[nodiscard]] json::object stats() const;

    /// Stops the server and joins its thread (bounded: aborts if `run` does not return).
    void stop();

private:
    struct impl;
    emulator_settings settings_;
    std::unique_ptr<impl> impl_;
};

// What the cluster delivered
// -----------------------------------------------------------------------------------------------

/// One callback the cluster made, copied out of its views.
struct recorded {
    enum class type : std::uint8_t { dispatch, lifecycle };
    type kind = type::dispatch;
    steady::time_point at;
    std::uint32_t shard = 0;
    // dispatch
    std::uint64_t seq = 0;
    std::string name; ///< `t`
    std::string data; ///< `d` verbatim
    // lifecycle
    gw::lifecycle_kind event{};
    std::uint16_t code = 0;
    gw::close_reaction reaction{};
    bool resumable = false;
    std::string close_name;
    std::string remedy;

    [[nodiscard]] bool is_dispatch() const noexcept { return kind == type::dispatch; }
    [[nodiscard]] bool is(gw::lifecycle_kind k) const noexcept {
        return kind == type::lifecycle && event == k;
    }
    [[nodiscard]] bool is(gw::lifecycle_kind k, std::uint32_t s) const noexcept {
        return is(k) && shard == s;
    }
    /// One line for failure messages.
    [[nodiscard]] std::string describe() const;
};

using record_list = std::vector<recorded>;

/// The cluster's callbacks, in the order they were made (one cluster thread: a total order).
class event_log {
public:
    void add(recorded r);

    /// Waits until `pred(records)` holds or `timeout` passes; returns whether it held. The
    /// predicate runs under the lock, on every new record.
    bool wait_for(const std::function<bool(const record_list&)>& pred, milliseconds timeout) const;
    [[nodiscard]] record_list snapshot() const;
    [[nodiscard]] std::size_t size() const;

    /// Does not keep `d` of dispatches (memory for big runs); seq and name are kept.
    void drop_data(bool drop) {
        const std::scoped_lock lock(mutex_);
        drop_data_ = drop;
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    record_list records_;
    bool drop_data_ = false;
};

// Predicates over the records
// -----------------------------------------------------------------------------------------------

/// Shards that got `k` at index >= `from`.
[[nodiscard]] std::size_t count_shards_with(const record_list& r, gw::lifecycle_kind k,
                                            std::size_t from = 0);
/// The index of the first record at or after `from` that satisfies `pred`, or nullopt.
[[nodiscard]] std::optional<std::size_t>
find_record(const record_list& r, std::size_t from,
            const std::function<bool(const recorded&)>& pred);
/// Waits (bounded) for a record at or after `from` that satisfies `pred`; its index, or nullopt.
[[nodiscard]] std::optional<std::size_t>
wait_for_record(const event_log& log, std::size_t from,
                const std::function<bool(const recorded&)>& pred, milliseconds timeout);
/// Dispatches on `shard` at index >= `from`.
[[nodiscard]] std::size_t count_dispatches(const record_list& r, std::uint32_t shard,
                                           std::size_t from = 0);

/// Checks the dispatch sequence of one shard: split into sessions at each READY, every session
/// must run 1, 2, 3, ... with no gap and no duplicate. Returns the sessions' lengths; adds a
/// GoogleTest failure for each break, naming the seqs around it.
std::vector<std::uint64_t> expect_contiguous_sessions(const record_list& r, std::uint32_t shard);

// The cluster on a thread
// -----------------------------------------------------------------------------------------------

/// Options for a cluster against `emu` with `--gateway` (discovery skipped), quick recovery
/// settings (op 9 wait 50-100 ms, backoff base 100 ms) and the emulator's identify window.
[[nodiscard]] io::cluster_options cluster_options_for(const running_emulator& emu,
                                                      std::uint32_t shards,
                                                      std::uint32_t max_concurrency,
                                                      gw::compression mode);

/// An `io::cluster` running on its own thread from construction; `stop()`ped and joined on
/// destruction (bounded: aborts with a message if `run` does not return).
class cluster_runner {
public:
    /// @param setup Called with the cluster before `run` (e.g. to set `on_session`).
    explicit cluster_runner(io::cluster_options options,
                            const std::function<void(io::cluster&)>& setup = {});
    ~cluster_runner();
    cluster_runner(const cluster_runner&) = delete;
    cluster_runner& operator=(const cluster_runner&) = delete;

    [[nodiscard]] event_log& events() noexcept { return *events_; }
    [[nodiscard]] io::cluster& cluster() noexcept { return *cluster_; }
    /// When `run` was called.
    [[nodiscard]] steady::time_point started_at() const noexcept { return started_at_; }

    /// Waits (bounded) for `run` to return by itself; nullopt if it did not.
    std::optional<io::cluster_exit> wait_exit(milliseconds timeout);
    /// `run`'s error and detail once it returned.
    [[nodiscard]] const std::error_code& error() const noexcept { return ec_; }
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }

    /// stop() and join (bounded). Idempotent.
    void stop();
    /// What `run` returned, once it has (after `wait_exit` or `stop`).
    [[nodiscard]] std::optional<io::cluster_exit> result() const noexcept { return result_; }

private:
    std::shared_ptr<event_log> events_;
    std::unique_ptr<io::cluster> cluster_;
    std::thread thread_;
    std::future<io::cluster_exit> exit_;
    std::optional<io::cluster_exit> result_;
    std::error_code ec_;
    std::string detail_;
    steady::time_point started_at_;
};

// The emulator's log
// -----------------------------------------------------------------------------------------------

[[nodiscard]] std::string_view event_of(const json::value& entry);
[[nodiscard]] std::optional<std::uint32_t> shard_of(const json::value& entry);
[[nodiscard]] std::uint64_t t_ms_of(const json::value& entry);
/// Index of the first `fault` entry of `shard` that the control API injected (a flood is logged
/// as a fault too; it is skipped).
[[nodiscard]] std::optional<std::size_t> find_injected_fault(const json::array& log,
                                                             std::uint32_t shard);
/// Index of the first entry at or after `from` with `event` (and `shard` if given).
[[nodiscard]] std::optional<std::size_t> find_entry(const json::array& log, std::size_t from,
                                                    std::string_view event,
                                                    std::optional<std::uint32_t> shard = {});
/// Entries at or after `from` with `event` (and `shard` if given).
[[nodiscard]] std::vector<json::object> entries(const json::array& log, std::size_t from,
                                                std::string_view event,
                                                std::optional<std::uint32_t> shard = {});
/// The log as text, from `from`, for failure messages (at most `max` entries).
[[nodiscard]] std::string excerpt(const json::array& log, std::size_t from = 0,
                                  std::size_t max = 60);

} // namespace shardgate::test::cluster_it
