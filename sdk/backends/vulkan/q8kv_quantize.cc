#include "sdk/backends/vulkan/q8kv_quantize.h"

#include <cstdint>
#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "q8kv_quantize";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t n_kv_heads;
  uint32_t head_dim;
  RowAddress x;
  RowAddress codes;
  RowAddress params;
};

}  // namespace

Result<Q8kvQuantize> Q8kvQuantize::Create(const Device& device, uint32_t workgroup_size) {
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  const uint32_t spec[] = {wg};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, CreateOpPipeline(device, kName, Q8kvQuantizeShader(),
                                                            3, sizeof(Push), spec, 1));
  return Q8kvQuantize(std::move(pipeline), wg);
}

Result<Dispatch> Q8kvQuantize::Prepare(DescriptorPool& pool, const Q8kvQuantizeArgs& a) const {
  const RowAddress& c = a.codes_at;
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.n_kv_heads >= 1 && a.head_dim >= 4 &&
                           a.head_dim % 4 == 0 && c.offset % 4 == 0 && c.pos_stride % 4 == 0 &&
                           c.stride % 4 == 0,
                       Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u n_kv_heads=%u head_dim=%u codes at "
                       "%u+%u*pos+%u*t (head_dim and the byte addresses multiples of 4)",
                       kName, a.max_tokens, a.n_kv_heads, a.head_dim, c.offset, c.pos_stride,
                       c.stride);
  const uint32_t row = a.n_kv_heads * a.head_dim;
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.x, a.x_at, a.max_pos, a.max_tokens, row, 4, "x"));
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.codes, c, a.max_pos, a.max_tokens, row, 1, "codes"));
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.params, a.params_at, a.max_pos, a.max_tokens,
                                 a.n_kv_heads, 4, "params"));
  const Buffer* buffers[] = {a.x, a.codes, a.params};
  const Push push = {a.n_kv_heads, a.head_dim, a.x_at, c, a.params_at};
  return pipeline_.Prepare(pool, buffers, &push,
                           (a.n_kv_heads + workgroup_size_ - 1) / workgroup_size_, a.max_tokens,
                           a.max_pos);
}

}  // namespace kite::vulkan
