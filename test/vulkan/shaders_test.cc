// Every Vulkan shader against its CPU reference kernel, on lavapipe (KITE_VULKAN_ALLOW_CPU=1
// is set here), on shapes off the tiles: one row, rows and columns that are not multiples of
// the 16-row block or the 32-column group, several tokens with a row stride, and every
// workgroup size. The 4-bit weights are packed by PackQ4R16 / PackQ4R16Sym, the converter's
// packer, so the shader reads the bytes a .kite file holds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/q4r16_matvec.h"
#include "sdk/backends/vulkan/requirements.h"
#include "sdk/backends/vulkan/rmsnorm.h"
#include "sdk/format/format.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

constexpr size_t kGroup = kite::kQ4R16GroupSize;
using kite::vulkan::test::ExpectOnlyRowsWritten;
using kite::vulkan::test::HasIntegerDot;
using kite::vulkan::test::MakeQ4MatvecArgs;
using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::RunOp;
using kite::vulkan::test::TheDevice;
using kite::vulkan::test::Upload;

struct MatvecCase {
  size_t m, rows, cols;
  bool symmetric;
  uint32_t workgroup;  // 0: the device's largest
  // The output's RowAddress beyond the default (stride rows, or rows + 3 for several
  // tokens): a call at position `pos` writing at y_offset + pos * y_pos_stride.
  uint32_t pos = 0, y_offset = 0, y_pos_stride = 0;
  uint32_t tile = 1;  // tokens per workgroup: > 1 is the tiled GEMM for prefill
};

std::string Name(const MatvecCase& c) {
  return "m=" + std::to_string(c.m) + " rows=" + std::to_string(c.rows) +
         " cols=" + std::to_string(c.cols) + (c.symmetric ? " sym" : "") +
         " wg=" + std::to_string(c.workgroup) + " pos=" + std::to_string(c.pos) +
         " y_offset=" + std::to_string(c.y_offset) +
         " y_pos_stride=" + std::to_string(c.y_pos_stride) + " tile=" + std::to_string(c.tile);
}

