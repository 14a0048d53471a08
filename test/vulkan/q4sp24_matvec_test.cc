// The Q4_SP24_R16_G64 (2:4 sparse 4-bit) matvec against qd8_q4sp24_gemm_ref, on lavapipe
// (KITE_VULKAN_ALLOW_CPU=1 is set by vulkan_test_util.h), on weights packed by PackQ4SP24
// (the converter's packer, so the shader reads the bytes a .kite file holds): one row block,
// rows not a multiple of 16, widths of one and several 64-column blocks (and an odd number
// of 32-column groups), several tokens with gaps between rows, rows written at a position,
// every workgroup size; and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/q4sp24_matvec.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

constexpr size_t kGroup = kite::kQ4SP24GroupSize;
using kite::vulkan::test::kUntouched;
using kite::vulkan::test::ExpectOnlyRowsWritten;
using kite::vulkan::test::MakeOutputRows;
using kite::vulkan::test::MakeQ4MatvecArgs;
using kite::vulkan::test::OutputRows;
using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::RunQ4Matvec;
using kite::vulkan::test::Upload;

struct Sp24Case {
  size_t m, rows, cols;
  uint32_t workgroup;  // 0: the device's largest
  // y's RowAddress beyond the default (stride rows, or rows + 3 for several tokens).
  uint32_t pos = 0, y_offset = 0, y_pos_stride = 0;
  uint32_t tile = 1;  // tokens per workgroup: > 1 is the tiled GEMM for prefill
};

std::string Name(const Sp24Case& c) {
  return "m=" + std::to_string(c.m) + " rows=" + std::to_string(c.rows) +
         " cols=" + std::to_string(c.cols) + " wg=" + std::to_string(c.workgroup) +
         " pos=" + std::to_string(c.pos) + " y_offset=" + std::to_string(c.y_offset) +
         " y_pos_stride=" + std::to_string(c.y_pos_stride) + " tile=" + std::to_string(c.tile);
}

void RunSp24Case(vk::Device& device, const Sp24Case& c, std::mt19937& rng) {
  SCOPED_TRACE(Name(c));
  const size_t groups = (c.cols + kGroup - 1) / kGroup;
  const size_t padded = groups * kGroup;
  // A 2:4 sparse matrix: per aligned quad, 0 to 2 non-zeros at random columns; row scales
  // differ by orders of magnitude.
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> column(0, 3), kept(0, 2);
  std::vector<float> w(c.rows * c.cols, 0.0f);
  for (size_t r = 0; r < c.rows; ++r) {
    const float row_scale = std::ldexp(1.0f, static_cast<int>(r % 7) - 3);
    for (size_t q = 0; q < c.cols; q += 4) {
      for (int n = kept(rng); n > 0; --n) {
        const size_t col = q + static_cast<size_t>(column(rng));
        if (col < c.cols) w[r * c.cols + col] = row_scale * normal(rng);
      }
    }
  }
  std::vector<uint8_t> packed(kite::PackedBytes(kite::DType::Q4_G_SP24,
                                                kite::Layout::Q4_SP24_R16_G64, c.rows, c.cols,
                                                kite::kQ4SP24BlockCols));
  ASSERT_TRUE(k::PackQ4SP24(c.rows, c.cols, w.data(), packed.data()));
  // Activations quantized as the runtime does (zeros past cols).
  std::vector<int8_t> xq(c.m * padded);
  std::vector<float> xscale(c.m * groups);
  std::vector<int32_t> xsum(c.m * groups);
  for (size_t t = 0; t < c.m; ++t) {
    std::vector<float> x(c.cols);
    for (float& v : x) v = normal(rng);
    k::q8_quantize_ref(c.cols, kGroup, x.data(), xq.data() + t * padded,
                       xscale.data() + t * groups, xsum.data() + t * groups);
  }
  const OutputRows o = MakeOutputRows(c.m, c.rows, c.pos, c.y_offset, c.y_pos_stride);
  std::vector<float> want(o.size, kUntouched);
  k::qd8_q4sp24_gemm_ref(c.m, c.rows, groups, packed.data(), xq.data(), xscale.data(),
                         want.data() + o.start, o.stride);

  kite::Result<vk::Q4Sp24Matvec> op = vk::Q4Sp24Matvec::Create(device, c.workgroup, c.tile);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Q4MatvecArgs args;
  args.groups = static_cast<uint32_t>(groups);
  std::vector<float> got;
  ASSERT_TRUE(RunQ4Matvec(device, *op, args, packed, {}, xq, xscale, o, c.pos, &got));
  ExpectOnlyRowsWritten(got.data(), o.size, o.start, o.stride, c.m, c.rows);
  if (c.tile > 1) {
    // Every tile adds in the same order: the tiled GEMM (prefill) equals the matvec (decode,
    // T = 1) bit for bit, so tokens do not change with the chunking of a prompt.
    kite::Result<vk::Q4Sp24Matvec> matvec = vk::Q4Sp24Matvec::Create(device, c.workgroup, 1);
    ASSERT_TRUE(matvec.ok()) << matvec.status().message();
    std::vector<float> decode;
    ASSERT_TRUE(RunQ4Matvec(device, *matvec, args, packed, {}, xq, xscale, o, c.pos, &decode));
    for (size_t i = 0; i < o.size; ++i) ASSERT_EQ(got[i], decode[i]) << "element " << i;
  }
  // Tolerance: float rounding of the sum of the terms' magnitudes (the integer dot products
  // are exact; only the order of the f32 additions differs).
  std::vector<float> row(c.cols);
  for (size_t r = 0; r < c.rows; ++r) {
    k::DequantizeQ4SP24Row(c.cols, packed.data(), r, row.data());
    for (size_t t = 0; t < c.m; ++t) {
      double magnitude = 0.0;
      for (size_t col = 0; col < c.cols; ++col) {
        magnitude += std::fabs(static_cast<double>(row[col]) * xq[t * padded + col] *
                               xscale[t * groups + col / kGroup]);
      }
      const size_t i = o.start + t * o.stride + r;
      ASSERT_NEAR(got[i], want[i], 4e-6 * magnitude + 1e-30) << "token " << t << " row " << r;
    }
  }
}

