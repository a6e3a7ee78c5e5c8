// A worker (worker.hpp): the cluster, the publisher in its dispatch path, and with a cluster name
// the coordination thread that renews the lease, claims, hands over and checkpoints shards.

#include "shardgate/bridge/worker.hpp"

#include "command_server.hpp"
#include "connection_impl.hpp"
#include "kv_bucket.hpp"
#include "shardgate/gateway/field.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace shardgate::bridge {
namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace json = boost::json;

std::string default_worker_id() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) {
        host[0] = '\0';
    }
    return std::string(host[0] != '\0' ? host : "worker") + "-" + std::to_string(getpid());
}

/// KV bucket names take [A-Za-z0-9_-].
std::string bucket_safe(std::string_view name) {
    std::string out;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        out.push_back(ok ? c : '_');
    }
    return out;
}

std::string encode_session(const gateway::session_state& s, std::string_view worker) {
    json::object o;
    o["session_id"] = s.session_id;
    o["resume_gateway_url"] = s.resume_gateway_url;
    o["seq"] = s.seq;
    o["worker"] = worker;
    return json::serialize(o);
}

std::optional<gateway::session_state> decode_session(const std::string& text) {
    boost::system::error_code ec;
    const auto v = json::parse(text, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    const auto& o = v.as_object();
    const auto* id = o.if_contains("session_id");
    const auto* url = o.if_contains("resume_gateway_url");
    const auto* seq = o.if_contains("seq");
    if (id == nullptr || url == nullptr || seq == nullptr || !id->is_string() ||
        !url->is_string() || !(seq->is_uint64() || seq->is_int64())) {
        return std::nullopt;
    }
    return gateway::session_state{std::string(id->as_string()), std::string(url->as_string()),
                                  seq->is_uint64() ? seq->as_uint64()
                                                   : static_cast<std::uint64_t>(seq->as_int64())};
}

/// The share of `count` shards of the worker at `index` among `n`: the first `count % n` take one
/// more.
std::size_t quota(std::size_t index, std::size_t n, std::size_t count) {
    return count / n + (index < count % n ? 1 : 0);
}

} // namespace

class worker::impl {
public:
    explicit impl(worker_options o)
        : options(std::move(o))
        , id(options.worker_id.empty() ? default_worker_id() : options.worker_id) {
        auto cluster_options = options.cluster;
        if (clustered()) {
            cluster_options.manual_assignment = true;
            const auto bucket = bucket_safe(options.cluster_name) + "-identify";
            const auto window = cluster_options.identify_window;
            const auto margin = options.identify_margin;
            cluster_options.identify_scheduler = [this, bucket, window,
                                                  margin](const gateway::session_start_limit& limit,
                                                          gateway::time_point /*now*/) {
                shared_identify_settings s;
                s.bucket = bucket;
                s.window = window;
                s.margin = margin;
                auto scheduler = std::make_unique<shared_identify_scheduler>(nats, s, limit);
                identify = scheduler.get();
                return std::unique_ptr<gateway::identify_scheduler>(std::move(scheduler));
            };
        }
        cluster = std::make_unique<io::cluster>(std::move(cluster_options));
    }

    [[nodiscard]] bool clustered() const { return !options.cluster_name.empty(); }

    /// The lease has not been renewed for half of it: others may soon take the shards.
    [[nodiscard]] bool lease_overdue() const {
        const auto renewed = last_renew_ns.load(std::memory_order_acquire);
        const auto age = steady::now().time_since_epoch().count() - renewed;
        return renewed != 0 &&
               age >=
                   std::chrono::duration_cast<std::chrono::nanoseconds>(options.lease / 2).count();
    }