// Runs case `c` on the `variant` shader against the CPU reference.
void RunMatvecCase(vk::Device& device, const MatvecCase& c, std::mt19937& rng,
                   vk::Q4R16MatvecVariant variant) {
  SCOPED_TRACE(Name(c));
  const size_t groups = (c.cols + kGroup - 1) / kGroup;
  const size_t padded = groups * kGroup;
  // Weights: random nibbles, f16 scales of both signs, offsets (o = -8 d when symmetric).
  std::uniform_int_distribution<int> nibble(0, 15);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::uniform_real_distribution<float> offset(-0.5f, 0.5f);
  std::bernoulli_distribution coin(0.5);
  std::vector<uint8_t> u(c.rows * padded, 8);
  std::vector<uint16_t> d(c.rows * groups), o(c.rows * groups);
  for (size_t r = 0; r < c.rows; ++r) {
    for (size_t col = 0; col < c.cols; ++col) u[r * padded + col] = static_cast<uint8_t>(nibble(rng));
    for (size_t g = 0; g < groups; ++g) {
      d[r * groups + g] = kite::FloatToHalf(coin(rng) ? scale(rng) : -scale(rng));
      o[r * groups + g] = kite::FloatToHalf(offset(rng));
    }
  }
  const kite::Layout layout = c.symmetric ? kite::Layout::Q4_R16_G32_SYM : kite::Layout::Q4_R16_G32;
  std::vector<uint8_t> packed(kite::PackedBytes(kite::DType::Q4_G, layout, c.rows, c.cols, kGroup));
  if (c.symmetric) {
    k::PackQ4R16Sym(c.rows, c.cols, u.data(), d.data(), packed.data());
  } else {
    k::PackQ4R16(c.rows, c.cols, u.data(), d.data(), o.data(), packed.data());
  }
  // Activations: random floats quantized as the runtime does (zeros past cols).
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
  // A KV-cache write (y_pos_stride set) has no gap; otherwise several tokens leave a gap
  // between rows, and every element outside the rows must stay untouched.
  const size_t y_stride = c.y_pos_stride != 0 ? c.y_pos_stride : c.m > 1 ? c.rows + 3 : c.rows;
  const size_t y_start = c.y_offset + static_cast<size_t>(c.pos) * c.y_pos_stride;
  constexpr float kUntouched = -12345.0f;
  std::vector<float> want(y_start + (c.m - 1) * y_stride + c.rows + 5, kUntouched);
  if (c.symmetric) {
    k::qd8_q4r16sym_gemm_ref(c.m, c.rows, groups, packed.data(), xq.data(), xscale.data(),
                             xsum.data(), want.data() + y_start, y_stride);
  } else {
    k::qd8_q4r16_gemm_ref(c.m, c.rows, groups, packed.data(), xq.data(), xscale.data(),
                          xsum.data(), want.data() + y_start, y_stride);
  }

  // On an AVX-512 machine with a CPU device (lavapipe, which fuses fma()): the AVX-512
  // variant's outputs bit for bit, the shader adding each row's terms in its order.
  const k::KernelTable& best = k::SelectKernels(k::Isa::kBest);
  const bool exact = best.isa == k::Isa::kAvx512Vnni && vk::IsCpuDevice(device.facts().type);
  std::vector<float> exact_want(want.size(), kUntouched);
  (c.symmetric ? best.qd8_q4r16sym_gemm : best.qd8_q4r16_gemm)(
      c.m, c.rows, groups, packed.data(), xq.data(), xscale.data(), xsum.data(),
      exact_want.data() + y_start, y_stride);

  vk::Buffer bw = Upload(device, packed, "w");
  vk::Buffer bxq = Upload(device, xq, "xq");
  vk::Buffer bxs = Upload(device, xscale, "xscale");
  vk::Buffer bsum = Upload(device, xsum, "xsum");
  vk::Buffer by = Upload(device, std::vector<float>(want.size(), kUntouched), "y");
  kite::Result<vk::Q4R16Matvec> op =
      vk::Q4R16Matvec::Create(device, c.symmetric, c.workgroup, c.tile, variant);
  ASSERT_TRUE(op.ok()) << op.status().message();
  EXPECT_EQ(op->integer_dot(), variant == vk::Q4R16MatvecVariant::kIntegerDot);
  vk::Q4R16MatvecArgs args = MakeQ4MatvecArgs(
      static_cast<uint32_t>(c.m), static_cast<uint32_t>(c.rows), static_cast<uint32_t>(groups),
      {c.y_offset, c.y_pos_stride, static_cast<uint32_t>(y_stride)}, &bw, &bxq, &bxs, &bsum, &by);
  args.max_pos = c.pos;
  ASSERT_TRUE(RunOp(device, *op, args, static_cast<uint32_t>(c.m), c.pos));

  // Tolerance: float rounding of the sum of the terms' magnitudes (the integer dot
  // products are exact; only the order of the f32 additions differs).
  const float* got = static_cast<const float*>(by.data());
  ExpectOnlyRowsWritten(got, want.size(), y_start, y_stride, c.m, c.rows);
  for (size_t t = 0; t < c.m; ++t) {
    for (size_t r = 0; r < c.rows; ++r) {
      const size_t i = y_start + t * y_stride + r;
      double magnitude = 0.0;
      for (size_t g = 0; g < groups; ++g) {
        double dot = 0.0, wsum = 0.0;
        for (size_t j = 0; j < kGroup; ++j) {
          dot += std::fabs(static_cast<double>(u[r * padded + g * kGroup + j]) *
                           xq[t * padded + g * kGroup + j]);
        }
        const double dd = std::fabs(kite::HalfToFloat(d[r * groups + g]));
        const double oo = c.symmetric ? 8.0 * dd : std::fabs(kite::HalfToFloat(o[r * groups + g]));
        wsum = dd * dot + oo * std::fabs(static_cast<double>(xsum[t * groups + g]));
        magnitude += std::fabs(xscale[t * groups + g]) * wsum;
      }
      ASSERT_NEAR(got[i], want[i], 4e-6 * magnitude + 1e-30)
          << "token " << t << " row " << r;
      if (exact) {
        ASSERT_EQ(std::memcmp(&got[i], &exact_want[i], sizeof(float)), 0)
            << "token " << t << " row " << r << ": " << got[i] << ", AVX-512 " << exact_want[i];
      }
    }
  }
}

