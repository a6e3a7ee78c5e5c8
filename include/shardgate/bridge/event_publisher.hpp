#pragma once
/// @file
/// Dispatches into a JetStream stream, each (session, seq) exactly once: every message carries
/// `Nats-Msg-Id: <session_id>:<seq>`, so the stream drops a repeat within its duplicate window;
/// every PubAck is checked, and a failed or timed-out publish is published again, never skipped.
///
/// Layout (DESIGN.md, docs/STREAM.md): subject `<prefix>.events.<shard>.<EVENT_NAME>`, payload the
/// dispatch's `d` verbatim, headers `Nats-Msg-Id`, `Shardgate-Shard`, `Shardgate-Seq`,
/// `Shardgate-Session`, `Shardgate-Event`.

#include "shardgate/bridge/connection.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace shardgate::bridge {

/// The stream events go to, and how it is created when missing.
struct stream_settings {
    std::string stream = "SHARDGATE";         ///< `--stream`
    std::string subject_prefix = "shardgate"; ///< `--subject-prefix`
    /// How long the stream remembers a `Nats-Msg-Id`. It must cover the longest outage after which
    /// a shard resumes and is replayed what was already stored: a failover (the lease time plus a
    /// resume) with a wide margin. Each remembered id costs the server ~150 B.
    std::chrono::minutes duplicate_window{10};
    /// How long events are kept. Consumers that fall further behind lose the oldest.
    std::chrono::hours max_age{24};
    /// Bytes kept at most (0: no limit besides `max_age`).
    std::int64_t max_bytes = 0;
    /// File storage survives a NATS restart; memory storage does not.
    bool file_storage = true;
    /// Replicas in a NATS cluster (1 for a single server).
    int replicas = 1;
};

/// Bounds of the publisher.
struct publisher_settings {
    /// Publishes waiting for their PubAck at most; `publish` blocks beyond it (and so the shard
    /// stops reading: TCP back-pressure up to the gateway).
    std::size_t max_in_flight = 4'096;
    /// Their payload bytes at most.
    std::size_t max_in_flight_bytes = std::size_t{64} << 20U;
    /// A PubAck not back within this is taken as lost, and the message published again (the
    /// stream drops the repeat if it had stored it). JetStream answers in milliseconds.
    std::chrono::milliseconds ack_timeout{2'000};
};

/// Counters, for metrics.
struct publisher_stats {
    std::uint64_t in_flight = 0;      ///< Published, PubAck not yet back.
    std::uint64_t published = 0;      ///< Distinct publishes (retries not counted).
    std::uint64_t acked = 0;          ///< PubAcks, duplicates included.
    std::uint64_t duplicates = 0;     ///< PubAcks saying the stream had the id already.
    std::uint64_t retried = 0;        ///< Publishes repeated after an error or a timeout.
    std::uint64_t oversized = 0;      ///< Events over the server's max_payload (see `publish`).
    std::uint64_t dropped_fenced = 0; ///< Not published because the gate closed.
    std::uint64_t blocked_ns = 0;     ///< Time `publish` spent waiting for room.
};

/// Where a shard's session is safely in the stream: every dispatch of `session_id` up to `seq`
/// has its PubAck. Resuming from here loses nothing; what follows is replayed and deduplicated.
struct acked_position {
    std::string session_id;
    std::uint64_t seq = 0;
};

/// May this process publish now? Asked before every publish and retry.
enum class publish_gate {
    open,   ///< Yes.
    wait,   ///< Not now (the lease is overdue): hold the event until it is open or closed.
    closed, ///< Never again for these shards (they were taken away): drop the event.
};

/// What `publish` did.
enum class publish_result {
    published, ///< In flight; its PubAck (or a retry) follows.
    fenced,    ///< The gate closed: not published (whoever resumes the session replays it).
};

/// Publishes dispatches to JetStream asynchronously. Thread-safe: shards on several threads may
/// publish at once.
class event_publisher {
public:
    /// @param gate Asked before every publish and retry (see `publish_gate`). An event is never
    ///        dropped while its shard may go on: `wait` holds it (the shard stops reading), and
    ///        only `closed`, when the shards were taken away, drops it. Null: always open.
    event_publisher(std::shared_ptr<nats_connection> connection, stream_settings stream,
                    publisher_settings settings = {}, std::function<publish_gate()> gate = {});
    ~event_publisher();
    event_publisher(const event_publisher&) = delete;
    event_publisher& operator=(const event_publisher&) = delete;
    event_publisher(event_publisher&&) = delete;
    event_publisher& operator=(event_publisher&&) = delete;

    /// Creates the stream when missing (subjects `<prefix>.events.>`), waiting up to `timeout`
    /// for NATS. An existing stream is used as it is.
    /// @param detail One line: what failed and the fix.
    [[nodiscard]] std::error_code ensure_stream(std::chrono::milliseconds timeout,
                                                std::string& detail);

    /// Publishes one dispatch. Blocks while `max_in_flight` publishes (or bytes) wait for their
    /// PubAck, or while NATS is away and libnats' buffer is full; returns `fenced` as soon as the
    /// gate closes. An event larger than the server takes is published as an empty message with
    /// `Shardgate-Error: too-large` and `Shardgate-Size`, so the sequence has no hole and
    /// consumers can tell (raise nats-server's `max_payload`, up to 64 MB).
    publish_result publish(std::uint32_t shard, std::string_view session_id, std::uint64_t seq,
                           std::string_view name, std::string_view data);

    /// Everything of the shard's current session up to the returned seq is acked; nullopt before
    /// anything was.
    [[nodiscard]] std::optional<acked_position> acked(std::uint32_t shard) const;
    /// Publishes of the shard still waiting for a PubAck.
    [[nodiscard]] std::size_t pending(std::uint32_t shard) const;
    /// Waits until the shard has nothing in flight, up to `timeout`.
    [[nodiscard]] bool drain(std::uint32_t shard, std::chrono::milliseconds timeout) const;
    /// Forgets a shard (it moved to another process).
    void forget(std::uint32_t shard);

    [[nodiscard]] publisher_stats stats() const;

    class impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::bridge
