#pragma once
// Drives a gateway::shard with simulated time and records what it does, owning copies of everything
// (dispatch views die with the next input).

#include "shardgate/gateway/shard.hpp"

#include <gtest/gtest.h>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace shardgate::test {

namespace gw = shardgate::gateway;
using namespace std::chrono_literals;

struct owned_dispatch {
    std::uint32_t shard = 0;
    std::uint64_t seq = 0;
    std::string name;
    std::string data;
};

using recorded_action =
    std::variant<gw::action::connect, gw::action::send_text, gw::action::send_close,
                 gw::action::request_identify, gw::action::cancel_identify,
                 gw::action::drop_transport, gw::action::release_buffers, owned_dispatch,
                 gw::lifecycle_event>;

inline gw::shard_config test_config() {
    gw::shard_config config;
    config.token = gw::secret("test-token-SECRET");
    config.shard = {0, 1};
    config.gateway_url = "wss://gateway.test";
    config.transport_compression = gw::compression::none;
    return config;
}

class shard_harness {
public:
    explicit shard_harness(gw::shard_config config = test_config())
        : shard(std::move(config), [this] { return random; }) {}

    /// Everything the shard emitted since construction, in order.
    std::vector<recorded_action> log;
    /// The value the injected random source returns.
    double random = 0.5;
    gw::time_point now = gw::time_point{} + 1h;
    gw::shard shard;

    void drain() {
        while (auto a = shard.poll_action()) {
            if (auto* d = std::get_if<gw::dispatch_event>(&*a)) {
                log.emplace_back(
                    owned_dispatch{d->shard, d->seq, std::string(d->name), std::string(d->data)});
            } else {
                std::visit([this](auto&& v) { record(std::forward<decltype(v)>(v)); },
                           std::move(*a));
            }
        }
    }

    /// Advances simulated time to `target`, firing every deadline on the way at its exact time.
    void advance_to(gw::time_point target) {
        for (int guard = 0; guard < 100'000; ++guard) {
            const auto deadline = shard.next_deadline();
            if (!deadline || *deadline > target) {
                break;
            }
            now = std::max(now, *deadline);
            shard.on_deadline(now);
            drain();
        }
        now = target;
    }
    void advance(gw::milliseconds d) { advance_to(now + d); }

    void start() {
        shard.start(now);
        drain();
    }
    void connected() {
        shard.on_connected(now);
        drain();
    }
    void text(std::string_view payload) {
        shard.on_text(now, payload);
        drain();
    }
    void closed(std::uint16_t code) {
        shard.on_closed(now, code);
        drain();
    }
    void dropped() {
        shard.on_transport_error(now, std::make_error_code(std::errc::connection_reset));
        drain();
    }
    void permit() {
        shard.on_identify_permit(now);
        drain();
    }

    void hello(int interval_ms = 41250) {
        text(R"({"op":10,"d":{"heartbeat_interval":)" + std::to_string(interval_ms) + "}}");
    }
    void dispatch(std::uint64_t seq, std::string_view name, std::string_view d = "{}") {
        text(R"({"op":0,"s":)" + std::to_string(seq) + R"(,"t":")" + std::string(name) +
             R"(","d":)" + std::string(d) + "}");
    }
    void ready(std::uint64_t seq = 1, std::string_view session = "session-1",
               std::string_view resume_url = "wss://resume.test") {
        dispatch(seq, "READY",
                 R"({"v":10,"session_id":")" + std::string(session) +
                     R"(","resume_gateway_url":")" + std::string(resume_url) +
                     R"(","guilds":[],"user":{"id":"1"}})");
    }
    void ack() { text(R"({"op":11})"); }

    /// Start, connect, Hello, permit, READY: an active session.
    void bring_up(int interval_ms = 41250) {
        start();
        connected();
        hello(interval_ms);
        permit();
        ready();
    }

    std::size_t mark() const { return log.size(); }

    template <class T> std::vector<T> since(std::size_t from) const {
        std::vector<T> out;
        for (std::size_t i = from; i < log.size(); ++i) {
            if (const auto* v = std::get_if<T>(&log[i])) {
                out.push_back(*v);
            }
        }
        return out;
    }
    template <class T> std::vector<T> all() const { return since<T>(0); }

    std::vector<std::string> sent_since(std::size_t from) const {
        std::vector<std::string> out;
        for (const auto& s : since<gw::action::send_text>(from)) {
            out.push_back(s.payload);
        }
        return out;
    }
    std::vector<gw::lifecycle_event> lifecycle_since(std::size_t from,
                                                     gw::lifecycle_kind kind) const {
        std::vector<gw::lifecycle_event> out;
        for (const auto& e : since<gw::lifecycle_event>(from)) {
            if (e.kind == kind) {
                out.push_back(e);
            }
        }
        return out;
    }

private:
    template <class T> void record(T&& v) {
        if constexpr (!std::is_same_v<std::decay_t<T>, gw::dispatch_event>) {
            log.emplace_back(std::forward<T>(v));
        }
    }
};

} // namespace shardgate::test
