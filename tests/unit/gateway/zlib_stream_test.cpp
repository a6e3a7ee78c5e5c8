#include "shardgate/gateway/zlib_stream.hpp"

#include "shardgate/gateway/error.hpp"

#include <algorithm>
#include <cstddef>
#include <gtest/gtest.h>
#include <random>
#include <span>
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
    std::mt19937 rng(12345);
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

// Compresses each payload on one stream; returns one compressed message per payload.
std::vector<bytes> deflate_all(const std::vector<std::string>& payloads,
                               sg::zlib_deflater::options opts = {}) {
    sg::zlib_deflater d(opts);
    std::vector<bytes> out;
    for (const auto& p : payloads) {
        bytes m;
        d.compress(p, m);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<std::string> small_payloads(int n) {
    std::mt19937 rng(777);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(message_create(rng, i, 200));
    }
    return out;
}

std::span<const std::byte> as_bytes(const std::string& s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

void expect_padding(std::string_view message) {
    for (std::size_t i = 0; i < sg::json_padding; ++i) {
        ASSERT_EQ(message.data()[message.size() + i], '\0') << "padding byte " << i;
    }
}

} // namespace

TEST(zlib_deflater, every_message_ends_with_the_sync_flush_marker) {
    const auto compressed = deflate_all(varied_payloads());
    ASSERT_GE(compressed.front().size(), 2U);
    EXPECT_EQ(compressed.front()[0], std::byte{0x78}); // zlib header, only at the start
    for (std::size_t i = 0; i < compressed.size(); ++i) {
        const auto& m = compressed[i];
        ASSERT_GE(m.size(), 4U);
        EXPECT_TRUE(
            std::equal(m.end() - 4, m.end(),
                       bytes{std::byte{0}, std::byte{0}, std::byte{0xff}, std::byte{0xff}}.begin()))
            << "message " << i;
        if (i > 0) {
            EXPECT_NE(m[0], std::byte{0x78}) << "a header in message " << i;
        }
    }
}

TEST(zlib_deflater, empty_payloads_still_end_with_the_marker) {
    sg::zlib_deflater d;
    sg::zlib_inflater z;
    for (const std::string& p : {std::string(), std::string(), std::string("{}"), std::string()}) {
        bytes m;
        d.compress(p, m);
        auto r = z.feed(m);
        ASSERT_FALSE(r.ec) << r.ec.message();
        ASSERT_TRUE(r.message.has_value());
        EXPECT_EQ(*r.message, p);
    }
}

TEST(zlib_deflater, rejects_bad_options) {
    EXPECT_THROW(sg::zlib_deflater({.level = 42}), std::invalid_argument);
    EXPECT_THROW(sg::zlib_deflater({.window_bits = 20}), std::invalid_argument);
    EXPECT_THROW(sg::zlib_deflater({.mem_level = 0}), std::invalid_argument);
}

TEST(zlib_deflater, appends_to_existing_bytes) {
    sg::zlib_deflater d;
    bytes out{std::byte{1}, std::byte{2}};
    d.compress("{}", out);
    ASSERT_GT(out.size(), 2U);
    EXPECT_EQ(out[0], std::byte{1});
    EXPECT_EQ(out[2], std::byte{0x78});
}

TEST(zlib_stream, round_trips_fifty_varied_payloads_on_one_connection) {
    const auto payloads = varied_payloads();
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
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
    EXPECT_EQ(z.pending_compressed_bytes(), 0U);
    EXPECT_FALSE(z.failed());
}

TEST(zlib_stream, small_window_deflater_is_read_by_the_default_inflater) {
    const auto payloads = varied_payloads();
    const auto compressed = deflate_all(payloads, {.level = 6, .window_bits = 12, .mem_level = 4});
    sg::zlib_inflater z;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        auto r = z.feed(compressed[i]);
        ASSERT_FALSE(r.ec) << r.ec.message();
        ASSERT_EQ(r.message.value_or("<none>"), payloads[i]) << "message " << i;
    }
}

