#pragma once
// The client core (gateway::shard) and the emulator core (emulator::connection) wired together in
// memory with one simulated clock, in the spirit of quinn's `Pair::drive`: each shard's actions go
// to its current emulator connection, the connection's actions come back to the shard, identify
// requests go through a local_identify_scheduler, and every side's deadline fires in time order.
//
// The link between a shard and its connection is two in-order queues (zero latency), so the close
// handshake behaves like a socket: closes may cross, a dropped side discards what was in flight.

#include "shardgate/emulator/connection.hpp"
#include "shardgate/emulator/world.hpp"
#include "shardgate/gateway/identify_scheduler.hpp"
#include "shardgate/gateway/shard.hpp"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace shardgate::test {

namespace emu = shardgate::emulator;
namespace gw = shardgate::gateway;
using namespace std::chrono_literals;

/// A dispatch as the shard delivered it (owned copy).
struct paired_dispatch {
    std::uint64_t seq = 0;
    std::string name;
    std::string data;
};

/// One client shard and the emulator connection it currently uses.
struct paired_shard {
    explicit paired_shard(gw::shard_config config, std::uint64_t seed)
        : rng_state(seed)
        , shard(std::move(config), [this] { return next_random(); }) {}

    // Client -> server items, and server -> client items, of the current link.
    struct client_text {
        std::string text;
    };
    struct client_close {
        std::uint16_t code;
    };
    using up_item = std::variant<client_text, client_close>;
    using down_item = emu::connection_action;

    std::uint64_t rng_state;
    gw::shard shard;
    std::unique_ptr<emu::connection> conn;
    std::deque<up_item> up;
    std::deque<down_item> down;
    bool client_closed_link = false; ///< The shard sent its close on this link.
    /// A connection the shard asked for, opening after the driver's `connect_latency`.
    std::optional<std::pair<gw::time_point, std::string>> pending_connect;

    std::vector<paired_dispatch> dispatches;
    std::vector<gw::lifecycle_event> lifecycle;
    std::vector<std::uint64_t> connection_ids;
    /// While set, the shard's own deadlines do not fire (it misses heartbeats).
    std::optional<gw::time_point> deaf_until;

    [[nodiscard]] std::vector<gw::lifecycle_event> events(gw::lifecycle_kind kind) const {
        std::vector<gw::lifecycle_event> out;
        for (const auto& e : lifecycle) {
            if (e.kind == kind) {
                out.push_back(e);
            }
        }
        return out;
    }
    [[nodiscard]] std::size_t count(gw::lifecycle_kind kind) const { return events(kind).size(); }

private:
    double next_random() {
        rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(rng_state >> 11U) / 9007199254740992.0; // [0, 1)
    }
};

class pair_driver {
public:
    pair_driver(emu::emulator_config config, std::vector<gw::shard_config> shards,
                gw::session_start_limit limit = {})
        : world(std::move(config), now)
        , scheduler(with_concurrency(limit, world.config().max_concurrency), now,
                    {world.config().identify_window, 0, world.config().session_start_reset_after}) {
        std::uint64_t seed = 1;
        for (auto& c : shards) {
            clients.push_back(std::make_unique<paired_shard>(std::move(c), seed++));
        }
    }

    gw::time_point now = gw::time_point{} + 1h;
    emu::world world;
    gw::local_identify_scheduler scheduler;
    std::vector<std::unique_ptr<paired_shard>> clients;
    std::uint64_t next_connection_id = 1;
    std::vector<gw::identify_refusal> refusals;
    /// Time from `action::connect` to the open connection (TCP, TLS and WebSocket handshakes).
    /// While it runs the session is detached and the emulator keeps sequencing traffic into its
    /// replay buffer, so a resume has something to replay.
    gw::milliseconds connect_latency{100};

    paired_shard& client(std::size_t i) { return *clients.at(i); }

    void start_all() {
        for (auto& c : clients) {
            c->shard.start(now);
        }
        pump();
    }

