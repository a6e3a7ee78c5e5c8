#include "shardgate/gateway/secret.hpp"

#include <gtest/gtest.h>
#include <sstream>

namespace shardgate::gateway {
namespace {

const secret token("MTIzNDU2Nzg5.Gx-token.SECRET");

TEST(secret, streams_as_stars) {
    std::ostringstream out;
    out << token;
    EXPECT_EQ(out.str(), "***");
}

TEST(secret, redact_replaces_the_token_at_start_middle_and_end) {
    EXPECT_EQ(token.redact("MTIzNDU2Nzg5.Gx-token.SECRET is the token"), "*** is the token");
    EXPECT_EQ(token.redact("Authorization: Bot MTIzNDU2Nzg5.Gx-token.SECRET, sent"),
              "Authorization: Bot ***, sent");
    EXPECT_EQ(token.redact("rejected: MTIzNDU2Nzg5.Gx-token.SECRET"), "rejected: ***");
    EXPECT_EQ(token.redact("MTIzNDU2Nzg5.Gx-token.SECRET"), "***");
}

TEST(secret, redact_replaces_every_occurrence) {
    EXPECT_EQ(token.redact("a MTIzNDU2Nzg5.Gx-token.SECRET b MTIzNDU2Nzg5.Gx-token.SECRET"),
              "a *** b ***");
    EXPECT_EQ(token.redact("MTIzNDU2Nzg5.Gx-token.SECRETMTIzNDU2Nzg5.Gx-token.SECRET"), "******");
}

TEST(secret, redact_leaves_other_text_alone) {
    EXPECT_EQ(token.redact("nothing here"), "nothing here");
    EXPECT_EQ(token.redact(""), "");
    EXPECT_EQ(token.redact("MTIzNDU2Nzg5.Gx-token.SECRE"), "MTIzNDU2Nzg5.Gx-token.SECRE")
        << "a prefix of the token is not the token";
}

TEST(secret, an_empty_or_short_secret_redacts_nothing) {
    EXPECT_EQ(secret().redact("abc"), "abc");
    EXPECT_EQ(secret("").redact("abc"), "abc");
    // Under four characters a secret cannot be told apart from ordinary text.
    EXPECT_EQ(secret("abc").redact("abc abc"), "abc abc");
    EXPECT_EQ(secret("abcd").redact("abcd abc"), "*** abc");
}

TEST(secret, a_secret_made_of_stars_does_not_match_its_own_replacement) {
    // "*" lies inside "***": too short to redact, and it must not loop.
    EXPECT_EQ(secret("*").redact("a * b"), "a * b");
    EXPECT_EQ(secret("**").redact("***"), "***");
    // Four stars become three; the search goes on after them, not inside them.
    EXPECT_EQ(secret("****").redact("x****y"), "x***y");
    EXPECT_EQ(secret("****").redact("********"), "******");
    EXPECT_EQ(secret("****").redact("*******"), "******") << "seven: one match, three left";
}

} // namespace
} // namespace shardgate::gateway
