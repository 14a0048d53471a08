// What a VulkanModel holds (internal to sdk/runtime/vulkan/): the device, the uploaded
// weights and the pipelines of every op the forward pass records, compiled once per model
// and shared (const) by its sessions.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "sdk/backends/vulkan/attention.h"
#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/elementwise.h"
#include "sdk/backends/vulkan/embedding.h"
#include "sdk/backends/vulkan/dense_matvec.h"
#include "sdk/backends/vulkan/q3r16_matvec.h"
#include "sdk/backends/vulkan/q4r16_matvec.h"
#include "sdk/backends/vulkan/q4g_matvec.h"
#include "sdk/backends/vulkan/q4sp24_matvec.h"
#include "sdk/backends/vulkan/q8_quantize.h"
#include "sdk/backends/vulkan/q8kv_quantize.h"
#include "sdk/backends/vulkan/rmsnorm.h"
#include "sdk/backends/vulkan/rope.h"
#include "sdk/runtime/vulkan/forward.h"
#include "sdk/runtime/vulkan/weights.h"

namespace kite {

struct VulkanModel::State {
  const Model* model = nullptr;
  std::unique_ptr<vulkan::Device> device;  // declared first: destroyed last
  std::optional<vk_runtime::DeviceWeights> weights;
  /// RoPE's head_dim / 2 inverse frequencies (the model's scaled table, or theta's), from
  /// which each session fills its cos/sin table (kernels::RopeCosSinTable).
  std::vector<float> rope_inv_freq;
  // Pipelines, made once (std::optional: the ops have no empty state). Every op the
  // forward pass may record is built; the embedding's for its table's encoding only.
  std::optional<vulkan::Embedding> embedding;
  std::optional<vulkan::RmsNorm> rmsnorm;
  std::optional<vulkan::Q8Quantize> q8_quantize;
  std::optional<vulkan::Q4R16Matvec> q4r16_matvec, q4r16sym_matvec;
  std::optional<vulkan::Q4R16Matvec> q4r16cb_matvec, q4r16cb_gemm;  // Q4_R16_G32_CB
  std::optional<vulkan::Q4Sp24Matvec> q4sp24_matvec;  // Q4_SP24_R16_G64
  std::optional<vulkan::Q4gMatvec> q4g_matvec;        // Q4_ROW_GROUPS
  std::optional<vulkan::Q3R16Matvec> q3r16_matvec;    // Q3_R16_G32, Q3_R16_G64
  /// The tiled variants of the four (kQ4MaxTileTokens tokens per workgroup) for calls of
  /// several tokens (prefill); the matvecs above run the decode calls.
  std::optional<vulkan::Q4R16Matvec> q4r16_gemm, q4r16sym_gemm;
  std::optional<vulkan::Q4Sp24Matvec> q4sp24_gemm;
  std::optional<vulkan::Q4gMatvec> q4g_gemm;
  std::optional<vulkan::Q3R16Matvec> q3r16_gemm;
  std::optional<vulkan::DenseMatvec> f32_matvec, q8c_matvec;
  /// The F16 matvec, made only when the weights hold f16 matrices (DeviceTensor::f16).
  std::optional<vulkan::DenseMatvec> f16_matvec;
  std::optional<vulkan::Elementwise> add, swiglu;
  std::optional<vulkan::Rope> rope;
  std::optional<vulkan::Attention> attention, attention_q8;  // f32 and int8 KV caches
  std::optional<vulkan::Q8kvQuantize> q8kv_quantize;
};

}  // namespace kite
