// What the cluster's metrics add per dispatch: finding the event's counter by name and adding to a
// single-writer counter. Compared with the ~3 us the sans-I/O receive path spends per message
// (shardgate_bench_inflate, shard_zlib), to show the instrumentation is noise on the hot path.

#include "cluster_metrics.hpp"
#include "shardgate/gateway/dispatch_events.hpp"

#include <array>
#include <benchmark/benchmark.h>
#include <string_view>

namespace {

namespace detail = shardgate::io::detail;

// A mix like a busy bot's: mostly messages and typing, some guild events, one unknown name.
constexpr std::array<std::string_view, 8> names{
    "MESSAGE_CREATE",       "TYPING_START",        "MESSAGE_CREATE",  "MESSAGE_UPDATE",
    "MESSAGE_REACTION_ADD", "GUILD_MEMBER_UPDATE", "PRESENCE_UPDATE", "SOMETHING_NEW"};

void count_dispatch(benchmark::State& state) {
    detail::worker_counters counters;
    std::size_t i = 0;
    for (auto _ : state) {
        const auto name = names[i++ % names.size()];
        counters.dispatches_by_event[detail::dispatch_index(name)].add(1);
        benchmark::DoNotOptimize(counters);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(count_dispatch);

void write_metrics_1000_shards(benchmark::State& state) {
    detail::cluster_metrics_view view;
    detail::worker_counters counters;
    view.workers.push_back(&counters);
    view.shard_count = 1000;
    for (std::uint32_t id = 0; id < 1000; ++id) {
        shardgate::io::shard_status s;
        s.id = id;
        s.state = shardgate::gateway::shard_state::active;
        s.latency = std::chrono::milliseconds(40);
        s.dispatches = 123'456;
        view.shards.push_back(s);
    }
    for (auto _ : state) {
        std::string out;
        detail::write_cluster_metrics(out, view);
        benchmark::DoNotOptimize(out);
        state.counters["bytes"] = static_cast<double>(out.size());
    }
}
BENCHMARK(write_metrics_1000_shards)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
