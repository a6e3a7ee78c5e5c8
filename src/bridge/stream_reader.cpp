// bridge::stream_reader: a JetStream pull consumer on the shardgate stream.
//
// Theory of operation. One pull subscription; `next` hands out the messages of the last fetch one
// by one and fetches again when they are used up.
// - Following: a waiting fetch (the server holds the request until messages come or it expires).
// - Not following: a no-wait fetch: the server answers at once, with the messages it can deliver
//   now or with "404 no messages", and the latter is "caught up". A message held by another reader
//   of the durable and not acknowledged does not count: it comes back after the ack wait.
// - Acks are explicit for both kinds of consumer (nats-server 2.9 wants them on pull consumers).
//   The previous event is acked when `next` is called again (`auto_ack`); filtered-out events and
//   repeated deliveries of an event already returned are acked and skipped.
// - The fetched messages not returned when the reader goes are nak'ed, so that the next reader of
//   the durable gets them at once instead of after the ack wait.
// - An ephemeral consumer the server lost (restart, inactivity) is created again, starting after
// the
//   last stream sequence fetched; a durable that is gone is an error (someone deleted it).
#include "shardgate/bridge/stream_reader.hpp"

#include "connection_impl.hpp"
#include "nats_handle.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <string_view>
#include <thread>

namespace shardgate::bridge {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using consumer_info_ptr =
    std::unique_ptr<jsConsumerInfo, detail::destroyer<jsConsumerInfo, jsConsumerInfo_Destroy>>;
using metadata_ptr =
    std::unique_ptr<jsMsgMetaData, detail::destroyer<jsMsgMetaData, jsMsgMetaData_Destroy>>;

/// How long an ephemeral consumer outlives its last pull request on the server.
constexpr auto ephemeral_inactive_threshold = std::chrono::minutes(5);
/// The longest single pull request while following (keeps reconnects and stops responsive).
constexpr auto max_fetch_wait = 5s;
/// The longest pull request when not following, after which the consumer's info decides whether
/// the reader is caught up (nats-server 2.9 holds a request until it expires when it has no
/// message, even a no-wait one).
constexpr auto max_idle_fetch_wait = 500ms;
/// The pause between attempts while JetStream does not answer.
constexpr auto retry_pause = 100ms;

constexpr std::int64_t to_nanos(std::chrono::nanoseconds d) {
    return d.count();
}

/// A stream or consumer name: what nats-server accepts in an API subject.
bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 255 &&
           std::none_of(name.begin(), name.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u <= 0x20U || u == 0x7fU || c == '.' || c == '*' || c == '>' || c == '/' ||
                      c == '\\';
           });
}

/// One subject token (an event name).
bool valid_token(std::string_view token) {
    return !token.empty() && std::none_of(token.begin(), token.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20U || u == 0x7fU || c == '.' || c == '*' || c == '>';
    });
}

/// A subject prefix: dot-separated tokens without wildcards.
bool valid_prefix(std::string_view prefix) {
    if (prefix.empty()) {
        return false;
    }
    while (true) {
        const auto dot = prefix.find('.');
        if (!valid_token(prefix.substr(0, dot))) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        prefix.remove_prefix(dot + 1);
    }
}

template <class Int> bool parse_uint(std::string_view text, Int& out) {
    const auto* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, out);
    return result.ec == std::errc{} && result.ptr == end && !text.empty();
}

std::string_view header(natsMsg* msg, const char* key) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, key, &value) == NATS_OK && value != nullptr) {
        return value;
    }
    return {};
}

std::string_view or_empty(const char* text) {
    return text != nullptr ? std::string_view(text) : std::string_view();
}

bool is_jetstream_missing(natsStatus s, jsErrCode jerr) {
    return s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr;
}

} // namespace