// Shapes off the tiles, KV-cache addressing and the tiled GEMM, for every variant.
const MatvecCase kMatvecCases[] = {
    {1, 1, 32, false, 0},     // one row, one group
    {1, 1, 50, false, 64},    // one row, a partial group
    {1, 17, 100, false, 0},   // a partial row block, partial group
    {1, 33, 199, true, 16},   // symmetric, smallest workgroup
    {1, 16, 32, true, 256},
    {1, 100, 288, false, 128},
    {1, 257, 1000, false, 0}, // more groups than lanes
    {1, 250, 1000, true, 64},
    {3, 19, 70, false, 0},    // several tokens with a row stride
    {2, 48, 512, true, 32},
    // KV-cache writes: rows at position pos of a cache of rows-wide rows (after an offset).
    {3, 40, 96, false, 0, 5, 0, 40},
    {1, 17, 64, true, 32, 9, 11, 17},
    // The tiled GEMM: full and partial tiles, fewer tokens than a tile, a KV-cache write.
    {8, 33, 199, false, 0, 0, 0, 0, 8},
    {13, 17, 100, true, 64, 0, 0, 0, 8},
    {3, 100, 288, false, 16, 0, 0, 0, 4},
    {5, 40, 96, false, 256, 6, 3, 40, 2},
    {9, 250, 1000, true, 0, 0, 0, 0, 8},
};

TEST(VulkanQ4R16Matvec, MatchesCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(1234);
  for (const MatvecCase& c : kMatvecCases) {
    RunMatvecCase(*device, c, rng, vk::Q4R16MatvecVariant::kPlain);
  }
}

TEST(VulkanQ4R16Matvec, IntegerDotVariantMatchesCpuReferenceOnOddShapes) {
  REQUIRE_DEVICE(device);
  if (!HasIntegerDot(*device)) GTEST_SKIP() << "no VK_KHR_shader_integer_dot_product";
  // The integer dot products are exact: the same tolerance as the plain shader.
  std::mt19937 rng(1234);
  for (const MatvecCase& c : kMatvecCases) {
    RunMatvecCase(*device, c, rng, vk::Q4R16MatvecVariant::kIntegerDot);
  }
}

TEST(VulkanQ4R16Matvec, VariantChoiceFollowsTheDeviceFeatures) {
  using V = vk::Q4R16MatvecVariant;
  vk::DeviceFacts f;
  f.name = "Tiny GPU";
  // No integer dot products: plain, and kIntegerDot is refused naming the feature.
  EXPECT_FALSE(*vk::UseIntegerDot(f, V::kAuto));
  EXPECT_FALSE(*vk::UseIntegerDot(f, V::kPlain));
  kite::Result<bool> refused = vk::UseIntegerDot(f, V::kIntegerDot);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), kite::Error::kUnsupported);
  EXPECT_STREQ(refused.status().message(),
               "q4r16_matvec: Vulkan device 'Tiny GPU' lacks integer dot products "
               "(VK_KHR_shader_integer_dot_product, shaderIntegerDotProduct)");
  // Present but not accelerated (lavapipe): kAuto stays plain, kIntegerDot forces it.
  f.integer_dot_product = true;
  EXPECT_FALSE(*vk::UseIntegerDot(f, V::kAuto));
  EXPECT_TRUE(*vk::UseIntegerDot(f, V::kIntegerDot));
  EXPECT_FALSE(*vk::UseIntegerDot(f, V::kPlain));
  // Accelerated: kAuto takes it.
  f.integer_dot_accelerated = true;
  EXPECT_TRUE(*vk::UseIntegerDot(f, V::kAuto));
  EXPECT_FALSE(*vk::UseIntegerDot(f, V::kPlain));
}

