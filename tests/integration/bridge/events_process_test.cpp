// `shardgate events` as a process against a real nats-server: the jsonl lines, exit status 0 once
// caught up, --filter, --durable across runs, --follow until SIGTERM, and exit status 1 (NATS
// unreachable, no stream) or 2 (bad usage) with a one-line message. Also the line format itself,
// and examples/jetstream_consumer.cpp run the same way.
// POSIX only (fork/exec, poll); every wait has a bound.
#include "events.hpp"
#include "jetstream_fixture.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#ifndef SHARDGATE_BINARY
#error "SHARDGATE_BINARY must name the shardgate executable"
#endif
#ifndef SHARDGATE_EXAMPLE_JETSTREAM_CONSUMER
#error "SHARDGATE_EXAMPLE_JETSTREAM_CONSUMER must name examples/jetstream_consumer's executable"
#endif

namespace {

using namespace std::chrono_literals;

/// `shardgate ARGS...` (or another program) with stdout and stderr on pipes.
class shardgate_process {
public:
    explicit shardgate_process(std::vector<std::string> args,
                               const char* binary = SHARDGATE_BINARY) {
        std::array<int, 2> out{};
        std::array<int, 2> err{};
        if (pipe2(out.data(), O_CLOEXEC) != 0 || pipe2(err.data(), O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        args.insert(args.begin(), "shardgate");
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], STDOUT_FILENO);
            dup2(err[1], STDERR_FILENO);
            execv(binary, argv.data());
            _exit(127);
        }
        close(out[1]);
        close(err[1]);
        out_ = out[0];
        err_ = err[0];
    }
    shardgate_process(const shardgate_process&) = delete;
    shardgate_process& operator=(const shardgate_process&) = delete;
    ~shardgate_process() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            int status = 0;
            waitpid(pid_, &status, 0);
        }
        close(out_);
        close(err_);
    }

    /// Reads stdout and stderr until stdout holds `lines` lines, both pipes close, or `timeout`.
    void read(std::chrono::milliseconds timeout, std::size_t lines = SIZE_MAX) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (count_lines() < lines && (out_open_ || err_open_)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) {
                return;
            }
            std::array<pollfd, 2> p{
                {{out_open_ ? out_ : -1, POLLIN, 0}, {err_open_ ? err_ : -1, POLLIN, 0}}};
            if (poll(p.data(), p.size(), static_cast<int>(left.count())) <= 0) {
                return;
            }
            drain(p[0], out_, out_open_, stdout_);
            drain(p[1], err_, err_open_, stderr_);
        }
    }

    /// Exit status after reading everything, or -1 after `timeout` (the process is killed).
    int finish(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        read(timeout);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                reaped_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(10ms);
        }
        return -1;
    }

    void signal(int sig) const { kill(pid_, sig); }
    [[nodiscard]] const std::string& out() const { return stdout_; }
    [[nodiscard]] const std::string& err() const { return stderr_; }

private:
    [[nodiscard]] std::size_t count_lines() const {
        return static_cast<std::size_t>(std::count(stdout_.begin(), stdout_.end(), '\n'));
    }
    static void drain(const pollfd& p, int fd, bool& open, std::string& text) {
        if (!open || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            return;
        }
        std::array<char, 4096> buf{};
        const auto n = ::read(fd, buf.data(), buf.size());
        if (n <= 0) {
            open = false;
            return;
        }
        text.append(buf.data(), static_cast<std::size_t>(n));
    }

    pid_t pid_ = -1;
    int out_ = -1;
    int err_ = -1;
    bool out_open_ = true;
    bool err_open_ = true;
    bool reaped_ = false;
    std::string stdout_;
    std::string stderr_;
};

const std::string ready_0 =
    R"({"type":"dispatch","shard":0,"seq":1,"t":"READY","session":"s0","d":{"v":10,"session_id":"s0"}})"
    "\n";
const std::string ready_1 =
    R"({"type":"dispatch","shard":1,"seq":1,"t":"READY","session":"s1","d":{"v":10,"session_id":"s1"}})"
    "\n";
const std::string guild_0 =
    R"({"type":"dispatch","shard":0,"seq":2,"t":"GUILD_CREATE","session":"s0","d":{"id":"100"}})"
    "\n";