const Sp24Case kSp24Cases[] = {
    {1, 1, 64, 0},       // one row, one block
    {1, 16, 32, 16},     // one row block, one group (the block's second half is padding)
    {1, 17, 100, 0},     // a partial row block, a partial group
    {1, 33, 192, 32},    // three groups: an odd count
    {1, 100, 640, 128},  // several column blocks
    {1, 250, 1024, 256}, // more groups than lanes
    {3, 19, 128, 0},     // several tokens with a gap between rows
    {9, 40, 320, 64},    // a prefill chunk
    // Rows at position pos of a cache of rows-wide rows (after an offset).
    {3, 40, 128, 0, 5, 0, 40},
    {1, 17, 64, 32, 9, 11, 17},
    // The tiled GEMM: one token, fewer tokens than a tile, full and partial tiles, rows not
    // a multiple of 16, a KV-cache write at a position.
    {1, 17, 100, 0, 0, 0, 0, 8},
    {3, 33, 192, 32, 0, 0, 0, 8},
    {17, 19, 128, 0, 0, 0, 0, 8},
    {13, 100, 640, 16, 0, 0, 0, 4},
    {5, 40, 128, 256, 6, 3, 40, 2},
    {9, 250, 1024, 64, 0, 0, 0, 3},
    {17, 40, 320, 64, 0, 0, 0, 8},  // the forward pass's prefill GEMM: 64 invocations, 8 tokens
};

TEST(VulkanQ4Sp24Matvec, MatchesCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(2424);
  for (const Sp24Case& c : kSp24Cases) RunSp24Case(*device, c, rng);
}

TEST(VulkanQ4Sp24Matvec, RefusesBadShapesAndBuffersTooSmall) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Q4Sp24Matvec> op = vk::Q4Sp24Matvec::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  // 17 rows x 3 groups need 2 row blocks x 2 column blocks x 416 bytes; give one row block.
  vk::Buffer w = Upload(*device, std::vector<uint8_t>(2 * 416), "w");
  vk::Buffer xq = Upload(*device, std::vector<int8_t>(96), "xq");
  vk::Buffer xs = Upload(*device, std::vector<float>(3), "xscale");
  vk::Buffer y = Upload(*device, std::vector<float>(17), "y");
  vk::Q4MatvecArgs args = MakeQ4MatvecArgs(1, 17, 3, {0, 0, 17}, &w, &xq, &xs, nullptr, &y);
  kite::Status s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q4sp24_matvec: buffer 'w' holds 832 bytes, the shape needs 1664");
  args.rows = 16;
  args.max_tokens = 2;  // two tokens need 192 bytes of xq
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q4sp24_matvec: buffer 'xq' holds 96 bytes, the shape needs 192");
  // The shape and y checks are CheckQ4Matvec's, tested with q4r16_matvec (shaders_test.cc).
  // Workgroups narrower than a row block.
  EXPECT_FALSE(vk::Q4Sp24Matvec::Create(*device, 8).ok());
  for (uint32_t bad : {0u, vk::kQ4MaxTileTokens + 1}) {
    kite::Result<vk::Q4Sp24Matvec> tiled = vk::Q4Sp24Matvec::Create(*device, 0, bad);
    ASSERT_FALSE(tiled.ok());
    EXPECT_EQ(tiled.status().code(), kite::Error::kInvalidArgument);
    EXPECT_EQ(std::string(tiled.status().message()),
              "q4sp24_matvec: tile of " + std::to_string(bad) + " tokens is not in [1, 8]");
  }
}

}  // namespace
