#include "sdk/backends/vulkan/rmsnorm.h"

#include <utility>

#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "rmsnorm";

// The shader's push-constant block.
struct Push {
  uint32_t n;
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
  desc.push_bytes = sizeof(Push);
  desc.spec = spec;
  desc.spec_count = 1;
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, Pipeline::Create(device, desc));
  return RmsNorm(std::move(pipeline), device, wg);
}

Status RmsNorm::Record(VkCommandBuffer commands, const RmsNormArgs& a) {
  KITE_CHECK_OR_RETURN(a.rows >= 1 && a.n >= 1, Error::kInvalidArgument,
                       "%s: bad shape rows=%u n=%u", kName, a.rows, a.n);
  const uint64_t total = static_cast<uint64_t>(a.rows) * a.n * 4;
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.x, total, "x"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.weight, static_cast<uint64_t>(a.n) * 4, "weight"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.out, total, "out"));
  KITE_CHECK_OR_RETURN(a.out != a.x, Error::kInvalidArgument,
                       "%s: 'out' must be another buffer than 'x'", kName);
  const uint32_t max_groups = device_->properties().limits.maxComputeWorkGroupCount[0];
  KITE_CHECK_OR_RETURN(a.rows <= max_groups, Error::kUnsupported,
                       "%s: %u vectors exceed the device's workgroup count limit (%u)", kName,
                       a.rows, max_groups);
  const Buffer* buffers[] = {a.x, a.weight, a.out};
  pipeline_.Bind(buffers);
  const Push push = {a.n, a.eps};
  pipeline_.Record(commands, &push, a.rows, 1);
  return Status::Ok();
}

}  // namespace kite::vulkan