const std::string message_0 =
    R"({"type":"dispatch","shard":0,"seq":3,"t":"MESSAGE_CREATE","session":"s0","d":{"id":"1","channel_id":"7","content":"hi"}})"
    "\n";
// The line break inside `d` became a space.
const std::string message_1 =
    R"({"type":"dispatch","shard":1,"seq":2,"t":"MESSAGE_CREATE","session":"s1","d":{"id":"2", "channel_id":"8"}})"
    "\n";

using events_process_test = shardgate::test::jetstream_test;

TEST_F(events_process_test, prints_the_stream_as_jsonl_and_exits_0_once_caught_up) {
    create_stream();
    (void)publish_sample();
    shardgate_process p({"events", "--nats", server_->url()});
    EXPECT_EQ(p.finish(20s), 0) << p.err();
    EXPECT_EQ(p.out(), ready_0 + ready_1 + guild_0 + message_0 + message_1);
    EXPECT_EQ(p.err(), "");
}

TEST_F(events_process_test, filter_keeps_the_named_events) {
    create_stream();
    (void)publish_sample();
    shardgate_process one({"events", "--nats", server_->url(), "--filter", "MESSAGE_CREATE"});
    EXPECT_EQ(one.finish(20s), 0) << one.err();
    EXPECT_EQ(one.out(), message_0 + message_1);
    shardgate_process two(
        {"events", "--nats", server_->url(), "--filter", "GUILD_CREATE, MESSAGE_CREATE"});
    EXPECT_EQ(two.finish(20s), 0) << two.err();
    EXPECT_EQ(two.out(), guild_0 + message_0 + message_1);
}

TEST_F(events_process_test, stream_and_prefix_options_name_another_stream) {
    create_stream("BOTS", "acme.gw");
    EXPECT_TRUE(publish({3, 9, "x", "RESUMED", "{}"}, "acme.gw"));
    shardgate_process p(
        {"events", "--nats", server_->url(), "--stream", "BOTS", "--subject-prefix", "acme.gw"});
    EXPECT_EQ(p.finish(20s), 0) << p.err();
    EXPECT_EQ(p.out(), R"({"type":"dispatch","shard":3,"seq":9,"t":"RESUMED","session":"x","d":{}})"
                       "\n");
}

TEST_F(events_process_test, durable_runs_go_on_where_the_last_one_stopped) {
    create_stream();
    (void)publish_sample();
    shardgate_process first({"events", "--nats", server_->url(), "--durable", "cli"});
    EXPECT_EQ(first.finish(20s), 0) << first.err();
    EXPECT_EQ(first.out(), ready_0 + ready_1 + guild_0 + message_0 + message_1);

    shardgate_process second({"events", "--nats", server_->url(), "--durable", "cli"});
    EXPECT_EQ(second.finish(20s), 0) << second.err();
    EXPECT_EQ(second.out(), "");

    EXPECT_TRUE(publish({0, 4, "s0", "RESUMED", "{}"}));
    shardgate_process third({"events", "--nats", server_->url(), "--durable", "cli"});
    EXPECT_EQ(third.finish(20s), 0) << third.err();
    EXPECT_EQ(third.out(),
              R"({"type":"dispatch","shard":0,"seq":4,"t":"RESUMED","session":"s0","d":{}})"
              "\n");
}

TEST_F(events_process_test, follow_prints_new_events_until_sigterm_then_exits_0) {
    create_stream();
    (void)publish_sample();
    shardgate_process p({"events", "--nats", server_->url(), "--follow"});
    p.read(20s, 5);
    EXPECT_EQ(p.out(), ready_0 + ready_1 + guild_0 + message_0 + message_1) << p.err();
    EXPECT_TRUE(publish({0, 4, "s0", "RESUMED", "{}"}));
    p.read(20s, 6);
    EXPECT_EQ(p.out(),
              ready_0 + ready_1 + guild_0 + message_0 + message_1 +
                  R"({"type":"dispatch","shard":0,"seq":4,"t":"RESUMED","session":"s0","d":{}})"
                  "\n");
    p.signal(SIGTERM);
    EXPECT_EQ(p.finish(10s), 0) << p.err();
}

