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
  uint32_t x_stride;
  uint32_t out_stride;
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
  const uint32_t xs = a.x_stride == 0 ? a.n : a.x_stride;
  const uint32_t os = a.out_stride == 0 ? a.n : a.out_stride;
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.n >= 1 && xs >= a.n && os >= a.n,
                       Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u n=%u x_stride=%u out_stride=%u", kName,
                       a.max_tokens, a.n, xs, os);
  const uint64_t last = a.max_tokens - 1;
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.x, (last * xs + a.n) * 4, "x"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.weight, static_cast<uint64_t>(a.n) * 4, "weight"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.out, (last * os + a.n) * 4, "out"));
  KITE_CHECK_OR_RETURN(a.out != a.x, Error::kInvalidArgument,
                       "%s: 'out' must be another buffer than 'x'", kName);
  const Buffer* buffers[] = {a.x, a.weight, a.out};
  const Push push = {a.n, xs, os, a.eps};
  return pipeline_.Prepare(pool, buffers, &push, 1, a.max_tokens, UINT32_MAX);
}

}  // namespace kite::vulkan
