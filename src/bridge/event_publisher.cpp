// The JetStream publisher (event_publisher.hpp). libnats keeps up to `max_in_flight` publishes
// waiting for their PubAck and stalls `js_PublishMsgAsync` beyond that: `publish` waits there (the
// shard's thread blocks, its socket is not read: back-pressure). A PubAck error or timeout hands
// the message to a retry thread, which publishes it again with the same Nats-Msg-Id.

#include "shardgate/bridge/event_publisher.hpp"

#include "connection_impl.hpp"

#include <algorithm>
#include <array>
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
    std::uint64_t generation = 0; // the shard's session when it was published
};

/// What a message in flight is, found again by its pointer when its PubAck comes (cheaper than
/// parsing its headers).
struct sent_message {
    std::uint32_t shard = 0;
    std::uint64_t seq = 0;
    std::uint64_t generation = 0;
    std::size_t bytes = 0;
    std::chrono::steady_clock::time_point at{}; ///< When it was (last) handed to libnats.
};

natsStatus make_message(std::string_view subject, std::string_view data, std::uint32_t shard_id,
                        std::uint64_t seq_number, std::string_view session, std::string_view name,
                        std::string_view error, std::size_t original_size, natsMsg** out) {
    // Reused per thread: the subject and the header values need terminated strings.
    thread_local std::string subject_z;
    thread_local std::string msg_id;
    thread_local std::string session_z;
    thread_local std::string name_z;
    subject_z.assign(subject);
    natsStatus s =
        natsMsg_Create(out, subject_z.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
    std::array<char, 24> shard{};
    std::array<char, 24> seq{};
    std::to_chars(shard.data(), shard.data() + shard.size() - 1, shard_id);
    std::to_chars(seq.data(), seq.data() + seq.size() - 1, seq_number);
    msg_id.assign(session).append(":").append(seq.data());
    session_z.assign(session);
    name_z.assign(name);
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Nats-Msg-Id", msg_id.c_str());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Shard", shard.data());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Seq", seq.data());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Session", session_z.c_str());
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(*out, "Shardgate-Event", name_z.c_str());
    }
    if (s == NATS_OK && !error.empty()) {
        const std::string e(error);
        s = natsMsgHeader_Set(*out, "Shardgate-Error", e.c_str());
        const auto size = std::to_string(original_size);
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

natsStatus make_message(const event_copy& e, natsMsg** out) {
    return make_message(e.subject, e.data, e.shard, e.seq, e.session, e.name, e.error,
                        e.original_size, out);
}

} // namespace

