#include "shardgate/observe/status_feed.hpp"

#include "shardgate/gateway/close_code.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

namespace observe = shardgate::observe;
namespace gw = shardgate::gateway;
namespace json = boost::json;
using namespace std::chrono;

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

json::value parse(const std::string& text) {
    json::value v;
    EXPECT_NO_THROW(v = json::parse(text)) << text;
    return v;
}

// 2026-11-28T23:59:01.123Z
system_clock::time_point fixed_time() {
    return sys_days{year{2026} / November / 28} + 23h + 59min + 1s + 123ms;
}

std::vector<observe::status_shard> two_shards(std::uint64_t dispatches0,
                                              std::uint64_t dispatches1) {
    std::vector<observe::status_shard> v(2);
    v[0].id = 0;
    v[0].state = "active";
    v[0].latency_ms = 41.26;
    v[0].dispatches = dispatches0;
    v[0].identifies = 1;
    v[0].resumes = 2;
    v[0].last_close_code = 4000;
    v[1].id = 1;
    v[1].state = "identifying";
    v[1].dispatches = dispatches1;
    v[1].identifies = 3;
    return v;
}

// --- status_feed::snapshot -------------------------------------------------------------------

TEST(status_feed, snapshot_has_the_pages_shape) {
    observe::status_feed feed("shardgate demo", "demo");
    const auto shards = two_shards(10, 5);
    const auto v = parse(feed.snapshot(std::span<const observe::status_shard>(shards)));
    const auto& o = v.as_object();
    EXPECT_EQ(o.at("title").as_string(), "shardgate demo");
    EXPECT_EQ(o.at("mode").as_string(), "demo");
    ASSERT_TRUE(o.at("uptime_s").is_number());
    EXPECT_GE(o.at("uptime_s").to_number<double>(), 0.0);
    EXPECT_LT(o.at("uptime_s").to_number<double>(), 60.0);

    const auto& list = o.at("shards").as_array();
    ASSERT_EQ(list.size(), 2U);
    const auto& s0 = list[0].as_object();
    EXPECT_EQ(s0.at("id").to_number<int>(), 0);
    EXPECT_EQ(s0.at("state").as_string(), "active");
    EXPECT_DOUBLE_EQ(s0.at("latency_ms").to_number<double>(), 41.3) << "one decimal";
    EXPECT_EQ(s0.at("events_per_s").to_number<double>(), 0.0) << "no rate before a second";
    EXPECT_EQ(s0.at("dispatches").to_number<int>(), 10);
    EXPECT_EQ(s0.at("resumes").to_number<int>(), 2);
    EXPECT_EQ(s0.at("identifies").to_number<int>(), 1);
    EXPECT_EQ(s0.at("last_close_code").to_number<int>(), 4000);
    EXPECT_EQ(s0.size(), 8U);

    const auto& s1 = list[1].as_object();
    EXPECT_EQ(s1.at("id").to_number<int>(), 1);
    EXPECT_EQ(s1.at("state").as_string(), "identifying");
    EXPECT_TRUE(s1.at("latency_ms").is_null());
    EXPECT_TRUE(s1.at("last_close_code").is_null());

    const auto& totals = o.at("totals").as_object();
    EXPECT_EQ(totals.at("events_per_s").to_number<double>(), 0.0);
    EXPECT_EQ(totals.at("dispatches").to_number<int>(), 15);
    EXPECT_EQ(totals.at("resumes").to_number<int>(), 2);
    EXPECT_EQ(totals.at("identifies").to_number<int>(), 4);
    EXPECT_FALSE(totals.contains("faults"));
    EXPECT_FALSE(totals.contains("lost"));
    EXPECT_FALSE(totals.contains("duplicated"));
    EXPECT_EQ(totals.size(), 4U);
}

