#pragma once
/// @file
/// Checking delivery by sequence number: did every dispatch of a session arrive, and only once?
///
/// @par Theory of operation
/// The gateway numbers the dispatches of a session 1, 2, 3, ... (the `s` of each payload). Every
/// shard has its own session and its own numbering. READY starts a session, so the numbering starts
/// again; RESUMED continues one (the gateway replays the missed dispatches with their original
/// numbers), so it does not. A dispatch numbered more than one above the last one counts the
/// numbers in between as lost; one numbered at or below the last one counts as duplicated and
/// leaves the last one as it was. A gap at the very end of a run is invisible, since nothing comes
/// after it.
///
/// `shardgate demo` reports these counts while it injects faults; a bot can feed the dispatches of
/// `io::cluster::on_dispatch` in the same way to check its own connection.
///
/// @par Thread Safety
/// `on_dispatch` for a given shard from one thread at a time; different shards may be fed from
/// different threads at once (the cluster calls each shard's callbacks on that shard's thread). The
/// totals may be read from any thread: each shard's counters are relaxed atomics with one writer,
/// so feeding takes no lock. Totals read while dispatches arrive are each recent, not a consistent
/// snapshot of all three.
///
/// @par Example
/// @code
/// shardgate::gateway::sequence_check check(shard_count);
/// bot.on_dispatch([&](const shardgate::io::dispatch& d) {
///     check.on_dispatch(d.shard, d.seq, d.name);
/// });
/// // ... later, from any thread:
/// if (check.lost() > 0 || check.duplicated() > 0) { /* report it */ }
/// @endcode
/// @see https://discord.com/developers/docs/events/gateway#resuming

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace shardgate::gateway {

/// Counts gaps (lost) and repeats (duplicated) in each shard's sequence numbers.
class sequence_check {
public:
    /// Tracks shards `0 .. shard_count-1`.
    explicit sequence_check(std::uint32_t shard_count);

    /// A dispatch as it was delivered: its shard, sequence number and event name. READY starts a
    /// new session (numbered from 1). Shards out of range are ignored.
    void on_dispatch(std::uint32_t shard, std::uint64_t seq, std::string_view name) noexcept;

    /// Dispatches fed so far, duplicates included.
    [[nodiscard]] std::uint64_t delivered() const noexcept;
    /// Sequence numbers skipped within a session.
    [[nodiscard]] std::uint64_t lost() const noexcept;
    /// Dispatches numbered at or below one already delivered in the same session.
    [[nodiscard]] std::uint64_t duplicated() const noexcept;

private:
    using counter = std::atomic<std::uint64_t>;
    struct shard_track {
        std::uint64_t last = 0; // touched by the shard's feeding thread only
        counter delivered{0};
        counter lost{0};
        counter duplicated{0};
    };
    /// One counter summed over the shards.
    [[nodiscard]] std::uint64_t sum(counter shard_track::*member) const noexcept;

    std::vector<shard_track> shards_;
};

} // namespace shardgate::gateway
