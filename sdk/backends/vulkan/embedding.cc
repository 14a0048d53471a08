#include "sdk/backends/vulkan/embedding.h"

#include <utility>

#include "sdk/backends/vulkan/op.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "embedding";

// The shaders' push fields after the n_tokens/pos header (embedding.glsl).
struct Push {
  uint32_t cols;
  uint32_t row_begin;
  uint32_t row_count;
  uint32_t groups;
  RowAddress out;
};

bool IsQ4R16(DType dtype, Layout layout) {
  return dtype == DType::Q4_G && (layout == Layout::Q4_R16_G32 || layout == Layout::Q4_R16_G32_SYM);
}

}  // namespace

Result<Embedding> Embedding::Create(const Device& device, DType dtype, Layout layout,
                                    uint32_t workgroup_size) {
  const bool row_major = layout == Layout::ROW_MAJOR;
  KITE_CHECK_OR_RETURN((row_major && (dtype == DType::F32 || dtype == DType::Q8_C)) ||
                           IsQ4R16(dtype, layout),
                       Error::kUnsupported,
                       "%s: no shader for %s tables in layout %s (f32, q8_c, q4_g in "
                       "q4_r16_g32 or q4_r16_g32_sym)",
                       kName, DTypeName(dtype), LayoutName(layout));
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  // Q4_R16 shaders take the block geometry as specialization constants 1..4.
  const Q4R16Spec spec = MakeQ4R16Spec(wg, layout == Layout::Q4_R16_G32_SYM);
  const ShaderCode code = dtype == DType::F32    ? EmbeddingF32Shader()
                          : dtype == DType::Q8_C ? EmbeddingQ8CShader()
                                                 : EmbeddingQ4R16Shader();
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                        CreateOpPipeline(device, kName, code, dtype == DType::Q8_C ? 4 : 3,
                                         sizeof(Push), spec.values,
                                         IsQ4R16(dtype, layout) ? 5 : 1));
  return Embedding(std::move(pipeline), dtype, layout, wg);
}

Result<Dispatch> Embedding::Prepare(DescriptorPool& pool, const EmbeddingArgs& a) const {
  const bool q4 = IsQ4R16(dtype_, layout_);
  KITE_CHECK_OR_RETURN(
      a.max_tokens >= 1 && a.cols >= 1 && a.row_count >= 1 &&
          (!q4 || a.row_begin % kQ4R16BlockRows == 0),
      Error::kInvalidArgument,
      "%s: bad shape max_tokens=%u cols=%u row_begin=%u row_count=%u (%s: parts start on a "
      "%u-row block)",
      kName, a.max_tokens, a.cols, a.row_begin, a.row_count, LayoutName(layout_),
      static_cast<uint32_t>(q4 ? kQ4R16BlockRows : 1));
  const uint32_t group = q4 ? static_cast<uint32_t>(kQ4R16GroupSize) : 0;
  KITE_RETURN_IF_ERROR(
      CheckBufferSize(kName, a.tokens, static_cast<uint64_t>(a.max_tokens) * 4, "tokens"));
  KITE_RETURN_IF_ERROR(CheckBufferSize(
      kName, a.table, PackedBytes(dtype_, layout_, a.row_count, a.cols, group), "table"));
  if (dtype_ == DType::Q8_C) {
    KITE_RETURN_IF_ERROR(
        CheckBufferSize(kName, a.scales, static_cast<uint64_t>(a.row_count) * 4, "scales"));
  }
  KITE_RETURN_IF_ERROR(
      CheckRows(kName, a.out, a.out_at, a.max_pos, a.max_tokens, a.cols, 4, "out"));
  const Buffer* buffers[] = {a.tokens, a.out, a.table, a.scales};
  const uint32_t groups = (a.cols + kQ4R16GroupSize - 1) / kQ4R16GroupSize;
  const Push push = {a.cols, a.row_begin, a.row_count, groups, a.out_at};
  return pipeline_.Prepare(pool, buffers, &push, (a.cols + workgroup_size_ - 1) / workgroup_size_,
                           a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
