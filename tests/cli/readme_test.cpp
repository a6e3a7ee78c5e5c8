// The README's close-code table is documentation users act on: it must say what the code does.
#include "shardgate/gateway/close_code.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>

namespace gw = shardgate::gateway;

TEST(readme, close_code_table_matches_the_policy_table) {
    std::ifstream file(SHARDGATE_SOURCE_DIR "/README.md");
    ASSERT_TRUE(file) << "README.md not found";
    std::stringstream text;
    text << file.rdbuf();
    const auto readme = text.str();
    for (const auto& p : gw::all_close_policies()) {
        const auto row = "| " + std::to_string(p.code) + " | " + std::string(p.name) + " | **" +
                         std::string(gw::to_string(p.reaction)) + "** | " + std::string(p.remedy) +
                         " |";
        EXPECT_NE(readme.find(row), std::string::npos) << "README lacks or contradicts: " << row;
    }
}
