// Causal grouped-query attention on the GPU over a KV cache in device memory, f32 or int8:
// the contract of attention_ref (f32) or attention_q8kv_ref (int8 codes with an f16 scale
// and offset per KV head and position, as q8kv_quantize and Q8kvQuantize write them;
// sdk/kernels/attention/) for every query head of every token of a call. Token t of a call
// starting at position pos attends to positions 0 .. pos + t of the cache (the call's own
// K/V rows are written there first). The shader makes three
// passes over tiles of positions (shaders/attention.comp: the maximum score, the softmax's
// sum, the weighted sum), recomputing the scores, so the shared memory does not grow with
// the context; every float operation is the CPU's AVX-512 variant's in its order (bit for
// bit where the device fuses fma()), and differs from the reference's by float rounding
// (the tests state the tolerance).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Largest head_dim the attention shader holds (its shared arrays of q and the output).
inline constexpr uint32_t kAttentionMaxHeadDim = 256;

/// The element type of a KV cache.
enum class KvCacheType : uint32_t {
  kF32 = 0,   ///< f32 rows
  kInt8 = 1,  ///< int8 codes (4 per 32-bit word, little-endian) with per-head f16 params
};

/// Shape and buffers of one attention call. Query head h of token t reads the head_dim
/// floats at q row t + h * head_dim and writes out row t + h * head_dim; it uses KV head
/// h / (n_heads / n_kv_heads), whose key (value) of position p is the head_dim elements at
///   cache_offset + p * kv_dim + kv_head * head_dim,  kv_dim = n_kv_heads * head_dim
/// of `keys` (`values`): one layer's [max_context][kv_dim] cache, or a layer of a cache
/// holding all layers (cache_offset = layer * max_context * kv_dim). An int8 cache's scale
/// and offset of that key (value) are the f16 pair (scale in the low half) in 32-bit word
///   key_param_offset (value_param_offset) + p * n_kv_heads + kv_head
/// of `params`: the CPU's layout (uint16 pairs, n_kv_heads per row), the keys' and the
/// values' in one buffer (5 bindings in all, the baseline's limit). Buffers are borrowed;
/// `out` must not overlap q or the caches.
struct AttentionArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t n_heads = 0;     ///< query heads, a multiple of n_kv_heads
  uint32_t n_kv_heads = 0;  ///< key/value heads, >= 1
  uint32_t head_dim = 0;    ///< floats per head, 1 .. kAttentionMaxHeadDim
  float scale = 0.0f;       ///< multiplies q . k, > 0: 1 / sqrt(head_dim) for Kite's models
  RowAddress q_at;          ///< q rows (n_heads * head_dim floats each)
  RowAddress out_at;        ///< output rows (n_heads * head_dim floats written each)
  uint32_t cache_offset = 0;  ///< element index of position 0's row in keys and values
                              ///< (int8: a multiple of 4)
  uint32_t key_param_offset = 0;    ///< int8: word index of position 0's key params
  uint32_t value_param_offset = 0;  ///< int8: word index of position 0's value params
  const Buffer* q = nullptr;       ///< f32
  const Buffer* keys = nullptr;    ///< rows up to position max_pos + max_tokens - 1
  const Buffer* values = nullptr;  ///< the same rows
  const Buffer* out = nullptr;     ///< f32, written
  const Buffer* params = nullptr;  ///< int8 only: f16 (scale, offset) pairs of keys and values
};

/// The compiled shader for one cache type and workgroup size. Move-only; the Device must
/// outlive it, and it must outlive its Dispatches. Thread-compatible (see Pipeline).
class Attention {
 public:
  /// `workgroup_size`: positions per tile, a power of two in [1,
  /// device.max_workgroup_size()], or 0 for the device's largest.
  static Result<Attention> Create(const Device& device, KvCacheType cache,
                                  uint32_t workgroup_size);

  /// Checks the shape against the buffers (kInvalidArgument naming the op and buffer) and
  /// prepares the dispatch: one workgroup per query head and token.
  Result<Dispatch> Prepare(DescriptorPool& pool, const AttentionArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Attention(Pipeline&& pipeline, KvCacheType cache, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), cache_(cache), workgroup_size_(wg) {}

  Pipeline pipeline_;
  KvCacheType cache_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
