#include "shardgate/emulator/catalog.hpp"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <set>
#include <string>
#include <vector>

namespace {

using shardgate::emulator::catalog;
using shardgate::emulator::emulator_config;
using shardgate::emulator::guild_info;
using shardgate::emulator::snowflake;

constexpr std::uint64_t discord_epoch_ms = 1'420'070'400'000;
constexpr std::uint64_t y2016_ms = 1'451'606'400'000;
constexpr std::uint64_t y2026_ms = 1'767'225'600'000;

emulator_config config_with(std::uint64_t seed, std::uint32_t guilds = 10,
                            std::uint32_t members = 50) {
    emulator_config config;
    config.seed = seed;
    config.guilds = guilds;
    config.members_per_guild = members;
    return config;
}

std::uint64_t created_unix_ms(snowflake id) {
    return (id >> 22U) + discord_epoch_ms;
}

void expect_realistic(snowflake id) {
    EXPECT_GE(created_unix_ms(id), y2016_ms) << id;
    EXPECT_LT(created_unix_ms(id), y2026_ms) << id;
}

TEST(catalog, same_seed_gives_same_content) {
    const catalog a(config_with(42));
    const catalog b(config_with(42));
    EXPECT_EQ(a.application_id(), b.application_id());
    EXPECT_EQ(a.bot_user().id, b.bot_user().id);
    EXPECT_EQ(a.bot_user().username, b.bot_user().username);
    ASSERT_EQ(a.guilds().size(), b.guilds().size());
    for (std::size_t i = 0; i < a.guilds().size(); ++i) {
        const guild_info& ga = a.guilds()[i];
        const guild_info& gb = b.guilds()[i];
        EXPECT_EQ(ga.id, gb.id);
        EXPECT_EQ(ga.name, gb.name);
        EXPECT_EQ(ga.text_channel_ids, gb.text_channel_ids);
        EXPECT_EQ(ga.voice_channel_ids, gb.voice_channel_ids);
        EXPECT_EQ(ga.role_ids, gb.role_ids);
        EXPECT_EQ(ga.member_count, gb.member_count);
        for (std::uint32_t m = 0; m < std::min<std::uint32_t>(ga.member_count, 20); ++m) {
            const auto ua = a.member(ga, m);
            const auto ub = b.member(gb, m);
            EXPECT_EQ(ua.id, ub.id);
            EXPECT_EQ(ua.username, ub.username);
            EXPECT_EQ(ua.global_name, ub.global_name);
            EXPECT_EQ(ua.avatar, ub.avatar);
        }
    }
}

TEST(catalog, different_seeds_give_different_content) {
    const catalog a(config_with(1));
    const catalog b(config_with(2));
    EXPECT_NE(a.bot_user().id, b.bot_user().id);
    std::set<snowflake> ids_a;
    for (const auto& g : a.guilds()) {
        ids_a.insert(g.id);
    }
    for (const auto& g : b.guilds()) {
        EXPECT_EQ(ids_a.count(g.id), 0U);
    }
    EXPECT_NE(a.member(a.guilds()[0], 1).id, b.member(b.guilds()[0], 1).id);
}

TEST(catalog, guild_count_and_structure) {
    const catalog c(config_with(7, 25));
    ASSERT_EQ(c.guilds().size(), 25U);
    std::set<snowflake> ids;
    for (const auto& g : c.guilds()) {
        EXPECT_TRUE(ids.insert(g.id).second) << "guild ids are unique";
        EXPECT_FALSE(g.name.empty());
        EXPECT_GE(g.text_channel_ids.size(), 3U);
        EXPECT_GE(g.voice_channel_ids.size(), 1U);
        ASSERT_GE(g.role_ids.size(), 3U);
        EXPECT_EQ(g.role_ids.front(), g.id) << "@everyone has the guild's id";
    }
    EXPECT_TRUE(std::is_sorted(c.guilds().begin(), c.guilds().end(),
                               [](const auto& x, const auto& y) { return x.id < y.id; }));
}

TEST(catalog, snowflakes_look_real) {
    const catalog c(config_with(3));
    expect_realistic(c.application_id());
    EXPECT_EQ(c.application_id(), c.bot_user().id);
    for (const auto& g : c.guilds()) {
        expect_realistic(g.id);
        for (const auto id : g.text_channel_ids) {
            expect_realistic(id);
            EXPECT_GE(id >> 22U, g.id >> 22U) << "channels are made after their guild";
        }
        for (const auto id : g.voice_channel_ids) {
            expect_realistic(id);
            EXPECT_GE(id >> 22U, g.id >> 22U);
        }
        for (const auto id : g.role_ids) {
            expect_realistic(id);
        }
        for (std::uint32_t m = 1; m < std::min<std::uint32_t>(g.member_count, 50); ++m) {
            expect_realistic(c.member(g, m).id);
        }
    }
}

TEST(catalog, make_snowflake_layout) {
    const snowflake id = catalog::make_snowflake(123'456'789, 0x12345);
    EXPECT_EQ(id >> 22U, 123'456'789U);
    EXPECT_EQ(id & 0x3FFFFFU, 0x12345U);
    EXPECT_NE(catalog::make_snowflake(1, 1), catalog::make_snowflake(1, 2));
}

TEST(catalog, member_counts_vary_around_the_configured_size) {
    const catalog c(config_with(11, 40, 200));
    std::set<std::uint32_t> counts;
    for (const auto& g : c.guilds()) {
        EXPECT_GE(g.member_count, 100U);
        EXPECT_LE(g.member_count, 400U);
        counts.insert(g.member_count);
    }
    EXPECT_GT(counts.size(), 10U);

    const catalog tiny(config_with(11, 5, 0));
    for (const auto& g : tiny.guilds()) {
        EXPECT_EQ(g.member_count, 1U) << "at least the bot";
    }
}

TEST(catalog, guilds_spread_over_shards) {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        const catalog c(config_with(seed, 10));
        for (const std::uint32_t shards : {3U, 4U, 5U, 8U}) {
            std::set<std::uint64_t> used;
            for (const auto& g : c.guilds()) {
                used.insert((g.id >> 22U) % shards);
            }
            EXPECT_GE(used.size(), 2U) << "seed " << seed << ", " << shards << " shards";
        }
    }
}