TEST(VulkanQ4R16Matvec, VariantFromTheEnvironment) {
  unsetenv(vk::kIntegerDotEnv);
  EXPECT_EQ(vk::Q4R16MatvecVariantFromEnvironment(), vk::Q4R16MatvecVariant::kAuto);
  setenv(vk::kIntegerDotEnv, "yes", 1);
  EXPECT_EQ(vk::Q4R16MatvecVariantFromEnvironment(), vk::Q4R16MatvecVariant::kAuto);
  setenv(vk::kIntegerDotEnv, "1", 1);
  EXPECT_EQ(vk::Q4R16MatvecVariantFromEnvironment(), vk::Q4R16MatvecVariant::kIntegerDot);
  unsetenv(vk::kIntegerDotEnv);
}

TEST(VulkanQ4R16Matvec, RefusesBuffersTooSmallForTheShape) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Q4R16Matvec> op = vk::Q4R16Matvec::Create(*device, false, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  // 17 rows x 2 groups need 2 row blocks x 2 groups x 320 bytes; give one block row.
  vk::Buffer w = Upload(*device, std::vector<uint8_t>(2 * 320), "w");
  vk::Buffer xq = Upload(*device, std::vector<int8_t>(64), "xq");
  vk::Buffer xs = Upload(*device, std::vector<float>(2), "xscale");
  vk::Buffer xsum = Upload(*device, std::vector<int32_t>(2), "xsum");
  vk::Buffer y = Upload(*device, std::vector<float>(17), "y");
  vk::Q4R16MatvecArgs args = MakeQ4MatvecArgs(1, 17, 2, {0, 0, 17}, &w, &xq, &xs, &xsum, &y);
  kite::Status s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q4r16_matvec: buffer 'w' holds 640 bytes, the shape needs 1280");
  args.rows = 16;
  args.y_at.stride = 15;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("bad shape"), std::string::npos) << s.message();
  // Position 1 of a cache of 16-float rows needs 32 floats of y.
  args.y_at = {0, 16, 16};
  args.max_pos = 1;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q4r16_matvec: buffer 'y' holds 68 bytes, the shape needs 128");
}