std::string check_settings(const stream_reader_settings& settings) {
    if (!valid_name(settings.stream)) {
        return "invalid stream name '" + settings.stream +
               "': it must be non-empty, without spaces, '.', '*', '>', '/' or '\\'";
    }
    if (!valid_prefix(settings.subject_prefix)) {
        return "invalid subject prefix '" + settings.subject_prefix +
               "': it must be dot-separated tokens without spaces or wildcards, e.g. shardgate";
    }
    if (!settings.durable.empty() && !valid_name(settings.durable)) {
        return "invalid durable name '" + settings.durable +
               "': it must be without spaces, '.', '*', '>', '/' or '\\'";
    }
    for (const auto& name : settings.filter) {
        if (!valid_token(name)) {
            return "invalid event name '" + name +
                   "' in the filter: give names such as MESSAGE_CREATE, without spaces, '.', "
                   "'*' or '>'";
        }
    }
    return {};
}

class stream_reader::impl {
public:
    impl(std::shared_ptr<nats_connection> connection, stream_reader_settings settings)
        : connection_(std::move(connection))
        , settings_(std::move(settings)) {}

    ~impl() {
        // Messages refer to their subscription: they go first.
        for (auto& m : buffer_) {
            if (durable()) {
                (void)natsMsg_Nak(m.get(), &options_);
            }
        }
        buffer_.clear();
        last_.reset();
        if (subscription_ && !durable() && connection_->connected()) {
            // Deletes the ephemeral consumer now rather than after its inactivity threshold (not
            // when disconnected: the request would wait for its timeout).
            (void)natsSubscription_Unsubscribe(subscription_.get());
        }
        subscription_.reset();
        js_.reset();
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;
    impl(impl&&) = delete;
    impl& operator=(impl&&) = delete;

    bool open(std::error_code& ec, std::string& detail);
    std::optional<stream_event> next(std::chrono::milliseconds timeout, std::error_code& ec,
                                     std::string& detail);
    void ack(std::error_code& ec, std::string& detail);

    [[nodiscard]] bool caught_up() const noexcept { return caught_up_; }
    [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size(); }
    [[nodiscard]] const std::string& consumer_name() const noexcept { return consumer_; }

private:
    [[nodiscard]] bool durable() const { return !settings_.durable.empty(); }
    [[nodiscard]] natsConnection* nc() const { return connection_->internals().get(); }
    [[nodiscard]] std::string where() const {
        auto server = connection_->server();
        return server.empty() ? std::string("NATS") : server;
    }

    bool check_stream(std::error_code& ec, std::string& detail);
    bool create_durable(std::error_code& ec, std::string& detail);
    bool subscribe(std::uint64_t start_sequence, std::error_code& ec, std::string& detail);
    /// The consumer as the server sees it now: its info, or nullptr with `s` and `jerr` set.
    consumer_info_ptr consumer_info(natsStatus& s, jsErrCode& jerr);
    /// After a fetch failed with "no responders" or a 409: whether the consumer is gone, in
    /// which case an ephemeral one is created again and a durable one is an error (`ec`).
    void recover(std::error_code& ec, std::string& detail);
    /// One pull request. Returns false with `ec` set on an error waiting will not mend.
    bool fetch(steady::duration wait, std::error_code& ec, std::string& detail);
    /// Whether the consumer has nothing left to deliver (a consumer info request).
    bool nothing_pending();
    /// Not following, the buffer empty: sets and returns `caught_up_`.
    bool check_caught_up();
    /// The event in `m`, or nullopt when it is to be skipped (acked here).
    std::optional<stream_event> take(detail::msg_ptr m);

    std::shared_ptr<nats_connection> connection_;
    stream_reader_settings settings_;
    std::string subject_;             // the consumer's filter subject
    std::vector<std::string> wanted_; // names filtered here (several names), sorted
    std::string events_prefix_;       // "<prefix>.events."
    jsOptions options_{};
    detail::js_ptr js_;
    detail::subscription_ptr subscription_;
    std::string consumer_;
    std::deque<detail::msg_ptr> buffer_;         // fetched, not returned yet
    detail::msg_ptr last_;                       // returned, not acked yet
    std::uint64_t fetched_max_ = 0;              // highest stream sequence fetched
    std::uint64_t returned_max_ = 0;             // highest stream sequence returned
    std::optional<std::uint64_t> batch_pending_; // NumPending of the last fetch's last message
    bool batch_redelivered_ = false;             // the last fetch brought a redelivery
    bool checked_once_ = false;                  // `nothing_pending` was asked at least once
    bool caught_up_ = false;
};

bool stream_reader::impl::open(std::error_code& ec, std::string& detail) {
    if (auto why = check_settings(settings_); !why.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
        detail = std::move(why);
        return false;
    }
    settings_.batch = std::clamp<std::size_t>(settings_.batch, 1, 256);
    wanted_ = settings_.filter;
    std::sort(wanted_.begin(), wanted_.end());
    wanted_.erase(std::unique(wanted_.begin(), wanted_.end()), wanted_.end());
    events_prefix_ = settings_.subject_prefix + ".events.";
    if (wanted_.size() == 1) {
        subject_ = events_prefix_ + "*." + wanted_.front();
        wanted_.clear(); // the server filters
    } else {
        subject_ = events_prefix_ + ">";
    }

    if (!connection_->wait_connected(settings_.api_timeout)) {
        ec = detail::make_error(NATS_NOT_YET_CONNECTED);
        detail = "not connected to NATS after " + std::to_string(settings_.api_timeout.count()) +
                 " ms: is nats-server running and reachable?";
        return false;
    }
    jsOptions_Init(&options_);
    options_.Wait = settings_.api_timeout.count();
    jsCtx* js = nullptr;
    if (const auto s = natsConnection_JetStream(&js, nc(), &options_); s != NATS_OK) {
        ec = detail::make_error(s);
        detail = "JetStream context: " + detail::describe(s);
        return false;
    }
    js_.reset(js);
    if (!check_stream(ec, detail)) {
        return false;
    }
    if (durable() && !create_durable(ec, detail)) {
        return false;
    }
    return subscribe(settings_.start_sequence, ec, detail);
}

bool stream_reader::impl::check_stream(std::error_code& ec, std::string& detail) {
    jsStreamInfo* raw = nullptr;
    jsErrCode jerr{};
    const auto s = js_GetStreamInfo(&raw, js_.get(), settings_.stream.c_str(), &options_, &jerr);
    const detail::stream_info_ptr info(raw);
    if (s == NATS_OK) {
        return true;
    }
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        detail = "JetStream stream '" + settings_.stream + "' does not exist on " + where() +
                 ": run `shardgate connect --nats URL` first (it creates the stream) or name the "
                 "right one with --stream";
    } else if (is_jetstream_missing(s, jerr)) {
        ec = std::make_error_code(std::errc::not_supported);
        detail = "JetStream is not enabled on " + where() + ": start nats-server with -js";
    } else {
        ec = detail::make_error(s);
        detail = "looking up JetStream stream '" + settings_.stream + "' on " + where() + ": " +
                 detail::describe(s);
    }
    return false;
}

