#include "shardgate/gateway/identify_scheduler.hpp"

#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

namespace shardgate::gateway {
namespace {

using namespace std::chrono_literals;

const time_point t0 = time_point{} + 1h;

struct grant {
    std::uint32_t shard_id;
    time_point at;
};

struct drive_result {
    std::vector<grant> grants;
    std::vector<identify_refusal> refusals;
};

// Polls until nothing is due, then jumps fake time to next_deadline(); stops when nothing is
// pending or at `until`.
drive_result drive(identify_scheduler& scheduler, time_point& now, time_point until) {
    drive_result result;
    for (;;) {
        while (auto decision = scheduler.poll(now)) {
            if (const auto* permit = std::get_if<identify_permit>(&*decision)) {
                result.grants.push_back({permit->shard_id, now});
            } else {
                result.refusals.push_back(std::get<identify_refusal>(*decision));
            }
        }
        const auto deadline = scheduler.next_deadline();
        if (!deadline || *deadline > until) {
            return result;
        }
        // After poll returned nullopt the deadline must lie ahead, or a driver would spin.
        EXPECT_GT(*deadline, now);
        if (*deadline <= now) {
            return result;
        }
        now = *deadline;
    }
}

session_start_limit limit_with(std::uint32_t max_concurrency) {
    session_start_limit limit;
    limit.max_concurrency = max_concurrency;
    limit.reset_after = 24h;
    return limit;
}

class identify_startup : public ::testing::TestWithParam<std::tuple<std::uint32_t, std::uint32_t>> {
};

TEST_P(identify_startup, grants_every_shard_once_at_the_fastest_allowed_pace) {
    const auto [shards, max_concurrency] = GetParam();
    local_identify_scheduler scheduler{limit_with(max_concurrency), t0};
    for (std::uint32_t id = 0; id < shards; ++id) {
        scheduler.request(id, t0);
    }
    time_point now = t0;
    const drive_result r = drive(scheduler, now, t0 + 24h);
    EXPECT_TRUE(r.refusals.empty());

    // (a) Exactly one permit per shard.
    ASSERT_EQ(r.grants.size(), shards);
    std::map<std::uint32_t, int> per_shard;
    for (const auto& g : r.grants) {
        ++per_shard[g.shard_id];
    }
    for (std::uint32_t id = 0; id < shards; ++id) {
        EXPECT_EQ(per_shard[id], 1) << "shard " << id;
    }
    // (b) Within a bucket, in shard order and at least 5 s apart.
    std::map<std::uint32_t, grant> last_in_bucket;
    for (const auto& g : r.grants) {
        const std::uint32_t key = g.shard_id % max_concurrency;
        if (const auto it = last_in_bucket.find(key); it != last_in_bucket.end()) {
            EXPECT_GT(g.shard_id, it->second.shard_id);
            EXPECT_GE(g.at - it->second.at, 5s) << "shard " << g.shard_id;
        }
        last_in_bucket.insert_or_assign(key, g);
    }
    // (c) No 5 s window holds more than max_concurrency grants (grants are in time order).
    for (std::size_t last = 0; last < r.grants.size(); ++last) {
        std::size_t in_window = 0;
        for (std::size_t i = 0; i <= last; ++i) {
            in_window += r.grants[i].at > r.grants[last].at - 5s ? 1U : 0U;
        }
        EXPECT_LE(in_window, max_concurrency);
    }
    // (d) The total time is the theoretical minimum.
    const std::uint32_t rounds = (shards + max_concurrency - 1) / max_concurrency;
    EXPECT_EQ(r.grants.back().at - t0, (rounds - 1) * 5s);
    EXPECT_EQ(scheduler.remaining(), 1000 - shards);
    EXPECT_EQ(scheduler.next_deadline(), std::nullopt);
    RecordProperty("startup_ms",
                   static_cast<int>(std::chrono::duration_cast<milliseconds>(now - t0).count()));
}

INSTANTIATE_TEST_SUITE_P(shards_by_concurrency, identify_startup,
                         ::testing::Combine(::testing::Values(1U, 16U, 64U),
                                            ::testing::Values(1U, 2U, 16U, 64U)),
                         [](const auto& test_param) {
                             return std::to_string(std::get<0>(test_param.param)) + "_shards_mc_" +
                                    std::to_string(std::get<1>(test_param.param));
                         });

TEST(identify_scheduler, thirty_two_shards_with_concurrency_sixteen_start_in_two_rounds) {
    local_identify_scheduler scheduler{limit_with(16), t0};
    for (std::uint32_t id = 0; id < 32; ++id) {
        scheduler.request(id, t0);
    }
    time_point now = t0;
    const drive_result r = drive(scheduler, now, t0 + 1h);
    ASSERT_EQ(r.grants.size(), 32U);
    for (std::uint32_t i = 0; i < 32; ++i) {
        EXPECT_EQ(r.grants[i].shard_id, i);
        EXPECT_EQ(r.grants[i].at, i < 16 ? t0 : t0 + 5s) << "shard " << i;
    }
}

TEST(identify_scheduler, budget_guard_refuses_once_per_shard_and_resumes_after_reset) {
    session_start_limit limit;
    limit.remaining = 5;
    limit.reset_after = 2h + 14min + 5s;
    local_identify_scheduler_config config;
    config.budget_reserve = 3;
    local_identify_scheduler scheduler{limit, t0, config};
    for (std::uint32_t id = 0; id < 6; ++id) {
        scheduler.request(id, t0);
    }
    time_point now = t0;
    drive_result r = drive(scheduler, now, t0 + 1h);
    ASSERT_EQ(r.grants.size(), 2U);
    EXPECT_EQ(r.grants[0].shard_id, 0U);
    EXPECT_EQ(r.grants[1].shard_id, 1U);
    EXPECT_EQ(r.grants[1].at, t0 + 5s);
    EXPECT_EQ(scheduler.remaining(), 3U);

    ASSERT_EQ(r.refusals.size(), 4U); // shards 2..5, once each despite repeated polling
    for (std::uint32_t i = 0; i < 4; ++i) {
        const identify_refusal& refusal = r.refusals[i];
        EXPECT_EQ(refusal.shard_id, i + 2);
        EXPECT_EQ(refusal.ec, error::identify_budget_exhausted);
        EXPECT_EQ(refusal.ec, condition::fatal);
        EXPECT_EQ(refusal.remaining, 3U);
        EXPECT_EQ(refusal.total, 1000U);
        EXPECT_EQ(refusal.retry_at, t0 + 2h + 14min + 5s);
        EXPECT_NE(refusal.message.find("only 3 of 1000"), std::string::npos) << refusal.message;
        EXPECT_NE(refusal.message.find("in 2h 14m"), std::string::npos) << refusal.message;
        EXPECT_NE(refusal.message.find("budget_reserve"), std::string::npos) << refusal.message;
        EXPECT_EQ(refusal.message.find('\n'), std::string::npos);
    }
    RecordProperty("refusal_message", r.refusals[0].message);
    EXPECT_EQ(scheduler.next_deadline(), t0 + 2h + 14min + 5s);
    EXPECT_EQ(scheduler.poll(t0 + 2h), std::nullopt);

    // After the reset the budget is full again and the queued shards go, 5 s apart.
    now = t0 + 2h;
    r = drive(scheduler, now, t0 + 4h);
    EXPECT_TRUE(r.refusals.empty());
    ASSERT_EQ(r.grants.size(), 4U);
    for (std::uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(r.grants[i].shard_id, i + 2);
        EXPECT_EQ(r.grants[i].at, t0 + 2h + 14min + 5s + i * 5s);
    }
    EXPECT_EQ(scheduler.remaining(), 996U);
}

TEST(identify_scheduler, automatic_reserve_is_one_percent_and_at_least_one) {
    session_start_limit limit;
    EXPECT_EQ(local_identify_scheduler(limit, t0).budget_reserve(), 10U);
    limit.total = 50;
    limit.remaining = 50;
    EXPECT_EQ(local_identify_scheduler(limit, t0).budget_reserve(), 1U);
}

TEST(identify_scheduler, update_limit_changes_behaviour) {
    local_identify_scheduler scheduler{limit_with(1), t0};
    scheduler.request(0, t0);
    scheduler.request(1, t0);
    scheduler.request(2, t0);
    time_point now = t0;
    auto decision = scheduler.poll(now);
    ASSERT_TRUE(decision && std::holds_alternative<identify_permit>(*decision));

    // Fresh figures: nearly spent. The waiting shards are refused.
    session_start_limit low;
    low.remaining = 4;
    low.reset_after = 30min;
    scheduler.update_limit(low, now);
    drive_result r = drive(scheduler, now, t0 + 1min);
    EXPECT_TRUE(r.grants.empty());
    ASSERT_EQ(r.refusals.size(), 2U);
    EXPECT_NE(r.refusals[0].message.find("in 30m 0s"), std::string::npos) << r.refusals[0].message;

    // Fresh figures again, now with max_concurrency 2: both go, in separate buckets, once the old
    // bucket's 5 s have passed.
    session_start_limit high = limit_with(2);
    high.remaining = 900;
    scheduler.update_limit(high, now);
    r = drive(scheduler, now, t0 + 1h);
    EXPECT_TRUE(r.refusals.empty());
    ASSERT_EQ(r.grants.size(), 2U);
    EXPECT_EQ(r.grants[0].shard_id, 1U);
    EXPECT_EQ(r.grants[1].shard_id, 2U);
    EXPECT_EQ(r.grants[0].at, t0 + 5s);
    EXPECT_EQ(r.grants[1].at, t0 + 5s);
    EXPECT_EQ(scheduler.remaining(), 898U);
}

TEST(identify_scheduler, cancel_removes_a_pending_request) {
    local_identify_scheduler scheduler{limit_with(1), t0};
    scheduler.request(0, t0);
    scheduler.request(1, t0);
    scheduler.request(2, t0);
    scheduler.cancel(1);
    scheduler.cancel(7); // not pending: no effect
    EXPECT_EQ(scheduler.pending(), 2U);
    time_point now = t0;
    const drive_result r = drive(scheduler, now, t0 + 1h);
    ASSERT_EQ(r.grants.size(), 2U);
    EXPECT_EQ(r.grants[0].shard_id, 0U);
    EXPECT_EQ(r.grants[1].shard_id, 2U);
    EXPECT_EQ(r.grants[1].at, t0 + 5s);
    EXPECT_EQ(scheduler.next_deadline(), std::nullopt);
}

TEST(identify_scheduler, request_is_idempotent_while_pending) {
    local_identify_scheduler scheduler{limit_with(1), t0};
    scheduler.request(3, t0);
    scheduler.request(3, t0 + 1s);
    scheduler.request(3, t0 + 2s);
    EXPECT_EQ(scheduler.pending(), 1U);
    time_point now = t0 + 2s;
    const drive_result r = drive(scheduler, now, t0 + 1h);
    ASSERT_EQ(r.grants.size(), 1U);
    EXPECT_EQ(r.grants[0].at, t0 + 2s);
    // Once granted, a new request (a later reconnect) queues again behind the bucket's window.
    scheduler.request(3, now);
    EXPECT_EQ(scheduler.next_deadline(), t0 + 7s);
}

TEST(identify_scheduler, nothing_pending_means_no_deadline) {
    const local_identify_scheduler scheduler{limit_with(4), t0};
    EXPECT_EQ(scheduler.next_deadline(), std::nullopt);
}

} // namespace
} // namespace shardgate::gateway
