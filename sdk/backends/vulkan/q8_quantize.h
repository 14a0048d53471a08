// Activation quantization on the GPU: f32 rows to int8 groups (of 32, or a Q4_ROW_GROUPS
// matrix's group) with an f32 scale and an int32 sum per group, the contract of
// q8_quantize_ref (sdk/kernels/q8-quantize/), bit for bit; its output is what the 4-bit
// matvecs (Q4R16Matvec, Q4Sp24Matvec, Q4gMatvec) read.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Most elements per group Q8Quantize takes (the format's largest Q4_ROW_GROUPS group).
inline constexpr uint32_t kQ8QuantizeMaxGroup = 4096;

/// Shape and buffers of the quantization of a call's token rows. Token t reads `cols`
/// floats of x at x_at (RowAddress) and writes groups = ceil(cols / group) groups at token
/// index t of the outputs: xq bytes [t * groups * group, (t + 1) * groups * group) (zeros
/// past cols), xscale and xsum entries [t * groups, (t + 1) * groups). Buffers are borrowed.
struct Q8QuantizeArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t cols = 0;        ///< floats per row, >= 1
  uint32_t group = 32;      ///< elements per group: a multiple of 4 in [4, kQ8QuantizeMaxGroup]
  RowAddress x_at;          ///< the input rows (stride >= cols for several tokens)
  const Buffer* x = nullptr;       ///< f32, addressed by x_at
  const Buffer* xq = nullptr;      ///< max_tokens * groups * group int8 written
  const Buffer* xscale = nullptr;  ///< max_tokens * groups f32 written
  const Buffer* xsum = nullptr;    ///< max_tokens * groups int32 written
};

/// The compiled shader for one workgroup size. Move-only; the Device must outlive it, and
/// it must outlive its Dispatches. Thread-compatible (see Pipeline).
///
/// Bit-identical to q8_quantize_ref: the scale amax / 127 and its inverse are divided
/// exactly (in integers, as Vulkan's '/' may be 2.5 ulp off), q = roundEven(x * inverse).
/// Exceptions: groups whose largest |x| is below 127 * 2^-126 (the scale would be
/// subnormal; devices may flush it) and groups holding inf or NaN.
class Q8Quantize {
 public:
  /// `workgroup_size`: a power of two in [1, device.max_workgroup_size()], or 0 for the
  /// device's largest. One invocation quantizes one group.
  static Result<Q8Quantize> Create(const Device& device, uint32_t workgroup_size);

  /// Checks the shape against the buffers (kInvalidArgument naming the buffer) and
  /// prepares the dispatch with a descriptor set from `pool`.
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q8QuantizeArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Q8Quantize(Pipeline&& pipeline, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