class event_publisher::impl {
public:
    impl(std::shared_ptr<nats_connection> c, stream_settings st, publisher_settings ps,
         std::function<publish_gate()> g)
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
        // Apart from the retry thread: that one can be stuck in a stalled publish behind exactly
        // the messages whose PubAcks were lost, which only the watchdog frees.
        watchdog_thread = std::thread([this] { watchdog_loop(); });
    }

    ~impl() {
        {
            const std::lock_guard lock(mutex);
            stopping = true;
        }
        changed.notify_all();
        stop_wake.notify_all();
        retry_thread.join();
        watchdog_thread.join();
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

    [[nodiscard]] publish_gate gate_state() const { return gate ? gate() : publish_gate::open; }
    [[nodiscard]] bool closed() const { return gate_state() == publish_gate::closed; }

    /// Publishes `m` (libnats takes it), waiting while libnats stalls. False: the gate closed
    /// first, and `m` is still the caller's to destroy.
    bool send(natsMsg* m) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        // A PubAck not back in time comes to on_ack as an error (and is published again).
        po.MaxWait = settings.ack_timeout.count();
        const auto started = steady::now();
        bool waited = false;
        for (;;) {
            const auto g = gate_state();
            if (g == publish_gate::closed) {
                break; // the caller forgets it, then destroys it
            }
            if (g == publish_gate::wait) {
                // Hold it: dropping it while its shard goes on would leave a hole for good.
                waited = true;
                std::this_thread::sleep_for(std::chrono::milliseconds(stall_wait_ms));
                continue;
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
        thread_local std::string subject;
        subject.assign(stream.subject_prefix).append(".events.");
        std::array<char, 16> digits{};
        const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), shard).ptr;
        subject.append(digits.data(), end).append(".").append(name);
        const auto limit = connection->max_payload();
        std::string_view body = data;
        std::string_view error;
        if (limit != 0 && data.size() + header_allowance > limit) {
            error = "too-large";
            body = {};
            ++oversized;
        }
        natsMsg* m = nullptr;
        if (make_message(subject, body, shard, seq, session, name, error, data.size(), &m) !=
            NATS_OK) {
            ++dropped_fenced;
            return publish_result::fenced;
        }
        {
            std::unique_lock lock(mutex);
            auto& t = tracks[shard];
            if (t.session != session) {
                t.session = session;
                t.pending.clear();
                t.highest = 0;
                ++t.generation;
            }
            ++t.pending[seq]; // a replay can publish a seq again before its first PubAck
            t.highest = std::max(t.highest, seq);
            // Retries count too: with NATS away, messages whose PubAck timed out wait for their
            // retry, and new ones must not take their room. (libnats bounds its own count too.)
            if (in_flight >= settings.max_in_flight ||
                (in_flight_bytes != 0 &&
                 in_flight_bytes + body.size() > settings.max_in_flight_bytes)) {
                const auto started = steady::now();
                // Then until a quarter has drained, not just one: waking the publisher for
                // every PubAck would cost two context switches per event.
                while (in_flight > low_water() ||
                       (in_flight_bytes != 0 &&
                        in_flight_bytes + body.size() > settings.max_in_flight_bytes)) {
                    if (changed.wait_for(lock, std::chrono::milliseconds(stall_wait_ms)) ==
                            std::cv_status::timeout &&
                        closed()) {
                        break;
                    }
                }
                blocked_ns += static_cast<std::uint64_t>(
                    std::chrono::nanoseconds(steady::now() - started).count());
            }
            in_flight_bytes += body.size();
            ++in_flight;
            sent.emplace(m, sent_message{shard, seq, t.generation, body.size(), steady::now()});
        }
        if (!send(m)) {
            {
                const std::lock_guard lock(mutex);
                sent.erase(m);
            }
            natsMsg_Destroy(m);
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
        if (pa != nullptr && pae == nullptr) {
            ++self.acked;
            if (pa->Duplicate) {
                ++self.duplicates;
            }
            self.settle_sent(msg);
            natsMsg_Destroy(msg); // libnats hands it back; the ack itself is not ours to free
            return;
        }
        // Failed or timed out: publish it again (a fresh message: libnats may have changed this
        // one for its own bookkeeping).
        event_copy e;
        e.shard = static_cast<std::uint32_t>(to_u64(header(msg, "Shardgate-Shard").c_str()));
        e.seq = to_u64(header(msg, "Shardgate-Seq").c_str());
        e.session = header(msg, "Shardgate-Session");
        e.subject = natsMsg_GetSubject(msg);
        e.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        e.name = header(msg, "Shardgate-Event");
        e.error = header(msg, "Shardgate-Error");
        e.original_size = to_u64(header(msg, "Shardgate-Size").c_str());
        {
            const std::lock_guard lock(self.mutex);
            if (const auto it = self.sent.find(msg); it != self.sent.end()) {
                e.generation = it->second.generation;
                self.sent.erase(it);
            }
            self.retries.push_back(std::move(e));
        }
        natsMsg_Destroy(msg);
        self.changed.notify_all();
    }

    /// A PubAck for `msg`: settles what `publish` (or a retry) recorded for it.
    void settle_sent(const natsMsg* msg) {
        bool wake = false;
        {
            const std::lock_guard lock(mutex);
            const auto it = sent.find(msg);
            if (it == sent.end()) {
                return; // taken back by resend_unacknowledged: its repeat settles it
            }
            const auto info = it->second;
            sent.erase(it);
            in_flight_bytes -= std::min(in_flight_bytes, info.bytes);
            if (in_flight > 0) {
                --in_flight;
            }
            if (const auto t = tracks.find(info.shard);
                t != tracks.end() && t->second.generation == info.generation) {
                auto& p = t->second.pending;
                if (const auto at = p.find(info.seq); at != p.end() && --at->second == 0) {
                    p.erase(at);
                    wake = p.empty(); // drain() waits for this
                }
            }
            const auto half = settings.max_in_flight_bytes / 2;
            wake = wake || in_flight == low_water() || in_flight == 0 ||
                   (in_flight_bytes < half && in_flight_bytes + info.bytes >= half);
        }
        if (wake) {
            changed.notify_all();
        }
    }

    /// Where a full publisher starts again.
    [[nodiscard]] std::uint64_t low_water() const {
        return settings.max_in_flight - std::max<std::uint64_t>(1, settings.max_in_flight / 4);
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
                continue;
            }
            // A short pause: the error that sent them here (NATS restarting, a stream leader
            // election) is usually not over a microsecond later.
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            for (auto& e : batch) {
                natsMsg* m = nullptr;
                ++retried;
                if (make_message(e, &m) == NATS_OK) {
                    {
                        const std::lock_guard lock(mutex);
                        sent.emplace(m, sent_message{e.shard, e.seq, e.generation, e.data.size(),
                                                     steady::now()});
                    }
                    if (send(m)) {
                        continue;
                    }
                    {
                        const std::lock_guard lock(mutex);
                        sent.erase(m);
                    }
                    natsMsg_Destroy(m);
                }
                settle(e.shard, e.session, e.seq, e.data.size(), false);
                ++dropped_fenced;
            }
        }
    }

    void watchdog_loop() {
        std::unique_lock lock(mutex);
        while (!stopping) {
            stop_wake.wait_for(lock, settings.ack_timeout / 2, [this] { return stopping; });
            if (stopping) {
                return;
            }
            lock.unlock();
            resend_unacknowledged();
            lock.lock();
        }
    }

    /// The watchdog, every `ack_timeout / 2`: publishes the lost ones again.
    void resend_unacknowledged() {
        // Any publish older than ack_timeout: its PubAck is lost (it went out on a connection
        // that died, and libnats 3.4.1 does not time async publishes out reliably). libnats gives
        // them back only all together, so all pending are published again; the stream drops the
        // repeats by their ids.
        const auto now = steady::now();
        {
            const std::lock_guard lock(mutex);
            const bool overdue = std::any_of(sent.begin(), sent.end(), [&](const auto& entry) {
                return now - entry.second.at > settings.ack_timeout;
            });
            if (!overdue) {
                return;
            }
        }
        if (!connection->connected()) {
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
            {
                const std::lock_guard lock(mutex);
                if (const auto it = sent.find(m); it != sent.end()) {
                    it->second.at = steady::now();
                }
            }
            if (!send(m)) {
                // The gate closed: not ours to publish any more (whoever resumes replays it).
                {
                    const std::lock_guard lock(mutex);
                    sent.erase(m);
                }
                natsMsg_Destroy(m);
                settle(shard, session, seq, size, false);
                ++dropped_fenced;
            }
        }
        natsMsgList_Destroy(&pending); // frees what was not sent again
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
        std::uint64_t generation = 0; // bumped when the session changes
    };
    std::unordered_map<const natsMsg*, sent_message> sent; // guarded by mutex

    std::shared_ptr<nats_connection> connection;
    stream_settings stream;
    publisher_settings settings;
    std::function<publish_gate()> gate;
    detail::js_ptr js;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::condition_variable stop_wake; // the watchdog's
    std::unordered_map<std::uint32_t, track> tracks;
    std::size_t in_flight_bytes = 0;
    std::uint64_t in_flight = 0;
    std::deque<event_copy> retries;
    bool stopping = false;
    std::thread retry_thread;
    std::thread watchdog_thread;

    std::atomic<std::uint64_t> published{0};
    std::atomic<std::uint64_t> acked{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> retried{0};
    std::atomic<std::uint64_t> oversized{0};
    std::atomic<std::uint64_t> dropped_fenced{0};
    std::atomic<std::uint64_t> blocked_ns{0};
};

event_publisher::event_publisher(std::shared_ptr<nats_connection> connection,
                                 stream_settings stream, publisher_settings settings,
                                 std::function<publish_gate()> gate)
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
