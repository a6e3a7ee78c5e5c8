// Events/s into JetStream: shardgate's `bridge::event_publisher` (Nats-Msg-Id, five headers, PubAck
// bookkeeping per shard) beside a bare libnats async publisher of the same payloads (no headers,
// no id), in the same run against the same nats-server. Needs a `nats-server -js`:
//   nats-server -js -a 127.0.0.1 -p 14222 -sd /tmp/js &
//   build/release/bench/shardgate_bench_publish nats://127.0.0.1:14222 200000
// Prints one JSON line. The server shares the machine's cores, so the ratio is the figure to read.

#include "shardgate/bridge/connection.hpp"
#include "shardgate/bridge/event_publisher.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nats/nats.h>
#include <string>

namespace {

using steady = std::chrono::steady_clock;

std::string payload() {
    // About 1.1 KB, the size of a MESSAGE_CREATE with an embed and a member.
    std::string d = R"({"id":"1296157385419837440","channel_id":"964301297195794802","guild_id":)"
                    R"("964301297195794800","content":")";
    d.append(900, 'x');
    d += R"(","author":{"id":"1","username":"bench"},"member":{"roles":[]},"embeds":[]})";
    return d;
}

void add_stream(jsCtx* js, const char* name, const char* subjects) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    const char* list[] = {subjects};
    cfg.Subjects = list;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    js_DeleteStream(js, name, nullptr, nullptr);
    jsStreamInfo* si = nullptr;
    if (js_AddStream(&si, js, &cfg, nullptr, nullptr) == NATS_OK) {
        jsStreamInfo_Destroy(si);
    }
}

double bare(const char* url, int count, const std::string& d) {
    natsConnection* nc = nullptr;
    natsConnection_ConnectTo(&nc, url);
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 4096;
    jsCtx* js = nullptr;
    natsConnection_JetStream(&js, nc, &o);
    add_stream(js, "BENCH_BARE", "bare.>");
    const auto start = steady::now();
    for (int i = 0; i < count; ++i) {
        while (js_PublishAsync(js, "bare.events.0.MESSAGE_CREATE", d.data(),
                               static_cast<int>(d.size()), nullptr) == NATS_TIMEOUT) {
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 120'000;
    js_PublishAsyncComplete(js, &po);
    const double s = std::chrono::duration<double>(steady::now() - start).count();
    js_DeleteStream(js, "BENCH_BARE", nullptr, nullptr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return count / s;
}

/// The bare publisher again, with the five headers the contract puts on every message (the
/// Nats-Msg-Id makes the server keep and check an id per message).
double bare_with_headers(const char* url, int count, const std::string& d) {
    natsConnection* nc = nullptr;
    natsConnection_ConnectTo(&nc, url);
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 4096;
    jsCtx* js = nullptr;
    natsConnection_JetStream(&js, nc, &o);
    add_stream(js, "BENCH_HDR", "hdr.>");
    const auto start = steady::now();
    for (int i = 1; i <= count; ++i) {
        natsMsg* m = nullptr;
        natsMsg_Create(&m, "hdr.events.0.MESSAGE_CREATE", nullptr, d.data(),
                       static_cast<int>(d.size()));
        const auto seq = std::to_string(i);
        const auto id = "bench-session:" + seq;
        natsMsgHeader_Set(m, "Nats-Msg-Id", id.c_str());
        natsMsgHeader_Set(m, "Shardgate-Shard", "0");
        natsMsgHeader_Set(m, "Shardgate-Seq", seq.c_str());
        natsMsgHeader_Set(m, "Shardgate-Session", "bench-session");
        natsMsgHeader_Set(m, "Shardgate-Event", "MESSAGE_CREATE");
        while (js_PublishMsgAsync(js, &m, nullptr) == NATS_TIMEOUT) {
        }
        natsMsg_Destroy(m);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 120'000;
    js_PublishAsyncComplete(js, &po);
    const double s = std::chrono::duration<double>(steady::now() - start).count();
    js_DeleteStream(js, "BENCH_HDR", nullptr, nullptr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return count / s;
}

double shardgate_publisher(const char* url, int count, const std::string& d) {
    namespace bridge = shardgate::bridge;
    bridge::nats_settings ns;
    ns.urls = {url};
    ns.wait_for_server = false;
    std::error_code ec;
    std::string detail;
    auto connection = bridge::nats_connection::open(ns, ec, detail);
    if (!connection) {
        std::fprintf(stderr, "%s\n", detail.c_str());
        std::exit(1);
    }
    bridge::stream_settings st;
    st.stream = "BENCH_SHARDGATE";
    st.subject_prefix = "bench";
    double rate = 0;
    {
        bridge::event_publisher p(connection, st);
        if (p.ensure_stream(std::chrono::seconds(5), detail)) {
            std::fprintf(stderr, "%s\n", detail.c_str());
            std::exit(1);
        }
        const auto start = steady::now();
        for (int i = 1; i <= count; ++i) {
            p.publish(0, "bench-session", static_cast<std::uint64_t>(i), "MESSAGE_CREATE", d);
        }
        while (!p.drain(0, std::chrono::seconds(120))) {
        }
        rate = count / std::chrono::duration<double>(steady::now() - start).count();
    }
    natsConnection* nc = nullptr;
    natsConnection_ConnectTo(&nc, url);
    jsCtx* js = nullptr;
    natsConnection_JetStream(&js, nc, nullptr);
    js_DeleteStream(js, "BENCH_SHARDGATE", nullptr, nullptr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return rate;
}

} // namespace

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    const int count = argc > 2 ? std::atoi(argv[2]) : 100'000;
    const auto d = payload();
    // Alternate so that none always runs on a warmer server.
    double bare_sum = 0;
    double headers_sum = 0;
    double ours_sum = 0;
    std::string runs;
    for (int round = 0; round < 2; ++round) {
        const double b = bare(url, count, d);
        const double h = bare_with_headers(url, count, d);
        const double o = shardgate_publisher(url, count, d);
        bare_sum += b;
        headers_sum += h;
        ours_sum += o;
        runs += (round == 0 ? "" : ",") + std::string("[") + std::to_string(static_cast<long>(b)) +
                "," + std::to_string(static_cast<long>(h)) + "," +
                std::to_string(static_cast<long>(o)) + "]";
    }
    std::printf("{\"messages\":%d,\"payload_bytes\":%zu,\"runs_bare_headers_shardgate\":[%s],"
                "\"ratio_to_bare\":%.3f,\"ratio_to_bare_with_headers\":%.3f}\n",
                count, d.size(), runs.c_str(), ours_sum / bare_sum, ours_sum / headers_sum);
    return 0;
}
