#include "event_output.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "shardgate/gateway/detail/printable.hpp"
#include "shardgate/gateway/dispatch_events.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ostream>

namespace shardgate::cli {
namespace {

namespace gw = shardgate::gateway;

void append_uint(std::string& out, std::uint64_t value) {
    std::array<char, 24> digits{};
    const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
    out.append(digits.data(), result.ptr);
}

/// A quoted JSON string; the common case (event names are `[A-Z_]`) is copied without escaping.
void append_string(std::string& out, std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20U && u < 0x80U && c != '"' && c != '\\';
    });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
        return;
    }
    gw::detail::json_writer w(out);
    w.string_value(text);
}

} // namespace

void append_dispatch_line(std::string& out, std::uint32_t shard, std::uint64_t seq,
                          std::string_view name, std::string_view data) {
    out += R"({"type":"dispatch","shard":)";
    append_uint(out, shard);
    out += R"(,"seq":)";
    append_uint(out, seq);
    out += R"(,"t":)";
    append_string(out, name);
    out += R"(,"d":)";
    if (data.empty()) {
        out += "null";
    } else {
        const auto start = out.size();
        out += data;
        // Discord sends compact JSON; a pretty-printing server would break the one-line framing.
        // Two memchr passes (vectorised): find_first_of tests every byte against the set one
        // call at a time, which cost more than the rest of a jsonl line (perf: 5 us per 1 KB).
        if (std::memchr(data.data(), '\n', data.size()) != nullptr ||
            std::memchr(data.data(), '\r', data.size()) != nullptr) {
            std::replace_if(
                out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
                [](char c) { return c == '\n' || c == '\r'; }, ' ');
        }
    }
    out += "}\n";
}

bool is_contract_event(gw::lifecycle_kind kind) noexcept {
    return kind != gw::lifecycle_kind::protocol_error;
}

bool append_lifecycle_line(std::string& out, const gw::lifecycle_event& event, std::int64_t ms) {
    if (!is_contract_event(event.kind)) {
        return false;
    }
    std::string line;
    gw::detail::json_writer w(line);
    w.begin_object();
    w.key("type").string_value("lifecycle");
    w.key("shard").uint_value(event.shard);
    w.key("event").string_value(gw::to_string(event.kind));
    switch (event.kind) {
    case gw::lifecycle_kind::connecting: w.key("url").string_value(event.url); break;
    case gw::lifecycle_kind::hello:
        w.key("heartbeat_interval").int_value(event.heartbeat_interval.count());
        break;
    case gw::lifecycle_kind::invalid_session: w.key("resumable").bool_value(event.resumable); break;
    case gw::lifecycle_kind::closed:
        w.key("code").uint_value(event.code);
        w.key("action").string_value(gw::to_string(event.reaction));
        w.key("by").string_value(gw::to_string(event.by));
        w.key("cause").string_value(gw::to_string(event.cause));
        if (event.by == gw::closed_by::transport && event.stage != gw::transport_stage::unknown) {
            w.key("stage").string_value(gw::to_string(event.stage));
        }
        if (event.error) {
            w.key("error").string_value(event.error.message());
        }
        if (!event.detail.empty()) {
            w.key("detail").string_value(event.detail);
        }
        break;
    case gw::lifecycle_kind::fatal: {
        // The shard fills name and remedy; the policy table is the fallback so the line always
        // says what to do.
        const auto policy = gw::policy_for(event.code);
        w.key("code").uint_value(event.code);
        w.key("name").string_value(event.name.empty() ? policy.name : event.name);
        w.key("remedy").string_value(event.remedy.empty() ? policy.remedy : event.remedy);
        break;
    }
    default: break;
    }
    w.key("ms").int_value(ms);
    w.end_object();
    if (!w.valid()) {
        // Only a URL with invalid UTF-8 can get here; keep the line valid JSON.
        line.clear();
        gw::detail::json_writer fallback(line);
        fallback.begin_object();
        fallback.key("type").string_value("lifecycle");
        fallback.key("shard").uint_value(event.shard);
        fallback.key("event").string_value(gw::to_string(event.kind));
        fallback.key("ms").int_value(ms);
        fallback.end_object();
    }
    out += line;
    out += '\n';
    return true;
}

