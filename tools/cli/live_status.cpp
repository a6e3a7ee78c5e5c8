#include "live_status.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ostream>
#include <utility>

namespace shardgate::cli {
namespace {

namespace gw = shardgate::gateway;
using std::chrono::milliseconds;

constexpr std::string_view clear_line = "\x1b[2K"; // erase the whole line
constexpr std::string_view clear_below = "\x1b[J"; // erase from the cursor to the end
constexpr std::size_t state_count = static_cast<std::size_t>(gw::shard_state::stopped) + 1;

std::string state_name(gw::shard_state s) {
    if (s == gw::shard_state::fatally_closed) {
        return "fatal";
    }
    std::string name(gw::to_string(s));
    std::replace(name.begin(), name.end(), '_', ' ');
    return name;
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many = {}) {
    std::string text = std::to_string(n) + ' ';
    if (n == 1) {
        text += one;
    } else if (many.empty()) {
        text += one;
        text += 's';
    } else {
        text += many;
    }
    return text;
}

/// "(3 identifying, 1 connecting)" for the shards that are not active, or "".
std::string not_active_breakdown(std::span<const io::shard_status> shards) {
    std::array<std::size_t, state_count> by_state{};
    for (const auto& s : shards) {
        const auto i = static_cast<std::size_t>(s.state);
        if (i < by_state.size() && s.state != gw::shard_state::active) {
            ++by_state.at(i);
        }
    }
    std::string text;
    for (std::size_t i = 0; i < by_state.size(); ++i) {
        if (by_state.at(i) != 0) {
            text += text.empty() ? "(" : ", ";
            text +=
                std::to_string(by_state.at(i)) + ' ' + state_name(static_cast<gw::shard_state>(i));
        }
    }
    if (!text.empty()) {
        text += ')';
    }
    return text;
}

/// `0.3 ms` under 10 ms, `41 ms` above; `-` when unknown.
std::string latency_text(const std::optional<std::chrono::microseconds>& latency) {
    if (!latency) {
        return "-";
    }
    if (*latency < milliseconds(10)) {
        const auto tenths = (latency->count() + 50) / 100;
        return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " ms";
    }
    return std::to_string(std::chrono::duration_cast<milliseconds>(*latency).count()) + " ms";
}

/// The round trip to the microsecond when known, else the millisecond figure.
std::optional<std::chrono::microseconds> rtt_of(const io::shard_status& s) {
    if (s.heartbeat_rtt) {
        return s.heartbeat_rtt;
    }
    if (s.latency) {
        return std::chrono::microseconds(*s.latency);
    }
    return std::nullopt;
}

std::string pad_right(std::string text, std::size_t width) {
    if (text.size() < width) {
        text.append(width - text.size(), ' ');
    }
    return text;
}

std::string pad_left(std::string text, std::size_t width) {
    if (text.size() < width) {
        text.insert(0, width - text.size(), ' ');
    }
    return text;
}

/// Cuts a line of plain ASCII to fit a terminal row (a wrapped line would break the redraw).
std::string fit(std::string line, std::size_t columns) {
    if (columns > 1 && line.size() >= columns) {
        line.resize(columns - 1);
    }
    return line;
}

} // namespace

std::string render_progress_bar(std::size_t ready, std::size_t total, std::size_t width) {
    ready = std::min(ready, total);
    const std::size_t filled = total == 0 ? 0 : ready * width / total;
    std::string bar = "[";
    if (filled >= width) {
        bar.append(width, '=');
    } else {
        if (filled > 0) {
            bar.append(filled - 1, '=');
            bar += '>';
        }
        bar.append(width - filled, ' ');
    }
    bar += "] " + std::to_string(ready) + '/' + std::to_string(total) + " shards ready";
    return bar;
}

std::string format_elapsed(milliseconds elapsed) {
    const auto total_s = std::max<std::int64_t>(0, elapsed.count() / 1000);
    const auto two = [](std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
    const auto h = total_s / 3600;
    const auto m = (total_s / 60) % 60;
    const auto s = total_s % 60;
    return h > 0 ? std::to_string(h) + ':' + two(m) + ':' + two(s)
                 : std::to_string(m) + ':' + two(s);
}

std::string format_rate(double per_second) {
    if (!std::isfinite(per_second) || per_second < 0) {
        per_second = 0;
    }
    const auto fixed = [](double v, int precision, std::string_view suffix) {
        std::array<char, 48> text{};
        const auto r = std::to_chars(text.data(), text.data() + text.size(), v,
                                     std::chars_format::fixed, precision);
        return std::string(text.data(), r.ptr) + std::string(suffix);
    };
    if (per_second >= 999'500) {
        return fixed(per_second / 1e6, 2, "M");
    }
    if (per_second >= 9'995) {
        return fixed(per_second / 1e3, 1, "k");
    }
    return fixed(per_second, 0, "");
}

status_totals total(std::span<const io::shard_status> shards) {
    status_totals t;
    t.shards = shards.size();
    std::chrono::microseconds latency_sum{0};
    std::size_t latency_n = 0;
    for (const auto& s : shards) {
        t.active += s.state == gw::shard_state::active ? 1U : 0U;
        t.fatal += s.state == gw::shard_state::fatally_closed ? 1U : 0U;
        t.dispatches += s.dispatches;
        t.identifies += s.identifies;
        t.resumes += s.resumes;
        t.reconnects += s.reconnects;
        if (const auto rtt = rtt_of(s)) {
            latency_sum += *rtt;
            ++latency_n;
            t.latency_max = std::max(t.latency_max.value_or(std::chrono::microseconds{0}), *rtt);
        }
    }
    if (latency_n > 0) {
        t.latency_avg = latency_sum / static_cast<std::chrono::microseconds::rep>(latency_n);
    }
    return t;
}

void message_queue::push(std::string_view line) {
    while (!line.empty() && line.back() == '\n') {
        line.remove_suffix(1);
    }
    const std::lock_guard lock(mutex_);
    lines_.emplace_back(line);
}

std::vector<std::string> message_queue::take() {
    const std::lock_guard lock(mutex_);
    return std::exchange(lines_, {});
}

void write_messages(std::ostream& err, std::span<const std::string> messages) {
    for (const auto& m : messages) {
        err << m << '\n';
    }
    if (!messages.empty()) {
        err.flush();
    }
}

live_status::live_status(live_status_options options)
    : options_(options) {}

void live_status::update_rates_(milliseconds elapsed, std::span<const io::shard_status> shards) {
    const auto totals = total(shards);
    if (!window_start_) {
        window_start_ = elapsed;
        window_total_ = totals.dispatches;
        for (const auto& s : shards) {
            window_by_shard_[s.id] = s.dispatches;
        }
        return;
    }
    const auto span = elapsed - *window_start_;
    if (span < options_.rate_window || span.count() <= 0) {
        return;
    }
    const double seconds = static_cast<double>(span.count()) / 1000.0;
    const auto delta = [](std::uint64_t now, std::uint64_t before) {
        return now >= before ? static_cast<double>(now - before) : 0.0;
    };
    rate_ = delta(totals.dispatches, window_total_) / seconds;
    rate_known_ = true;
    window_total_ = totals.dispatches;
    rate_by_shard_.clear();
    for (const auto& s : shards) {
        const auto it = window_by_shard_.find(s.id);
        rate_by_shard_[s.id] =
            delta(s.dispatches, it == window_by_shard_.end() ? 0 : it->second) / seconds;
        window_by_shard_[s.id] = s.dispatches;
    }
    window_start_ = elapsed;
}

std::vector<std::string> live_status::status_lines(milliseconds elapsed,
                                                   std::span<const io::shard_status> shards) {
    std::vector<std::string> lines;
    if (shards.empty()) {
        lines.push_back("starting: discovering the gateway... " + format_elapsed(elapsed));
        return lines;
    }
    const auto t = total(shards);
    const auto breakdown = not_active_breakdown(shards);
    if (!all_ready_seen_) {
        std::string line = render_progress_bar(t.active, t.shards, options_.bar_width);
        if (!breakdown.empty()) {
            line += ' ' + breakdown;
        }
        line += "  " + format_elapsed(elapsed);
        lines.push_back(std::move(line));
    } else {
        std::string line =
            std::to_string(t.active) + '/' + std::to_string(t.shards) + " shards ready";
        if (!breakdown.empty()) {
            line += ' ' + breakdown;
        }
        if (rate_known_) {
            line += " | " + format_rate(rate_) + " events/s";
        }
        if (t.latency_avg) {
            line += " | latency " + latency_text(t.latency_avg) + " (max " +
                    latency_text(t.latency_max) + ')';
        }
        line += " | " + plural(t.resumes, "resume") + " | " + format_elapsed(elapsed);
        lines.push_back(std::move(line));
    }
    if (options_.tty && shards.size() <= options_.max_shard_lines) {
        for (const auto& s : shards) {
            const auto rate = rate_by_shard_.find(s.id);
            const auto rate_text = rate_known_ && rate != rate_by_shard_.end()
                                       ? format_rate(rate->second)
                                       : std::string("-");
            std::string line = "  shard " + pad_right(std::to_string(s.id), 4) + ' ' +
                               pad_right(state_name(s.state), 13) + pad_left(rate_text, 7) +
                               " ev/s  " + pad_left(latency_text(rtt_of(s)), 7) + "  " +
                               plural(s.resumes, "resume");
            if (s.last_close_code) {
                line += "  last close " + std::to_string(*s.last_close_code);
            }
            lines.push_back(std::move(line));
        }
    }
    return lines;
}

std::string live_status::redraw_(const std::vector<std::string>& lines,
                                 std::span<const std::string> messages) {
    std::string out;
    if (!options_.tty) {
        for (const auto& m : messages) {
            out += m;
            out += '\n';
        }
        for (const auto& l : lines) {
            out += l;
            out += '\n';
        }
        return out;
    }
    if (lines_drawn_ > 0) {
        out += "\x1b[" + std::to_string(lines_drawn_) + "A\r"; // back to the block's first row
    }
    for (const auto& m : messages) {
        out += clear_line;
        out += m;
        out += '\n';
    }
    for (const auto& l : lines) {
        out += clear_line;
        out += fit(l, options_.columns);
        out += '\n';
    }
    out += clear_below;
    lines_drawn_ = lines.size();
    return out;
}

std::string live_status::update(milliseconds elapsed, std::span<const io::shard_status> shards,
                                std::span<const std::string> messages) {
    update_rates_(elapsed, shards);
    std::vector<std::string> notes(messages.begin(), messages.end());
    const auto t = total(shards);
    bool milestone = false;
    if (!all_ready_seen_ && t.shards > 0 && t.active == t.shards) {
        all_ready_seen_ = true;
        milestone = true;
        notes.push_back(
            (t.shards == 1 ? std::string("1 shard") : "all " + plural(t.shards, "shard")) +
            " ready after " + format_elapsed(elapsed));
    }
    if (options_.tty) {
        return redraw_(status_lines(elapsed, shards), notes);
    }
    const bool due = !last_plain_ || elapsed - *last_plain_ >= options_.plain_interval;
    if (!due || milestone) {
        // The milestone note says it all; the next status line (with a rate) waits its turn.
        if (milestone) {
            last_plain_ = elapsed;
        }
        return redraw_({}, notes);
    }
    last_plain_ = elapsed;
    return redraw_(status_lines(elapsed, shards), notes);
}

std::string live_status::finish(milliseconds elapsed, std::span<const io::shard_status> shards,
                                const status_totals& t, std::string_view reason,
                                std::span<const std::string> messages) {
    std::string out =
        options_.tty ? redraw_(status_lines(elapsed, shards), messages) : redraw_({}, messages);
    const double seconds = static_cast<double>(elapsed.count()) / 1000.0;
    out += std::string(options_.command) + ": " + std::string(reason) + " after " +
           format_elapsed(elapsed) + ": " + plural(t.shards, "shard") + ", " +
           plural(t.dispatches, "dispatch", "dispatches");
    out += " (" + format_rate(seconds > 0 ? static_cast<double>(t.dispatches) / seconds : 0.0) +
           "/s), " + plural(t.identifies, "identify", "identifies") + ", " +
           plural(t.resumes, "resume");
    if (t.fatal > 0) {
        out += ", " + std::to_string(t.fatal) + " stopped on a fatal close code";
    }
    out += '\n';
    lines_drawn_ = 0;
    return out;
}

} // namespace shardgate::cli
