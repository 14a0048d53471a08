#include "sdk/runtime/model_backends.h"

#include <cstdio>

namespace kite {

ModelBackends::~ModelBackends() = default;

#if KITE_WITH_VULKAN
Result<const VulkanModel*> ModelBackends::Vulkan(const Model& model) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!tried_) {
    tried_ = true;
    VulkanModelOptions options;
    options.device = vulkan::DeviceOptionsFromEnvironment();
    Result<std::unique_ptr<VulkanModel>> created = VulkanModel::Create(model, options);
    if (created.ok()) {
      vulkan_ = static_cast<std::unique_ptr<VulkanModel>&&>(created.value());
    } else {
      status_ = created.status();
    }
  }
  if (vulkan_ == nullptr) return status_;
  return static_cast<const VulkanModel*>(vulkan_.get());
}

int ModelBackends::self_check() const {
  std::lock_guard<std::mutex> lock(mu_);
  return self_check_;
}

const char* ModelBackends::self_check_notice() const {
  std::lock_guard<std::mutex> lock(mu_);
  return self_check_notice_;
}

void ModelBackends::RecordSelfCheck(bool passed, const char* notice) {
  std::lock_guard<std::mutex> lock(mu_);
  if (self_check_ != 0) return;
  self_check_ = passed ? 1 : -1;
  std::snprintf(self_check_notice_, sizeof(self_check_notice_), "%s", notice);
}
#endif

}  // namespace kite