TEST(VulkanQ4R16Matvec, TiledGemmEqualsTheMatvecExactly) {
  // Every tile adds in the same order, so prefill (tiled) and decode (T = 1) agree bit for
  // bit: tokens do not change with the chunking of a prompt. The integer-dot shader (where
  // the device has it) differs only in how it forms the exact integer sums: the same bits.
  REQUIRE_DEVICE(device);
  std::mt19937 rng(77);
  const uint32_t m = 11, rows = 40, groups = 5;
  std::uniform_int_distribution<uint32_t> word;
  std::vector<uint32_t> w((rows + 15) / 16 * groups * 80), xq(m * groups * 8);
  for (uint32_t& v : w) v = word(rng);
  for (size_t i = 0; i < w.size(); ++i) {
    if (i % 80 >= 64) w[i] = 0x2C002C00u;  // f16 scales and offsets 1/16: finite products
  }
  for (uint32_t& v : xq) v = word(rng);
  std::vector<float> xscale(m * groups, 0.01f);
  std::vector<int32_t> xsum(m * groups, 7);
  vk::Buffer bw = Upload(*device, w, "w");
  vk::Buffer bxq = Upload(*device, xq, "xq");
  vk::Buffer bxs = Upload(*device, xscale, "xscale");
  vk::Buffer bsum = Upload(*device, xsum, "xsum");
  std::vector<float> outputs[4];
  const uint32_t tiles[4] = {1, 8, 1, 8};
  const int runs = HasIntegerDot(*device) ? 4 : 2;
  for (int i = 0; i < runs; ++i) {
    vk::Buffer by = Upload(*device, std::vector<float>(m * rows), "y");
    const vk::Q4R16MatvecVariant variant =
        i < 2 ? vk::Q4R16MatvecVariant::kPlain : vk::Q4R16MatvecVariant::kIntegerDot;
    kite::Result<vk::Q4R16Matvec> op =
        vk::Q4R16Matvec::Create(*device, false, 64, tiles[i], variant);
    ASSERT_TRUE(op.ok()) << op.status().message();
    EXPECT_EQ(op->tile_tokens(), tiles[i]);
    const vk::Q4R16MatvecArgs args =
        MakeQ4MatvecArgs(m, rows, groups, {0, 0, rows}, &bw, &bxq, &bxs, &bsum, &by);
    ASSERT_TRUE(RunOp(*device, *op, args, m));
    const float* got = static_cast<const float*>(by.data());
    outputs[i].assign(got, got + m * rows);
  }
  for (int run = 1; run < runs; ++run) {
    for (size_t i = 0; i < outputs[0].size(); ++i) {
      ASSERT_EQ(outputs[run][i], outputs[0][i])
          << "run " << run << " token " << i / rows << " row " << i % rows;
    }
  }
  for (uint32_t bad : {0u, vk::kQ4R16MaxTileTokens + 1}) {
    kite::Result<vk::Q4R16Matvec> op = vk::Q4R16Matvec::Create(*device, false, 0, bad);
    ASSERT_FALSE(op.ok());
    EXPECT_EQ(op.status().code(), kite::Error::kInvalidArgument);
    EXPECT_NE(std::string(op.status().message()).find("tile of"), std::string::npos);
  }
}

TEST(VulkanQ4R16Matvec, RefusesWorkgroupSizesTheShaderCannotUse) {
  REQUIRE_DEVICE(device);
  for (uint32_t wg : {8u, 48u, 512u}) {
    kite::Result<vk::Q4R16Matvec> op = vk::Q4R16Matvec::Create(*device, false, wg);
    ASSERT_FALSE(op.ok()) << wg;
    EXPECT_EQ(op.status().code(), kite::Error::kInvalidArgument);
    EXPECT_NE(std::string(op.status().message()).find("workgroup size"), std::string::npos);
  }
}

TEST(VulkanBuffer, RefusesSizesBeyondTheBindingLimit) {
  REQUIRE_DEVICE(device);
  const uint64_t range = device->properties().limits.maxStorageBufferRange;
  kite::Result<vk::Buffer> b = vk::Buffer::Create(*device, range + 4, "big tensor");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), kite::Error::kUnsupported);
  EXPECT_NE(std::string(b.status().message()).find("'big tensor'"), std::string::npos);
  EXPECT_NE(std::string(b.status().message()).find("maxStorageBufferRange"), std::string::npos);
  EXPECT_EQ(vk::Buffer::Create(*device, 0, "empty").status().code(),
            kite::Error::kInvalidArgument);
}

TEST(VulkanRmsNorm, MatchesCpuReference) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  struct Case {
    uint32_t rows, n, workgroup;
  };
  for (const Case& c : {Case{1, 1, 0}, Case{1, 7, 1}, Case{2, 64, 64}, Case{3, 257, 0},
                        Case{1, 4096, 256}, Case{5, 1000, 32}}) {
    SCOPED_TRACE("rows=" + std::to_string(c.rows) + " n=" + std::to_string(c.n) +
                 " wg=" + std::to_string(c.workgroup));
    std::vector<float> x(c.rows * c.n), weight(c.n), want(c.rows * c.n);
    for (float& v : x) v = normal(rng);
    for (float& v : weight) v = normal(rng);
    const float eps = 1e-5f;
    for (uint32_t r = 0; r < c.rows; ++r) {
      k::rmsnorm_ref(c.n, x.data() + r * c.n, weight.data(), eps, want.data() + r * c.n);
    }
    vk::Buffer bx = Upload(*device, x, "x");
    vk::Buffer bw = Upload(*device, weight, "weight");
    vk::Buffer bo = Upload(*device, std::vector<float>(x.size()), "out");
    kite::Result<vk::RmsNorm> op = vk::RmsNorm::Create(*device, c.workgroup);
    ASSERT_TRUE(op.ok()) << op.status().message();
    vk::RmsNormArgs args;
    args.max_tokens = c.rows;
    args.n = c.n;
    args.x_at.stride = c.n;
    args.out_at.stride = c.n;
    args.eps = eps;
    args.x = &bx;
    args.weight = &bw;
    args.out = &bo;
    ASSERT_TRUE(RunOp(*device, *op, args, c.rows));
    const float* got = static_cast<const float*>(bo.data());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 2e-6f * std::fabs(want[i]) + 1e-7f) << "element " << i;
    }
  }
}

