#pragma once
/// @file
/// `shardgate events --nats URL[,URL...] [--stream S] [--subject-prefix P] [--filter EVENT,...]
/// [--durable NAME] [--follow]`: prints the dispatches in the JetStream stream that
/// `shardgate connect --nats` fills, one `connect --events jsonl` dispatch line each with the
/// gateway session added:
///
///     {"type":"dispatch","shard":0,"seq":5,"t":"MESSAGE_CREATE","session":"abc","d":{...}}
///
/// Without `--follow` it stops once it has printed everything in the stream (exit status 0);
/// with it, it waits for new events until SIGINT or SIGTERM (exit status 0). Exit status 1 when
/// NATS cannot be reached, the stream does not exist or reading fails; 2 for bad usage.

#include "shardgate/bridge/stream_reader.hpp"

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::cli {

struct events_options {
    std::string nats;                         ///< `--nats URL[,URL...]`.
    std::string stream = "SHARDGATE";         ///< `--stream`.
    std::string subject_prefix = "shardgate"; ///< `--subject-prefix`.
    std::string filter;                       ///< `--filter EVENT,...` as typed; empty for all.
    std::string durable; ///< `--durable NAME`; empty for an ephemeral consumer.
    bool follow = false; ///< `--follow`.
};

/// Appends the line of one event: a `connect --events jsonl` dispatch line with `"session"` after
/// `"t"`, then `"error"` for a marker (`Shardgate-Error`, e.g. `"too-large"`: `d` is then `null`);
/// `d` copied verbatim (line breaks in it become spaces, an empty payload is `null`).
void append_stream_event_line(std::string& out, const bridge::stream_event& event);

/// Splits `--filter A,B` into names; blanks around names and empty entries are dropped.
[[nodiscard]] std::vector<std::string> split_filter(std::string_view comma_list);

/// Runs the command; returns the process exit status (0, 1 or 2).
int run_events(const events_options& options, std::ostream& out, std::ostream& err);

} // namespace shardgate::cli
