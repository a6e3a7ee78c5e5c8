#pragma once
/// @file
/// Time types of the sans-I/O core. The core never reads a clock: every input carries `now`, and
/// every timer the core wants is returned as a deadline. Adapters pass `steady_clock::now()`; tests
/// pass a fake time that they advance by hand.

#include <chrono>

namespace shardgate::gateway {

/// The clock whose time points the core accepts. Only its type is used inside the core.
using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using milliseconds = std::chrono::milliseconds;

} // namespace shardgate::gateway
