// The RoPE shader against rope_ref (theta, through RopeInverseFrequencies' table) and
// rope_freqs_ref (a Llama 3 scaled table), at small and large positions (up to
// kRopeMaxPosition: the shader computes its own sine and cosine), on q rows and on K rows in a cache (RowAddress
// with a position stride), with gaps that must stay untouched and several workgroup sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/rope.h"
#include "sdk/kernels/rope/rope.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;
namespace vt = kite::vulkan::test;

struct Case {
  uint32_t n_tokens, pos, heads, head_dim;
  vk::RowAddress x_at;
  float theta;  // 0: a Llama 3 scaled table (rope_freqs_ref)
  uint32_t workgroup;
};

std::string Name(const Case& c) {
  return "tokens=" + std::to_string(c.n_tokens) + " pos=" + std::to_string(c.pos) +
         " heads=" + std::to_string(c.heads) + " head_dim=" + std::to_string(c.head_dim) +
         " theta=" + std::to_string(c.theta) + " wg=" + std::to_string(c.workgroup);
}

// Largest error seen, in units of (|x0| + |x1|) * 2^-24 of the pair.
double RunCase(vk::Device& device, const Case& c, std::mt19937& rng) {
  SCOPED_TRACE(Name(c));
  const uint32_t row = c.heads * c.head_dim;
  std::vector<float> inv_freq(c.head_dim / 2);
  k::RopeInverseFrequencies(c.head_dim, c.theta == 0.0f ? 500000.0f : c.theta, inv_freq.data());
  if (c.theta == 0.0f) {
    k::ScaleRopeLlama3(inv_freq.data(), c.head_dim / 2, 32.0f, 1.0f, 4.0f, 8192);
  }
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x(c.x_at.EndElements(c.pos, c.n_tokens, row), vt::kUntouched);
  std::vector<size_t> starts;
  for (uint32_t t = 0; t < c.n_tokens; ++t) {
    starts.push_back(c.x_at.offset + size_t{c.pos} * c.x_at.pos_stride + t * c.x_at.stride);
    for (uint32_t i = 0; i < row; ++i) x[starts.back() + i] = normal(rng);
  }
  std::vector<float> want = x;
  for (uint32_t t = 0; t < c.n_tokens; ++t) {
    if (c.theta == 0.0f) {
      k::rope_freqs_ref(c.heads, c.head_dim, c.pos + t, inv_freq.data(), want.data() + starts[t]);
    } else {
      k::rope_ref(c.heads, c.head_dim, c.pos + t, c.theta, want.data() + starts[t]);
    }
  }
  vk::Buffer bx = vt::Upload(device, x, "x");
  vk::Buffer bf = vt::Upload(device, inv_freq, "inv_freq");
  kite::Result<vk::Rope> op = vk::Rope::Create(device, c.workgroup);
  EXPECT_TRUE(op.ok()) << op.status().message();
  if (!op.ok()) return 0.0;
  vk::RopeArgs args;
  args.max_tokens = c.n_tokens;
  args.max_pos = c.pos;
  args.heads = c.heads;
  args.head_dim = c.head_dim;
  args.x_at = c.x_at;
  args.x = &bx;
  args.inv_freq = &bf;
  const ::testing::AssertionResult ran = vt::RunOp(device, *op, args, c.n_tokens, c.pos);
  EXPECT_TRUE(ran);
  if (!ran) return 0.0;
  const float* got = static_cast<const float*>(bx.data());
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == vt::kUntouched) {
      EXPECT_EQ(got[i], vt::kUntouched) << "gap element " << i << " written";
      continue;
    }
    // The pair's magnitude: the element and its partner (pairs start at even offsets of a
    // row, and rows start at even offsets here).
    const size_t first = i - (i % 2);
    const double scale = (std::fabs(x[first]) + std::fabs(x[first + 1])) * 0x1p-24;
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]) / scale;
    worst = err > worst ? err : worst;
    // Tolerance: 8 f32 half-ulps of the pair's magnitude. Both sides rotate by the same
    // float angle; the shader's sine and cosine (reduced argument within an ulp, then
    // polynomials to 1e-9) and libm's each differ from the exact values by about an ulp,
    // and each output adds two rounded products.
    EXPECT_LE(err, 8.0) << "element " << i << " got " << got[i] << " want " << want[i];
  }
  return worst;
}

TEST(VulkanRope, MatchesCpuReferenceAtSmallAndLargePositions) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(42);
  const Case cases[] = {
      {1, 0, 1, 2, {}, 10000.0f, 0},                  // one pair at position 0
      {1, 1, 6, 8, {}, 10000.0f, 1},                  // stories260K's q (6 heads of 8)
      {3, 5, 2, 48, {0, 0, 100}, 10000.0f, 32},       // odd head_dim, a gap after each row
      {2, 4000, 14, 64, {0, 0, 896}, 1000000.0f, 0},  // Qwen2's q at position 4000
      {4, 4093, 2, 64, {10, 128, 128}, 1000000.0f, 64},  // K rows in a cache, past an offset
      {2, 4000, 32, 64, {0, 0, 2048}, 0.0f, 256},     // Llama 3 scaled frequencies
      {1, 32767, 8, 128, {}, 10000.0f, 0},
      {3, 49997, 4, 64, {0, 0, 256}, 0.0f, 128},
      {3, 102941, 2, 64, {0, 0, 128}, 10000.0f, 0},  // j = 65534..65536 (pair 0)
      {4, 204997, 2, 64, {0, 0, 128}, 500000.0f, 64},  // up to kRopeMaxPosition
  };
  double worst = 0.0;
  for (const Case& c : cases) {
    const double w = RunCase(*device, c, rng);
    worst = w > worst ? w : worst;
  }
  std::printf("largest RoPE error: %.2f half-ulps of the pair's magnitude\n", worst);
}

TEST(VulkanRope, RefusesBadShapesAndSmallBuffers) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Rope> op = vk::Rope::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Buffer x = vt::Upload(*device, std::vector<float>(64), "x");
  vk::Buffer f = vt::Upload(*device, std::vector<float>(8), "inv_freq");
  vk::RopeArgs args;
  args.heads = 4;
  args.head_dim = 16;
  args.x = &x;
  args.inv_freq = &f;
  EXPECT_TRUE(vt::PrepareStatus(*device, *op, args).ok());
  args.head_dim = 15;
  kite::Status s = vt::PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "rope: bad shape max_tokens=1 heads=4 head_dim=15");
  args.head_dim = 32;
  args.heads = 2;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "rope: buffer 'inv_freq' holds 32 bytes, the shape needs 64");
  args.head_dim = 16;
  args.heads = 4;
  args.max_pos = 2;
  args.x_at.pos_stride = 64;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "rope: buffer 'x' holds 256 bytes, the shape needs 768");
  args.x_at.pos_stride = 0;
  args.max_pos = vk::kRopeMaxPosition;
  EXPECT_TRUE(vt::PrepareStatus(*device, *op, args).ok());
  args.max_tokens = 2;
  args.x_at.stride = 64;
  args.x = &f;  // checked after the position
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kUnsupported);
  EXPECT_STREQ(s.message(), "rope: position 205001 is beyond the 205000 the shader rotates accurately");
}

}  // namespace
