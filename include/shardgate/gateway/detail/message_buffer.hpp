#pragma once
/// @file
/// The output buffer the inflaters decode each message into.

#include <cstddef>
#include <memory>
#include <string_view>

namespace shardgate::gateway::detail {

/// Where an inflater writes one decoded message: grown geometrically without zero-filling, never
/// beyond `max_message_bytes + 1` bytes of message (the extra byte proves a message is over the cap
/// without decoding any further) plus `json_padding` bytes that simdjson may read past the end.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class message_buffer {
public:
    message_buffer() = default;
    /// Takes the other's storage; the other is left empty, as new.
    message_buffer(message_buffer&& other) noexcept;
    message_buffer& operator=(message_buffer&& other) noexcept;
    message_buffer(const message_buffer&) = delete;
    message_buffer& operator=(const message_buffer&) = delete;
    ~message_buffer() = default;

    [[nodiscard]] char* data() noexcept { return data_.get(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// How far a message may be written now: the capacity less the padding, and never past
    /// `max_message_bytes + 1`.
    [[nodiscard]] std::size_t room_end(std::size_t max_message_bytes) const noexcept;

    /// Grows the buffer, keeping its first `produced` bytes: doubles it, or on the first call makes
    /// it at least `hint` bytes; never past the cap.
    void grow(std::size_t produced, std::size_t hint, std::size_t max_message_bytes);

    /// Zeroes the padding after the first `size` bytes and returns them as the message.
    [[nodiscard]] std::string_view finish(std::size_t size) noexcept;

    /// Frees the storage (for idle connections); the next `grow` allocates again.
    void release() noexcept;

private:
    std::unique_ptr<char[]> data_; // NOLINT(*-avoid-c-arrays): grown without zero-filling
    std::size_t capacity_ = 0;
};

} // namespace shardgate::gateway::detail
