// The element-wise shaders (add, swiglu) against the CPU: add against a += b, SwiGLU against
// swiglu_ref (and the AVX-512 variant bit for bit on an AVX-512 machine with lavapipe), on rows addressed by RowAddress (a bias vector shared by every token, rows at
// pos > 0 with a position stride, gaps between rows that must stay untouched), sizes off the
// workgroup and several workgroup sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/elementwise.h"
#include "sdk/backends/vulkan/requirements.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/kernels/swiglu/swiglu.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;
namespace vt = kite::vulkan::test;

struct Case {
  uint32_t n_tokens, pos, n;
  vk::RowAddress a_at, b_at;
  uint32_t workgroup;  // 0: the device's largest
};

std::string Name(const Case& c) {
  return "tokens=" + std::to_string(c.n_tokens) + " pos=" + std::to_string(c.pos) +
         " n=" + std::to_string(c.n) + " a=" + std::to_string(c.a_at.offset) + "+" +
         std::to_string(c.a_at.pos_stride) + "p+" + std::to_string(c.a_at.stride) +
         "t b=" + std::to_string(c.b_at.offset) + "+" + std::to_string(c.b_at.pos_stride) +
         "p+" + std::to_string(c.b_at.stride) + "t wg=" + std::to_string(c.workgroup);
}

// Runs `op` on random rows and compares every element of a (rows and gaps) with the CPU.
void RunCase(vk::Device& device, vk::ElementwiseOp op, const Case& c, std::mt19937& rng) {
  SCOPED_TRACE(Name(c));
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const uint64_t a_size = c.a_at.EndElements(c.pos, c.n_tokens, c.n);
  const uint64_t b_size = c.b_at.EndElements(c.pos, c.n_tokens, c.n);
  std::vector<float> a(a_size, vt::kUntouched), b(b_size);
  for (float& v : b) v = normal(rng);
  for (uint32_t t = 0; t < c.n_tokens; ++t) {
    const uint64_t row = c.a_at.offset + uint64_t{c.pos} * c.a_at.pos_stride + t * c.a_at.stride;
    for (uint32_t i = 0; i < c.n; ++i) a[row + i] = normal(rng);
  }
  std::vector<float> want = a;
  // On an AVX-512 machine with a CPU device (lavapipe, which fuses fma()): SwiGLU equals the
  // AVX-512 variant bit for bit (the shader's exp and division are its operations).
  const k::KernelTable& best = k::SelectKernels(k::Isa::kBest);
  const bool exact = best.isa == k::Isa::kAvx512Vnni && vk::IsCpuDevice(device.facts().type);
  std::vector<float> exact_want = a;
  for (uint32_t t = 0; t < c.n_tokens; ++t) {
    float* wa = want.data() + c.a_at.offset + uint64_t{c.pos} * c.a_at.pos_stride +
                t * c.a_at.stride;
    const float* rb =
        b.data() + c.b_at.offset + uint64_t{c.pos} * c.b_at.pos_stride + t * c.b_at.stride;
    if (op == vk::ElementwiseOp::kAdd) {
      for (uint32_t i = 0; i < c.n; ++i) wa[i] += rb[i];
    } else {
      k::swiglu_ref(c.n, wa, rb);
      best.swiglu(c.n, exact_want.data() + (wa - want.data()), rb);
    }
  }
  vk::Buffer ba = vt::Upload(device, a, "a");
  vk::Buffer bb = vt::Upload(device, b, "b");
  kite::Result<vk::Elementwise> pipeline = vk::Elementwise::Create(device, op, c.workgroup);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  vk::ElementwiseArgs args;
  args.max_tokens = c.n_tokens;
  args.max_pos = c.pos;
  args.n = c.n;
  args.a_at = c.a_at;
  args.b_at = c.b_at;
  args.a = &ba;
  args.b = &bb;
  ASSERT_TRUE(vt::RunOp(device, *pipeline, args, c.n_tokens, c.pos));
  const float* got = static_cast<const float*>(ba.data());
  for (size_t i = 0; i < want.size(); ++i) {
    if (op == vk::ElementwiseOp::kAdd || a[i] == vt::kUntouched) {
      // One f32 addition, correctly rounded on both sides; the gaps are not written.
      ASSERT_EQ(got[i], want[i]) << "element " << i;
    } else {
      // The shader's exp is the CPU vector variants' polynomial (within 1 ulp), its
      // division exact; with the two multiplications and the CPU's own libm rounding, well
      // within (8 + 2|g|) ulp of the result (what Vulkan's own exp, 3 + 2|x| ulp, needed).
      const float g = a[i];
      const float tol = (8.0f + 2.0f * std::fabs(g)) * 0x1p-23f * std::fabs(want[i]) + 1e-30f;
      ASSERT_NEAR(got[i], want[i], tol) << "element " << i << " gate " << g;
      if (exact) {
        ASSERT_EQ(std::memcmp(&got[i], &exact_want[i], sizeof(float)), 0)
            << "element " << i << " gate " << g << ": " << got[i] << ", AVX-512 "
            << exact_want[i];
      }
    }
  }
}

