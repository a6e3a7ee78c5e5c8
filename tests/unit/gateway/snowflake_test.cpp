#include "shardgate/gateway/snowflake.hpp"

#include <array>
#include <gtest/gtest.h>
#include <limits>

namespace shardgate::gateway {
namespace {

// The example of Discord's docs: 175928847299117063 was made 2016-04-30T11:18:25.796Z, by
// worker 1, process 0, increment 7.
// https://discord.com/developers/docs/reference#snowflakes
constexpr snowflake docs_example = 175'928'847'299'117'063ULL;

TEST(snowflake, creation_time_of_the_docs_example) {
    EXPECT_EQ(ms_since_discord_epoch(docs_example), 41'944'705'796U);
    EXPECT_EQ(created_at_ms(docs_example), 1'462'015'105'796U);
    EXPECT_EQ(docs_example & snowflake_low_mask, (1U << 17U) | 7U);
}

TEST(snowflake, discord_epoch_is_2015) {
    EXPECT_EQ(discord_epoch_ms, 1'420'070'400'000U); // 2015-01-01T00:00:00Z
    EXPECT_EQ(created_at_ms(0), discord_epoch_ms);
    EXPECT_EQ(created_at_ms(snowflake_low_mask), discord_epoch_ms) << "low bits carry no time";
    EXPECT_EQ(created_at_ms(snowflake_low_mask + 1), discord_epoch_ms + 1);
}

TEST(snowflake, make_snowflake_round_trips) {
    EXPECT_EQ(make_snowflake(41'944'705'796U, (1U << 17U) | 7U), docs_example);
    const snowflake id = make_snowflake(123'456'789, 0x12345);
    EXPECT_EQ(ms_since_discord_epoch(id), 123'456'789U);
    EXPECT_EQ(id & snowflake_low_mask, 0x12345U);
}

TEST(snowflake, make_snowflake_keeps_only_22_low_bits) {
    // A plain counter may be passed: what does not fit never spills into the time.
    EXPECT_EQ(make_snowflake(5, snowflake_low_mask + 3), make_snowflake(5, 2));
    EXPECT_EQ(ms_since_discord_epoch(make_snowflake(5, std::numeric_limits<std::uint64_t>::max())),
              5U);
}

TEST(shard_for_guild, is_the_creation_ms_modulo_the_shard_count) {
    // Discord's formula: shard_id = (guild_id >> 22) % num_shards.
    EXPECT_EQ(shard_for_guild(docs_example, 1), 0U);
    EXPECT_EQ(shard_for_guild(docs_example, 16), 41'944'705'796U % 16);
    EXPECT_EQ(shard_for_guild(make_snowflake(10, 0), 4), 2U);
    EXPECT_EQ(shard_for_guild(make_snowflake(10, snowflake_low_mask), 4), 2U)
        << "the low 22 bits do not move a guild";
    EXPECT_EQ(shard_for_guild(make_snowflake(11, 0), 4), 3U);
    EXPECT_EQ(shard_for_guild(make_snowflake(12, 0), 4), 0U);
}

TEST(shard_for_guild, zero_shards_count_as_one) {
    EXPECT_EQ(shard_for_guild(docs_example, 0), 0U);
}

TEST(shard_for_guild, every_shard_gets_guilds) {
    constexpr std::uint32_t shards = 7;
    std::array<int, shards> count{};
    for (std::uint64_t ms = 1'000; ms < 1'000 + 7 * 100; ++ms) {
        ++count.at(shard_for_guild(make_snowflake(ms, ms * 31), shards));
    }
    for (const int c : count) {
        EXPECT_EQ(c, 100);
    }
}

// Usable where a constant is needed, e.g. to route at compile time.
static_assert(shard_for_guild(make_snowflake(10, 0), 4) == 2);
static_assert(created_at_ms(0) == discord_epoch_ms);

} // namespace
} // namespace shardgate::gateway