TEST(status_feed, extras_appear_only_when_set) {
    observe::status_feed feed("t", "demo");
    const auto shards = two_shards(0, 0);
    const std::span<const observe::status_shard> view(shards);
    {
        observe::status_extras extras;
        extras.faults = 3;
        const auto totals = parse(feed.snapshot(view, extras)).at("totals").as_object();
        EXPECT_EQ(totals.at("faults").to_number<int>(), 3);
        EXPECT_FALSE(totals.contains("lost"));
        EXPECT_FALSE(totals.contains("duplicated"));
    }
    {
        observe::status_extras extras;
        extras.faults = 7;
        extras.lost = 0; // set to zero is still shown
        extras.duplicated = 2;
        const auto totals = parse(feed.snapshot(view, extras)).at("totals").as_object();
        EXPECT_EQ(totals.at("faults").to_number<int>(), 7);
        EXPECT_EQ(totals.at("lost").to_number<int>(), 0);
        EXPECT_EQ(totals.at("duplicated").to_number<int>(), 2);
    }
}

TEST(status_feed, no_shards_and_strings_that_need_escaping) {
    observe::status_feed feed("a \"quoted\" title\n", "serve");
    const auto v = parse(feed.snapshot(std::span<const observe::status_shard>{}));
    EXPECT_EQ(v.at("title").as_string(), "a \"quoted\" title\n");
    EXPECT_EQ(v.at("mode").as_string(), "serve");
    EXPECT_TRUE(v.at("shards").as_array().empty());
    EXPECT_EQ(v.at("totals").at("dispatches").to_number<int>(), 0);
}

// The only test here that sleeps: the feed reads the steady clock itself.
TEST(status_feed, events_per_second_need_a_second_between_snapshots) {
    observe::status_feed feed("t", "demo");
    const auto first = two_shards(10, 100);
    const auto soon = two_shards(20, 150);
    const auto later = two_shards(32, 100); // shard 1 went backwards (a restart): rate 0
    (void)feed.snapshot(std::span<const observe::status_shard>(first));
    const auto v1 = parse(feed.snapshot(std::span<const observe::status_shard>(soon)));
    EXPECT_EQ(v1.at("shards").at(0).at("events_per_s").to_number<double>(), 0.0)
        << "under a second: no rate yet";
    EXPECT_EQ(v1.at("totals").at("events_per_s").to_number<double>(), 0.0);

    std::this_thread::sleep_for(1100ms);
    const auto v2 = parse(feed.snapshot(std::span<const observe::status_shard>(later)));
    // 22 events since the window began, over at least 1.1 s.
    const double r0 = v2.at("shards").at(0).at("events_per_s").to_number<double>();
    EXPECT_GT(r0, 0.0);
    EXPECT_LE(r0, 20.0);
    EXPECT_GE(r0, 5.0) << "unless the machine stalled for seconds";
    EXPECT_EQ(v2.at("shards").at(1).at("events_per_s").to_number<double>(), 0.0);
    EXPECT_DOUBLE_EQ(v2.at("totals").at("events_per_s").to_number<double>(), r0);
    EXPECT_GE(v2.at("uptime_s").to_number<double>(), 1.1);
}

// --- describe_lifecycle, shown_in_feed
// ----------------------------------------------------------------------

gw::lifecycle_event closed(std::uint16_t code, gw::close_reaction reaction) {
    gw::lifecycle_event e;
    e.kind = gw::lifecycle_kind::closed;
    e.shard = 2;
    e.code = code;
    e.reaction = reaction;
    return e;
}

gw::lifecycle_event fatal(std::uint16_t code) {
    const auto policy = gw::policy_for(code);
    gw::lifecycle_event e;
    e.kind = gw::lifecycle_kind::fatal;
    e.shard = 1;
    e.code = code;
    e.reaction = gw::close_reaction::fatal;
    e.name = policy.name;
    e.remedy = policy.remedy;
    return e;
}

TEST(describe_lifecycle, closed_names_the_code_and_what_happens_next) {
    EXPECT_EQ(observe::describe_lifecycle(closed(4000, gw::close_reaction::resume)),
              "closed with 4000 (Unknown error): resuming");
    EXPECT_EQ(observe::describe_lifecycle(closed(4009, gw::close_reaction::reidentify)),
              "closed with 4009 (Session timed out): identifying afresh");
    EXPECT_EQ(observe::describe_lifecycle(closed(4004, gw::close_reaction::fatal)),
              "closed with 4004 (Authentication failed): stopping");
}

