// The JetStream publisher (event_publisher.hpp). libnats keeps up to `max_in_flight` publishes
// waiting for their PubAck and stalls `js_PublishMsgAsync` beyond that: `publish` waits there (the
// shard's thread blocks, its socket is not read: back-pressure). A PubAck error or timeout hands
// the message to a retry thread, which publishes it again with the same Nats-Msg-Id.

#include "shardgate/bridge/event_publisher.hpp"

#include "connection_impl.hpp"

#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace shardgate::bridge {
namespace {

using steady = std::chrono::steady_clock;
constexpr std::int64_t stall_wait_ms = 50; // how often a blocked publish looks at the gate
constexpr std::size_t header_allowance = 512;

std::uint64_t to_u64(const char* s) {
    std::uint64_t v = 0;
    if (s != nullptr) {
        std::from_chars(s, s + std::char_traits<char>::length(s), v);
    }
    return v;
}

std::string header(natsMsg* m, const char* key) {
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, key, &v) == NATS_OK && v != nullptr) {
        return v;
    }
    return {};
}

/// One event, as the retry thread needs it to build the message again.
struct event_copy {
    std::string subject;
    std::string data;
    std::uint32_t shard = 0;
    std::uint64_t seq = 0;
    std::string session;
    std::string name;
    std::string error; // Shardgate-Error, for oversized events
    std::size_t original_size = 0;
};

natsStatus make_message(const event_copy& e, natsMsg** out) {
    natsStatus s = natsMsg_Create(out, e.subject.c_str(), nullptr, e.data.data(),
                                  static_cast<int>(e.data.size()));
    const auto msg_id = e.session + ":" + std::to_string(e.seq);
    const auto shard = std::to_string(e.shard);
    const auto seq = std::to_string(e.seq);
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Nats-Msg-Id", msg_id.c_str());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Shard", shard.c_str());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Seq", seq.c_str());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Session", e.session.c_str());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Event", e.name.c_str());
    }
    if (s == NATS_OK && !e.error.empty()) {
        s = natsMsgHeader_Set(*out, "Shardgate-Error", e.error.c_str());
        const auto size = std::to_string(e.original_size);
        if (s == NATS_OK) {
            s = natsMsgHeader_Set(*out, "Shardgate-Size", size.c_str());
        }
    }
    if (s != NATS_OK && *out != nullptr) {
        natsMsg_Destroy(*out);
        *out = nullptr;
    }
    return s;
}

} // namespace

class event_publisher::impl {
public:
    impl(std::shared_ptr<nats_connection> c, stream_settings st, publisher_settings ps,
         std::function<bool()> g)
        : connection(std::move(c))
        , stream(std::move(st))
        , settings(ps)
        , gate(std::move(g)) {
        jsOptions o;
        jsOptions_Init(&o);
        o.PublishAsync.MaxPending = static_cast<std::int64_t>(settings.max_in_flight);
        o.PublishAsync.AckHandler = &impl::on_ack;
        o.PublishAsync.AckHandlerClosure = this;
        o.PublishAsync.StallWait = stall_wait_ms;
        jsCtx* raw = nullptr;
        if (natsConnection_JetStream(&raw, connection->internals().get(), &o) == NATS_OK) {
            js.reset(raw);
        }
        retry_thread = std::thread([this] { retry_loop(); });
    }

    ~impl() {
        {
            const std::lock_guard lock(mutex);
            stopping = true;
        }
        changed.notify_all();
        retry_thread.join();
        if (js) {
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MaxWait = 2'000;
            js_PublishAsyncComplete(js.get(), &po);
            // What is still pending gets no callback after this (the ids make a later repeat safe).
            natsMsgList pending{};
            if (js_PublishAsyncGetPendingList(&pending, js.get()) == NATS_OK) {
                natsMsgList_Destroy(&pending);
            }
        }
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;
    impl(impl&&) = delete;
    impl& operator=(impl&&) = delete;

    [[nodiscard]] bool open() const { return !gate || gate(); }

    /// Publishes `m` (taking it), waiting while libnats stalls. False: the gate closed first.
    bool send(natsMsg* m) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        // A PubAck not back in time comes to on_ack as an error (and is published again).
        po.MaxWait = settings.ack_timeout.count();
        const auto started = steady::now();
        bool waited = false;
        for (;;) {
            if (!open()) {
                natsMsg_Destroy(m);
                break;
            }
            const natsStatus s = js_PublishMsgAsync(js.get(), &m, &po);
            if (s == NATS_OK) {
                if (waited) {
                    blocked_ns += static_cast<std::uint64_t>(
                        std::chrono::nanoseconds(steady::now() - started).count());
                }
                return true;
            }
            waited = true;
            if (s != NATS_TIMEOUT) {
                // Not a stall: NATS is away and libnats' reconnect buffer is full, or the
                // connection is closing. Wait and try again; the message is still ours.
                std::this_thread::sleep_for(std::chrono::milliseconds(stall_wait_ms));
            }
        }
        blocked_ns +=
            static_cast<std::uint64_t>(std::chrono::nanoseconds(steady::now() - started).count());
        return false;
    }

