// Per-model state of the optional compute backends, shared by the model's sessions: the
// model's weights on a Vulkan device, made when the first session asks for them.
#pragma once

#include <memory>

#include "sdk/base/status.h"
#include "sdk/runtime/loader/model.h"

#if KITE_WITH_VULKAN
#include <mutex>

#include "sdk/runtime/vulkan/forward.h"
#endif

namespace kite {

/// Backend state of one Model. Thread-safe: sessions on several threads may ask at once.
/// The Model must outlive it; it must outlive the sessions that use it.
class ModelBackends {
 public:
  ModelBackends() = default;
  ~ModelBackends();
  ModelBackends(const ModelBackends&) = delete;
  ModelBackends& operator=(const ModelBackends&) = delete;

#if KITE_WITH_VULKAN
  /// The model's weights on a Vulkan device (VulkanModel::Create with the device options
  /// from the environment), made on the first call. The outcome is kept: after a failure
  /// every call returns the same status at once, so a session does not retry a missing or
  /// refused device.
  Result<const VulkanModel*> Vulkan(const Model& model);

  /// The outcome of the `auto` self-check on this model's device, recorded by the first
  /// session that ran it: 0 not run yet, 1 passed, -1 failed (with its notice).
  int self_check() const;
  const char* self_check_notice() const;
  /// Records the self-check's outcome (the first record wins).
  void RecordSelfCheck(bool passed, const char* notice);

 private:
  mutable std::mutex mu_;
  bool tried_ = false;
  Status status_;
  std::unique_ptr<VulkanModel> vulkan_;
  int self_check_ = 0;
  char self_check_notice_[Status::kMaxMessage] = {};
#endif
};

}  // namespace kite