TEST(describe_lifecycle, a_drop_says_why) {
    auto e = closed(1006, gw::close_reaction::resume);
    e.by = gw::closed_by::transport;
    e.cause = gw::disconnect_cause::connection_lost;
    e.error = std::make_error_code(std::errc::connection_refused);
    e.detail = "connecting to 127.0.0.1:1";
    EXPECT_EQ(observe::describe_lifecycle(e), "closed with 1006 (Abnormal closure) (" +
                                                  e.error.message() +
                                                  ", connecting to 127.0.0.1:1): resuming");
    auto hello = closed(1006, gw::close_reaction::resume);
    hello.cause = gw::disconnect_cause::hello_timeout;
    EXPECT_EQ(observe::describe_lifecycle(hello),
              "closed with 1006 (Abnormal closure) (hello_timeout): resuming");
}

TEST(describe_lifecycle, code_4900_is_shardgates_reconnect) {
    const auto text =
        observe::describe_lifecycle(closed(gw::close_code_reconnect, gw::close_reaction::resume));
    EXPECT_TRUE(contains(text, "4900")) << text;
    EXPECT_TRUE(contains(text, "reconnect")) << text;
    EXPECT_TRUE(text.ends_with(": resuming")) << text;
}

TEST(describe_lifecycle, fatal_gives_the_code_its_name_and_the_remedy) {
    const auto e = fatal(4014);
    const auto text = observe::describe_lifecycle(e);
    EXPECT_TRUE(text.starts_with("stopped on 4014 (Disallowed intent(s)): ")) << text;
    ASSERT_FALSE(e.remedy.empty());
    EXPECT_TRUE(contains(text, e.remedy)) << text;
    EXPECT_TRUE(contains(text, "Developer Portal")) << text;
}

TEST(describe_lifecycle, invalid_session_says_whether_it_resumes) {
    gw::lifecycle_event e;
    e.kind = gw::lifecycle_kind::invalid_session;
    e.resumable = true;
    EXPECT_EQ(observe::describe_lifecycle(e), "invalid session (op 9), resumable: resuming");
    e.resumable = false;
    EXPECT_EQ(observe::describe_lifecycle(e),
              "invalid session (op 9), not resumable: identifying afresh");
}

TEST(describe_lifecycle, the_other_kinds) {
    gw::lifecycle_event e;
    e.kind = gw::lifecycle_kind::connecting;
    e.url = "wss://gateway.test/?v=10";
    EXPECT_EQ(observe::describe_lifecycle(e), "connecting to wss://gateway.test/?v=10");
    e.kind = gw::lifecycle_kind::hello;
    e.heartbeat_interval = gw::milliseconds{41250};
    EXPECT_EQ(observe::describe_lifecycle(e), "hello, heartbeat every 41250 ms");
    e.kind = gw::lifecycle_kind::resumed;
    EXPECT_EQ(observe::describe_lifecycle(e), "resumed: missed events replayed");
    e.kind = gw::lifecycle_kind::reconnect_requested;
    EXPECT_EQ(observe::describe_lifecycle(e), "gateway asked to reconnect (op 7)");
    e.kind = gw::lifecycle_kind::protocol_error;
    e.detail = "12 bytes: {\"op\":";
    EXPECT_EQ(observe::describe_lifecycle(e), "gateway error: unknown (12 bytes: {\"op\":)");
}

TEST(shown_in_feed, every_kind_but_hello) {
    using kind = gw::lifecycle_kind;
    EXPECT_FALSE(observe::shown_in_feed(kind::hello));
    for (const auto k : {kind::connecting, kind::identifying, kind::ready, kind::resuming,
                         kind::resumed, kind::reconnect_requested, kind::invalid_session,
                         kind::zombie, kind::closed, kind::fatal, kind::protocol_error}) {
        EXPECT_TRUE(observe::shown_in_feed(k)) << gw::to_string(k);
    }
}

// --- lifecycle_entry_json, fault_entry_json ------------------------------------------------