consumer_info_ptr stream_reader::impl::consumer_info(natsStatus& s, jsErrCode& jerr) {
    jsConsumerInfo* raw = nullptr;
    jerr = static_cast<jsErrCode>(0);
    s = js_GetConsumerInfo(&raw, js_.get(), settings_.stream.c_str(), consumer_.c_str(), &options_,
                           &jerr);
    return consumer_info_ptr(raw);
}

bool stream_reader::impl::create_durable(std::error_code& ec, std::string& detail) {
    consumer_ = settings_.durable;
    natsStatus s = NATS_OK;
    jsErrCode jerr{};
    if (const auto info = consumer_info(s, jerr); info) {
        // It exists: check that it is what this reader would have made.
        const auto* config = info->Config;
        const auto filter =
            config != nullptr ? or_empty(config->FilterSubject) : std::string_view();
        if (config == nullptr || !or_empty(config->DeliverSubject).empty()) {
            ec = std::make_error_code(std::errc::invalid_argument);
            detail = "consumer '" + consumer_ + "' of stream '" + settings_.stream +
                     "' is a push consumer: pick another --durable name";
            return false;
        }
        if (filter != subject_) {
            ec = std::make_error_code(std::errc::invalid_argument);
            detail = "durable consumer '" + consumer_ + "' reads '" + std::string(filter) +
                     "', not '" + subject_ +
                     "': use the filter it was created with, another --durable name, or delete "
                     "it (nats consumer rm " +
                     settings_.stream + " " + consumer_ + ")";
            return false;
        }
        return true;
    }
    if (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr) {
        ec = detail::make_error(s);
        detail = "looking up consumer '" + consumer_ + "' of stream '" + settings_.stream +
                 "': " + detail::describe(s);
        return false;
    }
    jsConsumerConfig config;
    jsConsumerConfig_Init(&config);
    config.Durable = consumer_.c_str();
    config.Description = "shardgate stream_reader";
    config.AckPolicy = js_AckExplicit;
    config.FilterSubject = subject_.c_str();
    if (settings_.start_sequence > 0) {
        config.DeliverPolicy = js_DeliverByStartSequence;
        config.OptStartSeq = settings_.start_sequence;
    } else {
        config.DeliverPolicy = js_DeliverAll;
    }
    jsConsumerInfo* raw = nullptr;
    s = js_AddConsumer(&raw, js_.get(), settings_.stream.c_str(), &config, &options_, &jerr);
    const consumer_info_ptr created(raw);
    if (s != NATS_OK) {
        ec = detail::make_error(s);
        detail = "creating durable consumer '" + consumer_ + "' on stream '" + settings_.stream +
                 "' (subject " + subject_ + "): " + detail::describe(s);
        if (jerr == JSConsumerNameExistErr) {
            detail += ": it exists with another configuration; pick another --durable name";
        } else {
            detail += " (does --subject-prefix match the stream's subjects?)";
        }
        return false;
    }
    return true;
}

