#include "event_output.hpp"

#include "shardgate/gateway/close_code.hpp"

#include <array>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sstream>

namespace cli = shardgate::cli;
namespace gw = shardgate::gateway;

namespace {

/// Every line of `text` (which must end in '\n').
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        EXPECT_NE(nl, std::string::npos) << "unterminated line";
        if (nl == std::string::npos) {
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

gw::lifecycle_event event(gw::lifecycle_kind kind, std::uint32_t shard = 3) {
    gw::lifecycle_event e;
    e.kind = kind;
    e.shard = shard;
    return e;
}

std::string_view get_string(simdjson::dom::element obj, const char* key) {
    std::string_view value;
    EXPECT_EQ(obj[key].get_string().get(value), simdjson::SUCCESS) << key;
    return value;
}

std::int64_t get_int(simdjson::dom::element obj, const char* key) {
    std::int64_t value = -1;
    EXPECT_EQ(obj[key].get_int64().get(value), simdjson::SUCCESS) << key;
    return value;
}

} // namespace

TEST(event_output, dispatch_line_copies_d_verbatim_with_unicode_and_escapes) {
    // Raw UTF-8, \u escapes (including a surrogate pair), escaped quotes and backslashes: all
    // must come out byte for byte.
    const std::string d =
        R"({"content":"h\u00e9llo \"w\u00f6rld\" \\ \ud83d\ude00 \u0000 tab\t","raw":"héllo ✓ 😀","n":[1,2.5e3,-0],"nested":{"a":null,"b":true}})";
    std::string out;
    cli::append_dispatch_line(out, 7, 123456789012ULL, "MESSAGE_CREATE", d);
    ASSERT_EQ(out.back(), '\n');
    const auto lines = lines_of(out);
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_EQ(lines[0],
              R"({"type":"dispatch","shard":7,"seq":123456789012,"t":"MESSAGE_CREATE","d":)" + d +
                  "}");

    simdjson::dom::parser parser;
    simdjson::dom::element obj;
    ASSERT_EQ(parser.parse(lines[0]).get(obj), simdjson::SUCCESS) << lines[0];
    EXPECT_EQ(get_string(obj, "type"), "dispatch");
    EXPECT_EQ(get_int(obj, "shard"), 7);
    EXPECT_EQ(get_int(obj, "seq"), 123456789012LL);
    EXPECT_EQ(get_string(obj, "t"), "MESSAGE_CREATE");
    EXPECT_EQ(get_string(obj["d"], "raw"), "héllo ✓ 😀");
    std::string_view content;
    ASSERT_EQ(obj["d"]["content"].get_string().get(content), simdjson::SUCCESS);
    using namespace std::string_view_literals;
    EXPECT_EQ(content, "h\u00e9llo \"w\u00f6rld\" \\ \U0001F600 \0 tab\t"sv);
}

TEST(event_output, dispatch_line_keeps_one_event_per_line) {
    std::string out;
    cli::append_dispatch_line(out, 0, 1, "GUILD_CREATE", "{\n  \"id\": \"1\"\r\n}");
    cli::append_dispatch_line(out, 0, 2, "TYPING_START", "");
    const auto lines = lines_of(out);
    ASSERT_EQ(lines.size(), 2U);
    simdjson::dom::parser parser;
    for (const auto& line : lines) {
        simdjson::dom::element obj;
        ASSERT_EQ(parser.parse(line).get(obj), simdjson::SUCCESS) << line;
        EXPECT_EQ(get_string(obj, "type"), "dispatch");
    }
    simdjson::dom::element second;
    ASSERT_EQ(parser.parse(lines[1]).get(second), simdjson::SUCCESS);
    EXPECT_TRUE(second["d"].is_null());
}