    /// Runs until `target`, firing every deadline at its time.
    void run_until(gw::time_point target) {
        for (int guard = 0; guard < 10'000'000; ++guard) {
            pump();
            const auto next = next_deadline();
            if (!next || *next > target) {
                break;
            }
            now = std::max(now, *next);
            fire_deadlines();
        }
        now = target;
        pump();
    }
    void run_for(gw::milliseconds d) { run_until(now + d); }

    /// Carries every pending action across until nothing moves.
    void pump() {
        bool moved = true;
        while (moved) {
            moved = false;
            for (auto& c : clients) {
                moved = drain_shard(*c) || moved;
                moved = drain_connection(*c) || moved;
                moved = deliver_up(*c) || moved;
                moved = deliver_down(*c) || moved;
            }
            moved = drain_scheduler() || moved;
        }
    }

private:
    static gw::session_start_limit with_concurrency(gw::session_start_limit l, std::uint32_t k) {
        l.max_concurrency = k;
        return l;
    }

    [[nodiscard]] std::optional<gw::time_point> next_deadline() const {
        std::optional<gw::time_point> next = world.next_deadline();
        auto consider = [&](std::optional<gw::time_point> t) {
            if (t && (!next || *t < *next)) {
                next = t;
            }
        };
        consider(scheduler.next_deadline());
        for (const auto& c : clients) {
            auto t = c->shard.next_deadline();
            if (t && c->deaf_until) {
                t = std::max(*t, *c->deaf_until);
            }
            consider(t);
            if (c->pending_connect) {
                consider(c->pending_connect->first);
            }
            if (c->conn) {
                consider(c->conn->next_deadline());
            }
        }
        return next;
    }

    void fire_deadlines() {
        if (auto t = world.next_deadline(); t && *t <= now) {
            world.on_deadline(now);
        }
        for (auto& c : clients) {
            if (c->pending_connect && c->pending_connect->first <= now) {
                open_link(*c);
            }
            if (c->deaf_until && now >= *c->deaf_until) {
                c->deaf_until.reset();
            }
            if (auto t = c->shard.next_deadline(); t && *t <= now && !c->deaf_until) {
                c->shard.on_deadline(now);
                drain_shard(*c);
            }
            if (c->conn) {
                if (auto t = c->conn->next_deadline(); t && *t <= now) {
                    c->conn->on_deadline(now);
                }
            }
        }
    }

    bool drain_scheduler() {
        bool moved = false;
        while (auto d = scheduler.poll(now)) {
            moved = true;
            if (auto* permit = std::get_if<gw::identify_permit>(&*d)) {
                auto& c = *clients.at(permit->shard_id);
                c.shard.on_identify_permit(now);
                drain_shard(c);
            } else {
                refusals.push_back(std::get<gw::identify_refusal>(*d));
            }
        }
        return moved;
    }

    bool drain_shard(paired_shard& c) {
        bool moved = false;
        while (auto a = c.shard.poll_action()) {
            moved = true;
            std::visit([&](auto&& v) { on_shard_action(c, std::forward<decltype(v)>(v)); },
                       std::move(*a));
        }
        return moved;
    }

    void on_shard_action(paired_shard& c, gw::action::connect&& a) {
        retire_link(c);
        c.pending_connect.emplace(now + connect_latency, std::move(a.url));
    }

