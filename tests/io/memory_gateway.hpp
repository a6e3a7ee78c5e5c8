#pragma once
// The emulator's core (emulator::world and emulator::connection) as an in-memory gateway behind
// `io::transport_factory`, on a thread of its own, with one planned fault: fail the Nth connect,
// WebSocket handshake, read or write, as Beast's own tests do with `fail_count`. A cluster runs
// against it through `cluster_options::transport`; no socket is opened.
//
// Threads: the gateway's io_context runs the world and every connection; the transports' calls
// (send_text, close, drop) are posted to it, and what reaches a shard is posted back through the
// request's `post`, so each side stays on its own thread as with real sockets.

#include "shardgate/emulator/config.hpp"
#include "shardgate/io/transport.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace shardgate::test {

/// Where a planned fault strikes.
enum class fault_point : std::uint8_t {
    connect,   ///< The Nth connection attempt is refused.
    handshake, ///< The Nth connection's handshake fails (TCP was up, no WebSocket).
    read,      ///< The Nth message to a client is lost with its connection (a reset).
    write,     ///< The Nth message from a client fails to write, ending its connection.
};

[[nodiscard]] std::string_view to_string(fault_point p) noexcept;

/// The Nth operation of `point`, counted over every connection of the gateway (1-based).
struct fault_plan {
    fault_point point = fault_point::read;
    std::uint64_t nth = 0; ///< 0: no fault.
};

class memory_gateway {
public:
    memory_gateway(emulator::emulator_config config, fault_plan plan);
    ~memory_gateway();
    memory_gateway(const memory_gateway&) = delete;
    memory_gateway& operator=(const memory_gateway&) = delete;

    /// For `cluster_options::transport`. The gateway must outlive the cluster.
    [[nodiscard]] io::transport_factory factory();

    /// Whether the planned fault happened (so far).
    [[nodiscard]] bool fault_fired() const;
    /// The planned fault will not happen any more; returns whether it already did. A test that
    /// decides a run was clean disarms first, so the fault cannot strike after that decision.
    bool disarm();
    /// Connections that are still open.
    [[nodiscard]] std::size_t open_connections() const;
    /// Identifies and resumes the emulator accepted, as `/_emulator/stats` totals.
    [[nodiscard]] std::string stats_json() const;

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

} // namespace shardgate::test
