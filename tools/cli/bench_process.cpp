#include "bench_process.hpp"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ; // NOLINT: POSIX

namespace shardgate::cli::bench_detail {
namespace {

using steady = std::chrono::steady_clock;

/// Reads from `fd` until a newline or `deadline`; what came (without the newline).
std::string read_line(int fd, steady::time_point deadline) {
    std::string line;
    while (steady::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
        if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1))) <= 0) {
            continue;
        }
        char c = 0;
        const auto n = ::read(fd, &c, 1);
        if (n <= 0) {
            break;
        }
        if (c == '\n') {
            return line;
        }
        line += c;
    }
    return line;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const auto n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace

std::string self_exe() {
    std::array<char, 4096> buf{};
    const auto n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : "shardgate";
}

emulator_process::emulator_process(const std::vector<std::string>& args) {
    std::array<int, 2> out{};
    if (::pipe2(out.data(), O_CLOEXEC) != 0) {
        throw std::runtime_error("bench: pipe failed");
    }
    std::vector<std::string> argv{self_exe(),    "serve",       "--listen",
                                  "127.0.0.1:0", "--log-level", "off"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c_args;
    for (auto& a : argv) {
        c_args.push_back(a.data());
    }
    c_args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, c_args[0], &actions, nullptr, c_args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    stdout_fd_ = out[0];
    if (rc != 0) {
        ::close(stdout_fd_);
        throw std::runtime_error("bench: could not start `shardgate serve`");
    }
    // {"listening":"http://127.0.0.1:PORT"}
    const auto line = read_line(stdout_fd_, steady::now() + std::chrono::seconds(10));
    const auto colon = line.rfind(':');
    if (line.find("listening") == std::string::npos || colon == std::string::npos) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        ::close(stdout_fd_);
        throw std::runtime_error("bench: `shardgate serve` did not print its address: " + line);
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

emulator_process::~emulator_process() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(stdout_fd_);
}

std::string emulator_process::ws_url() const {
    return "ws://127.0.0.1:" + std::to_string(port_);
}

std::pair<int, std::string> emulator_process::post(const std::string& path,
                                                   const std::string& body) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("bench: socket failed");
    }
    timeval tv{.tv_sec = 120, .tv_usec = 0}; // a prepared flood is encoded before the answer
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) { // NOLINT
        ::close(fd);
        throw std::runtime_error("bench: cannot reach the emulator");
    }
    const std::string req = "POST " + path +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            "application/json\r\nConnection: close\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    std::string resp;
    if (write_all(fd, req)) {
        std::array<char, 4096> buf{};
        for (;;) {
            const auto n = ::read(fd, buf.data(), buf.size());
            if (n <= 0) {
                break;
            }
            resp.append(buf.data(), static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    int status = 0;
    if (resp.size() > 12) {
        status = std::atoi(resp.c_str() + 9); // "HTTP/1.1 200"
    }
    const auto split = resp.find("\r\n\r\n");
    return {status, split == std::string::npos ? std::string{} : resp.substr(split + 4)};
}

double self_cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto secs = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

double process_cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat); // one line
    const auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) {
        return 0;
    }
    std::istringstream fields(stat.substr(close_paren + 2));
    std::string field;
    double ticks = 0;
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i >= 14) {
            ticks += std::stod(field);
        }
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::int64_t self_status_kib(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string prefix = std::string(field) + ":";
    while (std::getline(in, line)) {
        if (line.starts_with(prefix)) {
            return std::stoll(line.substr(prefix.size()));
        }
    }
    return 0;
}

bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    return static_cast<bool>(out.flush());
}

std::string run_forked(const std::function<std::string()>& scenario, std::chrono::seconds timeout) {
    std::array<int, 2> p{};
    if (::pipe2(p.data(), O_CLOEXEC) != 0) {
        return "error: pipe failed";
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(p[0]);
        ::close(p[1]);
        return "error: fork failed";
    }
    if (pid == 0) {
        ::close(p[0]);
        std::string result;
        try {
            result = scenario();
        } catch (const std::exception& e) {
            result = std::string("error: ") + e.what();
        }
        (void)write_all(p[1], result);
        ::close(p[1]);
        std::_Exit(0); // no destructors of the parent's objects, no atexit handlers
    }
    ::close(p[1]);
    std::string result;
    const auto deadline = steady::now() + timeout;
    std::array<char, 4096> buf{};
    while (steady::now() < deadline) {
        pollfd pf{p[0], POLLIN, 0};
        if (::poll(&pf, 1, 200) <= 0) {
            continue;
        }
        const auto n = ::read(p[0], buf.data(), buf.size());
        if (n <= 0) {
            break;
        }
        result.append(buf.data(), static_cast<std::size_t>(n));
    }
    ::close(p[0]);
    if (steady::now() >= deadline) {
        ::kill(pid, SIGKILL);
        result = "error: the scenario did not finish in " + std::to_string(timeout.count()) + " s";
    }
    ::waitpid(pid, nullptr, 0);
    return result.empty() ? "error: the scenario died" : result;
}

} // namespace shardgate::cli::bench_detail
