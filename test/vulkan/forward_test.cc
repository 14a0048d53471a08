// The forward pass on Vulkan (sdk/runtime/vulkan/) against the CPU Transformer on the
// converted stories260K models: the weights on the device byte for byte (direct and through
// a staging buffer, whole and split by row blocks), refusals of encodings the shaders do not
// run, and (below) the forward pass itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "platform/file_map.h"
#include "sdk/format/format.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/runtime/vulkan/forward.h"
#include "sdk/runtime/vulkan/model_state.h"
#include "test/common/test_paths.h"

namespace {

using kite::vk_runtime::DeviceTensor;

std::unique_ptr<kite::Model> OpenModel(const std::string& name) {
  kite::Result<kite::FileMap> bytes = kite::FileMap::OpenPath(kite::test::TestModel(name).c_str());
  EXPECT_TRUE(bytes.ok()) << name << ": " << bytes.status().message();
  if (!bytes.ok()) return nullptr;
  auto model = kite::Model::Open(static_cast<kite::FileMap&&>(bytes.value()), kite::ModelOptions());
  EXPECT_TRUE(model.ok()) << name << ": " << model.status().message();
  if (!model.ok()) return nullptr;
  return std::move(model.value());
}

kite::VulkanModelOptions Options(uint64_t max_binding_bytes = 0, bool force_staging = false) {
  setenv(kite::vulkan::kAllowCpuEnv, "1", 1);
  kite::VulkanModelOptions o;
  o.device = kite::vulkan::DeviceOptionsFromEnvironment();
  o.max_binding_bytes = max_binding_bytes;
  o.force_staging = force_staging;
  return o;
}

// The parts of `t` cover its rows in order and hold the file's bytes (data and scales).
void ExpectTensorOnDevice(const DeviceTensor& t, uint64_t max_binding_bytes) {
  ASSERT_NE(t.view, nullptr);
  SCOPED_TRACE(t.view->name);
  ASSERT_GE(t.part_count, 1u);
  const kite::Encoding& enc = *kite::FindEncoding(t.view->dtype, t.view->layout);
  const uint64_t block_bytes = kite::RowBlockBytes(enc, t.view->cols, t.view->group_size);
  uint32_t row = 0;
  for (uint32_t i = 0; i < t.part_count; ++i) {
    const kite::vk_runtime::TensorPart& p = t.parts[i];
    EXPECT_EQ(p.row_begin, row);
    EXPECT_EQ(p.row_begin % enc.block_rows, 0u);
    ASSERT_NE(p.data, nullptr);
    if (max_binding_bytes != 0) EXPECT_LE(p.data->size(), max_binding_bytes);
    // lavapipe's device-local memory is mappable: read it back.
    ASSERT_NE(p.data->data(), nullptr);
    const uint64_t offset = p.row_begin / enc.block_rows * block_bytes;
    uint64_t bytes = (p.row_count + enc.block_rows - 1) / enc.block_rows * block_bytes;
    if (offset + bytes > t.view->data_size) bytes = t.view->data_size - offset;
    EXPECT_EQ(std::memcmp(p.data->data(), static_cast<const char*>(t.view->data) + offset, bytes),
              0);
    if (t.view->dtype == kite::DType::Q8_C) {
      ASSERT_NE(p.scales, nullptr);
      EXPECT_EQ(std::memcmp(p.scales->data(),
                            static_cast<const float*>(t.view->scales) + p.row_begin,
                            p.row_count * 4),
                0);
    }
    row += p.row_count;
  }
  EXPECT_EQ(row, t.view->rows);
}

void ExpectWeightsOnDevice(const char* file, uint64_t max_binding_bytes, bool force_staging) {
  SCOPED_TRACE(file);
  auto model = OpenModel(file);
  ASSERT_NE(model, nullptr);
  auto vm = kite::VulkanModel::Create(*model, Options(max_binding_bytes, force_staging));
  ASSERT_TRUE(vm.ok()) << vm.status().message();
  const kite::vk_runtime::DeviceWeights& w = *(*vm)->state().weights;
  EXPECT_EQ(w.staged(), force_staging);
  ExpectTensorOnDevice(w.embedding(), max_binding_bytes);
  ExpectTensorOnDevice(w.norm(), max_binding_bytes);
  ExpectTensorOnDevice(w.output(), max_binding_bytes);
  if (max_binding_bytes != 0) EXPECT_GT(w.embedding().part_count, 1u);
  for (uint32_t l = 0; l < model->config().n_layers; ++l) {
    const kite::vk_runtime::LayerTensors& t = w.layer(l);
    for (const DeviceTensor* d : {&t.attention_norm, &t.wq, &t.wk, &t.wv, &t.wo, &t.ffn_norm,
                                  &t.w1, &t.w2, &t.w3}) {
      ExpectTensorOnDevice(*d, max_binding_bytes);
    }
  }
}

TEST(VulkanWeights, UploadedDirectly) {
  ExpectWeightsOnDevice("stories260K-f32.kite", 0, false);
  ExpectWeightsOnDevice("stories260K-q4.kite", 0, false);
}

TEST(VulkanWeights, UploadedThroughStaging) {
  ExpectWeightsOnDevice("stories260K-f32.kite", 0, true);
  ExpectWeightsOnDevice("stories260K-q4s.kite", 0, true);
}

TEST(VulkanWeights, SplitByRowBlocks) {
  ExpectWeightsOnDevice("stories260K-f32.kite", 1024, true);
  ExpectWeightsOnDevice("stories260K-q4.kite", 2048, false);
}

TEST(VulkanWeights, RowBlockAboveTheLimitIsRefused) {
  auto model = OpenModel("stories260K-q4.kite");
  ASSERT_NE(model, nullptr);
  // A 16-row block of a 4-bit matrix 64 wide takes 640 bytes.
  auto vm = kite::VulkanModel::Create(*model, Options(256));
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.status().code(), kite::Error::kUnsupported);
  EXPECT_NE(std::strstr(vm.status().message(), "binding limit"), nullptr) << vm.status().message();
}

TEST(VulkanWeights, UnsupportedEncodingNamesTheTensor) {
  auto model = OpenModel("stories260K-q4sp24.kite");
  ASSERT_NE(model, nullptr);
  auto vm = kite::VulkanModel::Create(*model, Options());
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.status().code(), kite::Error::kUnsupported);
  EXPECT_NE(std::strstr(vm.status().message(), "q4_g_sp24"), nullptr) << vm.status().message();
  EXPECT_NE(std::strstr(vm.status().message(), "layers.0."), nullptr) << vm.status().message();
}

}  // namespace
