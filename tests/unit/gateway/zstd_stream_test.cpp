#include "shardgate/gateway/zstd_stream.hpp"

#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <cstddef>
#include <gtest/gtest.h>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sg = shardgate::gateway;

namespace {

using bytes = std::vector<std::byte>;

// A MESSAGE_CREATE-like dispatch; `seq` varies ids and content.
std::string message_create(std::mt19937& rng, int seq, std::size_t content_size) {
    std::uniform_int_distribution<int> letter('a', 'z');
    std::string content;
    for (std::size_t i = 0; i < content_size; ++i) {
        content += static_cast<char>(letter(rng));
    }
    const std::string id = std::to_string(1'100'000'000'000'000'000LL + seq * 7919LL);
    return R"({"t":"MESSAGE_CREATE","s":)" + std::to_string(seq) + R"(,"op":0,"d":{"id":")" + id +
           R"(","channel_id":"1090000000000000001","guild_id":"1080000000000000002","author":{"id":")" +
           std::to_string(900'000 + seq % 37) + R"(","username":"user)" + std::to_string(seq % 37) +
           R"(","global_name":null,"avatar":null,"discriminator":"0"},"content":")" + content +
           R"(","timestamp":"2024-05-23T12:00:00.000000+00:00","mentions":[],"tts":false})";
}

// 50 payloads of every shape: tiny, empty, large, very compressible, incompressible.
std::vector<std::string> varied_payloads() {
    std::mt19937 rng(54321);
    std::vector<std::string> out;
    out.emplace_back("{}");
    out.emplace_back("");
    out.emplace_back(R"({"op":10,"d":{"heartbeat_interval":41250}})");
    out.emplace_back(100 * 1024, 'x');
    std::string random_ish(64 * 1024, '\0');
    std::uniform_int_distribution<int> byte(0, 255);
    for (char& c : random_ish) {
        c = static_cast<char>(byte(rng));
    }
    out.push_back(random_ish);
    std::string big;
    for (int i = 0; big.size() < 100 * 1024; ++i) {
        big += message_create(rng, i, 64);
    }
    out.push_back(big);
    for (int i = 0; out.size() < 50; ++i) {
        out.push_back(message_create(rng, i, static_cast<std::size_t>(i * 13 % 400)));
    }
    return out;
}

std::vector<bytes> deflate_all(const std::vector<std::string>& payloads,
                               sg::zstd_deflater::options opts = {}) {
    sg::zstd_deflater d(opts);
    std::vector<bytes> out;
    for (const auto& p : payloads) {
        bytes m;
        d.compress(p, m);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<std::string> small_payloads(int n) {
    std::mt19937 rng(999);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(message_create(rng, i, 200));
    }
    return out;
}

void expect_padding(std::string_view message) {
    for (std::size_t i = 0; i < sg::json_padding; ++i) {
        ASSERT_EQ(message.data()[message.size() + i], '\0') << "padding byte " << i;
    }
}

} // namespace

TEST(zstd_deflater, first_message_carries_the_frame_header_only) {
    const auto compressed = deflate_all(small_payloads(3));
    const bytes magic{std::byte{0x28}, std::byte{0xb5}, std::byte{0x2f}, std::byte{0xfd}};
    ASSERT_GE(compressed[0].size(), 4U);
    EXPECT_TRUE(std::equal(magic.begin(), magic.end(), compressed[0].begin()));
    EXPECT_FALSE(std::equal(magic.begin(), magic.end(), compressed[1].begin()));
}

TEST(zstd_deflater, rejects_bad_options) {
    EXPECT_THROW(sg::zstd_deflater({.level = 3, .window_log = 99}), std::invalid_argument);
}

TEST(zstd_stream, round_trips_fifty_varied_payloads_on_one_connection) {
    const auto payloads = varied_payloads();
    const auto compressed = deflate_all(payloads);
    sg::zstd_inflater z;
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        auto r = z.feed(compressed[i]);
        ASSERT_FALSE(r.ec) << "message " << i << ": " << r.ec.message();
        ASSERT_TRUE(r.message.has_value()) << "message " << i;
        ASSERT_EQ(*r.message, payloads[i]) << "message " << i;
        expect_padding(*r.message);
        in += compressed[i].size();
        out += payloads[i].size();
    }
    EXPECT_EQ(z.messages(), payloads.size());
    EXPECT_EQ(z.compressed_bytes_in(), in);
    EXPECT_EQ(z.decompressed_bytes_out(), out);
    EXPECT_FALSE(z.failed());
}

