// The 3-bit matvec and its tiled GEMM against qd8_q3r16_gemm_ref, on lavapipe
// (KITE_VULKAN_ALLOW_CPU=1 is set by vulkan_test_util.h), on weights packed by PackQ3R16
// (the converter's packer, so the shader reads the bytes a .kite file holds), in both
// layouts (Q3_R16_G32, and Q3_R16_G64 with odd activation group counts: half a column block
// at the end): one row block, rows not a multiple of 16, widths from one group to 4992
// columns, 1, 7 and 64 tokens, rows written at a position, several workgroup sizes and
// tiles; the same on the integer-dot variant (q3r16_matvec_dot.spvasm), which must also
// equal the plain shader bit for bit; on an AVX-512 machine with a CPU device (lavapipe),
// both equal to the AVX-512 variant bit for bit (the shader adds each row's terms in its
// order and operations); and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/q3r16_matvec.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
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
using kite::vulkan::test::RunCase;
using kite::vulkan::test::Upload;

// `x` with its groups padded to a multiple of `s` (zero codes, scales and sums), what
// qd8_q3r16_gemm_ref takes for Q3_R16_G64 (the runtime's CPU path pads the same way).
QuantizedActivations PadGroups(const QuantizedActivations& x, size_t m, size_t s) {
  QuantizedActivations p;
  p.groups = (x.groups + s - 1) / s * s;
  p.padded = p.groups * kGroup;
  p.xq.assign(m * p.padded, 0);
  p.xscale.assign(m * p.groups, 0.0f);
  p.xsum.assign(m * p.groups, 0);
  for (size_t t = 0; t < m; ++t) {
    std::copy_n(x.xq.begin() + t * x.padded, x.padded, p.xq.begin() + t * p.padded);
    std::copy_n(x.xscale.begin() + t * x.groups, x.groups, p.xscale.begin() + t * p.groups);
    std::copy_n(x.xsum.begin() + t * x.groups, x.groups, p.xsum.begin() + t * p.groups);
  }
  return p;
}

void RunQ3Case(vk::Device& device, const MatvecCase& c, std::mt19937& rng,
               vk::Q4R16MatvecVariant variant = vk::Q4R16MatvecVariant::kPlain) {
  SCOPED_TRACE(CaseName(c));
  const size_t s = c.groups_per_scale;
  const size_t scale_group = s * kGroup;  // the layout's group: columns per scale
  const kite::Layout layout = s == 1 ? kite::Layout::Q3_R16_G32 : kite::Layout::Q3_R16_G64;
  // Weights: random 3-bit codes, f16 scales of both signs over orders of magnitude.
  std::vector<uint8_t> u;
  std::vector<uint16_t> d;
  RandomCodesAndScales(c.rows, c.cols, scale_group, 7, static_cast<uint8_t>(kite::kQ3Zero), rng,
                       &u, &d);
  std::vector<uint8_t> packed(kite::PackedBytes(kite::DType::Q4_G, layout, c.rows, c.cols,
                                                static_cast<uint32_t>(scale_group)));
  k::PackQ3R16(c.rows, c.cols, scale_group, u.data(), d.data(), packed.data());
  // The shader gets ceil(cols / 32) groups, as the Vulkan forward pass quantizes them (odd
  // counts with groups of 64); the reference a whole number of column blocks.
  const QuantizedActivations x = RandomActivations(c.m, c.cols, kGroup, rng);
  const QuantizedActivations xr = PadGroups(x, c.m, s);
  const OutputRows o = MakeOutputRows(c.m, c.rows, c.pos, c.y_offset, c.y_pos_stride);
  std::vector<float> want(o.size, kUntouched);
  k::qd8_q3r16_gemm_ref(c.m, c.rows, xr.groups, s, packed.data(), xr.xq.data(),
                        xr.xscale.data(), xr.xsum.data(), want.data() + o.start, o.stride);
  CheckCase(
      device, c, kGroup, packed, x, nullptr, o, want,
      [&](uint32_t workgroup, uint32_t tile) {
        return vk::Q3R16Matvec::Create(device, workgroup, tile, variant);
      },
      [&](size_t r, float* row) {
        k::DequantizeQ3R16Row(c.cols, scale_group, packed.data(), r, row);
      });
  // On an AVX-512 machine with a CPU device: the AVX-512 variant's outputs bit for bit (on
  // the activations padded as the runtime's CPU path pads them; compared as floats: a
  // padding group adds a zero, which may turn an exact -0 into +0).
  const k::KernelTable& best = k::SelectKernels(k::Isa::kBest);
  if (best.isa == k::Isa::kAvx512Vnni && vk::IsCpuDevice(device.facts().type)) {
    std::vector<float> exact(o.size, kUntouched);
    best.qd8_q3r16_gemm(c.m, c.rows, xr.groups, s, packed.data(), xr.xq.data(),
                        xr.xscale.data(), xr.xsum.data(), exact.data() + o.start, o.stride);
    auto op = vk::Q3R16Matvec::Create(device, c.workgroup, c.tile, variant);
    ASSERT_TRUE(op.ok()) << op.status().message();
    std::vector<float> got;
    ASSERT_TRUE(RunCase(device, *op, c, packed, x, nullptr, o, &got));
    for (size_t i = 0; i < o.size; ++i) {
      ASSERT_EQ(got[i], exact[i]) << "element " << i << " (AVX-512 variant)";
    }
  }
  if (variant == vk::Q4R16MatvecVariant::kIntegerDot) {
    auto plain =
        vk::Q3R16Matvec::Create(device, c.workgroup, c.tile, vk::Q4R16MatvecVariant::kPlain);
    auto dot = vk::Q3R16Matvec::Create(device, c.workgroup, c.tile, variant);
    ASSERT_TRUE(plain.ok() && dot.ok());
    ExpectIntegerDotEqualsPlain(device, c, packed, x, nullptr, o, *plain, *dot);
  }
}

