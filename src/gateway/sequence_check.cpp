#include "shardgate/gateway/sequence_check.hpp"

namespace shardgate::gateway {

sequence_check::sequence_check(std::uint32_t shard_count)
    : shards_(shard_count) {}

void sequence_check::on_dispatch(std::uint32_t shard, std::uint64_t seq,
                                 std::string_view name) noexcept {
    if (shard >= shards_.size()) {
        return;
    }
    auto& t = shards_[shard];
    if (name == "READY") {
        t.last = 0; // a new session numbers from 1 again
    }
    t.delivered.fetch_add(1, std::memory_order_relaxed);
    if (seq <= t.last) {
        t.duplicated.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (seq > t.last + 1) {
        t.lost.fetch_add(seq - t.last - 1, std::memory_order_relaxed);
    }
    t.last = seq;
}

std::uint64_t sequence_check::delivered() const noexcept {
    return sum(&shard_track::delivered);
}

std::uint64_t sequence_check::lost() const noexcept {
    return sum(&shard_track::lost);
}

std::uint64_t sequence_check::duplicated() const noexcept {
    return sum(&shard_track::duplicated);
}

std::uint64_t sequence_check::sum(counter shard_track::*member) const noexcept {
    std::uint64_t n = 0;
    for (const auto& t : shards_) {
        n += (t.*member).load(std::memory_order_relaxed);
    }
    return n;
}

} // namespace shardgate::gateway
