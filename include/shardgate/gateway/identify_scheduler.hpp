#pragma once
/// @file
/// Decides when each shard may Identify: `max_concurrency` Identifies per 5 s (one per bucket
/// `shard_id % max_concurrency`), and never so many that the daily session-start budget runs out,
/// because exhausting it makes Discord reset the bot token and end every session.

#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace shardgate::gateway {

/// The `session_start_limit` object of `GET /gateway/bot`.
///
/// @see https://discord.com/developers/docs/events/gateway#session-start-limit-object
struct session_start_limit {
    std::uint32_t total = 1000;        ///< Session starts allowed per window (normally 24 h).
    std::uint32_t remaining = 1000;    ///< Session starts left in the current window.
    milliseconds reset_after{0};       ///< Time until the window resets and `remaining` = `total`.
    std::uint32_t max_concurrency = 1; ///< Identify buckets; each may Identify once per 5 s.
};

/// The shard may send Identify now.
struct identify_permit {
    std::uint32_t shard_id; ///< The shard the permit is for.
};

/// The shard may not Identify until `retry_at`: the daily budget is down to the reserve. The shard
/// stays queued and gets a permit after the budget resets; it is refused once, not on every poll.
struct identify_refusal {
    std::uint32_t shard_id;  ///< The shard that was refused.
    std::error_code ec;      ///< `error::identify_budget_exhausted`.
    std::uint32_t remaining; ///< Session starts left.
    std::uint32_t total;     ///< Session starts per window.
    time_point retry_at;     ///< When the budget resets.
    std::string message;     ///< One line for a log: what happened, when it ends, what to change.
};

/// What `identify_scheduler::poll` hands out.
using identify_decision = std::variant<identify_permit, identify_refusal>;

/// Sans-I/O interface of the identify queue. Shards `request` a slot when they need to Identify
/// (not to Resume: resuming costs no session start) and the owner of the scheduler drives it with
/// `poll`/`next_deadline`, forwarding each permit to its shard. The local implementation serves
/// one process; a JetStream-backed one can replace it for bots spread over several processes.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
///
/// @see https://discord.com/developers/docs/events/gateway#sharding
/// @see https://discord.com/developers/docs/events/gateway#rate-limiting
class identify_scheduler {
public:
    virtual ~identify_scheduler() = default;

    /// Queues `shard_id` for a permit. Idempotent while the shard is pending.
    ///
    /// @param shard_id The shard that wants to Identify.
    /// @param now The current time.
    virtual void request(std::uint32_t shard_id, time_point now) = 0;

    /// Drops a pending request (the shard stopped, or resumed instead). No effect if none.
    ///
    /// @param shard_id The shard whose request to drop.
    virtual void cancel(std::uint32_t shard_id) = 0;

    /// The next decision due at `now`; call it until it returns `nullopt`.
    ///
    /// @param now The current time; never earlier than in the previous call.
    [[nodiscard]] virtual std::optional<identify_decision> poll(time_point now) = 0;

    /// When `poll` may next return something: the earliest time a grant, a refusal or the budget
    /// reset is due (possibly already past), or `nullopt` when nothing is pending.
    [[nodiscard]] virtual std::optional<time_point> next_deadline() const = 0;

    /// Session starts left in the current window, for metrics; nullopt when not known here.
    [[nodiscard]] virtual std::optional<std::uint32_t> budget_remaining() const {
        return std::nullopt;
    }

protected:
    identify_scheduler() = default;
    identify_scheduler(const identify_scheduler&) = default;
    identify_scheduler(identify_scheduler&&) = default;
    identify_scheduler& operator=(const identify_scheduler&) = default;
    identify_scheduler& operator=(identify_scheduler&&) = default;
};

