#include "shardgate/gateway/compression.hpp"

#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <cstddef>
#include <gtest/gtest.h>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sg = shardgate::gateway;

namespace {

using bytes = std::vector<std::byte>;

std::vector<std::string> payloads() {
    std::vector<std::string> out;
    out.emplace_back(R"({"op":10,"d":{"heartbeat_interval":41250}})");
    out.emplace_back("{}");
    out.emplace_back(R"({"t":"READY","s":1,"op":0,"d":{"session_id":"abc"}})");
    out.emplace_back(50'000, 'a');
    for (int i = 0; i < 16; ++i) {
        out.push_back(R"({"t":"MESSAGE_CREATE","s":)" + std::to_string(i + 2) +
                      R"(,"op":0,"d":{"id":")" + std::to_string(1'000'000 + i) +
                      R"(","content":"hello )" + std::string(static_cast<std::size_t>(i * 7), 'x') +
                      R"("}})");
    }
    return out;
}

void expect_padding(std::string_view message) {
    for (std::size_t i = 0; i < sg::json_padding; ++i) {
        ASSERT_EQ(message.data()[message.size() + i], '\0') << "padding byte " << i;
    }
}

} // namespace

TEST(compression, to_string_gives_the_query_values) {
    EXPECT_EQ(sg::to_string(sg::compression::none), "none");
    EXPECT_EQ(sg::to_string(sg::compression::zlib_stream), "zlib-stream");
    EXPECT_EQ(sg::to_string(sg::compression::zstd_stream), "zstd-stream");
}

TEST(compression, parse_round_trips_and_rejects_the_rest) {
    for (const auto c :
         {sg::compression::none, sg::compression::zlib_stream, sg::compression::zstd_stream}) {
        EXPECT_EQ(sg::parse_compression(sg::to_string(c)), c);
    }
    for (const std::string_view bad : std::initializer_list<std::string_view>{
             "", "zlib", "zstd", "ZLIB-STREAM", "zlib_stream", "zlib-stream ", "gzip",
             std::string_view("none\0", 5)}) {
        EXPECT_EQ(sg::parse_compression(bad), std::nullopt) << bad;
    }
}

TEST(compression, json_padding_matches_simdjson) {
    EXPECT_EQ(sg::json_padding, 64U); // SIMDJSON_PADDING
}

class every_mode : public ::testing::TestWithParam<sg::compression> {};

