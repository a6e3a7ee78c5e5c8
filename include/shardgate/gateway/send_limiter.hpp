#pragma once
/// @file
/// The per-connection send rate limiter: at most 120 frames per 60 s (close 4008 otherwise) and at
/// most 5 presence updates per 20 s, with slots held back so heartbeats never wait behind commands.

#include "shardgate/gateway/time.hpp"

#include <array>
#include <cstddef>
#include <vector>

namespace shardgate::gateway {

/// Limits for `send_limiter`. The defaults are Discord's documented figures.
///
/// @see https://discord.com/developers/docs/events/gateway#rate-limiting
struct send_limiter_config {
    /// Frames allowed in any `window`, heartbeats included. At most `send_limiter::capacity`.
    std::size_t frames_per_window = 120;
    /// Length of the sliding window for `frames_per_window`.
    milliseconds window{60'000};
    /// Slots of each window that commands may not use, kept for heartbeat-priority frames.
    /// Clamped to `frames_per_window - 1` so that commands can always make progress.
    std::size_t heartbeat_reserve = 3;
    /// Presence updates (op 3) allowed in any `presence_window`. 1 to `send_limiter::capacity`.
    std::size_t presence_per_window = 5;
    /// Length of the sliding window for `presence_per_window`.
    milliseconds presence_window{20'000};
};

/// What kind of frame is about to be sent; it decides which limits apply.
enum class send_kind {
    heartbeat,    ///< Op 1, and also Identify (op 2) and Resume (op 6): these may use the reserve.
    user_command, ///< Any other command; at most `frames_per_window - heartbeat_reserve` per
                  ///< window.
    presence,     ///< Presence Update (op 3): a command that is also limited to 5 per 20 s.
    requested_heartbeat, ///< Op 1 answering the gateway's op 1 request: only while the window
                         ///< has a slot outside the reserve, so that a flood of requests can
                         ///< never delay a scheduled beat, an Identify or a Resume.
};

/// Sliding-window log limiter for the frames one gateway connection sends.
///
/// **Window semantics.** A frame recorded at `t` occupies the window during `[t, t + window)`: it
/// counts at every `now` with `now - window < t <= now`, and from `t + window` on it is gone. A
/// frame may be sent at `now` when fewer than its limit are in the window at `now`. So every
/// half-open interval of length `window` holds at most `frames_per_window` frames, which satisfies
/// a server that counts in a sliding window or in fixed windows aligned anywhere. The same holds
/// for presences with `presence_window`. Network jitter is not modelled; configure a slightly
/// longer `window` if a margin is wanted.
///
/// **Priority.** At most `frames_per_window - heartbeat_reserve` commands (presences included) may
/// be in any window, and they may only go while the window has a free slot at all; heartbeats (and
/// Identify/Resume) need only a free slot. Heartbeats do not eat into the commands' share, so with
/// the reserve at least the number of heartbeat-priority frames in any window (see
/// `heartbeat_reserve_for`) a heartbeat never waits: before it the window holds at most
/// `frames_per_window - reserve` commands and `reserve - 1` heartbeat-priority frames.
///
/// The log is three fixed rings of `capacity` timestamps (all frames, commands, presences); nothing
/// allocates.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
///
/// @see https://discord.com/developers/docs/events/gateway#rate-limiting
class send_limiter {
public:
    /// The most frames (and presences) per window the fixed-size log can track.
    static constexpr std::size_t capacity = 120;

    /// @param config The limits. Precondition (assert): `1 <= frames_per_window <= capacity`,
    /// `1 <= presence_per_window <= capacity`, both windows positive.
    explicit send_limiter(send_limiter_config config = {});

    /// When a frame of `kind` may be sent.
    ///
    /// @param kind The frame's kind.
    /// @param now The current time; not earlier than the last `record`.
    /// @return `now` when the frame may go now; otherwise the earliest time it may, assuming no
    /// other frame is recorded in between (a heartbeat sent meanwhile can push a command later).
    [[nodiscard]] time_point ready_at(send_kind kind, time_point now) const;

    /// Notes that a frame of `kind` was sent at `now`.
    ///
    /// @param kind The frame's kind.
    /// @param now When it was sent. Preconditions (assert): `ready_at(kind, now) <= now`, and `now`
    /// is not earlier than the previous `record`.
    void record(send_kind kind, time_point now);

    /// Forgets every recorded frame; call it for a new connection.
    void reset() noexcept;

    /// Sets how many slots only heartbeat-priority frames may use.
    ///
    /// @param reserve The shard passes `heartbeat_reserve_for(heartbeat_interval)`. Clamped to
    /// `frames_per_window - 1`.
    void set_heartbeat_reserve(std::size_t reserve) noexcept;

    /// The reserve in force, after clamping.
    [[nodiscard]] std::size_t heartbeat_reserve() const noexcept { return reserve_; }

    /// Frames recorded in `(now - window, now]`.
    ///
    /// @param now The end of the window.
    [[nodiscard]] std::size_t in_window(time_point now) const;

    /// The limits in force (with the configured, unclamped `heartbeat_reserve`).
    [[nodiscard]] const send_limiter_config& config() const noexcept { return config_; }

private:
    // The send times still inside the window (at most the last `capacity`), oldest first; older
    // ones can no longer matter. The storage grows with bursts and shrinks when they are over.
    class timestamp_ring {
    public:
        void push(time_point t, milliseconds window);
        void clear() noexcept { head_ = size_ = 0; }
        // How many entries are later than `cutoff`.
        [[nodiscard]] std::size_t count_after(time_point cutoff) const noexcept;
        // When one more may go while at most `limit` may be in `(now - window, now]`.
        [[nodiscard]] time_point ready_at(std::size_t limit, milliseconds window,
                                          time_point now) const noexcept;
        [[nodiscard]] time_point newest() const noexcept { return at(size_ - 1); }
        [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    private:
        [[nodiscard]] time_point at(std::size_t i) const noexcept {
            return slots_[(head_ + i) % slots_.size()];
        }
        void grow(std::size_t slots);

        std::vector<time_point> slots_;
        std::size_t head_ = 0; // index of the oldest entry
        std::size_t size_ = 0;
    };

    [[nodiscard]] std::size_t command_limit() const noexcept {
        return config_.frames_per_window - reserve_;
    }

    send_limiter_config config_;
    std::size_t reserve_;
    timestamp_ring frames_;   // every frame
    timestamp_ring commands_; // commands and presences
    timestamp_ring presences_;
};

/// The heartbeat reserve that lets heartbeats at `heartbeat_interval` never wait.
///
/// It is `ceil(window / heartbeat_interval)` (the most heartbeats any window can hold) plus one
/// heartbeat answering a server op 1 request plus one Identify or Resume, so it holds as long as
/// the server asks for at most one extra heartbeat per window.
///
/// @param heartbeat_interval The interval from Hello. A non-positive interval yields
/// `frames_per_window` (which `set_heartbeat_reserve` clamps).
/// @param config The limits the reserve is for.
///
/// @see https://discord.com/developers/docs/events/gateway#rate-limiting
[[nodiscard]] std::size_t heartbeat_reserve_for(milliseconds heartbeat_interval,
                                                const send_limiter_config& config = {});

} // namespace shardgate::gateway
