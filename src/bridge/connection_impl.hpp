#pragma once
// Private to shardgate::bridge: what a nats_connection holds.

#include "nats_handle.hpp"
#include "shardgate/bridge/connection.hpp"

namespace shardgate::bridge {

class nats_connection::impl {
public:
    detail::options_ptr options;
    detail::connection_ptr connection;
    [[nodiscard]] natsConnection* get() const { return connection.get(); }
};

} // namespace shardgate::bridge
