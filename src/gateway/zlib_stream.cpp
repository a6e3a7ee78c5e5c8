#include "shardgate/gateway/zlib_stream.hpp"

#include "shardgate/gateway/error.hpp"

#define ZLIB_CONST // next_in is `const Bytef*`
#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>
#include <zlib.h>

namespace shardgate::gateway {
namespace {

// The empty stored block that Z_SYNC_FLUSH ends with; Discord's end-of-message marker.
constexpr std::array<std::byte, 4> sync_suffix{std::byte{0x00}, std::byte{0x00}, std::byte{0xff},
                                               std::byte{0xff}};

// The 32 KiB history a deflate stream may refer back to.
constexpr std::size_t window_size = std::size_t{1} << 15U;

// While parked, history gained since the last compression is kept raw up to this much before the
// whole window is compressed again: a quiet shard gains one heartbeat ACK per interval, and
// appending it is far cheaper than recompressing 32 KiB.
constexpr std::size_t max_raw_tail = 4096;

// What follows the last block of a zlib stream that ends: its Adler-32, never checked here.
constexpr std::size_t adler32_trailer = 4;

// Whether the two bytes that open a zlib stream (RFC 1950: CMF, FLG) announce deflate with a
// window zlib can read and no preset dictionary.
bool valid_zlib_header(std::byte cmf, std::byte flg) noexcept {
    const auto c = std::to_integer<unsigned>(cmf);
    const auto f = std::to_integer<unsigned>(flg);
    constexpr unsigned deflate_method = 8;
    constexpr unsigned max_window_info = 7;
    constexpr unsigned preset_dictionary = 0x20;
    return (c & 0x0fU) == deflate_method && (c >> 4U) <= max_window_info &&
           ((c << 8U) | f) % 31 == 0 && (f & preset_dictionary) == 0;
}

// Gateway payloads compress about 5x; start the output buffer near the expected size.
constexpr std::size_t expected_ratio = 4;

// z_stream counts are uInt (32 bits): larger buffers go through in chunks.
constexpr std::size_t max_chunk = std::numeric_limits<uInt>::max();

bool ends_with_suffix(std::span<const std::byte> bytes) noexcept {
    return bytes.size() >= sync_suffix.size() &&
           std::equal(sync_suffix.begin(), sync_suffix.end(), bytes.end() - 4);
}

std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
    return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                           : a + b;
}

uInt chunk(std::size_t n) noexcept {
    return static_cast<uInt>(std::min(n, max_chunk));
}

} // namespace

// ---------------------------------------------------------------------------------------------------
// zlib_inflater

zlib_inflater::zlib_inflater(inflate_limits limits) noexcept
    : limits_(limits) {}

zlib_inflater::~zlib_inflater() {
    close_stream();
}

zlib_inflater::zlib_inflater(zlib_inflater&& other) noexcept
    : limits_(other.limits_)
    , stream_(std::exchange(other.stream_, nullptr))
    , header_(other.header_)
    , header_seen_(std::exchange(other.header_seen_, 0))
    , pending_(std::exchange(other.pending_, {}))
    , out_(std::move(other.out_))
    , parked_(std::exchange(other.parked_, {}))
    , parked_tail_(std::exchange(other.parked_tail_, {}))
    , woke_from_(std::exchange(other.woke_from_, 0))
    , since_wake_(std::exchange(other.since_wake_, 0))
    , is_parked_(std::exchange(other.is_parked_, false))
    , error_(std::exchange(other.error_, {}))
    , bytes_in_(std::exchange(other.bytes_in_, 0))
    , bytes_out_(std::exchange(other.bytes_out_, 0))
    , messages_(std::exchange(other.messages_, 0))
    , parks_(std::exchange(other.parks_, 0))
    , wakes_(std::exchange(other.wakes_, 0)) {}

zlib_inflater& zlib_inflater::operator=(zlib_inflater&& other) noexcept {
    if (this != &other) {
        zlib_inflater taken(std::move(other));
        std::swap(limits_, taken.limits_);
        std::swap(stream_, taken.stream_);
        std::swap(header_, taken.header_);
        std::swap(header_seen_, taken.header_seen_);
        std::swap(pending_, taken.pending_);
        std::swap(out_, taken.out_);
        std::swap(parked_, taken.parked_);
        std::swap(parked_tail_, taken.parked_tail_);
        std::swap(woke_from_, taken.woke_from_);
        std::swap(since_wake_, taken.since_wake_);
        std::swap(is_parked_, taken.is_parked_);
        std::swap(error_, taken.error_);
        std::swap(bytes_in_, taken.bytes_in_);
        std::swap(bytes_out_, taken.bytes_out_);
        std::swap(messages_, taken.messages_);
        std::swap(parks_, taken.parks_);
        std::swap(wakes_, taken.wakes_);
    }
    return *this;
}