    void open_link(paired_shard& c) {
        const auto url = std::move(c.pending_connect->second);
        c.pending_connect.reset();
        const auto q = url.find('?');
        auto params = emu::parse_connect_query(q == std::string::npos ? std::string_view{}
                                                                      : url.substr(q + 1));
        c.conn = std::make_unique<emu::connection>(world, next_connection_id, params, now);
        c.connection_ids.push_back(next_connection_id++);
        c.shard.on_connected(now);
        drain_shard(c);
    }
    void on_shard_action(paired_shard& c, gw::action::send_text&& a) {
        if (c.conn && !c.client_closed_link) {
            c.up.emplace_back(paired_shard::client_text{std::move(a.payload)});
        }
    }
    void on_shard_action(paired_shard& c, gw::action::send_close&& a) {
        if (c.conn && !c.client_closed_link) {
            c.client_closed_link = true;
            c.up.emplace_back(paired_shard::client_close{a.code});
        }
    }
    void on_shard_action(paired_shard& c, gw::action::request_identify&&) {
        scheduler.request(c.shard.id(), now);
    }
    void on_shard_action(paired_shard& c, gw::action::cancel_identify&&) {
        scheduler.cancel(c.shard.id());
    }
    void on_shard_action(paired_shard& c, gw::action::drop_transport&&) {
        c.pending_connect.reset();
        if (c.conn) {
            c.conn->on_transport_lost(now); // the server sees the TCP connection end
        }
        retire_link(c);
    }
    void on_shard_action(paired_shard& /*c*/, gw::action::release_buffers&& /*a*/) {}
    void on_shard_action(paired_shard& c, gw::dispatch_event&& e) {
        c.dispatches.push_back({e.seq, std::string(e.name), std::string(e.data)});
    }
    void on_shard_action(paired_shard& c, gw::lifecycle_event&& e) {
        c.lifecycle.push_back(std::move(e));
    }

    bool drain_connection(paired_shard& c) {
        bool moved = false;
        while (c.conn) {
            auto a = c.conn->poll_action();
            if (!a) {
                break;
            }
            moved = true;
            c.down.push_back(std::move(*a));
        }
        return moved;
    }

    // Client -> server.
    bool deliver_up(paired_shard& c) {
        bool moved = false;
        while (c.conn && !c.up.empty()) {
            moved = true;
            auto item = std::move(c.up.front());
            c.up.pop_front();
            if (auto* t = std::get_if<paired_shard::client_text>(&item)) {
                c.conn->on_text(now, t->text);
            } else {
                const auto code = std::get<paired_shard::client_close>(item).code;
                if (c.conn->open()) {
                    c.conn->on_client_close(now, code);
                    // The server answers the close with the same code (RFC 6455 echo).
                    c.down.emplace_back(emu::server_action::close{code, {}});
                }
            }
        }
        return moved;
    }

    // Server -> client.
    bool deliver_down(paired_shard& c) {
        bool moved = false;
        while (c.conn && !c.down.empty()) {
            moved = true;
            auto item = std::move(c.down.front());
            c.down.pop_front();
            if (auto* send = std::get_if<emu::server_action::send>(&item)) {
                if (send->binary) {
                    c.shard.on_binary(now, send->bytes);
                } else {
                    c.shard.on_text(now,
                                    {reinterpret_cast<const char*>(send->bytes.data()), // NOLINT
                                     send->bytes.size()});
                }
            } else if (auto* close = std::get_if<emu::server_action::close>(&item)) {
                const auto code = close->code; // the server side is already closed
                retire_link(c);
                c.shard.on_closed(now, code);
            } else {
                retire_link(c);
                c.shard.on_transport_error(now, std::make_error_code(std::errc::connection_reset));
            }
            drain_shard(c); // dispatch views are valid only until the shard's next input
        }
        return moved;
    }

    static void retire_link(paired_shard& c) {
        c.conn.reset();
        c.up.clear();
        c.down.clear();
        c.client_closed_link = false;
    }
};

/// A shard configuration that talks to the pair's emulator.
inline gw::shard_config pair_shard_config(std::uint32_t id = 0, std::uint32_t count = 1) {
    gw::shard_config c;
    c.token = gw::secret("good-token-SECRET");
    c.shard = {id, count};
    c.intents = 1 | 512; // GUILDS | GUILD_MESSAGES
    c.gateway_url = "ws://emulator.test";
    c.transport_compression = gw::compression::none;
    return c;
}

/// An emulator configuration for pair tests: 1 s heartbeats, a few guilds.
inline emu::emulator_config pair_emulator_config() {
    emu::emulator_config c;
    c.tokens = {"good-token-SECRET"};
    c.heartbeat_interval = 1'000ms;
    c.heartbeat_grace = 500ms;
    c.guilds = 6;
    c.members_per_guild = 10;
    c.public_ws_url = "ws://emulator.test";
    return c;
}

} // namespace shardgate::test
