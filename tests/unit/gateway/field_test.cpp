#include "shardgate/gateway/field.hpp"

#include <gtest/gtest.h>
#include <string>

namespace gw = shardgate::gateway;

namespace {

TEST(field, finds_top_level_members_lazily) {
    const std::string d =
        R"({"id":"123","n":42, "nested":{"a":[1,2]},"list":[1, {"x":"y"}],"s":"a\"b","t":true})";
    EXPECT_EQ(gw::field(d, "id"), R"("123")");
    EXPECT_EQ(gw::field(d, "n"), "42");
    EXPECT_EQ(gw::field(d, "nested"), R"({"a":[1,2]})");
    EXPECT_EQ(gw::field(d, "list"), R"([1, {"x":"y"}])");
    EXPECT_EQ(gw::field(d, "t"), "true");
    EXPECT_EQ(gw::field(d, "a"), std::nullopt); // not top level
    EXPECT_EQ(gw::field("[1,2]", "id"), std::nullopt);
    EXPECT_EQ(gw::field("{broken", "id"), std::nullopt);
    EXPECT_EQ(gw::string_field(d, "s"), "a\"b");
    EXPECT_EQ(gw::string_field(d, "id"), "123");
    EXPECT_EQ(gw::string_field(d, "n"), std::nullopt);
    // The view points into the caller's text.
    const auto v = gw::field(d, "nested");
    ASSERT_TRUE(v);
    EXPECT_GE(v->data(), d.data());
    EXPECT_LE(v->data() + v->size(), d.data() + d.size());
}

} // namespace
