#include "shardgate/gateway/identify_scheduler.hpp"

#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>

namespace shardgate::gateway {
namespace {

// "2h 14m", "3m 5s" or "40s", rounded up so that the figure is never too early.
std::string format_duration(milliseconds d) {
    using std::chrono::ceil;
    using std::chrono::hours;
    using std::chrono::minutes;
    using std::chrono::seconds;
    d = std::max(d, milliseconds::zero());
    if (d >= hours{1}) {
        const auto total_minutes = ceil<minutes>(d).count();
        return std::to_string(total_minutes / 60) + "h " + std::to_string(total_minutes % 60) + "m";
    }
    const auto total_seconds = ceil<seconds>(d).count();
    if (total_seconds >= 60) {
        return std::to_string(total_seconds / 60) + "m " + std::to_string(total_seconds % 60) + "s";
    }
    return std::to_string(total_seconds) + "s";
}

std::uint32_t at_least_one(std::uint32_t max_concurrency) {
    return std::max<std::uint32_t>(max_concurrency, 1);
}

} // namespace

local_identify_scheduler::local_identify_scheduler(session_start_limit limit, time_point now,
                                                   local_identify_scheduler_config config)
    : config_(config)
    , total_(limit.total)
    , remaining_(limit.remaining)
    , reset_at_(now + limit.reset_after)
    , buckets_(at_least_one(limit.max_concurrency)) {
    assert(config_.window > milliseconds::zero());
    assert(config_.budget_period > milliseconds::zero());
}

std::uint32_t local_identify_scheduler::budget_reserve() const noexcept {
    if (config_.budget_reserve != 0) {
        return config_.budget_reserve;
    }
    return std::max<std::uint32_t>(1, total_ / 100);
}

std::size_t local_identify_scheduler::pending() const noexcept {
    std::size_t n = 0;
    for (const auto& b : buckets_) {
        n += b.queue.size();
    }
    return n;
}

void local_identify_scheduler::update_limit(session_start_limit limit, time_point now) {
    total_ = limit.total;
    remaining_ = limit.remaining;
    reset_at_ = now + limit.reset_after;
    if (at_least_one(limit.max_concurrency) != buckets_.size()) {
        rebucket(at_least_one(limit.max_concurrency));
    }
    if (!budget_blocked()) {
        // If the budget runs low again later, each shard deserves a fresh refusal.
        for (auto& b : buckets_) {
            for (auto& r : b.queue) {
                r.refused = false;
            }
        }
    }
}

void local_identify_scheduler::rebucket(std::uint32_t max_concurrency) {
    std::vector<pending_request> all;
    std::optional<time_point> latest;
    for (auto& b : buckets_) {
        all.insert(all.end(), b.queue.begin(), b.queue.end());
        if (b.next_grant_at && (!latest || *b.next_grant_at > *latest)) {
            latest = b.next_grant_at;
        }
    }
    std::sort(all.begin(), all.end(), [](const pending_request& a, const pending_request& b) {
        return a.sequence < b.sequence;
    });
    // The old and new buckets overlap in unknown ways on Discord's side, so every new bucket
    // waits until the latest old one could have granted again.
    buckets_.assign(max_concurrency, bucket{{}, latest});
    for (const auto& r : all) {
        buckets_[r.shard_id % buckets_.size()].queue.push_back(r);
    }
}

void local_identify_scheduler::request(std::uint32_t shard_id, time_point now) {
    auto& queue = buckets_[shard_id % buckets_.size()].queue;
    const bool already = std::any_of(queue.begin(), queue.end(), [&](const pending_request& r) {
        return r.shard_id == shard_id;
    });
    if (!already) {
        queue.push_back({shard_id, now, next_sequence_++, false});
    }
}

void local_identify_scheduler::cancel(std::uint32_t shard_id) {
    auto& queue = buckets_[shard_id % buckets_.size()].queue;
    const auto it = std::find_if(queue.begin(), queue.end(),
                                 [&](const pending_request& r) { return r.shard_id == shard_id; });
    if (it != queue.end()) {
        queue.erase(it);
    }
}

void local_identify_scheduler::roll_budget(time_point now) {
    if (now < reset_at_) {
        return;
    }
    remaining_ = total_;
    // Until update_limit says otherwise, assume the budget lasts one period from the last reset.
    const auto periods_passed = (now - reset_at_) / config_.budget_period;
    reset_at_ += config_.budget_period * (periods_passed + 1);
    for (auto& b : buckets_) {
        for (auto& r : b.queue) {
            r.refused = false;
        }
    }
}

identify_refusal local_identify_scheduler::make_refusal(std::uint32_t shard_id,
                                                        time_point now) const {
    std::string message =
        "shard " + std::to_string(shard_id) + " not identified: only " +
        std::to_string(remaining_) + " of " + std::to_string(total_) +
        " daily session starts left, kept as a reserve so Discord does not "
        "reset the bot token; identifying resumes in " +
        format_duration(std::chrono::duration_cast<milliseconds>(reset_at_ - now)) +
        " when the budget resets (find what keeps re-identifying, or change "
        "local_identify_scheduler_config::budget_reserve)";
    identify_refusal refusal{};
    refusal.shard_id = shard_id;
    refusal.ec = make_error_code(error::identify_budget_exhausted);
    refusal.remaining = remaining_;
    refusal.total = total_;
    refusal.retry_at = reset_at_;
    refusal.message = std::move(message);
    return refusal;
}

std::optional<identify_decision> local_identify_scheduler::poll(time_point now) {
    roll_budget(now);
    if (budget_blocked()) {
        // Tell every waiting shard once, oldest request first; none of them waits for its bucket.
        pending_request* oldest = nullptr;
        for (auto& b : buckets_) {
            for (auto& r : b.queue) {
                if (!r.refused && (oldest == nullptr || r.sequence < oldest->sequence)) {
                    oldest = &r;
                }
            }
        }
        if (oldest == nullptr) {
            return std::nullopt;
        }
        oldest->refused = true;
        return make_refusal(oldest->shard_id, now);
    }
    bucket* best = nullptr;
    for (auto& b : buckets_) {
        if (b.queue.empty() || (b.next_grant_at && *b.next_grant_at > now)) {
            continue;
        }
        if (best == nullptr || b.queue.front().shard_id < best->queue.front().shard_id) {
            best = &b;
        }
    }
    if (best == nullptr) {
        return std::nullopt;
    }
    const std::uint32_t shard_id = best->queue.front().shard_id;
    best->queue.pop_front();
    best->next_grant_at = now + config_.window;
    --remaining_;
    return identify_permit{shard_id};
}

std::optional<time_point> local_identify_scheduler::next_deadline() const {
    std::optional<time_point> earliest;
    const auto consider = [&](time_point t) {
        if (!earliest || t < *earliest) {
            earliest = t;
        }
    };
    const bool blocked = budget_blocked();
    bool any_pending = false;
    for (const auto& b : buckets_) {
        if (b.queue.empty()) {
            continue;
        }
        any_pending = true;
        if (blocked) {
            // A refusal not yet handed out is due at once.
            for (const auto& r : b.queue) {
                if (!r.refused) {
                    consider(r.requested_at);
                }
            }
        } else {
            const time_point head = b.queue.front().requested_at;
            consider(b.next_grant_at ? std::max(*b.next_grant_at, head) : head);
        }
    }
    if (!any_pending) {
        return std::nullopt;
    }
    if (blocked) {
        consider(reset_at_);
    }
    return earliest;
}

} // namespace shardgate::gateway
