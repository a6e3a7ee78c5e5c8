#pragma once
// A real `nats-server -js` for tests: 127.0.0.1, a free port, a temporary store; every wait is
// bounded and the server dies with the test process (PR_SET_PDEATHSIG) even if the test crashes.
// POSIX/Linux only, header-only.
//
//     shardgate::test::nats_server nats;   // started; throws std::runtime_error if it cannot
//     connect_to(nats.url());              // "nats://127.0.0.1:PORT"
//     nats.stop();                         // SIGTERM, then SIGKILL after 5 s
//     nats.start();                        // again, same port and store (JetStream state kept)
//
// The binary: $SHARDGATE_NATS_SERVER, else /usr/sbin/nats-server (Debian's package). Tests that
// cannot run without it check `nats_server::available()` and GTEST_SKIP.

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace shardgate::test {

class nats_server {
public:
    /// The nats-server binary tests use.
    [[nodiscard]] static std::string binary() {
        if (const char* env = std::getenv("SHARDGATE_NATS_SERVER"); env != nullptr && *env != 0) {
            return env;
        }
        return "/usr/sbin/nats-server";
    }
    /// Whether `binary()` exists and is executable.
    [[nodiscard]] static bool available() { return ::access(binary().c_str(), X_OK) == 0; }

    /// Creates the store directory, picks a free port and starts the server.
    nats_server() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "shardgate-nats-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
        }
        root_ = pattern;
        std::filesystem::create_directories(store_dir());
        port_ = free_port();
        start();
    }
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;
    nats_server(nats_server&&) = delete;
    nats_server& operator=(nats_server&&) = delete;
    ~nats_server() {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(root_, ignored);
    }

    [[nodiscard]] int port() const noexcept { return port_; }
    [[nodiscard]] std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    /// JetStream's store (`-sd`), kept across `stop`/`start`.
    [[nodiscard]] std::filesystem::path store_dir() const { return root_ / "store"; }
    /// The server's log (`-l`), for a failing test's message.
    [[nodiscard]] std::filesystem::path log_file() const { return root_ / "nats-server.log"; }
    [[nodiscard]] bool running() const noexcept { return pid_ > 0; }

    /// Starts the server (no-op when running) and waits, up to `timeout`, until it accepts
    /// connections; throws std::runtime_error (with the log's tail) if it does not.
    /// PR_SET_PDEATHSIG fires when the *thread* that forked exits: call it from a thread that
    /// outlives the server's use (the test's own, or one kept alive until the end).
    void start(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        if (running()) {
            return;
        }
        std::vector<std::string> args{binary(), "-js",
                                      "-a",     "127.0.0.1",
                                      "-p",     std::to_string(port_),
                                      "-sd",    store_dir().string(),
                                      "-l",     log_file().string()};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        }
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(127);
            }
            const int devnull = ::open("/dev/null", O_RDWR);
            if (devnull >= 0) {
                ::dup2(devnull, STDIN_FILENO);
                ::dup2(devnull, STDOUT_FILENO);
                ::dup2(devnull, STDERR_FILENO);
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        pid_ = pid;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!accepts_connections()) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("nats-server exited at start: " + log_tail());
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                stop();
                throw std::runtime_error("nats-server did not listen on port " +
                                         std::to_string(port_) + " within " +
                                         std::to_string(timeout.count()) + " ms: " + log_tail());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    /// Stops the server: SIGTERM, SIGKILL after `grace`; waits for it to exit. No-op when stopped.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) noexcept {
        if (!running()) {
            return;
        }
        ::kill(pid_, SIGTERM);
        if (!reaped_within(grace)) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }

    /// The last lines of the server's log.
    [[nodiscard]] std::string log_tail(std::size_t max_chars = 2'000) const {
        std::ifstream in(log_file());
        std::stringstream text;
        text << in.rdbuf();
        auto s = text.str();
        return s.size() > max_chars ? s.substr(s.size() - max_chars) : s;
    }

    /// A port nobody listens on right now (bound to 0, then released).
    [[nodiscard]] static int free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        socklen_t len = sizeof addr;
        // NOLINTBEGIN(*-reinterpret-cast): BSD sockets
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            // NOLINTEND(*-reinterpret-cast)
            ::close(fd);
            throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
        }
        ::close(fd);
        const int port = ntohs(addr.sin_port);
        if (port == 4222) { // the default a developer's own server may use soon
            return free_port();
        }
        return port;
    }

private:
    [[nodiscard]] bool accepts_connections() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return false;
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(port_));
        // NOLINTNEXTLINE(*-reinterpret-cast): BSD sockets
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        if (ok) {
            // The server greets with INFO once it serves clients (JetStream is up by then).
            pollfd p{fd, POLLIN, 0};
            const bool greeted = ::poll(&p, 1, 1'000) == 1;
            ::close(fd);
            return greeted;
        }
        ::close(fd);
        return false;
    }

    /// Reaps the server if it exits within `timeout`.
    [[nodiscard]] bool reaped_within(std::chrono::milliseconds timeout) noexcept {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_ || (r < 0 && errno == ECHILD)) {
                return true;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    std::filesystem::path root_;
    int port_ = 0;
    pid_t pid_ = -1;
};

} // namespace shardgate::test
