// Rotary position embedding on the GPU, in place on token rows: the contract of
// rope_freqs_ref (sdk/kernels/rope/), pair i of every head of token t rotated by the angle
// float(pos + t) * inv_freq[i], bit for bit. The cosines and sines come from a table the
// host fills with kernels::RopeCosSinTable (the CPU kernels' own libm calls), so one shader
// serves both of the CPU's forms: for rope_ref (theta) the frequencies are
// kernels::RopeInverseFrequencies(head_dim, theta), for Llama 3 scaling the model's table.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of one RoPE call: `heads` heads of `head_dim` floats at the start of
/// each token row of x. Buffers are borrowed.
struct RopeArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t heads = 0;       ///< heads per row, >= 1
  uint32_t head_dim = 0;    ///< floats per head, even, >= 2
  RowAddress x_at;          ///< where token rows are in x (e.g. q rows, or K rows in a cache)
  const Buffer* x = nullptr;        ///< f32, rotated in place
  /// f32 (cos, sin) of every pair at positions 0 .. max_pos + max_tokens - 1 (at least):
  /// kernels::RopeCosSinTable(head_dim / 2, inv_freq, positions, ...).
  const Buffer* cos_sin = nullptr;
};

/// The compiled shader for one workgroup size. Move-only; the Device must outlive it, and
/// it must outlive its Dispatches. Thread-compatible (see Pipeline).
class Rope {
 public:
  /// `workgroup_size`: a power of two in [1, device.max_workgroup_size()], or 0 for the
  /// device's largest.
  static Result<Rope> Create(const Device& device, uint32_t workgroup_size);

  /// Checks the shape and positions against the buffers (kInvalidArgument naming the
  /// buffer) and prepares the dispatch: one invocation per pair,
  /// ceil(heads * head_dim / 2 / workgroup_size) workgroups per token.
  Result<Dispatch> Prepare(DescriptorPool& pool, const RopeArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Rope(Pipeline&& pipeline, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
