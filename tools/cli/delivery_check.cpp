#include "delivery_check.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace shardgate::cli {

delivery_check::delivery_check(std::uint32_t shards)
    : shards_(shards) {}

void delivery_check::on_dispatch(std::uint32_t shard, std::uint64_t seq, std::string_view name) {
    if (shard >= shards_.size()) {
        return;
    }
    auto& t = shards_[shard];
    if (name == "READY") {
        t.last = 0; // a new session numbers from 1 again
    }
    t.delivered.fetch_add(1, std::memory_order_relaxed);
    if (seq <= t.last) {
        t.duplicated.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (seq > t.last + 1) {
        t.lost.fetch_add(seq - t.last - 1, std::memory_order_relaxed);
    }
    t.last = seq;
}

std::uint64_t delivery_check::delivered() const noexcept {
    std::uint64_t n = 0;
    for (const auto& t : shards_) {
        n += t.delivered.load(std::memory_order_relaxed);
    }
    return n;
}

std::uint64_t delivery_check::lost() const noexcept {
    std::uint64_t n = 0;
    for (const auto& t : shards_) {
        n += t.lost.load(std::memory_order_relaxed);
    }
    return n;
}

std::uint64_t delivery_check::duplicated() const noexcept {
    std::uint64_t n = 0;
    for (const auto& t : shards_) {
        n += t.duplicated.load(std::memory_order_relaxed);
    }
    return n;
}

namespace {

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
    if (pos + count > text.size()) {
        return false;
    }
    const auto* first = text.data() + pos;
    // from_chars accepts a leading '-': "T-1:59" must not parse as hour -1.
    if (!std::all_of(first, first + count, [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    const auto [ptr, ec] = std::from_chars(first, first + count, value);
    return ec == std::errc{} && ptr == first + count;
}

} // namespace

std::optional<std::int64_t> parse_discord_timestamp(std::string_view text) noexcept {
    // YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+00:00)
    int year = 0;
    int month = 0;
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    if (text.size() < 20 || !digits(text, 0, 4, year) || text[4] != '-' ||
        !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != ' ') || !digits(text, 11, 2, hour) || text[13] != ':' ||
        !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
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
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    const auto seconds_since_epoch =
        sys_days(ymd).time_since_epoch() + hours(hour) + minutes(minute) + seconds(second);
    return duration_cast<microseconds>(seconds_since_epoch).count() + micros;
}

void latency_samples::add(std::chrono::microseconds latency) {
    const std::lock_guard lock(mutex_);
    micros_.push_back(latency.count());
}

std::size_t latency_samples::size() const {
    const std::lock_guard lock(mutex_);
    return micros_.size();
}

std::optional<std::chrono::microseconds> latency_samples::percentile(double p) const {
    std::vector<std::int64_t> copy;
    {
        const std::lock_guard lock(mutex_);
        copy = micros_;
    }
    if (copy.empty()) {
        return std::nullopt;
    }
    const double clamped = std::clamp(p, 0.0, 100.0);
    auto rank =
        static_cast<std::size_t>(std::ceil(clamped / 100.0 * static_cast<double>(copy.size())));
    rank = std::clamp<std::size_t>(rank, 1, copy.size());
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                     copy.end());
    return std::chrono::microseconds(copy[rank - 1]);
}

} // namespace shardgate::cli