TEST(zlib_stream, split_in_two_at_every_byte_boundary) {
    const auto payloads = small_payloads(4);
    const auto compressed = deflate_all(payloads);
    for (std::size_t m = 0; m < compressed.size(); ++m) {
        const std::span<const std::byte> msg = compressed[m];
        for (std::size_t cut = 1; cut < msg.size(); ++cut) {
            sg::zlib_inflater z;
            for (std::size_t before = 0; before < m; ++before) {
                auto r = z.feed(compressed[before]);
                ASSERT_EQ(r.message.value_or("<none>"), payloads[before]);
            }
            auto first = z.feed(msg.first(cut));
            ASSERT_FALSE(first.ec) << "m=" << m << " cut=" << cut;
            ASSERT_FALSE(first.message.has_value()) << "m=" << m << " cut=" << cut;
            EXPECT_EQ(z.pending_compressed_bytes(), cut);
            auto second = z.feed(msg.subspan(cut));
            ASSERT_FALSE(second.ec) << "m=" << m << " cut=" << cut << ": " << second.ec.message();
            ASSERT_EQ(second.message.value_or("<none>"), payloads[m])
                << "m=" << m << " cut=" << cut;
            expect_padding(*second.message);
            // The stream goes on correctly afterwards.
            for (std::size_t after = m + 1; after < compressed.size(); ++after) {
                auto r = z.feed(compressed[after]);
                ASSERT_EQ(r.message.value_or("<none>"), payloads[after]) << "m=" << m;
            }
            EXPECT_EQ(z.messages(), compressed.size());
        }
    }
}

TEST(zlib_stream, one_byte_frames) {
    const auto payloads = small_payloads(5);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    for (std::size_t m = 0; m < compressed.size(); ++m) {
        const std::span<const std::byte> msg = compressed[m];
        for (std::size_t i = 0; i < msg.size(); ++i) {
            auto r = z.feed(msg.subspan(i, 1));
            ASSERT_FALSE(r.ec) << r.ec.message();
            if (i + 1 < msg.size()) {
                ASSERT_FALSE(r.message.has_value()) << "m=" << m << " i=" << i;
            } else {
                ASSERT_EQ(r.message.value_or("<none>"), payloads[m]);
            }
        }
    }
    EXPECT_EQ(z.messages(), payloads.size());
}

TEST(zlib_stream, suffix_straddles_frames) {
    const auto payloads = small_payloads(3);
    const auto compressed = deflate_all(payloads);
    for (std::size_t tail = 1; tail <= 5; ++tail) {
        sg::zlib_inflater z;
        for (std::size_t m = 0; m < compressed.size(); ++m) {
            const std::span<const std::byte> msg = compressed[m];
            auto head = z.feed(msg.first(msg.size() - tail));
            ASSERT_FALSE(head.ec);
            ASSERT_FALSE(head.message.has_value()) << "tail=" << tail;
            auto r = z.feed(msg.last(tail));
            ASSERT_FALSE(r.ec) << r.ec.message();
            ASSERT_EQ(r.message.value_or("<none>"), payloads[m]) << "tail=" << tail;
        }
    }
}

TEST(zlib_stream, suffix_split_one_byte_per_frame_after_empty_frames) {
    const auto payloads = small_payloads(1);
    const auto compressed = deflate_all(payloads);
    const std::span<const std::byte> msg = compressed[0];
    sg::zlib_inflater z;
    ASSERT_FALSE(z.feed({}).message.has_value());
    ASSERT_FALSE(z.feed(msg.first(msg.size() - 4)).message.has_value());
    for (std::size_t i = msg.size() - 4; i + 1 < msg.size(); ++i) {
        ASSERT_FALSE(z.feed({}).message.has_value());
        ASSERT_FALSE(z.feed(msg.subspan(i, 1)).message.has_value());
    }
    auto r = z.feed(msg.last(1));
    ASSERT_EQ(r.message.value_or("<none>"), payloads[0]);
}

TEST(zlib_stream, truncated_message_without_follow_up_stays_incomplete) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    const std::span<const std::byte> msg = compressed[1];
    auto r = z.feed(msg.first(msg.size() - 10));
    EXPECT_FALSE(r.ec);
    EXPECT_FALSE(r.message.has_value());
    EXPECT_EQ(z.pending_compressed_bytes(), msg.size() - 10);
}

