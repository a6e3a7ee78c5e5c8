// Checks opcode.hpp, intents.hpp and dispatch_events.hpp against the digest of Discord's docs kept
// in tests/data/gateway.json, so a fact typed wrong in the tables cannot go unnoticed.
#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/dispatch_events.hpp"
#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/intents.hpp"
#include "shardgate/gateway/opcode.hpp"

#include <gtest/gtest.h>
#include <map>
#include <set>
#include <simdjson.h>
#include <string>

namespace gw = shardgate::gateway;

namespace {

class protocol_facts : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        json_ = new simdjson::padded_string(); // NOLINT(cppcoreguidelines-owning-memory)
        ASSERT_EQ(
            simdjson::padded_string::load(SHARDGATE_TEST_DATA_DIR "/gateway.json").get(*json_),
            simdjson::SUCCESS);
        parser_ = new simdjson::dom::parser(); // NOLINT(cppcoreguidelines-owning-memory)
        ASSERT_EQ(parser_->parse(*json_).get(root_), simdjson::SUCCESS);
    }
    static void TearDownTestSuite() {
        delete parser_; // NOLINT(cppcoreguidelines-owning-memory)
        delete json_;   // NOLINT(cppcoreguidelines-owning-memory)
    }
    static simdjson::dom::array array(const char* key) {
        simdjson::dom::array a;
        EXPECT_EQ(root_[key].get_array().get(a), simdjson::SUCCESS) << key;
        return a;
    }

    static inline simdjson::padded_string* json_ = nullptr;
    static inline simdjson::dom::parser* parser_ = nullptr;
    static inline simdjson::dom::element root_;
};

std::string str(simdjson::dom::element e, const char* key) {
    std::string_view v;
    EXPECT_EQ(e[key].get_string().get(v), simdjson::SUCCESS) << key;
    return std::string(v);
}

std::int64_t num(simdjson::dom::element e, const char* key) {
    std::int64_t v = 0;
    EXPECT_EQ(e[key].get_int64().get(v), simdjson::SUCCESS) << key;
    return v;
}

} // namespace

TEST_F(protocol_facts, every_documented_opcode_is_in_the_table_with_its_name_and_direction) {
    std::map<std::int64_t, std::pair<std::string, std::string>> docs;
    for (auto row : array("opcodes")) {
        docs[num(row, "op")] = {str(row, "name"), str(row, "direction")};
    }
    ASSERT_EQ(docs.size(), gw::all_opcodes().size());
    for (const auto& info : gw::all_opcodes()) {
        const auto op = static_cast<std::int64_t>(info.op);
        ASSERT_TRUE(docs.contains(op)) << op;
        EXPECT_EQ(docs[op].first, info.name);
        const auto* dir = info.direction == gw::opcode_direction::send      ? "send"
                          : info.direction == gw::opcode_direction::receive ? "receive"
                                                                            : "send/receive";
        EXPECT_EQ(docs[op].second, dir) << op;
        EXPECT_EQ(gw::to_opcode(op), info.op);
        EXPECT_EQ(gw::info(info.op).name, info.name);
    }
    for (std::int64_t unused : {5, 12, 30, 32, 42, 44, -1, 256}) {
        EXPECT_FALSE(gw::to_opcode(unused).has_value()) << unused;
    }
}

TEST_F(protocol_facts, client_receives_exactly_the_receive_opcodes) {
    for (const auto& info : gw::all_opcodes()) {
        EXPECT_EQ(gw::client_receives(info.op), info.direction != gw::opcode_direction::send)
            << info.name;
    }
}

TEST_F(protocol_facts, every_documented_close_code_is_in_the_policy_table_and_no_other_4xxx) {
    std::set<std::uint16_t> docs;
    for (auto row : array("close_codes")) {
        const auto code = static_cast<std::uint16_t>(num(row, "code"));
        docs.insert(code);
        const auto policy = gw::find_close_policy(code);
        ASSERT_TRUE(policy.has_value()) << code;
        EXPECT_TRUE(policy->discord_documented) << code;
        // Names are Discord's ("Invalid seq" for the docs' "Invalid `seq`").
        EXPECT_EQ(str(row, "docs_description"), policy->name) << code;
        // The docs' Reconnect column: false exactly for the fatal codes.
        bool reconnect = false;
        ASSERT_EQ(row["reconnect"].get_bool().get(reconnect), simdjson::SUCCESS);
        EXPECT_EQ(reconnect, policy->reaction != gw::close_reaction::fatal) << code;
    }
    EXPECT_FALSE(docs.contains(4006));
    for (const auto& p : gw::all_close_policies()) {
        if (p.code >= 4000) {
            EXPECT_TRUE(docs.contains(p.code)) << p.code << " is not one of Discord's codes";
        }
    }
}

