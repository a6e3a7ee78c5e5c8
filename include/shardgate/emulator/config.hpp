#pragma once
/// @file
/// What the emulator decides where Discord would: tokens, shard counts, limits, guilds, traffic.
/// The option names of `shardgate serve` map one to one onto these fields (DESIGN.md).

#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/secret.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace shardgate::emulator {

using gateway::milliseconds;
using gateway::time_point;

/// Configuration of an emulated gateway (one application).
struct emulator_config {
    /// Valid bot tokens (`--token`, repeatable). Empty: any non-empty token is accepted.
    std::vector<std::string> tokens;
    std::uint32_t recommended_shards = 1;    ///< `--shards`: what /gateway/bot recommends.
    std::uint32_t max_concurrency = 1;       ///< `--max-concurrency`
    milliseconds identify_window{5'000};     ///< `--identify-window-ms`
    milliseconds heartbeat_interval{41'250}; ///< `--heartbeat-interval-ms`
    /// Extra time after a missed heartbeat before closing with 4009 (Discord does not document
    /// one).
    milliseconds heartbeat_grace{5'000};
    std::uint32_t guilds = 10;                    ///< `--guilds`: guilds the bot is in.
    std::uint32_t members_per_guild = 50;         ///< Members generated per guild (op 8 answers).
    std::uint32_t max_guilds_per_shard = 2'500;   ///< More on one shard: close 4011.
    std::uint64_t allowed_privileged_intents = 0; ///< `--privileged`: a bit mask.
    bool reject_undocumented_intents = true;      ///< Undocumented intent bits: close 4013.
    /// `--session-ttl-ms`: how long a detached session may be resumed.
    milliseconds session_ttl{180'000};
    /// `--traffic`: synthetic dispatches per second per connected shard.
    double traffic_per_second = 0;
    /// `--seed`: ids, session ids and traffic repeat per seed (see `catalog`).
    std::uint64_t seed = 1;
    /// Daily session starts (`session_start_limit.total`).
    std::uint32_t session_start_total = 1'000;
    milliseconds session_start_reset_after{86'400'000};
    std::size_t replay_buffer_events = 10'000; ///< Dispatches kept per session for Resume.
    /// Bytes of frames kept per session for Resume (the newest frame is always kept): with ~1 KB
    /// events, 10,000 of them held ~10 MB per session, and 64 shards grew a soak by ~1.2 MiB/s
    /// until every buffer was full. A Resume from before what is kept gets 4007. 4 MiB holds a
    /// few thousand events, enough for a flood read slowly across a zombie verdict; the demo,
    /// which runs for hours, keeps 1 MiB.
    std::size_t replay_buffer_bytes = std::size_t{4} << 20U;
    /// Shard ids with counters of their own in the statistics; what Identifies claim past this
    /// many distinct ids is counted under "unidentified" (any client may claim any id below its
    /// `n`, so the counters would otherwise grow with every claim).
    std::size_t max_tracked_shards = 65'536;
    /// Bytes the action log may hold (entries and their strings, `footprint`); past it the oldest
    /// entries are dropped, as past `world::max_log_entries`.
    std::size_t log_byte_budget = 32U << 20U;
    /// After op 7, close with 4000 if the client has not.
    milliseconds reconnect_close_after{3'000};
    /// zlib-stream: split each compressed message into this many WebSocket frames (1 = no split),
    /// to test that clients wait for the 00 00 FF FF suffix.
    std::uint32_t zlib_split_frames = 1;
    /// zlib-stream deflater settings per connection; 15/8 is what Discord sends, smaller values
    /// save memory at thousands of connections (268 KB vs 30 KB per stream at 12/4).
    int zlib_window_bits = 15;
    int zlib_mem_level = 8;
    int zstd_window_log = 0; ///< 0: zstd's default for the level.
    /// `--control-token`: when set, every request under `/_emulator/` must carry
    /// `Authorization: Bearer <token>` (else 401). Never logged or printed.
    gateway::secret control_token;
    /// The WebSocket URL clients are told to use, e.g. "ws://127.0.0.1:4567". Set by the server
    /// once it is listening; READY's `resume_gateway_url` and /gateway answers use it.
    std::string public_ws_url = "ws://127.0.0.1";
};

} // namespace shardgate::emulator
