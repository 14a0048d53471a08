// KV-cache quantization on the GPU: f32 K or V rows to the int8 cache that Attention reads
// with KvCacheType::kInt8, the contract of q8kv_quantize (sdk/kernels/attention/) with one
// group per KV head, bit for bit: per head an f16 offset m and scale d (the smallest f16
// step that spans the head's [min, max] from m) and codes round((x - m) / d) in [-128, 127].
// Exceptions: rows holding NaN (the CPU's fmin/fmax skip it, the shader's min/max need not)
// and heads whose range is below 2^-118 (a subnormal quotient in the exact division).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of the quantization of a call's token rows (n_kv_heads * head_dim
/// floats each). Token t reads x's row at x_at and writes its codes at codes_at (in bytes:
/// every field a multiple of 4) and its n_kv_heads parameter words (f16 scale in the low
/// half, f16 offset in the high half: the CPU's uint16 pair) at params_at (in words). For
/// the cache rows of the call's positions: codes_at = {layer_bytes, kv_dim, kv_dim},
/// params_at = {layer_words, n_kv_heads, n_kv_heads}. Buffers are borrowed.
struct Q8kvQuantizeArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t n_kv_heads = 0;  ///< groups per row, >= 1
  uint32_t head_dim = 0;    ///< floats per group, a multiple of 4
  RowAddress x_at;          ///< the f32 rows (floats)
  RowAddress codes_at;      ///< where the codes go (bytes; multiples of 4)
  RowAddress params_at;     ///< where the parameter words go (words)
  const Buffer* x = nullptr;       ///< f32
  const Buffer* codes = nullptr;   ///< int8 codes, written a 32-bit word at a time
  const Buffer* params = nullptr;  ///< f16 pairs, written
};

/// The compiled shader for one workgroup size. Move-only; the Device must outlive it, and
/// it must outlive its Dispatches. Thread-compatible (see Pipeline).
class Q8kvQuantize {
 public:
  /// `workgroup_size`: a power of two in [1, device.max_workgroup_size()], or 0 for the
  /// device's largest. One invocation quantizes one KV head of one token.
  static Result<Q8kvQuantize> Create(const Device& device, uint32_t workgroup_size);

  /// Checks the shape against the buffers (kInvalidArgument naming the buffer) and
  /// prepares the dispatch with a descriptor set from `pool`.
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q8kvQuantizeArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Q8kvQuantize(Pipeline&& pipeline, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
