#include "shardgate/gateway/zstd_stream.hpp"

#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>
#include <zstd.h>
#include <zstd_errors.h>

namespace shardgate::gateway {
namespace {

// Gateway payloads compress about 5x; start the output buffer near the expected size.
constexpr std::size_t expected_ratio = 4;

std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
    return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                           : a + b;
}

bool is_out_of_memory(std::size_t rc) noexcept {
    return ZSTD_isError(rc) != 0U && ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation;
}

} // namespace

// ---------------------------------------------------------------------------------------------------
// zstd_inflater

zstd_inflater::zstd_inflater(inflate_limits limits)
    : limits_(limits) {
    // Checked here rather than on the first feed, so that a bad configuration fails at start-up.
    const ZSTD_bounds bounds = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
    if (limits_.window_log_max < bounds.lowerBound || limits_.window_log_max > bounds.upperBound) {
        throw std::invalid_argument("zstd_inflater: window_log_max out of range");
    }
}

zstd_inflater::~zstd_inflater() {
    ZSTD_freeDCtx(ctx_);
}

zstd_inflater::zstd_inflater(zstd_inflater&& other) noexcept
    : limits_(other.limits_)
    , ctx_(std::exchange(other.ctx_, nullptr))
    , out_(std::move(other.out_))
    , error_(std::exchange(other.error_, {}))
    , bytes_in_(std::exchange(other.bytes_in_, 0))
    , bytes_out_(std::exchange(other.bytes_out_, 0))
    , messages_(std::exchange(other.messages_, 0)) {}

zstd_inflater& zstd_inflater::operator=(zstd_inflater&& other) noexcept {
    if (this != &other) {
        zstd_inflater taken(std::move(other));
        std::swap(limits_, taken.limits_);
        std::swap(ctx_, taken.ctx_);
        std::swap(out_, taken.out_);
        std::swap(error_, taken.error_);
        std::swap(bytes_in_, taken.bytes_in_);
        std::swap(bytes_out_, taken.bytes_out_);
        std::swap(messages_, taken.messages_);
    }
    return *this;
}

inflate_result zstd_inflater::feed(std::span<const std::byte> frame) {
    if (error_) {
        return {error_, std::nullopt};
    }
    bytes_in_ += frame.size();
    if (frame.size() > limits_.max_pending_compressed_bytes) {
        return fail(make_error_code(error::compressed_frame_too_large));
    }
    ensure_context();

    // One byte of room past the cap: filling it proves the message is over the cap without
    // decoding any further.
    const std::size_t usable_limit = saturating_add(limits_.max_message_bytes, 1);
    if (out_.capacity() == 0) {
        out_.grow(0, frame.size() * expected_ratio, limits_.max_message_bytes);
    }

    ZSTD_inBuffer in{frame.data(), frame.size(), 0};
    std::size_t produced = 0;
    for (;;) {
        const std::size_t room_end = out_.room_end(limits_.max_message_bytes);
        if (produced == room_end) {
            if (room_end == usable_limit) {
                return fail(make_error_code(error::decompressed_too_large));
            }
            out_.grow(produced, 0, limits_.max_message_bytes);
            continue;
        }
        const std::size_t in_before = in.pos;
        ZSTD_outBuffer out{out_.data(), room_end, produced};
        const std::size_t rc = ZSTD_decompressStream(ctx_, &out, &in);
        if (ZSTD_isError(rc) != 0U) {
            if (is_out_of_memory(rc)) {
                (void)fail(make_error_code(error::decompression_failed));
                throw std::bad_alloc();
            }
            return fail(make_error_code(error::decompression_failed));
        }
        const bool progressed = out.pos != produced || in.pos != in_before;
        produced = out.pos;
        if (produced > limits_.max_message_bytes) {
            return fail(make_error_code(error::decompressed_too_large));
        }
        // The message's end: all input consumed and the output not filled. A return of 0 (end of
        // frame) never comes, since the sender only flushes.
        if (in.pos == in.size && out.pos < out.size) {
            break;
        }
        if (!progressed && out.pos < out.size) {
            return fail(make_error_code(error::decompression_failed));
        }
    }

    ++messages_;
    bytes_out_ += produced;
    return {{}, out_.finish(produced)};
}

