#pragma once
/// @file
/// A minimal streaming JSON writer for the commands the client sends. simdjson 3.0.1 only parses,
/// and the core must not depend on Boost.JSON, so this writes text straight into a caller's string:
/// no DOM, no allocation besides the output string's own growth.

#include <cstdint>
#include <string>
#include <string_view>

namespace shardgate::gateway::detail {

/// Appends JSON text to a `std::string`, inserting the commas between members and elements.
///
/// The writer does not check structure (a key outside an object, unbalanced ends); the encoders
/// that use it are straight-line code covered by tests. It does check that strings are valid UTF-8,
/// because Discord closes the connection (4002) on a frame it cannot decode; see `valid()`.
///
/// @par Thread Safety
/// Distinct objects: Safe. Shared objects: Unsafe.
class json_writer {
public:
    /// Starts writing at the end of `out`, which must outlive the writer.
    explicit json_writer(std::string& out) noexcept
        : out_(&out) {}

    /// Writes `{` as the next value (after a comma if one is due).
    json_writer& begin_object();
    /// Writes `}`.
    json_writer& end_object();
    /// Writes `[` as the next value (after a comma if one is due).
    json_writer& begin_array();
    /// Writes `]`.
    json_writer& end_array();
    /// Writes `"name":`; the next value call writes the member's value.
    json_writer& key(std::string_view name);
    /// Writes a quoted string: `"` and `\` are backslash-escaped, bytes below 0x20 become `\u00XX`,
    /// everything else (including UTF-8 sequences) is copied as is.
    json_writer& string_value(std::string_view text);
    /// Writes an unsigned integer in decimal.
    json_writer& uint_value(std::uint64_t value);
    /// Writes a signed integer in decimal.
    json_writer& int_value(std::int64_t value);
    /// Writes `true` or `false`.
    json_writer& bool_value(bool value);
    /// Writes `null`.
    json_writer& null_value();
    /// Copies `json` verbatim as one value; the caller guarantees it is valid JSON.
    json_writer& raw_value(std::string_view json);

    /// False once a string passed to `key` or `string_value` was not valid UTF-8 (it is still
    /// written, so the output is then not valid JSON text and must be discarded).
    [[nodiscard]] bool valid() const noexcept { return valid_; }

private:
    void begin_value_();
    void append_escaped_(std::string_view text);

    std::string* out_;
    bool need_comma_ = false; // a value was just completed inside the current container
    bool valid_ = true;
};

} // namespace shardgate::gateway::detail
