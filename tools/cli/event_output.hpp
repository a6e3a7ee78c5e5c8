#pragma once
/// @file
/// The lines `shardgate connect --events jsonl|count` prints (DESIGN.md, "shardgate connect"): pure
/// functions that append to a string, plus the counters behind `--events count` and the buffered
/// writer that keeps output cheap at hundreds of thousands of events per second.
///
/// Line formats (one JSON object per line, each ending in `\n`):
/// - dispatch: `{"type":"dispatch","shard":0,"seq":5,"t":"MESSAGE_CREATE","d":{...}}`, `d` copied
///   verbatim from the wire (never re-serialised).
/// - lifecycle: `{"type":"lifecycle","shard":0,"event":"closed","code":4000,"action":"resume",
///   "ms":1234}`; the extra keys per event are listed at `append_lifecycle_line`.
/// - count summary: `{"type":"summary","dispatches":N,"first_ms":T0,"last_ms":T1,...}`.
///
/// Times (`ms`, `first_ms`, `last_ms`, `elapsed_ms`) are whole milliseconds since the command
/// started (a steady clock, so they never jump).

#include "shardgate/gateway/shard_event.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>

namespace shardgate::cli {

/// Appends the jsonl line of one dispatch. `data` is `d` as received; an empty view is written as
/// `null`. Line breaks inside `data` (insignificant whitespace: JSON strings cannot hold raw ones)
/// become spaces so that each event stays on one line; nothing else is touched.
void append_dispatch_line(std::string& out, std::uint32_t shard, std::uint64_t seq,
                          std::string_view name, std::string_view data);

/// Whether a lifecycle kind is one of the contract's events (everything but `protocol_error`).
[[nodiscard]] bool is_contract_event(gateway::lifecycle_kind kind) noexcept;

/// Appends the jsonl line of a lifecycle event and returns true, or returns false and appends
/// nothing for a kind that is not a contract event (`protocol_error`: see `protocol_error_line`).
///
/// Extra keys: `connecting` → `url`; `hello` → `heartbeat_interval` (ms); `invalid_session` →
/// `resumable`; `closed` → `code`, `action` (`resume`, `reidentify` or `fatal`); `fatal` → `code`,
/// `name`, `remedy`. Every line ends with `ms`, the time of the event.
bool append_lifecycle_line(std::string& out, const gateway::lifecycle_event& event,
                           std::int64_t ms);

/// The stderr line (without `\n`) for a `protocol_error`: shard, error message and detail.
[[nodiscard]] std::string protocol_error_line(const gateway::lifecycle_event& event);

/// The stderr line (without `\n`) for a `fatal` event: shard, code, name and remedy.
[[nodiscard]] std::string fatal_line(const gateway::lifecycle_event& event);

/// What `--events count` adds up. Not synchronised: one writer at a time.
struct event_counts {
    std::uint64_t dispatches = 0;
    std::int64_t first_ms = 0; ///< Time of the first dispatch; 0 while there is none.
    std::int64_t last_ms = 0;  ///< Time of the last dispatch; 0 while there is none.
    /// Names Discord does not document (yet) counted by name; later ones count as "other", so a
    /// gateway inventing names cannot grow this without bound (as /metrics does).
    static constexpr std::size_t max_undocumented_names = 32;
    /// Dispatches by `t`: every documented name, the first `max_undocumented_names` others,
    /// and "other".
    std::map<std::string, std::uint64_t, std::less<>> by_event;
    std::size_t undocumented_names = 0;
    /// Lifecycle events by kind (indexed by `lifecycle_kind`).
    std::array<std::uint64_t, static_cast<std::size_t>(gateway::lifecycle_kind::protocol_error) + 1>
        lifecycle{};

    void count_dispatch(std::string_view name, std::int64_t ms);
    void count_lifecycle(gateway::lifecycle_kind kind) noexcept;
    [[nodiscard]] std::uint64_t lifecycle_count(gateway::lifecycle_kind kind) const noexcept;
};

/// Appends the `--events count` summary line:
/// `{"type":"summary","dispatches":N,"first_ms":T0,"last_ms":T1,"elapsed_ms":E,"shards":S,
/// "identifies":I,"resumes":R,"by_event":{"MESSAGE_CREATE":N,...},"lifecycle":{"ready":S,...}}`.
/// `identifies` counts Identify payloads sent, `resumes` successful resumes (RESUMED received);
/// `lifecycle` lists only kinds that happened.
void append_count_summary(std::string& out, const event_counts& counts, std::int64_t elapsed_ms,
                          std::size_t shards);

/// Gathers lines in a 64 KiB buffer and hands it to an `std::ostream` in one `write` when it is
/// full or on `flush`. Not synchronised.
class buffered_writer {
public:
    static constexpr std::size_t capacity = std::size_t{64} << 10U;

    explicit buffered_writer(std::ostream& out);
    buffered_writer(const buffered_writer&) = delete;
    buffered_writer& operator=(const buffered_writer&) = delete;
    ~buffered_writer();

    /// The buffer to append one line to; call `commit` after appending.
    [[nodiscard]] std::string& buffer() noexcept { return buffer_; }
    /// Writes the buffer out if it is (nearly) full.
    void commit() {
        if (buffer_.size() >= capacity) {
            flush();
        }
    }
    /// Writes out everything buffered and flushes the stream (no-op when empty).
    void flush();

private:
    std::ostream* out_;
    std::string buffer_;
};

} // namespace shardgate::cli
