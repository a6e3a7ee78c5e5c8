// `GET /gateway/bot`'s answer, read and checked, and discovery's errors. Apart from discovery.cpp
// (which does the HTTP) so that it is small enough to fuzz on its own: it is text from the network.
#include "shardgate/gateway/detail/printable.hpp"
#include "shardgate/gateway/websocket_url.hpp"
#include "shardgate/io/discovery.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shardgate::io {
namespace {

/// A non-negative integer field, or nullopt when absent or of another type.
std::optional<std::uint64_t> uint_field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_uint64()) {
        return v->get_uint64();
    }
    if (v->is_int64() && v->get_int64() >= 0) {
        return static_cast<std::uint64_t>(v->get_int64());
    }
    if (v->is_double() && v->get_double() >= 0 && v->get_double() < 1e15) {
        return static_cast<std::uint64_t>(v->get_double());
    }
    return std::nullopt;
}

std::uint32_t clamp32(std::uint64_t v) {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, 0xffff'ffffU));
}

class discovery_category_impl final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "shardgate.discovery"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<discovery_error>(ev)) {
        case discovery_error::token_rejected: return "token rejected (401): check DISCORD_TOKEN";
        case discovery_error::rate_limited: return "rate limited (429) beyond the retry budget";
        case discovery_error::bad_response: return "unexpected /gateway/bot response";
        case discovery_error::http_error: return "HTTP error from /gateway/bot";
        case discovery_error::bad_url: return "the API base is not an http:// or https:// URL";
        }
        return "unknown discovery error";
    }
};

} // namespace

const std::error_category& discovery_category() noexcept {
    static const discovery_category_impl category;
    return category;
}

std::error_code make_error_code(discovery_error e) noexcept {
    return {static_cast<int>(e), discovery_category()};
}

std::error_code parse_gateway_bot(std::string_view body, gateway_bot_info& out,
                                  std::string& detail) {
    std::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) {
        detail = "/gateway/bot did not answer a JSON object";
        return discovery_error::bad_response;
    }
    const auto& o = v.as_object();
    const auto* url = o.if_contains("url");
    const auto shards = uint_field(o, "shards");
    const auto* limit = o.if_contains("session_start_limit");
    if (url == nullptr || !url->is_string() || url->get_string().empty() || !shards ||
        *shards == 0 || limit == nullptr || !limit->is_object()) {
        detail = "/gateway/bot lacks url, shards or session_start_limit";
        return discovery_error::bad_response;
    }
    const auto& l = limit->as_object();
    const auto total = uint_field(l, "total");
    const auto remaining = uint_field(l, "remaining");
    const auto reset_after = uint_field(l, "reset_after");
    const auto max_concurrency = uint_field(l, "max_concurrency");
    if (!total || !remaining || !reset_after || !max_concurrency) {
        detail = "/gateway/bot's session_start_limit lacks total, remaining, reset_after or "
                 "max_concurrency";
        return discovery_error::bad_response;
    }
    const std::string_view gateway_url(url->get_string().data(), url->get_string().size());
    if (!gateway::is_websocket_url(gateway_url)) {
        // Named as it came, but printable: it is the network's text.
        detail = "/gateway/bot returned the gateway URL \"" +
                 gateway::detail::printable(gateway_url, 200) +
                 "\", which is not a ws:// or wss:// URL";
        return discovery_error::bad_response;
    }
    out.url.assign(gateway_url);
    out.shards = clamp32(*shards);
    out.limit.total = clamp32(*total);
    out.limit.remaining = clamp32(*remaining);
    out.limit.reset_after = std::chrono::milliseconds(
        static_cast<std::int64_t>(std::min<std::uint64_t>(*reset_after, std::uint64_t{1} << 40U)));
    out.limit.max_concurrency = std::max<std::uint32_t>(1, clamp32(*max_concurrency));
    return {};
}

} // namespace shardgate::io
