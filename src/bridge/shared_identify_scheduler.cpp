// The cross-process identify scheduler (shared_identify_scheduler.hpp). A thread of its own claims
// slots in the key-value bucket, one bucket at a time and one slot ahead per bucket; `poll` hands
// out the claimed slots when their time comes.

#include "shardgate/bridge/shared_identify_scheduler.hpp"

#include "connection_impl.hpp"
#include "kv_bucket.hpp"
#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <variant>
#include <vector>

namespace shardgate::bridge {
namespace {

using gateway::clock;
using gateway::time_point;
using std::chrono::milliseconds;

constexpr milliseconds poll_while_claiming{5};
constexpr milliseconds retry_after_failure{100};
constexpr std::int64_t day_ms = 86'400'000;

struct budget_value {
    std::uint32_t remaining = 0;
    std::int64_t reset_at_ms = 0;
};

std::optional<budget_value> parse_budget(const std::string& text) {
    std::istringstream in(text);
    budget_value b;
    if (in >> b.remaining >> b.reset_at_ms) {
        return b;
    }
    return std::nullopt;
}

std::string format_budget(const budget_value& b) {
    return std::to_string(b.remaining) + " " + std::to_string(b.reset_at_ms);
}

} // namespace

class shared_identify_scheduler::impl {
public:
    struct slot {
        time_point at;
    };
    struct refusal {
        std::uint32_t remaining;
        std::uint32_t total;
        std::int64_t reset_at_ms;
    };
    using claim = std::variant<slot, refusal>;

