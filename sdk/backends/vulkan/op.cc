#include "sdk/backends/vulkan/op.h"

#include "sdk/format/blocks.h"

namespace kite::vulkan {

Result<Pipeline> CreateOpPipeline(const Device& device, const char* name, ShaderCode code,
                                  uint32_t bindings, uint32_t op_push_bytes,
                                  const uint32_t* spec, uint32_t spec_count) {
  PipelineDesc desc;
  desc.name = name;
  desc.spirv = code.spirv;
  desc.spirv_words = code.words;
  desc.bindings = bindings;
  desc.push_bytes = kPushHeaderWords * 4 + op_push_bytes;
  desc.spec = spec;
  desc.spec_count = spec_count;
  return Pipeline::Create(device, desc);
}

Q4R16Spec MakeQ4R16Spec(uint32_t workgroup_size, bool symmetric) {
  return {{
      workgroup_size,
      static_cast<uint32_t>((symmetric ? kQ4R16SymBlockBytes : kQ4R16BlockBytes) / 4),
      static_cast<uint32_t>(kQ4R16ScalesOffset / 4),
      static_cast<uint32_t>(kQ4R16OffsetsOffset / 4),
      symmetric ? 1u : 0u,
  }};
}

}  // namespace kite::vulkan