TEST(zlib_stream, truncated_message_followed_by_the_next_fails) {
    const auto payloads = small_payloads(3);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    const std::span<const std::byte> msg = compressed[1];
    ASSERT_FALSE(z.feed(msg.first(msg.size() / 2)).message.has_value());
    auto r = z.feed(compressed[2]);
    EXPECT_EQ(r.ec, sg::error::decompression_failed);
    EXPECT_FALSE(r.message.has_value());
    EXPECT_TRUE(z.failed());
}

TEST(zlib_stream, flipped_bytes_in_the_middle_never_pass_as_the_message) {
    // zlib has no per-message checksum and Huffman codes resynchronise, so corruption in the middle
    // of a message can decode to garbage that still ends on a block boundary: the honest promise is
    // "an error or not the original" (the JSON parser rejects the garbage).
    const auto payloads = small_payloads(3);
    auto compressed = deflate_all(payloads);
    for (std::size_t at = 4; at + 20 < compressed[1].size(); at += 7) {
        auto corrupt = compressed[1];
        for (std::size_t i = at; i < at + 16; ++i) {
            corrupt[i] = ~corrupt[i];
        }
        sg::zlib_inflater z;
        ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
        auto r = z.feed(corrupt);
        EXPECT_TRUE(r.ec == sg::error::decompression_failed ||
                    (!r.ec && r.message.has_value() && *r.message != payloads[1]))
            << "at=" << at;
    }
}

TEST(zlib_stream, invalid_block_type_fails) {
    const auto payloads = small_payloads(2);
    auto compressed = deflate_all(payloads);
    // After a sync flush the next message starts with a block header on a byte boundary: bit 0 is
    // BFINAL, bits 1-2 BTYPE; 0b11 is reserved.
    compressed[1][0] = std::byte{0x07};
    sg::zlib_inflater z;
    ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    EXPECT_EQ(z.feed(compressed[1]).ec, sg::error::decompression_failed);
}

TEST(zlib_stream, message_ending_inside_a_block_fails) {
    // The marker bytes at the end of a frame that is not at a block boundary: inflating stops
    // mid-block, which is corrupt data, not a message.
    const auto payloads = small_payloads(1);
    const auto compressed = deflate_all(payloads);
    auto cut = bytes(compressed[0].begin(), compressed[0].begin() + 40);
    cut.insert(cut.end(), {std::byte{0}, std::byte{0}, std::byte{0xff}, std::byte{0xff}});
    sg::zlib_inflater z;
    EXPECT_EQ(z.feed(cut).ec, sg::error::decompression_failed);
}

TEST(zlib_stream, garbage_header_fails) {
    std::string garbage = "this is not zlib";
    garbage += std::string("\0\0\xff\xff", 4);
    sg::zlib_inflater z;
    auto r = z.feed(as_bytes(garbage));
    EXPECT_EQ(r.ec, sg::error::decompression_failed);
    EXPECT_EQ(r.ec.default_error_condition(), sg::condition::protocol_violation);
}

TEST(zlib_stream, errors_are_sticky_until_reset) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    const std::string garbage("\x01\x02\x03\x00\x00\xff\xff", 7);
    ASSERT_EQ(z.feed(as_bytes(garbage)).ec, sg::error::decompression_failed);
    auto again = z.feed(compressed[0]);
    EXPECT_EQ(again.ec, sg::error::decompression_failed);
    EXPECT_FALSE(again.message.has_value());
    z.reset();
    EXPECT_FALSE(z.failed());
    EXPECT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    EXPECT_EQ(z.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
}

TEST(zlib_stream, compression_bomb_hits_the_cap_without_growing_past_it) {
    const std::size_t cap = std::size_t{1} << 20U;
    bytes bomb;
    {
        const std::string zeros(std::size_t{100} << 20U, '\0');
        sg::zlib_deflater d;
        d.compress(zeros, bomb);
    }
    ASSERT_LT(bomb.size(), std::size_t{1} << 20U); // ~100 KB: small enough for the pending cap
    sg::zlib_inflater z({.max_message_bytes = cap});
    auto r = z.feed(bomb);
    EXPECT_EQ(r.ec, sg::error::decompressed_too_large);
    EXPECT_FALSE(r.message.has_value());
    EXPECT_LE(z.buffer_capacity(), cap + 1 + sg::json_padding);
    EXPECT_GT(z.buffer_capacity(), cap / 2); // it did grow geometrically up to the cap
}

