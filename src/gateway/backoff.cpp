#include "shardgate/gateway/backoff.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace shardgate::gateway {
namespace {

// min(cap, base * 2^exponent) without overflow.
milliseconds ceiling_for(const backoff_config& config, std::uint32_t exponent) {
    const milliseconds::rep base = config.base.count();
    const milliseconds::rep cap = config.cap.count();
    if (base <= 0) {
        return milliseconds::zero();
    }
    constexpr std::uint32_t value_bits = std::numeric_limits<milliseconds::rep>::digits;
    if (exponent >= value_bits || base > (cap >> exponent)) {
        return config.cap;
    }
    return milliseconds{std::min(cap, base << exponent)};
}

} // namespace

reconnect_backoff::reconnect_backoff(backoff_config config)
    : config_(config) {
    assert(config_.base >= milliseconds::zero() && config_.cap >= milliseconds::zero());
    config_.base = std::max(config_.base, milliseconds::zero());
    config_.cap = std::max(config_.cap, milliseconds::zero());
    config_.first_jitter = std::max(config_.first_jitter, milliseconds::zero());
}

milliseconds reconnect_backoff::next_delay(double random01) {
    const std::uint32_t attempt = attempts_;
    if (attempts_ != std::numeric_limits<std::uint32_t>::max()) {
        ++attempts_;
    }
    const milliseconds::rep ceiling =
        attempt == 0 ? config_.first_jitter.count() : ceiling_for(config_, attempt - 1).count();
    const milliseconds::rep floor = attempt == 0 ? 0 : ceiling / 2;
    const milliseconds::rep span = ceiling - floor;
    const double r = std::isnan(random01) ? 0.0 : std::clamp(random01, 0.0, 1.0);
    // floor(r * (span + 1)) spreads [0, 1) evenly over the span + 1 whole values of [0, span].
    const double scaled = std::floor(r * (static_cast<double>(span) + 1.0));
    const auto offset =
        scaled >= static_cast<double>(span) ? span : static_cast<milliseconds::rep>(scaled);
    return milliseconds{floor + offset};
}

} // namespace shardgate::gateway
