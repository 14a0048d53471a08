// F32Matvec and Q8CMatvec (shaders/f32_matvec.comp, q8c_matvec.comp) against
// f32_matvec_ref and q8c_matvec_ref: one row, widths that are not a multiple of 4 (int8
// rows starting inside a word) or of the workgroup, more rows than 65535 workgroups
// (several rows per workgroup), several tokens read and written through RowAddresses with
// a position, offsets and gaps that must stay untouched, and workgroup sizes 1 to 256.
// Tolerance: the kernels' own, 1e-5 * sum_c |w x| (times the row scale for Q8_C).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/f32_matvec.h"
#include "sdk/backends/vulkan/q8c_matvec.h"
#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

using kite::vulkan::test::PrepareStatus;
using kite::vulkan::test::RunOp;
using kite::vulkan::test::Upload;

constexpr float kUntouched = -12345.0f;

struct Case {
  uint32_t m, rows, cols, workgroup;  // workgroup 0: the device's largest
  uint32_t pos;
  vk::RowAddress x_at, y_at;  // stride 0: the row length (+ nothing)
};

std::string Name(const Case& c) {
  return "m=" + std::to_string(c.m) + " rows=" + std::to_string(c.rows) + " cols=" +
         std::to_string(c.cols) + " wg=" + std::to_string(c.workgroup) +
         " pos=" + std::to_string(c.pos);
}

const Case kCases[] = {
    {1, 1, 1, 0, 0, {}, {}},
    {1, 1, 3, 1, 0, {}, {}},
    {1, 17, 5, 16, 0, {}, {}},        // rows of 5 bytes: most start inside a word
    {1, 33, 97, 0, 0, {}, {}},
    {2, 100, 288, 64, 0, {0, 0, 300}, {0, 0, 103}},   // gaps between tokens' rows
    {3, 64, 1000, 256, 0, {7, 0, 1000}, {5, 0, 70}},  // offsets
    {1, 300, 4096, 0, 0, {}, {}},
    // A call at position 4 reading a chunk and writing into a cache of 40-float rows.
    {2, 40, 63, 32, 4, {3, 63, 63}, {2, 40, 40}},
    {1, 70000, 3, 16, 0, {}, {}},     // 2 rows per workgroup
};

// Random f32 x rows laid out per c.x_at (777 elsewhere, never read), and `want` filled
// with sentinels over the extent of c.y_at (the tests write the reference's rows into it).
// EndElements(pos, t + 1, 0) is where token t's row starts.
struct Io {
  std::vector<float> x, want;
  vk::RowAddress x_at, y_at;
};

Io MakeIo(const Case& c, std::mt19937& rng) {
  Io io;
  io.x_at = c.x_at;
  io.y_at = c.y_at;
  if (io.x_at.stride == 0) io.x_at.stride = c.cols;
  if (io.y_at.stride == 0) io.y_at.stride = c.rows;
  io.x.assign(io.x_at.EndElements(c.pos, c.m, c.cols) + 3, 777.0f);
  io.want.assign(io.y_at.EndElements(c.pos, c.m, c.rows) + 3, kUntouched);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (uint32_t t = 0; t < c.m; ++t) {
    const uint64_t start = io.x_at.EndElements(c.pos, t + 1, 0);  // token t's row
    for (uint32_t i = 0; i < c.cols; ++i) io.x[start + i] = normal(rng);
  }
  return io;
}

// sum_c |w[c] x[c]| for a weight row and token t's input row.
template <typename W>
double RowMagnitude(const Case& c, const Io& io, const W* row, uint32_t t) {
  const float* x = io.x.data() + io.x_at.EndElements(c.pos, t + 1, 0);
  double magnitude = 0.0;
  for (uint32_t i = 0; i < c.cols; ++i) magnitude += std::fabs(static_cast<double>(row[i]) * x[i]);
  return magnitude;
}

// Checks every output element: the rows against `want` within tol(t, r), the rest
// untouched.
template <typename Tol>
void Check(const Case& c, const Io& io, const vk::Buffer& y, Tol tol) {
  const float* got = static_cast<const float*>(y.data());
  std::vector<bool> in_row(io.want.size(), false);
  for (uint32_t t = 0; t < c.m; ++t) {
    const uint64_t start = io.y_at.EndElements(c.pos, t + 1, 0);
    for (uint32_t r = 0; r < c.rows; ++r) {
      in_row[start + r] = true;
      ASSERT_NEAR(got[start + r], io.want[start + r], tol(t, r)) << "token " << t << " row " << r;
    }
  }
  for (size_t i = 0; i < io.want.size(); ++i) {
    if (!in_row[i]) ASSERT_EQ(got[i], kUntouched) << "element " << i << " outside the rows";
  }
}

