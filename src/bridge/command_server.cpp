#include "command_server.hpp"

#include "shardgate/gateway/command_decoder.hpp"
#include "shardgate/gateway/snowflake.hpp"

#include <boost/json.hpp>
#include <charconv>

namespace shardgate::bridge::detail {
namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

} // namespace

command_server::command_server(natsConnection* nc, std::string prefix, io::cluster& cluster,
                               std::function<bool(std::uint32_t)> runs_here)
    : nc_(nc)
    , prefix_(std::move(prefix))
    , cluster_(cluster)
    , runs_here_(std::move(runs_here)) {}

command_server::~command_server() {
    for (auto* s : {by_shard_.get(), by_guild_.get()}) {
        if (s != nullptr) {
            natsSubscription_Unsubscribe(s);
        }
    }
}

bool command_server::start(std::string& detail) {
    natsSubscription* a = nullptr;
    natsSubscription* b = nullptr;
    const auto shards = prefix_ + ".commands.*";
    const auto guilds = prefix_ + ".commands.guild.*";
    natsStatus s =
        natsConnection_Subscribe(&a, nc_, shards.c_str(), &command_server::on_message, this);
    by_shard_.reset(a);
    if (s == NATS_OK) {
        s = natsConnection_Subscribe(&b, nc_, guilds.c_str(), &command_server::on_message, this);
        by_guild_.reset(b);
    }
    if (s != NATS_OK) {
        detail = "cannot subscribe to " + shards + ": " + describe(s);
        return false;
    }
    return true;
}

void command_server::on_message(natsConnection* /*nc*/, natsSubscription* /*sub*/, natsMsg* msg,
                                void* closure) {
    static_cast<command_server*>(closure)->handle(msg);
    natsMsg_Destroy(msg);
}

void command_server::handle(natsMsg* msg) {
    const char* reply_to = natsMsg_GetReply(msg);
    const std::string to = reply_to != nullptr ? reply_to : "";
    std::string_view subject = natsMsg_GetSubject(msg);
    subject.remove_prefix(std::min(subject.size(), prefix_.size() + 10)); // "<prefix>.commands."
    const auto count = cluster_.shard_count();
    std::uint64_t id = 0;
    std::uint32_t shard = 0;
    if (subject.rfind("guild.", 0) == 0) {
        if (!parse_u64(subject.substr(6), id) || id == 0) {
            reply(to, false, "not a guild id: " + std::string(subject.substr(6)), 0);
            return;
        }
        if (count == 0) {
            return; // not started yet: the owner (if any) answers
        }
        shard = gateway::shard_for_guild(id, count);
    } else {
        if (!parse_u64(subject, id)) {
            reply(to, false, "not a shard id: " + std::string(subject), 0);
            return;
        }
        if (count != 0 && id >= count) {
            reply(to, false,
                  "unknown shard " + std::to_string(id) + ": the bot has " + std::to_string(count) +
                      " shards",
                  0);
            return;
        }
        shard = static_cast<std::uint32_t>(id);
    }
    if (!runs_here_(shard)) {
        return; // the worker that runs it answers
    }
    gateway::command cmd;
    std::string why;
    const std::string_view body(natsMsg_GetData(msg),
                                static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    if (gateway::decode_command(body, cmd, why)) {
        ++refused_;
        reply(to, false, why, shard);
        return;
    }
    const auto ec = cluster_.send(shard, std::move(cmd), [this, to, shard](std::error_code e) {
        if (e) {
            ++refused_;
        } else {
            ++accepted_;
        }
        reply(to, !e, e ? e.message() : std::string(), shard);
    });
    if (ec) {
        ++refused_;
        reply(to, false, ec.message(), shard);
    }
}

void command_server::reply(const std::string& to, bool ok, const std::string& error,
                           std::uint32_t shard) {
    if (to.empty()) {
        return; // a publish without a reply subject: nobody to tell
    }
    boost::json::object o;
    o["ok"] = ok;
    if (ok) {
        o["shard"] = shard;
    } else {
        o["error"] = error;
    }
    const auto text = boost::json::serialize(o);
    natsConnection_Publish(nc_, to.c_str(), text.data(), static_cast<int>(text.size()));
}

} // namespace shardgate::bridge::detail
