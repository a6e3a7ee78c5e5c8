#pragma once
// Process plumbing for `shardgate bench`: the emulator as a child, figures from /proc, a
// blocking HTTP POST to its control API, and scenarios run in forked children.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace shardgate::cli::bench_detail {

/// `shardgate serve` running as a child of this process.
class emulator_process {
public:
    /// Starts `/proc/self/exe serve --listen 127.0.0.1:0 <args>` and reads its port.
    /// @throws std::runtime_error if it does not start or print its address in 10 s.
    explicit emulator_process(const std::vector<std::string>& args);
    ~emulator_process();
    emulator_process(const emulator_process&) = delete;
    emulator_process& operator=(const emulator_process&) = delete;
    emulator_process(emulator_process&&) = delete;
    emulator_process& operator=(emulator_process&&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] std::string ws_url() const;
    /// POSTs `body` to `path`; the status code and the body (throws on a socket error).
    [[nodiscard]] std::pair<int, std::string> post(const std::string& path,
                                                   const std::string& body) const;

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1; // kept open: the child must never write into a closed pipe
    std::uint16_t port_ = 0;
};

/// User plus system CPU seconds of this process.
[[nodiscard]] double self_cpu_seconds();
/// User plus system CPU seconds of another process (0 if it is gone).
[[nodiscard]] double process_cpu_seconds(pid_t pid);
/// A field of /proc/self/status in KiB (VmRSS, VmHWM).
[[nodiscard]] std::int64_t self_status_kib(const char* field);
/// Resets VmHWM to the current RSS (Linux 4.0+); returns false if the kernel refused.
bool reset_peak_rss();

/// Runs `scenario` in a forked child (its memory is its own) and returns what it printed (one
/// JSON object), or an error message prefixed "error: ".
[[nodiscard]] std::string run_forked(const std::function<std::string()>& scenario,
                                     std::chrono::seconds timeout);

/// Path of this executable.
[[nodiscard]] std::string self_exe();

} // namespace shardgate::cli::bench_detail
