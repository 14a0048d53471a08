#include "sdk/backends/vulkan/elementwise.h"

#include <cstdint>
#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t n;
  RowAddress a;
  RowAddress b;
};

}  // namespace

Result<Elementwise> Elementwise::Create(const Device& device, ElementwiseOp op,
                                        uint32_t workgroup_size) {
  const char* name = op == ElementwiseOp::kAdd ? "add" : "swiglu";
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, name));
  const uint32_t spec[] = {wg, static_cast<uint32_t>(op)};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, CreateOpPipeline(device, name, ElementwiseShader(), 2,
                                                            sizeof(Push), spec, 2));
  return Elementwise(std::move(pipeline), wg);
}

Result<Dispatch> Elementwise::Prepare(DescriptorPool& pool, const ElementwiseArgs& a) const {
  const char* name = pipeline_.name();
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.n >= 1, Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u n=%u", name, a.max_tokens, a.n);
  KITE_RETURN_IF_ERROR(CheckRows(name, a.a, a.a_at, a.max_pos, a.max_tokens, a.n, 4, "a"));
  // b's rows may overlap (a bias: one vector for every token): only its size is checked.
  KITE_RETURN_IF_ERROR(
      CheckBufferSize(name, a.b, a.b_at.EndElements(a.max_pos, a.max_tokens, a.n) * 4, "b"));
  const Buffer* buffers[] = {a.a, a.b};
  const Push push = {a.n, a.a_at, a.b_at};
  const uint32_t groups = (a.n + workgroup_size_ - 1) / workgroup_size_;
  return pipeline_.Prepare(pool, buffers, &push, groups, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