    /// May this process publish now? Without a cluster: always. With one: not while the lease is
    /// overdue (the event waits: its shard stops reading until the lease is renewed or the shards
    /// are fenced), and never for shards fenced away (the event is dropped; whoever resumes the
    /// session replays it).
    [[nodiscard]] publish_gate gate_state() const {
        if (!clustered()) {
            return publish_gate::open;
        }
        if (fenced.load(std::memory_order_acquire)) {
            return publish_gate::closed;
        }
        if (last_renew_ns.load(std::memory_order_acquire) == 0 || lease_overdue()) {
            return publish_gate::wait;
        }
        return publish_gate::open;
    }

    void notice(const std::string& line) {
        if (on_notice) {
            on_notice(line);
        }
    }

    // The dispatch path (the shards' threads) ------------------------------------------------
    void dispatch(const io::dispatch& d) {
        std::string session;
        if (d.name == "READY") {
            session = gateway::string_field(d.data, "session_id").value_or("");
            const std::lock_guard lock(sessions_mutex);
            auto& s = sessions[d.shard];
            s.session_id = session;
            s.resume_gateway_url = gateway::string_field(d.data, "resume_gateway_url").value_or("");
        } else {
            const std::lock_guard lock(sessions_mutex);
            if (const auto it = sessions.find(d.shard); it != sessions.end()) {
                session = it->second.session_id;
            }
        }
        publisher->publish(d.shard, session, d.seq, d.name, d.data);
        if (on_dispatch) {
            on_dispatch(d);
        }
    }

    void session_changed(std::uint32_t shard, const std::optional<gateway::session_state>& s) {
        const std::lock_guard lock(sessions_mutex);
        if (!s) {
            sessions.erase(shard);
            return;
        }
        auto& known = sessions[shard];
        if (known.session_id != s->session_id ||
            known.resume_gateway_url != s->resume_gateway_url) {
            known.session_id = s->session_id;
            known.resume_gateway_url = s->resume_gateway_url;
        }
    }

    void lifecycle(const gateway::lifecycle_event& e) {
        if (e.kind == gateway::lifecycle_kind::resumed ||
            e.kind == gateway::lifecycle_kind::ready) {
            const std::lock_guard lock(failover_mutex);
            if (const auto it = failover_started.find(e.shard); it != failover_started.end()) {
                last_failover_ms = static_cast<std::uint64_t>(
                    std::chrono::duration_cast<milliseconds>(steady::now() - it->second).count());
                failover_started.erase(it);
            }
        }
        if (on_lifecycle) {
            on_lifecycle(e);
        }
    }