std::string protocol_error_line(const gw::lifecycle_event& event) {
    std::string line = "shard " + std::to_string(event.shard) + ": protocol error: ";
    line += event.error ? event.error.message() : std::string("unknown");
    if (!event.detail.empty()) {
        // One line on stderr, whatever bytes the gateway sent.
        line += " (" + gw::detail::printable(event.detail, event.detail.size()) + ')';
    }
    return line;
}

std::string fatal_line(const gw::lifecycle_event& event) {
    const auto policy = gw::policy_for(event.code);
    const auto name = event.name.empty() ? policy.name : event.name;
    const auto remedy = event.remedy.empty() ? policy.remedy : event.remedy;
    std::string line = "shard " + std::to_string(event.shard) + " stopped: close " +
                       std::to_string(event.code) + " (" + std::string(name) +
                       "): " + std::string(remedy);
    line += " (see: shardgate explain " + std::to_string(event.code) + ")";
    return line;
}

void event_counts::count_dispatch(std::string_view name, std::int64_t ms) {
    if (dispatches == 0) {
        first_ms = ms;
    }
    ++dispatches;
    last_ms = ms;
    if (const auto it = by_event.find(name); it != by_event.end()) {
        ++it->second;
    } else if (const bool documented = gw::find_dispatch_event(name).has_value();
               documented || undocumented_names < max_undocumented_names) {
        if (!documented) {
            ++undocumented_names;
        }
        by_event.emplace(std::string(name), 1);
    } else {
        ++by_event["other"];
    }
}

void event_counts::count_lifecycle(gw::lifecycle_kind kind) noexcept {
    const auto i = static_cast<std::size_t>(kind);
    if (i < lifecycle.size()) {
        ++lifecycle.at(i);
    }
}

std::uint64_t event_counts::lifecycle_count(gw::lifecycle_kind kind) const noexcept {
    const auto i = static_cast<std::size_t>(kind);
    return i < lifecycle.size() ? lifecycle.at(i) : 0;
}

void append_count_summary(std::string& out, const event_counts& counts, std::int64_t elapsed_ms,
                          std::size_t shards) {
    std::string line;
    gw::detail::json_writer w(line);
    w.begin_object();
    w.key("type").string_value("summary");
    w.key("dispatches").uint_value(counts.dispatches);
    w.key("first_ms").int_value(counts.first_ms);
    w.key("last_ms").int_value(counts.last_ms);
    w.key("elapsed_ms").int_value(elapsed_ms);
    w.key("shards").uint_value(shards);
    w.key("identifies").uint_value(counts.lifecycle_count(gw::lifecycle_kind::identifying));
    w.key("resumes").uint_value(counts.lifecycle_count(gw::lifecycle_kind::resumed));
    w.key("by_event").begin_object();
    for (const auto& [name, n] : counts.by_event) {
        w.key(name).uint_value(n);
    }
    w.end_object();
    w.key("lifecycle").begin_object();
    for (std::size_t i = 0; i < counts.lifecycle.size(); ++i) {
        if (counts.lifecycle.at(i) != 0) {
            w.key(gw::to_string(static_cast<gw::lifecycle_kind>(i)))
                .uint_value(counts.lifecycle.at(i));
        }
    }
    w.end_object();
    w.end_object();
    out += line;
    out += '\n';
}

buffered_writer::buffered_writer(std::ostream& out)
    : out_(&out) {
    buffer_.reserve(capacity + (capacity / 4));
}

buffered_writer::~buffered_writer() {
    flush();
}

void buffered_writer::flush() {
    if (buffer_.empty()) {
        return;
    }
    out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    out_->flush();
    buffer_.clear();
    if (buffer_.capacity() > 4 * capacity) {
        // One huge READY must not pin megabytes for the rest of the run.
        buffer_.shrink_to_fit();
        buffer_.reserve(capacity + (capacity / 4));
    }
}

} // namespace shardgate::cli