const Case kCases[] = {
    {1, 0, 1, {}, {}, 0},                      // one element
    {1, 0, 7, {}, {}, 1},                      // workgroup of one
    {3, 0, 300, {0, 0, 300}, {}, 0},           // b a bias vector shared by every token
    {2, 5, 257, {3, 260, 260}, {0, 0, 0}, 64},  // pos > 0, a with gaps (stride > n)
    {4, 9, 100, {0, 0, 103}, {2, 101, 101}, 32},  // b rows at pos * 101, 3-float gaps in a
    {1, 0, 4096, {}, {}, 256},
};

TEST(VulkanAdd, MatchesCpuOnRowAddresses) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(7);
  for (const Case& c : kCases) RunCase(*device, vk::ElementwiseOp::kAdd, c, rng);
}

TEST(VulkanSwiGlu, MatchesCpuReference) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(8);
  for (const Case& c : kCases) {
    Case rows = c;  // SwiGLU combines two row buffers (hb, hb2): give b rows of its own
    if (rows.b_at.stride == 0) rows.b_at.stride = c.n;
    RunCase(*device, vk::ElementwiseOp::kSwiGlu, rows, rng);
  }
}

TEST(VulkanElementwise, RefusesBadShapesAndSmallBuffers) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::Elementwise> add = vk::Elementwise::Create(*device, vk::ElementwiseOp::kAdd, 0);
  ASSERT_TRUE(add.ok()) << add.status().message();
  kite::Result<vk::Elementwise> swiglu =
      vk::Elementwise::Create(*device, vk::ElementwiseOp::kSwiGlu, 0);
  ASSERT_TRUE(swiglu.ok()) << swiglu.status().message();
  vk::Buffer a = vt::Upload(*device, std::vector<float>(20), "a");
  vk::Buffer b = vt::Upload(*device, std::vector<float>(10), "b");
  vk::ElementwiseArgs args;
  args.max_tokens = 2;
  args.n = 10;
  args.a_at.stride = 10;
  args.a = &a;
  args.b = &b;
  EXPECT_TRUE(vt::PrepareStatus(*device, *add, args).ok());
  args.max_pos = 1;
  args.a_at.pos_stride = 10;  // positions up to 1: a needs 30 floats
  kite::Status s = vt::PrepareStatus(*device, *add, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "add: buffer 'a' holds 80 bytes, the shape needs 120");
  args.max_pos = 0;
  args.b_at.stride = 10;
  s = vt::PrepareStatus(*device, *swiglu, args);
  EXPECT_STREQ(s.message(), "swiglu: buffer 'b' holds 40 bytes, the shape needs 80");
  args.n = 0;
  s = vt::PrepareStatus(*device, *swiglu, args);
  EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
  EXPECT_STREQ(s.message(), "swiglu: bad shape max_tokens=2 n=0");
  args.n = 10;
  args.a_at.stride = 9;  // token rows of a (written) may not overlap
  s = vt::PrepareStatus(*device, *add, args);
  EXPECT_STREQ(s.message(), "add: rows of 'a' overlap: stride 9 < row length 10");
  args.a_at.stride = 10;
  args.b = nullptr;
  EXPECT_STREQ(vt::PrepareStatus(*device, *add, args).message(), "add: no 'b' buffer");
}

}  // namespace