TEST_P(every_mode, round_trips_through_the_type_erased_pair) {
    const auto mode = GetParam();
    const auto texts = payloads();
    sg::deflater d(mode);
    sg::inflater z(mode);
    EXPECT_EQ(d.mode(), mode);
    EXPECT_EQ(z.mode(), mode);
    std::uint64_t in = 0;
    for (const auto& t : texts) {
        bytes frame;
        d.compress(t, frame);
        in += frame.size();
        auto r = z.feed(frame);
        ASSERT_FALSE(r.ec) << r.ec.message();
        ASSERT_EQ(r.message.value_or("<none>"), t);
        expect_padding(*r.message);
    }
    EXPECT_EQ(z.messages(), texts.size());
    EXPECT_EQ(z.compressed_bytes_in(), in);
    EXPECT_GT(z.decompressed_bytes_out(), 50'000U);
    EXPECT_FALSE(z.failed());
    EXPECT_GT(z.buffer_capacity(), 50'000U);
    z.release_buffers();
    EXPECT_EQ(z.buffer_capacity(), 0U);
}

TEST_P(every_mode, reset_starts_a_new_connection) {
    const auto mode = GetParam();
    const auto texts = payloads();
    sg::deflater d(mode);
    sg::inflater z(mode);
    for (int connection = 0; connection < 3; ++connection) {
        for (std::size_t i = 0; i < 5; ++i) {
            bytes frame;
            d.compress(texts[i], frame);
            ASSERT_EQ(z.feed(frame).message.value_or("<none>"), texts[i])
                << "connection " << connection;
        }
        d.reset();
        z.reset();
    }
}

TEST_P(every_mode, message_cap_applies) {
    const auto mode = GetParam();
    sg::deflater d(mode);
    sg::inflater z(mode, {.max_message_bytes = 1000});
    bytes frame;
    d.compress(std::string(1001, 'b'), frame);
    auto r = z.feed(frame);
    EXPECT_EQ(r.ec, sg::error::decompressed_too_large);
    EXPECT_TRUE(z.failed());
    EXPECT_LE(z.buffer_capacity(), 1000 + 1 + sg::json_padding);
    // Sticky until reset.
    EXPECT_EQ(z.feed(frame).ec, sg::error::decompressed_too_large);
    z.reset();
    EXPECT_FALSE(z.failed());
}

TEST_P(every_mode, moves) {
    const auto mode = GetParam();
    const auto texts = payloads();
    sg::deflater d1(mode);
    sg::inflater z1(mode);
    bytes frame;
    d1.compress(texts[0], frame);
    ASSERT_EQ(z1.feed(frame).message.value_or("<none>"), texts[0]);
    sg::deflater d2(std::move(d1));
    sg::inflater z2(std::move(z1));
    frame.clear();
    d2.compress(texts[1], frame);
    EXPECT_EQ(z2.feed(frame).message.value_or("<none>"), texts[1]);
    EXPECT_EQ(z2.mode(), mode);
}

INSTANTIATE_TEST_SUITE_P(inflater, every_mode,
                         ::testing::Values(sg::compression::none, sg::compression::zlib_stream,
                                           sg::compression::zstd_stream),
                         [](const ::testing::TestParamInfo<sg::compression>& param_info) {
                             std::string name(sg::to_string(param_info.param));
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

TEST(inflater, none_copies_each_frame_into_a_padded_buffer) {
    sg::inflater z;
    EXPECT_EQ(z.mode(), sg::compression::none);
    const std::string text = R"({"op":11})";
    auto r = z.feed(std::as_bytes(std::span<const char>(text.data(), text.size())));
    ASSERT_EQ(r.message.value_or("<none>"), text);
    EXPECT_NE(r.message->data(), text.data());
    expect_padding(*r.message);
    auto empty = z.feed({});
    ASSERT_FALSE(empty.ec);
    EXPECT_EQ(empty.message.value_or("<none>"), "");
    EXPECT_EQ(z.messages(), 2U);
    EXPECT_EQ(z.compressed_bytes_in(), text.size());
    EXPECT_EQ(z.decompressed_bytes_out(), text.size());
}

TEST(inflater, zlib_frames_split_over_several_messages) {
    sg::deflater d(sg::compression::zlib_stream);
    sg::inflater z(sg::compression::zlib_stream);
    const auto texts = payloads();
    for (const auto& t : texts) {
        bytes frame;
        d.compress(t, frame);
        const std::span<const std::byte> all = frame;
        const std::size_t cut = all.size() / 2;
        auto first = z.feed(all.first(cut));
        ASSERT_FALSE(first.ec);
        ASSERT_FALSE(first.message.has_value());
        ASSERT_EQ(z.feed(all.subspan(cut)).message.value_or("<none>"), t);
    }
}

TEST(inflater, zlib_pending_cap) {
    sg::inflater z(sg::compression::zlib_stream, {.max_pending_compressed_bytes = 8});
    const std::string junk = "0123456789";
    EXPECT_EQ(z.feed(std::as_bytes(std::span<const char>(junk.data(), junk.size()))).ec,
              sg::error::compressed_frame_too_large);
}

TEST(inflater, corrupt_data_fails_in_compressed_modes) {
    const std::string junk("garbage\0\0\xff\xff", 11);
    for (const auto mode : {sg::compression::zlib_stream, sg::compression::zstd_stream}) {
        sg::inflater z(mode);
        EXPECT_EQ(z.feed(std::as_bytes(std::span<const char>(junk.data(), junk.size()))).ec,
                  sg::error::decompression_failed)
            << sg::to_string(mode);
    }
}

TEST(inflater, bad_options_throw) {
    EXPECT_THROW(sg::inflater(sg::compression::zstd_stream, {.window_log_max = 2}),
                 std::invalid_argument);
    EXPECT_THROW(sg::deflater(sg::compression::zlib_stream, {.level = 11}), std::invalid_argument);
    EXPECT_THROW(sg::deflater(sg::compression::zstd_stream, {}, {.level = 3, .window_log = 77}),
                 std::invalid_argument);
    // Options of the other modes are not looked at.
    EXPECT_NO_THROW(sg::deflater(sg::compression::none, {.level = 11}));
}