// Rows at RowAddresses: a chunk's last row alone (n_tokens = 1 at pos = rows - 1, the rows'
// stride as pos_stride) into a row with an offset, and rows at a position with gaps that
// stay untouched.
TEST(VulkanRmsNorm, RowAddressing) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const uint32_t n = 72, rows = 5, gap = 3, stride = n + gap;
  std::vector<float> x(rows * stride), weight(n);
  for (float& v : x) v = normal(rng);
  for (float& v : weight) v = normal(rng);
  const float eps = 1e-5f;
  vk::Buffer bx = Upload(*device, x, "x");
  vk::Buffer bw = Upload(*device, weight, "weight");
  kite::Result<vk::RmsNorm> op = vk::RmsNorm::Create(*device, 32);
  ASSERT_TRUE(op.ok()) << op.status().message();

  // The last row only, to offset 7.
  std::vector<float> want(7 + n, kite::vulkan::test::kUntouched);
  k::rmsnorm_ref(n, &x[(rows - 1) * stride], weight.data(), eps, &want[7]);
  vk::Buffer last = Upload(*device, std::vector<float>(want.size(), kite::vulkan::test::kUntouched), "out");
  vk::RmsNormArgs args;
  args.max_pos = rows - 1;
  args.n = n;
  args.x_at = {0, stride, 0};
  args.out_at = {7, 0, 0};
  args.eps = eps;
  args.x = &bx;
  args.weight = &bw;
  args.out = &last;
  ASSERT_TRUE(RunOp(*device, *op, args, 1, rows - 1));
  const float* got = static_cast<const float*>(last.data());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 2e-6f * std::fabs(want[i]) + 1e-7f) << "element " << i;
  }

  // Rows 2..4 (pos 2, three tokens) to rows of a KV-cache-like buffer at the same positions.
  std::vector<float> want2(rows * stride, kite::vulkan::test::kUntouched);
  for (uint32_t r = 2; r < rows; ++r) {
    k::rmsnorm_ref(n, &x[r * stride], weight.data(), eps, &want2[r * stride]);
  }
  vk::Buffer cache = Upload(*device, std::vector<float>(want2.size(), kite::vulkan::test::kUntouched), "out");
  args.max_tokens = 3;
  args.max_pos = 2;
  args.x_at = {0, stride, stride};
  args.out_at = {0, stride, stride};
  args.out = &cache;
  ASSERT_TRUE(RunOp(*device, *op, args, 3, 2));
  got = static_cast<const float*>(cache.data());
  for (size_t i = 0; i < want2.size(); ++i) {
    ASSERT_NEAR(got[i], want2[i], 2e-6f * std::fabs(want2[i]) + 1e-7f) << "element " << i;
  }

  // Overlapping rows and a buffer too small are refused by name.
  args.out_at = {0, stride, n - 1};
  EXPECT_NE(std::string(PrepareStatus(*device, *op, args).message()).find("rmsnorm"), std::string::npos);
  args.out_at = {0, stride, stride};
  args.max_pos = rows;
  EXPECT_FALSE(PrepareStatus(*device, *op, args).ok());
}

}  // namespace
