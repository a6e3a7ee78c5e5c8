#include "shardgate/observe/prometheus.hpp"

#include <charconv>
#include <cmath>

namespace shardgate::observe {

namespace {

void append_number(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
    } else if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
    } else {
        std::array<char, 32> buf{};
        const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
        out.append(buf.data(), r.ptr);
    }
}

void append_number(std::string& out, std::uint64_t value) {
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    out.append(buf.data(), r.ptr);
}

void append_escaped(std::string& out, std::string_view value, bool help) {
    for (const char c : value) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '"':
            if (help) {
                out += c;
            } else {
                out += "\\\"";
            }
            break;
        default: out += c;
        }
    }
}

} // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    append_escaped(out, value, false);
    return out;
}

void prometheus_writer::family(std::string_view name, std::string_view type,
                               std::string_view help) {
    *out_ += "# HELP ";
    *out_ += name;
    *out_ += ' ';
    append_escaped(*out_, help, true);
    *out_ += "\n# TYPE ";
    *out_ += name;
    *out_ += ' ';
    *out_ += type;
    *out_ += '\n';
}

void prometheus_writer::series(std::string_view name, std::span<const label> labels,
                               std::string_view extra_name, std::string_view extra_value) {
    *out_ += name;
    if (labels.empty() && extra_name.empty()) {
        *out_ += ' ';
        return;
    }
    *out_ += '{';
    bool first = true;
    for (const auto& l : labels) {
        if (!first) {
            *out_ += ',';
        }
        first = false;
        *out_ += l.name;
        *out_ += "=\"";
        append_escaped(*out_, l.value, false);
        *out_ += '"';
    }
    if (!extra_name.empty()) {
        if (!first) {
            *out_ += ',';
        }
        *out_ += extra_name;
        *out_ += "=\"";
        *out_ += extra_value;
        *out_ += '"';
    }
    *out_ += "} ";
}

void prometheus_writer::sample(std::string_view name, std::initializer_list<label> labels,
                               double value) {
    sample(name, std::span<const label>(labels.begin(), labels.size()), value);
}

void prometheus_writer::sample(std::string_view name, std::span<const label> labels, double value) {
    series(name, labels);
    append_number(*out_, value);
    *out_ += '\n';
}

void prometheus_writer::sample(std::string_view name, std::initializer_list<label> labels,
                               std::uint64_t value) {
    sample(name, std::span<const label>(labels.begin(), labels.size()), value);
}

void prometheus_writer::sample(std::string_view name, std::span<const label> labels,
                               std::uint64_t value) {
    series(name, labels);
    append_number(*out_, value);
    *out_ += '\n';
}

void prometheus_writer::histogram(std::string_view name, std::span<const label> labels,
                                  const histogram_snapshot& h) {
    const std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
        std::string le;
        append_number(le, h.upper_bounds[i]);
        series(bucket, labels, "le", le);
        append_number(*out_, h.cumulative[i]);
        *out_ += '\n';
    }
    series(bucket, labels, "le", "+Inf");
    append_number(*out_, h.count);
    *out_ += '\n';
    series(std::string(name) + "_sum", labels);
    append_number(*out_, h.sum);
    *out_ += '\n';
    series(std::string(name) + "_count", labels);
    append_number(*out_, h.count);
    *out_ += '\n';
}

histogram::histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds)
    , counts_(upper_bounds.size() + 1) {}

void histogram::observe(double value) noexcept {
    std::size_t i = 0;
    while (i < bounds_.size() && !(value <= bounds_[i])) { // NaN lands in +Inf
        ++i;
    }
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    if (value > 0 && std::isfinite(value)) {
        sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(value * 1e6)),
                              std::memory_order_relaxed);
    }
}

histogram_snapshot histogram::snapshot() const {
    histogram_snapshot s;
    s.upper_bounds = bounds_;
    s.cumulative.reserve(bounds_.size());
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.count = running + counts_.back().load(std::memory_order_relaxed);
    s.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
    return s;
}

} // namespace shardgate::observe