TEST(VulkanF32Matvec, MatchesCpuReference) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const Case& c : kCases) {
    SCOPED_TRACE(Name(c));
    std::vector<float> w(static_cast<size_t>(c.rows) * c.cols);
    for (float& v : w) v = normal(rng);
    Io io = MakeIo(c, rng);
    for (uint32_t t = 0; t < c.m; ++t) {
      k::f32_matvec_ref(c.rows, c.cols, w.data(),
                        io.x.data() + io.x_at.EndElements(c.pos, t + 1, 0),
                        io.want.data() + io.y_at.EndElements(c.pos, t + 1, 0));
    }
    vk::Buffer bw = Upload(*device, w, "w");
    vk::Buffer bx = Upload(*device, io.x, "x");
    vk::Buffer by = Upload(*device, std::vector<float>(io.want.size(), kUntouched), "y");
    kite::Result<vk::F32Matvec> op = vk::F32Matvec::Create(*device, c.workgroup);
    ASSERT_TRUE(op.ok()) << op.status().message();
    vk::F32MatvecArgs args;
    args.max_tokens = c.m;
    args.max_pos = c.pos;
    args.rows = c.rows;
    args.cols = c.cols;
    args.x_at = io.x_at;
    args.y_at = io.y_at;
    args.w = &bw;
    args.x = &bx;
    args.y = &by;
    ASSERT_TRUE(RunOp(*device, *op, args, c.m, c.pos));
    Check(c, io, by, [&](uint32_t t, uint32_t r) {
      return 1e-5 * RowMagnitude(c, io, w.data() + size_t{r} * c.cols, t) + 1e-30;
    });
  }
}

TEST(VulkanQ8CMatvec, MatchesCpuReference) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(8);
  std::uniform_int_distribution<int> code(-128, 127);
  std::uniform_real_distribution<float> scale(0.0005f, 0.05f);
  for (const Case& c : kCases) {
    SCOPED_TRACE(Name(c));
    std::vector<int8_t> w(static_cast<size_t>(c.rows) * c.cols);
    for (int8_t& v : w) v = static_cast<int8_t>(code(rng));
    std::vector<float> scales(c.rows);
    for (float& s : scales) s = scale(rng);
    Io io = MakeIo(c, rng);
    for (uint32_t t = 0; t < c.m; ++t) {
      k::q8c_matvec_ref(c.rows, c.cols, w.data(), scales.data(),
                        io.x.data() + io.x_at.EndElements(c.pos, t + 1, 0),
                        io.want.data() + io.y_at.EndElements(c.pos, t + 1, 0));
    }
    vk::Buffer bw = Upload(*device, w, "w");
    vk::Buffer bs = Upload(*device, scales, "scales");
    vk::Buffer bx = Upload(*device, io.x, "x");
    vk::Buffer by = Upload(*device, std::vector<float>(io.want.size(), kUntouched), "y");
    kite::Result<vk::Q8CMatvec> op = vk::Q8CMatvec::Create(*device, c.workgroup);
    ASSERT_TRUE(op.ok()) << op.status().message();
    vk::Q8CMatvecArgs args;
    args.max_tokens = c.m;
    args.max_pos = c.pos;
    args.rows = c.rows;
    args.cols = c.cols;
    args.x_at = io.x_at;
    args.y_at = io.y_at;
    args.w = &bw;
    args.scales = &bs;
    args.x = &bx;
    args.y = &by;
    ASSERT_TRUE(RunOp(*device, *op, args, c.m, c.pos));
    Check(c, io, by, [&](uint32_t t, uint32_t r) {
      return 1e-5 * RowMagnitude(c, io, w.data() + size_t{r} * c.cols, t) * scales[r] + 1e-30;
    });
  }
}

TEST(VulkanDenseMatvec, RefusesBuffersTooSmallForTheShape) {
  REQUIRE_DEVICE(device);
  kite::Result<vk::F32Matvec> f32 = vk::F32Matvec::Create(*device, 0);
  kite::Result<vk::Q8CMatvec> q8c = vk::Q8CMatvec::Create(*device, 0);
  ASSERT_TRUE(f32.ok() && q8c.ok());
  vk::Buffer w = Upload(*device, std::vector<float>(3 * 5), "w");  // 60 bytes
  vk::Buffer s = Upload(*device, std::vector<float>(2), "scales");
  vk::Buffer x = Upload(*device, std::vector<float>(5), "x");
  vk::Buffer y = Upload(*device, std::vector<float>(3), "y");
  vk::F32MatvecArgs a;
  a.rows = 3;
  a.cols = 5;
  a.w = &w;
  a.x = &x;
  a.y = &y;
  EXPECT_TRUE(PrepareStatus(*device, *f32, a).ok());
  a.cols = 6;
  EXPECT_STREQ(PrepareStatus(*device, *f32, a).message(),
               "f32_matvec: buffer 'w' holds 60 bytes, the shape needs 72");
  a.cols = 5;
  a.max_pos = 2;
  a.y_at = {0, 3, 3};
  EXPECT_STREQ(PrepareStatus(*device, *f32, a).message(),
               "f32_matvec: buffer 'y' holds 12 bytes, the shape needs 36");
  a.y = &x;
  EXPECT_STREQ(PrepareStatus(*device, *f32, a).message(),
               "f32_matvec: 'y' must be another buffer than 'x'");
  a.rows = 0;
  EXPECT_NE(std::string(PrepareStatus(*device, *f32, a).message()).find("bad shape"),
            std::string::npos);

  vk::Q8CMatvecArgs b;
  b.rows = 3;
  b.cols = 20;
  b.w = &w;
  b.scales = &s;
  b.x = &x;
  b.y = &y;
  EXPECT_STREQ(PrepareStatus(*device, *q8c, b).message(),
               "q8c_matvec: buffer 'scales' holds 8 bytes, the shape needs 12");
  b.scales = &y;
  EXPECT_STREQ(PrepareStatus(*device, *q8c, b).message(),
               "q8c_matvec: buffer 'x' holds 20 bytes, the shape needs 80");
  b.cols = 5;
  b.max_tokens = 2;
  b.x_at.stride = 4;
  EXPECT_STREQ(PrepareStatus(*device, *q8c, b).message(),
               "q8c_matvec: rows of 'x' overlap: stride 4 < row length 5");
}

}  // namespace
