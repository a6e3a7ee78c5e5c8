// `shardgate serve` as a process: the first stdout line is the contract, and SIGTERM/SIGINT end it
// with status 0 within 5 s. POSIX only (fork/exec, poll, pidfd); no sleeps, every wait has a bound.
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#ifndef SHARDGATE_BINARY
#error "SHARDGATE_BINARY must name the shardgate executable"
#endif

namespace {

using namespace std::chrono_literals;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/// A running `shardgate serve` with its stdout on a pipe.
class serve_process {
public:
    explicit serve_process(std::vector<std::string> args) {
        std::array<int, 2> out{};
        if (pipe2(out.data(), O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        std::vector<char*> argv;
        static std::string name = "shardgate";
        argv.push_back(name.data());
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], STDOUT_FILENO);
            execv(SHARDGATE_BINARY, argv.data());
            _exit(127);
        }
        close(out[1]);
        out_ = out[0];
    }
    serve_process(const serve_process&) = delete;
    serve_process& operator=(const serve_process&) = delete;
    ~serve_process() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            int status = 0;
            waitpid(pid_, &status, 0);
        }
        close(out_);
    }

    /// The first line of stdout, or nullopt after `timeout`.
    std::optional<std::string> first_line(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string text;
        for (;;) {
            if (const auto nl = text.find('\n'); nl != std::string::npos) {
                return text.substr(0, nl);
            }
            pollfd p{out_, POLLIN, 0};
            if (poll(&p, 1, remaining_ms(deadline)) <= 0) {
                return std::nullopt;
            }
            std::array<char, 256> buf{};
            const auto n = read(out_, buf.data(), buf.size());
            if (n <= 0) {
                return std::nullopt;
            }
            text.append(buf.data(), static_cast<std::size_t>(n));
        }
    }

    /// Waits for the process to end; returns its wait status, or nullopt after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
        if (pidfd < 0) {
            throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(errno));
        }
        pollfd p{pidfd, POLLIN, 0};
        const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
        close(pidfd);
        if (ready <= 0) {
            return std::nullopt;
        }
        int status = 0;
        waitpid(pid_, &status, 0);
        reaped_ = true;
        return status;
    }

    [[nodiscard]] pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    bool reaped_ = false;
};

/// One HTTP/1.0 GET over a plain socket; returns the raw answer.
std::string http_get(int port, const std::string& target) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return {};
    }
    const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    (void)send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, remaining_ms(deadline)) <= 0) {
            break;
        }
        std::array<char, 4096> buf{};
        const auto n = recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) {
            break;
        }
        answer.append(buf.data(), static_cast<std::size_t>(n));
    }
    close(fd);
    return answer;
}

void check_signal_ends_with_0(int sig) {
    serve_process p({"serve", "--listen", "127.0.0.1:0", "--token", "abc", "--guilds", "3"});
    const auto line = p.first_line(10s);
    ASSERT_TRUE(line) << "no first line on stdout";
    std::smatch m;
    const std::regex contract(R"re(^\{"listening":"http://127\.0\.0\.1:([0-9]+)"\}$)re");
    ASSERT_TRUE(std::regex_match(*line, m, contract)) << *line;
    const int port = std::stoi(m[1].str());
    ASSERT_GT(port, 0);

    const auto answer = http_get(port, "/api/v10/gateway");
    EXPECT_TRUE(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")) << answer;
    EXPECT_NE(answer.find("ws://127.0.0.1:" + std::to_string(port)), std::string::npos) << answer;

    ASSERT_EQ(kill(p.pid(), sig), 0);
    const auto status = p.wait(5s);
    ASSERT_TRUE(status) << "shardgate serve did not exit within 5 s of signal " << sig;
    ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
    EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(serve_process, first_line_is_listening_and_sigterm_exits_0) {
    check_signal_ends_with_0(SIGTERM);
}

TEST(serve_process, sigint_exits_0) {
    check_signal_ends_with_0(SIGINT);
}

} // namespace