bool stream_reader::impl::subscribe(std::uint64_t start_sequence, std::error_code& ec,
                                    std::string& detail) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = settings_.stream.c_str();
    if (durable()) {
        so.Consumer = consumer_.c_str(); // bind: created (or checked) above
    } else {
        so.Config.AckPolicy = js_AckExplicit;
        so.Config.InactiveThreshold = to_nanos(ephemeral_inactive_threshold);
        so.Config.Description = "shardgate stream_reader (ephemeral)";
        if (start_sequence > 0) {
            so.Config.DeliverPolicy = js_DeliverByStartSequence;
            so.Config.OptStartSeq = start_sequence;
        } else {
            so.Config.DeliverPolicy = js_DeliverAll;
        }
    }
    natsSubscription* raw = nullptr;
    jsErrCode jerr{};
    const auto s = js_PullSubscribe(&raw, js_.get(), subject_.c_str(),
                                    durable() ? consumer_.c_str() : nullptr, &options_, &so, &jerr);
    if (s != NATS_OK) {
        if (raw != nullptr) {
            natsSubscription_Destroy(raw);
        }
        ec = detail::make_error(s);
        detail = "subscribing to " + subject_ + " on stream '" + settings_.stream +
                 "': " + detail::describe(s);
        if (!durable()) {
            detail += " (does --subject-prefix match the stream's subjects?)";
        }
        return false;
    }
    subscription_.reset(raw);
    if (!durable()) {
        jsConsumerInfo* info_raw = nullptr;
        if (natsSubscription_GetConsumerInfo(&info_raw, raw, &options_, &jerr) == NATS_OK &&
            info_raw != nullptr && info_raw->Name != nullptr) {
            consumer_ = info_raw->Name;
        }
        jsConsumerInfo_Destroy(info_raw);
    }
    return true;
}

void stream_reader::impl::recover(std::error_code& ec, std::string& detail) {
    natsStatus s = NATS_OK;
    jsErrCode jerr{};
    if (consumer_info(s, jerr) || (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr)) {
        return; // it exists, or JetStream does not answer yet: wait and try again
    }
    jsStreamInfo* raw = nullptr;
    const auto stream_status =
        js_GetStreamInfo(&raw, js_.get(), settings_.stream.c_str(), &options_, &jerr);
    jsStreamInfo_Destroy(raw);
    if (stream_status == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        detail = "JetStream stream '" + settings_.stream + "' was deleted";
        return;
    }
    if (durable()) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        detail = "durable consumer '" + consumer_ + "' of stream '" + settings_.stream +
                 "' was deleted: open the reader again to create it anew";
        return;
    }
    // The ephemeral consumer is gone (server restart, inactivity): a new one goes on after what
    // was fetched.
    last_.reset();
    subscription_.reset();
    const auto start = fetched_max_ > 0 ? fetched_max_ + 1 : settings_.start_sequence;
    (void)subscribe(start, ec, detail);
}

