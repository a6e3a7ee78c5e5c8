#include "explain.hpp"

#include "shardgate/gateway/close_code.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sstream>

namespace cli = shardgate::cli;
namespace gw = shardgate::gateway;

namespace {

struct run_result {
    int status;
    std::string out;
    std::string err;
};

run_result run(cli::explain_options options) {
    std::ostringstream out;
    std::ostringstream err;
    const int status = cli::run_explain(options, out, err);
    return {status, out.str(), err.str()};
}

} // namespace

TEST(explain, one_code_prints_name_meaning_reaction_and_fix) {
    const auto r = run({.code = "4014"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("4014 Disallowed intent(s)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("meaning:"), std::string::npos);
    EXPECT_NE(r.out.find("fatal"), std::string::npos);
    EXPECT_NE(r.out.find("Privileged Gateway Intents"), std::string::npos);
    EXPECT_TRUE(r.err.empty());
}

TEST(explain, resumable_code_says_shardgate_resumes) {
    const auto r = run({.code = "4000"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("resume"), std::string::npos);
}

TEST(explain, json_table_has_every_row_with_the_contract_keys) {
    const auto r = run({.code = std::nullopt, .json = true});
    ASSERT_EQ(r.status, 0);
    simdjson::dom::parser parser;
    simdjson::dom::array rows;
    ASSERT_EQ(parser.parse(r.out).get_array().get(rows), simdjson::SUCCESS) << r.out;
    EXPECT_EQ(rows.size(), gw::all_close_policies().size());
    std::size_t i = 0;
    for (auto row : rows) {
        const auto& expected = gw::all_close_policies()[i++];
        std::int64_t code = 0;
        std::string_view name;
        std::string_view action;
        std::string_view meaning;
        std::string_view remedy;
        ASSERT_EQ(row["code"].get_int64().get(code), simdjson::SUCCESS);
        ASSERT_EQ(row["name"].get_string().get(name), simdjson::SUCCESS);
        ASSERT_EQ(row["action"].get_string().get(action), simdjson::SUCCESS);
        ASSERT_EQ(row["meaning"].get_string().get(meaning), simdjson::SUCCESS);
        ASSERT_EQ(row["remedy"].get_string().get(remedy), simdjson::SUCCESS);
        EXPECT_EQ(code, expected.code);
        EXPECT_EQ(name, expected.name);
        EXPECT_EQ(action, gw::to_string(expected.reaction));
    }
}

TEST(explain, json_for_one_code_is_one_object) {
    const auto r = run({.code = "4004", .json = true});
    ASSERT_EQ(r.status, 0);
    simdjson::dom::parser parser;
    std::string_view action;
    ASSERT_EQ(parser.parse(r.out)["action"].get_string().get(action), simdjson::SUCCESS);
    EXPECT_EQ(action, "fatal");
}

TEST(explain, unknown_or_malformed_codes_exit_2_with_a_clear_message) {
    for (const char* bad : {"4242", "abc", "99999", "-1", ""}) {
        const auto r = run({.code = bad});
        EXPECT_EQ(r.status, 2) << bad;
        EXPECT_TRUE(r.out.empty()) << bad;
        EXPECT_NE(r.err.find("Known codes"), std::string::npos) << bad;
    }
    const auto voice = run({.code = "4006"});
    EXPECT_EQ(voice.status, 2);
    EXPECT_NE(voice.err.find("voice"), std::string::npos);
}

TEST(explain, intents_lists_every_intent_and_marks_privileged_ones) {
    const auto r = run({.code = std::nullopt, .json = false, .intents = true});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("GUILD_MESSAGES = 512"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("MESSAGE_CONTENT = 32768 (1 << 15)  privileged"), std::string::npos);
}
