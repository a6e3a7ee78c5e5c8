#pragma once
/// @file
/// SIGINT and SIGTERM noted in a flag for a timer thread to act on (a clean stop, exit status 0),
/// instead of killing the process, for as long as the guard lives.

namespace shardgate::cli {

class stop_signal_guard {
public:
    stop_signal_guard();
    ~stop_signal_guard();
    stop_signal_guard(const stop_signal_guard&) = delete;
    stop_signal_guard& operator=(const stop_signal_guard&) = delete;
    stop_signal_guard(stop_signal_guard&&) = delete;
    stop_signal_guard& operator=(stop_signal_guard&&) = delete;

    /// Whether SIGINT or SIGTERM arrived since the guard was made.
    [[nodiscard]] static bool received() noexcept;

private:
    struct saved;
    saved* saved_;
};

} // namespace shardgate::cli
