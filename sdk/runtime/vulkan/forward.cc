// Placeholder until the forward pass lands (branch vkfwd): every entry point reports that
// the Vulkan forward pass is not finished.
#include "sdk/runtime/vulkan/forward.h"

namespace kite {

Result<std::unique_ptr<VulkanModel>> VulkanModel::Create(const Model&, const VulkanModelOptions& o) {
  KITE_ASSIGN_OR_RETURN(vulkan::Device d, vulkan::Device::Create(o.device));
  (void)d;
  return Status::Make(Error::kUnsupported, "the Vulkan forward pass is not finished");
}
VulkanModel::~VulkanModel() = default;
const char* VulkanModel::device_name() const { return ""; }
Result<std::unique_ptr<VulkanForward>> VulkanForward::Create(const VulkanModel&, uint32_t, uint32_t, bool) {
  return Status::Make(Error::kUnsupported, "the Vulkan forward pass is not finished");
}
VulkanForward::~VulkanForward() = default;
Status VulkanForward::Forward(const int32_t*, uint32_t, uint32_t, bool) { return Status::Ok(); }
const float* VulkanForward::logits() const { return nullptr; }

}  // namespace kite

namespace kite {
const VulkanKernelTime* VulkanForward::kernel_times(uint32_t* count) const {
  *count = 0;
  return nullptr;
}
}  // namespace kite