TEST(catalog, guilds_for_shard_follows_discords_formula) {
    const catalog c(config_with(5, 30));
    for (const std::uint32_t shards : {1U, 2U, 3U, 7U}) {
        std::size_t total = 0;
        for (std::uint32_t s = 0; s < shards; ++s) {
            const auto routed = c.guilds_for_shard(s, shards);
            total += routed.size();
            for (const auto* g : routed) {
                EXPECT_EQ((g->id >> 22U) % shards, s);
            }
        }
        EXPECT_EQ(total, c.guilds().size()) << "every guild goes to exactly one shard";
    }
    EXPECT_TRUE(c.guilds_for_shard(3, 3).empty());
}

TEST(catalog, find_guild) {
    const catalog c(config_with(9, 50));
    for (const auto& g : c.guilds()) {
        EXPECT_EQ(c.find_guild(g.id), &g);
    }
    EXPECT_EQ(c.find_guild(0), nullptr);
    EXPECT_EQ(c.find_guild(c.guilds()[0].id + 1), nullptr);
}

TEST(catalog, member_zero_is_the_bot) {
    const catalog c(config_with(4));
    for (const auto& g : c.guilds()) {
        const auto bot = c.member(g, 0);
        EXPECT_EQ(bot.id, c.bot_user().id);
        EXPECT_EQ(bot.username, c.bot_user().username);
        EXPECT_EQ(c.member_index(g, bot.id), 0U);
    }
}

TEST(catalog, users_look_plausible) {
    const catalog c(config_with(6));
    const auto& g = c.guilds()[0];
    std::set<snowflake> ids;
    for (std::uint32_t m = 0; m < g.member_count; ++m) {
        const auto u = c.member(g, m);
        EXPECT_TRUE(ids.insert(u.id).second);
        EXPECT_FALSE(u.username.empty());
        EXPECT_LE(u.username.size(), 32U);
        ASSERT_EQ(u.avatar.size(), 32U);
        EXPECT_EQ(u.avatar.find_first_not_of("0123456789abcdef"), std::string::npos);
        if (m != 0) {
            EXPECT_EQ(u.username.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_."),
                      std::string::npos)
                << u.username;
        }
    }
    EXPECT_TRUE(c.bot_user().global_name.empty());
}

TEST(catalog, member_index_inverts_member) {
    const catalog c(config_with(8, 10, 300));
    for (const auto& g : c.guilds()) {
        for (std::uint32_t m = 0; m < g.member_count; ++m) {
            ASSERT_EQ(c.member_index(g, c.member(g, m).id), m);
        }
    }
}

TEST(catalog, member_index_rejects_strangers) {
    const catalog c(config_with(8, 10, 300));
    const auto& a = c.guilds()[0];
    const auto& b = c.guilds()[1];
    EXPECT_FALSE(c.member_index(a, 0));
    EXPECT_FALSE(c.member_index(a, 12345));
    EXPECT_FALSE(c.member_index(a, a.id));
    EXPECT_FALSE(c.member_index(a, c.member(b, 1).id)) << "a member of another guild";
    EXPECT_FALSE(c.member_index(a, c.member(a, 1).id + (snowflake{1} << 22U)))
        << "right index bits, wrong timestamp";
    // The index bits of a member beyond member_count.
    guild_info shrunk = a;
    shrunk.member_count = 2;
    EXPECT_FALSE(c.member_index(shrunk, c.member(a, 5).id));
}

TEST(catalog, huge_guilds_cost_nothing_up_front) {
    // 2000 guilds of about a million members each: members are computed, never stored.
    const catalog c(config_with(12, 2'000, 1'000'000));
    ASSERT_EQ(c.guilds().size(), 2'000U);
    const auto& g = c.guilds()[1'234];
    EXPECT_GE(g.member_count, 500'000U);
    const std::uint32_t last = g.member_count - 1;
    EXPECT_EQ(c.member_index(g, c.member(g, last).id), last);
    EXPECT_EQ(c.member_index(g, c.member(g, 777'777 % g.member_count).id),
              777'777 % g.member_count);
}

} // namespace