    publish_result publish(std::uint32_t shard, std::string_view session, std::uint64_t seq,
                           std::string_view name, std::string_view data) {
        event_copy e;
        e.subject.reserve(stream.subject_prefix.size() + name.size() + 20);
        e.subject.append(stream.subject_prefix).append(".events.");
        e.subject.append(std::to_string(shard)).append(".").append(name);
        e.shard = shard;
        e.seq = seq;
        e.session = session;
        e.name = name;
        const auto limit = connection->max_payload();
        std::string_view body = data;
        if (limit != 0 && data.size() + header_allowance > limit) {
            e.error = "too-large";
            e.original_size = data.size();
            body = {};
            ++oversized;
        }
        {
            std::unique_lock lock(mutex);
            auto& t = tracks[shard];
            if (t.session != session) {
                t = track{};
                t.session = session;
            }
            ++t.pending[seq]; // a replay can publish a seq again before its first PubAck
            t.highest = std::max(t.highest, seq);
            // The byte bound; libnats bounds the count.
            const auto started = steady::now();
            // Retries count too: with NATS away, messages whose PubAck timed out wait for their
            // retry, and new ones must not take their room.
            while (in_flight >= settings.max_in_flight ||
                   (in_flight_bytes != 0 &&
                    in_flight_bytes + body.size() > settings.max_in_flight_bytes)) {
                if (changed.wait_for(lock, std::chrono::milliseconds(stall_wait_ms)) ==
                        std::cv_status::timeout &&
                    !open()) {
                    break;
                }
            }
            blocked_ns += static_cast<std::uint64_t>(
                std::chrono::nanoseconds(steady::now() - started).count());
            in_flight_bytes += body.size();
            ++in_flight;
        }
        natsMsg* m = nullptr;
        e.data.assign(body); // the only copy: libnats copies it again into the message
        if (make_message(e, &m) != NATS_OK || !send(m)) {
            settle(shard, session, seq, body.size(), false);
            ++dropped_fenced;
            return publish_result::fenced;
        }
        ++published;
        return publish_result::published;
    }

    /// A publish is over (acked, or given up): out of the in-flight tally, and out of the
    /// shard's pending set when acked.
    void settle(std::uint32_t shard, std::string_view session, std::uint64_t seq, std::size_t bytes,
                bool acked_ok) {
        {
            const std::lock_guard lock(mutex);
            in_flight_bytes -= std::min(in_flight_bytes, bytes);
            if (in_flight > 0) {
                --in_flight;
            }
            if (acked_ok) {
                if (const auto it = tracks.find(shard);
                    it != tracks.end() && it->second.session == session) {
                    auto& p = it->second.pending;
                    if (const auto at = p.find(seq); at != p.end() && --at->second == 0) {
                        p.erase(at);
                    }
                }
            }
        }
        changed.notify_all();
    }

    static void on_ack(jsCtx* /*js*/, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
        auto& self = *static_cast<impl*>(closure);
        event_copy e;
        e.shard = static_cast<std::uint32_t>(to_u64(header(msg, "Shardgate-Shard").c_str()));
        e.seq = to_u64(header(msg, "Shardgate-Seq").c_str());
        e.session = header(msg, "Shardgate-Session");
        const auto size = static_cast<std::size_t>(natsMsg_GetDataLength(msg));
        if (pa != nullptr && pae == nullptr) {
            ++self.acked;
            self.last_ack_ns = steady::now().time_since_epoch().count();
            if (pa->Duplicate) {
                ++self.duplicates;
            }
            self.settle(e.shard, e.session, e.seq, size, true);
            natsMsg_Destroy(msg); // libnats hands it back; the ack itself is not ours to free
            return;
        }
        // Failed or timed out: publish it again (a fresh message: libnats may have changed this
        // one for its own bookkeeping).
        e.subject = natsMsg_GetSubject(msg);
        e.data.assign(natsMsg_GetData(msg), size);
        e.name = header(msg, "Shardgate-Event");
        e.error = header(msg, "Shardgate-Error");
        e.original_size = to_u64(header(msg, "Shardgate-Size").c_str());
        natsMsg_Destroy(msg);
        {
            const std::lock_guard lock(self.mutex);
            self.retries.push_back(std::move(e));
        }
        self.changed.notify_all();
    }

