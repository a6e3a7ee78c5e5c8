#include "latency_samples.hpp"

#include <algorithm>
#include <cmath>

namespace shardgate::cli {

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
