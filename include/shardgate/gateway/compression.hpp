#pragma once
/// @file
/// Transport compression of the gateway connection (`compress=` in the WebSocket URL): the mode
/// enum, the limits shared by the inflaters, and the type-erased `inflater` / `deflater` that a
/// shard and the emulator hold whatever the mode.
///
/// The concrete codecs live in `zlib_stream.hpp` and `zstd_stream.hpp`; they include this header
/// for the shared types, so this header only forward-declares them and the type-erased classes hold
/// them by pointer (one allocation per connection object, none per message).
///
/// @see https://discord.com/developers/docs/events/gateway#transport-compression

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace shardgate::gateway {

/// The transport compression of one gateway connection.
///
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
enum class compression {
    none,        ///< No transport compression: each WebSocket message is one payload.
    zlib_stream, ///< `compress=zlib-stream`: one zlib stream, payloads end in `00 00 FF FF`.
    zstd_stream, ///< `compress=zstd-stream`: one zstd frame, one payload per message.
};

/// The query-string value of a mode: `"zlib-stream"`, `"zstd-stream"` or `"none"`.
///
/// `none` has no query-string value at Discord (the parameter is simply left out); `"none"` is what
/// configuration files and the CLI use for it.
///
/// @par Thread Safety
/// Safe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
[[nodiscard]] std::string_view to_string(compression c) noexcept;

/// Parses the value of `to_string` back (exact, case-sensitive match).
///
/// @param text `"zlib-stream"`, `"zstd-stream"` or `"none"`.
/// @return The mode, or `std::nullopt` for anything else.
///
/// @par Thread Safety
/// Safe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
[[nodiscard]] std::optional<compression> parse_compression(std::string_view text) noexcept;

/// Bytes that stay readable after every decoded message, so that simdjson can parse it in place.
///
/// Equal to `SIMDJSON_PADDING`; spelled out here so that the codecs need not include simdjson. The
/// bytes are zeroed.
inline constexpr std::size_t json_padding = 64;

/// Caps that keep a hostile or broken peer from turning the decoder into an out-of-memory.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
struct inflate_limits {
    /// Largest decoded message. A message that would decode past it fails with
    /// `error::decompressed_too_large` as soon as the cap is crossed; the output buffer never grows
    /// past `max_message_bytes + 1 + json_padding`. READY of a large bot can be several MiB, hence
    /// the generous default.
    std::size_t max_message_bytes = std::size_t{64} << 20U;
    /// Largest compressed size of one message (zlib: bytes piled up while waiting for the
    /// `00 00 FF FF` suffix; zstd: one WebSocket message). Past it:
    /// `error::compressed_frame_too_large`.
    std::size_t max_pending_compressed_bytes = std::size_t{16} << 20U;
    /// zstd only: `ZSTD_d_windowLogMax`. The decoder allocates a window as large as the sender asks
    /// for (2 MiB at level 3, 8 MiB at level 19, up to 128 MiB by default), and it stays allocated
    /// for the connection; 23 (8 MiB) bounds that memory while accepting every level Discord uses.
    /// A stream that needs a larger window fails with `error::decompression_failed`.
    int window_log_max = 23;
};

/// The outcome of feeding one WebSocket message to an inflater.
///
/// Exactly one of these holds: `ec` is set (the inflater is now unusable until `reset()`), or
/// `message` holds a complete payload, or neither (more frames are needed).
struct [[nodiscard]] inflate_result {
    /// Why decoding failed: `error::decompression_failed`, `error::decompressed_too_large` or
    /// `error::compressed_frame_too_large`.
    std::error_code ec;
    /// The complete payload, followed by `json_padding` readable zero bytes. It points into the
    /// inflater and is valid until its next `feed`, `reset`, `release_buffers` or destruction.
    std::optional<std::string_view> message;
};

/// Options of the zlib deflater (emulator side).
///
/// The defaults match what Discord's stream looks like. Each stream at 15/8 holds 268 KB, at 12/4
/// about 30 KB: an emulator holding thousands of connections may lower `window_bits` and
/// `mem_level` (the client always inflates with a 32 KiB window, which reads any smaller one).
struct zlib_deflate_options {
    int level = -1;       ///< 0..9, or -1 for `Z_DEFAULT_COMPRESSION` (6).
    int window_bits = 15; ///< 9..15 (8 is read as 9 by zlib). Always the zlib wrapper, never raw.
    int mem_level = 8;    ///< 1..9.
};

/// Options of the zstd deflater (emulator side).
///
/// The compressor's window decides the client's decoder memory (2 MiB at level 3); an emulator
/// holding thousands of connections may lower `window_log` (17 gives 128 KiB).
struct zstd_deflate_options {
    int level = 3;      ///< zstd compression level.
    int window_log = 0; ///< `ZSTD_c_windowLog`; 0 keeps the library default for `level`.
};

class zlib_inflater;
class zstd_inflater;
class zlib_deflater;
class zstd_deflater;

/// Decodes the messages of one gateway connection in any `compression` mode.
///
/// For `compression::none` it copies each frame into a padded buffer (so that the caller can parse
/// in place either way); otherwise it forwards to `zlib_inflater` or `zstd_inflater`, whose docs
/// give the details. A message over `max_message_bytes` fails with `error::decompressed_too_large`
/// in every mode.
///
/// After an error the object is unusable until `reset()`: every later `feed` returns the same
/// error. The caller closes the connection.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
class inflater {
public:
    /// Creates the decoder of one connection. The codec context is created lazily, on the first
    /// `feed`.
    ///
    /// @param mode The `compress=` mode the connection was opened with.
    /// @param limits Caps on message sizes.
    /// @throws std::invalid_argument if `limits.window_log_max` is out of zstd's range (zstd mode).
    explicit inflater(compression mode = compression::none, inflate_limits limits = {});
    ~inflater();
    /// Takes over the other's state; the other may only be destroyed or assigned to.
    inflater(inflater&& other) noexcept;
    /// Takes over the other's state; the other may only be destroyed or assigned to.
    inflater& operator=(inflater&& other) noexcept;
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;

    /// Feeds one WebSocket message (binary for zlib/zstd; text or binary for `none`).
    ///
    /// @param frame The message's bytes; not retained.
    /// @return A complete message, nothing yet, or an error; see `inflate_result`.
    inflate_result feed(std::span<const std::byte> frame);

    /// Starts a new connection in the same mode: drops pending data and the codec's history, keeps
    /// buffers and contexts allocated.
    void reset() noexcept;

    /// Frees the output and pending buffers (for idle connections). The codec context stays, since
    /// later messages of the connection refer to it. Invalidates the last message view.
    void release_buffers() noexcept;

    /// For a quiet connection: frees the buffers, and parks a zlib stream (`zlib_inflater::park`:
    /// its history kept compressed, its context freed until the next `feed`). A zstd context
    /// stays (its window is the sender's to size). Invalidates the last message view.
    /// @return Whether a zlib stream was parked.
    bool park();

    /// The mode given at construction.
    [[nodiscard]] compression mode() const noexcept { return mode_; }
    /// Whether an error happened since construction or the last `reset()`.
    [[nodiscard]] bool failed() const noexcept;
    /// Bytes fed since construction (across `reset()`s).
    [[nodiscard]] std::uint64_t compressed_bytes_in() const noexcept;
    /// Bytes of complete messages returned since construction.
    [[nodiscard]] std::uint64_t decompressed_bytes_out() const noexcept;
    /// Complete messages returned since construction.
    [[nodiscard]] std::uint64_t messages() const noexcept;
    /// Current capacity of the output buffer in bytes, padding included (for tests and metrics).
    [[nodiscard]] std::size_t buffer_capacity() const noexcept;

private:
    compression mode_;
    inflate_limits limits_;
    std::unique_ptr<zlib_inflater> zlib_;
    std::unique_ptr<zstd_inflater> zstd_;
    // compression::none state.
    std::unique_ptr<char[]> plain_; // NOLINT(*-avoid-c-arrays)
    std::size_t plain_capacity_ = 0;
    std::uint64_t plain_bytes_ = 0;
    std::uint64_t plain_messages_ = 0;
    std::error_code plain_error_;
};

/// Encodes the messages of one gateway connection in any `compression` mode (emulator side).
///
/// For `compression::none` it appends the payload unchanged; otherwise it forwards to
/// `zlib_deflater` or `zstd_deflater`.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
/// @see https://discord.com/developers/docs/events/gateway#transport-compression
class deflater {
public:
    /// Creates the encoder of one connection.
    ///
    /// @param mode The `compress=` mode the client asked for.
    /// @param zlib_options Used in `zlib_stream` mode.
    /// @param zstd_options Used in `zstd_stream` mode.
    /// @throws std::invalid_argument if the options of the selected mode are out of range.
    explicit deflater(compression mode = compression::none, zlib_deflate_options zlib_options = {},
                      zstd_deflate_options zstd_options = {});
    ~deflater();
    /// Takes over the other's state; the other may only be destroyed or assigned to.
    deflater(deflater&& other) noexcept;
    /// Takes over the other's state; the other may only be destroyed or assigned to.
    deflater& operator=(deflater&& other) noexcept;
    deflater(const deflater&) = delete;
    deflater& operator=(const deflater&) = delete;

    /// Encodes one payload and appends the bytes of its WebSocket message to `out`.
    ///
    /// @param payload One gateway payload.
    /// @param out Receives the bytes; existing contents are kept.
    void compress(std::string_view payload, std::vector<std::byte>& out);

    /// Starts a new connection in the same mode.
    void reset() noexcept;

    /// The mode given at construction.
    [[nodiscard]] compression mode() const noexcept { return mode_; }

private:
    compression mode_;
    std::unique_ptr<zlib_deflater> zlib_;
    std::unique_ptr<zstd_deflater> zstd_;
};

} // namespace shardgate::gateway
