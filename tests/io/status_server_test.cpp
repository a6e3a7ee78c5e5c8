// The --metrics server: routes, content types, Server-Sent Events (replay, live events, periodic
// status) and a prompt stop with a client attached. Raw sockets on 127.0.0.1, every read bounded.

#include "shardgate/io/status_server.hpp"

#include "shardgate/io/cluster.hpp"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <system_error>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using shardgate::io::status_server;
using shardgate::io::status_server_options;
namespace gw = shardgate::gateway;
namespace io = shardgate::io;

/// A client socket whose reads give up after a deadline.
class raw_client {
public:
    explicit raw_client(std::uint16_t port) {
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void send(const std::string& text) { asio::write(socket_, asio::buffer(text)); }

    /// Reads until `needle` is in what was received (true), the peer closes or `timeout` passes.
    bool read_until(const std::string& needle, std::chrono::milliseconds timeout = 5s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (received_.find(needle) == std::string::npos) {
            if (closed_ || std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            std::array<char, 4096> buf{};
            bool done = false;
            socket_.async_read_some(asio::buffer(buf),
                                    [&](boost::system::error_code ec, std::size_t n) {
                                        done = true;
                                        if (ec) {
                                            closed_ = true;
                                            return;
                                        }
                                        received_.append(buf.data(), n);
                                    });
            ioc_.restart();
            ioc_.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
            if (!done) {
                socket_.cancel();
                ioc_.restart();
                ioc_.run_for(1s);
                return received_.find(needle) != std::string::npos;
            }
        }
        return true;
    }
    /// Reads until the server closes the connection (bounded).
    std::string read_all(std::chrono::milliseconds timeout = 5s) {
        read_until("\x01never\x01", timeout);
        return received_;
    }
    [[nodiscard]] const std::string& received() const { return received_; }
    [[nodiscard]] bool closed() const { return closed_; }

private:
    asio::io_context ioc_;
    tcp::socket socket_{ioc_};
    std::string received_;
    bool closed_ = false;
};

std::string get(std::uint16_t port, const std::string& path, const std::string& method = "GET") {
    raw_client c(port);
    c.send(method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return c.read_all();
}

status_server_options options_with(std::string metrics, std::string status) {
    status_server_options o;
    o.metrics = [m = std::move(metrics)] { return m; };
    o.status = [s = std::move(status)] { return s; };
    return o;
}

TEST(status_server, metrics_are_served_as_prometheus_text) {
    status_server server(options_with("shardgate_up 1\n", "{}"));
    server.start();
    const auto r = get(server.port(), "/metrics");
    EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r;
    EXPECT_NE(r.find("\r\n\r\nshardgate_up 1\n"), std::string::npos) << r;
}

TEST(status_server, page_status_and_errors) {
    status_server server(options_with("", R"({"shards":[]})"));
    server.start();
    const auto page = get(server.port(), "/");
    EXPECT_NE(page.find("Content-Type: text/html"), std::string::npos) << page.substr(0, 300);
    EXPECT_NE(page.find("EventSource"), std::string::npos);
    const auto status = get(server.port(), "/status.json");
    EXPECT_NE(status.find("application/json"), std::string::npos) << status;
    EXPECT_NE(status.find(R"({"shards":[]})"), std::string::npos) << status;
    EXPECT_NE(get(server.port(), "/nope").find("HTTP/1.1 404"), std::string::npos);
    EXPECT_NE(get(server.port(), "/metrics", "POST").find("HTTP/1.1 405"), std::string::npos);
    EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/");
}

TEST(status_server, events_replay_recent_lifecycle_then_stream_new_ones_and_status) {
    auto o = options_with("", R"({"n":1})");
    o.status_interval = 50ms;
    o.replay_events = 2;
    status_server server(std::move(o));
    server.start();
    server.publish("lifecycle", R"({"i":1})");
    server.publish("lifecycle", R"({"i":2})");
    server.publish("lifecycle", R"({"i":3})");
    server.publish("status", R"({"not":"kept"})");

    // The publishes are posted to the server's thread; a request after them sees them all.
    (void)get(server.port(), "/status.json");
    raw_client c(server.port());
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("data: {\"i\":3}\n\n")) << c.received();
    EXPECT_NE(c.received().find("Content-Type: text/event-stream"), std::string::npos);
    EXPECT_EQ(c.received().find("{\"i\":1}"), std::string::npos) << "only the last 2 are replayed";
    EXPECT_LT(c.received().find("{\"i\":2}"), c.received().find("{\"i\":3}"));
    EXPECT_EQ(c.received().find("kept"), std::string::npos);

    server.publish("lifecycle", "{\"i\":4}\n{\"second\":\"line\"}");
    ASSERT_TRUE(c.read_until("event: lifecycle\ndata: {\"i\":4}\ndata: {\"second\":\"line\"}\n\n"))
        << c.received();
    ASSERT_TRUE(c.read_until("event: status\ndata: {\"n\":1}\n\n")) << c.received();
}

TEST(status_server, stop_ends_open_event_streams_promptly) {
    status_server server(options_with("", "{}"));
    server.start();
    raw_client c(server.port());
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("event: status"));
    const auto t0 = std::chrono::steady_clock::now();
    server.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    c.read_all(3s);
    EXPECT_TRUE(c.closed());
}

TEST(status_server, a_throwing_callback_does_not_take_the_server_down) {
    status_server_options o;
    o.metrics = []() -> std::string { throw std::runtime_error("boom"); };
    o.status = [] { return std::string("{}"); };
    status_server server(std::move(o));
    server.start();
    EXPECT_NE(get(server.port(), "/metrics").find("HTTP/1.1 200"), std::string::npos);
    EXPECT_NE(get(server.port(), "/status.json").find("{}"), std::string::npos);
}

TEST(status_server, bad_listen_address_names_the_expected_form) {
    status_server_options o;
    o.listen = "nonsense";
    try {
        status_server server(std::move(o));
        FAIL() << "constructed";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("HOST:PORT"), std::string::npos) << e.what();
    }
}

} // namespace

