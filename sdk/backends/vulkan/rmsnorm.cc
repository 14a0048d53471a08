#include "sdk/backends/vulkan/rmsnorm.h"

#include <cstdint>
#include <utility>

#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "rmsnorm";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t n;
  RowAddress x_at;
  RowAddress out_at;
  float eps;
};

}  // namespace

Result<RmsNorm> RmsNorm::Create(const Device& device, uint32_t workgroup_size) {
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  const uint32_t spec[] = {wg};
  const ShaderCode code = RmsNormShader();
  PipelineDesc desc;
  desc.name = kName;
  desc.spirv = code.spirv;
  desc.spirv_words = code.words;
  desc.bindings = 3;
  desc.push_bytes = kPushHeaderWords * 4 + sizeof(Push);
  desc.spec = spec;
  desc.spec_count = 1;
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, Pipeline::Create(device, desc));
  return RmsNorm(std::move(pipeline), wg);
}

Result<Dispatch> RmsNorm::Prepare(DescriptorPool& pool, const RmsNormArgs& a) const {
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.n >= 1, Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u n=%u", kName, a.max_tokens, a.n);
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.x, a.x_at, a.max_pos, a.max_tokens, a.n, 4, "x"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.weight, static_cast<uint64_t>(a.n) * 4, "weight"));
  KITE_RETURN_IF_ERROR(
      CheckRows(kName, a.out, a.out_at, a.max_pos, a.max_tokens, a.n, 4, "out"));
  KITE_CHECK_OR_RETURN(a.out != a.x, Error::kInvalidArgument,
                       "%s: 'out' must be another buffer than 'x'", kName);
  const Buffer* buffers[] = {a.x, a.weight, a.out};
  const Push push = {a.n, a.x_at, a.out_at, a.eps};
  return pipeline_.Prepare(pool, buffers, &push, 1, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
