// The codebook layout Q4_R16_G32_CB (q4r16_matvec's codebook specialization) and its tiled
// GEMM against qd8_q4r16cb_gemm_ref, on lavapipe (KITE_VULKAN_ALLOW_CPU=1 is set by
// vulkan_test_util.h), on weights packed by PackQ4R16Sym (the converter's packer for these
// blocks) with random int8 codebooks: one row block, rows not a multiple of 16, widths from
// one group to 4992 columns, 1, 7 and 64 tokens, rows written at a position, several
// workgroup sizes and tiles; and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/q4r16_matvec.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

constexpr size_t kGroup = kite::kQ4R16GroupSize;
using kite::vulkan::test::kUntouched;
using kite::vulkan::test::ExpectOnlyRowsWritten;
using kite::vulkan::test::MakeOutputRows;
using kite::vulkan::test::MakeQ4MatvecArgs;
using kite::vulkan::test::OutputRows;
using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::RunOp;
using kite::vulkan::test::Upload;

struct CbCase {
  size_t m, rows, cols;
  uint32_t workgroup;  // 0: the device's largest
  uint32_t tile = 1;   // tokens per workgroup: > 1 is the tiled GEMM for prefill
  // y's RowAddress beyond the default (stride rows, or rows + 3 for several tokens).
  uint32_t pos = 0, y_offset = 0, y_pos_stride = 0;
};

// The codebook op (symmetric blocks), plain shader whatever the environment asks.
kite::Result<vk::Q4R16Matvec> Create(const vk::Device& device, uint32_t workgroup,
                                     uint32_t tile) {
  return vk::Q4R16Matvec::Create(device, true, workgroup, tile,
                                 vk::Q4R16MatvecVariant::kAuto, true);
}

std::string Name(const CbCase& c) {
  return "m=" + std::to_string(c.m) + " rows=" + std::to_string(c.rows) +
         " cols=" + std::to_string(c.cols) + " wg=" + std::to_string(c.workgroup) +
         " tile=" + std::to_string(c.tile) + " pos=" + std::to_string(c.pos) +
         " y_offset=" + std::to_string(c.y_offset) +
         " y_pos_stride=" + std::to_string(c.y_pos_stride);
}

// Runs `op` on the case's buffers; the output buffer's floats in *got.
::testing::AssertionResult Run(vk::Device& device, const vk::Q4R16Matvec& op, const CbCase& c,
                               size_t groups, const std::vector<uint8_t>& packed,
                               const std::vector<int8_t>& xq, const std::vector<float>& xscale,
                               const std::vector<int32_t>& xsum, const int8_t* codebook,
                               const OutputRows& o, std::vector<float>* got) {
  vk::Buffer bw = Upload(device, packed, "w");
  vk::Buffer bxq = Upload(device, xq, "xq");
  vk::Buffer bxs = Upload(device, xscale, "xscale");
  vk::Buffer bsum = Upload(device, xsum, "xsum");
  vk::Buffer by = Upload(device, std::vector<float>(o.size, kUntouched), "y");
  vk::Q4MatvecArgs args = MakeQ4MatvecArgs(
      static_cast<uint32_t>(c.m), static_cast<uint32_t>(c.rows), static_cast<uint32_t>(groups),
      {o.y_offset, o.y_pos_stride, static_cast<uint32_t>(o.stride)}, &bw, &bxq, &bxs, &bsum, &by);
  args.max_pos = c.pos;
  args.codebook = codebook;
  ::testing::AssertionResult ran = RunOp(device, op, args, static_cast<uint32_t>(c.m), c.pos);
  const float* y = static_cast<const float*>(by.data());
  got->assign(y, y + o.size);
  return ran;
}