    void retry_loop() {
        for (;;) {
            std::deque<event_copy> batch;
            {
                std::unique_lock lock(mutex);
                changed.wait_for(lock, settings.ack_timeout / 2,
                                 [this] { return stopping || !retries.empty(); });
                if (stopping && retries.empty()) {
                    return;
                }
                batch.swap(retries);
            }
            if (batch.empty()) {
                resend_unacknowledged();
                continue;
            }
            // A short pause: the error that sent them here (NATS restarting, a stream leader
            // election) is usually not over a microsecond later.
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            for (auto& e : batch) {
                natsMsg* m = nullptr;
                ++retried;
                if (make_message(e, &m) != NATS_OK || !send(m)) {
                    settle(e.shard, e.session, e.seq, e.data.size(), false);
                    ++dropped_fenced;
                }
            }
        }
    }

    /// The watchdog: publishes in flight and no PubAck for `ack_timeout` while connected means
    /// their acks were lost (NATS restarted, a reconnect): take them back from libnats and publish
    /// them again. The stream drops any that it had stored.
    void resend_unacknowledged() {
        {
            const std::lock_guard lock(mutex);
            if (in_flight == 0) {
                return;
            }
        }
        const auto since_ack =
            steady::now() - steady::time_point(steady::duration(last_ack_ns.load()));
        if (since_ack < settings.ack_timeout || !connection->connected()) {
            return;
        }
        natsMsgList pending{};
        if (js_PublishAsyncGetPendingList(&pending, js.get()) != NATS_OK) {
            return;
        }
        for (int i = 0; i < pending.Count; ++i) {
            natsMsg* m = pending.Msgs[i]; // NOLINT: libnats' array
            pending.Msgs[i] = nullptr;    // NOLINT
            const auto shard =
                static_cast<std::uint32_t>(to_u64(header(m, "Shardgate-Shard").c_str()));
            const auto seq = to_u64(header(m, "Shardgate-Seq").c_str());
            const auto session = header(m, "Shardgate-Session");
            const auto size = static_cast<std::size_t>(natsMsg_GetDataLength(m));
            ++retried;
            if (!send(m)) {
                // The gate closed: not ours to publish any more (whoever resumes replays it).
                settle(shard, session, seq, size, false);
                ++dropped_fenced;
            }
        }
        natsMsgList_Destroy(&pending); // frees what was not sent again
        last_ack_ns = steady::now().time_since_epoch().count();
    }

    std::error_code ensure_stream(std::chrono::milliseconds timeout, std::string& detail) {
        if (!js) {
            detail = "cannot make a JetStream context";
            return std::make_error_code(std::errc::not_connected);
        }
        if (!connection->wait_connected(timeout)) {
            detail = "NATS did not answer within " + std::to_string(timeout.count()) +
                     " ms: is nats-server running, with -js, at the --nats address?";
            return std::make_error_code(std::errc::timed_out);
        }
        jsStreamInfo* info = nullptr;
        jsErrCode jerr{};
        natsStatus s = js_GetStreamInfo(&info, js.get(), stream.stream.c_str(), nullptr, &jerr);
        if (s == NATS_OK) {
            jsStreamInfo_Destroy(info);
            return {};
        }
        if (s != NATS_NOT_FOUND) {
            detail = "stream " + stream.stream + ": " + detail::describe(s) +
                     " (is JetStream enabled? start nats-server with -js)";
            return detail::make_error(s);
        }
        const auto subjects = stream.subject_prefix + ".events.>";
        const char* subject_list[] = {subjects.c_str()};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = stream.stream.c_str();
        cfg.Subjects = subject_list;
        cfg.SubjectsLen = 1;
        cfg.Storage = stream.file_storage ? js_FileStorage : js_MemoryStorage;
        cfg.Duplicates =
            std::chrono::duration_cast<std::chrono::nanoseconds>(stream.duplicate_window).count();
        cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(stream.max_age).count();
        cfg.MaxBytes = stream.max_bytes > 0 ? stream.max_bytes : -1;
        cfg.Replicas = stream.replicas;
        cfg.Discard = js_DiscardOld;
        s = js_AddStream(&info, js.get(), &cfg, nullptr, &jerr);
        if (s == NATS_OK) {
            jsStreamInfo_Destroy(info);
            return {};
        }
        // Another worker may have created it at the same moment.
        if (js_GetStreamInfo(&info, js.get(), stream.stream.c_str(), nullptr, &jerr) == NATS_OK) {
            jsStreamInfo_Destroy(info);
            return {};
        }
        detail = "cannot create stream " + stream.stream + ": " + detail::describe(s);
        return detail::make_error(s);
    }

