#include "shardgate/emulator/log_entry.hpp"

#include "shardgate/emulator/world.hpp"
#include "support/emulator_harness.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace shardgate::test {
namespace {

namespace ev = emu::log_event;

std::string json_of(emu::log_details details, std::optional<std::uint32_t> shard = 2) {
    return emu::to_json({1'234, 7, shard, std::move(details)});
}

TEST(emulator_log_entry, every_event_renders_as_the_log_has_always_written_it) {
    const std::string head = R"({"t_ms":1234,"connection":7,"shard":2,"event":)";
    const std::vector<std::pair<emu::log_details, std::string>> rows = {
        {ev::connect{"v=10&encoding=json", gw::compression::zlib_stream},
         R"("connect","query":"v=10&encoding=json","compress":"zlib-stream"})"},
        {ev::hello{41'250ms}, R"("hello","heartbeat_interval":41250})"},
        {ev::identify{1, 4, 513}, R"("identify","shard":1,"num_shards":4,"intents":513,)"
                                  R"("token":"***"})"},
        {ev::resume{"abc", 17}, R"("resume","session_id":"abc","seq":17,"token":"***"})"},
        {ev::replay{3}, R"("replay","count":3})"},
        {ev::resumed{}, R"("resumed"})"},
        {ev::ready{"abc", 8}, R"("ready","session_id":"abc","guilds":8})"},
        {ev::heartbeat{5}, R"("heartbeat","seq":5})"},
        {ev::heartbeat{}, R"("heartbeat","seq":null})"},
        {ev::command{gw::opcode::request_soundboard_sounds}, R"("command","op":31})"},
        {ev::client_close{4900}, R"("client_close","code":4900})"},
        {ev::transport_lost{}, R"("transport_lost"})"},
        {ev::violation{4001, "unknown opcode"},
         R"("violation","code":4001,"reason":"unknown opcode"})"},
        {ev::close_sent{4000, "a \"b\""}, R"("close_sent","code":4000,"reason":"a \"b\""})"},
        {ev::reconnect_sent{}, R"("reconnect_sent"})"},
        {ev::invalid_session_sent{true, "injected"},
         R"("invalid_session_sent","resumable":true,"reason":"injected"})"},
        {ev::fault_injected{.fault = emu::injected_fault::close, .code = 4014},
         R"("fault","fault":"close","code":4014})"},
        {ev::fault_injected{.fault = emu::injected_fault::reconnect},
         R"("fault","fault":"reconnect"})"},
        {ev::fault_injected{.fault = emu::injected_fault::invalid_session, .resumable = false},
         R"("fault","fault":"invalid_session","resumable":false})"},
        {ev::fault_injected{.fault = emu::injected_fault::zombie}, R"("fault","fault":"zombie"})"},
        {ev::fault_injected{.fault = emu::injected_fault::zombie, .silent = true},
         R"("fault","fault":"zombie","silent":true})"},
        {ev::fault_injected{.fault = emu::injected_fault::drop}, R"("fault","fault":"drop"})"},
        {ev::fault_injected{.fault = emu::injected_fault::heartbeat_request},
         R"("fault","fault":"heartbeat_request"})"},
        {ev::fault_injected{.fault = emu::injected_fault::flood, .t = "MESSAGE_CREATE", .count = 9},
         R"("fault","fault":"flood","t":"MESSAGE_CREATE","count":9})"},
        {ev::dispatch{"X", 4, false}, R"("dispatch","t":"X","seq":4})"},
        {ev::dispatch{"X", 4, true}, R"("dispatch","t":"X","seq":4,"detached":true})"},
        {ev::session_expired{"abc"}, R"("session_expired","session_id":"abc"})"},
        {ev::token_reset{"why"}, R"("token_reset","reason":"why"})"},
    };
    for (const auto& [details, tail] : rows) {
        EXPECT_EQ(json_of(details), head + tail);
    }
    EXPECT_EQ(json_of(ev::resumed{}, std::nullopt),
              R"({"t_ms":1234,"connection":7,"shard":null,"event":"resumed"})");
}

TEST(emulator_log_entry, event_names) {
    EXPECT_EQ(emu::event_name(ev::connect{}), "connect");
    EXPECT_EQ(emu::event_name(ev::fault_injected{}), "fault");
    EXPECT_EQ(emu::event_name(ev::invalid_session_sent{}), "invalid_session_sent");
    EXPECT_EQ(emu::event_name(ev::token_reset{}), "token_reset");
    EXPECT_EQ(emu::to_string(emu::injected_fault::heartbeat_request), "heartbeat_request");
}

TEST(emulator_log_entry, the_world_keeps_typed_entries_and_shows_them_to_its_observer) {
    emulator_harness h;
    std::vector<std::string> seen;
    h.world.set_log_observer([&](const emu::log_entry& e) { seen.push_back(emu::to_json(e)); });
    auto& c = h.connect();
    h.identify(c);
    c.conn->inject_close(h.now, 4000);
    h.drain(c);
    const auto& log = h.world.log();
    ASSERT_EQ(log.size(), seen.size());
    std::string all = "[";
    for (std::size_t i = 0; i < log.size(); ++i) {
        EXPECT_EQ(emu::to_json(log[i]), seen[i]);
        all += (i == 0 ? "" : ",") + seen[i];
    }
    EXPECT_EQ(all + "]", h.world.log_json());
    const auto* close = std::get_if<ev::close_sent>(&log.back().details);
    ASSERT_NE(close, nullptr);
    EXPECT_EQ(close->code, 4000);
    EXPECT_EQ(log.back().shard, 0U);
    EXPECT_EQ(log.back().connection, c.conn->id());
    const auto* identify = std::get_if<ev::identify>(&log[2].details);
    ASSERT_NE(identify, nullptr) << emu::to_json(log[2]);
    EXPECT_EQ(identify->intents, 1U | 512U);
}

TEST(emulator_log_entry, every_long_string_is_cut_and_short_ones_are_kept) {
    const std::string long_text(1'000, 'r');
    const auto cut = std::string(256, 'r') + "...[1000 bytes]";
    emu::log_details close = ev::close_sent{4000, long_text};
    emu::cut_long_strings(close);
    EXPECT_EQ(std::get<ev::close_sent>(close).reason, cut);
    emu::log_details dispatch = ev::dispatch{long_text, 3, true};
    emu::cut_long_strings(dispatch);
    EXPECT_EQ(std::get<ev::dispatch>(dispatch).t, cut);
    emu::log_details resume = ev::resume{long_text, 3};
    emu::cut_long_strings(resume);
    EXPECT_EQ(std::get<ev::resume>(resume).session_id, cut);
    emu::log_details exact = ev::connect{std::string(256, 'q')};
    emu::cut_long_strings(exact);
    EXPECT_EQ(std::get<ev::connect>(exact).query, std::string(256, 'q'));
}

TEST(emulator_log_entry, footprint_counts_the_strings) {
    const emu::log_entry small{0, 1, std::nullopt, ev::connect{"v=10"}};
    const emu::log_entry large{0, 1, std::nullopt, ev::connect{std::string(200, 'x')}};
    EXPECT_EQ(emu::footprint(large) - emu::footprint(small), 196U);
    EXPECT_GE(emu::footprint(small), sizeof(emu::log_entry));
}

} // namespace
} // namespace shardgate::test
