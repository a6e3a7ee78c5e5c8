#pragma once
/// @file
/// Decoding what the gateway sends: the envelope `{"op","s","t","d"}` of every payload, with `d`
/// kept as raw JSON text (no copy, no DOM), plus the few `d` bodies the shard itself must read.
/// @see https://discord.com/developers/docs/events/gateway-events#payload-structure

#include "shardgate/gateway/time.hpp"

#include <cstdint>
#include <optional>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <system_error>

namespace shardgate::gateway {

/// The envelope of one received payload. The views point into the decoder's buffer (or the caller's
/// padded buffer) and stay valid until the next `decode`.
struct received_payload {
    std::int64_t op = -1;           ///< Raw opcode; may be one shardgate does not know.
    std::optional<std::uint64_t> s; ///< Sequence number, only on dispatches.
    std::string_view t;             ///< Event name, only on dispatches; empty otherwise.
    std::string_view d = "null";    ///< `d` verbatim as JSON text; "null" when absent.
};

/// What READY tells the shard about its session.
struct ready_info {
    std::string session_id;
    std::string resume_gateway_url;
};

/// Decodes payload envelopes with simdjson On-Demand in one pass over the text.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class payload_decoder {
public:
    payload_decoder() = default;

    /// Decodes one payload.
    /// @param text The JSON text of one payload.
    /// @param padded True when at least `simdjson::SIMDJSON_PADDING` bytes after `text` are
    /// readable
    ///        (the inflaters guarantee it); otherwise the text is copied into a padded buffer
    ///        first.
    /// @param out Receives the envelope; its views stay valid until the next call.
    /// @return `error::malformed_json` for invalid JSON or a missing `op`,
    ///         `error::unexpected_field_type` when `op`, `s` or `t` has the wrong type.
    [[nodiscard]] std::error_code decode(std::string_view text, bool padded, received_payload& out);

    /// The longest `heartbeat_interval` taken from Hello (Discord's is 41.25 s).
    static constexpr milliseconds max_heartbeat_interval{24LL * 60 * 60 * 1000};

    /// Reads `heartbeat_interval` from Hello's `d`; `error::bad_hello` unless it is an integer from
    /// 1 to `max_heartbeat_interval`.
    [[nodiscard]] std::error_code read_hello(std::string_view d, milliseconds& interval);

    /// Reads `session_id` and `resume_gateway_url` from READY's `d`; `error::bad_ready` if either
    /// is missing or not a non-empty string.
    [[nodiscard]] std::error_code read_ready(std::string_view d, ready_info& out);

    /// Reads the boolean of Invalid Session; anything but `true` counts as false, as Discord's docs
    /// make false the safe reading.
    [[nodiscard]] static bool read_invalid_session(std::string_view d) noexcept;

    /// Frees the parsers' buffers, which keep the size of the largest payload seen (READY, a big
    /// GUILD_CREATE: several times its bytes): for a connection gone quiet. The next payload
    /// allocates what it needs. Invalidates the views of the last `decode`.
    void release_buffers() noexcept;

private:
    // Copies `text` into `buffer` with padding and returns the padded view.
    static std::string_view pad(std::string_view text, std::string& buffer);

    simdjson::ondemand::parser parser_;
    // A second parser for `d` bodies, so reading READY does not overwrite the strings (`t`) that
    // the envelope's views point to.
    simdjson::ondemand::parser body_parser_;
    std::string scratch_; // unpadded frames, copied for simdjson
    std::string
        body_scratch_; // `d` bodies the shard reads; separate so `d` may point into scratch_
};

} // namespace shardgate::gateway
