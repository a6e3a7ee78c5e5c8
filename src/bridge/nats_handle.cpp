#include "nats_handle.hpp"

namespace shardgate::bridge::detail {
namespace {

class category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "nats"; }
    [[nodiscard]] std::string message(int code) const override {
        return natsStatus_GetText(static_cast<natsStatus>(code));
    }
};

} // namespace

const std::error_category& nats_category() noexcept {
    static const category instance;
    return instance;
}

std::string describe(natsStatus s) {
    std::string out = natsStatus_GetText(s);
    if (const char* last = nats_GetLastError(nullptr);
        last != nullptr && *last != '\0' && out != last) {
        out += ": ";
        out += last;
    }
    return out;
}

} // namespace shardgate::bridge::detail
