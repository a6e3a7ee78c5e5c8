#include "shardgate/gateway/secret.hpp"

namespace shardgate::gateway {

std::string secret::redact(std::string text) const {
    if (value_.size() < min_redacted_size) {
        return text;
    }
    for (auto pos = text.find(value_); pos != std::string::npos; pos = text.find(value_, pos)) {
        text.replace(pos, value_.size(), "***");
        pos += 3; // past the stars: a secret made of '*' must not match them again
    }
    return text;
}

} // namespace shardgate::gateway