    impl(std::shared_ptr<nats_connection> c, shared_identify_settings s,
         gateway::session_start_limit l)
        : connection(std::move(c))
        , settings(std::move(s))
        , limit(l)
        , buckets(std::max<std::uint32_t>(1, l.max_concurrency)) {
        remaining = limit.remaining;
        jsCtx* raw = nullptr;
        if (natsConnection_JetStream(&raw, connection->internals().get(), nullptr) == NATS_OK) {
            js.reset(raw);
        }
        thread = std::thread([this] { run(); });
    }
    ~impl() {
        {
            const std::lock_guard lock(mutex);
            stopping = true;
        }
        wake.notify_all();
        thread.join();
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;
    impl(impl&&) = delete;
    impl& operator=(impl&&) = delete;

    [[nodiscard]] std::uint32_t bucket_of(std::uint32_t shard) const { return shard % buckets; }

    void run() {
        std::unique_lock lock(mutex);
        while (!stopping) {
            std::optional<std::pair<std::uint32_t, std::uint32_t>> job; // bucket, shard
            for (auto& [b, q] : waiting) {
                if (!q.empty() && busy.count(b) == 0) {
                    job.emplace(b, q.front().shard);
                    break;
                }
            }
            if (!job) {
                wake.wait_for(lock, milliseconds(200));
                continue;
            }
            const auto [b, shard] = *job;
            busy.insert(b);
            lock.unlock();
            const auto outcome = claim_slot(b);
            lock.lock();
            auto& q = waiting[b];
            const bool still_wanted = !q.empty() && q.front().shard == shard;
            if (!outcome) { // NATS unreachable or stopping: try again shortly
                busy.erase(b);
                wake.wait_for(lock, retry_after_failure);
                continue;
            }
            if (const auto* r = std::get_if<refusal>(&*outcome)) {
                busy.erase(b);
                if (still_wanted && !q.front().refused) {
                    q.front().refused = true;
                    refusals.push_back({shard, *r});
                }
                // Wait for the reset (or a cancel / stop), without spinning on NATS.
                wake.wait_for(lock, std::chrono::seconds(5));
                continue;
            }
            if (!still_wanted) {
                busy.erase(b); // cancelled meanwhile: the slot goes unused
                continue;
            }
            grants.push_back({shard, std::get<slot>(*outcome).at, q.front().requested});
            q.pop_front();
            // `busy` stays until poll hands this grant out: one slot ahead per bucket.
        }
    }

    /// Claims the bucket's next slot (and one session start). nullopt: NATS failed.
    std::optional<claim> claim_slot(std::uint32_t b) {
        std::string detail;
        if (!kv) {
            if (!js || !connection->connected()) {
                return std::nullopt;
            }
            kv = detail::kv_bucket::open(js.get(), settings.bucket, milliseconds{0}, detail);
            if (!kv) {
                return std::nullopt;
            }
        }
        for (int attempt = 0; attempt < 100; ++attempt) {
            if (stopping_flag()) {
                return std::nullopt;
            }
            // 1. The budget.
            std::error_code ec;
            const auto current = kv->get("budget", ec);
            if (ec) {
                return std::nullopt;
            }
            const auto now_ms = detail::unix_ms();
            budget_value bv{limit.remaining, now_ms + limit.reset_after.count()};
            if (limit.reset_after.count() <= 0) {
                bv.reset_at_ms = now_ms + day_ms;
            }
            if (current) {
                if (const auto parsed = parse_budget(current->value)) {
                    bv = *parsed;
                }
            }
            if (now_ms >= bv.reset_at_ms) {
                bv.remaining = limit.total;
                bv.reset_at_ms = now_ms + day_ms;
            }
            const auto reserve = settings.budget_reserve != 0
                                     ? settings.budget_reserve
                                     : std::max<std::uint32_t>(1, limit.total / 100);
            if (bv.remaining <= reserve) {
                remaining = bv.remaining;
                return refusal{bv.remaining, limit.total, bv.reset_at_ms};
            }
            const budget_value taken{bv.remaining - 1, bv.reset_at_ms};
            const auto r = kv->write_if("budget", format_budget(taken),
                                        current ? std::optional(current->revision) : std::nullopt);
            if (r == detail::cas_result::failed) {
                return std::nullopt;
            }
            if (r == detail::cas_result::conflict) {
                continue;
            }
            remaining = taken.remaining;
            break;
        }
        // 2. The slot.
        const auto key = "bucket." + std::to_string(buckets) + "." + std::to_string(b);
        const auto spacing = (settings.window + settings.margin).count();
        for (;;) {
            if (stopping_flag()) {
                return std::nullopt;
            }
            std::error_code ec;
            const auto latest = kv->get(key, ec);
            if (ec) {
                return std::nullopt;
            }
            const auto now_ms = detail::unix_ms();
            const auto steady_now = clock::now();
            auto at_ms = now_ms;
            if (latest) {
                at_ms = std::max<std::int64_t>(at_ms, std::stoll(latest->value) + spacing);
            }
            const auto r = kv->write_if(key, std::to_string(at_ms),
                                        latest ? std::optional(latest->revision) : std::nullopt);
            if (r == detail::cas_result::failed) {
                return std::nullopt;
            }
            if (r == detail::cas_result::written) {
                return slot{steady_now + milliseconds(at_ms - now_ms)};
            }
        }
    }

    bool stopping_flag() {
        const std::lock_guard lock(mutex);
        return stopping;
    }

    struct pending {
        std::uint32_t shard;
        time_point requested;
        bool refused = false;
    };
    struct grant {
        std::uint32_t shard;
        time_point at;
        time_point requested;
    };
    struct refusal_out {
        std::uint32_t shard;
        refusal what;
    };

    std::shared_ptr<nats_connection> connection;
    shared_identify_settings settings;
    gateway::session_start_limit limit;
    std::uint32_t buckets;
    detail::js_ptr js;
    std::optional<detail::kv_bucket> kv; // the claim thread's

    mutable std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    std::map<std::uint32_t, std::deque<pending>> waiting; // by identify bucket
    std::set<std::uint32_t> busy;                         // buckets with a claim or grant out
    std::vector<grant> grants;
    std::deque<refusal_out> refusals;
    std::atomic<std::uint32_t> remaining{0};
    std::atomic<std::uint64_t> waited_ms{0};
    std::atomic<std::uint64_t> permits{0};
    std::thread thread;
};

shared_identify_scheduler::shared_identify_scheduler(std::shared_ptr<nats_connection> connection,
                                                     shared_identify_settings settings,
                                                     gateway::session_start_limit limit)
    : impl_(std::make_unique<impl>(std::move(connection), std::move(settings), limit)) {}

shared_identify_scheduler::~shared_identify_scheduler() = default;

void shared_identify_scheduler::request(std::uint32_t shard_id, gateway::time_point now) {
    {
        const std::lock_guard lock(impl_->mutex);
        auto& q = impl_->waiting[impl_->bucket_of(shard_id)];
        for (const auto& p : q) {
            if (p.shard == shard_id) {
                return;
            }
        }
        for (const auto& g : impl_->grants) {
            if (g.shard == shard_id) {
                return;
            }
        }
        q.push_back({shard_id, now});
    }
    impl_->wake.notify_all();
}

void shared_identify_scheduler::cancel(std::uint32_t shard_id) {
    {
        const std::lock_guard lock(impl_->mutex);
        auto& q = impl_->waiting[impl_->bucket_of(shard_id)];
        std::erase_if(q, [&](const auto& p) { return p.shard == shard_id; });
        const auto before = impl_->grants.size();
        std::erase_if(impl_->grants, [&](const auto& g) { return g.shard == shard_id; });
        if (impl_->grants.size() != before) {
            impl_->busy.erase(impl_->bucket_of(shard_id)); // its slot goes unused
        }
    }
    impl_->wake.notify_all();
}

std::optional<gateway::identify_decision> shared_identify_scheduler::poll(gateway::time_point now) {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->refusals.empty()) {
        const auto r = impl_->refusals.front();
        impl_->refusals.pop_front();
        gateway::identify_refusal out;
        out.shard_id = r.shard;
        out.ec = gateway::error::identify_budget_exhausted;
        out.remaining = r.what.remaining;
        out.total = r.what.total;
        const auto wait = std::max<std::int64_t>(0, r.what.reset_at_ms - detail::unix_ms());
        out.retry_at = now + std::chrono::milliseconds(wait);
        out.message = "the cluster's daily session-start budget is down to " +
                      std::to_string(r.what.remaining) + " of " + std::to_string(r.what.total) +
                      "; identifies resume when it resets in " + std::to_string(wait / 60'000) +
                      " min (fix crash loops; resumes cost nothing)";
        return out;
    }
    for (auto it = impl_->grants.begin(); it != impl_->grants.end(); ++it) {
        if (it->at <= now) {
            const auto g = *it;
            impl_->grants.erase(it);
            impl_->busy.erase(impl_->bucket_of(g.shard));
            ++impl_->permits;
            impl_->waited_ms += static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(now - g.requested).count());
            lock.unlock();
            impl_->wake.notify_all();
            return gateway::identify_permit{g.shard};
        }
    }
    return std::nullopt;
}

std::optional<gateway::time_point> shared_identify_scheduler::next_deadline() const {
    const std::lock_guard lock(impl_->mutex);
    std::optional<time_point> next;
    for (const auto& g : impl_->grants) {
        if (!next || g.at < *next) {
            next = g.at;
        }
    }
    if (!impl_->refusals.empty()) {
        return clock::now();
    }
    const bool claiming = std::any_of(impl_->waiting.begin(), impl_->waiting.end(),
                                      [](const auto& kv) { return !kv.second.empty(); });
    if (claiming) {
        const auto soon = clock::now() + poll_while_claiming;
        if (!next || soon < *next) {
            next = soon;
        }
    }
    return next;
}

std::optional<std::uint32_t> shared_identify_scheduler::budget_remaining() const {
    return impl_->remaining.load();
}

std::uint64_t shared_identify_scheduler::wait_ms_total() const {
    return impl_->waited_ms;
}
std::uint64_t shared_identify_scheduler::permits() const {
    return impl_->permits;
}

} // namespace shardgate::bridge