TEST(zlib_stream, message_exactly_at_the_cap_passes_one_over_fails) {
    const std::string payload(5000, 'q');
    bytes compressed;
    sg::zlib_deflater d;
    d.compress(payload, compressed);
    {
        sg::zlib_inflater z({.max_message_bytes = payload.size()});
        EXPECT_EQ(z.feed(compressed).message.value_or("<none>"), payload);
        EXPECT_LE(z.buffer_capacity(), payload.size() + 1 + sg::json_padding);
    }
    {
        sg::zlib_inflater z({.max_message_bytes = payload.size() - 1});
        EXPECT_EQ(z.feed(compressed).ec, sg::error::decompressed_too_large);
    }
}

TEST(zlib_stream, pending_compressed_cap) {
    const auto payloads = small_payloads(1);
    const auto compressed = deflate_all(payloads);
    const std::span<const std::byte> msg = compressed[0];
    {
        // Piled up without a suffix.
        sg::zlib_inflater z({.max_pending_compressed_bytes = msg.size() - 1});
        ASSERT_FALSE(z.feed(msg.first(msg.size() / 2)).ec);
        auto r = z.feed(msg.subspan(msg.size() / 2));
        EXPECT_EQ(r.ec, sg::error::compressed_frame_too_large);
        EXPECT_EQ(z.pending_compressed_bytes(), 0U);
    }
    {
        // One frame over the cap.
        sg::zlib_inflater z({.max_pending_compressed_bytes = 10});
        EXPECT_EQ(z.feed(msg).ec, sg::error::compressed_frame_too_large);
    }
    {
        // Exactly at the cap is fine.
        sg::zlib_inflater z({.max_pending_compressed_bytes = msg.size()});
        ASSERT_FALSE(z.feed(msg.first(3)).ec);
        EXPECT_EQ(z.feed(msg.subspan(3)).message.value_or("<none>"), payloads[0]);
    }
}

TEST(zlib_stream, reset_starts_a_new_connection) {
    const auto payloads = small_payloads(3);
    const auto first = deflate_all(payloads);
    const auto second = deflate_all({payloads[2], payloads[0]}); // a fresh deflater
    sg::zlib_inflater z;
    for (std::size_t i = 0; i < first.size(); ++i) {
        ASSERT_EQ(z.feed(first[i]).message.value_or("<none>"), payloads[i]);
    }
    const std::size_t capacity = z.buffer_capacity();
    z.reset();
    EXPECT_EQ(z.feed(second[0]).message.value_or("<none>"), payloads[2]);
    EXPECT_EQ(z.feed(second[1]).message.value_or("<none>"), payloads[0]);
    EXPECT_EQ(z.buffer_capacity(), capacity); // buffers are kept
    EXPECT_EQ(z.messages(), 5U);              // counters span connections
}

TEST(zlib_stream, a_new_connection_without_reset_fails) {
    const auto payloads = small_payloads(3);
    const auto first = deflate_all(payloads);
    const auto second = deflate_all({payloads[2]});
    sg::zlib_inflater z;
    for (std::size_t i = 0; i < first.size(); ++i) {
        ASSERT_EQ(z.feed(first[i]).message.value_or("<none>"), payloads[i]);
    }
    EXPECT_EQ(z.feed(second[0]).ec, sg::error::decompression_failed);
}

TEST(zlib_stream, reset_mid_message_drops_pending_bytes) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    ASSERT_FALSE(z.feed(std::span<const std::byte>(compressed[0]).first(5)).message.has_value());
    z.reset();
    EXPECT_EQ(z.pending_compressed_bytes(), 0U);
    EXPECT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
}

TEST(zlib_stream, messages_share_one_context) {
    // Message 2 repeats the random content of message 1, so it is mostly a back-reference.
    std::mt19937 rng(4242);
    const std::string p1 = message_create(rng, 1, 300);
    const std::string content = p1.substr(p1.find(R"("content":")"), 300);
    const std::vector<std::string> payloads{message_create(rng, 0, 300), p1,
                                            R"({"op":0,"d":{"again":)" + content + "}}"};
    const auto compressed = deflate_all(payloads);
    EXPECT_LT(compressed[2].size(), compressed[1].size() / 2); // back-references made it small
    {
        sg::zlib_inflater z; // message 1 alone: no header, no window
        EXPECT_EQ(z.feed(compressed[1]).ec, sg::error::decompression_failed);
    }
    {
        sg::zlib_inflater z; // message 2 after message 0, skipping 1: wrong window
        ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
        auto r = z.feed(compressed[2]);
        EXPECT_TRUE(r.ec || r.message != payloads[2]);
    }
    {
        sg::zlib_inflater z; // all three in order
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            ASSERT_EQ(z.feed(compressed[i]).message.value_or("<none>"), payloads[i]);
        }
    }
}