TEST(zstd_stream, several_messages_in_sequence_each_padded) {
    const auto payloads = small_payloads(20);
    const auto compressed = deflate_all(payloads);
    sg::zstd_inflater z;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        auto r = z.feed(compressed[i]);
        ASSERT_EQ(r.message.value_or("<none>"), payloads[i]) << "message " << i;
        expect_padding(*r.message);
    }
}

TEST(zstd_stream, output_grows_from_small_to_large_messages) {
    std::vector<std::string> payloads{"{}", std::string(300 * 1024, 'z'), "{}",
                                      std::string(2 * 1024 * 1024, 'y')};
    const auto compressed = deflate_all(payloads);
    sg::zstd_inflater z;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        auto r = z.feed(compressed[i]);
        ASSERT_FALSE(r.ec) << r.ec.message();
        ASSERT_EQ(r.message.value_or("<none>"), payloads[i]);
    }
}

TEST(zstd_stream, garbage_fails) {
    const std::string garbage = "this is not zstd at all";
    sg::zstd_inflater z;
    auto r = z.feed(std::as_bytes(std::span<const char>(garbage.data(), garbage.size())));
    EXPECT_EQ(r.ec, sg::error::decompression_failed);
    EXPECT_EQ(r.ec.default_error_condition(), sg::condition::protocol_violation);
}

TEST(zstd_stream, flipped_bytes_in_the_middle_fail) {
    const auto payloads = small_payloads(3);
    auto compressed = deflate_all(payloads);
    sg::zstd_inflater z;
    ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    auto& msg = compressed[1];
    for (std::size_t i = 0; i < 8; ++i) { // the block header is at the start of a message
        msg[i] = ~msg[i];
    }
    auto r = z.feed(msg);
    EXPECT_EQ(r.ec, sg::error::decompression_failed) << "got: " << r.message.value_or("<none>");
}

TEST(zstd_stream, truncated_message_then_next_fails) {
    // zstd cannot tell a cut message from a short one: the cut message yields what was decoded
    // (the JSON parser rejects it); the next message then continues a half-read block and fails.
    const auto payloads = small_payloads(3);
    const auto compressed = deflate_all(payloads);
    sg::zstd_inflater z;
    ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    const std::span<const std::byte> msg = compressed[1];
    auto cut = z.feed(msg.first(msg.size() / 2));
    ASSERT_FALSE(cut.ec);
    EXPECT_NE(cut.message.value_or("<none>"), payloads[1]);
    auto next = z.feed(compressed[2]);
    EXPECT_EQ(next.ec, sg::error::decompression_failed)
        << "got: " << next.message.value_or("<none>");
}

TEST(zstd_stream, errors_are_sticky_until_reset) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads);
    sg::zstd_inflater z;
    const std::string garbage = "garbage!";
    ASSERT_EQ(z.feed(std::as_bytes(std::span<const char>(garbage.data(), garbage.size()))).ec,
              sg::error::decompression_failed);
    EXPECT_EQ(z.feed(compressed[0]).ec, sg::error::decompression_failed);
    z.reset();
    EXPECT_FALSE(z.failed());
    EXPECT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    EXPECT_EQ(z.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
}

TEST(zstd_stream, compression_bomb_hits_the_cap_without_growing_past_it) {
    const std::size_t cap = std::size_t{1} << 20U;
    bytes bomb;
    {
        const std::string zeros(std::size_t{100} << 20U, '\0');
        sg::zstd_deflater d;
        d.compress(zeros, bomb);
    }
    ASSERT_LT(bomb.size(), std::size_t{1} << 20U);
    sg::zstd_inflater z({.max_message_bytes = cap});
    auto r = z.feed(bomb);
    EXPECT_EQ(r.ec, sg::error::decompressed_too_large);
    EXPECT_FALSE(r.message.has_value());
    EXPECT_LE(z.buffer_capacity(), cap + 1 + sg::json_padding);
    EXPECT_GT(z.buffer_capacity(), cap / 2);
}

TEST(zstd_stream, message_exactly_at_the_cap_passes_one_over_fails) {
    const std::string payload(5000, 'q');
    bytes compressed;
    sg::zstd_deflater d;
    d.compress(payload, compressed);
    {
        sg::zstd_inflater z({.max_message_bytes = payload.size()});
        EXPECT_EQ(z.feed(compressed).message.value_or("<none>"), payload);
        EXPECT_LE(z.buffer_capacity(), payload.size() + 1 + sg::json_padding);
    }
    {
        sg::zstd_inflater z({.max_message_bytes = payload.size() - 1});
        EXPECT_EQ(z.feed(compressed).ec, sg::error::decompressed_too_large);
    }
}

