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

CodebookWords PackCodebook(const int8_t* entries) {
  static_assert(sizeof(CodebookWords) == kQ4CodebookEntries, "one byte per entry");
  CodebookWords c = {};
  for (uint32_t u = 0; u < kQ4CodebookEntries; ++u) {
    c.words[u / 4] |= static_cast<uint32_t>(static_cast<uint8_t>(entries[u])) << (8 * (u % 4));
  }
  return c;
}

Q3R16Spec MakeQ3R16Spec(uint32_t workgroup_size) {
  return {{
      workgroup_size,
      static_cast<uint32_t>(kQ3R16CodeBytes / 4),
      static_cast<uint32_t>(kQ3R16HighBitsOffset / 4),
      static_cast<uint32_t>((Q3R16BlockBytes(1) - kQ3R16CodeBytes) / 4),
      static_cast<uint32_t>(kQ3Zero),
  }};
}

Status CheckTileTokens(const char* name, uint32_t tile_tokens) {
  KITE_CHECK_OR_RETURN(tile_tokens >= 1 && tile_tokens <= kQ4MaxTileTokens,
                       Error::kInvalidArgument, "%s: tile of %u tokens is not in [1, %u]", name,
                       tile_tokens, kQ4MaxTileTokens);
  return Status();
}

Status CheckQ4Matvec(const char* name, const Q4MatvecArgs& a, uint32_t act_group) {
  KITE_CHECK_OR_RETURN(
      a.max_tokens >= 1 && a.rows >= 1 && a.groups >= 1 && a.y_at.stride >= a.rows,
      Error::kInvalidArgument, "%s: bad shape max_tokens=%u rows=%u groups=%u y stride=%u",
      name, a.max_tokens, a.rows, a.groups, a.y_at.stride);
  const uint64_t m = a.max_tokens, groups = a.groups;
  KITE_RETURN_IF_ERROR(CheckBufferSize(name, a.xq, m * groups * act_group, "xq"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(name, a.xscale, m * groups * 4, "xscale"));
  return CheckRows(name, a.y, a.y_at, a.max_pos, a.max_tokens, a.rows, 4, "y");
}

}  // namespace kite::vulkan
