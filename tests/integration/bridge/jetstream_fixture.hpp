#pragma once
// A nats-server with the shardgate stream, filled the way `shardgate connect --nats` fills it
// (DESIGN.md, "Scale-out on NATS JetStream"), through libnats directly.

#include "support/nats_server.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <nats/nats.h>
#include <optional>
#include <string>
#include <vector>

namespace shardgate::test {

/// One dispatch as the publisher sends it.
struct published {
    std::uint32_t shard = 0;
    std::uint64_t seq = 0;
    std::string session;
    std::string name;
    std::string data;
};

/// A nats-server per test, a libnats connection to it and helpers to make and fill the stream.
class jetstream_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!nats_server::available()) {
            GTEST_SKIP() << "no nats-server at " << nats_server::binary()
                         << " (apt-get install nats-server, or set SHARDGATE_NATS_SERVER)";
        }
        server_ = std::make_unique<nats_server>();
        connect();
    }

    void TearDown() override {
        disconnect();
        server_.reset();
    }

    void connect() {
        natsOptions* options = nullptr;
        ASSERT_EQ(natsOptions_Create(&options), NATS_OK);
        natsOptions_SetURL(options, server_->url().c_str());
        natsOptions_SetTimeout(options, 2'000);
        natsOptions_SetMaxReconnect(options, -1);
        natsOptions_SetReconnectWait(options, 100);
        const auto s = natsConnection_Connect(&nc_, options);
        natsOptions_Destroy(options);
        ASSERT_EQ(s, NATS_OK) << natsStatus_GetText(s);
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 5'000;
        ASSERT_EQ(natsConnection_JetStream(&js_, nc_, &jo), NATS_OK);
    }

    void disconnect() {
        if (js_ != nullptr) {
            jsCtx_Destroy(js_);
            js_ = nullptr;
        }
        if (nc_ != nullptr) {
            natsConnection_Destroy(nc_);
            nc_ = nullptr;
        }
    }

    /// Creates stream `name` on `<prefix>.events.>`, file storage, the default 2 min duplicate
    /// window.
    void create_stream(const std::string& name = "SHARDGATE",
                       const std::string& prefix = "shardgate") {
        jsStreamConfig config;
        jsStreamConfig_Init(&config);
        const std::string subject = prefix + ".events.>";
        const char* subjects[] = {subject.c_str()};
        config.Name = name.c_str();
        config.Subjects = subjects; // NOLINT(*-array-to-pointer-decay)
        config.SubjectsLen = 1;
        config.Storage = js_FileStorage;
        jsStreamInfo* info = nullptr;
        jsErrCode jerr{};
        const auto s = js_AddStream(&info, js_, &config, nullptr, &jerr);
        jsStreamInfo_Destroy(info);
        ASSERT_EQ(s, NATS_OK) << natsStatus_GetText(s) << " jerr " << jerr;
    }

    /// Publishes one dispatch with the contract's subject and headers (plus `Shardgate-Error` when
    /// `error` is not empty: a marker); returns whether JetStream stored it (false: dropped as a
    /// duplicate of its Nats-Msg-Id).
    bool publish(const published& p, const std::string& prefix = "shardgate",
                 const std::string& error = {}) {
        const auto subject = prefix + ".events." + std::to_string(p.shard) + "." + p.name;
        natsMsg* msg = nullptr;
        EXPECT_EQ(natsMsg_Create(&msg, subject.c_str(), nullptr, p.data.data(),
                                 static_cast<int>(p.data.size())),
                  NATS_OK);
        const auto id = p.session + ":" + std::to_string(p.seq);
        natsMsgHeader_Set(msg, "Nats-Msg-Id", id.c_str());
        natsMsgHeader_Set(msg, "Shardgate-Shard", std::to_string(p.shard).c_str());
        natsMsgHeader_Set(msg, "Shardgate-Seq", std::to_string(p.seq).c_str());
        natsMsgHeader_Set(msg, "Shardgate-Session", p.session.c_str());
        natsMsgHeader_Set(msg, "Shardgate-Event", p.name.c_str());
        if (!error.empty()) {
            natsMsgHeader_Set(msg, "Shardgate-Error", error.c_str());
        }
        jsPubAck* ack = nullptr;
        jsErrCode jerr{};
        const auto s = js_PublishMsg(&ack, js_, msg, nullptr, &jerr);
        natsMsg_Destroy(msg);
        EXPECT_EQ(s, NATS_OK) << natsStatus_GetText(s) << " jerr " << jerr;
        const bool stored = ack != nullptr && !ack->Duplicate;
        jsPubAck_Destroy(ack);
        return stored;
    }

    /// The sample the tests read: two shards, six publishes of which one repeats a msg-id (a
    /// publisher retrying after a lost ack), which JetStream drops.
    std::vector<published> publish_sample() {
        const std::vector<published> sample{
            {0, 1, "s0", "READY", R"({"v":10,"session_id":"s0"})"},
            {1, 1, "s1", "READY", R"({"v":10,"session_id":"s1"})"},
            {0, 2, "s0", "GUILD_CREATE", R"({"id":"100"})"},
            {0, 3, "s0", "MESSAGE_CREATE", R"({"id":"1","channel_id":"7","content":"hi"})"},
            // Insignificant whitespace (a line break) in `d`: the reader keeps it verbatim.
            {1, 2, "s1", "MESSAGE_CREATE", "{\"id\":\"2\",\n\"channel_id\":\"8\"}"},
        };
        for (const auto& p : sample) {
            EXPECT_TRUE(publish(p));
        }
        EXPECT_FALSE(publish(sample[3])) << "a repeated Nats-Msg-Id must be dropped";
        return sample;
    }

    std::unique_ptr<nats_server> server_;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
};

} // namespace shardgate::test
