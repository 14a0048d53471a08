// Q8Quantize (shaders/q8_quantize.comp) against q8_quantize_ref with group 32 (and the
// groups of Q4_ROW_GROUPS matrices: 4 to 4096), bit for bit:
// codes, scales and sums compared exactly, on rows of 1 to 4096 floats (partial groups),
// several tokens read through a RowAddress with a position and a gap, group maxima from
// 2^-100 to 2^100 (the exact divisions), round-half-to-even ties and all-zero groups.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/q8_quantize.h"
#include "sdk/format/format.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;

using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::RunOp;
using kite::vulkan::test::Upload;

struct Case {
  uint32_t m, cols, workgroup;  // workgroup 0: the device's largest
  uint32_t pos, x_offset, x_pos_stride, x_gap;  // x_at: stride = cols + x_gap
  uint32_t group = kite::kQ4R16GroupSize;
};

// Group values for a token row: random magnitudes per group over a wide exponent range,
// plus special groups (ties at .5 under scale 1, zeros, a lone value).
std::vector<float> MakeRow(uint32_t cols, uint32_t group, std::mt19937& rng) {
  std::vector<float> x(cols);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-100, 100);
  std::uniform_int_distribution<int> kind(0, 7);
  for (uint32_t begin = 0; begin < cols; begin += group) {
    const uint32_t end = begin + group < cols ? begin + group : cols;
    const int k = kind(rng);
    const float magnitude = std::ldexp(1.0f, exponent(rng));
    for (uint32_t i = begin; i < end; ++i) {
      if (k == 0) {
        x[i] = 0.0f;  // an all-zero group: scale 0, codes 0
      } else if (k == 1) {
        // amax 127 gives scale 1 and inverse 1: every k + 0.5 is a tie (to even).
        x[i] = i == begin ? -127.0f : static_cast<float>(static_cast<int>(i % 9) - 4) + 0.5f;
      } else if (k == 2) {
        x[i] = i == end - 1 ? magnitude : 0.0f;
      } else {
        x[i] = normal(rng) * magnitude;
      }
    }
  }
  return x;
}

void RunCase(vk::Device& device, const Case& c, std::mt19937& rng) {
  SCOPED_TRACE("m=" + std::to_string(c.m) + " cols=" + std::to_string(c.cols) + " wg=" +
               std::to_string(c.workgroup) + " pos=" + std::to_string(c.pos) +
               " group=" + std::to_string(c.group));
  const size_t kGroup = c.group;
  const size_t groups = (c.cols + kGroup - 1) / kGroup;
  const uint32_t stride = c.cols + c.x_gap;
  const size_t start = c.x_offset + static_cast<size_t>(c.pos) * c.x_pos_stride;
  std::vector<float> x(start + (c.m - 1) * stride + c.cols, 777.0f);  // 777: never read
  std::vector<int8_t> want_q(c.m * groups * kGroup);
  std::vector<float> want_scale(c.m * groups);
  std::vector<int32_t> want_sum(c.m * groups);
  for (uint32_t t = 0; t < c.m; ++t) {
    const std::vector<float> row = MakeRow(c.cols, c.group, rng);
    std::memcpy(x.data() + start + t * stride, row.data(), c.cols * sizeof(float));
    kite::kernels::q8_quantize_ref(c.cols, kGroup, row.data(), want_q.data() + t * groups * kGroup,
                                   want_scale.data() + t * groups, want_sum.data() + t * groups);
  }
  vk::Buffer bx = Upload(device, x, "x");
  vk::Buffer bq = Upload(device, std::vector<int8_t>(want_q.size(), 99), "xq");
  vk::Buffer bs = Upload(device, std::vector<float>(want_scale.size(), -1.0f), "xscale");
  vk::Buffer bsum = Upload(device, std::vector<int32_t>(want_sum.size(), -1), "xsum");
  kite::Result<vk::Q8Quantize> op = vk::Q8Quantize::Create(device, c.workgroup);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Q8QuantizeArgs args;
  args.max_tokens = c.m;
  args.max_pos = c.pos;
  args.cols = c.cols;
  args.group = c.group;
  args.x_at = {c.x_offset, c.x_pos_stride, stride};
  args.x = &bx;
  args.xq = &bq;
  args.xscale = &bs;
  args.xsum = &bsum;
  ASSERT_TRUE(RunOp(device, *op, args, c.m, c.pos));
  const int8_t* q = static_cast<const int8_t*>(bq.data());
  const float* s = static_cast<const float*>(bs.data());
  const int32_t* sum = static_cast<const int32_t*>(bsum.data());
  for (size_t i = 0; i < want_q.size(); ++i) {
    ASSERT_EQ(q[i], want_q[i]) << "code " << i % kGroup << " of group " << i / kGroup;
  }
  for (size_t g = 0; g < want_scale.size(); ++g) {
    // Bitwise: the scale is divided exactly.
    uint32_t got_bits, want_bits;
    std::memcpy(&got_bits, &s[g], 4);
    std::memcpy(&want_bits, &want_scale[g], 4);
    ASSERT_EQ(got_bits, want_bits) << "scale of group " << g << ": " << s[g] << " vs "
                                   << want_scale[g];
    ASSERT_EQ(sum[g], want_sum[g]) << "sum of group " << g;
  }
}

