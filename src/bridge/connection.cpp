#include "shardgate/bridge/connection.hpp"

#include "connection_impl.hpp"

#include <limits>
#include <thread>

namespace shardgate::bridge {

std::vector<std::string> split_urls(std::string_view comma_list) {
    std::vector<std::string> out;
    while (!comma_list.empty()) {
        const auto comma = comma_list.find(',');
        auto part = comma_list.substr(0, comma);
        while (!part.empty() && part.front() == ' ') {
            part.remove_prefix(1);
        }
        while (!part.empty() && part.back() == ' ') {
            part.remove_suffix(1);
        }
        if (!part.empty()) {
            out.emplace_back(part);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        comma_list.remove_prefix(comma + 1);
    }
    return out;
}

nats_connection::nats_connection(std::unique_ptr<impl> i)
    : impl_(std::move(i)) {}

nats_connection::~nats_connection() {
    if (impl_ && impl_->connection) {
        // Flushes what is buffered (a last checkpoint, a hand-over) before the socket goes.
        natsConnection_FlushTimeout(impl_->get(), 1'000);
        natsConnection_Close(impl_->get());
    }
}

std::shared_ptr<nats_connection> nats_connection::open(const nats_settings& settings,
                                                       std::error_code& ec, std::string& detail) {
    ec.clear();
    if (settings.urls.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
        detail = "no NATS server given: pass --nats nats://HOST:PORT";
        return nullptr;
    }
    auto state = std::make_unique<impl>();
    natsOptions* raw = nullptr;
    if (const auto s = natsOptions_Create(&raw); s != NATS_OK) {
        ec = detail::make_error(s);
        detail = "NATS options: " + detail::describe(s);
        return nullptr;
    }
    state->options.reset(raw);
    std::vector<const char*> urls;
    urls.reserve(settings.urls.size());
    for (const auto& u : settings.urls) {
        urls.push_back(u.c_str());
    }
    auto* o = state->options.get();
    natsStatus s = natsOptions_SetServers(o, urls.data(), static_cast<int>(urls.size()));
    if (s == NATS_OK) {
        s = natsOptions_SetName(o, settings.name.c_str());
    }
    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(o, settings.connect_timeout.count());
    }
    if (s == NATS_OK) {
        s = natsOptions_SetMaxReconnect(o, std::numeric_limits<int>::max()); // "forever"
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(o, settings.reconnect_wait.count());
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectJitter(o, 50, 50);
    }
    if (s == NATS_OK && settings.wait_for_server) {
        s = natsOptions_SetRetryOnFailedConnect(o, true, nullptr, nullptr);
    }
    if (s != NATS_OK) {
        ec = detail::make_error(s);
        detail = "NATS options: " + detail::describe(s);
        return nullptr;
    }
    natsConnection* nc = nullptr;
    s = natsConnection_Connect(&nc, o);
    if (s != NATS_OK && !(s == NATS_NOT_YET_CONNECTED && settings.wait_for_server)) {
        ec = detail::make_error(s);
        detail = "cannot connect to NATS at " + settings.urls.front() + ": " + detail::describe(s) +
                 " (is nats-server running with -js?)";
        if (nc != nullptr) {
            natsConnection_Destroy(nc);
        }
        return nullptr;
    }
    state->connection.reset(nc);
    return std::shared_ptr<nats_connection>(new nats_connection(std::move(state)));
}

bool nats_connection::connected() const {
    return natsConnection_Status(impl_->get()) == NATS_CONN_STATUS_CONNECTED;
}

bool nats_connection::wait_connected(std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!connected()) {
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

std::size_t nats_connection::max_payload() const {
    const auto n = natsConnection_GetMaxPayload(impl_->get());
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::string nats_connection::server() const {
    char buffer[256] = {};
    if (natsConnection_GetConnectedUrl(impl_->get(), buffer, sizeof buffer) == NATS_OK) {
        return buffer;
    }
    return {};
}

} // namespace shardgate::bridge
