#pragma once
/// @file
/// `compress=zlib-stream`: one zlib stream per connection, flushed with `Z_SYNC_FLUSH` after every
/// payload, so that each payload ends in `00 00 FF FF` and may be split over several WebSocket
/// messages.
///
/// Sans-I/O: bytes in, bytes out. zlib itself stays out of this header.
///
/// @see https://discord.com/developers/docs/events/gateway#transport-compression

#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/detail/message_buffer.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

struct z_stream_s; // zlib's z_stream; defined in <zlib.h>, which only the .cpp includes.

namespace shardgate::gateway {

/// The client side of `zlib-stream`: one inflate context for the whole connection.
///
/// Frames are appended to a buffer until it ends with the `Z_SYNC_FLUSH` marker `00 00 FF FF` (the
/// check spans frames, so the marker may itself be split); then the whole buffer is inflated with
/// `Z_SYNC_FLUSH` into a reused output buffer. When a frame completes a message on its own (the
/// usual case) it is inflated straight from the caller's bytes, without a copy.
///
/// Messages refer back to earlier ones (the 32 KiB window), so one object must see every message of
/// a connection in order, and `reset()` must be called before the next connection (resumes
/// included).
///
/// Errors, after which the object is unusable until `reset()` (every later `feed` returns the same
/// error; the caller closes the connection):
/// - `error::decompression_failed`: zlib rejected the data (bad header or codes, a dictionary, data
///   after a `Z_FINISH` end of stream), or the data ended inside a deflate block although it ended
///   in the marker. That last check catches most cut or corrupted messages (a message that lost its
///   tail followed by the next one, for example). zlib has no per-message checksum, though, so some
///   corruption decodes to garbage, which the JSON parser then rejects. A message that lost its
///   tail and is never followed stays incomplete: nothing is returned.
/// - `error::decompressed_too_large`: the message would decode past `max_message_bytes`. Inflating
///   stops as soon as the cap is crossed, so a compression bomb costs at most the cap.
/// - `error::compressed_frame_too_large`: one message's compressed bytes passed
///   `max_pending_compressed_bytes`.
///
/// Memory: about 7 KiB of zlib state from the first `feed`, plus the 32 KiB window that zlib
/// allocates on the first inflate, plus the output buffer (grown geometrically, only up to the cap)
/// and the pending buffer (only used when a message spans frames). Buffers are never shrunk on the
/// hot path; call `release_buffers()` for connections that go idle after a large message (READY).
///
/// @par Example
/// @code
/// zlib_inflater z;
/// auto r = z.feed(frame);
/// if (r.ec) { /* close the connection */ }
/// else if (r.message) { /* parse *r.message in place */ }
/// @endcode
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
class zlib_inflater {
public:
    /// Creates an inflater; the zlib context is created on the first `feed`.
    ///
    /// @param limits Caps on message sizes (`window_log_max` is ignored).
    explicit zlib_inflater(inflate_limits limits = {}) noexcept;
    ~zlib_inflater();
    /// Takes over the other's context and buffers; the other behaves as newly constructed.
    zlib_inflater(zlib_inflater&& other) noexcept;
    /// Takes over the other's context and buffers; the other behaves as newly constructed.
    zlib_inflater& operator=(zlib_inflater&& other) noexcept;
    zlib_inflater(const zlib_inflater&) = delete;
    zlib_inflater& operator=(const zlib_inflater&) = delete;

    /// Feeds one WebSocket message.
    ///
    /// @param frame The message's bytes; not retained once `feed` returns.
    /// @return A complete payload once the data ends with `00 00 FF FF`, nothing before that, or an
    /// error (see the class docs). The view is followed by `json_padding` zero bytes and is valid
    /// until the next `feed`, `reset`, `release_buffers` or destruction.
    /// @throws std::bad_alloc if memory runs out (never because of what the peer sent, within the
    /// caps).
    [[nodiscard]] inflate_result feed(std::span<const std::byte> frame);

    /// Prepares for a new connection: drops pending bytes, the window and any error. Reuses the
    /// zlib context (`inflateReset`) and keeps the buffers, so reconnecting does not allocate.
    void reset() noexcept;

    /// Frees the output buffer and, unless a message is half received, the pending buffer. The zlib
    /// context and its window stay, since later messages refer to them. Invalidates the last view.
    void release_buffers() noexcept;

