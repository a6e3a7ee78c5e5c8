#include "shardgate/gateway/error.hpp"

#include <string>

namespace shardgate::gateway {
namespace {

class gateway_category_impl final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "shardgate.gateway"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::malformed_json: return "the gateway sent a frame that is not valid JSON";
        case error::unexpected_field_type: return "the gateway sent op, s or t with the wrong type";
        case error::unknown_opcode: return "the gateway sent an opcode a client never receives";
        case error::bad_hello:
            return "Hello carried no heartbeat_interval from 1 ms to 24 h (86400000)";
        case error::bad_ready: return "READY lacked session_id or resume_gateway_url";
        case error::decompression_failed: return "the compressed gateway stream is corrupt";
        case error::decompressed_too_large:
            return "a gateway message inflated past the decompressed-size cap";
        case error::compressed_frame_too_large:
            return "compressed data piled up past the cap without completing a message";
        case error::payload_too_large:
            return "the encoded command is over Discord's 4096-byte limit";
        case error::invalid_command: return "a command field is outside its documented range";
        case error::send_queue_full: return "too many commands are queued for this shard";
        case error::shard_stopped: return "the shard has stopped and sends nothing more";
        case error::identify_budget_exhausted:
            return "the daily session-start budget is nearly spent; identifying is refused";
        case error::unknown_close_code: return "Discord documents no such gateway close code";
        case error::unknown_intent: return "Discord documents no such gateway intent";
        case error::dispatch_before_hello:
            return "the gateway sent a dispatch before Hello (a connection starts with Hello)";
        case error::bad_resume_gateway_url:
            return "READY's resume_gateway_url is not a usable ws:// or wss:// URL";
        case error::resume_gateway_url_unreachable:
            return "connections to resume_gateway_url kept failing before Hello";
        case error::hello_timeout: return "the gateway sent no Hello within hello_timeout";
        }
        return "unknown shardgate.gateway error";
    }

    [[nodiscard]] std::error_condition default_error_condition(int ev) const noexcept override {
        switch (static_cast<error>(ev)) {
        case error::malformed_json:
        case error::unexpected_field_type:
        case error::unknown_opcode:
        case error::bad_hello:
        case error::bad_ready:
        case error::dispatch_before_hello:
        case error::bad_resume_gateway_url:
        case error::decompression_failed:
        case error::decompressed_too_large:
        case error::compressed_frame_too_large: return condition::protocol_violation;
        case error::identify_budget_exhausted: return condition::fatal;
        default: return {ev, *this};
        }
    }
};

class condition_category_impl final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override {
        return "shardgate.gateway.condition";
    }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<condition>(ev)) {
        case condition::resumable: return "reconnect and resume the session";
        case condition::reidentify: return "reconnect and identify a new session";
        case condition::fatal: return "stop until the configuration is fixed";
        case condition::protocol_violation: return "the peer violated the gateway protocol";
        }
        return "unknown shardgate.gateway condition";
    }
};

} // namespace

const std::error_category& gateway_category() noexcept {
    static const gateway_category_impl instance;
    return instance;
}

const std::error_category& condition_category() noexcept {
    static const condition_category_impl instance;
    return instance;
}

std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), gateway_category()};
}

std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

} // namespace shardgate::gateway
