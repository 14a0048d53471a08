// The Q4_ROW_GROUPS matvec against q4_matvec_ref, on lavapipe (KITE_VULKAN_ALLOW_CPU=1 is set
// by vulkan_test_util.h), on the layout's bytes (kite.fbs: per row, groups of G/2 bytes of
// nibbles u = q + 8; f16 scales and optional mins per row and group) with activations from
// q8_quantize_ref of the same group: groups of 8 to 4096, with and without mins, one row,
// rows not a multiple of 16, a partial last group, several tokens with gaps between rows,
// rows written at a position, every workgroup size; and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/q4g_matvec.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q4-matvec/q4-matvec.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

using kite::vulkan::test::kUntouched;
using kite::vulkan::test::ExpectOnlyRowsWritten;
using kite::vulkan::test::MakeOutputRows;
using kite::vulkan::test::MakeQ4MatvecArgs;
using kite::vulkan::test::OutputRows;
using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::RunQ4Matvec;
using kite::vulkan::test::Upload;

struct GroupCase {
  size_t m, rows, cols, group;
  bool mins;
  uint32_t workgroup;  // 0: the device's largest
  // y's RowAddress beyond the default (stride rows, or rows + 3 for several tokens).
  uint32_t pos = 0, y_offset = 0, y_pos_stride = 0;
  uint32_t tile = 1;  // tokens per workgroup: > 1 is the tiled GEMM for prefill
};

std::string Name(const GroupCase& c) {
  return "m=" + std::to_string(c.m) + " rows=" + std::to_string(c.rows) +
         " cols=" + std::to_string(c.cols) + " group=" + std::to_string(c.group) +
         (c.mins ? " mins" : "") + " wg=" + std::to_string(c.workgroup) +
         " pos=" + std::to_string(c.pos) + " y_offset=" + std::to_string(c.y_offset) +
         " y_pos_stride=" + std::to_string(c.y_pos_stride) + " tile=" + std::to_string(c.tile);
}

void RunGroupCase(vk::Device& device, const GroupCase& c, std::mt19937& rng) {
  SCOPED_TRACE(Name(c));
  const size_t groups = (c.cols + c.group - 1) / c.group;
  const size_t padded = groups * c.group;
  // Random nibbles (u = 8, q = 0, past cols), f16 scales of both signs, mins.
  std::uniform_int_distribution<int> nibble(0, 15);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f), offset(-0.5f, 0.5f);
  std::bernoulli_distribution coin(0.5);
  std::vector<uint8_t> u(c.rows * padded, 8);
  for (size_t r = 0; r < c.rows; ++r) {
    for (size_t col = 0; col < c.cols; ++col) {
      u[r * padded + col] = static_cast<uint8_t>(nibble(rng));
    }
  }
  std::vector<uint8_t> w(c.rows * padded / 2);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint8_t>(u[2 * i] | (u[2 * i + 1] << 4));
  // The params buffer: scales, then mins.
  std::vector<uint16_t> params(c.rows * groups * (c.mins ? 2 : 1));
  for (size_t i = 0; i < c.rows * groups; ++i) {
    params[i] = kite::FloatToHalf(coin(rng) ? scale(rng) : -scale(rng));
    if (c.mins) params[c.rows * groups + i] = kite::FloatToHalf(offset(rng));
  }
  const uint16_t* mins = c.mins ? params.data() + c.rows * groups : nullptr;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<int8_t> xq(c.m * padded);
  std::vector<float> xscale(c.m * groups);
  std::vector<int32_t> xsum(c.m * groups);
  for (size_t t = 0; t < c.m; ++t) {
    std::vector<float> x(c.cols);
    for (float& v : x) v = normal(rng);
    k::q8_quantize_ref(c.cols, c.group, x.data(), xq.data() + t * padded,
                       xscale.data() + t * groups, xsum.data() + t * groups);
  }
  const OutputRows o = MakeOutputRows(c.m, c.rows, c.pos, c.y_offset, c.y_pos_stride);
  std::vector<float> want(o.size, kUntouched);
  for (size_t t = 0; t < c.m; ++t) {
    k::q4_matvec_ref(c.rows, groups, c.group, w.data(), params.data(), mins,
                     xq.data() + t * padded, xscale.data() + t * groups,
                     xsum.data() + t * groups, want.data() + o.start + t * o.stride);
  }

  kite::Result<vk::Q4gMatvec> op = vk::Q4gMatvec::Create(device, c.workgroup, c.tile);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Q4MatvecArgs args;
  args.groups = static_cast<uint32_t>(groups);
  args.group = static_cast<uint32_t>(c.group);
  args.mins = c.mins;
  std::vector<float> got;
  ASSERT_TRUE(RunQ4Matvec(device, *op, args, w, params, xq, xscale, o, c.pos, &got));
  ExpectOnlyRowsWritten(got.data(), o.size, o.start, o.stride, c.m, c.rows);
  if (c.tile > 1) {
    // Every tile adds in the same order: the tiled GEMM (prefill) equals the matvec (decode,
    // T = 1) bit for bit, so tokens do not change with the chunking of a prompt.
    kite::Result<vk::Q4gMatvec> matvec = vk::Q4gMatvec::Create(device, c.workgroup, 1);
    ASSERT_TRUE(matvec.ok()) << matvec.status().message();
    std::vector<float> decode;
    ASSERT_TRUE(RunQ4Matvec(device, *matvec, args, w, params, xq, xscale, o, c.pos, &decode));
    for (size_t i = 0; i < o.size; ++i) ASSERT_EQ(got[i], decode[i]) << "element " << i;
  }
  // Tolerance: float rounding of the sum of the terms' magnitudes (the integer sums are
  // exact; only the order of the f32 additions differs).
  for (size_t t = 0; t < c.m; ++t) {
    for (size_t r = 0; r < c.rows; ++r) {
      double magnitude = 0.0;
      for (size_t g = 0; g < groups; ++g) {
        double dot = 0.0;
        for (size_t j = 0; j < c.group; ++j) {
          const size_t col = g * c.group + j;
          dot += std::fabs((u[r * padded + col] - 8.0) * xq[t * padded + col]);
        }
        double term = std::fabs(kite::HalfToFloat(params[r * groups + g])) * dot;
        if (c.mins) {
          term += std::fabs(kite::HalfToFloat(mins[r * groups + g]) * xsum[t * groups + g]);
        }
        magnitude += std::fabs(xscale[t * groups + g]) * term;
      }
      const size_t i = o.start + t * o.stride + r;
      ASSERT_NEAR(got[i], want[i], 4e-6 * magnitude + 1e-30) << "token " << t << " row " << r;
    }
  }
}