    /// Parks a quiet connection's stream: keeps its history (the last 32 KiB of output, which
    /// later messages may refer back to) compressed, and frees the zlib context, its window and
    /// every buffer: about 40 KiB down to a few KiB. The next `feed` wakes it: a fresh raw
    /// inflater gets the history as its dictionary, which is exact because a zlib-stream is
    /// byte-aligned after every sync flush. History gained since the last wake is appended raw
    /// while it is small (a heartbeat ACK), so a shard that only heartbeats does not compress
    /// 32 KiB each interval.
    ///
    /// @return false (and nothing changes) when there is nothing to park, a message is half
    /// received, the inflater failed, or memory ran out. Invalidates the last view.
    bool park();
    /// Whether the stream is parked (no zlib context held).
    [[nodiscard]] bool parked() const noexcept { return is_parked_; }
    /// Heap bytes the parked history takes.
    [[nodiscard]] std::size_t parked_bytes() const noexcept;
    /// Times parked / woken since construction.
    [[nodiscard]] std::uint64_t parks() const noexcept { return parks_; }
    [[nodiscard]] std::uint64_t wakes() const noexcept { return wakes_; }

    /// The caps given at construction.
    [[nodiscard]] const inflate_limits& limits() const noexcept { return limits_; }
    /// Whether an error happened since construction or the last `reset()`.
    [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(error_); }
    /// Compressed bytes fed since construction (across `reset()`s).
    [[nodiscard]] std::uint64_t compressed_bytes_in() const noexcept { return bytes_in_; }
    /// Bytes of complete messages returned since construction (across `reset()`s).
    [[nodiscard]] std::uint64_t decompressed_bytes_out() const noexcept { return bytes_out_; }
    /// Complete messages returned since construction (across `reset()`s).
    [[nodiscard]] std::uint64_t messages() const noexcept { return messages_; }
    /// Bytes waiting for the `00 00 FF FF` suffix.
    [[nodiscard]] std::size_t pending_compressed_bytes() const noexcept { return pending_.size(); }
    /// Capacity of the output buffer, padding included; never above
    /// `max_message_bytes + 1 + json_padding`.
    [[nodiscard]] std::size_t buffer_capacity() const noexcept { return out_.capacity(); }

private:
    inflate_result inflate_message(std::span<const std::byte> input);
    inflate_result fail(std::error_code ec) noexcept;
    void open_stream();
    void close_stream() noexcept;

    inflate_limits limits_;
    z_stream_s* stream_ = nullptr;      // owned; raw inflate; null until the first feed, and parked
    std::array<std::byte, 2> header_{}; // the zlib wrapper's CMF and FLG
    std::size_t header_seen_ = 0;
    std::vector<std::byte> pending_;
    detail::message_buffer out_;
    std::vector<std::byte> parked_;      // the parked history, zlib-compressed
    std::vector<std::byte> parked_tail_; // history gained after it, raw
    std::size_t woke_from_ = 0;          // history restored at the last wake (0: not woken)
    std::uint64_t since_wake_ = 0;       // bytes inflated since then
    bool is_parked_ = false;
    std::error_code error_;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
    std::uint64_t messages_ = 0;
    std::uint64_t parks_ = 0;
    std::uint64_t wakes_ = 0;
};

/// The server side of `zlib-stream` (used by the emulator): one deflate context per connection,
/// `Z_SYNC_FLUSH` after every payload, never `Z_FINISH`.
///
/// Memory per object: 268 KB at the default 15/8, about 30 KB at `window_bits` 12 and `mem_level` 4
/// (see `zlib_deflate_options`).
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
class zlib_deflater {
public:
    /// The options type.
    using options = zlib_deflate_options;

    /// Creates the deflate context.
    ///
    /// @param opts Level, window and memory level.
    /// @throws std::invalid_argument if zlib rejects the options; std::bad_alloc if memory runs
    /// out.
    explicit zlib_deflater(options opts = {});
    ~zlib_deflater();
    /// Takes over the other's context; the other may only be destroyed or assigned to.
    zlib_deflater(zlib_deflater&& other) noexcept;
    /// Takes over the other's context; the other may only be destroyed or assigned to.
    zlib_deflater& operator=(zlib_deflater&& other) noexcept;
    zlib_deflater(const zlib_deflater&) = delete;
    zlib_deflater& operator=(const zlib_deflater&) = delete;

    /// Compresses one payload and appends the result to `out`.
    ///
    /// The appended bytes always end in `00 00 FF FF`; the first payload after construction or
    /// `reset()` starts with the 2-byte zlib header. An empty payload appends an empty stored
    /// block.
    ///
    /// @param payload One gateway payload.
    /// @param out Receives the compressed bytes after its existing contents.
    /// @throws std::bad_alloc if memory runs out.
    void compress(std::string_view payload, std::vector<std::byte>& out);

    /// Starts a new stream (`deflateReset`) for a new connection, keeping the memory.
    void reset() noexcept;

    /// The options given at construction.
    [[nodiscard]] const options& opts() const noexcept { return options_; }

private:
    options options_;
    z_stream_s* stream_ = nullptr; // owned
};

} // namespace shardgate::gateway
