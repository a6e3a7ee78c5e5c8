// Lazy access to `d`: simdjson On-Demand over a padded, thread-local copy, stopping at the member.
#include "shardgate/gateway/field.hpp"

#include <simdjson.h>
#include <string>

namespace shardgate::gateway {
namespace {

/// The padded copy and parser of `field`, one per thread, reused.
struct field_parser {
    simdjson::ondemand::parser parser;
    std::string buffer;
};

field_parser& thread_field_parser() {
    thread_local field_parser p;
    return p;
}

/// Finds `key` and returns its value's text inside the padded copy (trailing spaces trimmed).
std::optional<std::string_view> find_member(std::string_view raw_json, std::string_view key,
                                            bool want_string, std::string* unescaped) {
    auto& p = thread_field_parser();
    p.buffer.assign(raw_json);
    p.buffer.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::ondemand::document doc;
    if (p.parser.iterate(p.buffer.data(), raw_json.size(), p.buffer.size()).get(doc)) {
        return std::nullopt;
    }
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) {
        return std::nullopt;
    }
    for (auto member : obj) {
        std::string_view k;
        if (member.unescaped_key().get(k)) {
            return std::nullopt;
        }
        if (k != key) {
            continue;
        }
        simdjson::ondemand::value v;
        if (member.value().get(v)) {
            return std::nullopt;
        }
        simdjson::ondemand::json_type type;
        if (v.type().get(type)) {
            return std::nullopt;
        }
        if (want_string) {
            std::string_view s;
            if (type != simdjson::ondemand::json_type::string || v.get_string().get(s)) {
                return std::nullopt;
            }
            unescaped->assign(s);
            return s;
        }
        std::string_view text;
        simdjson::error_code err = simdjson::SUCCESS;
        if (type == simdjson::ondemand::json_type::object) {
            simdjson::ondemand::object o;
            err = v.get_object().get(o);
            if (!err) {
                err = o.raw_json().get(text);
            }
        } else if (type == simdjson::ondemand::json_type::array) {
            simdjson::ondemand::array a;
            err = v.get_array().get(a);
            if (!err) {
                err = a.raw_json().get(text);
            }
        } else {
            text = v.raw_json_token();
        }
        if (err) {
            return std::nullopt;
        }
        while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                                 text.back() == '\t')) {
            text.remove_suffix(1);
        }
        // Point back into the caller's text, not the reused buffer.
        const auto offset = static_cast<std::size_t>(text.data() - p.buffer.data());
        return raw_json.substr(offset, text.size());
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string_view> field(std::string_view raw_json, std::string_view key) {
    return find_member(raw_json, key, false, nullptr);
}

std::optional<std::string> string_field(std::string_view raw_json, std::string_view key) {
    std::string out;
    if (!find_member(raw_json, key, true, &out)) {
        return std::nullopt;
    }
    return out;
}

} // namespace shardgate::gateway
