#pragma once
/// @file
/// A string that must never be printed: the bot token.

#include <ostream>
#include <string>
#include <string_view>

namespace shardgate::gateway {

/// Holds a secret (the bot token). Streaming it prints `***`; only `expose()` gives the text, and
/// it is called in exactly the places that put the token on the wire.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class secret {
public:
    secret() = default;
    explicit secret(std::string value)
        : value_(std::move(value)) {}

    /// The secret text. Call it only to write the token into a payload or an HTTP header.
    [[nodiscard]] const std::string& expose() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

    friend std::ostream& operator<<(std::ostream& os, const secret& /*unused*/) {
        return os << "***";
    }
    friend bool operator==(const secret&, const secret&) = default;

private:
    std::string value_;
};

} // namespace shardgate::gateway
