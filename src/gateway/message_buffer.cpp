#include "shardgate/gateway/detail/message_buffer.hpp"

#include "shardgate/gateway/compression.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

namespace shardgate::gateway::detail {
namespace {

// Gateway payloads compress about 5x; the first growth is sized from the compressed input.
constexpr std::size_t min_capacity = 4096;

std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
    return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                           : a + b;
}

} // namespace

message_buffer::message_buffer(message_buffer&& other) noexcept
    : data_(std::move(other.data_))
    , capacity_(std::exchange(other.capacity_, 0)) {}

message_buffer& message_buffer::operator=(message_buffer&& other) noexcept {
    data_ = std::move(other.data_);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
}

std::size_t message_buffer::room_end(std::size_t max_message_bytes) const noexcept {
    return std::min(capacity_ - json_padding, saturating_add(max_message_bytes, 1));
}

void message_buffer::grow(std::size_t produced, std::size_t hint, std::size_t max_message_bytes) {
    // Never more than the cap (plus the detection byte and the padding), whatever the peer sends.
    const std::size_t max_capacity =
        saturating_add(saturating_add(max_message_bytes, 1), json_padding);
    std::size_t want =
        capacity_ == 0 ? std::max(min_capacity, hint) : saturating_add(capacity_, capacity_);
    want = std::min(want, max_capacity);
    auto fresh = std::make_unique_for_overwrite<char[]>(want); // NOLINT(*-avoid-c-arrays)
    if (produced != 0) {
        std::memcpy(fresh.get(), data_.get(), produced);
    }
    data_ = std::move(fresh);
    capacity_ = want;
}

std::string_view message_buffer::finish(std::size_t size) noexcept {
    // simdjson reads up to json_padding bytes past the end; make them defined.
    std::memset(data_.get() + size, 0, json_padding); // NOLINT(*-pointer-arithmetic)
    return {data_.get(), size};
}

void message_buffer::release() noexcept {
    data_.reset();
    capacity_ = 0;
}

} // namespace shardgate::gateway::detail
