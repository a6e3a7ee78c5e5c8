// `shardgate demo --workers N`: the scale-out in one command. A `nats-server -js` on a free
// loopback port with a temporary store, the emulator in this process, N worker processes
// (`shardgate connect --nats --cluster`), one of them killed with SIGKILL mid-run; at the end every
// worker is stopped with SIGTERM (a hand-over) and the stream is read back to count what was lost
// or duplicated. The workers' logs stay in the temporary directory until the end.

#include "demo.hpp"
#include "shardgate/bridge/connection.hpp"
#include "shardgate/bridge/stream_reader.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/io/emulator_server.hpp"
#include "stop_signal.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <ostream>
#include <set>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ; // NOLINT: POSIX

namespace shardgate::cli {
namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr std::string_view demo_token = "shardgate-demo-token";
constexpr milliseconds lease{3'000};

std::string find_nats_server() {
    for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"}) {
        if (access(p, X_OK) == 0) {
            return p;
        }
    }
    return {};
}

int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&    // NOLINT
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) { // NOLINT
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

bool port_accepts(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0; // NOLINT
    close(fd);
    return ok;
}

/// Starts `argv` with stdout and stderr to `log`; `env` added to this process's environment.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log,
            const std::vector<std::string>& env = {}) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str())); // NOLINT: posix_spawn's signature
    }
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) { // NOLINT
        env_strings.emplace_back(*e);
    }
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), envp.data()) != 0) {
        pid = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

/// Waits up to `timeout` for `pid` to exit; its status, or -1 if it did not.
int wait_exit(pid_t pid, milliseconds timeout) {
    const auto until = steady::now() + timeout;
    for (;;) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (steady::now() >= until) {
            return -1;
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
}

/// Shards a worker runs now, from its JSON log.
std::set<std::uint32_t> owned_by(const fs::path& log) {
    std::set<std::uint32_t> shards;
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        const auto at = line.find("\"msg\":\"shard ");
        if (at == std::string::npos) {
            continue;
        }
        const auto shard =
            static_cast<std::uint32_t>(std::strtoul(line.c_str() + at + 13, nullptr, 10));
        if (line.find("starts here") != std::string::npos ||
            line.find("taken over") != std::string::npos) {
            shards.insert(shard);
        } else if (line.find("handed over") != std::string::npos ||
                   line.find("dropped") != std::string::npos) {
            shards.erase(shard);
        }
    }
    return shards;
}

std::uint64_t total(const emulator::world_stats& s,
                    std::uint64_t emulator::shard_counters::*field) {
    std::uint64_t n = 0;
    for (const auto& [id, c] : s.shards) {
        n += c.*field;
    }
    return n;
}

struct stream_count {
    std::uint64_t events = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t sessions = 0;
    bool ok = false;
    std::string error;
};

/// Reads the whole stream: per session, the sequence numbers missing below its highest (lost) and
/// those seen twice (duplicated).
stream_count count_stream(const std::string& url) {
    stream_count out;
    bridge::nats_settings ns;
    ns.urls = {url};
    ns.wait_for_server = false;
    std::error_code ec;
    auto connection = bridge::nats_connection::open(ns, ec, out.error);
    if (!connection) {
        return out;
    }
    auto reader = bridge::stream_reader::open(connection, {}, ec, out.error);
    if (!reader) {
        return out;
    }
    std::map<std::string, std::set<std::uint64_t>> seqs;
    while (!reader->caught_up()) {
        auto e = reader->next(milliseconds(2'000), ec, out.error);
        if (ec) {
            return out;
        }
        if (!e) {
            continue;
        }
        ++out.events;
        if (!seqs[e->session].insert(e->seq).second) {
            ++out.duplicated;
        }
    }
    for (const auto& [session, s] : seqs) {
        out.lost += *s.rbegin() - s.size();
    }
    out.sessions = seqs.size();
    out.ok = true;
    return out;
}

} // namespace

int run_demo_workers(const demo_options& o, std::ostream& out, std::ostream& err) {
    if (o.workers < 2 || o.workers > 16 || o.shards < o.workers) {
        err << "shardgate demo: --workers must be from 2 to 16 and at most --shards\n";
        return 2;
    }
    const auto nats_server = find_nats_server();
    if (nats_server.empty()) {
        err << "shardgate demo: --workers needs nats-server (Debian: apt-get install nats-server, "
               "or bash scripts/bootstrap)\n";
        return 1;
    }
    const auto duration = milliseconds(static_cast<std::int64_t>(o.duration.value_or(30.0) * 1000));
    char dir_template[] = "/tmp/shardgate-demo-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) {
        err << "shardgate demo: cannot create a temporary directory\n";
        return 1;
    }
    const fs::path dir = dir_template;
    std::vector<pid_t> children;
    const auto cleanup = [&] {
        for (const auto pid : children) {
            if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, nullptr, 0);
            }
        }
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    };

    // NATS.
    const int port = free_port();
    const auto nats_url = "nats://127.0.0.1:" + std::to_string(port);
    const pid_t nats = spawn({nats_server, "-js", "-a", "127.0.0.1", "-p", std::to_string(port),
                              "-sd", (dir / "jetstream").string()},
                             dir / "nats.log");
    children.push_back(nats);
    const auto nats_deadline = steady::now() + std::chrono::seconds(10);
    while (!port_accepts(port)) {
        if (steady::now() > nats_deadline || nats < 0) {
            err << "shardgate demo: nats-server did not start (see its log)\n";
            cleanup();
            return 1;
        }
        std::this_thread::sleep_for(milliseconds(20));
    }

    // The emulator.
    io::emulator_server_options eo;
    const std::uint32_t buckets = std::min<std::uint32_t>(o.shards, 16);
    eo.config.tokens = {std::string(demo_token)};
    eo.config.recommended_shards = o.shards;
    eo.config.max_concurrency = buckets;
    eo.config.identify_window = milliseconds(1'000);
    eo.config.heartbeat_interval = milliseconds(5'000);
    eo.config.guilds = std::max<std::uint32_t>(16, o.shards * 8);
    eo.config.members_per_guild = 5;
    eo.config.traffic_per_second = o.traffic;
    eo.config.seed = o.seed;
    eo.listen = "127.0.0.1:0";
    io::emulator_server server(eo);
    std::thread serving([&server] { server.run(); });

    // The workers.
    std::string self(4096, '\0');
    const auto n = readlink("/proc/self/exe", self.data(), self.size() - 1);
    self.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    std::vector<pid_t> workers;
    std::vector<fs::path> logs;
    for (unsigned i = 0; i < o.workers; ++i) {
        const auto name = "w" + std::to_string(i + 1);
        logs.push_back(dir / (name + ".log"));
        const pid_t pid = spawn({self,
                                 "connect",
                                 "--gateway",
                                 server.ws_url(),
                                 "--shards",
                                 std::to_string(o.shards),
                                 "--max-concurrency",
                                 std::to_string(buckets),
                                 "--identify-window-ms",
                                 "1000",
                                 "--identify-margin-ms",
                                 "100",
                                 "--compress",
                                 o.compress,
                                 "--nats",
                                 nats_url,
                                 "--cluster",
                                 "demo",
                                 "--worker",
                                 name,
                                 "--lease-ms",
                                 std::to_string(lease.count()),
                                 "--events",
                                 "count",
                                 "--log-format",
                                 "json"},
                                logs.back(), {"DISCORD_TOKEN=" + std::string(demo_token)});
        workers.push_back(pid);
        children.push_back(pid);
    }
    err << "shardgate demo: nats-server at " << nats_url << ", emulator at " << server.http_url()
        << ", " << o.workers << " workers sharing " << o.shards << " shards (lease "
        << lease.count() << " ms); logs in " << dir.string() << '\n';

    // Run; kill the first worker a third of the way in.
    const auto started = steady::now();
    const auto kill_at = started + std::max(duration / 3, milliseconds(8'000));
    bool killed = false;
    std::size_t killed_shards = 0;
    std::uint64_t resumes_at_kill = 0;
    std::optional<milliseconds> failover;
    steady::time_point killed_time;
    const stop_signal_guard signals;
    auto next_line = started;
    while (steady::now() - started < duration && !stop_signal_guard::received()) {
        std::this_thread::sleep_for(milliseconds(50));
        const auto stats = server.stats();
        if (!stats) {
            continue;
        }
        const auto resumes = total(*stats, &emulator::shard_counters::resumes);
        if (!killed && steady::now() >= kill_at) {
            killed_shards = owned_by(logs.front()).size();
            resumes_at_kill = resumes;
            kill(workers.front(), SIGKILL);
            killed_time = steady::now();
            killed = true;
            err << "shardgate demo: SIGKILL worker w1 (it ran " << killed_shards << " shards)\n";
        }
        if (killed && !failover && resumes >= resumes_at_kill + killed_shards) {
            failover = std::chrono::duration_cast<milliseconds>(steady::now() - killed_time);
            err << "shardgate demo: its shards resumed on the other workers " << failover->count()
                << " ms after the kill\n";
        }
        if (steady::now() >= next_line) {
            next_line += std::chrono::seconds(5);
            err << "shardgate demo: "
                << std::chrono::duration_cast<std::chrono::seconds>(steady::now() - started).count()
                << " s: identifies " << total(*stats, &emulator::shard_counters::identifies)
                << ", resumes " << resumes << '\n';
        }
    }

    // Stop: SIGTERM hands the shards over (the last worker keeps the sessions for a restart).
    for (std::size_t i = killed ? 1 : 0; i < workers.size(); ++i) {
        kill(workers[i], SIGTERM);
        if (wait_exit(workers[i], milliseconds(20'000)) < 0) {
            kill(workers[i], SIGKILL);
        }
        waitpid(workers[i], nullptr, WNOHANG);
    }
    const auto stats = server.stats().value_or(emulator::world_stats{});
    server.stop();
    serving.join();
    const auto stream = count_stream(nats_url);
    cleanup();

    const auto identifies = total(stats, &emulator::shard_counters::identifies);
    const auto resumes = total(stats, &emulator::shard_counters::resumes);
    if (!stream.ok) {
        err << "shardgate demo: cannot read the stream back: " << stream.error << '\n';
        return 1;
    }
    if (o.json) {
        std::string line;
        gateway::detail::json_writer w(line);
        w.begin_object();
        w.key("workers").uint_value(o.workers);
        w.key("shards").uint_value(o.shards);
        w.key("dispatches").uint_value(stream.events);
        w.key("sessions").uint_value(stream.sessions);
        w.key("identifies").uint_value(identifies);
        w.key("resumes").uint_value(resumes);
        w.key("faults").uint_value(killed ? 1 : 0);
        w.key("failovers").uint_value(killed ? killed_shards : 0);
        w.key("failover_ms");
        if (failover) {
            w.uint_value(static_cast<std::uint64_t>(failover->count()));
        } else {
            w.null_value();
        }
        w.key("lost").uint_value(stream.lost);
        w.key("duplicated").uint_value(stream.duplicated);
        w.key("p50_ms").null_value();
        w.key("p99_ms").null_value();
        w.end_object();
        out << line << '\n';
    } else {
        out << "shardgate demo --workers " << o.workers << ": " << stream.events
            << " events in the stream from " << stream.sessions << " sessions; identifies "
            << identifies << ", resumes " << resumes << "; failover "
            << (failover ? std::to_string(failover->count()) + " ms" : std::string("n/a"))
            << "; lost " << stream.lost << ", duplicated " << stream.duplicated << '\n';
    }
    return stream.lost == 0 && stream.duplicated == 0 ? 0 : 1;
}

} // namespace shardgate::cli
