#include "run_loop.hpp"

#include "event_output.hpp"

#include <condition_variable>
#include <mutex>
#include <ostream>
#include <stop_token>
#include <thread>
#include <utility>

namespace shardgate::cli {
namespace {

namespace gw = gateway;
using std::chrono::milliseconds;

constexpr milliseconds tick_interval{250};

} // namespace

run_loop::run_loop(run_loop_options options, std::ostream& err)
    : options_(std::move(options))
    , err_(&err)
    , log_([this](std::string_view line) { messages_.push(line); }, options_.log.level,
           options_.log.format)
    , status_(
          {.tty = options_.stderr_is_tty, .columns = options_.columns, .command = options_.command})
    , feed_(std::string(options_.command), std::string(options_.mode)) {
    if (options_.metrics) {
        io::status_server_options page;
        page.listen = *options_.metrics;
        page.metrics = [this] {
            return options_.metrics_text ? options_.metrics_text() : cluster_->metrics();
        };
        page.status = [this] {
            return feed_.snapshot(io::status_shards(cluster_->status()),
                                  options_.status_extras ? options_.status_extras()
                                                         : observe::status_extras{});
        };
        page_.emplace(std::move(page));
    }
}

void run_loop::report(const gw::lifecycle_event& e) {
    const auto level = lifecycle_log_level(e.kind);
    if (log_.enabled(level)) {
        const auto text =
            e.kind == gw::lifecycle_kind::fatal ? fatal_line(e)
            : e.kind == gw::lifecycle_kind::protocol_error
                ? protocol_error_line(e)
                : "shard " + std::to_string(e.shard) + ": " + observe::describe_lifecycle(e);
        log_.log(level, text, {{"shard", e.shard}, {"event", gw::to_string(e.kind)}});
    }
    if (page_) {
        page_->publish(e);
    }
}

void run_loop::publish_entry(std::string entry_json) {
    if (page_) {
        page_->publish("lifecycle", std::move(entry_json));
    }
}

io::cluster_exit run_loop::run(io::cluster& cluster, const run_hooks& hooks, std::error_code& ec,
                               std::string& detail) {
    cluster_ = &cluster;
    if (page_) {
        page_->start();
        log_.info("status page and metrics at " + page_->url(),
                  {{"metrics", page_->url() + "metrics"}});
    }
    if (hooks.on_start) {
        hooks.on_start();
    }
    started_at_ = options_.started_at.value_or(clock::now());
    io::cluster_exit exit = io::cluster_exit::startup_failed;
    {
        std::jthread ticker([&](const std::stop_token& stop) {
            std::mutex m;
            std::condition_variable_any cv;
            std::unique_lock lock(m);
            while (!cv.wait_for(lock, stop, tick_interval, [] { return false; }) &&
                   !stop.stop_requested()) {
                tick_(cluster, hooks);
            }
        });
        exit = hooks.run ? hooks.run(ec, detail) : cluster.run(ec, detail);
    }
    elapsed_ = std::chrono::duration_cast<milliseconds>(clock::now() - started_at_);
    if (page_) {
        page_->stop();
    }
    return exit;
}

bool run_loop::draws_status_() const noexcept {
    return options_.live_status && options_.log.format == observe::log_format::text;
}

void run_loop::tick_(io::cluster& cluster, const run_hooks& hooks) {
    if (hooks.before_tick) {
        hooks.before_tick();
    }
    const auto elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - started_at_);
    auto shards = cluster.status();
    if (hooks.on_tick) {
        hooks.on_tick(shards);
    }
    if (draws_status_()) {
        *err_ << status_.update(elapsed, shards, messages_.take());
        err_->flush();
    } else { // JSON logs or events on stdout: only records on stderr, no status drawing
        write_messages(*err_, messages_.take());
    }
    if (!shards.empty()) {
        last_snapshot_ = std::move(shards);
    }
    if (stopped_by_ == stop_cause::none && stop_signal_guard::received()) {
        stopped_by_ = stop_cause::signal;
        hooks.stop ? hooks.stop() : cluster.stop();
    }
    if (stopped_by_ == stop_cause::none && options_.duration && elapsed >= *options_.duration) {
        stopped_by_ = stop_cause::duration;
        hooks.stop ? hooks.stop() : cluster.stop();
    }
    if (hooks.after_tick) {
        hooks.after_tick();
    }
}

void run_loop::keep_final_snapshot(const io::cluster& cluster) {
    if (auto shards = cluster.status(); !shards.empty()) {
        last_snapshot_ = std::move(shards);
    }
}

void run_loop::write_pending_messages() {
    write_messages(*err_, messages_.take());
}

void run_loop::write_final(std::string_view reason, const status_totals& totals,
                           std::initializer_list<observe::log_field> fields) {
    if (!options_.live_status) {
        write_pending_messages();
    } else if (options_.log.format == observe::log_format::json) {
        // JSON logs: the final line is a record too, so that every stderr line parses.
        write_pending_messages();
        log_.info(reason, fields);
        write_pending_messages();
    } else {
        *err_ << status_.finish(elapsed_, last_snapshot_, totals, reason, messages_.take());
    }
    err_->flush();
}

} // namespace shardgate::cli
