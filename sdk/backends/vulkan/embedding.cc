#include "sdk/backends/vulkan/embedding.h"

#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/format/blocks.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "embedding";

// The shaders' push fields after the n_tokens/pos header (embedding.glsl).
struct Push {
  uint32_t cols;
  uint32_t row_begin;
  uint32_t row_count;
  uint32_t groups;
  uint32_t group;
  uint32_t mins_at;
  RowAddress out;
  CodebookWords codebook;  // Q4_R16_G32_CB only
};

// Q4_R16_G32, _SYM and the codebook _CB (the SYM blocks): embedding_q4r16.comp.
bool IsQ4R16(DType dtype, Layout layout) {
  return dtype == DType::Q4_G &&
         (layout == Layout::Q4_R16_G32 || layout == Layout::Q4_R16_G32_SYM ||
          layout == Layout::Q4_R16_G32_CB);
}

// Q3_R16_G32 and Q3_R16_G64: embedding_q3r16.comp.
bool IsQ3R16(DType dtype, Layout layout) {
  return dtype == DType::Q4_G && (layout == Layout::Q3_R16_G32 || layout == Layout::Q3_R16_G64);
}

bool IsQ4RowGroups(DType dtype, Layout layout) {
  return dtype == DType::Q4_G && layout == Layout::Q4_ROW_GROUPS;
}

bool IsQ4Sp24(DType dtype, Layout layout) {
  return dtype == DType::Q4_G_SP24 && layout == Layout::Q4_SP24_R16_G64;
}

// Rows per block of the layout: parts start on a block.
uint32_t BlockRows(DType dtype, Layout layout) {
  if (IsQ4R16(dtype, layout) || IsQ3R16(dtype, layout)) {
    return static_cast<uint32_t>(kQ4R16BlockRows);
  }
  if (IsQ4Sp24(dtype, layout)) return static_cast<uint32_t>(kQ4SP24BlockRows);
  return 1;
}

}  // namespace

Result<Embedding> Embedding::Create(const Device& device, DType dtype, Layout layout,
                                    uint32_t workgroup_size) {
  const bool row_major = layout == Layout::ROW_MAJOR;
  KITE_CHECK_OR_RETURN((row_major && (dtype == DType::F32 || dtype == DType::Q8_C)) ||
                           IsQ4R16(dtype, layout) || IsQ4RowGroups(dtype, layout) ||
                           IsQ4Sp24(dtype, layout) || IsQ3R16(dtype, layout),
                       Error::kUnsupported,
                       "%s: no shader for %s tables in layout %s (f32, q8_c, q4_g in "
                       "q4_r16_g32, q4_r16_g32_sym, q4_r16_g32_cb, q4_row_groups, q3_r16_g32 or "
                       "q3_r16_g64, "
                       "q4_g_sp24 in q4_sp24_r16_g64)",
                       kName, DTypeName(dtype), LayoutName(layout));
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  if (IsQ4R16(dtype, layout)) {
    // Q4_R16 shaders take the block geometry as specialization constants 1..4; constant 5
    // is the codebook switch (the codebook layout has the symmetric blocks).
    const bool codebook = layout == Layout::Q4_R16_G32_CB;
    const Q4R16Spec q4 = MakeQ4R16Spec(wg, codebook || layout == Layout::Q4_R16_G32_SYM);
    const uint32_t spec[] = {q4.values[0], q4.values[1], q4.values[2], q4.values[3],
                             q4.values[4], codebook ? 1u : 0u};
    KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                          CreateOpPipeline(device, kName, EmbeddingQ4R16Shader(), 3,
                                           sizeof(Push), spec, sizeof(spec) / sizeof(spec[0])));
    return Embedding(std::move(pipeline), dtype, layout, wg);
  }
  if (IsQ3R16(dtype, layout)) {
    const Q3R16Spec spec = MakeQ3R16Spec(wg);
    KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                          CreateOpPipeline(device, kName, EmbeddingQ3R16Shader(), 3,
                                           sizeof(Push), spec.values, 5));
    return Embedding(std::move(pipeline), dtype, layout, wg);
  }
  if (IsQ4Sp24(dtype, layout)) {
    const uint32_t spec[] = {wg, static_cast<uint32_t>(kQ4SP24BlockBytes / 4),
                             static_cast<uint32_t>(kQ4SP24SubBlockBytes / 4),
                             static_cast<uint32_t>(kQ4SP24PositionsOffset / 4),
                             static_cast<uint32_t>(kQ4SP24ScalesOffset / 4)};
    KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                          CreateOpPipeline(device, kName, EmbeddingQ4Sp24Shader(), 3,
                                           sizeof(Push), spec, sizeof(spec) / sizeof(spec[0])));
    return Embedding(std::move(pipeline), dtype, layout, wg);
  }
  const bool two_buffers = dtype == DType::Q8_C || IsQ4RowGroups(dtype, layout);
  const ShaderCode code = dtype == DType::F32    ? EmbeddingF32Shader()
                          : dtype == DType::Q8_C ? EmbeddingQ8CShader()
                                                 : EmbeddingQ4gShader();
  const uint32_t spec[] = {wg};
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                        CreateOpPipeline(device, kName, code, two_buffers ? 4 : 3, sizeof(Push),
                                         spec, 1));
  return Embedding(std::move(pipeline), dtype, layout, wg);
}

