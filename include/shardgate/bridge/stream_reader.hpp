#pragma once
/// @file
/// Reads the dispatches `shardgate connect --nats` publishes to JetStream (DESIGN.md, "Scale-out on
/// NATS JetStream"; docs/STREAM.md), in stream order, through a pull consumer. libnats stays out of
/// this header.

#include "shardgate/bridge/connection.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace shardgate::bridge {

/// One dispatch as it is in the stream.
struct stream_event {
    std::uint32_t shard = 0;      ///< `Shardgate-Shard`.
    std::uint64_t seq = 0;        ///< The gateway's sequence number (`Shardgate-Seq`).
    std::string session;          ///< The gateway session id (`Shardgate-Session`).
    std::string name;             ///< The dispatch's `t` (`Shardgate-Event`).
    std::string data;             ///< The dispatch's `d`, verbatim (the message payload).
    std::uint64_t stream_seq = 0; ///< The message's sequence number in the JetStream stream.
    /// `Shardgate-Error`, empty for a normal event. `too-large`: the dispatch was over the server's
    /// `max_payload`, so the publisher stored this marker (empty `data`) to keep the sequence
    /// whole.
    std::string error;
};

/// What to read and how.
struct stream_reader_settings {
    /// The JetStream stream (`--stream`).
    std::string stream = "SHARDGATE";
    /// The subject prefix the publisher uses (`--subject-prefix`): subjects are
    /// `<prefix>.events.<shard>.<EVENT_NAME>`.
    std::string subject_prefix = "shardgate";
    /// Event names to read (`MESSAGE_CREATE`); empty for all. One name is filtered by the server
    /// (subject `<prefix>.events.*.<NAME>`); with several, nats-server 2.9 taking one filter
    /// subject per consumer, the consumer reads `<prefix>.events.>` and the others are skipped (and
    /// acked) here.
    std::vector<std::string> filter;
    /// Empty: an ephemeral consumer, gone with the reader. Otherwise the name of a durable consumer
    /// (created when missing, kept on the server): a reader opened again with the same name goes
    /// on after the last event acknowledged. Several readers sharing one durable share its events
    /// (each goes to one of them). The consumer's filter is fixed when it is created; opening it
    /// with another `filter` fails with `std::errc::invalid_argument`.
    std::string durable;
    /// Where a consumer this reader creates starts: 0 for the first message in the stream, else
    /// this stream sequence number. Ignored when the durable consumer already exists.
    std::uint64_t start_sequence = 0;
    /// True: `next` waits for new events forever. False: the reader ends (`caught_up()`) once the
    /// consumer has no message left that it has not delivered.
    bool follow = false;
    /// Events acknowledged automatically: each one when `next` is called again (so an event whose
    /// processing crashed the program is delivered again to the next reader of the durable). False:
    /// the caller calls `ack()` after each event; those not acknowledged are delivered again after
    /// the consumer's ack wait (30 s).
    bool auto_ack = true;
    /// Messages asked for per pull request (1..256). Larger is faster; the events fetched but not
    /// yet returned are handed back to the server (negative acknowledgements) when the reader is
    /// destroyed, so that the next reader of the durable gets them at once.
    std::size_t batch = 64;
    /// The limit of one JetStream API call (looking up the stream and the consumer, a
    /// synchronous `ack()`); `open` also waits this long for the connection to come up.
    std::chrono::milliseconds api_timeout{5'000};
};

/// Why `settings` cannot be used (an invalid stream or durable name, prefix or filter entry), as
/// one line naming the fix; empty when they can. `stream_reader::open` checks this first.
[[nodiscard]] std::string check_settings(const stream_reader_settings& settings);

/// A reader of the shardgate stream (a JetStream pull consumer on one `nats_connection`).
///
/// Delivery is at least once: an event whose acknowledgement did not reach the server (a crash, a
/// reader killed) comes again. Events come in stream order; an event delivered again comes after
/// later ones. See docs/STREAM.md for the order the publishers give.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe (one thread calls `next` and `ack`).
class stream_reader {
public:
    /// Checks the stream and creates (or, for a durable, binds to) the consumer.
    /// @param ec `std::errc::invalid_argument` for bad settings (the stream or durable name, the
    ///        prefix, a filter entry, a durable opened with another filter);
    ///        `std::errc::no_such_file_or_directory` when the stream does not exist;
    ///        `std::errc::not_supported` when the server has no JetStream; else a libnats error.
    /// @param detail One line naming what failed and the fix.
    [[nodiscard]] static std::unique_ptr<stream_reader>
    open(std::shared_ptr<nats_connection> connection, const stream_reader_settings& settings,
         std::error_code& ec, std::string& detail);

    /// Hands the fetched events that were not returned back to the server (see `batch`), and
    /// deletes the consumer if it is ephemeral. Does not acknowledge the last event returned:
    /// call `ack()` first for that.
    ~stream_reader();
    stream_reader(const stream_reader&) = delete;
    stream_reader& operator=(const stream_reader&) = delete;
    stream_reader(stream_reader&&) = delete;
    stream_reader& operator=(stream_reader&&) = delete;

    /// The next event, waiting up to `timeout` for one (0: only what is `buffered()`). nullopt with
    /// `ec` clear when none came in time or the reader is `caught_up()`. While NATS is unreachable
    /// this waits (libnats reconnects on its own) and returns nullopt after `timeout`. An ephemeral
    /// consumer that the server dropped (a restart, a long pause) is created again after the last
    /// event fetched.
    /// @param ec Set when the consumer or the stream was deleted, or on any error that waiting
    ///        will not mend; `detail` then says what happened.
    [[nodiscard]] std::optional<stream_event> next(std::chrono::milliseconds timeout,
                                                   std::error_code& ec, std::string& detail);

    /// Acknowledges the last event `next` returned and waits for the server to confirm it (no-op
    /// when there is none or it is acknowledged already). Call it before stopping.
    void ack(std::error_code& ec, std::string& detail);

    /// Not following and nothing left: every message of the consumer was delivered. Stays true.
    [[nodiscard]] bool caught_up() const noexcept;

    /// Events fetched and not returned yet (`next` returns one without waiting when nonzero).
    [[nodiscard]] std::size_t buffered() const noexcept;

    /// The consumer's name (the durable's, or the server-chosen one of an ephemeral).
    [[nodiscard]] const std::string& consumer_name() const noexcept;

    class impl;

private:
    explicit stream_reader(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

} // namespace shardgate::bridge
