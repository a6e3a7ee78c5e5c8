// bridge::stream_reader against a real nats-server: order and fields, the duplicate msg-id dropped,
// filters (server-side for one name, here for several), durable consumers resuming, following,
// a missing stream, and an ephemeral consumer outliving a server restart.
#include "shardgate/bridge/stream_reader.hpp"

#include "jetstream_fixture.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>

namespace {

using namespace std::chrono_literals;
namespace bridge = shardgate::bridge;
using shardgate::test::published;

class stream_reader_test : public shardgate::test::jetstream_test {
protected:
    std::shared_ptr<bridge::nats_connection> open_connection() {
        bridge::nats_settings settings;
        settings.urls = {server_->url()};
        settings.wait_for_server = false;
        settings.reconnect_wait = 100ms;
        std::error_code ec;
        std::string detail;
        auto connection = bridge::nats_connection::open(settings, ec, detail);
        EXPECT_TRUE(connection) << detail;
        return connection;
    }

    std::unique_ptr<bridge::stream_reader> open_reader(const bridge::stream_reader_settings& s) {
        std::error_code ec;
        std::string detail;
        auto reader = bridge::stream_reader::open(connection_, s, ec, detail);
        EXPECT_TRUE(reader) << ec.message() << ": " << detail;
        EXPECT_FALSE(ec);
        return reader;
    }

    /// Everything up to caught-up (not following), bounded.
    static std::vector<bridge::stream_event> read_all(bridge::stream_reader& reader) {
        std::vector<bridge::stream_event> events;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!reader.caught_up() && std::chrono::steady_clock::now() < deadline) {
            std::error_code ec;
            std::string detail;
            auto event = reader.next(1s, ec, detail);
            EXPECT_FALSE(ec) << detail;
            if (ec) {
                break;
            }
            if (event) {
                events.push_back(std::move(*event));
            }
        }
        EXPECT_TRUE(reader.caught_up());
        return events;
    }

    static void expect_event(const bridge::stream_event& got, const published& want) {
        EXPECT_EQ(got.shard, want.shard);
        EXPECT_EQ(got.seq, want.seq);
        EXPECT_EQ(got.session, want.session);
        EXPECT_EQ(got.name, want.name);
        EXPECT_EQ(got.data, want.data);
    }

    void SetUp() override {
        jetstream_test::SetUp();
        if (IsSkipped()) {
            return;
        }
        connection_ = open_connection();
    }
    void TearDown() override {
        connection_.reset();
        jetstream_test::TearDown();
    }

    std::shared_ptr<bridge::nats_connection> connection_;
};

TEST_F(stream_reader_test, reads_every_event_once_in_stream_order_with_its_fields) {
    create_stream();
    const auto sample = publish_sample();
    auto reader = open_reader({});
    ASSERT_TRUE(reader);
    const auto events = read_all(*reader);
    ASSERT_EQ(events.size(), sample.size());
    for (std::size_t i = 0; i < sample.size(); ++i) {
        SCOPED_TRACE(i);
        expect_event(events[i], sample[i]);
        EXPECT_EQ(events[i].stream_seq, i + 1);
    }
    // Caught up stays caught up.
    std::error_code ec;
    std::string detail;
    EXPECT_FALSE(reader->next(100ms, ec, detail));
    EXPECT_FALSE(ec);
}

TEST_F(stream_reader_test, a_too_large_marker_comes_with_its_error_and_no_data) {
    create_stream();
    EXPECT_TRUE(publish({0, 1, "s0", "GUILD_CREATE", ""}, "shardgate", "too-large"));
    auto reader = open_reader({});
    ASSERT_TRUE(reader);
    const auto events = read_all(*reader);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].name, "GUILD_CREATE");
    EXPECT_EQ(events[0].error, "too-large");
    EXPECT_EQ(events[0].data, "");
}

TEST_F(stream_reader_test, an_empty_stream_is_caught_up_at_once) {
    create_stream();
    auto reader = open_reader({});
    ASSERT_TRUE(reader);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(read_all(*reader).empty());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(stream_reader_test, small_batches_read_the_same) {
    create_stream();
    const auto sample = publish_sample();
    bridge::stream_reader_settings settings;
    settings.batch = 2;
    auto reader = open_reader(settings);
    ASSERT_TRUE(reader);
    EXPECT_EQ(read_all(*reader).size(), sample.size());
}

TEST_F(stream_reader_test, one_filter_name_is_filtered_by_the_server) {
    create_stream();
    const auto sample = publish_sample();
    bridge::stream_reader_settings settings;
    settings.filter = {"MESSAGE_CREATE"};
    auto reader = open_reader(settings);
    ASSERT_TRUE(reader);
    const auto events = read_all(*reader);
    ASSERT_EQ(events.size(), 2U);
    expect_event(events[0], sample[3]);
    expect_event(events[1], sample[4]);
}

TEST_F(stream_reader_test, several_filter_names_keep_only_those_events) {
    create_stream();
    const auto sample = publish_sample();
    bridge::stream_reader_settings settings;
    settings.filter = {"READY", "GUILD_CREATE"};
    auto reader = open_reader(settings);
    ASSERT_TRUE(reader);
    const auto events = read_all(*reader);
    ASSERT_EQ(events.size(), 3U);
    expect_event(events[0], sample[0]);
    expect_event(events[1], sample[1]);
    expect_event(events[2], sample[2]);
}

TEST_F(stream_reader_test, a_durable_reader_goes_on_after_the_acknowledged_events) {
    create_stream();
    const auto sample = publish_sample();
    bridge::stream_reader_settings settings;
    settings.durable = "bot";
    {
        // Reads two (the fetch brings all five), acknowledges them and goes: the three fetched
        // and not returned are handed back to the server.
        auto reader = open_reader(settings);
        ASSERT_TRUE(reader);
        EXPECT_EQ(reader->consumer_name(), "bot");
        std::error_code ec;
        std::string detail;
        for (std::size_t i = 0; i < 2; ++i) {
            auto event = reader->next(5s, ec, detail);
            ASSERT_TRUE(event) << detail;
            expect_event(*event, sample[i]);
        }
        reader->ack(ec, detail);
        EXPECT_FALSE(ec) << detail;
    }
    {
        // At once (not after the 30 s ack wait), in order, nothing twice.
        auto reader = open_reader(settings);
        ASSERT_TRUE(reader);
        const auto start = std::chrono::steady_clock::now();
        const auto events = read_all(*reader);
        EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
        ASSERT_EQ(events.size(), 3U);
        for (std::size_t i = 0; i < 3; ++i) {
            expect_event(events[i], sample[i + 2]);
        }
        std::error_code ec;
        std::string detail;
        reader->ack(ec, detail);
        EXPECT_FALSE(ec) << detail;
    }
    // Caught up: a new event only.
    EXPECT_TRUE(publish({2, 1, "s2", "READY", "{}"}));
    auto reader = open_reader(settings);
    ASSERT_TRUE(reader);
    const auto events = read_all(*reader);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].session, "s2");
    EXPECT_EQ(events[0].stream_seq, 6U);
}

