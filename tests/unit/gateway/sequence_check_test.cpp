#include "shardgate/gateway/sequence_check.hpp"

#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace shardgate::gateway {
namespace {

TEST(sequence_check, in_order_sequences_lose_and_duplicate_nothing) {
    sequence_check check(1);
    check.on_dispatch(0, 1, "READY");
    for (std::uint64_t seq = 2; seq <= 50; ++seq) {
        check.on_dispatch(0, seq, "MESSAGE_CREATE");
    }
    EXPECT_EQ(check.delivered(), 50U);
    EXPECT_EQ(check.lost(), 0U);
    EXPECT_EQ(check.duplicated(), 0U);
}

TEST(sequence_check, a_gap_counts_every_missing_number) {
    sequence_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 6, "MESSAGE_CREATE"); // 3, 4, 5 missing
    check.on_dispatch(0, 7, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 4U);
    EXPECT_EQ(check.lost(), 3U);
    EXPECT_EQ(check.duplicated(), 0U);
}

TEST(sequence_check, a_repeat_or_an_older_number_is_a_duplicate) {
    sequence_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "MESSAGE_CREATE"); // repeat
    check.on_dispatch(0, 2, "MESSAGE_CREATE"); // older
    check.on_dispatch(0, 4, "MESSAGE_CREATE"); // carries on without a gap
    EXPECT_EQ(check.delivered(), 6U);
    EXPECT_EQ(check.duplicated(), 2U);
    EXPECT_EQ(check.lost(), 0U);
}

TEST(sequence_check, ready_starts_a_new_session_from_one) {
    sequence_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "MESSAGE_CREATE");
    check.on_dispatch(0, 1, "READY"); // a new session: 1 again is not a duplicate
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 5U);
    EXPECT_EQ(check.duplicated(), 0U);
    EXPECT_EQ(check.lost(), 0U);
}

TEST(sequence_check, only_ready_resets_a_session) {
    sequence_check check(1);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(0, 3, "RESUMED"); // a resumed session keeps counting
    check.on_dispatch(0, 1, "MESSAGE_CREATE");
    EXPECT_EQ(check.duplicated(), 1U);
    EXPECT_EQ(check.lost(), 0U);
}

TEST(sequence_check, shards_are_tracked_independently) {
    sequence_check check(3);
    check.on_dispatch(0, 1, "READY");
    check.on_dispatch(1, 1, "READY");
    check.on_dispatch(2, 1, "READY");
    check.on_dispatch(0, 2, "MESSAGE_CREATE");
    check.on_dispatch(1, 2, "MESSAGE_CREATE"); // not a repeat of shard 0's 2
    check.on_dispatch(1, 5, "MESSAGE_CREATE"); // shard 1 loses 3 and 4
    check.on_dispatch(2, 1, "MESSAGE_CREATE"); // shard 2 repeats 1
    check.on_dispatch(0, 3, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 8U);
    EXPECT_EQ(check.lost(), 2U);
    EXPECT_EQ(check.duplicated(), 1U);
}

TEST(sequence_check, out_of_range_shards_are_ignored) {
    sequence_check check(2);
    check.on_dispatch(2, 1, "READY");
    check.on_dispatch(2, 9, "MESSAGE_CREATE");
    check.on_dispatch(99, 9, "MESSAGE_CREATE");
    EXPECT_EQ(check.delivered(), 0U);
    EXPECT_EQ(check.lost(), 0U);
    EXPECT_EQ(check.duplicated(), 0U);
}

TEST(sequence_check, shards_on_their_own_threads) {
    constexpr std::uint32_t shards = 4;
    sequence_check check(shards);
    std::vector<std::thread> threads;
    for (std::uint32_t s = 0; s < shards; ++s) {
        threads.emplace_back([&check, s] {
            check.on_dispatch(s, 1, "READY");
            for (std::uint64_t seq = 2; seq <= 10'000; ++seq) {
                if (seq % 1000 != 0) { // 1000, 2000, ..., 10000 never arrive
                    check.on_dispatch(s, seq, "MESSAGE_CREATE");
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(check.delivered(), shards * (10'000U - 10U));
    // 10000 was the last number: nothing after it shows the gap, so 9 lost per shard, not 10.
    EXPECT_EQ(check.lost(), shards * 9U);
    EXPECT_EQ(check.duplicated(), 0U);
}

} // namespace
} // namespace shardgate::gateway
