// Synthetic traffic: how fast the emulator makes realistic dispatches (the emulator must outrun the
// clients it tests). items/s is events per second on one core.
#include "shardgate/emulator/content.hpp"
#include "shardgate/gateway/intents.hpp"

#include <benchmark/benchmark.h>

namespace em = shardgate::emulator;
namespace gw = shardgate::gateway;

namespace {

void traffic_next(benchmark::State& state) {
    em::emulator_config config;
    config.guilds = 2'500;
    config.members_per_guild = 5'000;
    const em::catalog catalog(config);
    em::traffic_generator generator(catalog, 7, 0, 1, gw::documented_intents_mask);
    std::uint64_t bytes = 0;
    std::uint64_t now_ms = 1'700'000'000'000;
    for (auto _ : state) {
        auto event = generator.next(++now_ms);
        bytes += event ? event->d.size() : 0;
        benchmark::DoNotOptimize(event);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

} // namespace

BENCHMARK(traffic_next);

BENCHMARK_MAIN();