/// Settings of `local_identify_scheduler`.
///
/// @see https://discord.com/developers/docs/events/gateway#sharding
struct local_identify_scheduler_config {
    /// How long a bucket waits after a permit before the next one. Discord's figure is 5 s.
    milliseconds window{5'000};
    /// Session starts kept back: no permit is given while `remaining <= budget_reserve`, so a
    /// crash loop cannot spend the last ones. 0 means automatic: `max(1, total / 100)`, i.e. 10 of
    /// the usual 1000.
    std::uint32_t budget_reserve = 0;
    /// How long the budget lasts after a reset, used to guess the next reset until `update_limit`
    /// brings fresh figures. Discord's window is 24 h.
    milliseconds budget_period{86'400'000};
};

/// Identify queue for the shards of one process.
///
/// Requests wait in one FIFO queue per bucket `shard_id % max_concurrency`. A bucket gives at most
/// one permit per `window`; when several buckets are ready at once, the one whose next shard has
/// the lowest id goes first, so shards requested together start in order (32 shards with
/// max_concurrency 16: shards 0-15 at once, 16-31 one window later). Each permit takes one session
/// start from `remaining`. While `remaining <= budget_reserve`, nothing is granted: every pending
/// shard gets one `identify_refusal` and waits for the reset at `now + reset_after` (of the last
/// figures given), when `remaining` becomes `total` again.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
///
/// @see https://discord.com/developers/docs/events/gateway#sharding
/// @see https://discord.com/developers/docs/events/gateway#session-start-limit-object
class local_identify_scheduler final : public identify_scheduler {
public:
    /// @param limit Figures from `GET /gateway/bot`. A `max_concurrency` of 0 is taken as 1.
    /// @param now When they were fetched; the reset is due at `now + limit.reset_after`.
    /// @param config Window and reserve. Precondition (assert): positive `window` and
    /// `budget_period`.
    local_identify_scheduler(session_start_limit limit, time_point now,
                             local_identify_scheduler_config config = {});

    /// Takes fresh figures from `GET /gateway/bot`. Pending requests keep their order; if
    /// `max_concurrency` changed they move to their new buckets, which all wait one window after
    /// the latest permit so that no old bucket's spacing is broken.
    ///
    /// @param limit The new figures.
    /// @param now When they were fetched.
    void update_limit(session_start_limit limit, time_point now);

    void request(std::uint32_t shard_id, time_point now) override;
    void cancel(std::uint32_t shard_id) override;
    [[nodiscard]] std::optional<identify_decision> poll(time_point now) override;
    [[nodiscard]] std::optional<time_point> next_deadline() const override;
    [[nodiscard]] std::optional<std::uint32_t> budget_remaining() const override {
        return remaining_;
    }

    /// Session starts left, as last known.
    [[nodiscard]] std::uint32_t remaining() const noexcept { return remaining_; }
    /// The reserve in force (the configured one, or the automatic one for the current `total`).
    [[nodiscard]] std::uint32_t budget_reserve() const noexcept;
    /// When the budget is expected to reset.
    [[nodiscard]] time_point reset_at() const noexcept { return reset_at_; }
    /// Shards waiting for a permit.
    [[nodiscard]] std::size_t pending() const noexcept;

private:
    struct pending_request {
        std::uint32_t shard_id;
        time_point requested_at;
        std::uint64_t sequence; // request order, kept across re-bucketing
        bool refused;           // already told about the exhausted budget
    };
    struct bucket {
        std::deque<pending_request> queue;
        std::optional<time_point> next_grant_at; // nullopt: never granted
    };

    [[nodiscard]] bool budget_blocked() const noexcept { return remaining_ <= budget_reserve(); }
    [[nodiscard]] identify_refusal make_refusal(std::uint32_t shard_id, time_point now) const;
    void rebucket(std::uint32_t max_concurrency);
    void roll_budget(time_point now);

    local_identify_scheduler_config config_;
    std::uint32_t total_;
    std::uint32_t remaining_;
    time_point reset_at_;
    std::vector<bucket> buckets_;
    std::uint64_t next_sequence_ = 0;
};

} // namespace shardgate::gateway