void zstd_inflater::ensure_context() {
    if (ctx_ != nullptr) {
        return;
    }
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    if (ctx == nullptr) {
        throw std::bad_alloc();
    }
    // The decoder allocates whatever window the sender declares and keeps it for the connection;
    // this bounds it (range checked in the constructor).
    if (ZSTD_isError(ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, limits_.window_log_max)) !=
        0U) {
        ZSTD_freeDCtx(ctx);
        throw std::invalid_argument("zstd_inflater: window_log_max rejected");
    }
    ctx_ = ctx;
}

inflate_result zstd_inflater::fail(std::error_code ec) noexcept {
    error_ = ec;
    return {ec, std::nullopt};
}

void zstd_inflater::reset() noexcept {
    if (ctx_ != nullptr) {
        // Session only: the window-size limit set at creation stays.
        ZSTD_DCtx_reset(ctx_, ZSTD_reset_session_only);
    }
    error_.clear();
}

void zstd_inflater::release_buffers() noexcept {
    out_.release();
}

// ---------------------------------------------------------------------------------------------------
// zstd_deflater

zstd_deflater::zstd_deflater(options opts)
    : options_(opts) {
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    if (ctx == nullptr) {
        throw std::bad_alloc();
    }
    const bool ok =
        ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, options_.level)) == 0U &&
        (options_.window_log == 0 ||
         ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, options_.window_log)) == 0U);
    if (!ok) {
        ZSTD_freeCCtx(ctx);
        throw std::invalid_argument("zstd_deflater: level or window_log out of range");
    }
    ctx_ = ctx;
}

zstd_deflater::~zstd_deflater() {
    ZSTD_freeCCtx(ctx_);
}

zstd_deflater::zstd_deflater(zstd_deflater&& other) noexcept
    : options_(other.options_)
    , ctx_(std::exchange(other.ctx_, nullptr)) {}

zstd_deflater& zstd_deflater::operator=(zstd_deflater&& other) noexcept {
    if (this != &other) {
        zstd_deflater taken(std::move(other));
        std::swap(options_, taken.options_);
        std::swap(ctx_, taken.ctx_);
    }
    return *this;
}

void zstd_deflater::compress(std::string_view payload, std::vector<std::byte>& out) {
    assert(ctx_ != nullptr && "use of a moved-from zstd_deflater");
    const std::size_t start = out.size();
    // A first guess that fits typical JSON in one call; grown geometrically if not.
    out.resize(start + payload.size() / 2 + 64);
    ZSTD_inBuffer in{payload.data(), payload.size(), 0};
    ZSTD_outBuffer dst{out.data(), out.size(), start};
    for (;;) {
        // e_flush ends the block, so the client can decode the whole payload now, but leaves the
        // frame open: later payloads keep referring to this window.
        const std::size_t remaining = ZSTD_compressStream2(ctx_, &dst, &in, ZSTD_e_flush);
        if (ZSTD_isError(remaining) != 0U) {
            if (is_out_of_memory(remaining)) {
                throw std::bad_alloc();
            }
            throw std::logic_error("zstd compression failed: context state corrupted");
        }
        if (remaining == 0 && in.pos == in.size) {
            break;
        }
        if (dst.pos == dst.size) {
            out.resize(dst.pos + std::max<std::size_t>(dst.pos - start, 4096));
            dst.dst = out.data();
            dst.size = out.size();
        }
    }
    out.resize(dst.pos);
}

void zstd_deflater::reset() noexcept {
    if (ctx_ != nullptr) {
        // Session only: level and window stay.
        ZSTD_CCtx_reset(ctx_, ZSTD_reset_session_only);
    }
}

} // namespace shardgate::gateway
