#pragma once
/// @file
/// Levelled logging for the command line: one line per record, human-readable by default or one
/// JSON object per line (`--log-format json`). Registered secrets (the bot token) are replaced by
/// `***` in every line, whatever field they hide in.

#include "shardgate/gateway/secret.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace shardgate::observe {

enum class log_level : std::uint8_t { debug, info, warn, error, off };
enum class log_format : std::uint8_t { text, json };

/// "debug", "info", "warn", "error", "off".
[[nodiscard]] std::string_view to_string(log_level level) noexcept;
[[nodiscard]] std::optional<log_level> parse_log_level(std::string_view text) noexcept;
/// "text" or "json".
[[nodiscard]] std::optional<log_format> parse_log_format(std::string_view text) noexcept;

/// A key and its value in a record.
struct log_field {
    using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;
    std::string_view key;
    value_type value;

    log_field(std::string_view k, std::string_view v)
        : key(k)
        , value(v) {}
    log_field(std::string_view k, const std::string& v)
        : key(k)
        , value(std::string_view(v)) {}
    log_field(std::string_view k, const char* v)
        : key(k)
        , value(std::string_view(v)) {}
    log_field(std::string_view k, bool v)
        : key(k)
        , value(v) {}
    log_field(std::string_view k, double v)
        : key(k)
        , value(v) {}
    template <class Int>
    requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool>)
        log_field(std::string_view k, Int v)
        : key(k) {
        if constexpr (std::is_signed_v<Int>) {
            value = static_cast<std::int64_t>(v);
        } else {
            value = static_cast<std::uint64_t>(v);
        }
    }
};

/// Writes records at or above a level to a stream.
///
/// Text: `2026-11-28T23:59:01.123Z INFO  shard 3 resumed key=value other="two words"`.
/// JSON: `{"ts":"2026-11-28T23:59:01.123Z","level":"info","msg":"shard 3 resumed","key":"value"}`.
///
/// @par Thread Safety
/// `log` and the level helpers may be called from any thread; each record is written whole.
class logger {
public:
    using clock_function = std::function<std::chrono::system_clock::time_point()>;
    /// Receives each record whole, newline included, under the logger's lock.
    using line_sink = std::function<void(std::string_view line)>;

    /// Writes records to `sink` (flushed after each).
    explicit logger(std::ostream& sink, log_level level = log_level::info,
                    log_format format = log_format::text);
    /// Hands records to `sink` (e.g. to print them above a live status).
    explicit logger(line_sink sink, log_level level = log_level::info,
                    log_format format = log_format::text);

    /// Every later record has `secret` replaced by `***` (`gateway::secret::redact`: secrets under
    /// 4 characters are ignored, they cannot be told apart from ordinary text).
    void add_secret(gateway::secret secret);
    void add_secret(std::string secret) { add_secret(gateway::secret(std::move(secret))); }
    /// For tests: a fixed clock.
    void set_clock(clock_function clock);

    [[nodiscard]] bool enabled(log_level level) const noexcept {
        return level >= level_ && level != log_level::off;
    }
    [[nodiscard]] log_format format() const noexcept { return format_; }

    void log(log_level level, std::string_view message,
             std::initializer_list<log_field> fields = {});
    void debug(std::string_view m, std::initializer_list<log_field> f = {}) {
        log(log_level::debug, m, f);
    }
    void info(std::string_view m, std::initializer_list<log_field> f = {}) {
        log(log_level::info, m, f);
    }
    void warn(std::string_view m, std::initializer_list<log_field> f = {}) {
        log(log_level::warn, m, f);
    }
    void error(std::string_view m, std::initializer_list<log_field> f = {}) {
        log(log_level::error, m, f);
    }

    /// One formatted record, without writing it (what `log` writes, newline included).
    [[nodiscard]] std::string format_record(log_level level, std::string_view message,
                                            std::initializer_list<log_field> fields) const;

private:
    [[nodiscard]] std::string redacted(std::string line) const;

    line_sink sink_;
    log_level level_;
    log_format format_;
    std::vector<gateway::secret> secrets_;
    clock_function clock_;
    mutable std::mutex mutex_;
};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
[[nodiscard]] std::string format_utc_millis(std::chrono::system_clock::time_point t);

} // namespace shardgate::observe
