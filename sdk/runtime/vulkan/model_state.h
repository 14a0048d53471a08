// What a VulkanModel holds (internal to sdk/runtime/vulkan/): the device, the uploaded
// weights and the pipelines of every op the forward pass records, compiled once per model
// and shared (const) by its sessions.
#pragma once

#include <memory>
#include <optional>

#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/q4r16_matvec.h"
#include "sdk/backends/vulkan/rmsnorm.h"
#include "sdk/runtime/vulkan/forward.h"
#include "sdk/runtime/vulkan/weights.h"

namespace kite {

struct VulkanModel::State {
  const Model* model = nullptr;
  std::unique_ptr<vulkan::Device> device;
  std::optional<vk_runtime::DeviceWeights> weights;
  // Pipelines, made once (std::optional: the ops have no default state).
  std::optional<vulkan::RmsNorm> rmsnorm;
  std::optional<vulkan::Q4R16Matvec> q4r16_matvec, q4r16sym_matvec;
};

}  // namespace kite
