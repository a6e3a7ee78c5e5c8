#include "listen.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <system_error>

namespace shardgate::io::detail {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::system_error bad_listen(std::string_view listen, std::string_view why) {
    return {std::make_error_code(std::errc::invalid_argument),
            "cannot listen on '" + std::string(listen) + "': " + std::string(why) +
                " (expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:8080)"};
}

struct host_port {
    std::string host;
    std::uint16_t port = 0;
};

host_port parse_listen(std::string_view listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        throw bad_listen(listen, "no HOST:PORT");
    }
    std::string_view host = listen.substr(0, colon);
    const std::string_view port = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        throw bad_listen(listen, "IPv6 hosts go in brackets");
    }
    if (host.empty()) {
        throw bad_listen(listen, "the host is empty");
    }
    unsigned value = 0;
    const auto* end = port.data() + port.size();
    const auto [ptr, ec] = std::from_chars(port.data(), end, value);
    if (port.empty() || ec != std::errc{} || ptr != end || value > 65535) {
        throw bad_listen(listen, "the port must be a number from 0 to 65535");
    }
    return {std::string(host), static_cast<std::uint16_t>(value)};
}

std::string url_host(const asio::ip::address& a) {
    if (a.is_unspecified()) {
        return a.is_v6() ? "[::1]" : "127.0.0.1";
    }
    return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

} // namespace

bound_address open_acceptor(tcp::acceptor& acceptor, std::string_view listen) {
    const auto addr = parse_listen(listen);
    boost::system::error_code ec;
    tcp::endpoint endpoint;
    const auto ip = asio::ip::make_address(addr.host, ec);
    if (!ec) {
        endpoint = tcp::endpoint(ip, addr.port);
    } else {
        tcp::resolver resolver(acceptor.get_executor());
        const auto results = resolver.resolve(addr.host, std::to_string(addr.port), ec);
        if (ec || results.empty()) {
            const std::error_code why =
                ec ? std::error_code(ec) : std::make_error_code(std::errc::invalid_argument);
            throw std::system_error(why, "cannot listen on '" + std::string(listen) +
                                             "': the host does not resolve");
        }
        endpoint = results.begin()->endpoint();
    }
    const auto fail = [&](std::string_view step) {
        throw std::system_error(ec, "cannot listen on '" + std::string(listen) + "' (" +
                                        std::string(step) + ")");
    };
    if (acceptor.open(endpoint.protocol(), ec))
        fail("open");
    if (acceptor.set_option(asio::socket_base::reuse_address(true), ec))
        fail("SO_REUSEADDR");
    if (acceptor.bind(endpoint, ec))
        fail("bind");
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec))
        fail("listen");
    const auto local = acceptor.local_endpoint(ec);
    if (ec)
        fail("local_endpoint");
    const auto a = local.address();
    const auto as_bound = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return {local.port(), url_host(a), as_bound + ":" + std::to_string(local.port()),
            a.is_loopback()};
}

} // namespace shardgate::io::detail