TEST(VulkanQ3R16Matvec, MatchesCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(333);
  for (const MatvecCase& c : OddShapeCases()) RunQ3Case(*device, c, rng);
}

// The odd shapes with groups of 64 (Q3_R16_G64): widths of 1, 3, 5 and 7 groups of 32 end
// in half a column block.
std::vector<MatvecCase> G64Cases() {
  std::vector<MatvecCase> cases = OddShapeCases();
  for (MatvecCase& c : cases) c.groups_per_scale = 2;
  return cases;
}

TEST(VulkanQ3R16Matvec, GroupsOf64MatchCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(335);
  for (const MatvecCase& c : G64Cases()) RunQ3Case(*device, c, rng);
}

TEST(VulkanQ3R16Matvec, IntegerDotVariantMatchesCpuReferenceAndPlainShader) {
  REQUIRE_DEVICE(device);
  if (!HasIntegerDot(*device)) GTEST_SKIP() << "no VK_KHR_shader_integer_dot_product";
  std::mt19937 rng(334);
  for (const MatvecCase& c : OddShapeCases()) {
    RunQ3Case(*device, c, rng, vk::Q4R16MatvecVariant::kIntegerDot);
  }
  for (const MatvecCase& c : G64Cases()) {
    RunQ3Case(*device, c, rng, vk::Q4R16MatvecVariant::kIntegerDot);
  }
}

// The variant follows UseIntegerDot: kAuto plain where integer dot is not accelerated
// (lavapipe), kIntegerDot refused naming the op on a device without the feature.
TEST(VulkanQ3R16Matvec, VariantChoice) {
  REQUIRE_DEVICE(device);
  const vk::DeviceFacts& f = device->facts();
  auto automatic = vk::Q3R16Matvec::Create(*device, 0, 1, vk::Q4R16MatvecVariant::kAuto);
  ASSERT_TRUE(automatic.ok()) << automatic.status().message();
  EXPECT_EQ(automatic->integer_dot(), f.integer_dot_product && f.integer_dot_accelerated);
  vk::DeviceFacts none = f;
  none.integer_dot_product = false;
  kite::Result<bool> refused =
      vk::UseIntegerDot(none, vk::Q4R16MatvecVariant::kIntegerDot, "q3r16_matvec");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), kite::Error::kUnsupported);
  EXPECT_EQ(std::string(refused.status().message()).rfind("q3r16_matvec: Vulkan device '", 0), 0u)
      << refused.status().message();
}

