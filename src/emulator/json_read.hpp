#pragma once
/// @file
/// Internals shared by client_command.cpp and control_api.cpp: reading JSON text that someone else
/// wrote (client frames, control API bodies) with simdjson On-Demand, strictly. Not installed; not
/// part of the public API.
///
/// On-Demand validates lazily: a broken token inside a member nobody reads would go unnoticed. The
/// `validate_*` functions walk every token first, so that such a frame still counts as undecodable.

#include "shardgate/gateway/snowflake.hpp"

#include <cstdint>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <utility>

namespace shardgate::emulator::detail {

namespace od = simdjson::ondemand;
using gateway::snowflake;

/// Nesting deeper than this in a client frame counts as undecodable (4002).
inline constexpr int max_frame_json_depth = 64;

/// Whether `value` (at nesting `depth`) and everything inside it is valid JSON no deeper than
/// `max_depth`. When it is not because of the depth, `*too_deep` (if given) is set.
[[nodiscard]] bool validate(od::value value, int depth, int max_depth, bool* too_deep = nullptr);

/// Copies `text` into `buffer` with simdjson's padding and starts parsing it. Views taken from
/// the document point into `buffer` or into the parser, valid until either is reused.
[[nodiscard]] simdjson::simdjson_result<od::document>
iterate_padded(od::parser& parser, std::string& buffer, std::string_view text);

/// How a document failed to be exactly one valid JSON value.
enum class document_fault : std::uint8_t {
    none,       ///< It is exactly one valid value.
    invalid,    ///< A token is broken, or the text ends early.
    too_deep,   ///< Nested deeper than allowed.
    extra_data, ///< A valid value followed by more than whitespace.
};

/// Whether `doc` is one valid JSON object and nothing else (members no deeper than `max_depth`).
[[nodiscard]] bool validate_object_document(od::document& doc, int max_depth);
/// Whether `doc` is exactly one valid JSON value of any kind, and if not, why.
[[nodiscard]] document_fault check_any_document(od::document& doc, int max_depth);

/// The raw JSON text of a value (objects and arrays whole, scalars trimmed).
[[nodiscard]] bool raw_of(od::value value, std::string_view& out);

[[nodiscard]] bool is_null(od::value& value);
/// A string (or null).
[[nodiscard]] bool is_optional_string(od::value& value);

/// A snowflake as Discord accepts it: a string of decimal digits (the usual form) or an integer;
/// never 0.
[[nodiscard]] bool read_snowflake(od::value value, snowflake& out);

/// An unsigned integer that fits 32 bits.
[[nodiscard]] bool read_u32(od::value value, std::uint32_t& out);

/// Calls `on_field(key, value)` for each member of `json` (a document or a value), which must be
/// an object; stops at the first false.
template <class Json, class OnField> bool for_each_member(Json&& json, OnField on_field) {
    od::object object;
    if (std::forward<Json>(json).get_object().get(object) != simdjson::SUCCESS) {
        return false;
    }
    for (auto field_result : object) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(key) != simdjson::SUCCESS || !on_field(key, field.value())) {
            return false;
        }
    }
    return true;
}

/// Calls `on_element(value)` for each element of `value`, which must be an array; stops at the
/// first false.
template <class OnElement> bool for_each_element(od::value value, OnElement on_element) {
    od::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
        return false;
    }
    for (auto element_result : array) {
        od::value element;
        if (std::move(element_result).get(element) != simdjson::SUCCESS || !on_element(element)) {
            return false;
        }
    }
    return true;
}

} // namespace shardgate::emulator::detail
