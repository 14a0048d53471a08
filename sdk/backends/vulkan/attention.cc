#include "sdk/backends/vulkan/attention.h"

#include <cstdint>
#include <utility>

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
  float scale;
  RowAddress q;
  RowAddress out;
};

}  // namespace

Result<Attention> Attention::Create(const Device& device, uint32_t workgroup_size) {
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  const uint32_t spec[] = {wg};
  const ShaderCode code = AttentionShader();
  PipelineDesc desc;
  desc.name = kName;
  desc.spirv = code.spirv;
  desc.spirv_words = code.words;
  desc.bindings = 4;
  desc.push_bytes = kPushHeaderWords * 4 + sizeof(Push);
  desc.spec = spec;
  desc.spec_count = 1;
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, Pipeline::Create(device, desc));
  return Attention(std::move(pipeline), wg);
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
  const uint32_t q_dim = a.n_heads * a.head_dim;
  const uint32_t kv_dim = a.n_kv_heads * a.head_dim;
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.q, a.q_at, a.max_pos, a.max_tokens, q_dim, 4, "q"));
  KITE_RETURN_IF_ERROR(
      CheckRows(kName, a.out, a.out_at, a.max_pos, a.max_tokens, q_dim, 4, "out"));
  // The last token sees position max_pos + max_tokens - 1.
  const uint64_t cache_end =
      a.cache_offset + (static_cast<uint64_t>(a.max_pos) + a.max_tokens) * kv_dim;
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.keys, cache_end * 4, "keys"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.values, cache_end * 4, "values"));
  KITE_CHECK_OR_RETURN(a.out != a.q && a.out != a.keys && a.out != a.values,
                       Error::kInvalidArgument,
                       "%s: 'out' must be another buffer than 'q', 'keys' and 'values'", kName);
  const Buffer* buffers[] = {a.q, a.keys, a.values, a.out};
  const Push push = {a.head_dim, a.n_heads / a.n_kv_heads, kv_dim, a.cache_offset, a.scale,
                     a.q_at, a.out_at};
  return pipeline_.Prepare(pool, buffers, &push, a.n_heads, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