    // Start-up ------------------------------------------------------------------------------
    io::cluster_exit run(std::error_code& ec, std::string& detail) {
        nats = nats_connection::open(options.nats, ec, detail);
        if (!nats) {
            return io::cluster_exit::startup_failed;
        }
        publisher = std::make_unique<event_publisher>(nats, options.stream, options.publisher,
                                                      [this] { return gate_state(); });
        bool told = false;
        for (;;) {
            if (stop_requested) {
                return io::cluster_exit::stopped;
            }
            std::string why;
            const auto e = publisher->ensure_stream(milliseconds(1'000), why);
            if (!e) {
                break;
            }
            if (e != std::errc::timed_out) {
                ec = e;
                detail = why;
                return io::cluster_exit::startup_failed;
            }
            if (!told) {
                notice("waiting for NATS at " + options.nats.urls.front() + " (" + why + ")");
                told = true;
            }
        }
        if (told) {
            notice("NATS is up; stream " + options.stream.stream + " ready");
        }
        cluster->on_dispatch([this](const io::dispatch& d) { dispatch(d); });
        cluster->on_session(
            [this](std::uint32_t shard, const std::optional<gateway::session_state>& s) {
                session_changed(shard, s);
            });
        cluster->on_lifecycle([this](const gateway::lifecycle_event& e) { lifecycle(e); });
        commands = std::make_unique<detail::command_server>(
            nats->internals().get(), options.stream.subject_prefix, *cluster,
            [this](std::uint32_t shard) { return runs_here(shard); });
        if (std::string why; !commands->start(why)) {
            notice(why + ": commands by NATS request are off");
        }
        if (clustered()) {
            coordinator = std::thread([this] { coordinate(); });
        }
        const auto exit = cluster->run(ec, detail);
        {
            const std::lock_guard lock(stop_mutex);
            cluster_done = true;
        }
        stop_wake.notify_all();
        if (coordinator.joinable()) {
            coordinator.join();
        }
        commands.reset();
        return exit;
    }

    /// Whether a command for `shard` is this process's to carry out.
    bool runs_here(std::uint32_t shard) {
        if (clustered()) {
            const std::lock_guard lock(owned_view_mutex);
            return owned_view.count(shard) != 0;
        }
        const auto& ids = options.cluster.shard_ids;
        return ids.empty() || std::find(ids.begin(), ids.end(), shard) != ids.end();
    }

    /// Publishes `owned` for the command server's thread.
    void share_owned() {
        const std::lock_guard lock(owned_view_mutex);
        owned_view = owned;
    }

    void stop(gateway::close_mode mode) {
        {
            const std::lock_guard lock(stop_mutex);
            stop_requested = true;
        }
        stop_wake.notify_all();
        if (!clustered()) {
            cluster->stop(mode);
        }
        // Clustered: the coordinator hands the shards over, then stops the cluster.
    }

    // Coordination (its own thread) ---------------------------------------------------------
    struct seen_worker {
        std::uint64_t revision = 0;
        steady::time_point changed;
    };
    struct owner_entry {
        std::string worker;
        std::uint64_t revision = 0;
    };
    struct released_shard {
        std::uint32_t shard;
        std::optional<gateway::session_state> session;
    };

    void coordinate() {
        std::string detail;
        jsCtx* raw = nullptr;
        natsConnection_JetStream(&raw, nats->internals().get(), nullptr);
        detail::js_ptr js(raw);
        const auto base = bucket_safe(options.cluster_name);
        const auto workers_age = std::max<milliseconds>(milliseconds(60'000), options.lease * 10);
        while (!workers_kv || !shards_kv) {
            if (!workers_kv) {
                workers_kv =
                    detail::kv_bucket::open(js.get(), base + "-workers", workers_age, detail);
            }
            if (!shards_kv) {
                shards_kv =
                    detail::kv_bucket::open(js.get(), base + "-shards", milliseconds{0}, detail);
            }
            if (wait_or_stop(milliseconds(500)) && (!workers_kv || !shards_kv)) {
                cluster->stop(gateway::close_mode::keep_session);
                return;
            }
        }
        detail::kv_watcher_ptr workers_watch;
        detail::kv_watcher_ptr owners_watch;
        const auto tick = options.lease / 5;
        auto next_tick = steady::now();
        for (;;) {
            if (!workers_watch) {
                kvWatcher* w = nullptr;
                if (kvStore_WatchAll(&w, workers_kv->get(), nullptr) == NATS_OK) {
                    workers_watch.reset(w);
                }
            }
            if (!owners_watch) {
                kvWatcher* w = nullptr;
                if (kvStore_Watch(&w, shards_kv->get(), "owner.>", nullptr) == NATS_OK) {
                    owners_watch.reset(w);
                }
            }
            if (!read_watch(workers_watch.get(), true)) {
                workers_watch.reset(); // made again on the next round
            }
            if (!read_watch(owners_watch.get(), false)) {
                owners_watch.reset();
            }
            {
                const std::lock_guard lock(stop_mutex);
                if (cluster_done) {
                    return;
                }
            }
            if (steady::now() >= next_tick) {
                next_tick = steady::now() + tick;
                if (tick_once()) {
                    return; // handed everything over and stopped the cluster
                }
            }
        }
    }

    /// Applies what a watcher has (waiting up to 20 ms for the first entry).
    /// False when the watcher failed for good (not a timeout): it must be made again.
    bool read_watch(kvWatcher* w, bool workers) {
        if (w == nullptr) {
            std::this_thread::sleep_for(milliseconds(20));
            return true;
        }
        int wait_ms = 20;
        for (;;) {
            kvEntry* raw = nullptr;
            if (const auto status = kvWatcher_Next(&raw, w, wait_ms); status != NATS_OK) {
                return status == NATS_TIMEOUT;
            }
            wait_ms = 1;
            detail::kv_entry_ptr e(raw);
            if (!e) {
                continue; // the end of the initial values
            }
            const std::string key = kvEntry_Key(e.get());
            const auto op = kvEntry_Operation(e.get());
            const bool removed = op == kvOp_Delete || op == kvOp_Purge;
            if (workers) {
                if (key.rfind("worker.", 0) != 0) {
                    continue;
                }
                const auto who = key.substr(7);
                if (removed) {
                    seen.erase(who);
                } else if (const auto revision = kvEntry_Revision(e.get());
                           seen.count(who) == 0 || seen[who].revision != revision) {
                    // Only a new revision counts as a sign of life: a watcher made again
                    // delivers the last one again, which says nothing about now.
                    seen[who] = {revision, steady::now()};
                }
            } else {
                std::uint32_t shard = 0;
                const auto digits = std::string_view(key).substr(6);
                if (std::from_chars(digits.data(), digits.data() + digits.size(), shard).ec !=
                    std::errc{}) {
                    continue;
                }
                if (removed) {
                    owners.erase(shard);
                } else {
                    owners[shard] = {kvEntry_ValueString(e.get()), kvEntry_Revision(e.get())};
                }
            }
        }
    }

    bool wait_or_stop(milliseconds d) {
        std::unique_lock lock(stop_mutex);
        return stop_wake.wait_for(lock, d, [this] { return stop_requested || cluster_done; });
    }

    /// One round; true when this worker is done (stopped after handing over).
    bool tick_once() {
        const auto now = steady::now();
        // Fencing first: after a freeze (SIGSTOP, a swapped-out process) the shards stop before a
        // renewal could make this worker look alive again; others may own them by now.
        if (lease_overdue() && !fenced) {
            fence();
        }
        // The lease.
        if (workers_kv->put("worker." + id, std::to_string(owned.size()))) {
            if (last_renew_ns.load() == 0 || fenced) {
                settle_until = now + options.lease / 5 * 2; // see the others before claiming
            }
            last_renew_ns.store(now.time_since_epoch().count(), std::memory_order_release);
            if (fenced.exchange(false)) {
                notice("lease renewed: joining the cluster again");
            }
        }
        take_released();
        bool stopping = false;
        {
            const std::lock_guard lock(stop_mutex);
            stopping = stop_requested;
        }
        if (stopping) {
            return hand_over_all();
        }
        if (fenced || last_renew_ns.load() == 0) {
            return false;
        }
        start_pending();
        checkpoint_all();
        const auto count = cluster->shard_count();
        if (count == 0 || now < settle_until) {
            return false;
        }
        // The live workers and this one's share.
        std::vector<std::string> live{id};
        for (const auto& [who, s] : seen) {
            if (who != id && now - s.changed < options.lease) {
                live.push_back(who);
            }
        }
        std::sort(live.begin(), live.end());
        live_workers = live.size();
        const auto index =
            static_cast<std::size_t>(std::find(live.begin(), live.end(), id) - live.begin());
        const auto mine = quota(index, live.size(), count);
        const auto have = owned.size() + starting.size();
        if (have < mine) {
            claim(count, live, index, mine - have);
        } else if (have > mine && releasing.empty()) {
            // Hand over only what others lack (they may not see this worker's view yet).
            std::size_t lacking = 0;
            for (std::size_t i = 0; i < live.size(); ++i) {
                if (live[i] == id) {
                    continue;
                }
                std::size_t theirs = 0;
                for (const auto& [s, o] : owners) {
                    theirs += o.worker == live[i] ? 1U : 0U;
                }
                const auto q = quota(i, live.size(), count);
                lacking += theirs < q ? q - theirs : 0;
            }
            // The highest ids go (hand_over changes `owned`: pick them first).
            const auto extra = std::min(have - mine, lacking);
            std::vector<std::uint32_t> going(owned.rbegin(), owned.rend());
            going.resize(std::min(going.size(), extra));
            for (const auto shard : going) {
                hand_over(shard);
            }
        }
        return false;
    }

    void claim(std::uint32_t count, const std::vector<std::string>& live, std::size_t index,
               std::size_t wanted) {
        const auto is_live = [&](const std::string& w) {
            return std::find(live.begin(), live.end(), w) != live.end();
        };
        const auto start = static_cast<std::uint32_t>(index * count / live.size());
        for (std::uint32_t k = 0; k < count && wanted > 0; ++k) {
            const auto shard = (start + k) % count;
            if (owned.count(shard) != 0 || starting.count(shard) != 0 ||
                releasing.count(shard) != 0) {
                continue;
            }
            const auto it = owners.find(shard);
            std::optional<std::uint64_t> expected;
            std::string previous;
            if (it != owners.end()) {
                previous = it->second.worker;
                if (!previous.empty() && previous != id && is_live(previous)) {
                    continue; // someone live runs it
                }
                expected = it->second.revision;
            }
            std::uint64_t revision = 0;
            const auto r =
                shards_kv->write_if("owner." + std::to_string(shard), id, expected, &revision);
            if (r != detail::cas_result::written) {
                continue; // another worker was faster, or NATS failed: next round
            }
            owners[shard] = {id, revision};
            --wanted;
            ownership_event e;
            e.shard = shard;
            e.what = ownership_event::kind::took;
            if (!previous.empty() && previous != id) {
                e.what = ownership_event::kind::took_over;
                e.from = previous;
                ++took_over;
                const std::lock_guard lock(failover_mutex);
                const auto s = seen.find(previous);
                failover_started[shard] = s != seen.end() ? s->second.changed : steady::now();
            } else {
                ++took;
            }
            auto session = saved_session(shard, previous);
            e.resumes = session.has_value();
            if (session) {
                const std::lock_guard lock(sessions_mutex);
                sessions[shard] = *session;
            }
            starting[shard] = session;
            emit(e);
        }
        start_pending();
    }

    /// Starts claimed shards (a shard given away a moment ago may still be closing here).
    void start_pending() {
        for (auto it = starting.begin(); it != starting.end();) {
            const auto ec = cluster->add_shard(it->first, it->second);
            if (!ec) {
                owned.insert(it->first);
                share_owned();
                it = starting.erase(it);
            } else if (ec == std::errc::device_or_resource_busy ||
                       ec == gateway::error::shard_stopped) {
                ++it; // next round
            } else {
                it = starting.erase(it);
            }
        }
    }

    void hand_over(std::uint32_t shard) {
        owned.erase(shard);
        share_owned();
        releasing.insert(shard);
        const auto ec = cluster->release_shard(
            shard, [this, shard](const std::optional<gateway::session_state>& s) {
                const std::lock_guard lock(released_mutex);
                released.push_back({shard, s});
            });
        if (ec) { // not running after all (it stopped): free it as it is
            const std::lock_guard lock(released_mutex);
            released.push_back({shard, std::nullopt});
        }
    }

    /// Saves the sessions of shards that finished closing and frees their owner keys.
    void take_released() {
        std::deque<released_shard> done;
        {
            const std::lock_guard lock(released_mutex);
            done.swap(released);
        }
        // One bound for the whole batch: a hand-over of many shards while NATS is slow must not
        // wait five seconds per shard.
        const auto until = steady::now() + std::chrono::seconds(5);
        for (auto& r : done) {
            releasing.erase(r.shard);
            if (fenced) {
                continue; // not ours any more: write nothing
            }
            const auto left = std::max(steady::duration::zero(), until - steady::now());
            if (!publisher->drain(r.shard, std::chrono::duration_cast<milliseconds>(left))) {
                notice("shard " + std::to_string(r.shard) +
                       ": publishes still unacknowledged after 5 s; the next owner replays them");
            }
            if (r.session) {
                auto s = *r.session;
                const auto acked = publisher->acked(r.shard);
                s.seq =
                    acked && acked->session_id == s.session_id ? std::min(s.seq, acked->seq) : 0;
                (void)shards_kv->put("session." + std::to_string(r.shard), encode_session(s, id));
            }
            const auto key = "owner." + std::to_string(r.shard);
            const auto it = owners.find(r.shard);
            if (it != owners.end() && it->second.worker == id) {
                std::uint64_t revision = 0;
                if (shards_kv->write_if(key, "", it->second.revision, &revision) ==
                    detail::cas_result::written) {
                    it->second = {"", revision};
                }
            }
            publisher->forget(r.shard);
            ++handed_over;
            ownership_event e;
            e.what = ownership_event::kind::handed_over;
            e.shard = r.shard;
            e.resumes = r.session.has_value();
            emit(e);
        }
    }

    /// Stop: hands every shard over; true once all are and the cluster is stopping.
    bool hand_over_all() {
        if (!handing_over_all) {
            handing_over_all = true;
            starting.clear();
            const auto shards = std::vector<std::uint32_t>(owned.begin(), owned.end());
            for (const auto s : shards) {
                hand_over(s);
            }
            hand_over_deadline = steady::now() + std::chrono::seconds(10);
        }
        if (!releasing.empty() && steady::now() < hand_over_deadline) {
            return false;
        }
        (void)shards_kv->erase("checkpoint." + id); // every session is in session.<shard> now
        (void)workers_kv->erase("worker." + id);    // the others see it leave at once
        cluster->stop(gateway::close_mode::keep_session);
        return true;
    }

    /// The lease is gone: stop publishing and running shards before anyone may take them.
    void fence() {
        fenced = true;
        ++fenced_count;
        notice("lease lost (NATS unreachable or this process was stalled for over " +
               std::to_string((options.lease / 2).count()) +
               " ms): stopping this worker's shards; other workers resume them");
        for (const auto s : owned) {
            (void)cluster->release_shard(s, [](const std::optional<gateway::session_state>&) {});
            publisher->forget(s);
            ownership_event e;
            e.what = ownership_event::kind::fenced;
            e.shard = s;
            emit(e);
        }
        owned.clear();
        share_owned();
        starting.clear();
        last_checkpoint.clear();
        checkpointed_sessions.clear();
    }

    /// Every owned shard's acked position in one key, `checkpoint.<worker>`: one write per worker
    /// per interval however many shards it runs (10,000 shards would otherwise be 10,000 writes a
    /// second). A worker that takes a shard over from a dead one reads the dead one's key.
    void checkpoint_all() {
        const auto now = steady::now();
        const bool due = now >= next_checkpoint;
        json::object all;
        std::map<std::uint32_t, std::string> session_ids;
        for (const auto shard : owned) {
            std::optional<gateway::session_state> s;
            {
                const std::lock_guard lock(sessions_mutex);
                if (const auto it = sessions.find(shard); it != sessions.end()) {
                    s = it->second;
                }
            }
            const auto acked = publisher->acked(shard);
            if (!s || !acked || acked->session_id != s->session_id) {
                continue;
            }
            s->seq = acked->seq;
            session_ids[shard] = s->session_id;
            all[std::to_string(shard)] = json::parse(encode_session(*s, id));
        }
        // On time, or at once when a shard has a session the key does not hold yet: a worker that
        // dies a moment after a READY must not leave that session unresumable.
        if (!due && session_ids == checkpointed_sessions) {
            return;
        }
        auto text = json::serialize(all);
        if (text == last_checkpoint) {
            return;
        }
        if (shards_kv->put("checkpoint." + id, text)) {
            last_checkpoint = std::move(text);
            checkpointed_sessions = std::move(session_ids);
            next_checkpoint = now + options.checkpoint_interval;
        }
    }

    /// Where to resume `shard` from: its previous owner's checkpoint, else the session saved at
    /// its last hand-over.
    std::optional<gateway::session_state> saved_session(std::uint32_t shard,
                                                        const std::string& previous) {
        std::error_code ec;
        // The previous owner's checkpoint: a dead worker's, or this one's own from before it lost
        // its lease (nobody took the shard meanwhile).
        if (!previous.empty()) {
            if (const auto saved = shards_kv->get("checkpoint." + previous, ec)) {
                boost::system::error_code jec;
                const auto v = json::parse(saved->value, jec);
                if (!jec && v.is_object()) {
                    if (const auto* entry = v.as_object().if_contains(std::to_string(shard))) {
                        return decode_session(json::serialize(*entry));
                    }
                }
            }
        }
        if (const auto saved = shards_kv->get("session." + std::to_string(shard), ec)) {
            return decode_session(saved->value);
        }
        return std::nullopt;
    }

    void emit(const ownership_event& e) {
        if (on_ownership) {
            on_ownership(e);
        }
    }

    worker_options options;
    std::string id;
    std::shared_ptr<nats_connection> nats;
    std::unique_ptr<event_publisher> publisher;
    std::unique_ptr<io::cluster> cluster;
    shared_identify_scheduler* identify = nullptr;

    std::function<void(const io::dispatch&)> on_dispatch;
    std::function<void(const gateway::lifecycle_event&)> on_lifecycle;
    std::function<void(const ownership_event&)> on_ownership;
    std::function<void(const std::string&)> on_notice;

    std::mutex stop_mutex;
    std::condition_variable stop_wake;
    bool stop_requested = false;
    bool cluster_done = false;
    std::thread coordinator;

    std::unique_ptr<detail::command_server> commands;
    std::mutex owned_view_mutex;
    std::set<std::uint32_t> owned_view; ///< `owned`, for the command server's thread

    std::mutex sessions_mutex;
    std::unordered_map<std::uint32_t, gateway::session_state> sessions;

    std::mutex failover_mutex;
    std::map<std::uint32_t, steady::time_point> failover_started;

    std::mutex released_mutex;
    std::deque<released_shard> released;

    // The coordinator's own.
    std::optional<detail::kv_bucket> workers_kv;
    std::optional<detail::kv_bucket> shards_kv;
    std::map<std::string, seen_worker> seen;
    std::map<std::uint32_t, owner_entry> owners;
    std::set<std::uint32_t> owned;
    std::map<std::uint32_t, std::optional<gateway::session_state>> starting;
    std::set<std::uint32_t> releasing;
    std::string last_checkpoint;                                ///< What `checkpoint.<id>` holds.
    std::map<std::uint32_t, std::string> checkpointed_sessions; ///< Its session ids by shard.
    steady::time_point settle_until{};
    steady::time_point next_checkpoint{};
    steady::time_point hand_over_deadline{};
    bool handing_over_all = false;

    std::atomic<std::int64_t> last_renew_ns{0};
    std::atomic<bool> fenced{false};
    std::atomic<std::uint64_t> took{0};
    std::atomic<std::uint64_t> took_over{0};
    std::atomic<std::uint64_t> handed_over{0};
    std::atomic<std::uint64_t> fenced_count{0};
    std::atomic<std::uint64_t> last_failover_ms{0};
    std::atomic<std::uint64_t> live_workers{0};
};

worker::worker(worker_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}
worker::~worker() = default;

void worker::on_dispatch(std::function<void(const io::dispatch&)> handler) {
    impl_->on_dispatch = std::move(handler);
}
void worker::on_lifecycle(std::function<void(const gateway::lifecycle_event&)> handler) {
    impl_->on_lifecycle = std::move(handler);
}
void worker::on_ownership(std::function<void(const ownership_event&)> handler) {
    impl_->on_ownership = std::move(handler);
}
void worker::on_notice(std::function<void(const std::string&)> handler) {
    impl_->on_notice = std::move(handler);
}
io::cluster_exit worker::run(std::error_code& ec, std::string& detail) {
    return impl_->run(ec, detail);
}
void worker::stop(gateway::close_mode mode) {
    impl_->stop(mode);
}
io::cluster& worker::shards() {
    return *impl_->cluster;
}
const std::string& worker::id() const {
    return impl_->id;
}

worker_stats worker::stats() const {
    worker_stats s;
    if (impl_->publisher) {
        s.publisher = impl_->publisher->stats();
    }
    std::uint64_t owned = 0;
    for (const auto& st : impl_->cluster->status()) {
        owned += gateway::shard_state::stopped != st.state ? 1 : 0;
    }
    s.owned = owned;
    s.took = impl_->took;
    s.took_over = impl_->took_over;
    s.handed_over = impl_->handed_over;
    s.fenced = impl_->fenced_count;
    s.last_failover_ms = impl_->last_failover_ms;
    s.live_workers = impl_->live_workers;
    if (impl_->identify != nullptr) {
        s.identify_wait_ms = impl_->identify->wait_ms_total();
    }
    return s;
}

std::string worker::metrics() const {
    const auto s = stats();
    std::string out = impl_->cluster->metrics();
    const auto line = [&](std::string_view name, std::string_view type, std::string_view help,
                          double value) {
        out.append("# HELP shardgate_bridge_").append(name).append(" ").append(help).append("\n");
        out.append("# TYPE shardgate_bridge_").append(name).append(" ").append(type).append("\n");
        out.append("shardgate_bridge_").append(name).append(" ");
        out.append(std::to_string(value)).append("\n");
    };
    const auto& p = s.publisher;
    line("publishes_in_flight", "gauge", "Publishes waiting for their PubAck.",
         static_cast<double>(p.in_flight));
    line("published_total", "counter", "Dispatches published to JetStream.",
         static_cast<double>(p.published));
    line("acked_total", "counter", "PubAcks received (duplicates included).",
         static_cast<double>(p.acked));
    line("duplicates_total", "counter", "PubAcks saying the stream had the message already.",
         static_cast<double>(p.duplicates));
    line("retried_total", "counter", "Publishes repeated after an error or a timeout.",
         static_cast<double>(p.retried));
    line("oversized_total", "counter", "Events over the server's max_payload (sent as markers).",
         static_cast<double>(p.oversized));
    line("dropped_fenced_total", "counter", "Events not published because the lease was lost.",
         static_cast<double>(p.dropped_fenced));
    line("blocked_seconds_total", "counter", "Time shards waited for room to publish.",
         static_cast<double>(p.blocked_ns) / 1e9);
    line("shards_owned", "gauge", "Shards this worker runs.", static_cast<double>(s.owned));
    line("live_workers", "gauge", "Workers of the cluster this one sees alive.",
         static_cast<double>(s.live_workers));
    line("took_total", "counter", "Shards started here (free or new).",
         static_cast<double>(s.took));
    line("failovers_total", "counter", "Shards taken over from a dead worker.",
         static_cast<double>(s.took_over));
    line("handovers_total", "counter", "Shards handed over to another worker.",
         static_cast<double>(s.handed_over));
    line("fenced_total", "counter", "Times this worker lost its lease and stopped its shards.",
         static_cast<double>(s.fenced));
    line("last_failover_seconds", "gauge",
         "From a dead worker's last lease renewal to the first event resumed here.",
         static_cast<double>(s.last_failover_ms) / 1e3);
    line("identify_wait_seconds_total", "counter",
         "Time shards waited for an identify slot of the cluster.",
         static_cast<double>(s.identify_wait_ms) / 1e3);
    return out;
}

} // namespace shardgate::bridge
