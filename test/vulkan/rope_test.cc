// The RoPE shader against rope_ref (theta, through RopeInverseFrequencies' table) and
// rope_freqs_ref (a Llama 3 scaled table), bit for bit (the cosines and sines come from
// RopeCosSinTable, the CPU's own), at small and large positions, on q rows and on K rows in
// a cache (RowAddress with a position stride), with gaps that must stay untouched and
// several workgroup sizes.
#include <gtest/gtest.h>

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

void RunCase(vk::Device& device, const Case& c, std::mt19937& rng) {
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
  const size_t positions = size_t{c.pos} + c.n_tokens;
  std::vector<float> cos_sin(positions * c.head_dim);
  k::RopeCosSinTable(c.head_dim / 2, inv_freq.data(), positions, cos_sin.data());
  vk::Buffer bx = vt::Upload(device, x, "x");
  vk::Buffer bt = vt::Upload(device, cos_sin, "cos_sin");
  kite::Result<vk::Rope> op = vk::Rope::Create(device, c.workgroup);
  EXPECT_TRUE(op.ok()) << op.status().message();
  if (!op.ok()) return;
  vk::RopeArgs args;
  args.max_tokens = c.n_tokens;
  args.max_pos = c.pos;
  args.heads = c.heads;
  args.head_dim = c.head_dim;
  args.x_at = c.x_at;
  args.x = &bx;
  args.cos_sin = &bt;
  const ::testing::AssertionResult ran = vt::RunOp(device, *op, args, c.n_tokens, c.pos);
  EXPECT_TRUE(ran);
  if (!ran) return;
  const float* got = static_cast<const float*>(bx.data());
  int mismatches = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == vt::kUntouched) {
      EXPECT_EQ(got[i], vt::kUntouched) << "gap element " << i << " written";
      continue;
    }
    // Bit for bit: the same cosines and sines, and each output's two products and one sum
    // rounded separately on both sides. (Compared as floats: -0 and +0 are equal.)
    if (got[i] != want[i] && ++mismatches <= 10) {
      ADD_FAILURE() << "element " << i << " got " << got[i] << " want " << want[i];
    }
  }
  EXPECT_EQ(mismatches, 0);
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
      // Large positions with small heads (the table holds every position up to the last).
      {3, 49997, 4, 16, {0, 0, 64}, 0.0f, 128},
      {3, 102941, 2, 8, {0, 0, 16}, 10000.0f, 0},
      {4, 204997, 2, 4, {0, 0, 8}, 500000.0f, 64},
      {2, 1000000, 1, 2, {0, 0, 2}, 10000.0f, 0},
  };
  for (const Case& c : cases) RunCase(*device, c, rng);
}

TEST(VulkanRope, RefusesBadShapesAndSmallBuffers) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Rope> op = vk::Rope::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Buffer x = vt::Upload(*device, std::vector<float>(64), "x");
  vk::Buffer f = vt::Upload(*device, std::vector<float>(16), "cos_sin");
  vk::RopeArgs args;
  args.heads = 4;
  args.head_dim = 16;
  args.x = &x;
  args.cos_sin = &f;
  EXPECT_TRUE(vt::PrepareStatus(*device, *op, args).ok());
  args.head_dim = 15;
  kite::Status s = vt::PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "rope: bad shape max_tokens=1 heads=4 head_dim=15");
  args.head_dim = 32;
  args.heads = 2;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "rope: buffer 'cos_sin' holds 64 bytes, the shape needs 128");
  args.head_dim = 16;
  args.heads = 4;
  args.max_pos = 2;
  args.x_at.pos_stride = 64;
  s = vt::PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "rope: buffer 'x' holds 256 bytes, the shape needs 768");
  args.x_at.pos_stride = 0;
  s = vt::PrepareStatus(*device, *op, args);  // the table: one row per position 0 .. 2
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "rope: buffer 'cos_sin' holds 64 bytes, the shape needs 192");
}

}  // namespace