bool stream_reader::impl::fetch(steady::duration wait, std::error_code& ec, std::string& detail) {
    const auto ms = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    natsMsgList list{};
    jsErrCode jerr{};
    const auto s = natsSubscription_Fetch(&list, subscription_.get(),
                                          static_cast<int>(settings_.batch), ms, &jerr);
    batch_pending_.reset();
    batch_redelivered_ = false;
    if (s == NATS_OK) {
        for (int i = 0; i < list.Count; ++i) {
            natsMsg* m = list.Msgs[i]; // NOLINT(*-pointer-arithmetic): C API
            list.Msgs[i] = nullptr;    // NOLINT(*-pointer-arithmetic)
            buffer_.emplace_back(m);
            jsMsgMetaData* raw = nullptr;
            if (natsMsg_GetMetaData(&raw, m) == NATS_OK) {
                fetched_max_ = std::max(fetched_max_, raw->Sequence.Stream);
                batch_pending_ = raw->NumPending;
                batch_redelivered_ = batch_redelivered_ || raw->NumDelivered > 1;
            }
            jsMsgMetaData_Destroy(raw);
        }
        natsMsgList_Destroy(&list);
        return true;
    }
    natsMsgList_Destroy(&list);
    switch (s) {
    case NATS_NOT_FOUND: // 404, 408: nothing came in time (or no answer: disconnected)
    case NATS_TIMEOUT: return true;
    case NATS_CONNECTION_CLOSED:
        ec = detail::make_error(s);
        detail = "the NATS connection was closed";
        return false;
    case NATS_NO_RESPONDERS: // consumer (or JetStream) gone
    case NATS_ERR:           // 409: consumer deleted, too many waiting requests...
        recover(ec, detail);
        if (!ec) {
            std::this_thread::sleep_for(std::min<steady::duration>(wait, retry_pause));
        }
        return !ec;
    default:
        if (!connection_->connected()) {
            std::this_thread::sleep_for(std::min<steady::duration>(wait, retry_pause));
            return true;
        }
        ec = detail::make_error(s);
        detail = "fetching from consumer '" + consumer_ + "' of stream '" + settings_.stream +
                 "': " + detail::describe(s);
        return false;
    }
}

std::optional<stream_event> stream_reader::impl::take(detail::msg_ptr m) {
    metadata_ptr meta;
    {
        jsMsgMetaData* raw = nullptr;
        if (natsMsg_GetMetaData(&raw, m.get()) == NATS_OK) {
            meta.reset(raw);
        }
    }
    stream_event event;
    if (meta) {
        event.stream_seq = meta->Sequence.Stream;
        if (meta->NumDelivered > 1 && event.stream_seq <= returned_max_ && settings_.auto_ack) {
            // Delivered again (an ack lost or late) after this reader returned it: skip.
            (void)natsMsg_Ack(m.get(), &options_);
            return std::nullopt;
        }
    }
    // The subject is what the consumer filters on: `<prefix>.events.<shard>.<EVENT_NAME>`.
    auto subject = or_empty(natsMsg_GetSubject(m.get()));
    std::string_view subject_name;
    std::string_view subject_shard;
    if (subject.substr(0, events_prefix_.size()) == events_prefix_) {
        subject.remove_prefix(events_prefix_.size());
        const auto dot = subject.find('.');
        if (dot != std::string_view::npos) {
            subject_shard = subject.substr(0, dot);
            subject_name = subject.substr(dot + 1);
        }
    }
    const auto header_name = header(m.get(), "Shardgate-Event");
    event.name = std::string(!subject_name.empty() ? subject_name : header_name);
    if (!wanted_.empty() && !std::binary_search(wanted_.begin(), wanted_.end(), event.name)) {
        (void)natsMsg_Ack(m.get(), &options_);
        return std::nullopt;
    }
    if (!parse_uint(header(m.get(), "Shardgate-Shard"), event.shard)) {
        (void)parse_uint(subject_shard, event.shard);
    }
    (void)parse_uint(header(m.get(), "Shardgate-Seq"), event.seq);
    event.session = std::string(header(m.get(), "Shardgate-Session"));
    event.error = std::string(header(m.get(), "Shardgate-Error"));
    if (const auto* data = natsMsg_GetData(m.get()); data != nullptr) {
        event.data.assign(data, static_cast<std::size_t>(natsMsg_GetDataLength(m.get())));
    }
    returned_max_ = std::max(returned_max_, event.stream_seq);
    last_ = std::move(m);
    return event;
}

