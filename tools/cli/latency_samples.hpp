#pragma once
/// @file
/// How long events took from the gateway to the callback, as `shardgate demo` reports it: every
/// sample kept, percentiles by nearest rank.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace shardgate::cli {

/// Latency samples and their percentiles. Thread-safe.
class latency_samples {
public:
    void add(std::chrono::microseconds latency);
    [[nodiscard]] std::size_t size() const;
    /// The `p`-th percentile (0-100, nearest rank), or nullopt without samples.
    [[nodiscard]] std::optional<std::chrono::microseconds> percentile(double p) const;

private:
    mutable std::mutex mutex_;
    std::vector<std::int64_t> micros_;
};

} // namespace shardgate::cli
