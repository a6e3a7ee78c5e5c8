#pragma once
// Binding a TCP acceptor to `HOST:PORT` as the command line spells it, shared by the emulator and
// the status server. Private to src/io (Asio, not Beast).

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardgate::io::detail {

/// Where an acceptor ended up listening.
struct bound_address {
    std::uint16_t port = 0;
    std::string host; ///< For URLs: `127.0.0.1`, `[::1]` (the unspecified address as loopback).
    /// The address as bound, e.g. `0.0.0.0:4567` or `[::]:4567`: where the port is reachable from.
    std::string endpoint;
    bool loopback = false; ///< Bound to a loopback address only (127.0.0.0/8, ::1).
};

/// Opens, binds (SO_REUSEADDR) and listens on `listen` (`HOST:PORT`, IPv6 in brackets, port 0 for
/// a free one; host names are resolved).
/// @throws std::system_error `std::errc::invalid_argument` for a malformed address (the message
/// shows the expected form), or the socket error naming the step and the address.
bound_address open_acceptor(boost::asio::ip::tcp::acceptor& acceptor, std::string_view listen);

} // namespace shardgate::io::detail
