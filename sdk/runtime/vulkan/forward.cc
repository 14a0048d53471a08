#include "sdk/runtime/vulkan/forward.h"

#include <utility>

#include "sdk/runtime/vulkan/model_state.h"

namespace kite {

// ---------------------------------------------------------------------------------------
// VulkanModel

VulkanModel::VulkanModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
VulkanModel::~VulkanModel() = default;

Result<std::unique_ptr<VulkanModel>> VulkanModel::Create(const Model& model,
                                                         const VulkanModelOptions& options) {
  KITE_CHECK_OR_RETURN(!model.vocab_only(), Error::kInvalidArgument,
                       "a tokenizer-only model has no weights to run on Vulkan");
  std::unique_ptr<State> s(new State);
  s->model = &model;
  KITE_ASSIGN_OR_RETURN(vulkan::Device device, vulkan::Device::Create(options.device));
  s->device.reset(new vulkan::Device(std::move(device)));
  vk_runtime::WeightOptions wo;
  wo.max_binding_bytes = options.max_binding_bytes;
  wo.force_staging = options.force_staging;
  KITE_ASSIGN_OR_RETURN(vk_runtime::DeviceWeights weights,
                        vk_runtime::DeviceWeights::Upload(*s->device, model, wo));
  s->weights.emplace(std::move(weights));
  const vulkan::Device& d = *s->device;
  KITE_ASSIGN_OR_RETURN(vulkan::RmsNorm rmsnorm, vulkan::RmsNorm::Create(d, 0));
  s->rmsnorm.emplace(std::move(rmsnorm));
  KITE_ASSIGN_OR_RETURN(vulkan::Q4R16Matvec q4, vulkan::Q4R16Matvec::Create(d, false, 0));
  s->q4r16_matvec.emplace(std::move(q4));
  KITE_ASSIGN_OR_RETURN(vulkan::Q4R16Matvec q4s, vulkan::Q4R16Matvec::Create(d, true, 0));
  s->q4r16sym_matvec.emplace(std::move(q4s));
  return std::unique_ptr<VulkanModel>(new VulkanModel(std::move(s)));
}

const Model& VulkanModel::model() const { return *state_->model; }
const char* VulkanModel::device_name() const {
  return state_->device->properties().deviceName;
}
bool VulkanModel::is_cpu_device() const {
  return vulkan::IsCpuDevice(state_->device->properties().deviceType);
}

}  // namespace kite
