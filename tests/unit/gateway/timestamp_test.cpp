#include "shardgate/gateway/timestamp.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <string_view>

namespace shardgate::gateway {
namespace {

using std::chrono::microseconds;

// The parsed instant in microseconds since the Unix epoch, so that a failure prints numbers.
std::optional<std::int64_t> parsed(std::string_view text) {
    const auto t = parse_timestamp(text);
    return t ? std::optional(t->time_since_epoch().count()) : std::nullopt;
}

std::string formatted(std::int64_t unix_micros) {
    timestamp_text buf{};
    return std::string(format_timestamp(timestamp(microseconds(unix_micros)), buf));
}

// 2026-11-28T23:59:01Z
constexpr std::int64_t base_seconds = 1'795'910'341;
constexpr std::int64_t base_micros = base_seconds * 1'000'000;

TEST(parse_timestamp, discord_format_with_microseconds_and_offset) {
    EXPECT_EQ(parsed("2026-11-28T23:59:01.123000+00:00"), base_micros + 123'000);
    EXPECT_EQ(parsed("2026-11-28T23:59:01.123456+00:00"), base_micros + 123'456);
}

TEST(parse_timestamp, z_suffix) {
    EXPECT_EQ(parsed("2026-11-28T23:59:01.123000Z"), base_micros + 123'000);
}

TEST(parse_timestamp, without_fraction) {
    EXPECT_EQ(parsed("2026-11-28T23:59:01+00:00"), base_micros);
    EXPECT_EQ(parsed("2026-11-28T23:59:01Z"), base_micros);
}

TEST(parse_timestamp, short_fractions_are_scaled) {
    EXPECT_EQ(parsed("2026-11-28T23:59:01.123Z"), base_micros + 123'000);
    EXPECT_EQ(parsed("2026-11-28T23:59:01.5Z"), base_micros + 500'000);
}

TEST(parse_timestamp, digits_beyond_microseconds_are_truncated) {
    EXPECT_EQ(parsed("2026-11-28T23:59:01.1234569+00:00"), base_micros + 123'456);
    EXPECT_EQ(parsed("2026-11-28T23:59:01.123456789Z"), base_micros + 123'456);
}

TEST(parse_timestamp, epoch_and_leap_day) {
    EXPECT_EQ(parsed("1970-01-01T00:00:00Z"), 0);
    // 2024-02-29T12:00:00Z = 1709208000
    EXPECT_EQ(parsed("2024-02-29T12:00:00.000001+00:00"), 1'709'208'000LL * 1'000'000 + 1);
}

TEST(parse_timestamp, malformed_inputs_are_nullopt) {
    for (const std::string_view bad : {
             "",
             "2026",
             "2026-11-28",
             "2026/11/28T23:59:01Z",         // wrong date separators
             "2026-11-28T23.59.01Z",         // wrong time separators
             "2026-11-28X23:59:01Z",         // wrong date/time separator
             "2026-13-28T23:59:01Z",         // month 13
             "2026-00-28T23:59:01Z",         // month 0
             "2026-11-32T23:59:01Z",         // day 32
             "2026-02-29T23:59:01Z",         // not a leap year
             "2026-11-28T24:00:00Z",         // hour 24
             "2026-11-28T23:60:00Z",         // minute 60
             "2026-11-28T23:59:01+01:00",    // another time zone
             "2026-11-28T23:59:01-05:00",    // another time zone
             "2026-11-28T23:59:01",          // no zone
             "2026-11-28T23:59:01.Z",        // a point without digits
             "2026-11-28T23:59:01.123Zjunk", // trailing garbage
             "2026-11-28T23:59:01+00:00 ",   // trailing space
             "2026-11-28T23:59:01ZZ",
             "2O26-11-28T23:59:01Z", // a letter among the digits
         }) {
        EXPECT_EQ(parsed(bad), std::nullopt) << '"' << bad << '"';
    }
}

TEST(parse_timestamp, signs_inside_fields_are_malformed) {
    for (const std::string_view bad : {
             "2026-11-28T-1:59:01Z",
             "2026-11-28T23:-1:01Z",
             "2026-11-28T23:59:-1Z",
             "2026--1-28T23:59:01Z",
             "2026-11--1T23:59:01Z",
             "-001-11-28T23:59:01Z",
         }) {
        EXPECT_EQ(parsed(bad), std::nullopt) << '"' << bad << '"';
    }
}

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: the ends of what format_timestamp writes.
constexpr std::int64_t first_micros = -62'167'219'200LL * 1'000'000;
constexpr std::int64_t last_micros = 253'402'300'799LL * 1'000'000 + 999'999;
// 2024-02-29T12:00:00.000001Z
constexpr std::int64_t leap_day_micros = 1'709'208'000LL * 1'000'000 + 1;

TEST(format_timestamp, writes_discord_form_with_six_fraction_digits) {
    EXPECT_EQ(formatted(base_micros + 123'456), "2026-11-28T23:59:01.123456+00:00");
    EXPECT_EQ(formatted(base_micros), "2026-11-28T23:59:01.000000+00:00");
    EXPECT_EQ(formatted(base_micros + 1), "2026-11-28T23:59:01.000001+00:00");
}

TEST(format_timestamp, whole_milliseconds_as_the_emulator_writes_them) {
    // 2024-05-06T07:08:09Z = 1714979289
    EXPECT_EQ(formatted(1'714'979'289'123'000LL), "2024-05-06T07:08:09.123000+00:00");
}

TEST(format_timestamp, epochs_leap_day_and_the_ends_of_the_range) {
    EXPECT_EQ(formatted(0), "1970-01-01T00:00:00.000000+00:00");
    EXPECT_EQ(formatted(1'420'070'400'000'000LL), "2015-01-01T00:00:00.000000+00:00"); // Discord's
    EXPECT_EQ(formatted(leap_day_micros), "2024-02-29T12:00:00.000001+00:00");
    EXPECT_EQ(formatted(-1), "1969-12-31T23:59:59.999999+00:00") << "days round down, not to 0";
    EXPECT_EQ(formatted(first_micros), "0000-01-01T00:00:00.000000+00:00");
    EXPECT_EQ(formatted(last_micros), "9999-12-31T23:59:59.999999+00:00");
}

TEST(format_timestamp, parse_reads_back_what_format_wrote) {
    for (const std::int64_t micros :
         {std::int64_t{0}, std::int64_t{-1}, base_micros, base_micros + 999'999, leap_day_micros,
          first_micros, last_micros}) {
        EXPECT_EQ(parsed(formatted(micros)), micros) << formatted(micros);
    }
    // One instant every 7 hours, 13 minutes and some microseconds, across several leap years.
    for (std::int64_t micros = base_micros - 200'000'000'000'000LL; micros < base_micros;
         micros += 25'980'000'123LL) {
        ASSERT_EQ(parsed(formatted(micros)), micros) << formatted(micros);
    }
}

} // namespace
} // namespace shardgate::gateway
