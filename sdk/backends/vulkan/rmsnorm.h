// RMS normalisation on the GPU: out = weight * (x / sqrt(mean(x^2) + eps)) for each of
// `rows` vectors, the contract of rmsnorm_ref (sdk/kernels/rmsnorm/); the sum of squares is
// added in the order of the CPU's AVX-512 variant, so the results are that variant's bit for
// bit (shaders/rmsnorm.comp; relative difference to the reference's order ~1e-6).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of the normalisation of a call's token rows: token t reads `n` floats
/// of x at x_at and writes `n` floats of out at out_at (RowAddress, rows.h: e.g. the last
/// row of a chunk only, recorded with n_tokens = 1 and pos = n - 1, pos_stride = the row).
/// Buffers are borrowed; `out` must differ from `x`.
struct RmsNormArgs {
  uint32_t max_tokens = 1;  ///< most tokens (vectors) a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t n = 0;           ///< floats per vector, >= 1
  RowAddress x_at;          ///< the input rows (stride >= n for several tokens)
  RowAddress out_at;        ///< the output rows (stride >= n for several tokens)
  float eps = 0.0f;         ///< added to the mean square
  const Buffer* x = nullptr;       ///< f32, addressed by x_at
  const Buffer* weight = nullptr;  ///< n f32
  const Buffer* out = nullptr;     ///< f32 written, addressed by out_at
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
