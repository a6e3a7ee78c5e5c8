#include "shardgate/gateway/send_limiter.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>

namespace shardgate::gateway {

void send_limiter::timestamp_ring::push(time_point t, milliseconds window) {
    assert(empty() || t >= newest());
    // Sends that left the window can never count again (time only moves on): an idle shard keeps
    // one or two heartbeats here, not `capacity` of them.
    while (size_ > 0 && at(0) <= t - window) {
        head_ = (head_ + 1) % slots_.size();
        --size_;
    }
    if (size_ == slots_.size()) {
        if (slots_.size() < capacity) {
            grow(std::min(capacity, std::max<std::size_t>(4, 2 * slots_.size())));
        } else {
            head_ = (head_ + 1) % capacity; // the oldest is overwritten
            --size_;
        }
    } else if (size_ <= 1 && slots_.size() > 8) {
        grow(4); // a burst is long gone: give its room back
    }
    slots_[(head_ + size_) % slots_.size()] = t;
    ++size_;
}

void send_limiter::timestamp_ring::grow(std::size_t slots) {
    std::vector<time_point> bigger(slots);
    for (std::size_t i = 0; i < size_; ++i) {
        bigger[i] = at(i);
    }
    slots_.swap(bigger);
    head_ = 0;
}

std::size_t send_limiter::timestamp_ring::count_after(time_point cutoff) const noexcept {
    // Entries are sorted, so binary-search the first one later than `cutoff`.
    std::size_t lo = 0;
    std::size_t hi = size_;
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (at(mid) > cutoff) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return size_ - lo;
}

time_point send_limiter::timestamp_ring::ready_at(std::size_t limit, milliseconds window,
                                                  time_point now) const noexcept {
    assert(limit >= 1 && limit <= capacity);
    if (size_ < limit || count_after(now - window) < limit) {
        return now;
    }
    // At least `limit` are in the window, and they are the newest ones; the next frame may go
    // when only `limit - 1` remain, i.e. when the `limit`-th newest leaves.
    return std::max(now, at(size_ - limit) + window);
}

send_limiter::send_limiter(send_limiter_config config)
    : config_(config)
    , reserve_(0) {
    assert(config_.frames_per_window >= 1 && config_.frames_per_window <= capacity);
    assert(config_.presence_per_window >= 1 && config_.presence_per_window <= capacity);
    assert(config_.window > milliseconds::zero() && config_.presence_window > milliseconds::zero());
    // Clamp in release builds too, so a bad config cannot index outside the rings.
    config_.frames_per_window = std::clamp<std::size_t>(config_.frames_per_window, 1, capacity);
    config_.presence_per_window = std::clamp<std::size_t>(config_.presence_per_window, 1, capacity);
    set_heartbeat_reserve(config_.heartbeat_reserve);
}

time_point send_limiter::ready_at(send_kind kind, time_point now) const {
    const time_point any_slot = frames_.ready_at(config_.frames_per_window, config_.window, now);
    if (kind == send_kind::heartbeat) {
        return any_slot;
    }
    if (kind == send_kind::requested_heartbeat) {
        return frames_.ready_at(command_limit(), config_.window, now);
    }
    const time_point command_slot = commands_.ready_at(command_limit(), config_.window, now);
    if (kind == send_kind::user_command) {
        return std::max(any_slot, command_slot);
    }
    return std::max(
        {any_slot, command_slot,
         presences_.ready_at(config_.presence_per_window, config_.presence_window, now)});
}

void send_limiter::record(send_kind kind, time_point now) {
    assert(ready_at(kind, now) <= now);
    frames_.push(now, config_.window);
    if (kind == send_kind::user_command || kind == send_kind::presence) {
        commands_.push(now, config_.window);
    }
    if (kind == send_kind::presence) {
        presences_.push(now, config_.presence_window);
    }
}

void send_limiter::reset() noexcept {
    frames_.clear();
    commands_.clear();
    presences_.clear();
}

void send_limiter::set_heartbeat_reserve(std::size_t reserve) noexcept {
    // A server sending an absurdly short interval must not starve commands for good; it will
    // close the connection with 4008 anyway if heartbeats alone exceed the limit.
    reserve_ = std::min(reserve, config_.frames_per_window - 1);
}

std::size_t send_limiter::in_window(time_point now) const {
    return frames_.count_after(now - config_.window) - frames_.count_after(now);
}

std::size_t heartbeat_reserve_for(milliseconds heartbeat_interval,
                                  const send_limiter_config& config) {
    if (heartbeat_interval <= milliseconds::zero()) {
        return config.frames_per_window;
    }
    const std::int64_t interval = heartbeat_interval.count();
    const std::int64_t window = std::max<std::int64_t>(config.window.count(), 0);
    // A half-open window of length W holds at most ceil(W / I) points spaced I apart.
    const auto heartbeats = static_cast<std::size_t>((window + interval - 1) / interval);
    constexpr std::size_t op1_reply_and_identify = 2;
    return heartbeats + op1_reply_and_identify;
}

} // namespace shardgate::gateway
