#pragma once
/// @file
/// A string that must never be printed: the bot token.

#include <cstddef>
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

    /// Secrets shorter than this are never redacted: they cannot be told apart from ordinary text.
    static constexpr std::size_t min_redacted_size = 4;

    /// The secret text. Call it only to write the token into a payload or an HTTP header.
    [[nodiscard]] const std::string& expose() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

    /// `text` with every occurrence of the secret replaced by `***`, for text that may quote it (an
    /// error from a server, a URL, a log record). A secret shorter than `min_redacted_size`
    /// leaves `text` unchanged.
    [[nodiscard]] std::string redact(std::string text) const;

    friend std::ostream& operator<<(std::ostream& os, const secret& /*unused*/) {
        return os << "***";
    }
    friend bool operator==(const secret&, const secret&) = default;

private:
    std::string value_;
};

} // namespace shardgate::gateway
