#pragma once
/// @file
/// What the emulator counted, as values: counters per shard, for connections that have not
/// identified yet, and in total, plus the world's session and budget figures.
///
/// @par Theory of operation
/// `world::stats()` takes a snapshot into a `world_stats`; everything that shows the figures reads
/// the struct: `GET /_emulator/stats` renders it with `to_json`, `io::emulator_server::metrics()`
/// writes Prometheus samples from its fields, and `shardgate serve`'s status page takes its shards
/// from it. Nothing parses the JSON back.
///
/// @par Thread Safety
/// Plain values: Distinct objects: Safe. Shared objects: Safe for reading.

#include <cstdint>
#include <map>
#include <string>

namespace shardgate::emulator {

/// Counters of one shard (or of the connections that have not identified or resumed yet).
struct shard_counters {
    std::uint64_t identifies = 0; ///< Identifies that started a session.
    std::uint64_t resumes = 0;    ///< Resumes accepted.
    std::uint64_t heartbeats = 0; ///< Heartbeats received.
    std::uint64_t last_seq = 0;   ///< The highest sequence number given to a dispatch.
    /// Connections counted under the shard they identified or resumed as (under "unidentified"
    /// until then).
    std::uint64_t connections = 0;
    std::uint64_t replayed = 0; ///< Dispatches replayed on Resume.
    /// Close frames the emulator sent, by code.
    std::map<std::uint16_t, std::uint64_t> close_codes_sent;
    /// Rules clients broke, by the close code they earned.
    std::map<std::uint16_t, std::uint64_t> violations;

    /// Adds `other` in: counts and code maps are summed, `last_seq` is the higher of the two.
    shard_counters& operator+=(const shard_counters& other);

    friend bool operator==(const shard_counters&, const shard_counters&) = default;
};

/// A snapshot of everything `GET /_emulator/stats` shows.
struct world_stats {
    std::map<std::uint32_t, shard_counters> shards; ///< By shard id, ascending.
    shard_counters unidentified; ///< Connections that have not identified or resumed (yet).
    shard_counters totals;       ///< `shards` and `unidentified` summed.
    std::uint64_t sessions = 0;  ///< Sessions that exist (attached or waiting for a Resume).
    std::uint64_t session_start_remaining = 0; ///< Left in the emulated daily budget.
    bool token_reset = false; ///< The budget ran out and the token was reset (Discord's penalty).
    std::uint64_t log_dropped = 0; ///< Log entries dropped past `world::max_log_entries`.

    friend bool operator==(const world_stats&, const world_stats&) = default;
};

/// The body of `GET /_emulator/stats`:
/// `{"shards":{"0":{"identifies":N,"resumes":N,"heartbeats":N,"last_seq":N,
/// "close_codes_sent":{"4000":N},"violations":{"4001":N},"connections":N,"replayed":N}},
/// "totals":{...same keys...},"unidentified":{...same keys...},"sessions":N,
/// "session_start_remaining":N,"token_reset":false,"log_dropped":N}`. Key order is fixed.
[[nodiscard]] std::string to_json(const world_stats& stats);

} // namespace shardgate::emulator
