// What the ops' Create functions share: the pipeline of one shader built by the conventions
// of pipeline.h, and the specialization constants of shaders that read Q4_R16 blocks.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/shaders.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Builds the pipeline of shader `name` (static storage) from `code`: `bindings` storage
/// buffers, the n_tokens/pos push header followed by `op_push_bytes` of the op's fields,
/// and specialization constants spec[0..spec_count) (spec[0]: the workgroup size).
/// Errors as Pipeline::Create.
Result<Pipeline> CreateOpPipeline(const Device& device, const char* name, ShaderCode code,
                                  uint32_t bindings, uint32_t op_push_bytes,
                                  const uint32_t* spec, uint32_t spec_count);

/// Specialization constants 0..4 of a shader reading Q4_R16_G32 (or, `symmetric`,
/// Q4_R16_G32_SYM) blocks: the workgroup size, then the block geometry from the format
/// (sdk/format/blocks.h) in 32-bit words (words per block, word offsets of the scales and
/// of the offsets), then 1 when symmetric. Pure.
struct Q4R16Spec {
  uint32_t values[5];
};
Q4R16Spec MakeQ4R16Spec(uint32_t workgroup_size, bool symmetric);

}  // namespace kite::vulkan
