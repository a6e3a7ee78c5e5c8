#pragma once
// Private to shardgate::bridge: owning handles for libnats objects and its status codes as
// std::error_code. Only src/bridge includes <nats/nats.h>; the public headers name no libnats type.

#include <memory>
#include <nats/nats.h>
#include <string>
#include <system_error>

namespace shardgate::bridge::detail {

template <class T, void (*Destroy)(T*)> struct destroyer {
    void operator()(T* p) const noexcept {
        if (p != nullptr) {
            Destroy(p);
        }
    }
};

using options_ptr = std::unique_ptr<natsOptions, destroyer<natsOptions, natsOptions_Destroy>>;
using connection_ptr =
    std::unique_ptr<natsConnection, destroyer<natsConnection, natsConnection_Destroy>>;
using js_ptr = std::unique_ptr<jsCtx, destroyer<jsCtx, jsCtx_Destroy>>;
using kv_ptr = std::unique_ptr<kvStore, destroyer<kvStore, kvStore_Destroy>>;
using kv_entry_ptr = std::unique_ptr<kvEntry, destroyer<kvEntry, kvEntry_Destroy>>;
using kv_watcher_ptr = std::unique_ptr<kvWatcher, destroyer<kvWatcher, kvWatcher_Destroy>>;
using msg_ptr = std::unique_ptr<natsMsg, destroyer<natsMsg, natsMsg_Destroy>>;
using subscription_ptr =
    std::unique_ptr<natsSubscription, destroyer<natsSubscription, natsSubscription_Destroy>>;
using stream_info_ptr =
    std::unique_ptr<jsStreamInfo, destroyer<jsStreamInfo, jsStreamInfo_Destroy>>;

/// libnats statuses as an error category ("nats: timeout").
const std::error_category& nats_category() noexcept;

inline std::error_code make_error(natsStatus s) {
    return {static_cast<int>(s), nats_category()};
}

/// The status's text plus libnats' last error detail for this thread, for one log line.
std::string describe(natsStatus s);

} // namespace shardgate::bridge::detail