TEST(zlib_stream, release_buffers_keeps_the_context) {
    const auto payloads = small_payloads(3);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    ASSERT_EQ(z.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    EXPECT_GT(z.buffer_capacity(), 0U);
    z.release_buffers();
    EXPECT_EQ(z.buffer_capacity(), 0U);
    EXPECT_EQ(z.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
    // Mid-message, the pending bytes survive a release.
    const std::span<const std::byte> msg = compressed[2];
    ASSERT_FALSE(z.feed(msg.first(7)).message.has_value());
    z.release_buffers();
    EXPECT_EQ(z.feed(msg.subspan(7)).message.value_or("<none>"), payloads[2]);
}

TEST(zlib_stream, move_keeps_the_connection) {
    const auto payloads = small_payloads(3);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater a;
    ASSERT_EQ(a.feed(compressed[0]).message.value_or("<none>"), payloads[0]);
    sg::zlib_inflater b(std::move(a));
    EXPECT_EQ(b.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
    sg::zlib_inflater c;
    c = std::move(b);
    EXPECT_EQ(c.feed(compressed[2]).message.value_or("<none>"), payloads[2]);
    EXPECT_EQ(c.messages(), 3U);
    // A moved-from inflater behaves as new.
    EXPECT_EQ(a.feed(compressed[0]).message.value_or("<none>"),
              payloads[0]); // NOLINT(bugprone-use-after-move)

    sg::zlib_deflater d1;
    bytes out;
    d1.compress(payloads[0], out);
    sg::zlib_deflater d2(std::move(d1));
    d2.compress(payloads[1], out);
    sg::zlib_inflater z;
    EXPECT_EQ(z.feed(std::span<const std::byte>(out).first(compressed[0].size()))
                  .message.value_or("<none>"),
              payloads[0]);
    EXPECT_EQ(z.feed(std::span<const std::byte>(out).subspan(compressed[0].size()))
                  .message.value_or("<none>"),
              payloads[1]);
}

TEST(zlib_stream, deflater_reset_starts_a_new_stream) {
    const auto payloads = small_payloads(2);
    sg::zlib_deflater d;
    bytes a;
    d.compress(payloads[0], a);
    d.reset();
    bytes b;
    d.compress(payloads[1], b);
    EXPECT_EQ(b[0], std::byte{0x78});
    sg::zlib_inflater z;
    EXPECT_EQ(z.feed(b).message.value_or("<none>"), payloads[1]);
}

// Parking ----------------------------------------------------------------------------------------

TEST(zlib_stream, parked_at_every_message_boundary_every_message_still_decodes) {
    // Park after message k for every k: the woken stream must decode every later message exactly,
    // which needs the whole 32 KiB history (the big payloads fill and slide the window).
    const auto payloads = varied_payloads();
    const auto compressed = deflate_all(payloads);
    for (std::size_t k = 0; k < payloads.size(); ++k) {
        sg::zlib_inflater z;
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            auto r = z.feed(compressed[i]);
            ASSERT_FALSE(r.ec) << "parked after " << k << ", message " << i;
            ASSERT_EQ(r.message.value_or("<none>"), payloads[i])
                << "parked after " << k << ", message " << i;
            expect_padding(*r.message);
            if (i == k) {
                ASSERT_TRUE(z.park()) << k;
                ASSERT_TRUE(z.parked());
                EXPECT_EQ(z.buffer_capacity(), 0U);
            }
        }
        EXPECT_EQ(z.parks(), 1U);
        EXPECT_EQ(z.wakes(), k + 1 < payloads.size() ? 1U : 0U);
    }
}

TEST(zlib_stream, parked_after_every_message_every_message_still_decodes) {
    // The heartbeat pattern: park, one message wakes it, park again (history appended raw while
    // small, recompressed once it is not).
    const auto payloads = varied_payloads();
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        auto r = z.feed(compressed[i]);
        ASSERT_FALSE(r.ec) << "message " << i << ": " << r.ec.message();
        ASSERT_EQ(r.message.value_or("<none>"), payloads[i]) << "message " << i;
        ASSERT_TRUE(z.park()) << i;
    }
    EXPECT_EQ(z.parks(), payloads.size());
    EXPECT_EQ(z.messages(), payloads.size());
}

TEST(zlib_stream, many_small_messages_parked_in_between_keep_the_history_small) {
    const auto payloads = small_payloads(400);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    std::size_t largest = 0;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        ASSERT_EQ(z.feed(compressed[i]).message.value_or("<none>"), payloads[i]) << i;
        ASSERT_TRUE(z.park());
        largest = std::max(largest, z.parked_bytes());
    }
    // 32 KiB of history compressed, plus at most 4 KiB appended raw.
    EXPECT_LT(largest, 32U * 1024U);
    EXPECT_GT(z.parked_bytes(), 0U);
}

