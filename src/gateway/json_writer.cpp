#include "shardgate/gateway/detail/json_writer.hpp"

#include <array>
#include <charconv>
#include <simdjson.h>

namespace shardgate::gateway::detail {
namespace {

template <class Int> void append_integer(std::string& out, Int value) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    static_cast<void>(ec); // 24 chars hold any 64-bit integer
    out.append(buf.data(), end);
}

} // namespace

void json_writer::begin_value_() {
    if (need_comma_) {
        out_->push_back(',');
    }
    need_comma_ = true;
}

json_writer& json_writer::begin_object() {
    begin_value_();
    out_->push_back('{');
    need_comma_ = false;
    return *this;
}

json_writer& json_writer::end_object() {
    out_->push_back('}');
    need_comma_ = true;
    return *this;
}

json_writer& json_writer::begin_array() {
    begin_value_();
    out_->push_back('[');
    need_comma_ = false;
    return *this;
}

json_writer& json_writer::end_array() {
    out_->push_back(']');
    need_comma_ = true;
    return *this;
}

json_writer& json_writer::key(std::string_view name) {
    begin_value_();
    append_escaped_(name);
    out_->push_back(':');
    need_comma_ = false; // the value that follows belongs to this key
    return *this;
}

json_writer& json_writer::string_value(std::string_view text) {
    begin_value_();
    append_escaped_(text);
    return *this;
}

json_writer& json_writer::uint_value(std::uint64_t value) {
    begin_value_();
    append_integer(*out_, value);
    return *this;
}

json_writer& json_writer::int_value(std::int64_t value) {
    begin_value_();
    append_integer(*out_, value);
    return *this;
}

json_writer& json_writer::bool_value(bool value) {
    begin_value_();
    out_->append(value ? "true" : "false");
    return *this;
}

json_writer& json_writer::null_value() {
    begin_value_();
    out_->append("null");
    return *this;
}

json_writer& json_writer::raw_value(std::string_view json) {
    begin_value_();
    out_->append(json);
    return *this;
}

void json_writer::append_escaped_(std::string_view text) {
    static constexpr std::string_view hex = "0123456789abcdef";
    out_->push_back('"');
    std::size_t run = 0;         // start of the pending run of bytes that need no escaping
    unsigned char seen_bits = 0; // OR of every byte: ASCII-only text needs no UTF-8 check
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        seen_bits |= c;
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        out_->append(text.substr(run, i - run));
        run = i + 1;
        if (c == '"' || c == '\\') {
            out_->push_back('\\');
            out_->push_back(static_cast<char>(c));
        } else {
            out_->append("\\u00");
            out_->push_back(hex[c >> 4U]);
            out_->push_back(hex[c & 0xFU]);
        }
    }
    out_->append(text.substr(run));
    out_->push_back('"');
    if ((seen_bits & 0x80U) != 0 && !simdjson::validate_utf8(text.data(), text.size())) {
        valid_ = false;
    }
}

} // namespace shardgate::gateway::detail
