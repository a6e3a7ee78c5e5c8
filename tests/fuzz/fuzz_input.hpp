#pragma once
// The fuzzers' reader of libFuzzer's bytes: single bytes to choose what to do, byte runs for
// payloads. Past the end it returns zeros and empty runs, so a harness never reads out of bounds.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shardgate::fuzz {

class input {
public:
    input(const std::uint8_t* data, std::size_t size)
        : data_(data)
        , size_(size) {}
    [[nodiscard]] bool empty() const { return pos_ >= size_; }
    std::uint8_t byte() { return empty() ? 0 : data_[pos_++]; }
    std::string_view bytes(std::size_t n) {
        n = std::min(n, size_ - pos_);
        const std::string_view out(reinterpret_cast<const char*>(data_ + pos_), n); // NOLINT
        pos_ += n;
        return out;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

} // namespace shardgate::fuzz
