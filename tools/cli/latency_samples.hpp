#pragma once
/// @file
/// How long events took from the gateway to the callback, as `shardgate demo` reports it:
/// percentiles by nearest rank over a bounded uniform sample of every latency (all of them up to
/// `capacity`), and the exact maximum.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

namespace shardgate::cli {

/// Latency samples and their percentiles. Thread-safe.
class latency_samples {
public:
    /// Samples kept at most (512 KiB): past it each new one replaces a random kept one with the
    /// probability that keeps the sample uniform (reservoir sampling), so a run of hours keeps
    /// its memory and its percentiles.
    static constexpr std::size_t capacity = 65'536;

    void add(std::chrono::microseconds latency);
    /// Latencies added so far.
    [[nodiscard]] std::size_t size() const;
    /// Latencies kept (at most `capacity`).
    [[nodiscard]] std::size_t kept() const;
    /// The `p`-th percentile (0-100, nearest rank, over the kept sample; 100 is the exact
    /// maximum), or nullopt without samples.
    [[nodiscard]] std::optional<std::chrono::microseconds> percentile(double p) const;

private:
    mutable std::mutex mutex_;
    std::vector<std::int64_t> micros_;
    std::size_t seen_ = 0;
    std::int64_t max_ = 0;
    std::minstd_rand random_{1};
};

} // namespace shardgate::cli
