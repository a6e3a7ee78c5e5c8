#include "shardgate/observe/log.hpp"

#include "shardgate/gateway/detail/json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace shardgate::observe {

std::string_view to_string(log_level level) noexcept {
    switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::off: return "off";
    }
    return "info";
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
    for (const auto l :
         {log_level::debug, log_level::info, log_level::warn, log_level::error, log_level::off}) {
        if (text == to_string(l)) {
            return l;
        }
    }
    if (text == "warning") {
        return log_level::warn;
    }
    return std::nullopt;
}

std::optional<log_format> parse_log_format(std::string_view text) noexcept {
    if (text == "text") {
        return log_format::text;
    }
    if (text == "json") {
        return log_format::json;
    }
    return std::nullopt;
}

std::string format_utc_millis(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = time_point_cast<milliseconds>(t);
    const auto day = floor<days>(ms);
    const year_month_day ymd(day);
    const hh_mm_ss hms(ms - day);
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", // NOLINT(*-vararg)
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                  static_cast<int>(hms.subseconds().count()));
    return buf.data();
}

namespace {

constexpr std::string_view text_level(log_level level) noexcept {
    switch (level) {
    case log_level::debug: return "DEBUG";
    case log_level::info: return "INFO ";
    case log_level::warn: return "WARN ";
    case log_level::error: return "ERROR";
    case log_level::off: return "OFF  ";
    }
    return "INFO ";
}

template <class Number> void append_number(std::string& out, Number n) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n);
    out.append(buf.data(), r.ptr);
}

// A C1 control as UTF-8 (0xC2 0x80..0x9F): some terminals act on them (0x9B is CSI).
bool c1_control_at(std::string_view s, std::size_t i) {
    return static_cast<unsigned char>(s[i]) == 0xc2 && i + 1 < s.size() &&
           static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
           static_cast<unsigned char>(s[i + 1]) <= 0x9f;
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

// Text records go to terminals, and messages quote what the network sent (URLs, close reasons):
// every control is written as a visible escape so none reaches the terminal.
void append_escaped(std::string& out, std::string_view s) {
    constexpr std::string_view hex = "0123456789abcdef";
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (is_control(c)) {
            out += "\\x";
            out += hex[c >> 4U];
            out += hex[c & 0xfU];
        } else if (c1_control_at(s, i)) {
            const auto c1 = static_cast<unsigned char>(s[++i]);
            out += "\\u00";
            out += hex[c1 >> 4U];
            out += hex[c1 & 0xfU];
        } else {
            out += static_cast<char>(c);
        }
    }
}

bool needs_quotes(std::string_view v) {
    if (v.empty()) {
        return true;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        if (c == ' ' || c == '"' || c == '=' || c == '\\' ||
            is_control(static_cast<unsigned char>(c)) || c1_control_at(v, i)) {
            return true;
        }
    }
    return false;
}

void append_text_value(std::string& out, const log_field::value_type& value) {
    if (const auto* s = std::get_if<std::string_view>(&value)) {
        if (!needs_quotes(*s)) {
            out += *s;
            return;
        }
        // Quoted like a JSON string, so a reader can split fields unambiguously; DEL and C1
        // controls, which JSON leaves alone, are escaped too.
        std::string quoted;
        gateway::detail::json_writer(quoted).string_value(*s);
        append_escaped(out, quoted);
    } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
        append_number(out, *i);
    } else if (const auto* u = std::get_if<std::uint64_t>(&value)) {
        append_number(out, *u);
    } else if (const auto* d = std::get_if<double>(&value)) {
        append_number(out, *d);
    } else {
        out += std::get<bool>(value) ? "true" : "false";
    }
}

void append_json_value(gateway::detail::json_writer& w, const log_field::value_type& value) {
    if (const auto* s = std::get_if<std::string_view>(&value)) {
        w.string_value(*s);
    } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
        w.int_value(*i);
    } else if (const auto* u = std::get_if<std::uint64_t>(&value)) {
        w.uint_value(*u);
    } else if (const auto* d = std::get_if<double>(&value)) {
        if (!std::isfinite(*d)) {
            w.null_value(); // JSON has no NaN or infinity
            return;
        }
        std::string n;
        append_number(n, *d);
        w.raw_value(n);
    } else {
        w.bool_value(std::get<bool>(value));
    }
}

} // namespace

logger::logger(std::ostream& sink, log_level level, log_format format)
    : logger(
          [out = &sink](std::string_view line) {
              out->write(line.data(), static_cast<std::streamsize>(line.size()));
              out->flush();
          },
          level, format) {}

logger::logger(line_sink sink, log_level level, log_format format)
    : sink_(std::move(sink))
    , level_(level)
    , format_(format)
    , clock_([] { return std::chrono::system_clock::now(); }) {}

void logger::add_secret(gateway::secret secret) {
    const std::scoped_lock lock(mutex_);
    secrets_.push_back(std::move(secret));
}

void logger::set_clock(clock_function clock) {
    const std::scoped_lock lock(mutex_);
    clock_ = std::move(clock);
}

std::string logger::format_record(log_level level, std::string_view message,
                                  std::initializer_list<log_field> fields) const {
    std::string line;
    const auto ts = format_utc_millis(clock_());
    if (format_ == log_format::json) {
        gateway::detail::json_writer w(line);
        w.begin_object();
        w.key("ts").string_value(ts);
        w.key("level").string_value(to_string(level));
        w.key("msg").string_value(message);
        for (const auto& f : fields) {
            w.key(f.key);
            append_json_value(w, f.value);
        }
        w.end_object();
    } else {
        line += ts;
        line += ' ';
        line += text_level(level);
        line += ' ';
        append_escaped(line, message);
        for (const auto& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            append_text_value(line, f.value);
        }
    }
    line += '\n';
    return redacted(std::move(line));
}

std::string logger::redacted(std::string line) const {
    for (const auto& s : secrets_) {
        line = s.redact(std::move(line));
    }
    return line;
}

void logger::log(log_level level, std::string_view message,
                 std::initializer_list<log_field> fields) {
    if (!enabled(level)) {
        return;
    }
    const std::scoped_lock lock(mutex_);
    sink_(format_record(level, message, fields));
}

} // namespace shardgate::observe