TEST_F(events_process_test, unreachable_nats_exits_1_with_a_message) {
    const auto port = shardgate::test::nats_server::free_port();
    shardgate_process p({"events", "--nats", "nats://127.0.0.1:" + std::to_string(port)});
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(p.finish(20s), 1);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_EQ(p.out(), "");
    EXPECT_NE(p.err().find("shardgate events: cannot connect to NATS at nats://127.0.0.1:"),
              std::string::npos)
        << p.err();
    EXPECT_EQ(std::count(p.err().begin(), p.err().end(), '\n'), 1) << p.err();
}

TEST_F(events_process_test, a_missing_stream_exits_1_naming_the_fix) {
    shardgate_process p({"events", "--nats", server_->url(), "--stream", "NOPE"});
    EXPECT_EQ(p.finish(20s), 1);
    EXPECT_NE(p.err().find("stream 'NOPE' does not exist"), std::string::npos) << p.err();
    EXPECT_NE(p.err().find("shardgate connect --nats"), std::string::npos) << p.err();
    EXPECT_EQ(std::count(p.err().begin(), p.err().end(), '\n'), 1) << p.err();
}

TEST_F(events_process_test, bad_usage_exits_2) {
    for (const std::vector<std::string>& args : {
             std::vector<std::string>{"events"},
             std::vector<std::string>{"events", "--nats", ","},
             std::vector<std::string>{"events", "--nats", server_->url(), "--filter", "A.B"},
             std::vector<std::string>{"events", "--nats", server_->url(), "--durable", "a b"},
             std::vector<std::string>{"events", "--nats", server_->url(), "--stream", "a.b"},
             std::vector<std::string>{"events", "--nats", server_->url(), "--bogus"},
         }) {
        shardgate_process p(args);
        EXPECT_EQ(p.finish(20s), 2) << args.back() << ": " << p.err();
        EXPECT_NE(p.err(), "") << args.back();
    }
}

TEST_F(events_process_test, the_jetstream_consumer_example_counts_per_channel_and_resumes) {
    create_stream();
    (void)publish_sample();
    shardgate_process first({server_->url(), "--once"}, SHARDGATE_EXAMPLE_JETSTREAM_CONSUMER);
    EXPECT_EQ(first.finish(20s), 0) << first.err();
    EXPECT_EQ(first.out(), "2 MESSAGE_CREATE\n  channel 7: 1\n  channel 8: 1\n");
    EXPECT_TRUE(publish({1, 3, "s1", "MESSAGE_CREATE", R"({"channel_id":"8"})"}));
    shardgate_process second({server_->url(), "--once"}, SHARDGATE_EXAMPLE_JETSTREAM_CONSUMER);
    EXPECT_EQ(second.finish(20s), 0) << second.err();
    EXPECT_EQ(second.out(), "1 MESSAGE_CREATE\n  channel 8: 1\n");
}

TEST(events_line, is_a_connect_dispatch_line_with_the_session) {
    std::string out;
    shardgate::bridge::stream_event event;
    event.shard = 3;
    event.seq = 42;
    event.session = "a\"b";
    event.name = "MESSAGE_CREATE";
    event.data = "{\"x\":\n1}";
    shardgate::cli::append_stream_event_line(out, event);
    EXPECT_EQ(
        out,
        R"({"type":"dispatch","shard":3,"seq":42,"t":"MESSAGE_CREATE","session":"a\"b","d":{"x": 1}})"
        "\n");
    out.clear();
    event.data.clear();
    event.session = "\xff";
    event.error = "too-large";
    shardgate::cli::append_stream_event_line(out, event);
    EXPECT_EQ(
        out,
        R"({"type":"dispatch","shard":3,"seq":42,"t":"MESSAGE_CREATE","session":"?","error":"too-large","d":null})"
        "\n");
}

TEST(events_line, split_filter_drops_blanks) {
    EXPECT_EQ(shardgate::cli::split_filter(" READY, ,MESSAGE_CREATE,"),
              (std::vector<std::string>{"READY", "MESSAGE_CREATE"}));
    EXPECT_TRUE(shardgate::cli::split_filter("").empty());
}

} // namespace
