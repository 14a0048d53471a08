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

/// Shape and buffers of the normalisation of a call's token rows. Buffers are borrowed;
/// `out` must differ from `x`.
struct RmsNormArgs {
  uint32_t max_tokens = 1;  ///< most tokens (vectors) a call may have, >= 1
  uint32_t n = 0;           ///< floats per vector, >= 1
  uint32_t x_stride = 0;    ///< floats between tokens' vectors in x, >= n (0: n)
  uint32_t out_stride = 0;  ///< floats between tokens' vectors in out, >= n (0: n)
  float eps = 0.0f;         ///< added to the mean square
  const Buffer* x = nullptr;       ///< max_tokens vectors, x_stride apart, f32
  const Buffer* weight = nullptr;  ///< n f32
  const Buffer* out = nullptr;     ///< max_tokens vectors, out_stride apart, f32 written
};

/// The compiled shader for one workgroup size. Move-only; the Device must outlive it, and
/// it must outlive its Dispatches. Thread-compatible (see Pipeline).
class RmsNorm {
 public:
  /// `workgroup_size`: a power of two in [1, device.max_workgroup_size()], or 0 for the
  /// device's largest.
  static Result<RmsNorm> Create(const Device& device, uint32_t workgroup_size);

  /// Checks the shape against the buffers and prepares the dispatch (one workgroup per
  /// token) with a descriptor set from `pool`.
  Result<Dispatch> Prepare(DescriptorPool& pool, const RmsNormArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  RmsNorm(Pipeline&& pipeline, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
