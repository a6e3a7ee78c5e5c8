#include "shardgate/gateway/payload.hpp"

#include "shardgate/gateway/error.hpp"

namespace shardgate::gateway {
namespace {

// A value's raw JSON text: objects and arrays whole, scalars as their token. The token of a scalar
// may carry trailing whitespace, which is trimmed so `d` compares cleanly.
simdjson::error_code raw_value(simdjson::ondemand::value value, std::string_view& out) {
    simdjson::ondemand::json_type type{};
    if (auto ec = value.type().get(type)) {
        return ec;
    }
    switch (type) {
    case simdjson::ondemand::json_type::object: {
        simdjson::ondemand::object object;
        if (auto ec = value.get_object().get(object)) {
            return ec;
        }
        return object.raw_json().get(out);
    }
    case simdjson::ondemand::json_type::array: {
        simdjson::ondemand::array array;
        if (auto ec = value.get_array().get(array)) {
            return ec;
        }
        return array.raw_json().get(out);
    }
    default: {
        out = value.raw_json_token();
        while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' ||
                                out.back() == '\t')) {
            out.remove_suffix(1);
        }
        return simdjson::SUCCESS;
    }
    }
}

// One key of the envelope into `out`. Other keys are skipped: the docs allow undocumented fields.
std::error_code read_envelope_field(std::string_view key, simdjson::ondemand::value value,
                                    received_payload& out, bool& have_op) {
    if (key == "op") {
        if (value.get_int64().get(out.op) != simdjson::SUCCESS) {
            return error::unexpected_field_type;
        }
        have_op = true;
        return {};
    }
    if (key == "s" || key == "t") {
        bool is_null = false;
        if (value.is_null().get(is_null) != simdjson::SUCCESS) {
            return error::malformed_json;
        }
        if (is_null) {
            return {};
        }
        if (key == "t") {
            return value.get_string().get(out.t) == simdjson::SUCCESS
                       ? std::error_code{}
                       : make_error_code(error::unexpected_field_type);
        }
        std::uint64_t s = 0;
        if (value.get_uint64().get(s) != simdjson::SUCCESS) {
            return error::unexpected_field_type;
        }
        out.s = s;
        return {};
    }
    if (key == "d" && raw_value(value, out.d) != simdjson::SUCCESS) {
        return error::malformed_json;
    }
    return {};
}

} // namespace

std::string_view payload_decoder::pad(std::string_view text, std::string& buffer) {
    buffer.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    buffer.assign(text);
    return buffer;
}

std::error_code payload_decoder::decode(std::string_view text, bool padded, received_payload& out) {
    out = received_payload{};
    if (!padded) {
        text = pad(text, scratch_);
    }
    const std::size_t capacity =
        padded ? text.size() + simdjson::SIMDJSON_PADDING : scratch_.capacity();
    simdjson::ondemand::document doc;
    if (parser_.iterate(text.data(), text.size(), capacity).get(doc) != simdjson::SUCCESS) {
        return error::malformed_json;
    }
    simdjson::ondemand::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
        return error::malformed_json;
    }
    bool have_op = false;
    // One pass in document order: Discord does not promise the order of the four keys.
    for (auto field_result : object) {
        simdjson::ondemand::field field;
        if (std::move(field_result).get(field) != simdjson::SUCCESS) {
            return error::malformed_json;
        }
        std::string_view key;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
            return error::malformed_json;
        }
        if (auto ec = read_envelope_field(key, field.value(), out, have_op)) {
            return ec;
        }
    }
    // simdjson validates lazily; make sure nothing trails the object.
    if (!have_op || doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
        return error::malformed_json;
    }
    return {};
}

std::error_code payload_decoder::read_hello(std::string_view d, milliseconds& interval) {
    const auto padded = pad(d, body_scratch_);
    simdjson::ondemand::document doc;
    std::int64_t value = 0;
    if (body_parser_.iterate(padded.data(), padded.size(), body_scratch_.capacity()).get(doc) !=
            simdjson::SUCCESS ||
        doc["heartbeat_interval"].get_int64().get(value) != simdjson::SUCCESS || value <= 0 ||
        value > max_heartbeat_interval.count()) {
        // Past a day it is not an interval but a lie, and the deadline arithmetic on `now`
        // (nanoseconds) would overflow near 292 years.
        return error::bad_hello;
    }
    interval = milliseconds{value};
    return {};
}

std::error_code payload_decoder::read_ready(std::string_view d, ready_info& out) {
    const auto padded = pad(d, body_scratch_);
    simdjson::ondemand::document doc;
    if (body_parser_.iterate(padded.data(), padded.size(), body_scratch_.capacity()).get(doc) !=
        simdjson::SUCCESS) {
        return error::bad_ready;
    }
    simdjson::ondemand::object object;
    if (doc.get_object().get(object) != simdjson::SUCCESS) {
        return error::bad_ready;
    }
    out = ready_info{};
    // READY can hold thousands of guilds; a single pass reads the two keys wherever they are.
    for (auto field_result : object) {
        simdjson::ondemand::field field;
        std::string_view key;
        if (std::move(field_result).get(field) != simdjson::SUCCESS ||
            field.unescaped_key().get(key) != simdjson::SUCCESS) {
            return error::bad_ready;
        }
        std::string_view text;
        if (key == "session_id") {
            if (field.value().get_string().get(text) != simdjson::SUCCESS) {
                return error::bad_ready;
            }
            out.session_id = text;
        } else if (key == "resume_gateway_url") {
            if (field.value().get_string().get(text) != simdjson::SUCCESS) {
                return error::bad_ready;
            }
            out.resume_gateway_url = text;
        }
    }
    if (out.session_id.empty() || out.resume_gateway_url.empty()) {
        return error::bad_ready;
    }
    return {};
}

void payload_decoder::release_buffers() noexcept {
    parser_ = simdjson::ondemand::parser{};
    body_parser_ = simdjson::ondemand::parser{};
    std::string().swap(scratch_);
    std::string().swap(body_scratch_);
}

bool payload_decoder::read_invalid_session(std::string_view d) noexcept {
    return d == "true";
}

} // namespace shardgate::gateway
