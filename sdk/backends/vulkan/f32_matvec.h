// The dense matvec on the GPU: y = W x for f32 row-major weights W [rows][cols], the
// contract of f32_matvec_ref (sdk/kernels/f32-matvec/) for each token of a call. Used for
// f32 models and any F32 matrix. The products are the CPU's; their sum is added in another
// order (agreement to float rounding of the sum of the terms' magnitudes).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of y = W x for the tokens of a call: token t reads `cols` floats at
/// x_at and writes `rows` floats at y_at (RowAddress, rows.h). Buffers are borrowed; y must
/// differ from x.
struct F32MatvecArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t rows = 0;        ///< output rows, >= 1
  uint32_t cols = 0;        ///< input width, >= 1
  RowAddress x_at;          ///< the input rows
  RowAddress y_at;          ///< the output rows (stride >= rows for several tokens)
  const Buffer* w = nullptr;  ///< rows * cols f32, row-major, from offset 0
  const Buffer* x = nullptr;  ///< f32, addressed by x_at
  const Buffer* y = nullptr;  ///< f32 written, addressed by y_at
};

/// The compiled shader for one workgroup size. Move-only; the Device must outlive it, and
/// it must outlive its Dispatches. Thread-compatible (see Pipeline).
class F32Matvec {
 public:
  /// `workgroup_size`: a power of two in [1, device.max_workgroup_size()], or 0 for the
  /// device's largest. A workgroup computes whole rows (its invocations split the columns).
  static Result<F32Matvec> Create(const Device& device, uint32_t workgroup_size);

  /// Checks the shape against the buffers (kInvalidArgument naming the buffer) and
  /// prepares the dispatch with a descriptor set from `pool`.
  Result<Dispatch> Prepare(DescriptorPool& pool, const F32MatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  F32Matvec(Pipeline&& pipeline, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
