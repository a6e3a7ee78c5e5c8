#pragma once
// The emulator's Prometheus metrics (`shardgate_emulator_*`), written from the world's typed
// statistics and the adapter's count of open connections. Private to src/io; what
// `emulator_server::metrics()` returns.

#include "shardgate/emulator/stats.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace shardgate::io::detail {

/// Prometheus text of what the emulator saw: open connections (in all and per shard they
/// identified or resumed as), sessions, the session-start budget, identifies, resumes, heartbeats,
/// replayed dispatches, close codes sent and violations by code, and per shard the connections
/// counted and the last sequence number.
[[nodiscard]] std::string
emulator_metrics_text(const emulator::world_stats& stats, std::size_t open_connections,
                      const std::map<std::uint32_t, std::size_t>& open_by_shard);

} // namespace shardgate::io::detail