TEST(zlib_stream, parked_with_a_split_message_pending_refuses) {
    const auto payloads = small_payloads(2);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater z;
    ASSERT_TRUE(z.feed(compressed[0]).message);
    const auto half = compressed[1].size() / 2;
    const std::span<const std::byte> all(compressed[1]);
    ASSERT_FALSE(z.feed(all.first(half)).message);
    EXPECT_FALSE(z.park());
    EXPECT_EQ(z.feed(all.subspan(half)).message.value_or("<none>"), payloads[1]);
}

TEST(zlib_stream, nothing_to_park_before_the_first_message_or_after_an_error) {
    sg::zlib_inflater z;
    EXPECT_FALSE(z.park());
    std::string garbage = "xx not zlib";
    garbage += std::string("\0\0\xff\xff", 4);
    (void)z.feed(as_bytes(garbage));
    EXPECT_FALSE(z.park());
}

TEST(zlib_stream, reset_forgets_a_parked_history) {
    const auto payloads = small_payloads(3);
    const auto first = deflate_all(payloads);
    const auto second = deflate_all(payloads);
    sg::zlib_inflater z;
    ASSERT_TRUE(z.feed(first[0]).message);
    ASSERT_TRUE(z.park());
    z.reset();
    EXPECT_FALSE(z.parked());
    EXPECT_EQ(z.parked_bytes(), 0U);
    for (std::size_t i = 0; i < second.size(); ++i) {
        ASSERT_EQ(z.feed(second[i]).message.value_or("<none>"), payloads[i]) << i;
    }
}

TEST(zlib_stream, move_keeps_a_parked_stream) {
    const auto payloads = small_payloads(3);
    const auto compressed = deflate_all(payloads);
    sg::zlib_inflater a;
    ASSERT_TRUE(a.feed(compressed[0]).message);
    ASSERT_TRUE(a.park());
    sg::zlib_inflater b(std::move(a));
    EXPECT_TRUE(b.parked());
    ASSERT_EQ(b.feed(compressed[1]).message.value_or("<none>"), payloads[1]);
    sg::zlib_inflater c;
    c = std::move(b);
    ASSERT_TRUE(c.park());
    ASSERT_EQ(c.feed(compressed[2]).message.value_or("<none>"), payloads[2]);
}

TEST(zlib_stream, header_split_over_frames_and_a_bad_header_fails) {
    const auto payloads = small_payloads(1);
    const auto compressed = deflate_all(payloads);
    const std::span<const std::byte> all(compressed[0]);
    sg::zlib_inflater z;
    EXPECT_FALSE(z.feed(all.first(1)).message);
    EXPECT_EQ(z.feed(all.subspan(1)).message.value_or("<none>"), payloads[0]);

    auto bad = compressed[0];
    bad[0] = std::byte{0x79}; // method 9: not deflate
    sg::zlib_inflater y;
    EXPECT_EQ(y.feed(bad).ec, sg::error::decompression_failed);
    auto dict = compressed[0];
    dict[1] = std::byte{0xbb}; // 0x78bb: FDICT set (and a valid check)
    sg::zlib_inflater x;
    EXPECT_EQ(x.feed(dict).ec, sg::error::decompression_failed);
}
