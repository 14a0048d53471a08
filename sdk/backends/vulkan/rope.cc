#include "sdk/backends/vulkan/rope.h"

#include <cstdint>
#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "rope";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t heads;
  uint32_t head_dim;
  RowAddress x;
};

}  // namespace

Result<Rope> Rope::Create(const Device& device, uint32_t workgroup_size) {
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  const uint32_t spec[] = {wg};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                        CreateOpPipeline(device, kName, RopeShader(), 2, sizeof(Push), spec, 1));
  return Rope(std::move(pipeline), wg);
}

Result<Dispatch> Rope::Prepare(DescriptorPool& pool, const RopeArgs& a) const {
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.heads >= 1 && a.head_dim >= 2 && a.head_dim % 2 == 0,
                       Error::kInvalidArgument, "%s: bad shape max_tokens=%u heads=%u head_dim=%u",
                       kName, a.max_tokens, a.heads, a.head_dim);
  const uint32_t row = a.heads * a.head_dim;
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.x, a.x_at, a.max_pos, a.max_tokens, row, 4, "x"));
  // One row of head_dim floats (head_dim / 2 cos, sin pairs) per position.
  const uint64_t positions = static_cast<uint64_t>(a.max_pos) + a.max_tokens;
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.cos_sin, positions * a.head_dim * 4, "cos_sin"));
  const Buffer* buffers[] = {a.x, a.cos_sin};
  const Push push = {a.heads, a.head_dim, a.x_at};
  const uint32_t pairs = row / 2;
  return pipeline_.Prepare(pool, buffers, &push, (pairs + workgroup_size_ - 1) / workgroup_size_,
                           a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
