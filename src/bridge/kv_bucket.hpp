#pragma once
// Private to shardgate::bridge: a JetStream key-value bucket with the few operations leases,
// checkpoints and identify pacing need, compare-and-set included. nats-server 2.9 has no per-key
// TTL: a bucket has one max age for all its keys, so leases are built from revisions instead.

#include "nats_handle.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace shardgate::bridge::detail {

struct kv_value {
    std::string value;
    std::uint64_t revision = 0;
};

/// What a compare-and-set write did.
enum class cas_result { written, conflict, failed };

class kv_bucket {
public:
    /// Opens the bucket, creating it when missing. `max_age` zero: keys never expire.
    static std::optional<kv_bucket> open(jsCtx* js, const std::string& name,
                                         std::chrono::milliseconds max_age, std::string& detail);

    /// The key's value; nullopt when absent (or deleted). `ec` set on failure.
    [[nodiscard]] std::optional<kv_value> get(const std::string& key, std::error_code& ec) const;
    /// Writes `value` if the key is absent (`expected` nullopt) or still at revision `expected`.
    [[nodiscard]] cas_result write_if(const std::string& key, const std::string& value,
                                      std::optional<std::uint64_t> expected,
                                      std::uint64_t* revision = nullptr) const;
    /// Writes unconditionally.
    [[nodiscard]] bool put(const std::string& key, const std::string& value,
                           std::uint64_t* revision = nullptr) const;
    /// Deletes (a tombstone: watchers see it).
    bool erase(const std::string& key) const;

    [[nodiscard]] kvStore* get() const { return kv_.get(); }

private:
    explicit kv_bucket(kvStore* kv)
        : kv_(kv, kvStore_Destroy) {}
    std::shared_ptr<kvStore> kv_;
};

/// Wall-clock milliseconds since 1970: what processes on different machines compare (identify
/// slots). Machines in a cluster are expected to keep NTP time (a few ms apart).
std::int64_t unix_ms();

} // namespace shardgate::bridge::detail