TEST(lifecycle_entry_json, closed_has_code_name_and_reaction_but_no_remedy) {
    const auto e = closed(4000, gw::close_reaction::resume);
    const auto v = parse(observe::lifecycle_entry_json(e, fixed_time()));
    const auto& o = v.as_object();
    EXPECT_EQ(o.at("time").as_string(), "2026-11-28T23:59:01.123Z");
    EXPECT_EQ(o.at("shard").to_number<int>(), 2);
    EXPECT_EQ(o.at("kind").as_string(), "closed");
    EXPECT_EQ(o.at("code").to_number<int>(), 4000);
    EXPECT_EQ(o.at("name").as_string(), "Unknown error");
    EXPECT_EQ(o.at("reaction").as_string(), "resume");
    EXPECT_FALSE(o.contains("remedy"));
    EXPECT_EQ(o.at("text").as_string(), observe::describe_lifecycle(e));
    EXPECT_EQ(o.size(), 7U);
}

TEST(lifecycle_entry_json, closed_with_4900_is_named_as_shardgates) {
    const auto e = closed(gw::close_code_reconnect, gw::close_reaction::resume);
    const auto v = parse(observe::lifecycle_entry_json(e, fixed_time()));
    EXPECT_EQ(v.at("code").to_number<int>(), 4900);
    EXPECT_TRUE(contains(v.at("name").as_string(), "reconnect")) << v.at("name").as_string();
}

TEST(lifecycle_entry_json, fatal_has_reaction_fatal_and_the_remedy) {
    auto e = fatal(4004);
    e.reaction = gw::close_reaction::resume; // whatever it says, a fatal entry's reaction is fatal
    const auto v = parse(observe::lifecycle_entry_json(e, fixed_time()));
    const auto& o = v.as_object();
    EXPECT_EQ(o.at("kind").as_string(), "fatal");
    EXPECT_EQ(o.at("shard").to_number<int>(), 1);
    EXPECT_EQ(o.at("code").to_number<int>(), 4004);
    EXPECT_EQ(o.at("name").as_string(), "Authentication failed");
    EXPECT_EQ(o.at("reaction").as_string(), "fatal");
    EXPECT_EQ(o.at("remedy").as_string(), gw::policy_for(4004).remedy);
    EXPECT_TRUE(contains(o.at("text").as_string(), gw::policy_for(4004).remedy));
    EXPECT_EQ(o.size(), 8U);
}

TEST(lifecycle_entry_json, other_kinds_carry_only_time_shard_kind_and_text) {
    gw::lifecycle_event e;
    e.kind = gw::lifecycle_kind::invalid_session;
    e.shard = 7;
    e.resumable = false;
    const auto v = parse(observe::lifecycle_entry_json(e, fixed_time()));
    const auto& o = v.as_object();
    EXPECT_EQ(o.at("kind").as_string(), "invalid_session");
    EXPECT_EQ(o.at("shard").to_number<int>(), 7);
    EXPECT_EQ(o.at("text").as_string(),
              "invalid session (op 9), not resumable: identifying afresh");
    EXPECT_FALSE(o.contains("code"));
    EXPECT_FALSE(o.contains("reaction"));
    EXPECT_FALSE(o.contains("remedy"));
    EXPECT_EQ(o.size(), 4U);
}

TEST(fault_entry_json, has_the_fault_and_its_text) {
    const auto v = parse(
        observe::fault_entry_json(3, "drop_acks", "dropping \"ACKs\"\nfor 30 s", fixed_time()));
    const auto& o = v.as_object();
    EXPECT_EQ(o.at("time").as_string(), "2026-11-28T23:59:01.123Z");
    EXPECT_EQ(o.at("shard").to_number<int>(), 3);
    EXPECT_EQ(o.at("kind").as_string(), "fault");
    EXPECT_EQ(o.at("fault").as_string(), "drop_acks");
    EXPECT_EQ(o.at("text").as_string(), "dropping \"ACKs\"\nfor 30 s");
    EXPECT_EQ(o.size(), 5U);
}

} // namespace