namespace {

TEST(status_server, a_reconnecting_browser_gets_only_the_events_it_missed) {
    status_server server(options_with("", "{}"));
    server.start();
    server.publish("lifecycle", R"({"i":1})");
    server.publish("lifecycle", R"({"i":2})");
    std::string id_of_2;
    {
        raw_client c(server.port());
        c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_TRUE(c.read_until("{\"i\":2}\n\n")) << c.received();
        // id: <run>-<n>, then the event
        const auto& r = c.received();
        const auto at = r.rfind("id: ", r.find("{\"i\":2}"));
        ASSERT_NE(at, std::string::npos) << r;
        id_of_2 = r.substr(at + 4, r.find('\n', at) - at - 4);
        EXPECT_NE(id_of_2.find('-'), std::string::npos) << id_of_2;
    }
    server.publish("lifecycle", R"({"i":3})");

    raw_client again(server.port());
    again.send("GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + id_of_2 + "\r\n\r\n");
    ASSERT_TRUE(again.read_until("{\"i\":3}\n\n")) << again.received();
    EXPECT_EQ(again.received().find("{\"i\":1}"), std::string::npos) << again.received();
    EXPECT_EQ(again.received().find("{\"i\":2}"), std::string::npos) << again.received();

    // An id from another run (a restarted server) is not trusted: everything kept is replayed.
    raw_client stranger(server.port());
    stranger.send("GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1-2\r\n\r\n");
    ASSERT_TRUE(stranger.read_until("{\"i\":3}\n\n")) << stranger.received();
    EXPECT_NE(stranger.received().find("{\"i\":1}"), std::string::npos);
}

TEST(status_server, lifecycle_events_become_feed_entries_but_hello) {
    auto o = options_with("", "{}");
    o.status_interval = 1h; // only the feed in the stream
    status_server server(std::move(o));
    server.start();
    gw::lifecycle_event hello;
    hello.kind = gw::lifecycle_kind::hello;
    hello.shard = 1;
    server.publish(hello);
    gw::lifecycle_event closed;
    closed.kind = gw::lifecycle_kind::closed;
    closed.shard = 1;
    closed.code = 4000;
    closed.reaction = gw::close_reaction::resume;
    server.publish(closed);

    raw_client c(server.port());
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until("closed with 4000 (Unknown error): resuming")) << c.received();
    EXPECT_NE(c.received().find("event: lifecycle\n"), std::string::npos) << c.received();
    EXPECT_NE(c.received().find(R"("kind":"closed","code":4000,"name":"Unknown error")"),
              std::string::npos)
        << c.received();
    EXPECT_EQ(c.received().find(R"("kind":"hello")"), std::string::npos) << c.received();
}

TEST(status_shards, the_cluster_snapshot_as_the_page_shows_it) {
    std::vector<io::shard_status> shards(3);
    shards[0].id = 4;
    shards[0].state = gw::shard_state::active;
    shards[0].latency = std::chrono::milliseconds{87};
    shards[0].dispatches = 12;
    shards[0].identifies = 1;
    shards[0].resumes = 3;
    shards[0].last_close_code = 4900;
    shards[1].id = 5;
    shards[1].state = gw::shard_state::fatally_closed;
    shards[2].id = 6;
    shards[2].state = gw::shard_state::resuming;
    shards[2].latency = std::chrono::milliseconds{0};
    shards[2].heartbeat_rtt = std::chrono::microseconds{240}; // preferred: to the microsecond
    const auto view = io::status_shards(shards);
    ASSERT_EQ(view.size(), 3U);
    EXPECT_EQ(view[0].id, 4U);
    EXPECT_EQ(view[0].state, "active");
    EXPECT_EQ(view[0].latency_ms, 87.0);
    EXPECT_EQ(view[0].dispatches, 12U);
    EXPECT_EQ(view[0].identifies, 1U);
    EXPECT_EQ(view[0].resumes, 3U);
    EXPECT_EQ(view[0].last_close_code, 4900);
    EXPECT_EQ(view[1].state, "fatally_closed");
    EXPECT_FALSE(view[1].latency_ms);
    EXPECT_FALSE(view[1].last_close_code);
    EXPECT_EQ(view[2].state, "resuming");
    EXPECT_DOUBLE_EQ(view[2].latency_ms.value_or(-1), 0.24);
}

} // namespace
