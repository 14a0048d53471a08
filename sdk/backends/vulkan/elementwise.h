// Element-wise ops on token rows on the GPU, one shader for both:
//   add:    a[i] += b[i]                        (q/k/v biases, the residual x += xb2);
//   swiglu: a[i] = silu(a[i]) * b[i], silu(g) = g / (1 + exp(-g)), the contract of
//           swiglu_ref (sdk/kernels/swiglu/) with a = gate (hb), b = up (hb2).
// Rows are addressed by RowAddress (rows.h), so b can be one vector added to every row
// (pos_stride = stride = 0: a bias) or the rows of another buffer.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Which element-wise op an Elementwise pipeline computes (its specialization constant 1).
enum class ElementwiseOp : uint32_t {
  kAdd = 0,     ///< "add": a += b
  kSwiGlu = 1,  ///< "swiglu": a = silu(a) * b
};

/// Shape and buffers of one element-wise call: `n` floats of each token t < n_tokens of a
/// call starting at position pos. Buffers are borrowed. a and b may be one buffer, but an
/// element of b must not be an element of a other than the one it is combined with.
struct ElementwiseArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t n = 0;           ///< floats per token row, >= 1
  RowAddress a_at;          ///< where token rows are in `a` (read and written)
  RowAddress b_at;          ///< where token rows are in `b` (read); all 0: one vector
  const Buffer* a = nullptr;  ///< f32, updated in place
  const Buffer* b = nullptr;  ///< f32
};

/// The compiled shader for one op and workgroup size. Move-only; the Device must outlive
/// it, and it must outlive its Dispatches. Thread-compatible (see Pipeline).
class Elementwise {
 public:
  /// `workgroup_size`: a power of two in [1, device.max_workgroup_size()], or 0 for the
  /// device's largest. The pipeline is named after the op ("add", "swiglu").
  static Result<Elementwise> Create(const Device& device, ElementwiseOp op,
                                    uint32_t workgroup_size);

  /// Checks the shape against the buffers (kInvalidArgument naming the op and buffer) and
  /// prepares the dispatch: ceil(n / workgroup_size) workgroups per token, one element per
  /// invocation.
  Result<Dispatch> Prepare(DescriptorPool& pool, const ElementwiseArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Elementwise(Pipeline&& pipeline, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
