#include "events.hpp"

#include "event_output.hpp"
#include "shardgate/bridge/connection.hpp"
#include "shardgate/gateway/detail/json_writer.hpp"
#include "stop_signal.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>

namespace shardgate::cli {
namespace {

using namespace std::chrono_literals;
namespace gw = shardgate::gateway;

/// How long one `next` waits: the delay before a SIGINT/SIGTERM is noticed.
constexpr auto poll_interval = 250ms;
/// Without --follow: how long the command waits for a lost NATS connection to come back before it
/// gives up (exit status 1).
constexpr auto reconnect_patience = 30s;

/// A JSON string; bytes that are not valid UTF-8 (a header is any bytes) become `?` so that the
/// line stays valid JSON.
void append_string(std::string& out, std::string_view text) {
    std::string quoted;
    gw::detail::json_writer w(quoted);
    w.string_value(text);
    if (!w.valid()) {
        std::string ascii(text);
        std::replace_if(
            ascii.begin(), ascii.end(),
            [](char c) { return static_cast<unsigned char>(c) >= 0x80U; }, '?');
        quoted.clear();
        gw::detail::json_writer fallback(quoted);
        fallback.string_value(ascii);
    }
    out += quoted;
}

std::string trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return std::string(text);
}

} // namespace

void append_stream_event_line(std::string& out, const bridge::stream_event& event) {
    out += R"({"type":"dispatch","shard":)";
    out += std::to_string(event.shard);
    out += R"(,"seq":)";
    out += std::to_string(event.seq);
    out += R"(,"t":)";
    append_string(out, event.name);
    out += R"(,"session":)";
    append_string(out, event.session);
    if (!event.error.empty()) {
        out += R"(,"error":)";
        append_string(out, event.error);
    }
    out += R"(,"d":)";
    if (event.data.empty()) {
        out += "null";
    } else {
        const auto start = out.size();
        out += event.data;
        // As `append_dispatch_line`: one event per line whatever whitespace the payload has.
        if (event.data.find_first_of("\r\n") != std::string::npos) {
            std::replace_if(
                out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
                [](char c) { return c == '\n' || c == '\r'; }, ' ');
        }
    }
    out += "}\n";
}

std::vector<std::string> split_filter(std::string_view comma_list) {
    std::vector<std::string> names;
    while (true) {
        const auto comma = comma_list.find(',');
        if (auto name = trim(comma_list.substr(0, comma)); !name.empty()) {
            names.push_back(std::move(name));
        }
        if (comma == std::string_view::npos) {
            return names;
        }
        comma_list.remove_prefix(comma + 1);
    }
}

int run_events(const events_options& options, std::ostream& out, std::ostream& err) {
    bridge::nats_settings nats;
    nats.urls = bridge::split_urls(options.nats);
    nats.name = "shardgate events";
    nats.wait_for_server = false; // unreachable at start: say so now, do not wait forever
    if (nats.urls.empty()) {
        err << "shardgate events: --nats needs a server URL, e.g. --nats nats://127.0.0.1:4222\n";
        return 2;
    }
    bridge::stream_reader_settings settings;
    settings.stream = options.stream;
    settings.subject_prefix = options.subject_prefix;
    settings.filter = split_filter(options.filter);
    settings.durable = options.durable;
    settings.follow = options.follow;
    if (const auto why = bridge::check_settings(settings); !why.empty()) {
        err << "shardgate events: " << why << '\n';
        return 2;
    }

    std::error_code ec;
    std::string detail;
    const auto connection = bridge::nats_connection::open(nats, ec, detail);
    if (!connection) {
        err << "shardgate events: " << detail << '\n';
        return 1;
    }
    auto reader = bridge::stream_reader::open(connection, settings, ec, detail);
    if (!reader) {
        err << "shardgate events: " << detail << '\n';
        return 1;
    }

    const stop_signal_guard signals; // SIGINT/SIGTERM: stop cleanly, exit status 0
    buffered_writer writer(out);
    auto disconnected_since = std::chrono::steady_clock::time_point{};
    while (!stop_signal_guard::received() && !reader->caught_up()) {
        auto event = reader->next(poll_interval, ec, detail);
        if (ec) {
            writer.flush();
            err << "shardgate events: " << detail << '\n';
            return 1;
        }
        if (event) {
            append_stream_event_line(writer.buffer(), *event);
            writer.commit();
            // A durable consumer acknowledges an event when the next one is asked for: it must be
            // on stdout by then. Otherwise one write per fetched batch.
            if (!options.durable.empty() || reader->buffered() == 0) {
                writer.flush();
            }
            disconnected_since = {};
            continue;
        }
        writer.flush();
        if (!options.follow && !connection->connected()) {
            const auto now = std::chrono::steady_clock::now();
            if (disconnected_since == std::chrono::steady_clock::time_point{}) {
                disconnected_since = now;
            } else if (now - disconnected_since > reconnect_patience) {
                err << "shardgate events: lost the connection to NATS at " << options.nats
                    << " and it did not come back within 30 s; run the command again once "
                       "nats-server is up\n";
                return 1;
            }
        } else {
            disconnected_since = {};
        }
    }
    writer.flush();
    reader->ack(ec, detail);
    if (ec) {
        err << "shardgate events: " << detail << '\n';
        return 1;
    }
    return 0;
}

} // namespace shardgate::cli
