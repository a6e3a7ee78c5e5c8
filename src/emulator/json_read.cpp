#include "json_read.hpp"

#include <charconv>
#include <cstdint>

namespace shardgate::emulator::detail {

// Walks a whole value so that every token is checked.
// NOLINTNEXTLINE(misc-no-recursion): bounded by max_depth
bool validate(od::value value, int depth, int max_depth, bool* too_deep) {
    if (depth > max_depth) {
        if (too_deep != nullptr) {
            *too_deep = true;
        }
        return false;
    }
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) {
        return false;
    }
    switch (type) {
    case od::json_type::object: {
        od::object object;
        if (value.get_object().get(object) != simdjson::SUCCESS) {
            return false;
        }
        for (auto field_result : object) {
            od::field field;
            std::string_view key;
            if (std::move(field_result).get(field) != simdjson::SUCCESS ||
                field.unescaped_key().get(key) != simdjson::SUCCESS ||
                !validate(field.value(), depth + 1, max_depth, too_deep)) {
                return false;
            }
        }
        return true;
    }
    case od::json_type::array: {
        od::array array;
        if (value.get_array().get(array) != simdjson::SUCCESS) {
            return false;
        }
        for (auto element_result : array) {
            od::value element;
            // NOLINTNEXTLINE(performance-move-const-arg): simdjson's get() takes an rvalue only
            if (std::move(element_result).get(element) != simdjson::SUCCESS ||
                !validate(element, depth + 1, max_depth, too_deep)) {
                return false;
            }
        }
        return true;
    }
    case od::json_type::string: {
        std::string_view text;
        return value.get_string().get(text) == simdjson::SUCCESS;
    }
    case od::json_type::number: {
        double number = 0;
        return value.get_double().get(number) == simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
        bool flag = false;
        return value.get_bool().get(flag) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
        bool null = false;
        return value.is_null().get(null) == simdjson::SUCCESS && null;
    }
    }
    return false;
}

simdjson::simdjson_result<od::document> iterate_padded(od::parser& parser, std::string& buffer,
                                                       std::string_view text) {
    buffer.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    buffer.assign(text);
    return parser.iterate(buffer.data(), buffer.size(), buffer.capacity());
}

bool validate_object_document(od::document& doc, int max_depth) {
    od::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
        return false;
    }
    for (auto field_result : object) {
        od::field field;
        std::string_view key;
        if (std::move(field_result).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(key) != simdjson::SUCCESS ||
            !validate(field.value(), 1, max_depth)) {
            return false;
        }
    }
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS; // nothing trails the object
}

document_fault check_any_document(od::document& doc, int max_depth) {
    od::value value;
    if (doc.get_value().get(value) != simdjson::SUCCESS) {
        return document_fault::invalid;
    }
    bool too_deep = false;
    if (!validate(value, 0, max_depth, &too_deep)) {
        return too_deep ? document_fault::too_deep : document_fault::invalid;
    }
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS ? document_fault::none
                                                                     : document_fault::extra_data;
}

bool raw_of(od::value value, std::string_view& out) {
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) {
        return false;
    }
    if (type == od::json_type::object) {
        od::object object;
        return value.get_object().get(object) == simdjson::SUCCESS &&
               object.raw_json().get(out) == simdjson::SUCCESS;
    }
    if (type == od::json_type::array) {
        od::array array;
        return value.get_array().get(array) == simdjson::SUCCESS &&
               array.raw_json().get(out) == simdjson::SUCCESS;
    }
    out = value.raw_json_token();
    while (!out.empty() &&
           (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' || out.back() == '\t')) {
        out.remove_suffix(1);
    }
    return true;
}

bool is_null(od::value& value) {
    bool null = false;
    return value.is_null().get(null) == simdjson::SUCCESS && null;
}

bool is_optional_string(od::value& value) {
    if (is_null(value)) {
        return true;
    }
    std::string_view text;
    return value.get_string().get(text) == simdjson::SUCCESS;
}

bool read_snowflake(od::value value, snowflake& out) {
    od::json_type type{};
    if (value.type().get(type) != simdjson::SUCCESS) {
        return false;
    }
    if (type == od::json_type::number) {
        return value.get_uint64().get(out) == simdjson::SUCCESS && out != 0;
    }
    std::string_view text;
    if (type != od::json_type::string || value.get_string().get(text) != simdjson::SUCCESS ||
        text.empty()) {
        return false;
    }
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc{} && ptr == end && out != 0;
}

bool read_u32(od::value value, std::uint32_t& out) {
    std::uint64_t wide = 0;
    if (value.get_uint64().get(wide) != simdjson::SUCCESS || wide > UINT32_MAX) {
        return false;
    }
    out = static_cast<std::uint32_t>(wide);
    return true;
}

} // namespace shardgate::emulator::detail
