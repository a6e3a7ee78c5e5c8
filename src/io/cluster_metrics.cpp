#include "cluster_metrics.hpp"

#include "shardgate/gateway/close_code.hpp"
#include "shardgate/gateway/dispatch_events.hpp"
#include "shardgate/gateway/shard.hpp"

#include <unordered_map>

namespace shardgate::io::detail {

namespace gw = gateway;
using observe::label;
using observe::prometheus_writer;

const std::size_t dispatch_index_other = gw::all_dispatch_events().size();

std::string_view to_string(reconnect_cause cause) noexcept {
    switch (cause) {
    case reconnect_cause::reconnect_requested: return "reconnect_requested";
    case reconnect_cause::invalid_session: return "invalid_session";
    case reconnect_cause::zombie: return "zombie";
    case reconnect_cause::protocol_error: return "protocol_error";
    case reconnect_cause::connection_lost: return "connection_lost";
    case reconnect_cause::closed_by_gateway: return "closed_by_gateway";
    }
    return "closed_by_gateway";
}

std::string_view connection_failure_kind(const gw::lifecycle_event& closed) {
    if (closed.cause == gw::disconnect_cause::hello_timeout) {
        return "hello_timeout";
    }
    const auto& ec = closed.error;
    const bool reset = ec == std::errc::connection_reset || ec == std::errc::broken_pipe;
    // Asked only where it decides: message() builds a string.
    const auto eof = [&ec] {
        return ec.category().name() == std::string_view("asio.misc") ||
               ec.message() == "End of file";
    };
    // The stage the transport was in says what failed; the error says the rest.
    if (ec == std::errc::timed_out) {
        return "timeout";
    }
    switch (closed.stage) {
    case gw::transport_stage::resolve: return "unresolved";
    case gw::transport_stage::tls_handshake: return "tls";
    case gw::transport_stage::websocket_upgrade:
        // The server answered the upgrade with something else than 101, or not at all.
        return reset ? "reset" : eof() ? "eof" : "upgrade_declined";
    case gw::transport_stage::connect:
    case gw::transport_stage::open:
    case gw::transport_stage::unknown: break;
    }
    if (ec == std::errc::connection_refused) {
        return "refused";
    }
    if (reset) {
        return "reset";
    }
    if (ec == std::errc::invalid_argument) {
        return "url";
    }
    return eof() ? "eof" : "other";
}

std::size_t dispatch_index(std::string_view name) noexcept {
    static const auto index = [] {
        std::unordered_map<std::string_view, std::size_t> m;
        const auto all = gw::all_dispatch_events();
        for (std::size_t i = 0; i < all.size(); ++i) {
            m.emplace(all[i].name, i);
        }
        return m;
    }();
    const auto it = index.find(name);
    return it == index.end() ? dispatch_index_other : it->second;
}

worker_counters::worker_counters()
    : dispatches_by_event(gw::all_dispatch_events().size() + 1) {}

namespace {

constexpr std::array all_states{
    gw::shard_state::idle,           gw::shard_state::disconnected, gw::shard_state::connecting,
    gw::shard_state::awaiting_hello, gw::shard_state::identifying,  gw::shard_state::resuming,
    gw::shard_state::active,         gw::shard_state::closing,      gw::shard_state::fatally_closed,
    gw::shard_state::stopped,
};

template <class Member> std::uint64_t sum(const cluster_metrics_view& v, Member member) {
    std::uint64_t total = 0;
    for (const auto* w : v.workers) {
        total += (w->*member).get();
    }
    return total;
}

void counter(prometheus_writer& w, const cluster_metrics_view& v, std::string_view name,
             std::string_view help, single_writer_counter worker_counters::*member) {
    w.family(name, "counter", help);
    w.sample(name, {}, sum(v, member));
}

} // namespace

void write_cluster_metrics(std::string& out, const cluster_metrics_view& v) {
    prometheus_writer w(out);

    w.family("shardgate_num_shards", "gauge", "Total shards of the bot (num_shards in Identify).");
    w.sample("shardgate_num_shards", {}, std::uint64_t{v.shard_count});

    std::array<std::uint64_t, all_states.size()> per_state{};
    for (const auto& s : v.shards) {
        per_state[static_cast<std::size_t>(s.state)]++;
    }
    w.family("shardgate_shards", "gauge", "Shards this process runs, by state.");
    for (const auto st : all_states) {
        w.sample("shardgate_shards", {{"state", gw::to_string(st)}},
                 per_state[static_cast<std::size_t>(st)]);
    }
    w.family("shardgate_shard_state", "gauge",
             "1 for the state each shard is in (one series per shard).");
    for (const auto& s : v.shards) {
        const auto id = std::to_string(s.id);
        w.sample("shardgate_shard_state", {{"shard", id}, {"state", gw::to_string(s.state)}},
                 std::uint64_t{1});
    }
    w.family("shardgate_shard_heartbeat_latency_seconds", "gauge",
             "Time from the last heartbeat to its ACK, per shard.");
    for (const auto& s : v.shards) {
        if (s.latency) {
            w.sample("shardgate_shard_heartbeat_latency_seconds", {{"shard", std::to_string(s.id)}},
                     static_cast<double>(s.latency->count()) / 1000.0);
        }
    }
    w.family("shardgate_shard_dispatches_total", "counter", "Dispatches received, per shard.");
    for (const auto& s : v.shards) {
        w.sample("shardgate_shard_dispatches_total", {{"shard", std::to_string(s.id)}},
                 s.dispatches);
    }
    if (v.heartbeat_latency != nullptr) {
        w.family("shardgate_heartbeat_latency_seconds", "histogram",
                 "Time from a heartbeat to its ACK, every shard.");
        w.histogram("shardgate_heartbeat_latency_seconds", {}, v.heartbeat_latency->snapshot());
    }

    w.family("shardgate_dispatches_total", "counter", "Dispatches received, by event name.");
    const auto all = gw::all_dispatch_events();
    for (std::size_t i = 0; i <= all.size(); ++i) {
        std::uint64_t n = 0;
        for (const auto* wc : v.workers) {
            n += wc->dispatches_by_event[i].get();
        }
        if (n > 0) {
            w.sample("shardgate_dispatches_total",
                     {{"event", i < all.size() ? all[i].name : std::string_view("other")}}, n);
        }
    }

    counter(w, v, "shardgate_received_bytes_total",
            "Bytes of gateway frames received, as on the wire (compressed when compression is on).",
            &worker_counters::received_bytes);
    counter(w, v, "shardgate_received_decompressed_bytes_total",
            "Bytes of gateway payloads received, after decompression.",
            &worker_counters::payload_bytes);
    counter(w, v, "shardgate_sent_bytes_total", "Bytes of gateway frames sent.",
            &worker_counters::sent_bytes);
    counter(w, v, "shardgate_identifies_total", "Identify payloads sent (new sessions).",
            &worker_counters::identifies);
    counter(w, v, "shardgate_resumes_total", "Sessions resumed (RESUMED received).",
            &worker_counters::resumes);
    counter(w, v, "shardgate_resume_attempts_total", "Resume payloads sent.",
            &worker_counters::resume_attempts);
    counter(w, v, "shardgate_replayed_dispatches_total",
            "Dispatches the gateway replayed between Resume and RESUMED.",
            &worker_counters::replayed);
    counter(w, v, "shardgate_send_limiter_waits_total",
            "Commands that waited for the 120-per-60-s send limit.",
            &worker_counters::send_limiter_waits);
    counter(w, v, "shardgate_zombie_connections_total",
            "Connections abandoned because a heartbeat was not acknowledged.",
            &worker_counters::zombies);

    w.family("shardgate_reconnects_total", "counter", "Reconnections, by cause.");
    for (std::size_t i = 0; i < reconnect_cause_count; ++i) {
        std::uint64_t n = 0;
        for (const auto* wc : v.workers) {
            n += wc->reconnects[i].get();
        }
        w.sample("shardgate_reconnects_total",
                 {{"cause", to_string(static_cast<reconnect_cause>(i))}}, n);
    }

    w.family("shardgate_gateway_closes_total", "counter",
             "Connections that ended, by close code (1006: no close frame).");
    for (const auto& [code, n] : v.closes_by_code) {
        const auto name = code == gw::close_code_reconnect
                              ? std::string_view("shardgate's reconnect")
                              : gw::policy_for(code).name;
        w.sample("shardgate_gateway_closes_total", {{"code", std::to_string(code)}, {"name", name}},
                 n);
    }

    w.family("shardgate_connection_failures_total", "counter",
             "Connections that ended without a close frame (1006), by what failed.");
    for (const auto& [kind, n] : v.connection_failures_by_kind) {
        w.sample("shardgate_connection_failures_total", {{"kind", kind}}, n);
    }

    w.family("shardgate_decode_errors_total", "counter",
             "Frames from the gateway that could not be decoded, by error.");
    w.sample("shardgate_decode_errors_total", {{"error", "all"}},
             sum(v, &worker_counters::decode_errors));
    for (const auto& [kind, n] : v.decode_errors_by_kind) {
        w.sample("shardgate_decode_errors_total", {{"error", kind}}, n);
    }

    if (v.identify_budget_remaining) {
        w.family("shardgate_identify_budget_remaining", "gauge",
                 "Session starts left today (session_start_limit.remaining, as spent here).");
        w.sample("shardgate_identify_budget_remaining", {},
                 std::uint64_t{*v.identify_budget_remaining});
    }
}

} // namespace shardgate::io::detail
