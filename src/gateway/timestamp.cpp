#include "shardgate/gateway/timestamp.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <span>

namespace shardgate::gateway {
namespace {

// Exactly `count` decimal digits at `pos`. Not std::from_chars: it accepts a leading '-', and
// "T-1:59" must not read as hour -1.
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& value) noexcept {
    if (pos + count > text.size()) {
        return false;
    }
    value = 0;
    for (const char c : text.substr(pos, count)) {
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    return true;
}

// Writes `value` as `out.size()` digits, zero-padded.
void write_digits(std::span<char> out, std::int64_t value) noexcept {
    // An index loop: clang 14 cannot use libstdc++ 12's views::reverse over a span.
    for (auto i = out.size(); i > 0; --i) {
        out[i - 1] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

} // namespace

std::optional<timestamp> parse_timestamp(std::string_view text) noexcept {
    // YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)
    int year = 0;
    int month = 0;
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    if (text.size() < 20 || !read_digits(text, 0, 4, year) || text[4] != '-' ||
        !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != ' ') || !read_digits(text, 11, 2, hour) ||
        text[13] != ':' || !read_digits(text, 14, 2, minute) || text[16] != ':' ||
        !read_digits(text, 17, 2, second)) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    std::int64_t micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int places = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (places < 6) {
                micros = micros * 10 + (text[pos] - '0');
            }
            ++places;
            ++pos;
        }
        if (places == 0) {
            return std::nullopt;
        }
        for (; places < 6; ++places) {
            micros *= 10;
        }
    }
    const auto zone = text.substr(pos);
    if (zone != "Z" && zone != "+00:00") {
        return std::nullopt;
    }
    using namespace std::chrono;
    const year_month_day ymd{std::chrono::year(year),
                             std::chrono::month(static_cast<unsigned>(month)),
                             std::chrono::day(static_cast<unsigned>(day))};
    // Second 60 is a leap second; it reads as the first second of the next minute.
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    return timestamp(sys_days(ymd)) + hours(hour) + minutes(minute) + seconds(second) +
           microseconds(micros);
}

std::string_view format_timestamp(timestamp t, timestamp_text& buf) noexcept {
    using namespace std::chrono;
    const auto day_start = floor<days>(t);
    const year_month_day ymd(day_start);
    const hh_mm_ss time(t - day_start);
    const int year = static_cast<int>(ymd.year());
    assert(year >= 0 && year <= 9999);

    constexpr std::string_view pattern = "0000-00-00T00:00:00.000000+00:00";
    static_assert(pattern.size() == std::tuple_size_v<timestamp_text>);
    std::copy(pattern.begin(), pattern.end(), buf.begin());
    const std::span<char> text(buf);
    write_digits(text.subspan(0, 4), year);
    write_digits(text.subspan(5, 2), static_cast<unsigned>(ymd.month()));
    write_digits(text.subspan(8, 2), static_cast<unsigned>(ymd.day()));
    write_digits(text.subspan(11, 2), time.hours().count());
    write_digits(text.subspan(14, 2), time.minutes().count());
    write_digits(text.subspan(17, 2), time.seconds().count());
    write_digits(text.subspan(20, 6), time.subseconds().count());
    return {buf.data(), pattern.size()};
}

} // namespace shardgate::gateway
