#pragma once
/// @file
/// Prometheus text exposition (format 0.0.4): a writer for `/metrics` and a lock-free histogram.
///
/// Metric names follow Prometheus conventions: the `shardgate_` prefix, `_total` for counters, base
/// units (`_seconds`, `_bytes`).
/// @see https://prometheus.io/docs/instrumenting/exposition_formats/

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardgate::observe {

/// The Content-Type of the text format.
inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

/// One label of a sample. Values are escaped by the writer.
struct label {
    std::string_view name;
    std::string_view value;
};

/// What a histogram holds at one moment: cumulative counts per upper bound, the count and sum.
struct histogram_snapshot {
    std::span<const double> upper_bounds;
    std::vector<std::uint64_t> cumulative; ///< One per upper bound (then +Inf = `count`).
    std::uint64_t count = 0;
    double sum = 0;
};

/// Appends metric families to a string in the text format.
///
/// @par Example
/// @code
/// std::string text;
/// prometheus_writer w(text);
/// w.family("shardgate_dispatches_total", "counter", "Dispatches received, by event name.");
/// w.sample("shardgate_dispatches_total", {{"event", "MESSAGE_CREATE"}}, 42);
/// @endcode
class prometheus_writer {
public:
    explicit prometheus_writer(std::string& out) noexcept
        : out_(&out) {}

    /// `# HELP` and `# TYPE` lines; call once per family, before its samples.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, std::initializer_list<label> labels, double value);
    void sample(std::string_view name, std::span<const label> labels, double value);
    void sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value);
    void sample(std::string_view name, std::span<const label> labels, std::uint64_t value);
    /// `name_bucket{...,le="..."}` lines, `name_sum` and `name_count`.
    void histogram(std::string_view name, std::span<const label> labels,
                   const histogram_snapshot& h);

private:
    void series(std::string_view name, std::span<const label> labels,
                std::string_view extra_name = {}, std::string_view extra_value = {});
    std::string* out_;
};

/// A histogram with fixed buckets that many threads may observe into without locks.
///
/// @par Thread Safety
/// `observe` and `snapshot` may be called from any thread.
class histogram {
public:
    /// @param upper_bounds Increasing bucket bounds (the +Inf bucket is implied); must outlive
    /// this.
    explicit histogram(std::span<const double> upper_bounds);

    void observe(double value) noexcept;
    [[nodiscard]] histogram_snapshot snapshot() const;

private:
    std::span<const double> bounds_;
    std::vector<std::atomic<std::uint64_t>> counts_; // per bucket, not cumulative; last is +Inf
    std::atomic<std::uint64_t> sum_micros_{0};       // sum in millionths, to stay lock-free
};

/// Buckets for network latencies in seconds: 1 ms to 10 s.
inline constexpr std::array<double, 13> latency_buckets_seconds{
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

/// Escapes a label value: backslash, double quote and newline.
[[nodiscard]] std::string escape_label_value(std::string_view value);

} // namespace shardgate::observe
