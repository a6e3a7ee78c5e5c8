// Gateway discovery: GET {api}/gateway/bot through the HTTP client of client_transport.cpp (so this
// file needs no Beast), JSON through Boost.JSON. The token goes into the Authorization header and
// nowhere else: no detail string or error built here ever contains it.

#include "shardgate/io/discovery.hpp"

#include "client_transport.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

namespace shardgate::io {
namespace {

/// The longest single wait on a 429; a longer `retry_after` fails with `rate_limited` instead.
constexpr std::chrono::seconds max_rate_limit_wait{60};

/// `seconds` as a wait; a huge one (a day or more, or out of range) is kept as "longer than any
/// wait we would do", never mistaken for an absent value.
std::chrono::milliseconds wait_of(double seconds) {
    constexpr double a_day = 86'400;
    if (!(seconds < a_day)) {
        return std::chrono::hours{24};
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

/// `retry_after` from a 429: the JSON body's (seconds, fractional) or else the Retry-After header.
std::optional<std::chrono::milliseconds> retry_after(const detail::http_response& res) {
    std::error_code ec;
    const auto v = boost::json::parse(res.body, ec);
    if (!ec && v.is_object()) {
        if (const auto* r = v.as_object().if_contains("retry_after");
            r != nullptr && r->is_number()) {
            const double s = r->to_number<double>();
            if (std::isfinite(s) && s >= 0) {
                return wait_of(s);
            }
        }
    }
    double s = 0;
    const auto& h = res.retry_after;
    const auto [ptr, fec] = std::from_chars(h.data(), h.data() + h.size(), s);
    if (!h.empty() && ptr == h.data() + h.size() && s >= 0 &&
        (fec == std::errc{} || fec == std::errc::result_out_of_range)) {
        return wait_of(fec == std::errc{} ? s : std::numeric_limits<double>::infinity());
    }
    return std::nullopt;
}

/// Waits on a timer (no sleep_for: every wait in the library is a timer).
void wait_for(std::chrono::milliseconds d) {
    boost::asio::io_context ioc{1};
    boost::asio::steady_timer t(ioc, d);
    boost::system::error_code ignored;
    t.wait(ignored);
}

} // namespace

std::error_code discover(const discovery_options& options, gateway_bot_info& out,
                         std::string& detail) {
    detail.clear();
    std::string base = options.api;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    const auto parsed = detail::parse_url(base);
    if (!parsed || (parsed->scheme != "http" && parsed->scheme != "https") ||
        base.find('?') != std::string::npos) {
        detail = "--api must be an http:// or https:// URL, e.g. https://discord.com/api/v10";
        return discovery_error::bad_url;
    }
    detail::http_request req;
    req.url = base + "/gateway/bot";
    req.timeout = options.timeout;
    req.verify_tls = options.verify_tls;
    req.headers.emplace_back("Authorization", "Bot " + options.token.expose());

    for (unsigned attempt = 0;; ++attempt) {
        detail::http_response res;
        if (auto ec = detail::http_exchange(req, res)) {
            // The URL is the API base (never carries the token), so it may be named.
            detail = "GET " + req.url + " failed: " + ec.message();
            return ec;
        }
        if (res.status == 200) {
            return parse_gateway_bot(res.body, out, detail);
        }
        if (res.status == 401) {
            detail = "token rejected (401): check DISCORD_TOKEN";
            return discovery_error::token_rejected;
        }
        if (res.status == 429) {
            const auto wait = retry_after(res).value_or(std::chrono::milliseconds{1'000});
            if (attempt >= options.max_rate_limit_retries || wait > max_rate_limit_wait) {
                detail =
                    "rate limited (429) on GET " + req.url + " after " +
                    std::to_string(attempt + 1) + " attempt(s); retry_after " +
                    (wait >= std::chrono::hours{24} ? std::string("a day or more")
                                                    : std::to_string(wait.count()) + " ms") +
                    (wait > max_rate_limit_wait ? " (longer than the 60 s shardgate waits)" : "");
                return discovery_error::rate_limited;
            }
            wait_for(wait);
            continue;
        }
        detail = "GET " + req.url + " answered HTTP " + std::to_string(res.status);
        return discovery_error::http_error;
    }
}

} // namespace shardgate::io
