#pragma once
/// @file
/// The delay before reconnecting after a connection failed: exponential backoff with "equal
/// jitter", so that many shards dropped at once do not reconnect in lockstep.

#include "shardgate/gateway/time.hpp"

#include <cstdint>

namespace shardgate::gateway {

/// Parameters of `reconnect_backoff`.
///
/// @see https://discord.com/developers/docs/events/gateway#rate-limiting
struct backoff_config {
    /// The ceiling of the first retry's delay; it doubles with each further attempt. Not negative.
    milliseconds base{1'000};
    /// The largest ceiling any attempt gets. Not negative.
    milliseconds cap{60'000};
    /// The first reconnect after a healthy session waits a uniform random delay in `[0, this]`:
    /// shards that lose their connections together (a gateway node going away, a network blip)
    /// come back spread out instead of in one burst. Not negative; 0 reconnects at once.
    milliseconds first_jitter{500};
};

/// Reconnect delays for one shard: attempt 0 waits a uniform random delay in `[0, first_jitter]`,
/// attempt `n >= 1` one in `[d / 2, d]` with `d = min(cap, base * 2^(n - 1))`. Randomness is a
/// parameter, so the object is deterministic; the count saturates and the arithmetic cannot
/// overflow.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
///
/// @see https://discord.com/developers/docs/events/gateway#rate-limiting
class reconnect_backoff {
public:
    /// @param config Base and cap. Precondition (assert): neither is negative.
    explicit reconnect_backoff(backoff_config config = {});

    /// The delay before the next connection attempt; counts the attempt.
    ///
    /// @param random01 A uniform random number in `[0, 1)`; 1 is accepted and gives `d`, values
    /// outside `[0, 1]` (and NaN) are clamped.
    /// @return For attempt 0 (the first reconnect after a healthy session) a delay in
    /// `[0, first_jitter]`, otherwise one in `[d / 2, d]` (whole milliseconds, `d / 2` rounded
    /// down).
    [[nodiscard]] milliseconds next_delay(double random01);

    /// Starts over at attempt 0; call it once a session has proved healthy (e.g. READY or RESUMED).
    void reset() noexcept { attempts_ = 0; }

    /// How many delays were handed out since construction or the last `reset`.
    [[nodiscard]] std::uint32_t attempts() const noexcept { return attempts_; }

private:
    backoff_config config_;
    std::uint32_t attempts_ = 0;
};

} // namespace shardgate::gateway
