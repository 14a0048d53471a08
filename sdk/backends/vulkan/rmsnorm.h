// RMS normalisation on the GPU: out = weight * (x / sqrt(mean(x^2) + eps)) for each of
// `rows` vectors, the contract of rmsnorm_ref (sdk/kernels/rmsnorm/); the sum of squares is
// added in another order (relative difference ~1e-6).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of one normalisation. Buffers are borrowed; `out` must differ from
/// `x`.
struct RmsNormArgs {
  uint32_t rows = 1;               ///< vectors, >= 1; vector v at float offset v * n
  uint32_t n = 0;                  ///< floats per vector, >= 1
  float eps = 0.0f;                ///< added to the mean square
  const Buffer* x = nullptr;       ///< rows * n f32
  const Buffer* weight = nullptr;  ///< n f32
  const Buffer* out = nullptr;     ///< rows * n f32 written
};

/// The compiled shader for one workgroup size. Move-only; the Device must outlive it. Not
/// thread-safe.
class RmsNorm {
 public:
  /// `workgroup_size`: a power of two in [1, device.max_workgroup_size()], or 0 for the
  /// device's largest.
  static Result<RmsNorm> Create(const Device& device, uint32_t workgroup_size);

  /// Checks the shape against the buffers and the device's limits, binds the buffers and
  /// records the dispatch into `commands` (record at most once per submission, as
  /// Q4R16Matvec::Record).
  Status Record(VkCommandBuffer commands, const RmsNormArgs& args);

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  RmsNorm(Pipeline&& pipeline, const Device& device, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), device_(&device), workgroup_size_(wg) {}

  Pipeline pipeline_;
  const Device* device_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