TEST(zstd_stream, frame_over_the_compressed_cap) {
    const auto payloads = small_payloads(1);
    const auto compressed = deflate_all(payloads);
    {
        sg::zstd_inflater z({.max_pending_compressed_bytes = compressed[0].size() - 1});
        EXPECT_EQ(z.feed(compressed[0]).ec, sg::error::compressed_frame_too_large);
    }
    {
        sg::zstd_inflater z({.max_pending_compressed_bytes = compressed[0].size()});
        EXPECT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    }
}

TEST(zstd_stream, reset_starts_a_new_connection) {
    const auto payloads = small_payloads(3);
    const auto first = deflate_all(payloads);
    const auto second = deflate_all({payloads[2], payloads[0]}); // a fresh deflater
    sg::zstd_inflater z;
    for (std::size_t i = 0; i < first.size(); ++i) {
        ASSERT_EQ(z.feed(first[i]).message.value_or("<none>"), payloads[i]);
    }
    const std::size_t capacity = z.buffer_capacity();
    z.reset();
    EXPECT_EQ(z.feed(second[0]).message.value_or("<none>"), payloads[2]);
    EXPECT_EQ(z.feed(second[1]).message.value_or("<none>"), payloads[0]);
    EXPECT_EQ(z.buffer_capacity(), capacity);
    EXPECT_EQ(z.messages(), 5U);
}

TEST(zstd_stream, a_new_connection_without_reset_fails) {
    const auto payloads = small_payloads(3);
    const auto first = deflate_all(payloads);
    const auto second = deflate_all({payloads[2]});
    sg::zstd_inflater z;
    for (std::size_t i = 0; i < first.size(); ++i) {
        ASSERT_EQ(z.feed(first[i]).message.value_or("<none>"), payloads[i]);
    }
    auto r = z.feed(second[0]);
    EXPECT_EQ(r.ec, sg::error::decompression_failed) << "got: " << r.message.value_or("<none>");
}

TEST(zstd_stream, messages_share_one_context) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads);
    EXPECT_LT(compressed[1].size(), compressed[0].size()); // message 1 refers back to message 0
    sg::zstd_inflater z;                                   // message 1 alone: no frame header
    EXPECT_EQ(z.feed(compressed[1]).ec, sg::error::decompression_failed);
}

TEST(zstd_stream, window_above_the_limit_is_refused) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads, {.level = 3, .window_log = 24});
    {
        sg::zstd_inflater z; // window_log_max 23 by default
        EXPECT_EQ(z.feed(compressed[0]).ec, sg::error::decompression_failed);
    }
    {
        sg::zstd_inflater z({.window_log_max = 24});
        EXPECT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
        EXPECT_EQ(z.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
    }
}

TEST(zstd_stream, window_log_max_out_of_range_throws) {
    EXPECT_THROW(sg::zstd_inflater({.window_log_max = 5}), std::invalid_argument);
    EXPECT_THROW(sg::zstd_inflater({.window_log_max = 40}), std::invalid_argument);
}

TEST(zstd_stream, small_window_deflater_round_trips) {
    const auto payloads = varied_payloads();
    const auto compressed = deflate_all(payloads, {.level = 1, .window_log = 15});
    sg::zstd_inflater z({.window_log_max = 15});
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        ASSERT_EQ(z.feed(compressed[i]).message.value_or("<none>"), payloads[i]) << i;
    }
}

TEST(zstd_stream, empty_frame_is_an_empty_message) {
    sg::zstd_inflater z;
    auto r = z.feed({});
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(r.message.value_or("<none>"), "");
}

TEST(zstd_stream, release_buffers_keeps_the_context) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads);
    sg::zstd_inflater z;
    ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    z.release_buffers();
    EXPECT_EQ(z.buffer_capacity(), 0U);
    EXPECT_EQ(z.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
}

TEST(zstd_stream, move_keeps_the_connection) {
    const auto payloads = small_payloads(3);
    const auto compressed = deflate_all(payloads);
    sg::zstd_inflater a;
    ASSERT_EQ(a.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    sg::zstd_inflater b(std::move(a));
    EXPECT_EQ(b.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
    sg::zstd_inflater c;
    c = std::move(b);
    EXPECT_EQ(c.feed(compressed[2]).message.value_or("<none>"), payloads[2]);
    EXPECT_EQ(c.messages(), 3U);
    EXPECT_EQ(a.feed(compressed[0]).message.value_or("<none>"),
              payloads[0]); // NOLINT(bugprone-use-after-move)
}

TEST(zstd_stream, deflater_reset_starts_a_new_frame) {
    const auto payloads = small_payloads(2);
    sg::zstd_deflater d;
    bytes a;
    d.compress(payloads[0], a);
    d.reset();
    bytes b;
    d.compress(payloads[1], b);
    sg::zstd_inflater z;
    EXPECT_EQ(z.feed(b).message.value_or("<none>"), payloads[1]);
}
