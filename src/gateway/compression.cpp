#include "shardgate/gateway/compression.hpp"

#include "shardgate/gateway/error.hpp"
#include "shardgate/gateway/zlib_stream.hpp"
#include "shardgate/gateway/zstd_stream.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace shardgate::gateway {

std::string_view to_string(compression c) noexcept {
    switch (c) {
    case compression::none: return "none";
    case compression::zlib_stream: return "zlib-stream";
    case compression::zstd_stream: return "zstd-stream";
    }
    return "unknown";
}

std::optional<compression> parse_compression(std::string_view text) noexcept {
    for (const compression c :
         {compression::none, compression::zlib_stream, compression::zstd_stream}) {
        if (text == to_string(c)) {
            return c;
        }
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// inflater

inflater::inflater(compression mode, inflate_limits limits)
    : mode_(mode)
    , limits_(limits) {
    // The codec objects are small (their contexts are created on the first feed), so creating them
    // here costs no more than a pointer check on every feed would.
    switch (mode_) {
    case compression::none: break;
    case compression::zlib_stream: zlib_ = std::make_unique<zlib_inflater>(limits_); break;
    case compression::zstd_stream: zstd_ = std::make_unique<zstd_inflater>(limits_); break;
    }
}

inflater::~inflater() = default;
inflater::inflater(inflater&& other) noexcept = default;
inflater& inflater::operator=(inflater&& other) noexcept = default;

inflate_result inflater::feed(std::span<const std::byte> frame) {
    if (zlib_) {
        return zlib_->feed(frame);
    }
    if (zstd_) {
        return zstd_->feed(frame);
    }
    // compression::none: copy into a padded buffer, so that the caller parses in place either way.
    if (plain_error_) {
        return {plain_error_, std::nullopt};
    }
    if (frame.size() > limits_.max_message_bytes) {
        plain_error_ = make_error_code(error::decompressed_too_large);
        return {plain_error_, std::nullopt};
    }
    const std::size_t needed = frame.size() + json_padding;
    if (needed > plain_capacity_) {
        // Geometric, but never past the cap.
        const std::size_t cap =
            limits_.max_message_bytes > std::numeric_limits<std::size_t>::max() - json_padding
                ? std::numeric_limits<std::size_t>::max()
                : limits_.max_message_bytes + json_padding;
        const std::size_t want =
            std::min(std::max({needed, plain_capacity_ * 2, std::size_t{4096}}), cap);
        plain_ = std::make_unique_for_overwrite<char[]>(want); // NOLINT(*-avoid-c-arrays)
        plain_capacity_ = want;
    }
    if (!frame.empty()) {
        std::memcpy(plain_.get(), frame.data(), frame.size());
    }
    std::memset(plain_.get() + frame.size(), 0, json_padding); // NOLINT(*-pointer-arithmetic)
    plain_bytes_ += frame.size();
    ++plain_messages_;
    return {{}, std::string_view(plain_.get(), frame.size())};
}

void inflater::reset() noexcept {
    if (zlib_) {
        zlib_->reset();
    }
    if (zstd_) {
        zstd_->reset();
    }
    plain_error_.clear();
}

void inflater::release_buffers() noexcept {
    if (zlib_) {
        zlib_->release_buffers();
    }
    if (zstd_) {
        zstd_->release_buffers();
    }
    plain_.reset();
    plain_capacity_ = 0;
}

bool inflater::park() {
    const bool parked = zlib_ && zlib_->park();
    release_buffers();
    return parked;
}

bool inflater::failed() const noexcept {
    if (zlib_) {
        return zlib_->failed();
    }
    if (zstd_) {
        return zstd_->failed();
    }
    return static_cast<bool>(plain_error_);
}

std::uint64_t inflater::compressed_bytes_in() const noexcept {
    if (zlib_) {
        return zlib_->compressed_bytes_in();
    }
    if (zstd_) {
        return zstd_->compressed_bytes_in();
    }
    return plain_bytes_;
}

std::uint64_t inflater::decompressed_bytes_out() const noexcept {
    if (zlib_) {
        return zlib_->decompressed_bytes_out();
    }
    if (zstd_) {
        return zstd_->decompressed_bytes_out();
    }
    return plain_bytes_;
}

std::uint64_t inflater::messages() const noexcept {
    if (zlib_) {
        return zlib_->messages();
    }
    if (zstd_) {
        return zstd_->messages();
    }
    return plain_messages_;
}

std::size_t inflater::buffer_capacity() const noexcept {
    if (zlib_) {
        return zlib_->buffer_capacity();
    }
    if (zstd_) {
        return zstd_->buffer_capacity();
    }
    return plain_capacity_;
}

// ---------------------------------------------------------------------------------------------------
// deflater

deflater::deflater(compression mode, zlib_deflate_options zlib_options,
                   zstd_deflate_options zstd_options)
    : mode_(mode) {
    switch (mode_) {
    case compression::none: break;
    case compression::zlib_stream: zlib_ = std::make_unique<zlib_deflater>(zlib_options); break;
    case compression::zstd_stream: zstd_ = std::make_unique<zstd_deflater>(zstd_options); break;
    }
}

deflater::~deflater() = default;
deflater::deflater(deflater&& other) noexcept = default;
deflater& deflater::operator=(deflater&& other) noexcept = default;

void deflater::compress(std::string_view payload, std::vector<std::byte>& out) {
    if (zlib_) {
        zlib_->compress(payload, out);
    } else if (zstd_) {
        zstd_->compress(payload, out);
    } else {
        const auto bytes = std::as_bytes(std::span(payload.data(), payload.size()));
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
}

void deflater::reset() noexcept {
    if (zlib_) {
        zlib_->reset();
    }
    if (zstd_) {
        zstd_->reset();
    }
}

} // namespace shardgate::gateway
