// The Vulkan shaders on the weights of real .kite files: every 4-bit matrix of the
// converted stories260K models (Q4_R16_G32 from --quant q4, Q4_R16_G32_SYM from
// --q4-groups sym-compact), uploaded as the file holds it, gives the CPU reference kernel's
// product; RMSNorm with the file's norm weights gives rmsnorm_ref's output.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "platform/file_map.h"
#include "sdk/backends/vulkan/q4r16_matvec.h"
#include "sdk/backends/vulkan/rmsnorm.h"
#include "sdk/format/format.h"
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/runtime/loader/model.h"
#include "test/common/test_paths.h"
#include "test/vulkan/vulkan_test_util.h"

namespace {

namespace vk = kite::vulkan;
namespace k = kite::kernels;
using kite::vulkan::test::RunOp;
using kite::vulkan::test::Upload;

std::unique_ptr<kite::Model> OpenModel(const std::string& name) {
  kite::Result<kite::FileMap> bytes =
      kite::FileMap::OpenPath(kite::test::TestModel(name).c_str());
  EXPECT_TRUE(bytes.ok()) << name << ": " << bytes.status().message();
  if (!bytes.ok()) return nullptr;
  auto model = kite::Model::Open(static_cast<kite::FileMap&&>(bytes.value()), kite::ModelOptions());
  EXPECT_TRUE(model.ok()) << name << ": " << model.status().message();
  if (!model.ok()) return nullptr;
  return std::move(model.value());
}

// The file's bytes of a 4-bit matrix on the GPU against qd8_q4r16(sym)_gemm_ref.
void CheckMatrix(vk::Device& device, const kite::TensorView& t, std::mt19937& rng) {
  SCOPED_TRACE(t.name);
  const bool sym = t.layout == kite::Layout::Q4_R16_G32_SYM;
  ASSERT_TRUE(sym || t.layout == kite::Layout::Q4_R16_G32) << kite::LayoutName(t.layout);
  const size_t groups = t.groups();
  const size_t padded = groups * kite::kQ4R16GroupSize;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(t.cols);
  for (float& v : x) v = normal(rng);
  std::vector<int8_t> xq(padded);
  std::vector<float> xscale(groups);
  std::vector<int32_t> xsum(groups);
  k::q8_quantize_ref(t.cols, kite::kQ4R16GroupSize, x.data(), xq.data(), xscale.data(),
                     xsum.data());
  const uint8_t* w = static_cast<const uint8_t*>(t.data);
  std::vector<float> want(t.rows);
  (sym ? k::qd8_q4r16sym_gemm_ref : k::qd8_q4r16_gemm_ref)(1, t.rows, groups, w, xq.data(),
                                                           xscale.data(), xsum.data(),
                                                           want.data(), t.rows);

  vk::Buffer bw = Upload(device, std::vector<uint8_t>(w, w + t.data_size), "w");
  vk::Buffer bxq = Upload(device, xq, "xq");
  vk::Buffer bxs = Upload(device, xscale, "xscale");
  vk::Buffer bsum = Upload(device, xsum, "xsum");
  vk::Buffer by = Upload(device, std::vector<float>(t.rows), "y");
  kite::Result<vk::Q4R16Matvec> op = vk::Q4R16Matvec::Create(device, sym, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::Q4R16MatvecArgs args;
  args.rows = t.rows;
  args.groups = static_cast<uint32_t>(groups);
  args.y_at.stride = t.rows;
  args.w = &bw;
  args.xq = &bxq;
  args.xscale = &bxs;
  args.xsum = &bsum;
  args.y = &by;
  ASSERT_TRUE(RunOp(device, *op, args, 1));
  const float* got = static_cast<const float*>(by.data());
  float scale = 0.0f;
  for (float v : want) scale = std::fmax(scale, std::fabs(v));
  for (uint32_t r = 0; r < t.rows; ++r) {
    ASSERT_NEAR(got[r], want[r], 1e-5f * scale + 1e-30f) << "row " << r;
  }
}

void CheckModel(const std::string& name) {
  REQUIRE_DEVICE(device);
  std::unique_ptr<kite::Model> model = OpenModel(name);
  ASSERT_NE(model, nullptr);
  std::mt19937 rng(7);
  int checked = 0;
  for (uint32_t l = 0; l < model->config().n_layers; ++l) {
    const kite::LayerWeights& lw = model->layer(l);
    for (const kite::TensorView* t : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w1, &lw.w2, &lw.w3}) {
      if (t->dtype != kite::DType::Q4_G) continue;
      CheckMatrix(*device, *t, rng);
      if (::testing::Test::HasFatalFailure()) return;
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(7 * model->config().n_layers))
      << "every layer matrix of " << name << " should be 4-bit";
}

TEST(VulkanModelWeights, Q4MatricesOfTheConvertedModel) { CheckModel("stories260K-q4.kite"); }

TEST(VulkanModelWeights, SymmetricQ4MatricesOfTheConvertedModel) {
  CheckModel("stories260K-q4s.kite");
}

TEST(VulkanModelWeights, RmsNormWithTheFileNormWeights) {
  REQUIRE_DEVICE(device);
  std::unique_ptr<kite::Model> model = OpenModel("stories260K-f32.kite");
  ASSERT_NE(model, nullptr);
  const kite::TensorView& norm = model->layer(0).attention_norm;
  ASSERT_EQ(norm.dtype, kite::DType::F32);
  const uint32_t n = norm.cols;
  const float* weight = static_cast<const float*>(norm.data);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const uint32_t rows = 3;
  std::vector<float> x(rows * n), want(rows * n);
  for (float& v : x) v = normal(rng);
  const float eps = model->config().norm_eps;
  for (uint32_t r = 0; r < rows; ++r) k::rmsnorm_ref(n, &x[r * n], weight, eps, &want[r * n]);
  vk::Buffer bx = Upload(*device, x, "x");
  vk::Buffer bw = Upload(*device, std::vector<float>(weight, weight + n), "weight");
  vk::Buffer bo = Upload(*device, std::vector<float>(x.size()), "out");
  kite::Result<vk::RmsNorm> op = vk::RmsNorm::Create(*device, 0);
  ASSERT_TRUE(op.ok()) << op.status().message();
  vk::RmsNormArgs args;
  args.max_tokens = rows;
  args.n = n;
  args.x_at.stride = n;
  args.out_at.stride = n;
  args.eps = eps;
  args.x = &bx;
  args.weight = &bw;
  args.out = &bo;
  ASSERT_TRUE(RunOp(*device, *op, args, rows));
  const float* got = static_cast<const float*>(bo.data());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 2e-6f * std::fabs(want[i]) + 1e-7f) << "element " << i;
  }
}

}  // namespace