TEST(VulkanQ3R16Matvec, RefusesBadShapesAndBuffersTooSmall) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Q3R16Matvec> op = vk::Q3R16Matvec::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  // 17 rows x 2 groups need 2 row blocks x 2 groups x 224 bytes; give one block row.
  vk::Buffer w = Upload(*device, std::vector<uint8_t>(2 * 224), "w");
  vk::Buffer xq = Upload(*device, std::vector<int8_t>(64), "xq");
  vk::Buffer xs = Upload(*device, std::vector<float>(2), "xscale");
  vk::Buffer xsum = Upload(*device, std::vector<int32_t>(1), "xsum");
  vk::Buffer y = Upload(*device, std::vector<float>(17), "y");
  vk::Q4MatvecArgs args = MakeQ4MatvecArgs(1, 17, 2, {0, 0, 17}, &w, &xq, &xs, &xsum, &y);
  kite::Status s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q3r16_matvec: buffer 'w' holds 448 bytes, the shape needs 896");
  args.rows = 16;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q3r16_matvec: buffer 'xsum' holds 4 bytes, the shape needs 8");
  args.xsum = nullptr;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("xsum"), std::string::npos) << s.message();
  args.xsum = &xsum;
  args.groups = 1;
  args.max_tokens = 3;  // three tokens need 96 bytes of xq
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q3r16_matvec: buffer 'xq' holds 64 bytes, the shape needs 96");
  args.max_tokens = 1;
  args.y_at.stride = 15;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("q3r16_matvec: bad shape"), std::string::npos)
      << s.message();
  args.y_at.stride = 16;
  EXPECT_TRUE(PrepareStatus(*device, *op, args).ok());
  // Groups of 64: 17 rows x 3 groups of 32 need 2 row blocks x 2 column blocks x 416 bytes.
  args.groups_per_scale = 3;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(),
               "q3r16_matvec: groups_per_scale of 3 is not 1 (q3_r16_g32) or 2 (q3_r16_g64)");
  args.groups_per_scale = 2;
  EXPECT_TRUE(PrepareStatus(*device, *op, args).ok());  // 1 group: 1 block of 416 bytes
  vk::Buffer xq3 = Upload(*device, std::vector<int8_t>(96), "xq");
  vk::Buffer xs3 = Upload(*device, std::vector<float>(3), "xscale");
  vk::Buffer xsum3 = Upload(*device, std::vector<int32_t>(3), "xsum");
  vk::Buffer y17 = Upload(*device, std::vector<float>(17), "y");
  vk::Q4MatvecArgs g64 = MakeQ4MatvecArgs(1, 17, 3, {0, 0, 17}, &w, &xq3, &xs3, &xsum3, &y17);
  g64.groups_per_scale = 2;
  s = PrepareStatus(*device, *op, g64);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q3r16_matvec: buffer 'w' holds 448 bytes, the shape needs 1664");
  // Workgroups narrower than a row block; tiles out of range.
  EXPECT_FALSE(vk::Q3R16Matvec::Create(*device, 8).ok());
  for (uint32_t bad : {0u, vk::kQ4MaxTileTokens + 1}) {
    kite::Result<vk::Q3R16Matvec> tiled = vk::Q3R16Matvec::Create(*device, 0, bad);
    ASSERT_FALSE(tiled.ok());
    EXPECT_EQ(tiled.status().code(), kite::Error::kInvalidArgument);
    EXPECT_EQ(std::string(tiled.status().message()),
              "q3r16_matvec: tile of " + std::to_string(bad) + " tokens is not in [1, 8]");
  }
}

}  // namespace