Result<Dispatch> Embedding::Prepare(DescriptorPool& pool, const EmbeddingArgs& a) const {
  const bool q4 = IsQ4R16(dtype_, layout_);  // groups of 32
  const bool q3 = IsQ3R16(dtype_, layout_);
  const bool row_groups = IsQ4RowGroups(dtype_, layout_);
  const uint32_t block_rows = BlockRows(dtype_, layout_);
  KITE_CHECK_OR_RETURN(
      a.max_tokens >= 1 && a.cols >= 1 && a.row_count >= 1 && a.row_begin % block_rows == 0,
      Error::kInvalidArgument,
      "%s: bad shape max_tokens=%u cols=%u row_begin=%u row_count=%u (%s: parts start on a "
      "%u-row block)",
      kName, a.max_tokens, a.cols, a.row_begin, a.row_count, LayoutName(layout_), block_rows);
  KITE_CHECK_OR_RETURN(!row_groups || (a.group >= 2 && a.group % 2 == 0), Error::kInvalidArgument,
                       "%s: group of %u is not even and >= 2 (q4_row_groups)", kName, a.group);
  const bool codebook = layout_ == Layout::Q4_R16_G32_CB;
  KITE_CHECK_OR_RETURN(!codebook || a.codebook != nullptr, Error::kInvalidArgument,
                       "%s: a q4_r16_g32_cb table needs the tensor's codebook", kName);
  // Q3_R16: the columns one scale covers, the layout's group (its blocks' columns).
  const uint32_t group = q4   ? static_cast<uint32_t>(kQ4R16GroupSize)
                         : q3 ? FindEncoding(dtype_, layout_)->group_size
                         : row_groups ? a.group
                                      : 0;
  KITE_RETURN_IF_ERROR(
      CheckBufferSize(kName, a.tokens, static_cast<uint64_t>(a.max_tokens) * 4, "tokens"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(
      kName, a.table, PackedBytes(dtype_, layout_, a.row_count, a.cols, group), "table"));
  const uint32_t groups = group != 0 ? (a.cols + group - 1) / group : 0;
  const uint64_t cells = uint64_t{a.row_count} * groups;
  if (dtype_ == DType::Q8_C) {
    KITE_RETURN_IF_ERROR(
        CheckBufferSize(kName, a.scales, static_cast<uint64_t>(a.row_count) * 4, "scales"));
  } else if (row_groups) {
    KITE_RETURN_IF_ERROR(CheckBufferSize(kName, a.scales, cells * 2 * (a.mins ? 2 : 1), "scales"));
  }
  KITE_RETURN_IF_ERROR(
      CheckRows(kName, a.out, a.out_at, a.max_pos, a.max_tokens, a.cols, 4, "out"));
  const Buffer* buffers[] = {a.tokens, a.out, a.table, a.scales};
  // Half indices fit in 32 bits: buffers are within maxStorageBufferRange (< 4 GiB).
  const Push push = {a.cols, a.row_begin, a.row_count, groups, group,
                     row_groups && a.mins ? static_cast<uint32_t>(cells) : 0u, a.out_at,
                     codebook ? PackCodebook(a.codebook) : CodebookWords{}};
  return pipeline_.Prepare(pool, buffers, &push, (a.cols + workgroup_size_ - 1) / workgroup_size_,
                           a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
