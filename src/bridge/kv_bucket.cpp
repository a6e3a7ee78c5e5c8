#include "kv_bucket.hpp"

namespace shardgate::bridge::detail {

std::optional<kv_bucket> kv_bucket::open(jsCtx* js, const std::string& name,
                                         std::chrono::milliseconds max_age, std::string& detail) {
    kvStore* kv = nullptr;
    natsStatus s = js_KeyValue(&kv, js, name.c_str());
    if (s == NATS_NOT_FOUND) {
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = name.c_str();
        cfg.History = 1;
        cfg.TTL = std::chrono::duration_cast<std::chrono::nanoseconds>(max_age).count();
        cfg.StorageType = js_FileStorage;
        s = js_CreateKeyValue(&kv, js, &cfg);
        if (s != NATS_OK) { // another process may have created it meanwhile
            s = js_KeyValue(&kv, js, name.c_str());
        }
    }
    if (s != NATS_OK) {
        detail = "key-value bucket " + name + ": " + describe(s);
        return std::nullopt;
    }
    return kv_bucket(kv);
}

std::optional<kv_value> kv_bucket::get(const std::string& key, std::error_code& ec) const {
    ec.clear();
    kvEntry* raw = nullptr;
    const natsStatus s = kvStore_Get(&raw, kv_.get(), key.c_str());
    kv_entry_ptr e(raw);
    if (s == NATS_NOT_FOUND) {
        return std::nullopt;
    }
    if (s != NATS_OK) {
        ec = make_error(s);
        return std::nullopt;
    }
    kv_value v;
    v.value.assign(static_cast<const char*>(kvEntry_Value(e.get())),
                   static_cast<std::size_t>(kvEntry_ValueLen(e.get())));
    v.revision = kvEntry_Revision(e.get());
    return v;
}

cas_result kv_bucket::write_if(const std::string& key, const std::string& value,
                               std::optional<std::uint64_t> expected,
                               std::uint64_t* revision) const {
    std::uint64_t rev = 0;
    const natsStatus s = expected ? kvStore_Update(&rev, kv_.get(), key.c_str(), value.data(),
                                                   static_cast<int>(value.size()), *expected)
                                  : kvStore_Create(&rev, kv_.get(), key.c_str(), value.data(),
                                                   static_cast<int>(value.size()));
    if (s == NATS_OK) {
        if (revision != nullptr) {
            *revision = rev;
        }
        return cas_result::written;
    }
    // A wrong expected revision comes back as an API error from the server.
    if (s == NATS_ERR) {
        return cas_result::conflict;
    }
    return cas_result::failed;
}

bool kv_bucket::put(const std::string& key, const std::string& value,
                    std::uint64_t* revision) const {
    std::uint64_t rev = 0;
    const natsStatus s =
        kvStore_Put(&rev, kv_.get(), key.c_str(), value.data(), static_cast<int>(value.size()));
    if (s == NATS_OK && revision != nullptr) {
        *revision = rev;
    }
    return s == NATS_OK;
}

bool kv_bucket::erase(const std::string& key) const {
    return kvStore_Delete(kv_.get(), key.c_str()) == NATS_OK;
}

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace shardgate::bridge::detail