TEST_F(protocol_facts, every_intent_matches_the_docs_bit_value_and_privileged_flag) {
    std::map<std::string, std::pair<std::int64_t, bool>> docs;
    for (auto row : array("intents")) {
        bool privileged = false;
        ASSERT_EQ(row["privileged"].get_bool().get(privileged), simdjson::SUCCESS);
        EXPECT_EQ(num(row, "value"), std::int64_t{1} << num(row, "bit"));
        docs[str(row, "name")] = {num(row, "bit"), privileged};
    }
    ASSERT_EQ(docs.size(), gw::all_intents().size());
    std::uint64_t privileged_mask = 0;
    for (const auto& i : gw::all_intents()) {
        const std::string name(i.name);
        ASSERT_TRUE(docs.contains(name)) << name;
        EXPECT_EQ(docs[name].first, i.bit) << name;
        EXPECT_EQ(docs[name].second, i.privileged) << name;
        if (i.privileged) {
            privileged_mask |= i.value();
        }
    }
    EXPECT_EQ(privileged_mask, gw::privileged_intents_mask);
    std::int64_t documented = 0;
    ASSERT_EQ(root_["limits"]["intents_all_documented_mask"].get_int64().get(documented),
              simdjson::SUCCESS);
    EXPECT_EQ(static_cast<std::uint64_t>(documented), gw::documented_intents_mask);
}

TEST_F(protocol_facts, every_dispatch_event_name_and_its_gating_intents_match_the_docs) {
    std::map<std::string, std::uint64_t> docs;
    for (auto row : array("dispatch_events")) {
        std::uint64_t mask = 0;
        simdjson::dom::array intents;
        ASSERT_EQ(row["intents"].get_array().get(intents), simdjson::SUCCESS);
        for (auto name : intents) {
            std::string_view n;
            ASSERT_EQ(name.get_string().get(n), simdjson::SUCCESS);
            const auto intent = gw::find_intent(n);
            ASSERT_TRUE(intent.has_value()) << n;
            mask |= intent->value();
        }
        docs[str(row, "name")] = mask;
    }
    EXPECT_EQ(docs.size(), 79U);
    ASSERT_EQ(docs.size(), gw::all_dispatch_events().size());
    for (const auto& e : gw::all_dispatch_events()) {
        const std::string name(e.name);
        ASSERT_TRUE(docs.contains(name)) << name;
        EXPECT_EQ(docs[name], e.intents) << name;
        EXPECT_TRUE(gw::find_dispatch_event(e.name).has_value());
    }
    EXPECT_FALSE(gw::find_dispatch_event("HELLO").has_value());
}

TEST(intents, parse_names_numbers_aliases_and_keywords) {
    std::uint64_t v = 0;
    std::string bad;
    EXPECT_FALSE(gw::parse_intents("GUILDS,GUILD_MESSAGES", v, bad));
    EXPECT_EQ(v, 1U | 512U);
    EXPECT_FALSE(gw::parse_intents(" guilds | message_content + GUILD_BANS ", v, bad));
    EXPECT_EQ(v, 1U | 32768U | 4U);
    EXPECT_FALSE(gw::parse_intents("513", v, bad));
    EXPECT_EQ(v, 513U);
    EXPECT_FALSE(gw::parse_intents("default", v, bad));
    EXPECT_EQ(v, gw::default_intents);
    EXPECT_EQ(v & gw::privileged_intents_mask, 0U);
    EXPECT_FALSE(gw::parse_intents("all", v, bad));
    EXPECT_EQ(v, gw::documented_intents_mask);
    EXPECT_FALSE(gw::parse_intents("default,GUILD_MEMBERS", v, bad));
    EXPECT_EQ(v, gw::default_intents | 2U);
}

TEST(intents, unknown_names_and_undocumented_bits_are_rejected_with_the_offending_text) {
    std::uint64_t v = 7;
    std::string bad;
    EXPECT_EQ(gw::parse_intents("GUILDS,GUILD_MESAGES", v, bad), gw::error::unknown_intent);
    EXPECT_EQ(bad, "GUILD_MESAGES");
    EXPECT_EQ(v, 7U) << "output untouched on failure";
    EXPECT_EQ(gw::parse_intents(std::to_string(1U << 17U), v, bad), gw::error::unknown_intent);
    EXPECT_EQ(gw::intent_names(1U | 512U), "GUILDS|GUILD_MESSAGES");
    EXPECT_EQ(gw::intent_names(1U << 17U), "131072");
}
