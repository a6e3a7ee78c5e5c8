#pragma once
// Drives emulator connections with simulated time and hand-written client frames, and decodes what
// they send the way a client would (the client's own inflater and payload decoder).

#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/commands.hpp"
#include "shardgate/gateway/compression.hpp"
#include "shardgate/gateway/payload.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace shardgate::test {

namespace emu = shardgate::emulator;
namespace gw = shardgate::gateway;
using namespace std::chrono_literals;

/// One payload the emulator sent, decoded.
struct server_frame {
    std::int64_t op = -1;
    std::optional<std::uint64_t> s;
    std::string t;
    std::string d;
    std::string text; ///< The whole payload as decoded.
};

/// A small test config: short heartbeats, a few guilds, one token.
inline emu::emulator_config emulator_test_config() {
    emu::emulator_config c;
    c.tokens = {"good-token-SECRET"};
    c.heartbeat_interval = 1'000ms;
    c.heartbeat_grace = 500ms;
    c.guilds = 4;
    c.members_per_guild = 20;
    c.public_ws_url = "ws://emulator.test";
    return c;
}

/// The client side of one emulator connection.
struct client_end {
    std::unique_ptr<emu::connection> conn;
    gw::inflater inflater;
    gw::payload_decoder decoder;
    std::vector<server_frame> frames;
    std::vector<std::size_t> wire_messages; ///< Bytes of each WebSocket message, in order.
    std::optional<emu::server_action::close> closed;
    bool dropped = false;
    bool output_after_end = false; ///< Set if anything came after a close or a drop.

    /// Frames with this opcode.
    [[nodiscard]] std::vector<server_frame> with_op(std::int64_t op) const {
        std::vector<server_frame> out;
        for (const auto& f : frames) {
            if (f.op == op) {
                out.push_back(f);
            }
        }
        return out;
    }
    /// Dispatches, optionally only those named `t`.
    [[nodiscard]] std::vector<server_frame> dispatches(std::string_view t = {}) const {
        std::vector<server_frame> out;
        for (const auto& f : frames) {
            if (f.op == 0 && (t.empty() || f.t == t)) {
                out.push_back(f);
            }
        }
        return out;
    }
    [[nodiscard]] std::uint16_t close_code() const { return closed ? closed->code : 0; }
};

class emulator_harness {
public:
    explicit emulator_harness(emu::emulator_config config = emulator_test_config())
        : world(std::move(config), now) {}

    gw::time_point now = gw::time_point{} + 1h;
    emu::world world;
    std::vector<std::unique_ptr<client_end>> clients;
    std::uint64_t next_id = 1;

    /// Opens a connection with this query string; returns its index.
    client_end& connect(std::string_view query = "v=10&encoding=json") {
        auto params = emu::parse_connect_query(query);
        auto c = std::make_unique<client_end>();
        c->inflater = gw::inflater(params.compress);
        c->conn = std::make_unique<emu::connection>(world, next_id++, params, now);
        clients.push_back(std::move(c));
        drain(*clients.back());
        return *clients.back();
    }

    void drain(client_end& c) {
        while (auto a = c.conn->poll_action()) {
            if (c.closed || c.dropped) {
                c.output_after_end = true;
            }
            if (auto* send = std::get_if<emu::server_action::send>(&*a)) {
                c.wire_messages.push_back(send->bytes.size());
                auto r = c.inflater.feed(send->bytes);
                ASSERT_FALSE(r.ec) << r.ec.message();
                if (r.message) {
                    record(c, *r.message);
                }
            } else if (auto* close = std::get_if<emu::server_action::close>(&*a)) {
                c.closed = *close;
            } else {
                c.dropped = true;
            }
        }
    }
    void drain_all() {
        for (auto& c : clients) {
            drain(*c);
        }
    }

    void text(client_end& c, std::string_view payload) {
        c.conn->on_text(now, payload);
        drain_all();
    }
    void heartbeat(client_end& c, std::optional<std::uint64_t> seq = std::nullopt) {
        text(c, seq ? R"({"op":1,"d":)" + std::to_string(*seq) + "}" : R"({"op":1,"d":null})");
    }

    /// An Identify frame from the client's own encoder.
    static std::string identify_frame(std::string token = "good-token-SECRET",
                                      std::optional<gw::shard_id> shard = gw::shard_id{0, 1},
                                      std::uint64_t intents = 1 | 512) {
        gw::identify id;
        id.token = gw::secret(std::move(token));
        id.shard = shard;
        id.intents = intents;
        std::string out;
        EXPECT_FALSE(gw::encode(id, out));
        return out;
    }
    static std::string resume_frame(std::string session_id, std::uint64_t seq,
                                    std::string token = "good-token-SECRET") {
        gw::resume r{gw::secret(std::move(token)), std::move(session_id), seq};
        std::string out;
        EXPECT_FALSE(gw::encode(r, out));
        return out;
    }
    void identify(client_end& c, std::optional<gw::shard_id> shard = gw::shard_id{0, 1},
                  std::uint64_t intents = 1 | 512) {
        text(c, identify_frame("good-token-SECRET", shard, intents));
    }

    /// Advances time to `target`, firing the world's and every open connection's deadlines at
    /// their exact times on the way.
    void advance_to(gw::time_point target) {
        for (int guard = 0; guard < 1'000'000; ++guard) {
            std::optional<gw::time_point> next = world.next_deadline();
            for (auto& c : clients) {
                if (auto d = c->conn->next_deadline(); d && (!next || *d < *next)) {
                    next = d;
                }
            }
            if (!next || *next > target) {
                break;
            }
            now = std::max(now, *next);
            world.on_deadline(now);
            for (auto& c : clients) {
                if (auto d = c->conn->next_deadline(); d && *d <= now) {
                    c->conn->on_deadline(now);
                }
            }
            drain_all();
        }
        now = target;
    }
    void advance(gw::milliseconds d) { advance_to(now + d); }

    /// The session id of the READY `c` received.
    static std::string session_id_of(const client_end& c) {
        for (const auto& f : c.frames) {
            if (f.op == 0 && f.t == "READY") {
                const auto at = f.d.find(R"("session_id":")");
                if (at == std::string::npos) {
                    return {};
                }
                const auto start = at + 14;
                return f.d.substr(start, f.d.find('"', start) - start);
            }
        }
        return {};
    }

private:
    static void record(client_end& c, std::string_view text) {
        gw::received_payload p;
        auto ec = c.decoder.decode(text, false, p);
        ASSERT_FALSE(ec) << ec.message() << ": " << text;
        server_frame f;
        f.op = p.op;
        f.s = p.s;
        f.t = std::string(p.t);
        f.d = std::string(p.d);
        f.text = std::string(text);
        c.frames.push_back(std::move(f));
    }
};

} // namespace shardgate::test
