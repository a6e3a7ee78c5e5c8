#include "shardgate/gateway/payload.hpp"

#include "shardgate/gateway/error.hpp"

#include <gtest/gtest.h>

namespace gw = shardgate::gateway;

TEST(payload_decoder, dispatch_envelope_keeps_d_verbatim_in_any_key_order) {
    gw::payload_decoder decoder;
    gw::received_payload p;
    const std::string text =
        R"({"d":{"id":"1","content":"hi \"there\"","nested":[1,{"a":null}]},"op":0,"s":42,"t":"MESSAGE_CREATE"})";
    ASSERT_FALSE(decoder.decode(text, false, p));
    EXPECT_EQ(p.op, 0);
    EXPECT_EQ(p.s, 42U);
    EXPECT_EQ(p.t, "MESSAGE_CREATE");
    EXPECT_EQ(p.d, R"({"id":"1","content":"hi \"there\"","nested":[1,{"a":null}]})");
}

TEST(payload_decoder, padded_input_is_parsed_in_place_without_a_copy) {
    gw::payload_decoder decoder;
    gw::received_payload p;
    std::string buffer = R"({"t":null,"s":null,"op":11,"d":null})";
    const auto size = buffer.size();
    buffer.resize(size + simdjson::SIMDJSON_PADDING, ' ');
    const std::string_view text(buffer.data(), size);
    ASSERT_FALSE(decoder.decode(text, true, p));
    EXPECT_EQ(p.op, 11);
    EXPECT_FALSE(p.s.has_value());
    EXPECT_TRUE(p.t.empty());
    EXPECT_EQ(p.d, "null");
    EXPECT_GE(p.d.data(), buffer.data());
    EXPECT_LT(p.d.data(), buffer.data() + size) << "d points into the caller's buffer";
}

TEST(payload_decoder, scalar_and_absent_d) {
    gw::payload_decoder decoder;
    gw::received_payload p;
    ASSERT_FALSE(decoder.decode(R"({"op":9,"d":false })", false, p));
    EXPECT_EQ(p.d, "false");
    EXPECT_FALSE(gw::payload_decoder::read_invalid_session(p.d));
    ASSERT_FALSE(decoder.decode(R"({"op":9,"d":true})", false, p));
    EXPECT_TRUE(gw::payload_decoder::read_invalid_session(p.d));
    ASSERT_FALSE(decoder.decode(R"({"op":11})", false, p));
    EXPECT_EQ(p.d, "null");
    ASSERT_FALSE(decoder.decode(R"({"op":0,"s":7,"t":"X","d":123, "_trace":["x"]})", false, p));
    EXPECT_EQ(p.d, "123");
}

TEST(payload_decoder, malformed_input_is_an_error_not_a_crash) {
    gw::payload_decoder decoder;
    gw::received_payload p;
    for (std::string_view bad : {"", "{", "[]", "null", R"({"op":)", R"({"d":1})", R"({"op":1} x)",
                                 R"({"op":1,"d":{"a":)", "\xff\xfe", R"({"op":1,"d":[1,2})"}) {
        EXPECT_EQ(decoder.decode(bad, false, p), gw::error::malformed_json) << bad;
    }
    EXPECT_EQ(decoder.decode(R"({"op":"1"})", false, p), gw::error::unexpected_field_type);
    EXPECT_EQ(decoder.decode(R"({"op":0,"s":"5","t":"X"})", false, p),
              gw::error::unexpected_field_type);
    EXPECT_EQ(decoder.decode(R"({"op":0,"s":5,"t":7})", false, p),
              gw::error::unexpected_field_type);
    EXPECT_EQ(decoder.decode(R"({"op":0,"s":-5,"t":"X"})", false, p),
              gw::error::unexpected_field_type);
}

TEST(payload_decoder, hello_interval) {
    gw::payload_decoder decoder;
    gw::milliseconds interval{};
    ASSERT_FALSE(decoder.read_hello(R"({"heartbeat_interval":41250,"_trace":[]})", interval));
    EXPECT_EQ(interval.count(), 41250);
    EXPECT_EQ(decoder.read_hello(R"({"heartbeat_interval":0})", interval), gw::error::bad_hello);
    EXPECT_EQ(decoder.read_hello(R"({"heartbeat_interval":"5"})", interval), gw::error::bad_hello);
    EXPECT_EQ(decoder.read_hello("null", interval), gw::error::bad_hello);
}

TEST(payload_decoder, ready_session_and_resume_url_without_disturbing_the_envelope) {
    gw::payload_decoder decoder;
    gw::received_payload p;
    ASSERT_FALSE(decoder.decode(
        R"({"op":0,"s":1,"t":"READY","d":{"v":10,"guilds":[{"id":"1","unavailable":true}],"session_id":"abc","resume_gateway_url":"wss://resume.example","user":{"id":"9"}}})",
        false, p));
    gw::ready_info ready;
    ASSERT_FALSE(decoder.read_ready(p.d, ready));
    EXPECT_EQ(ready.session_id, "abc");
    EXPECT_EQ(ready.resume_gateway_url, "wss://resume.example");
    EXPECT_EQ(p.t, "READY") << "reading d must not invalidate the envelope's views";
    EXPECT_EQ(decoder.read_ready(R"({"session_id":"abc"})", ready), gw::error::bad_ready);
    EXPECT_EQ(decoder.read_ready(R"({"session_id":"","resume_gateway_url":"x"})", ready),
              gw::error::bad_ready);
    EXPECT_EQ(decoder.read_ready("[]", ready), gw::error::bad_ready);
}