inflate_result zlib_inflater::feed(std::span<const std::byte> frame) {
    if (error_) {
        return {error_, std::nullopt};
    }
    bytes_in_ += frame.size();
    if (pending_.empty()) {
        if (frame.size() > limits_.max_pending_compressed_bytes) {
            return fail(make_error_code(error::compressed_frame_too_large));
        }
        // The usual case, one frame per message: inflate straight from the caller's bytes.
        if (ends_with_suffix(frame)) {
            return inflate_message(frame);
        }
        pending_.assign(frame.begin(), frame.end());
        return {};
    }

    if (frame.size() > limits_.max_pending_compressed_bytes - pending_.size()) {
        return fail(make_error_code(error::compressed_frame_too_large));
    }
    pending_.insert(pending_.end(), frame.begin(), frame.end());
    // Checked on the accumulated bytes, so that a suffix split over frames is still seen.
    if (!ends_with_suffix(pending_)) {
        return {};
    }
    auto result = inflate_message(pending_);
    pending_.clear();
    return result;
}

void zlib_inflater::open_stream() {
    // Raw deflate (negative window bits) with a 32 KiB window, which zlib allocates itself on the
    // first inflate.
    auto* stream = new z_stream{}; // NOLINT(*-owning-memory): released in close_stream
    if (const int rc = inflateInit2(stream, -15); rc != Z_OK) {
        delete stream; // NOLINT(*-owning-memory)
        if (rc == Z_MEM_ERROR) {
            throw std::bad_alloc();
        }
        throw std::runtime_error("zlib inflateInit2 failed (incompatible zlib library)");
    }
    stream_ = stream;
    since_wake_ = 0;
    is_parked_ = false;
    if (parked_.empty() && parked_tail_.empty()) {
        return;
    }
    // Waking: the history the parked stream had becomes the new stream's dictionary. Exact,
    // because a zlib-stream is byte-aligned after every sync flush.
    std::vector<Bytef> window(window_size + parked_tail_.size());
    uLongf length = window_size;
    if (!parked_.empty()) {
        const int rc = uncompress(window.data(), &length,
                                  reinterpret_cast<const Bytef*>(parked_.data()), // NOLINT
                                  static_cast<uLong>(parked_.size()));
        if (rc == Z_MEM_ERROR) {
            throw std::bad_alloc();
        }
        if (rc != Z_OK) { // cannot happen: we compressed it ourselves
            throw std::runtime_error("zlib: a parked window did not decompress");
        }
    } else {
        length = 0;
    }
    if (!parked_tail_.empty()) { // memcpy from an empty vector's null data() is undefined
        std::memcpy(window.data() + length, parked_tail_.data(), parked_tail_.size());
    }
    const std::size_t total = length + parked_tail_.size();
    const std::size_t keep = std::min(total, window_size);
    const int rc = inflateSetDictionary(stream_, window.data() + (total - keep), // NOLINT
                                        static_cast<uInt>(keep));
    if (rc != Z_OK) {
        throw std::runtime_error("zlib inflateSetDictionary failed");
    }
    woke_from_ = parked_.size() + parked_tail_.size() > 0 ? keep : 0;
    ++wakes_;
}

void zlib_inflater::close_stream() noexcept {
    if (stream_ != nullptr) {
        inflateEnd(stream_);
        delete stream_; // NOLINT(*-owning-memory)
        stream_ = nullptr;
    }
}

bool zlib_inflater::park() {
    if (stream_ == nullptr || error_ || !pending_.empty()) {
        return false;
    }
    // zlib hands out its window (up to 32 KiB, the newest bytes last).
    std::vector<Bytef> window(window_size);
    uInt length = 0;
    if (inflateGetDictionary(stream_, window.data(), &length) != Z_OK) {
        return false;
    }
    window.resize(length);
    if (woke_from_ > 0 && since_wake_ <= std::min<std::uint64_t>(length, max_raw_tail) &&
        parked_tail_.size() + since_wake_ <= max_raw_tail) {
        // Little has happened since the last wake (a heartbeat ACK): the history is the parked
        // one plus these newest bytes, kept raw.
        const auto tail = static_cast<std::ptrdiff_t>(since_wake_);
        parked_tail_.insert(parked_tail_.end(),
                            reinterpret_cast<const std::byte*>(window.data()) + // NOLINT
                                (static_cast<std::ptrdiff_t>(length) - tail),
                            reinterpret_cast<const std::byte*>(window.data()) + length); // NOLINT
    } else {
        uLongf bound = compressBound(length);
        std::vector<std::byte> packed(bound);
        const int rc = compress2(reinterpret_cast<Bytef*>(packed.data()), &bound, // NOLINT
                                 window.data(), length, Z_BEST_SPEED);
        if (rc != Z_OK) {
            return false; // only Z_MEM_ERROR: stay awake
        }
        packed.resize(bound);
        packed.shrink_to_fit();
        parked_ = std::move(packed);
        std::vector<std::byte>().swap(parked_tail_);
        if (length == 0) {
            parked_.clear(); // nothing to remember yet; an empty history wakes as a fresh stream
        }
    }
    close_stream();
    out_.release();
    std::vector<std::byte>().swap(pending_);
    is_parked_ = true;
    ++parks_;
    return true;
}

