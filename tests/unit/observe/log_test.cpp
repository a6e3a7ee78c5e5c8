#include "shardgate/observe/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace obs = shardgate::observe;
namespace json = boost::json;
using namespace std::chrono;
using obs::log_format;
using obs::log_level;

namespace {

// 2026-11-28T23:59:01.123Z
system_clock::time_point fixed_time() {
    return sys_days{year{2026} / November / 28} + 23h + 59min + 1s + 123ms;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    EXPECT_EQ(start, text.size()) << "every record ends in a newline";
    return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// --- Parsing and formatting helpers ---------------------------------------------------------

TEST(log_level, names_round_trip) {
    for (const auto l :
         {log_level::debug, log_level::info, log_level::warn, log_level::error, log_level::off}) {
        EXPECT_EQ(obs::parse_log_level(obs::to_string(l)), l) << obs::to_string(l);
    }
    EXPECT_EQ(obs::to_string(log_level::warn), "warn");
}

TEST(log_level, warning_is_warn_and_bad_input_is_nullopt) {
    EXPECT_EQ(obs::parse_log_level("warning"), log_level::warn);
    EXPECT_EQ(obs::parse_log_level(""), std::nullopt);
    EXPECT_EQ(obs::parse_log_level("verbose"), std::nullopt);
    EXPECT_EQ(obs::parse_log_level("INFO"), std::nullopt);
    EXPECT_EQ(obs::parse_log_level("info "), std::nullopt);
}

TEST(log_format, text_json_and_bad_input) {
    EXPECT_EQ(obs::parse_log_format("text"), log_format::text);
    EXPECT_EQ(obs::parse_log_format("json"), log_format::json);
    EXPECT_EQ(obs::parse_log_format("jsonl"), std::nullopt);
    EXPECT_EQ(obs::parse_log_format(""), std::nullopt);
    EXPECT_EQ(obs::parse_log_format("JSON"), std::nullopt);
}

TEST(format_utc_millis, known_instants) {
    EXPECT_EQ(obs::format_utc_millis(fixed_time()), "2026-11-28T23:59:01.123Z");
    EXPECT_EQ(obs::format_utc_millis(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(obs::format_utc_millis(sys_days{year{2024} / February / 29} + 7h + 5min + 9s + 7ms),
              "2024-02-29T07:05:09.007Z");
}

TEST(format_utc_millis, truncates_below_a_millisecond) {
    EXPECT_EQ(obs::format_utc_millis(fixed_time() + 999us), "2026-11-28T23:59:01.123Z");
}

// --- Text format -------------------------------------------------------------------------------

TEST(logger, text_record_is_timestamp_level_message_and_fields) {
    std::ostringstream out;
    obs::logger log(out);
    log.set_clock(fixed_time);
    log.info("shard 3 resumed", {{"key", "value"}, {"key2", "two words"}});
    EXPECT_EQ(out.str(), "2026-11-28T23:59:01.123Z INFO  shard 3 resumed key=value "
                         "key2=\"two words\"\n");
}

TEST(logger, text_levels_are_padded_to_five) {
    std::ostringstream out;
    obs::logger log(out, log_level::debug);
    log.set_clock(fixed_time);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    EXPECT_EQ(out.str(), "2026-11-28T23:59:01.123Z DEBUG d\n"
                         "2026-11-28T23:59:01.123Z INFO  i\n"
                         "2026-11-28T23:59:01.123Z WARN  w\n"
                         "2026-11-28T23:59:01.123Z ERROR e\n");
}

TEST(logger, text_field_values_of_every_type) {
    std::ostringstream out;
    obs::logger log(out);
    log.set_clock(fixed_time);
    const std::string owned = "owned";
    log.info("m", {{"i", -7},
                   {"u", std::uint64_t{18446744073709551615ULL}},
                   {"d", 0.25},
                   {"t", true},
                   {"f", false},
                   {"s", owned},
                   {"empty", ""},
                   {"q", "say \"hi\""},
                   {"eq", "a=b"},
                   {"nl", "a\nb"}});
    EXPECT_EQ(out.str(), "2026-11-28T23:59:01.123Z INFO  m i=-7 u=18446744073709551615 d=0.25 "
                         "t=true f=false s=owned empty=\"\" q=\"say \\\"hi\\\"\" eq=\"a=b\" "
                         "nl=\"a\\u000ab\"\n"); // quoted as a JSON string: one physical line
}

TEST(logger, format_record_returns_the_line_without_writing_it) {
    std::ostringstream out;
    obs::logger log(out);
    log.set_clock(fixed_time);
    EXPECT_EQ(log.format_record(log_level::warn, "careful", {{"n", 1}}),
              "2026-11-28T23:59:01.123Z WARN  careful n=1\n");
    EXPECT_TRUE(out.str().empty());
}

// --- Levels ------------------------------------------------------------------------------------

TEST(logger, records_below_the_level_are_not_written) {
    std::ostringstream out;
    obs::logger log(out, log_level::warn);
    log.set_clock(fixed_time);
    EXPECT_FALSE(log.enabled(log_level::debug));
    EXPECT_FALSE(log.enabled(log_level::info));
    EXPECT_TRUE(log.enabled(log_level::warn));
    EXPECT_TRUE(log.enabled(log_level::error));
    log.debug("no-debug");
    log.info("no-info");
    log.warn("yes-warn");
    log.error("yes-error");
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2U) << out.str();
    EXPECT_TRUE(contains(lines[0], "yes-warn"));
    EXPECT_TRUE(contains(lines[1], "yes-error"));
}

TEST(logger, info_is_the_default_level_and_text_the_default_format) {
    std::ostringstream out;
    obs::logger log(out);
    EXPECT_EQ(log.format(), log_format::text);
    log.debug("hidden");
    log.info("shown");
    EXPECT_FALSE(contains(out.str(), "hidden"));
    EXPECT_TRUE(contains(out.str(), "shown"));
}

TEST(logger, off_writes_nothing) {
    std::ostringstream out;
    obs::logger log(out, log_level::off);
    for (const auto l :
         {log_level::debug, log_level::info, log_level::warn, log_level::error, log_level::off}) {
        EXPECT_FALSE(log.enabled(l)) << obs::to_string(l);
        log.log(l, "anything");
    }
    log.error("error");
    EXPECT_TRUE(out.str().empty()) << out.str();
}

TEST(logger, a_record_at_level_off_is_never_written) {
    std::ostringstream out;
    obs::logger log(out, log_level::debug);
    log.log(log_level::off, "not a level to write at");
    EXPECT_TRUE(out.str().empty()) << out.str();
}

// --- JSON format ---------------------------------------------------------------------------------

TEST(logger, json_record_is_one_object_per_line_with_typed_fields) {
    std::ostringstream out;
    obs::logger log(out, log_level::info, log_format::json);
    EXPECT_EQ(log.format(), log_format::json);
    log.set_clock(fixed_time);
    log.info("shard 3 resumed",
             {{"shard", 3U}, {"delta", -2}, {"ratio", 0.5}, {"ok", true}, {"event", "RESUMED"}});
    log.warn("second \"quoted\"\nline");
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2U) << out.str();

    const auto first = json::parse(lines[0]);
    ASSERT_TRUE(first.is_object()) << lines[0];
    const auto& o = first.as_object();
    EXPECT_EQ(o.at("ts").as_string(), "2026-11-28T23:59:01.123Z");
    EXPECT_EQ(o.at("level").as_string(), "info");
    EXPECT_EQ(o.at("msg").as_string(), "shard 3 resumed");
    ASSERT_TRUE(o.at("shard").is_number());
    EXPECT_EQ(o.at("shard").to_number<std::uint64_t>(), 3U);
    ASSERT_TRUE(o.at("delta").is_int64());
    EXPECT_EQ(o.at("delta").as_int64(), -2);
    ASSERT_TRUE(o.at("ratio").is_double());
    EXPECT_EQ(o.at("ratio").as_double(), 0.5);
    ASSERT_TRUE(o.at("ok").is_bool());
    EXPECT_TRUE(o.at("ok").as_bool());
    ASSERT_TRUE(o.at("event").is_string());
    EXPECT_EQ(o.at("event").as_string(), "RESUMED");
    EXPECT_EQ(o.size(), 8U);
    // Key order is part of the format: ts, level, msg first.
    EXPECT_TRUE(lines[0].starts_with(R"({"ts":"2026-11-28T23:59:01.123Z","level":"info","msg":)"))
        << lines[0];

    const auto second = json::parse(lines[1]);
    EXPECT_EQ(second.at("level").as_string(), "warn");
    EXPECT_EQ(second.at("msg").as_string(), "second \"quoted\"\nline");
}

TEST(logger, json_large_unsigned_values_stay_exact) {
    std::ostringstream out;
    obs::logger log(out, log_level::info, log_format::json);
    log.info("m", {{"big", std::uint64_t{18446744073709551615ULL}}});
    const auto v = json::parse(lines_of(out.str()).at(0));
    ASSERT_TRUE(v.at("big").is_uint64());
    EXPECT_EQ(v.at("big").as_uint64(), 18446744073709551615ULL);
}

// --- Secrets ---------------------------------------------------------------------------------

constexpr std::string_view token = "MTIzNDU2Nzg5.Gx-token.SECRET";

TEST(logger, secrets_are_redacted_in_text_message_and_fields) {
    std::ostringstream out;
    obs::logger log(out);
    log.add_secret(std::string(token));
    const std::string message =
        "token is " + std::string(token) + " and again " + std::string(token);
    const std::string field = "Bot " + std::string(token);
    log.info(message, {{"auth", field}, {"plain", token}});
    const auto text = out.str();
    EXPECT_FALSE(contains(text, token)) << text;
    EXPECT_TRUE(contains(text, "token is *** and again ***")) << text;
    EXPECT_TRUE(contains(text, "auth=\"Bot ***\"")) << text;
    EXPECT_TRUE(contains(text, "plain=***")) << text;
}

TEST(logger, secrets_are_redacted_in_json_message_and_fields) {
    std::ostringstream out;
    obs::logger log(out, log_level::info, log_format::json);
    log.add_secret(std::string(token));
    const std::string message = "token is " + std::string(token);
    const std::string field = "Bot " + std::string(token);
    log.info(message, {{"auth", field}});
    const auto text = out.str();
    EXPECT_FALSE(contains(text, token)) << text;
    const auto v = json::parse(lines_of(text).at(0));
    EXPECT_EQ(v.at("msg").as_string(), "token is ***");
    EXPECT_EQ(v.at("auth").as_string(), "Bot ***");
}

TEST(logger, several_secrets_are_all_redacted) {
    std::ostringstream out;
    obs::logger log(out);
    log.add_secret("first-secret");
    log.add_secret("second-secret");
    log.info("first-secret second-secret");
    EXPECT_FALSE(contains(out.str(), "secret")) << out.str();
    EXPECT_TRUE(contains(out.str(), "*** ***")) << out.str();
}

TEST(logger, secrets_shorter_than_four_characters_are_ignored) {
    std::ostringstream out;
    obs::logger log(out);
    log.set_clock(fixed_time);
    log.add_secret("");
    log.add_secret("a");
    log.add_secret("abc");
    log.info("abc is not a secret", {{"k", "abc"}});
    EXPECT_EQ(out.str(), "2026-11-28T23:59:01.123Z INFO  abc is not a secret k=abc\n");
    log.add_secret("abcd"); // four characters: redacted
    log.info("abcd");
    EXPECT_EQ(lines_of(out.str()).at(1), "2026-11-28T23:59:01.123Z INFO  ***");
}

TEST(logger, format_record_redacts_too) {
    std::ostringstream out;
    obs::logger log(out);
    log.add_secret(std::string(token));
    const auto line = log.format_record(log_level::info, std::string(token), {});
    EXPECT_FALSE(contains(line, token)) << line;
    EXPECT_TRUE(contains(line, "***")) << line;
}

// --- Sinks and threads -----------------------------------------------------------------------

TEST(logger, line_sink_receives_each_record_whole_with_its_newline) {
    std::vector<std::string> received;
    obs::logger log([&](std::string_view line) { received.emplace_back(line); }, log_level::debug,
                    log_format::text);
    log.set_clock(fixed_time);
    log.debug("one");
    log.error("two", {{"n", 2}});
    ASSERT_EQ(received.size(), 2U);
    EXPECT_EQ(received[0], "2026-11-28T23:59:01.123Z DEBUG one\n");
    EXPECT_EQ(received[1], "2026-11-28T23:59:01.123Z ERROR two n=2\n");
}

TEST(logger, set_clock_is_read_for_every_record) {
    std::vector<std::string> received;
    obs::logger log([&](std::string_view line) { received.emplace_back(line); });
    auto t = fixed_time();
    log.set_clock([&t] { return t; });
    log.info("a");
    t += 1s;
    log.info("b");
    ASSERT_EQ(received.size(), 2U);
    EXPECT_TRUE(received[0].starts_with("2026-11-28T23:59:01.123Z ")) << received[0];
    EXPECT_TRUE(received[1].starts_with("2026-11-28T23:59:02.123Z ")) << received[1];
}

TEST(logger, records_from_four_threads_are_never_interleaved) {
    // The sink appends one character at a time, so two records written at once would mix.
    std::string all;
    obs::logger log(
        [&all](std::string_view line) {
            for (const char c : line) {
                all.push_back(c);
                if (c == ' ') {
                    std::this_thread::yield();
                }
            }
        },
        log_level::info, log_format::json);
    log.set_clock(fixed_time);
    constexpr int threads = 4;
    constexpr int per_thread = 500;
    const std::string filler(64, 'x');
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&log, &filler, t] {
            for (int i = 0; i < per_thread; ++i) {
                log.info("record from a worker thread", {{"thread", t}, {"i", i}, {"f", filler}});
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    const auto lines = lines_of(all);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
    std::map<std::int64_t, std::int64_t> next; // per thread: the next i expected
    for (const auto& line : lines) {
        json::value v;
        ASSERT_NO_THROW(v = json::parse(line)) << line;
        EXPECT_EQ(v.at("msg").as_string(), "record from a worker thread");
        EXPECT_EQ(v.at("f").as_string(), filler);
        const auto t = v.at("thread").as_int64();
        EXPECT_EQ(v.at("i").as_int64(), next[t]++) << "each thread's records in its order";
    }
    ASSERT_EQ(next.size(), static_cast<std::size_t>(threads));
    for (const auto& [t, n] : next) {
        EXPECT_EQ(n, per_thread) << t;
    }
}

} // namespace

namespace {

// Bytes that make a terminal do things: C0 controls (ESC starts every escape sequence), DEL and
// the C1 controls UTF-8 encodes as 0xC2 0x80..0x9F (0x9B is a one-byte CSI).
bool has_terminal_control(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            return true;
        }
        if (c == 0xc2 && i + 1 < line.size() && static_cast<unsigned char>(line[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(line[i + 1]) <= 0x9f) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST(logger, text_records_escape_terminal_controls_in_message_and_fields) {
    std::ostringstream sink;
    obs::logger log(sink, log_level::info, log_format::text);
    const std::string hostile = "wss://evil.test/\x1b[2J\x1b]0;owned\x07\r\x7f\xc2\x9b"
                                "31m";
    log.info("connecting to " + hostile, {{"url", std::string_view(hostile)}});
    const auto lines = lines_of(sink.str());
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_FALSE(has_terminal_control(lines[0])) << lines[0];
    EXPECT_TRUE(contains(lines[0], "connecting to wss://evil.test/\\x1b[2J")) << lines[0];
    EXPECT_TRUE(contains(lines[0], "\\u009b31m")) << lines[0];
    // Plain text is untouched.
    std::ostringstream plain;
    obs::logger(plain, log_level::info, log_format::text).info("caf\xc3\xa9 ok", {});
    EXPECT_TRUE(contains(plain.str(), "INFO  caf\xc3\xa9 ok")) << plain.str();
}
