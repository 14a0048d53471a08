// The codebook layout Q4_R16_G32_CB (q4r16_matvec's codebook specialization) and its tiled
// GEMM against qd8_q4r16cb_gemm_ref, on lavapipe (KITE_VULKAN_ALLOW_CPU=1 is set by
// vulkan_test_util.h), on weights packed by PackQ4R16Sym (the converter's packer for these
// blocks) with random int8 codebooks: one row block, rows not a multiple of 16, widths from
// one group to 4992 columns, 1, 7 and 64 tokens, rows written at a position, several
// workgroup sizes and tiles; and the refusals.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/q4r16_matvec.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "test/vulkan/int8_matvec_case.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

constexpr size_t kGroup = kite::kQ4R16GroupSize;
using kite::vulkan::test::kUntouched;
using kite::vulkan::test::CaseName;
using kite::vulkan::test::CheckCase;
using kite::vulkan::test::ExpectIntegerDotEqualsPlain;
using kite::vulkan::test::HasIntegerDot;
using kite::vulkan::test::MakeOutputRows;
using kite::vulkan::test::MakeQ4MatvecArgs;
using kite::vulkan::test::MatvecCase;
using kite::vulkan::test::OddShapeCases;
using kite::vulkan::test::OutputRows;
using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::QuantizedActivations;
using kite::vulkan::test::RandomActivations;
using kite::vulkan::test::RandomCodesAndScales;
using kite::vulkan::test::Upload;

// The codebook op (symmetric blocks), the plain shader or its integer-dot variant.
kite::Result<vk::Q4R16Matvec> Create(
    const vk::Device& device, uint32_t workgroup, uint32_t tile,
    vk::Q4R16MatvecVariant variant = vk::Q4R16MatvecVariant::kPlain) {
  return vk::Q4R16Matvec::Create(device, true, workgroup, tile, variant, true);
}

void RunCbCase(vk::Device& device, const MatvecCase& c, std::mt19937& rng,
               vk::Q4R16MatvecVariant variant = vk::Q4R16MatvecVariant::kPlain) {
  SCOPED_TRACE(CaseName(c));
  const size_t groups = (c.cols + kGroup - 1) / kGroup;
  // Weights: random 4-bit codes, f16 scales of both signs over orders of magnitude, a
  // codebook of random entries in [-127, 127] (the format's range) including both ends.
  std::uniform_int_distribution<int> entry(-127, 127);
  int8_t codebook[kite::kQ4CodebookEntries];
  for (int8_t& e : codebook) e = static_cast<int8_t>(entry(rng));
  codebook[0] = -127;
  codebook[15] = 127;
  std::vector<uint8_t> u;
  std::vector<uint16_t> d;
  RandomCodesAndScales(c.rows, c.cols, kGroup, 15, 8, rng, &u, &d);  // 8: the padding code
  std::vector<uint8_t> packed(
      kite::PackedBytes(kite::DType::Q4_G, kite::Layout::Q4_R16_G32_CB, c.rows, c.cols, kGroup));
  k::PackQ4R16Sym(c.rows, c.cols, u.data(), d.data(), packed.data());
  const QuantizedActivations x = RandomActivations(c.m, c.cols, kGroup, rng);
  const OutputRows o = MakeOutputRows(c.m, c.rows, c.pos, c.y_offset, c.y_pos_stride);
  std::vector<float> want(o.size, kUntouched);
  k::qd8_q4r16cb_gemm_ref(c.m, c.rows, groups, packed.data(), codebook, x.xq.data(),
                          x.xscale.data(), x.xsum.data(), want.data() + o.start, o.stride);
  CheckCase(
      device, c, kGroup, packed, x, codebook, o, want,
      [&](uint32_t workgroup, uint32_t tile) { return Create(device, workgroup, tile, variant); },
      [&](size_t r, float* row) {
        k::DequantizeQ4R16CbRow(c.cols, packed.data(), codebook, r, row);
      });
  if (variant == vk::Q4R16MatvecVariant::kIntegerDot) {
    auto plain = Create(device, c.workgroup, c.tile);
    auto dot = Create(device, c.workgroup, c.tile, variant);
    ASSERT_TRUE(plain.ok() && dot.ok());
    EXPECT_TRUE(dot->codebook());
    ExpectIntegerDotEqualsPlain(device, c, packed, x, codebook, o, *plain, *dot);
  }
}

TEST(VulkanQ4R16CbMatvec, MatchesCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(416);
  for (const MatvecCase& c : OddShapeCases()) RunCbCase(*device, c, rng);
}

// The codebook specialization of the integer-dot shader (q4r16_matvec_dot.spvasm: 4
// looked-up entries per OpSDot) against the reference, and bit for bit against the plain one.
TEST(VulkanQ4R16CbMatvec, IntegerDotVariantMatchesCpuReferenceAndPlainShader) {
  REQUIRE_DEVICE(device);
  if (!HasIntegerDot(*device)) GTEST_SKIP() << "no VK_KHR_shader_integer_dot_product";
  std::mt19937 rng(417);
  for (const MatvecCase& c : OddShapeCases()) {
    RunCbCase(*device, c, rng, vk::Q4R16MatvecVariant::kIntegerDot);
  }
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