std::size_t zlib_inflater::parked_bytes() const noexcept {
    return parked_.capacity() + parked_tail_.capacity();
}

inflate_result zlib_inflater::inflate_message(std::span<const std::byte> input) {
    // The zlib wrapper's two header bytes open the connection's stream (so its first message
    // holds them); they are checked and stripped here so that a raw inflate reads the rest. The
    // wrapper's only other part is the Adler-32 trailer of a stream that ends, and a zlib-stream
    // never ends: raw inflate skips a checksum that would never be compared (6 % of a flood).
    while (header_seen_ < header_.size() && !input.empty()) {
        header_.at(header_seen_++) = input.front();
        input = input.subspan(1);
        if (header_seen_ == header_.size() && !valid_zlib_header(header_[0], header_[1])) {
            return fail(make_error_code(error::decompression_failed));
        }
    }
    if (stream_ == nullptr) {
        open_stream();
    }
    z_stream& zs = *stream_;
    // One byte of room past the cap: filling it proves the message is over the cap without
    // inflating any further.
    const std::size_t usable_limit = saturating_add(limits_.max_message_bytes, 1);
    if (out_.capacity() == 0) {
        out_.grow(0, input.size() * expected_ratio, limits_.max_message_bytes);
    }

    const std::byte* in = input.data();
    std::size_t in_left = input.size();
    std::size_t produced = 0;
    bool stream_ended = false;
    for (;;) {
        const std::size_t room_end = out_.room_end(limits_.max_message_bytes);
        if (produced == room_end) {
            if (room_end == usable_limit) {
                return fail(make_error_code(error::decompressed_too_large));
            }
            out_.grow(produced, 0, limits_.max_message_bytes);
            continue;
        }
        const uInt in_chunk = chunk(in_left);
        const uInt out_chunk = chunk(room_end - produced);
        zs.next_in = reinterpret_cast<const Bytef*>(in); // NOLINT: zlib takes bytes as Bytef
        zs.avail_in = in_chunk;
        zs.next_out = reinterpret_cast<Bytef*>(out_.data() + produced); // NOLINT
        zs.avail_out = out_chunk;
        const int rc = inflate(&zs, Z_SYNC_FLUSH);
        const std::size_t consumed = in_chunk - zs.avail_in;
        const std::size_t written = out_chunk - zs.avail_out;
        in += consumed; // NOLINT(*-pointer-arithmetic)
        in_left -= consumed;
        produced += written;

        switch (rc) {
        case Z_OK:
        case Z_BUF_ERROR: // no progress possible; decided below
            break;
        case Z_STREAM_END:
            // The sender used Z_FINISH. Fine if nothing follows but the wrapper's 4-byte checksum
            // (raw inflate stops before it); anything more is garbage, and later messages hit
            // this too (inflate stays at the end).
            if (in_left > adler32_trailer) {
                return fail(make_error_code(error::decompression_failed));
            }
            stream_ended = true;
            break;
        case Z_MEM_ERROR:
            (void)fail(make_error_code(error::decompression_failed));
            throw std::bad_alloc();
        default: // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
            return fail(make_error_code(error::decompression_failed));
        }
        if (produced > limits_.max_message_bytes) {
            return fail(make_error_code(error::decompressed_too_large));
        }
        // All input consumed and room left over: zlib has flushed everything it can.
        if (in_left == 0 && zs.avail_out != 0) {
            break;
        }
        // Input left, room left, yet nothing moved: the data cannot go on.
        if (consumed == 0 && written == 0 && zs.avail_out != 0) {
            return fail(make_error_code(error::decompression_failed));
        }
    }

    // A sync flush ends in an empty stored block, after which inflate waits for the next block
    // header on a byte boundary (data_type: +128 "at a block boundary", low bits: unused bits).
    // zlib has no per-message checksum, so this is what catches most cut or corrupted messages
    // that still happen to decode.
    constexpr int at_block_boundary = 128;
    constexpr int unused_bits_mask = 63;
    if (!stream_ended &&
        ((zs.data_type & at_block_boundary) == 0 || (zs.data_type & unused_bits_mask) != 0)) {
        return fail(make_error_code(error::decompression_failed));
    }

    ++messages_;
    bytes_out_ += produced;
    since_wake_ += produced;
    return {{}, out_.finish(produced)};
}