const GroupCase kGroupCases[] = {
    {1, 1, 64, 64, true, 0},       // one row, one group
    {1, 17, 172, 64, true, 16},    // a partial row block, a partial group (stories260K's w2)
    {1, 33, 200, 128, false, 32},  // no mins
    {1, 16, 8, 8, true, 256},      // the smallest group
    {1, 7, 4096, 4096, true, 64},  // the largest group
    {1, 100, 1000, 32, true, 0},   // more groups than lanes
    {1, 3, 5, 8, true, 0},         // mins starting inside a word (3 x 1 scales)
    {3, 19, 130, 64, true, 0},     // several tokens with a gap between rows
    {9, 40, 320, 128, false, 128}, // a prefill chunk
    // Rows at position pos of a cache of rows-wide rows (after an offset).
    {3, 40, 128, 64, true, 0, 5, 0, 40},
    {1, 17, 64, 32, false, 32, 9, 11, 17},
    // The tiled GEMM: one token, fewer tokens than a tile, full and partial tiles, rows not
    // a multiple of 16, the smallest and largest groups, a KV-cache write at a position.
    {1, 17, 172, 64, true, 0, 0, 0, 0, 8},
    {3, 33, 200, 128, false, 32, 0, 0, 0, 8},
    {17, 19, 130, 64, true, 0, 0, 0, 0, 8},
    {13, 16, 8, 8, true, 256, 0, 0, 0, 4},
    {5, 7, 4096, 4096, true, 64, 0, 0, 0, 3},
    {6, 40, 128, 64, true, 16, 5, 3, 40, 2},
    {17, 40, 320, 64, true, 64, 0, 0, 0, 8},  // the forward pass's prefill GEMM (64, 8 tokens)
};

TEST(VulkanQ4gMatvec, MatchesCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(6464);
  for (const GroupCase& c : kGroupCases) RunGroupCase(*device, c, rng);
}

TEST(VulkanQ4gMatvec, RefusesBadShapesAndBuffersTooSmall) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Q4gMatvec> op = vk::Q4gMatvec::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  // 3 rows x 2 groups of 64 need 192 bytes of weights and 24 of scales and mins.
  vk::Buffer w = Upload(*device, std::vector<uint8_t>(192), "w");
  vk::Buffer params = Upload(*device, std::vector<uint16_t>(6), "params");
  vk::Buffer xq = Upload(*device, std::vector<int8_t>(128), "xq");
  vk::Buffer xs = Upload(*device, std::vector<float>(2), "xscale");
  vk::Buffer y = Upload(*device, std::vector<float>(4), "y");
  vk::Q4MatvecArgs args = MakeQ4MatvecArgs(1, 3, 2, {0, 0, 3}, &w, &xq, &xs, nullptr, &y);
  args.group = 64;
  args.params = &params;
  EXPECT_TRUE(PrepareStatus(*device, *op, args).ok());
  args.mins = true;
  kite::Status s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q4g_matvec: buffer 'params' holds 12 bytes, the shape needs 24");
  args.mins = false;
  args.rows = 4;
  args.y_at.stride = 4;
  s = PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "q4g_matvec: buffer 'w' holds 192 bytes, the shape needs 256");
  args.rows = 3;
  args.y_at.stride = 3;
  args.max_tokens = 2;
  s = PrepareStatus(*device, *op, args);
  // The shape and y checks are CheckQ4Matvec's, tested with q4r16_matvec (shaders_test.cc).
  args.max_tokens = 1;
  for (uint32_t bad : {0u, 4u, 36u, 4104u}) {
    args.group = bad;
    s = PrepareStatus(*device, *op, args);
    EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), "q4g_matvec: group of " + std::to_string(bad) +
                                            " is not a multiple of 8 in [8, 4096]");
  }
  EXPECT_FALSE(vk::Q4gMatvec::Create(*device, 8).ok());  // narrower than 16 rows
  for (uint32_t bad : {0u, vk::kQ4MaxTileTokens + 1}) {
    kite::Result<vk::Q4gMatvec> tiled = vk::Q4gMatvec::Create(*device, 0, bad);
    ASSERT_FALSE(tiled.ok());
    EXPECT_EQ(tiled.status().code(), kite::Error::kInvalidArgument);
    EXPECT_EQ(std::string(tiled.status().message()),
              "q4g_matvec: tile of " + std::to_string(bad) + " tokens is not in [1, 8]");
  }
}

}  // namespace
