#include "sdk/backends/vulkan/attention.h"

#include <cstdint>
#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "attention";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t head_dim;
  uint32_t q_per_kv;
  uint32_t kv_dim;
  uint32_t cache_offset;
  uint32_t key_param_offset;
  uint32_t value_param_offset;
  float scale;
  RowAddress q;
  RowAddress out;
};

}  // namespace

Result<Attention> Attention::Create(const Device& device, KvCacheType cache,
                                    uint32_t workgroup_size) {
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  const uint32_t spec[] = {wg, cache == KvCacheType::kInt8 ? 1u : 0u};
  // Bindings: q, keys, values, out, params.
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, CreateOpPipeline(device, kName, AttentionShader(), 5,
                                                            sizeof(Push), spec, 2));
  return Attention(std::move(pipeline), cache, wg);
}

Result<Dispatch> Attention::Prepare(DescriptorPool& pool, const AttentionArgs& a) const {
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.n_kv_heads >= 1 && a.n_heads >= a.n_kv_heads &&
                           a.n_heads % a.n_kv_heads == 0 && a.head_dim >= 1 &&
                           a.head_dim <= kAttentionMaxHeadDim,
                       Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u n_heads=%u n_kv_heads=%u head_dim=%u "
                       "(n_heads a multiple of n_kv_heads, head_dim <= %u)",
                       kName, a.max_tokens, a.n_heads, a.n_kv_heads, a.head_dim,
                       kAttentionMaxHeadDim);
  // A scale left at 0 would give every position the same weight: refused, not averaged.
  KITE_CHECK_OR_RETURN(a.scale > 0.0f && a.scale < 3.0e38f, Error::kInvalidArgument,
                       "%s: scale %g is not a positive finite number", kName,
                       static_cast<double>(a.scale));
  const uint32_t q_dim = a.n_heads * a.head_dim;
  const uint32_t kv_dim = a.n_kv_heads * a.head_dim;
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.q, a.q_at, a.max_pos, a.max_tokens, q_dim, 4, "q"));
  KITE_RETURN_IF_ERROR(
      CheckRows(kName, a.out, a.out_at, a.max_pos, a.max_tokens, q_dim, 4, "out"));
  // The last token sees position max_pos + max_tokens - 1.
  const uint64_t rows = static_cast<uint64_t>(a.max_pos) + a.max_tokens;
  const bool int8 = cache_ == KvCacheType::kInt8;
  const uint64_t cache_bytes = (a.cache_offset + rows * kv_dim) * (int8 ? 1 : 4);
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.keys, cache_bytes, "keys"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.values, cache_bytes, "values"));
  if (int8) {
    KITE_CHECK_OR_RETURN(a.cache_offset % 4 == 0, Error::kInvalidArgument,
                         "%s: int8 cache_offset %u is not a multiple of 4", kName,
                         a.cache_offset);
    const uint64_t last = a.key_param_offset > a.value_param_offset ? a.key_param_offset
                                                                    : a.value_param_offset;
    KITE_RETURN_IF_ERROR(
        CheckBufferSize(kName, a.params, (last + rows * a.n_kv_heads) * 4, "params"));
  }
  KITE_CHECK_OR_RETURN(a.out != a.q && a.out != a.keys && a.out != a.values,
                       Error::kInvalidArgument,
                       "%s: 'out' must be another buffer than 'q', 'keys' and 'values'", kName);
  // An f32 cache has no params: binding 4 holds the keys again (never read).
  const Buffer* buffers[] = {a.q, a.keys, a.values, a.out, int8 ? a.params : a.keys};
  const Push push = {a.head_dim,         a.n_heads / a.n_kv_heads, kv_dim, a.cache_offset,
                     a.key_param_offset, a.value_param_offset,     a.scale, a.q_at,
                     a.out_at};
  return pipeline_.Prepare(pool, buffers, &push, a.n_heads, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