    struct track {
        std::string session;
        std::map<std::uint64_t, std::uint32_t> pending; // seq -> publishes awaiting a PubAck
        std::uint64_t highest = 0;
    };

    std::shared_ptr<nats_connection> connection;
    stream_settings stream;
    publisher_settings settings;
    std::function<bool()> gate;
    detail::js_ptr js;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::unordered_map<std::uint32_t, track> tracks;
    std::size_t in_flight_bytes = 0;
    std::uint64_t in_flight = 0;
    std::deque<event_copy> retries;
    bool stopping = false;
    std::thread retry_thread;

    std::atomic<std::uint64_t> published{0};
    std::atomic<std::uint64_t> acked{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> retried{0};
    std::atomic<std::uint64_t> oversized{0};
    std::atomic<std::uint64_t> dropped_fenced{0};
    std::atomic<std::uint64_t> blocked_ns{0};
    std::atomic<steady::rep> last_ack_ns{steady::now().time_since_epoch().count()};
};

event_publisher::event_publisher(std::shared_ptr<nats_connection> connection,
                                 stream_settings stream, publisher_settings settings,
                                 std::function<bool()> gate)
    : impl_(std::make_unique<impl>(std::move(connection), std::move(stream), settings,
                                   std::move(gate))) {}

event_publisher::~event_publisher() = default;

std::error_code event_publisher::ensure_stream(std::chrono::milliseconds timeout,
                                               std::string& detail) {
    return impl_->ensure_stream(timeout, detail);
}

publish_result event_publisher::publish(std::uint32_t shard, std::string_view session_id,
                                        std::uint64_t seq, std::string_view name,
                                        std::string_view data) {
    return impl_->publish(shard, session_id, seq, name, data);
}

std::optional<acked_position> event_publisher::acked(std::uint32_t shard) const {
    const std::lock_guard lock(impl_->mutex);
    const auto it = impl_->tracks.find(shard);
    if (it == impl_->tracks.end()) {
        return std::nullopt;
    }
    const auto& t = it->second;
    const auto seq = t.pending.empty() ? t.highest : t.pending.begin()->first - 1;
    if (seq == 0) {
        return std::nullopt;
    }
    return acked_position{t.session, seq};
}

std::size_t event_publisher::pending(std::uint32_t shard) const {
    const std::lock_guard lock(impl_->mutex);
    const auto it = impl_->tracks.find(shard);
    return it == impl_->tracks.end() ? 0 : it->second.pending.size();
}

bool event_publisher::drain(std::uint32_t shard, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] {
        const auto it = impl_->tracks.find(shard);
        return it == impl_->tracks.end() || it->second.pending.empty();
    });
}

void event_publisher::forget(std::uint32_t shard) {
    const std::lock_guard lock(impl_->mutex);
    impl_->tracks.erase(shard);
}

publisher_stats event_publisher::stats() const {
    publisher_stats s;
    {
        const std::lock_guard lock(impl_->mutex);
        s.in_flight = impl_->in_flight;
    }
    s.published = impl_->published;
    s.acked = impl_->acked;
    s.duplicates = impl_->duplicates;
    s.retried = impl_->retried;
    s.oversized = impl_->oversized;
    s.dropped_fenced = impl_->dropped_fenced;
    s.blocked_ns = impl_->blocked_ns;
    return s;
}

} // namespace shardgate::bridge
