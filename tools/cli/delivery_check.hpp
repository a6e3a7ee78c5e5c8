#pragma once
/// @file
/// What `shardgate demo` checks about delivery: every dispatch of a session arrives once and in
/// order (sequence numbers 1, 2, 3, ... per session, a new session starting again at READY), and
/// how long events took from the gateway to the callback.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace shardgate::cli {

/// Counts gaps (lost) and repeats (duplicated) in each shard's sequence numbers.
///
/// @par Thread Safety
/// `on_dispatch` for one shard from one thread at a time (the cluster calls a shard's callbacks on
/// its own thread); the totals from any thread.
class delivery_check {
public:
    explicit delivery_check(std::uint32_t shards);

    /// A dispatch as the cluster delivered it. READY starts a new session (sequence 1).
    void on_dispatch(std::uint32_t shard, std::uint64_t seq, std::string_view name);

    [[nodiscard]] std::uint64_t delivered() const noexcept;
    /// Sequence numbers skipped within a session.
    [[nodiscard]] std::uint64_t lost() const noexcept;
    /// Sequence numbers at or below one already delivered in the same session.
    [[nodiscard]] std::uint64_t duplicated() const noexcept;

private:
    struct shard_track {
        std::uint64_t last = 0; // touched by the shard's thread only
        std::atomic<std::uint64_t> delivered{0};
        std::atomic<std::uint64_t> lost{0};
        std::atomic<std::uint64_t> duplicated{0};
    };
    std::vector<shard_track> shards_;
};

/// Discord's ISO 8601 timestamps (`2026-11-28T23:59:01.123000+00:00`, also with `Z` or without
/// fraction) as microseconds since the Unix epoch; nullopt when malformed.
[[nodiscard]] std::optional<std::int64_t> parse_discord_timestamp(std::string_view text) noexcept;

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
