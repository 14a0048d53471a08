// DenseMatvec for F32, F16 and Q8_C weights (shaders/f32_matvec.comp, f16_matvec.comp,
// q8c_matvec.comp) against f32_matvec_ref (F16: of the weights' f16 values) and
// q8c_matvec_ref: one row, widths that are not a multiple of 4 (int8
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
#include "sdk/backends/vulkan/dense_matvec.h"
#include "sdk/format/format.h"
#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;

using kite::DType;
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

// Checks every output element: the rows against `want` within the kernels' tolerance
// 1e-5 * sum_c |w x| * scale (`w`: the weights as floats, `scales`: 1 for F32), the rest
// untouched.
void Check(const Case& c, const Io& io, const std::vector<float>& w,
           const std::vector<float>& scales, const vk::Buffer& y) {
  const float* got = static_cast<const float*>(y.data());
  std::vector<bool> in_row(io.want.size(), false);
  for (uint32_t t = 0; t < c.m; ++t) {
    const float* x = io.x.data() + io.x_at.EndElements(c.pos, t + 1, 0);
    const uint64_t start = io.y_at.EndElements(c.pos, t + 1, 0);
    for (uint32_t r = 0; r < c.rows; ++r) {
      double magnitude = 0.0;
      for (uint32_t i = 0; i < c.cols; ++i) {
        magnitude += std::fabs(static_cast<double>(w[size_t{r} * c.cols + i]) * x[i]);
      }
      in_row[start + r] = true;
      ASSERT_NEAR(got[start + r], io.want[start + r], 1e-5 * magnitude * scales[r] + 1e-30)
          << "token " << t << " row " << r;
    }
  }
  for (size_t i = 0; i < io.want.size(); ++i) {
    if (!in_row[i]) ASSERT_EQ(got[i], kUntouched) << "element " << i << " outside the rows";
  }
}

// One case for weights of `dtype` (F32: normal floats; F16: the same rounded to f16; Q8_C:
// random codes and row scales).
void RunCase(vk::Device& device, DType dtype, const Case& c, std::mt19937& rng) {
  SCOPED_TRACE(std::string(kite::DTypeName(dtype)) + " " + Name(c));
  const bool q8 = dtype == DType::Q8_C;
  const bool f16 = dtype == DType::F16;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> code(-128, 127);
  std::uniform_real_distribution<float> scale(0.0005f, 0.05f);
  std::vector<float> w(static_cast<size_t>(c.rows) * c.cols), scales(c.rows, 1.0f);
  std::vector<int8_t> codes(q8 ? w.size() : 0);
  std::vector<uint16_t> halves(f16 ? w.size() : 0);
  for (size_t i = 0; i < w.size(); ++i) {
    if (q8) codes[i] = static_cast<int8_t>(code(rng));
    w[i] = q8 ? codes[i] : normal(rng);
    if (f16) {
      halves[i] = kite::FloatToHalf(w[i]);
      w[i] = kite::HalfToFloat(halves[i]);
    }
  }
  if (q8) {
    for (float& s : scales) s = scale(rng);
  }
  Io io = MakeIo(c, rng);
  for (uint32_t t = 0; t < c.m; ++t) {
    const float* x = io.x.data() + io.x_at.EndElements(c.pos, t + 1, 0);
    float* y = io.want.data() + io.y_at.EndElements(c.pos, t + 1, 0);
    if (q8) {
      k::q8c_matvec_ref(c.rows, c.cols, codes.data(), scales.data(), x, y);
    } else {
      k::f32_matvec_ref(c.rows, c.cols, w.data(), x, y);
    }
  }
  vk::Buffer bw = q8 ? Upload(device, codes, "w") : f16 ? Upload(device, halves, "w")
                                                         : Upload(device, w, "w");
  vk::Buffer bs = Upload(device, scales, "scales");
  vk::Buffer bx = Upload(device, io.x, "x");
  vk::Buffer by = Upload(device, std::vector<float>(io.want.size(), kUntouched), "y");
  kite::Result<vk::DenseMatvec> op = vk::DenseMatvec::Create(device, dtype, c.workgroup);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::DenseMatvecArgs args;
  args.max_tokens = c.m;
  args.max_pos = c.pos;
  args.rows = c.rows;
  args.cols = c.cols;
  args.x_at = io.x_at;
  args.y_at = io.y_at;
  args.w = &bw;
  args.scales = q8 ? &bs : nullptr;  // F32 binds none
  args.x = &bx;
  args.y = &by;
  ASSERT_TRUE(RunOp(device, *op, args, c.m, c.pos));
  Check(c, io, w, scales, by);
}

TEST(VulkanDenseMatvec, F32MatchesCpuReference) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(7);
  for (const Case& c : kCases) RunCase(*device, DType::F32, c, rng);
}

TEST(VulkanDenseMatvec, F16MatchesCpuReference) {
  REQUIRE_DEVICE(device);
  if (!device->facts().storage_buffer_16bit) GTEST_SKIP() << "no storageBuffer16BitAccess";
  std::mt19937 rng(9);
  for (const Case& c : kCases) RunCase(*device, DType::F16, c, rng);
}

TEST(VulkanDenseMatvec, Q8CMatchesCpuReference) {
  REQUIRE_DEVICE(device);
  std::mt19937 rng(8);
  for (const Case& c : kCases) RunCase(*device, DType::Q8_C, c, rng);
}

TEST(VulkanDenseMatvec, RefusesBuffersTooSmallForTheShape) {
  REQUIRE_DEVICE(device);
  // The per-dtype names the forward pass uses (dense_matvec.h).
  kite::Result<vk::F32Matvec> f32 = vk::F32Matvec::Create(*device, 0);
  kite::Result<vk::Q8CMatvec> q8c = vk::Q8CMatvec::Create(*device, 0);
  ASSERT_TRUE(f32.ok() && q8c.ok());
  kite::Result<vk::DenseMatvec> q4 = vk::DenseMatvec::Create(*device, DType::Q4_G, 0);
  EXPECT_EQ(q4.status().code(), kite::Error::kUnsupported);
  EXPECT_STREQ(q4.status().message(),
               "dense matvec: no shader for q4_g weights (f32, f16, q8_c)");
  vk::Buffer w = Upload(*device, std::vector<float>(3 * 5), "w");  // 60 bytes
  vk::Buffer s = Upload(*device, std::vector<float>(2), "scales");
  vk::Buffer x = Upload(*device, std::vector<float>(5), "x");
  vk::Buffer y = Upload(*device, std::vector<float>(3), "y");
  vk::DenseMatvecArgs a;
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

  // Q8_C: 20 int8 columns fit w's 60 bytes; the scales and x are checked.
  a = vk::DenseMatvecArgs{};
  a.rows = 3;
  a.cols = 20;
  a.w = &w;
  a.scales = &s;
  a.x = &x;
  a.y = &y;
  EXPECT_STREQ(PrepareStatus(*device, *q8c, a).message(),
               "q8c_matvec: buffer 'scales' holds 8 bytes, the shape needs 12");
  a.scales = &y;
  EXPECT_STREQ(PrepareStatus(*device, *q8c, a).message(),
               "q8c_matvec: buffer 'x' holds 20 bytes, the shape needs 80");
  a.cols = 5;
  a.max_tokens = 2;
  a.x_at.stride = 4;
  EXPECT_STREQ(PrepareStatus(*device, *q8c, a).message(),
               "q8c_matvec: rows of 'x' overlap: stride 4 < row length 5");
}

}  // namespace
