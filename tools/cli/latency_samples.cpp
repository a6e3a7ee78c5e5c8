#include "latency_samples.hpp"

#include <algorithm>
#include <cmath>

namespace shardgate::cli {

void latency_samples::add(std::chrono::microseconds latency) {
    const std::lock_guard lock(mutex_);
    const auto v = latency.count();
    max_ = seen_ == 0 ? v : std::max(max_, v);
    ++seen_;
    if (micros_.size() < capacity) {
        micros_.push_back(v);
        return;
    }
    // Keep the n-th sample with probability capacity / n, in place of a uniform pick.
    const auto slot = std::uniform_int_distribution<std::size_t>(0, seen_ - 1)(random_);
    if (slot < capacity) {
        micros_[slot] = v;
    }
}

std::size_t latency_samples::size() const {
    const std::lock_guard lock(mutex_);
    return seen_;
}

std::size_t latency_samples::kept() const {
    const std::lock_guard lock(mutex_);
    return micros_.size();
}

std::optional<std::chrono::microseconds> latency_samples::percentile(double p) const {
    std::vector<std::int64_t> copy;
    std::int64_t max = 0;
    {
        const std::lock_guard lock(mutex_);
        copy = micros_;
        max = max_;
    }
    if (copy.empty()) {
        return std::nullopt;
    }
    const double clamped = std::clamp(p, 0.0, 100.0);
    if (clamped >= 100.0) {
        return std::chrono::microseconds(max);
    }
    auto rank =
        static_cast<std::size_t>(std::ceil(clamped / 100.0 * static_cast<double>(copy.size())));
    rank = std::clamp<std::size_t>(rank, 1, copy.size());
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                     copy.end());
    return std::chrono::microseconds(copy[rank - 1]);
}

} // namespace shardgate::cli