TEST(event_output, dispatch_name_with_odd_characters_is_escaped) {
    std::string out;
    cli::append_dispatch_line(out, 0, 1, "WEIRD\"NAME\\", "{}");
    simdjson::dom::parser parser;
    simdjson::dom::element obj;
    ASSERT_EQ(parser.parse(lines_of(out).at(0)).get(obj), simdjson::SUCCESS) << out;
    EXPECT_EQ(get_string(obj, "t"), "WEIRD\"NAME\\");
}

TEST(event_output, every_lifecycle_kind_has_a_contract_line) {
    using k = gw::lifecycle_kind;
    struct expectation {
        k kind;
        const char* name;
    };
    const std::array all{
        expectation{k::connecting, "connecting"},
        expectation{k::hello, "hello"},
        expectation{k::identifying, "identifying"},
        expectation{k::ready, "ready"},
        expectation{k::resuming, "resuming"},
        expectation{k::resumed, "resumed"},
        expectation{k::reconnect_requested, "reconnect_requested"},
        expectation{k::invalid_session, "invalid_session"},
        expectation{k::zombie, "zombie"},
        expectation{k::closed, "closed"},
        expectation{k::fatal, "fatal"},
    };
    simdjson::dom::parser parser;
    for (const auto& x : all) {
        auto e = event(x.kind);
        e.url = "wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream";
        e.heartbeat_interval = gw::milliseconds{41'250};
        e.resumable = true;
        e.code = x.kind == k::fatal ? 4004 : 4000;
        e.reaction = x.kind == k::fatal ? gw::close_reaction::fatal : gw::close_reaction::resume;
        if (x.kind == k::fatal) {
            const auto policy = gw::policy_for(4004);
            e.name = policy.name;
            e.remedy = policy.remedy;
        }
        std::string out;
        ASSERT_TRUE(cli::append_lifecycle_line(out, e, 1234)) << x.name;
        const auto lines = lines_of(out);
        ASSERT_EQ(lines.size(), 1U);
        simdjson::dom::element obj;
        ASSERT_EQ(parser.parse(lines[0]).get(obj), simdjson::SUCCESS) << lines[0];
        EXPECT_EQ(get_string(obj, "type"), "lifecycle");
        EXPECT_EQ(get_int(obj, "shard"), 3);
        EXPECT_EQ(get_string(obj, "event"), x.name);
        EXPECT_EQ(get_int(obj, "ms"), 1234);
        switch (x.kind) {
        case k::connecting: EXPECT_EQ(get_string(obj, "url"), e.url); break;
        case k::hello: EXPECT_EQ(get_int(obj, "heartbeat_interval"), 41'250); break;
        case k::invalid_session: {
            bool resumable = false;
            ASSERT_EQ(obj["resumable"].get_bool().get(resumable), simdjson::SUCCESS);
            EXPECT_TRUE(resumable);
            break;
        }
        case k::closed:
            EXPECT_EQ(get_int(obj, "code"), 4000);
            EXPECT_EQ(get_string(obj, "action"), "resume");
            break;
        case k::fatal:
            EXPECT_EQ(get_int(obj, "code"), 4004);
            EXPECT_EQ(get_string(obj, "name"), "Authentication failed");
            EXPECT_EQ(get_string(obj, "remedy"), gw::policy_for(4004).remedy);
            break;
        default:
            // No extra keys: type, shard, event, ms.
            EXPECT_EQ(obj.get_object().size(), 4U) << lines[0];
            break;
        }
    }
}

TEST(event_output, closed_actions_and_drop_code) {
    simdjson::dom::parser parser;
    for (const auto reaction :
         {gw::close_reaction::resume, gw::close_reaction::reidentify, gw::close_reaction::fatal}) {
        auto e = event(gw::lifecycle_kind::closed);
        e.code = 1006;
        e.reaction = reaction;
        std::string out;
        ASSERT_TRUE(cli::append_lifecycle_line(out, e, 0));
        simdjson::dom::element obj;
        ASSERT_EQ(parser.parse(lines_of(out).at(0)).get(obj), simdjson::SUCCESS);
        EXPECT_EQ(get_int(obj, "code"), 1006);
        EXPECT_EQ(get_string(obj, "action"), gw::to_string(reaction));
    }
}

TEST(event_output, a_closed_line_carries_the_transport_cause) {
    auto e = event(gw::lifecycle_kind::closed);
    e.code = 1006;
    e.reaction = gw::close_reaction::resume;
    e.by = gw::closed_by::transport;
    e.cause = gw::disconnect_cause::connection_lost;
    e.error = std::make_error_code(std::errc::connection_refused);
    e.detail = "connecting to 127.0.0.1:1";
    e.stage = gw::transport_stage::connect;
    std::string out;
    ASSERT_TRUE(cli::append_lifecycle_line(out, e, 0));
    simdjson::dom::parser parser;
    simdjson::dom::element obj;
    ASSERT_EQ(parser.parse(lines_of(out).at(0)).get(obj), simdjson::SUCCESS) << out;
    EXPECT_EQ(get_string(obj, "by"), "transport");
    EXPECT_EQ(get_string(obj, "cause"), "connection_lost");
    EXPECT_EQ(get_string(obj, "stage"), "connect");
    EXPECT_EQ(get_string(obj, "error"), e.error.message());
    EXPECT_EQ(get_string(obj, "detail"), "connecting to 127.0.0.1:1");

    // A close frame has no stage: the line says none.
    e.by = gw::closed_by::gateway;
    out.clear();
    ASSERT_TRUE(cli::append_lifecycle_line(out, e, 0));
    EXPECT_EQ(out.find("\"stage\""), std::string::npos) << out;
}

TEST(event_output, fatal_without_name_falls_back_to_the_policy_table) {
    auto e = event(gw::lifecycle_kind::fatal);
    e.code = 4014;
    std::string out;
    ASSERT_TRUE(cli::append_lifecycle_line(out, e, 5));
    simdjson::dom::parser parser;
    simdjson::dom::element obj;
    ASSERT_EQ(parser.parse(lines_of(out).at(0)).get(obj), simdjson::SUCCESS);
    EXPECT_EQ(get_string(obj, "name"), "Disallowed intent(s)");
    EXPECT_EQ(get_string(obj, "remedy"), gw::policy_for(4014).remedy);
    const auto line = cli::fatal_line(e);
    EXPECT_NE(line.find("4014"), std::string::npos) << line;
    EXPECT_NE(line.find(gw::policy_for(4014).remedy), std::string::npos) << line;
}

TEST(event_output, protocol_error_is_not_a_contract_event_but_a_stderr_line) {
    auto e = event(gw::lifecycle_kind::protocol_error, 2);
    e.error = std::make_error_code(std::errc::bad_message);
    e.detail = "op 99\nsize 12";
    std::string out;
    EXPECT_FALSE(cli::append_lifecycle_line(out, e, 0));
    EXPECT_TRUE(out.empty());
    EXPECT_FALSE(cli::is_contract_event(gw::lifecycle_kind::protocol_error));
    const auto line = cli::protocol_error_line(e);
    EXPECT_NE(line.find("shard 2"), std::string::npos) << line;
    EXPECT_NE(line.find(e.error.message()), std::string::npos) << line;
    EXPECT_NE(line.find("op 99?size 12"), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(event_output, count_summary_line_has_the_contract_keys) {
    cli::event_counts counts;
    counts.count_dispatch("GUILD_CREATE", 100);
    counts.count_dispatch("MESSAGE_CREATE", 150);
    counts.count_dispatch("MESSAGE_CREATE", 180);
    counts.count_lifecycle(gw::lifecycle_kind::identifying);
    counts.count_lifecycle(gw::lifecycle_kind::ready);
    counts.count_lifecycle(gw::lifecycle_kind::resumed);
    std::string out;
    cli::append_count_summary(out, counts, 2000, 2);
    const auto lines = lines_of(out);
    ASSERT_EQ(lines.size(), 1U);
    simdjson::dom::parser parser;
    simdjson::dom::element obj;
    ASSERT_EQ(parser.parse(lines[0]).get(obj), simdjson::SUCCESS) << lines[0];
    EXPECT_EQ(
        lines[0].rfind(R"({"type":"summary","dispatches":3,"first_ms":100,"last_ms":180,)", 0), 0U)
        << lines[0];
    EXPECT_EQ(get_string(obj, "type"), "summary");
    EXPECT_EQ(get_int(obj, "dispatches"), 3);
    EXPECT_EQ(get_int(obj, "first_ms"), 100);
    EXPECT_EQ(get_int(obj, "last_ms"), 180);
    EXPECT_EQ(get_int(obj, "elapsed_ms"), 2000);
    EXPECT_EQ(get_int(obj, "shards"), 2);
    EXPECT_EQ(get_int(obj, "identifies"), 1);
    EXPECT_EQ(get_int(obj, "resumes"), 1);
    EXPECT_EQ(get_int(obj["by_event"], "MESSAGE_CREATE"), 2);
    EXPECT_EQ(get_int(obj["by_event"], "GUILD_CREATE"), 1);
    EXPECT_EQ(get_int(obj["lifecycle"], "ready"), 1);
}

TEST(event_output, count_folds_event_names_nobody_documents) {
    // A gateway inventing a new name per event must not grow the counts (or the summary line)
    // without bound: documented names are counted by name, a few new ones too (Discord does add
    // events), the rest as "other".
    cli::event_counts counts;
    for (int i = 0; i < 100'000; ++i) {
        counts.count_dispatch("MESSAGE_CREATE", i);
        counts.count_dispatch("INVENTED_" + std::to_string(i), i);
    }
    EXPECT_EQ(counts.dispatches, 200'000U);
    EXPECT_LE(counts.by_event.size(), cli::event_counts::max_undocumented_names + 2);
    EXPECT_EQ(counts.by_event.at("MESSAGE_CREATE"), 100'000U);
    EXPECT_EQ(counts.by_event.at("INVENTED_0"), 1U);
    EXPECT_EQ(counts.by_event.at("other"), 100'000U - cli::event_counts::max_undocumented_names);
    std::string out;
    cli::append_count_summary(out, counts, 1, 1);
    EXPECT_LT(out.size(), 4096U);
}

TEST(event_output, count_summary_without_dispatches_is_still_valid) {
    const cli::event_counts counts;
    std::string out;
    cli::append_count_summary(out, counts, 10, 0);
    simdjson::dom::parser parser;
    simdjson::dom::element obj;
    ASSERT_EQ(parser.parse(lines_of(out).at(0)).get(obj), simdjson::SUCCESS) << out;
    EXPECT_EQ(get_int(obj, "dispatches"), 0);
    EXPECT_EQ(get_int(obj, "first_ms"), 0);
    EXPECT_EQ(get_int(obj, "last_ms"), 0);
}

TEST(event_output, buffered_writer_writes_in_large_chunks_and_on_flush) {
    std::ostringstream stream;
    {
        cli::buffered_writer w(stream);
        w.buffer() += "first\n";
        w.commit();
        EXPECT_TRUE(stream.str().empty()); // still buffered
        w.flush();
        EXPECT_EQ(stream.str(), "first\n");
        std::size_t written = 0;
        while (stream.str().size() == 6) {
            cli::append_dispatch_line(w.buffer(), 0, 1, "X", "{}");
            w.commit();
            ++written;
            ASSERT_LT(written, cli::buffered_writer::capacity); // flushes by itself when full
        }
        EXPECT_GE(stream.str().size(), cli::buffered_writer::capacity);
        w.buffer() += "last\n";
    } // the destructor flushes the rest
    EXPECT_EQ(stream.str().substr(stream.str().size() - 5), "last\n");
}