bool stream_reader::impl::nothing_pending() {
    natsStatus s = NATS_OK;
    jsErrCode jerr{};
    const auto info = consumer_info(s, jerr);
    // The first time, also nothing awaiting redelivery (handed back by the previous reader of a
    // durable, or not acknowledged by it); after a fetch that came back empty, that is settled.
    return info && info->NumPending == 0 && (checked_once_ || info->NumAckPending == 0);
}

bool stream_reader::impl::check_caught_up() {
    // Caught up: the last message fetched said none was left behind it (and none of the batch was
    // a redelivery, which may have more behind it); or the server says so, at the start and after
    // a fetch that brought nothing.
    if ((batch_pending_ && *batch_pending_ == 0 && !batch_redelivered_) ||
        (!batch_pending_ && nothing_pending())) {
        caught_up_ = true;
    }
    checked_once_ = true;
    return caught_up_;
}

std::optional<stream_event> stream_reader::impl::next(std::chrono::milliseconds timeout,
                                                      std::error_code& ec, std::string& detail) {
    ec.clear();
    if (last_) {
        if (settings_.auto_ack) {
            (void)natsMsg_Ack(last_.get(), &options_);
        }
        last_.reset();
    }
    const auto deadline = steady::now() + timeout;
    for (;;) {
        while (!buffer_.empty()) {
            auto m = std::move(buffer_.front());
            buffer_.pop_front();
            if (auto event = take(std::move(m))) {
                return event;
            }
        }
        if (caught_up_ || !subscription_) {
            return std::nullopt;
        }
        if (!settings_.follow && check_caught_up()) {
            return std::nullopt;
        }
        const auto left = deadline - steady::now();
        if (left <= steady::duration::zero()) {
            return std::nullopt;
        }
        const auto longest = settings_.follow ? max_fetch_wait : max_idle_fetch_wait;
        if (!fetch(std::min<steady::duration>(left, longest), ec, detail)) {
            return std::nullopt;
        }
    }
}

void stream_reader::impl::ack(std::error_code& ec, std::string& detail) {
    ec.clear();
    if (!last_) {
        return;
    }
    jsErrCode jerr{};
    const auto s = natsMsg_AckSync(last_.get(), &options_, &jerr);
    last_.reset();
    if (s != NATS_OK) {
        ec = detail::make_error(s);
        detail = "acknowledging to consumer '" + consumer_ + "': " + detail::describe(s);
    }
}

stream_reader::stream_reader(std::unique_ptr<impl> i)
    : impl_(std::move(i)) {}

stream_reader::~stream_reader() = default;

std::unique_ptr<stream_reader> stream_reader::open(std::shared_ptr<nats_connection> connection,
                                                   const stream_reader_settings& settings,
                                                   std::error_code& ec, std::string& detail) {
    ec.clear();
    if (!connection) {
        ec = std::make_error_code(std::errc::invalid_argument);
        detail = "no NATS connection";
        return nullptr;
    }
    auto state = std::make_unique<impl>(std::move(connection), settings);
    if (!state->open(ec, detail)) {
        return nullptr;
    }
    return std::unique_ptr<stream_reader>(new stream_reader(std::move(state)));
}

std::optional<stream_event> stream_reader::next(std::chrono::milliseconds timeout,
                                                std::error_code& ec, std::string& detail) {
    return impl_->next(timeout, ec, detail);
}

void stream_reader::ack(std::error_code& ec, std::string& detail) {
    impl_->ack(ec, detail);
}

bool stream_reader::caught_up() const noexcept {
    return impl_->caught_up();
}

std::size_t stream_reader::buffered() const noexcept {
    return impl_->buffered();
}

const std::string& stream_reader::consumer_name() const noexcept {
    return impl_->consumer_name();
}

} // namespace shardgate::bridge