void RunCbCase(vk::Device& device, const CbCase& c, std::mt19937& rng) {
  SCOPED_TRACE(Name(c));
  const size_t groups = (c.cols + kGroup - 1) / kGroup;
  const size_t padded = groups * kGroup;
  // Weights: random 4-bit codes, f16 scales of both signs over orders of magnitude, a
  // codebook of random entries in [-127, 127] (the format's range) including both ends.
  std::uniform_int_distribution<int> code(0, 15);
  std::uniform_int_distribution<int> entry(-127, 127);
  int8_t codebook[kite::kQ4CodebookEntries];
  for (int8_t& e : codebook) e = static_cast<int8_t>(entry(rng));
  codebook[0] = -127;
  codebook[15] = 127;
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::bernoulli_distribution coin(0.5);
  std::vector<uint8_t> u(c.rows * padded, 8);  // the format's padding code
  std::vector<uint16_t> d(c.rows * groups);
  for (size_t r = 0; r < c.rows; ++r) {
    for (size_t col = 0; col < c.cols; ++col) u[r * padded + col] = static_cast<uint8_t>(code(rng));
    for (size_t g = 0; g < groups; ++g) {
      const float s = std::ldexp(scale(rng), static_cast<int>(r % 5) - 2);
      d[r * groups + g] = kite::FloatToHalf(coin(rng) ? s : -s);
    }
  }
  std::vector<uint8_t> packed(
      kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32_CB, c.rows, c.cols, kGroup));
  k::PackQ4R16Sym(c.rows, c.cols, u.data(), d.data(), packed.data());
  // Activations quantized as the runtime does (zeros past cols).
  std::normal_distribution<float> normal(0.0f, 1.0f);
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
  k::qd8_q4r16cb_gemm_ref(c.m, c.rows, groups, packed.data(), codebook, xq.data(),
                          xscale.data(), xsum.data(), want.data() + o.start, o.stride);

  kite::Result<vk::Q4R16Matvec> op = Create(device, c.workgroup, c.tile);
  ASSERT_TRUE(op.ok()) << op.status().message();
  std::vector<float> got;
  ASSERT_TRUE(Run(device, *op, c, groups, packed, xq, xscale, xsum, codebook, o, &got));
  ExpectOnlyRowsWritten(got.data(), o.size, o.start, o.stride, c.m, c.rows);
  if (c.tile > 1) {
    // Every tile adds in the same order: the tiled GEMM (prefill) equals the matvec (decode,
    // T = 1) bit for bit, so tokens do not change with the chunking of a prompt.
    kite::Result<vk::Q4R16Matvec> matvec = Create(device, c.workgroup, 1);
    ASSERT_TRUE(matvec.ok()) << matvec.status().message();
    std::vector<float> decode;
    ASSERT_TRUE(Run(device, *matvec, c, groups, packed, xq, xscale, xsum, codebook, o, &decode));
    for (size_t i = 0; i < o.size; ++i) ASSERT_EQ(got[i], decode[i]) << "element " << i;
  }
  // Tolerance: float rounding of the sum of the terms' magnitudes (the integer dot products
  // are exact; only the order of the f32 additions differs).
  std::vector<float> row(c.cols);
  for (size_t r = 0; r < c.rows; ++r) {
    k::DequantizeQ4R16CbRow(c.cols, packed.data(), codebook, r, row.data());
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

const CbCase kCbCases[] = {
    {1, 1, 32, 0},        // one row, one group
    {1, 16, 32, 16},      // one row block, smallest workgroup
    {1, 17, 96, 0},       // a partial row block
    {1, 33, 224, 32},     // seven groups: an odd count
    {1, 100, 640, 128},
    {1, 250, 1024, 256},  // more groups than lanes
    {1, 19, 4992, 64},    // the widest: 156 groups
    {7, 16, 32, 64},      // 7 tokens with a gap between rows
    {7, 45, 2048, 0},
    {64, 17, 160, 64},    // a prefill chunk, as decode calls
    // Rows at position pos of a cache of rows-wide rows (after an offset).
    {3, 40, 128, 0, 1, 5, 0, 40},
    {1, 17, 64, 32, 1, 9, 11, 17},
    // The tiled GEMM: one token, fewer tokens than a tile, full and partial tiles, rows not
    // a multiple of 16, a KV-cache write at a position.
    {1, 17, 96, 0, 8},
    {7, 33, 224, 32, 8},
    {7, 16, 4992, 64, 8},
    {64, 17, 160, 64, 8},  // the forward pass's prefill GEMM: 64 invocations, 8 tokens
    {64, 250, 1024, 16, 4},
    {13, 100, 640, 16, 3},
    {5, 40, 128, 256, 2, 6, 3, 40},
};

TEST(VulkanQ4R16CbMatvec, MatchesCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(416);
  for (const CbCase& c : kCbCases) RunCbCase(*device, c, rng);
}

TEST(VulkanQ4R16CbMatvec, RefusesBadShapesBuffersTooSmallAndNoCodebook) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Q4R16Matvec> op = Create(*device, 0, 1);
  ASSERT_TRUE(op.ok()) << op.status().message();
  EXPECT_TRUE(op->codebook());
  EXPECT_FALSE(op->integer_dot());
  const int8_t codebook[kite::kQ4CodebookEntries] = {};
  // 17 rows x 2 groups need 2 row blocks x 2 groups x 288 bytes; give one block row.
  vk::Buffer w = Upload(*device, std::vector<uint8_t>(2 * 288), "w");
  vk::Buffer xq = Upload(*device, std::vector<int8_t>(64), "xq");
  vk::Buffer xs = Upload(*device, std::vector<float>(2), "xscale");
  vk::Buffer xsum = Upload(*device, std::vector<int32_t>(2), "xsum");
  vk::Buffer y = Upload(*device, std::vector<float>(17), "y");
  vk::Q4MatvecArgs args = MakeQ4MatvecArgs(1, 17, 2, {0, 0, 17}, &w, &xq, &xs, &xsum, &y);
  args.codebook = codebook;
  kite::Status s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q4r16_matvec: buffer 'w' holds 576 bytes, the shape needs 1152");
  args.rows = 16;
  EXPECT_TRUE(PrepareStatus(*device, *op, args).ok());
  args.codebook = nullptr;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q4r16_matvec: the codebook layout needs the tensor's codebook");
  // The codebook blocks are the symmetric ones: an asymmetric codebook op is refused.
  kite::Result<vk::Q4R16Matvec> asym =
      vk::Q4R16Matvec::Create(*device, false, 0, 1, vk::Q4R16MatvecVariant::kAuto, true);
  ASSERT_FALSE(asym.ok());
  EXPECT_EQ(asym.status().code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(asym.status().message()).find("Q4_R16_G32_CB"), std::string::npos)
      << asym.status().message();
}

}  // namespace
