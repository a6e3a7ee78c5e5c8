#pragma once
/// @file
/// `shardgate connect`: run shards against a gateway (DESIGN.md, "shardgate connect").
///
/// The token comes only from the environment variable `DISCORD_TOKEN` and never appears in any
/// output. Exit statuses: 0 after SIGINT/SIGTERM or `--duration`, 1 when start-up fails
/// (discovery), 2 for bad usage, 3 when every shard stopped on a fatal close code.

#include "log_settings.hpp"
#include "shardgate/bridge/worker.hpp"
#include "shardgate/io/cluster.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::cli {

/// The command line of `shardgate connect`, as typed; validated by `make_connect_plan`.
struct connect_options {
    std::string api = "https://discord.com/api/v10"; ///< `--api URL`
    std::optional<std::string> gateway{};            ///< `--gateway URL` (skips discovery)
    std::string shards = "auto";                     ///< `--shards N|auto`
    std::optional<std::string> shard_ids{};          ///< `--shard-ids A-B` or `A,B,C`
    std::optional<std::string> intents{};            ///< `--intents NAMES|NUMBER`
    std::string compress = "zlib-stream";            ///< `--compress zlib-stream|zstd-stream|none`
    unsigned threads = 1;                            ///< `--threads N`
    std::string events = "summary";                  ///< `--events jsonl|count|summary`
    std::optional<std::uint32_t> max_concurrency{};  ///< `--max-concurrency K` (with --gateway)
    std::string reshard = "off";                     ///< `--reshard auto|off`
    bool no_verify_tls = false;                      ///< `--no-verify-tls` (testing only)
    std::optional<double> duration{};                ///< `--duration SECONDS`
    std::optional<std::string> metrics{};            ///< `--metrics HOST:PORT`
    std::string log_level = "info";                  ///< `--log-level debug|info|warn|error|off`
    std::string log_format = "text";                 ///< `--log-format text|json`
    std::optional<std::string> nats{};               ///< `--nats URL[,URL...]`
    std::string stream = "SHARDGATE";                ///< `--stream NAME`
    std::string subject_prefix = "shardgate";        ///< `--subject-prefix P`
    std::optional<std::string> cluster{};            ///< `--cluster NAME` (with --nats)
    std::optional<std::string> worker{};             ///< `--worker ID` (with --cluster)
    unsigned lease_ms = 10'000;                      ///< `--lease-ms` (with --cluster)
    unsigned identify_window_ms = 5'000; ///< `--identify-window-ms` (an emulator's shorter one)
    std::optional<unsigned> identify_margin_ms{}; ///< `--identify-margin-ms`
};

/// What `--events` prints.
enum class event_mode {
    jsonl,   ///< One JSON object per event on stdout.
    count,   ///< One summary line on stdout at exit.
    summary, ///< A live status on stderr.
};

/// The validated command.
struct connect_plan {
    io::cluster_options cluster;
    event_mode events = event_mode::summary;
    std::optional<std::chrono::milliseconds> duration{};
    std::optional<std::string> metrics{}; ///< Where to serve /metrics and the status page.
    log_settings log{};
    /// `--nats`: publish to JetStream (and with `--cluster`, share the shards).
    std::optional<bridge::worker_options> bridge{};
};

/// Checks the options and the token and builds the cluster's options.
/// @param token_env The value of `DISCORD_TOKEN` (nullptr when unset).
/// @param error Receives a one-line message naming the fix (never the token).
/// @return The plan, or nullopt: bad usage, exit status 2.
[[nodiscard]] std::optional<connect_plan>
make_connect_plan(const connect_options& options, const char* token_env, std::string& error);

/// Parses `--shards`: `auto` (nullopt) or a count of at least 1.
[[nodiscard]] bool parse_shard_count(std::string_view text, std::optional<std::uint32_t>& count,
                                     std::string& error);

/// Parses `--shard-ids`: `A-B`, `A,B,C` or a mix (`0-3,8`). The ids come out sorted.
/// @param shard_count The total count when known: every id must be below it.
[[nodiscard]] bool parse_shard_ids(std::string_view text, std::optional<std::uint32_t> shard_count,
                                   std::vector<std::uint32_t>& ids, std::string& error);

/// Checks `shardgate connect`'s arguments (after the subcommand) for a token typed on the command
/// line: a `--token`-like option, the value of `DISCORD_TOKEN`, or something shaped like a bot
/// token. CLI11 would echo an unexpected argument, so this runs before parsing.
/// @return The message to print (it never repeats the argument), or nullopt when all is well.
[[nodiscard]] std::optional<std::string> refuse_token_arguments(std::span<const char* const> args,
                                                                const char* token_env);

/// Checks one key of `shardgate connect --config FILE`: a `token` key (any key naming a token)
/// or a value shaped like a bot token or holding `DISCORD_TOKEN`'s value is refused, since the
/// token comes only from the environment.
/// @return The message to print (it never repeats the value), or nullopt when all is well.
[[nodiscard]] std::optional<std::string> refuse_token_config(std::string_view key,
                                                             std::span<const std::string> values,
                                                             const char* token_env);

/// What `run_connect` takes from the process environment.
struct connect_environment {
    const char* token = nullptr; ///< `DISCORD_TOKEN`
    bool stderr_is_tty = false;  ///< Redraw the status in place.
    std::size_t columns = 80;    ///< Terminal width.
};

/// Reads `DISCORD_TOKEN`, and whether stderr is a terminal (and not `TERM=dumb`) and its width.
[[nodiscard]] connect_environment detect_environment();

/// For `main`: when argv is `shardgate connect ...`, refuses a token on the command line.
/// @return 2 after printing the refusal to `err`, or 0 to go on.
[[nodiscard]] int check_connect_argv(int argc, const char* const* argv, std::ostream& err);

/// Runs the command until SIGINT/SIGTERM, `--duration` or every shard stopped; returns the exit
/// status. Events go to `out` (jsonl, count), the live status and diagnostics to `err`.
int run_connect(const connect_options& options, const connect_environment& environment,
                std::ostream& out, std::ostream& err);

} // namespace shardgate::cli