TEST_F(stream_reader_test, a_durable_consumer_keeps_its_filter) {
    create_stream();
    bridge::stream_reader_settings settings;
    settings.durable = "bot";
    settings.filter = {"MESSAGE_CREATE"};
    ASSERT_TRUE(open_reader(settings));
    settings.filter = {"READY"};
    std::error_code ec;
    std::string detail;
    EXPECT_FALSE(bridge::stream_reader::open(connection_, settings, ec, detail));
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_NE(detail.find("shardgate.events.*.MESSAGE_CREATE"), std::string::npos) << detail;
}

TEST_F(stream_reader_test, following_waits_for_new_events) {
    create_stream();
    const auto sample = publish_sample();
    bridge::stream_reader_settings settings;
    settings.follow = true;
    auto reader = open_reader(settings);
    ASSERT_TRUE(reader);
    std::error_code ec;
    std::string detail;
    for (const auto& want : sample) {
        auto event = reader->next(5s, ec, detail);
        ASSERT_TRUE(event) << detail;
        expect_event(*event, want);
    }
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(reader->next(300ms, ec, detail));
    EXPECT_FALSE(ec) << detail;
    EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
    EXPECT_FALSE(reader->caught_up());

    EXPECT_TRUE(publish({0, 4, "s0", "TYPING_START", R"({"channel_id":"7"})"}));
    auto event = reader->next(5s, ec, detail);
    ASSERT_TRUE(event) << detail;
    EXPECT_EQ(event->name, "TYPING_START");
    EXPECT_EQ(event->stream_seq, 6U);
}

TEST_F(stream_reader_test, an_ephemeral_reader_outlives_a_server_restart) {
    create_stream();
    const auto sample = publish_sample();
    bridge::stream_reader_settings settings;
    settings.follow = true;
    auto reader = open_reader(settings);
    ASSERT_TRUE(reader);
    std::error_code ec;
    std::string detail;
    for (std::size_t i = 0; i < sample.size(); ++i) {
        ASSERT_TRUE(reader->next(5s, ec, detail)) << detail;
    }
    server_->stop();
    EXPECT_FALSE(reader->next(300ms, ec, detail));
    EXPECT_FALSE(ec) << detail;
    server_->start();
    ASSERT_TRUE(connection_->wait_connected(10s));
    disconnect();
    connect();
    // JetStream may still be recovering the stream for a moment.
    bool stored = false;
    for (int attempt = 0; attempt < 50 && !stored; ++attempt) {
        stored = publish({0, 4, "s0", "TYPING_START", "{}"});
        if (!stored) {
            std::this_thread::sleep_for(100ms);
        }
    }
    ASSERT_TRUE(stored);
    std::optional<bridge::stream_event> event;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!event && !ec && std::chrono::steady_clock::now() < deadline) {
        event = reader->next(500ms, ec, detail);
    }
    ASSERT_FALSE(ec) << detail;
    ASSERT_TRUE(event);
    EXPECT_EQ(event->name, "TYPING_START");
    EXPECT_EQ(event->stream_seq, 6U);
}

TEST_F(stream_reader_test, a_missing_stream_is_named_in_the_error) {
    std::error_code ec;
    std::string detail;
    EXPECT_FALSE(bridge::stream_reader::open(connection_, {}, ec, detail));
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    EXPECT_NE(detail.find("'SHARDGATE' does not exist"), std::string::npos) << detail;
}

TEST_F(stream_reader_test, invalid_settings_are_refused_before_any_request) {
    bridge::stream_reader_settings settings;
    settings.filter = {"MESSAGE.CREATE"};
    EXPECT_NE(bridge::check_settings(settings), "");
    std::error_code ec;
    std::string detail;
    EXPECT_FALSE(bridge::stream_reader::open(connection_, settings, ec, detail));
    EXPECT_EQ(ec, std::errc::invalid_argument);
    settings = {};
    settings.durable = "a.b";
    EXPECT_NE(bridge::check_settings(settings), "");
    settings = {};
    settings.subject_prefix = "a..b";
    EXPECT_NE(bridge::check_settings(settings), "");
    settings = {};
    settings.subject_prefix = "acme.shardgate";
    settings.filter = {"READY", "MESSAGE_CREATE"};
    settings.durable = "bot-1";
    EXPECT_EQ(bridge::check_settings(settings), "");
}

} // namespace
