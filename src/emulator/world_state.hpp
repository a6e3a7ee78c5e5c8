#pragma once
/// @file
/// Private: what a `world` holds and its connections share. Sessions with their replay buffers,
/// identify buckets, the session-start budget, statistics and the bounded action log. Only
/// world.cpp and connection.cpp include it.

#include "shardgate/emulator/catalog.hpp"
#include "shardgate/emulator/client_command.hpp"
#include "shardgate/emulator/config.hpp"
#include "shardgate/emulator/content.hpp"
#include "shardgate/emulator/hostile.hpp"
#include "shardgate/emulator/log_entry.hpp"
#include "shardgate/emulator/stats.hpp"
#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/gateway/time.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace shardgate::emulator {

namespace detail {

/// What the world needs from a connection that a session is attached to (implemented by
/// `connection::impl`, which is private to connection.cpp).
class connection_sink {
public:
    /// The world ends this connection (token reset, or its session resumed elsewhere).
    virtual void close_from_world(time_point now, std::uint16_t code, std::string_view reason) = 0;
    /// The session attached to this connection no longer exists.
    virtual void session_destroyed() noexcept = 0;
    [[nodiscard]] virtual std::uint64_t connection_id() const noexcept = 0;

protected:
    connection_sink() = default;
    ~connection_sink() = default;
    connection_sink(const connection_sink&) = default;
    connection_sink& operator=(const connection_sink&) = default;
};

/// One dispatch kept for Resume: its sequence number and the whole frame as sent (uncompressed).
struct replay_entry {
    std::uint64_t seq = 0;
    std::string frame;
};

/// A gateway session: lives from READY until destroyed (client close 1000/1001, op 9 false, 4009,
/// token reset) or expired (detached longer than `session_ttl`).
struct session {
    std::string id;
    std::uint32_t shard_id = 0;
    std::uint32_t num_shards = 1;
    bool sharded = false; ///< Identify carried `shard`.
    std::uint64_t intents = 0;
    std::uint32_t large_threshold = 50;
    std::uint64_t seq = 0; ///< The last `s` given out.
    /// At most `replay_buffer_events` entries and `replay_buffer_bytes` of frames.
    std::deque<replay_entry> replay;
    std::size_t replay_bytes = 0;               ///< The frames' bytes in `replay`.
    connection_sink* attached = nullptr;        ///< Null while detached.
    time_point expires_at{};                    ///< Meaningful while detached.
    std::unique_ptr<traffic_generator> traffic; ///< Created on first use.
    bool traffic_exhausted = false;             ///< The generator has nothing for these intents.
    time_point next_traffic_at{};
};

} // namespace detail

/// The shared state behind a `world`.
struct world::state {
    state(emulator_config cfg, time_point now);

    emulator_config config;
    catalog content;
    time_point started;
    std::uint64_t unix_ms_at_start = default_unix_ms_at_start;

    // Sessions ---------------------------------------------------------------------------------
    std::unordered_map<std::string, std::unique_ptr<detail::session>> sessions;
    std::uint64_t sessions_created = 0;
    std::size_t replay_bytes = 0; ///< The sum of every session's `replay_bytes`.

    /// A fresh session id: 32 hex digits, determined by the seed and a counter.
    [[nodiscard]] std::string new_session_id();
    /// Creates a session attached to `sink`.
    detail::session& create_session(detail::connection_sink& sink, time_point now);
    [[nodiscard]] detail::session* find_session(std::string_view id);
    /// Destroys a session (it can no longer be resumed); tells the attached connection.
    void destroy_session(detail::session& s);
    /// Detaches a session from its connection; it may be resumed until `session_ttl` has passed.
    void detach_session(detail::session& s, time_point now);

    /// Gives the next `s` to a dispatch, keeps the frame for replay and returns it (valid until
    /// the next dispatch on any session).
    std::string_view append_dispatch(detail::session& s, std::string_view t, std::string_view d);
    /// The next generated traffic event of a session, or nullopt if the generator has none.
    std::optional<dispatch_body> next_traffic(detail::session& s, time_point now);
    /// An event of kind `t` from the session's generator (for floods).
    dispatch_body make_traffic(detail::session& s, std::string_view t, time_point now);
    [[nodiscard]] std::uint64_t unix_ms(time_point now) const;

    // Identify pacing and budget ----------------------------------------------------------------
    std::vector<std::optional<time_point>> bucket_last_identify;
    std::uint32_t budget_remaining;
    time_point budget_reset_at;
    bool token_was_reset = false;

    [[nodiscard]] bool token_ok(std::string_view token) const;
    /// Discord's penalty for running out of session starts: every session ends, the token is reset.
    void reset_token(time_point now);

    // Hostile modes armed for the next connections (hostile.hpp), oldest first.
    std::deque<hostile_mode> armed_hostile;
    /// The last compression bomb built, by inflated size: building one costs ~1 s per GiB.
    std::optional<std::pair<std::uint64_t, std::vector<std::byte>>> bomb_cache;
    /// The mode the next connection starts with, if one is armed.
    std::optional<hostile_mode> take_armed_hostile();

    // op 8 "everyone" requests: 1 per guild per application per 30 s; only the application's
    // guilds are kept (at most `config.guilds` entries).
    std::unordered_map<snowflake, time_point> members_everyone_at;

    // Connections ------------------------------------------------------------------------------
    std::unordered_map<std::uint64_t, detail::connection_sink*> open_connections;
    std::function<void(std::uint64_t)> wake;
    std::function<void(const log_entry&)> log_observer;
    void wake_connection(std::uint64_t id) const;

    // Statistics and log -------------------------------------------------------------------------
    std::map<std::uint32_t, shard_counters> shard_stats;
    shard_counters unidentified;
    [[nodiscard]] shard_counters& counters(std::optional<std::uint32_t> shard);

    /// At most `world::max_log_entries`, and `config.log_byte_budget` bytes.
    std::deque<log_entry> log_entries;
    std::size_t log_bytes = 0; ///< The `footprint` of `log_entries`.
    std::uint64_t log_dropped = 0;

    /// Appends an entry stamped with `now` to the log (and shows it to the observer), its long
    /// strings cut (`cut_long_strings`), dropping the oldest entries past `max_log_entries` or the
    /// byte budget.
    void log(time_point now, std::uint64_t connection, std::optional<std::uint32_t> shard,
             log_details details);

    // Parsing --------------------------------------------------------------------------------
    /// Shared by every connection of the world (one thread drives them all): the reader of client
    /// frames, with its parser sized for 4096-byte frames and its padded buffers.
    client_command_reader reader;
    std::string scratch; ///< Reused for building outgoing frames.

    /// 2026-01-01T00:00:00Z: the wall-clock time the emulator pretends it started at, unless the
    /// server sets the real one (`world::set_unix_time`); ids and timestamps derive from it.
    static constexpr std::uint64_t default_unix_ms_at_start = 1'767'225'600'000;
};

} // namespace shardgate::emulator