inflate_result zlib_inflater::fail(std::error_code ec) noexcept {
    error_ = ec;
    pending_.clear();
    return {ec, std::nullopt};
}

void zlib_inflater::reset() noexcept {
    if (stream_ != nullptr) {
        inflateReset(stream_);
    }
    pending_.clear();
    error_.clear();
    header_seen_ = 0;
    std::vector<std::byte>().swap(parked_);
    std::vector<std::byte>().swap(parked_tail_);
    woke_from_ = 0;
    since_wake_ = 0;
    is_parked_ = false;
}

void zlib_inflater::release_buffers() noexcept {
    out_.release();
    if (pending_.empty()) {
        std::vector<std::byte>().swap(pending_);
    }
}

// ---------------------------------------------------------------------------------------------------
// zlib_deflater

zlib_deflater::zlib_deflater(options opts)
    : options_(opts) {
    auto* stream = new z_stream{}; // NOLINT(*-owning-memory): released in the destructor
    const int rc = deflateInit2(stream, options_.level, Z_DEFLATED, options_.window_bits,
                                options_.mem_level, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        delete stream; // NOLINT(*-owning-memory)
        if (rc == Z_MEM_ERROR) {
            throw std::bad_alloc();
        }
        throw std::invalid_argument("zlib_deflater: level, window_bits or mem_level out of range");
    }
    stream_ = stream;
}

zlib_deflater::~zlib_deflater() {
    if (stream_ != nullptr) {
        deflateEnd(stream_);
        delete stream_; // NOLINT(*-owning-memory): owned, see the header
    }
}

zlib_deflater::zlib_deflater(zlib_deflater&& other) noexcept
    : options_(other.options_)
    , stream_(std::exchange(other.stream_, nullptr)) {}

zlib_deflater& zlib_deflater::operator=(zlib_deflater&& other) noexcept {
    if (this != &other) {
        zlib_deflater taken(std::move(other));
        std::swap(options_, taken.options_);
        std::swap(stream_, taken.stream_);
    }
    return *this;
}

void zlib_deflater::compress(std::string_view payload, std::vector<std::byte>& out) {
    assert(stream_ != nullptr && "use of a moved-from zlib_deflater");
    z_stream& zs = *stream_;
    const std::size_t start = out.size();
    std::size_t used = start;
    // A first guess that fits typical JSON in one call; grown geometrically if not.
    out.resize(start + payload.size() / 2 + 64);

    const char* in = payload.data();
    std::size_t in_left = payload.size();
    for (;;) {
        const uInt in_chunk = chunk(in_left);
        // Only the last chunk of a (> 4 GiB) payload flushes.
        const int flush = in_chunk == in_left ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        zs.next_in = reinterpret_cast<const Bytef*>(in); // NOLINT: zlib takes bytes as Bytef
        zs.avail_in = in_chunk;
        do {
            if (used == out.size()) {
                out.resize(used + std::max<std::size_t>(used - start, 4096));
            }
            const uInt out_chunk = chunk(out.size() - used);
            zs.next_out = reinterpret_cast<Bytef*>(out.data() + used); // NOLINT
            zs.avail_out = out_chunk;
            const int rc = deflate(&zs, flush);
            used += out_chunk - zs.avail_out;
            if (rc == Z_BUF_ERROR) {
                break; // nothing to do: no input and already flushed (an empty payload)
            }
            if (rc != Z_OK) {
                throw std::logic_error("zlib deflate failed: stream state corrupted");
            }
        } while (zs.avail_out == 0);
        in += in_chunk; // NOLINT(*-pointer-arithmetic)
        in_left -= in_chunk;
        if (in_left == 0) {
            break;
        }
    }

    if (used == start) {
        // zlib refuses a second flush with no new input, yet every message must end in the marker:
        // after a sync flush the stream is byte-aligned, so an empty stored block (3 header bits,
        // padding, LEN 0000, NLEN FFFF) is valid deflate here.
        out.resize(used + 5); // zero-filled
        out[used + 3] = std::byte{0xff};
        out[used + 4] = std::byte{0xff};
        used += 5;
    }
    out.resize(used);
    assert(ends_with_suffix(std::span<const std::byte>(out).subspan(start)));
}

void zlib_deflater::reset() noexcept {
    if (stream_ != nullptr) {
        deflateReset(stream_);
    }
}

} // namespace shardgate::gateway
