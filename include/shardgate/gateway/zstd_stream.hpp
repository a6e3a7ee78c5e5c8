#pragma once
/// @file
/// `compress=zstd-stream`: the whole connection is one unfinished zstd frame, flushed
/// (`ZSTD_e_flush`) after every payload; each WebSocket message holds exactly one payload.
///
/// Sans-I/O: bytes in, bytes out. zstd itself stays out of this header.
///
/// @see https://discord.com/developers/docs/events/gateway#transport-compression

#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/detail/message_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

struct ZSTD_DCtx_s; // ZSTD_DCtx / ZSTD_DStream, defined in <zstd.h>, which only the .cpp includes.
struct ZSTD_CCtx_s; // ZSTD_CCtx / ZSTD_CStream.

namespace shardgate::gateway {

/// The client side of `zstd-stream`: one decompression context for the whole connection.
///
/// Every frame is one message: `feed` calls `ZSTD_decompressStream` until all input is consumed and
/// the output buffer was not filled (growing it up to the cap). It does not wait for the frame to
/// end (a return of 0), since the sender never ends it. A sender that does end a frame per message
/// (`ZSTD_e_end`) is read as well: the next message simply starts a new frame.
///
/// Errors, after which the object is unusable until `reset()` (every later `feed` returns the same
/// error; the caller closes the connection):
/// - `error::decompression_failed`: zstd rejected the data (corrupt, truncated blocks continued by
///   unrelated bytes, or a window above `window_log_max`). A message cut short without an error
///   (zstd cannot tell) yields the bytes decoded so far, which the JSON parser then rejects.
/// - `error::decompressed_too_large`: the message would decode past `max_message_bytes`; decoding
///   stops as soon as the cap is crossed.
/// - `error::compressed_frame_too_large`: the frame is over `max_pending_compressed_bytes`.
///
/// Memory: 96 KB once created (on the first `feed`), then sized by the sender's window (2.6 MB at
/// level 3), at most about `2^window_log_max` plus buffers; plus the output buffer, grown
/// geometrically up to the cap and never shrunk on the hot path (see `release_buffers()`).
///
/// @par Example
/// @code
/// zstd_inflater z;
/// auto r = z.feed(frame);
/// if (r.ec) { /* close the connection */ }
/// else if (r.message) { /* parse *r.message in place */ }
/// @endcode
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
class zstd_inflater {
public:
    /// Creates an inflater; the zstd context is created on the first `feed`.
    ///
    /// @param limits Caps on message sizes and on the sender's window.
    /// @throws std::invalid_argument if `limits.window_log_max` is outside zstd's range (10..31).
    explicit zstd_inflater(inflate_limits limits = {});
    ~zstd_inflater();
    /// Takes over the other's context and buffers; the other behaves as newly constructed.
    zstd_inflater(zstd_inflater&& other) noexcept;
    /// Takes over the other's context and buffers; the other behaves as newly constructed.
    zstd_inflater& operator=(zstd_inflater&& other) noexcept;
    zstd_inflater(const zstd_inflater&) = delete;
    zstd_inflater& operator=(const zstd_inflater&) = delete;

    /// Feeds one WebSocket message, which holds exactly one payload.
    ///
    /// @param frame The message's bytes; not retained once `feed` returns.
    /// @return The payload (possibly empty) or an error; never "incomplete". The view is followed
    /// by `json_padding` zero bytes and is valid until the next `feed`, `reset`, `release_buffers`
    /// or destruction.
    /// @throws std::bad_alloc if memory runs out.
    [[nodiscard]] inflate_result feed(std::span<const std::byte> frame);

    /// Prepares for a new connection (`ZSTD_DCtx_reset(ZSTD_reset_session_only)`): drops the window
    /// and any error, keeps the context, its parameters and the buffers.
    void reset() noexcept;

    /// Frees the output buffer. The context stays (later messages refer to its window). Invalidates
    /// the last view.
    void release_buffers() noexcept;

    /// The caps given at construction.
    [[nodiscard]] const inflate_limits& limits() const noexcept { return limits_; }
    /// Whether an error happened since construction or the last `reset()`.
    [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(error_); }
    /// Compressed bytes fed since construction (across `reset()`s).
    [[nodiscard]] std::uint64_t compressed_bytes_in() const noexcept { return bytes_in_; }
    /// Bytes of complete messages returned since construction (across `reset()`s).
    [[nodiscard]] std::uint64_t decompressed_bytes_out() const noexcept { return bytes_out_; }
    /// Messages returned since construction (across `reset()`s).
    [[nodiscard]] std::uint64_t messages() const noexcept { return messages_; }
    /// Capacity of the output buffer, padding included; never above
    /// `max_message_bytes + 1 + json_padding`.
    [[nodiscard]] std::size_t buffer_capacity() const noexcept { return out_.capacity(); }

private:
    void ensure_context();
    inflate_result fail(std::error_code ec) noexcept;

    inflate_limits limits_;
    ZSTD_DCtx_s* ctx_ = nullptr; // owned; null until the first feed
    detail::message_buffer out_;
    std::error_code error_;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
    std::uint64_t messages_ = 0;
};

/// The server side of `zstd-stream` (used by the emulator): one compression context per connection,
/// `ZSTD_compressStream2(..., ZSTD_e_flush)` per payload, never `ZSTD_e_end`.
///
/// Memory per object: about 3.7 MB at level 3 with the default window; lower `window_log` for many
/// connections (it also bounds the client's decoder memory).
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
class zstd_deflater {
public:
    /// The options type.
    using options = zstd_deflate_options;

    /// Creates the compression context.
    ///
    /// @param opts Level and window.
    /// @throws std::invalid_argument if zstd rejects the options; std::bad_alloc if memory runs
    /// out.
    explicit zstd_deflater(options opts = {});
    ~zstd_deflater();
    /// Takes over the other's context; the other may only be destroyed or assigned to.
    zstd_deflater(zstd_deflater&& other) noexcept;
    /// Takes over the other's context; the other may only be destroyed or assigned to.
    zstd_deflater& operator=(zstd_deflater&& other) noexcept;
    zstd_deflater(const zstd_deflater&) = delete;
    zstd_deflater& operator=(const zstd_deflater&) = delete;

    /// Compresses one payload, flushing (not ending) the frame, and appends the bytes to `out`.
    /// They are to be sent as one WebSocket message. The first payload after construction or
    /// `reset()` carries the frame header. An empty payload may append nothing.
    ///
    /// @param payload One gateway payload.
    /// @param out Receives the compressed bytes after its existing contents.
    /// @throws std::bad_alloc if memory runs out.
    void compress(std::string_view payload, std::vector<std::byte>& out);

    /// Starts a new frame (`ZSTD_CCtx_reset(ZSTD_reset_session_only)`) for a new connection,
    /// keeping the parameters and memory.
    void reset() noexcept;

    /// The options given at construction.
    [[nodiscard]] const options& opts() const noexcept { return options_; }

private:
    options options_;
    ZSTD_CCtx_s* ctx_ = nullptr; // owned
};

} // namespace shardgate::gateway