TEST(VulkanQ8Quantize, MatchesCpuReferenceBitForBit) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(2024);
  const Case cases[] = {
      {1, 1, 0, 0, 0, 0, 0},         {1, 31, 1, 0, 0, 0, 0},   {1, 32, 16, 0, 0, 0, 0},
      {1, 33, 0, 0, 0, 0, 0},        {2, 100, 2, 0, 0, 0, 5},  {3, 288, 0, 0, 3, 0, 7},
      {4, 1000, 64, 0, 0, 0, 0},     {3, 4096, 0, 0, 0, 0, 1}, {1, 4096, 256, 0, 0, 0, 0},
      // A chunk of a wider buffer at position pos (rows pos_stride apart per position).
      {2, 64, 32, 6, 10, 64, 0},     {1, 200, 0, 3, 1, 200, 0},
      // Groups of Q4_ROW_GROUPS matrices (--group-size 64 and 128, any multiple of 4).
      {2, 172, 0, 0, 0, 0, 3, 64},   {3, 300, 16, 2, 5, 300, 0, 128}, {1, 10, 1, 0, 0, 0, 0, 4},
      {2, 100, 0, 0, 0, 0, 0, 36},   {1, 4096, 0, 0, 0, 0, 0, 4096},
      {2, 5000, 2, 0, 0, 0, 0, 4096},
  };
  for (const Case& c : cases) RunCase(*device, c, rng);
}

TEST(VulkanQ8Quantize, RefusesBuffersTooSmallForTheShape) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Q8Quantize> op = vk::Q8Quantize::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Buffer x = Upload(*device, std::vector<float>(2 * 40), "x");
  vk::Buffer xq = Upload(*device, std::vector<int8_t>(2 * 64), "xq");
  vk::Buffer xs = Upload(*device, std::vector<float>(4), "xscale");
  vk::Buffer xsum = Upload(*device, std::vector<int32_t>(3), "xsum");
  vk::Q8QuantizeArgs args;
  args.max_tokens = 2;
  args.cols = 40;
  args.x_at.stride = 40;
  args.x = &x;
  args.xq = &xq;
  args.xscale = &xs;
  args.xsum = &xsum;
  kite::Status s = PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "q8_quantize: buffer 'xsum' holds 12 bytes, the shape needs 16");
  args.xsum = &xs;
  EXPECT_TRUE(PrepareStatus(*device, *op, args).ok());
  args.max_pos = 1;
  args.x_at.pos_stride = 40;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "q8_quantize: buffer 'x' holds 320 bytes, the shape needs 480");
  args.max_pos = 0;
  args.x_at.stride = 39;
  s = PrepareStatus(*device, *op, args);
  EXPECT_STREQ(s.message(), "q8_quantize: rows of 'x' overlap: stride 39 < row length 40");
  args.cols = 0;
  s = PrepareStatus(*device, *op, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("bad shape"), std::string::npos) << s.message();
  // Groups of 64 over 40 columns need 64 bytes of xq per token; groups not a multiple of 4.
  args.cols = 40;
  args.x_at.stride = 40;
  args.group = 64;
  EXPECT_TRUE(PrepareStatus(*device, *op, args).ok());
  for (uint32_t bad : {0u, 2u, 30u, 4100u}) {
    args.group = bad;
    s = PrepareStatus(*device, *op, args);
    EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), "q8_quantize: group of " + std::to_string(bad) +
                                            " is not a multiple of 4 in [4, 4096]");
  }
}

}  // namespace
