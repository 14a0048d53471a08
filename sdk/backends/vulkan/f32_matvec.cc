#include "sdk/backends/vulkan/f32_matvec.h"

#include <utility>

#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

constexpr char kName[] = "f32_matvec";

// The shader's push fields after the n_tokens/pos header.
struct Push {
  uint32_t rows;
  uint32_t cols;
  uint32_t rows_per_group;
  RowAddress x;
  RowAddress y;
};

}  // namespace

Result<F32Matvec> F32Matvec::Create(const Device& device, uint32_t workgroup_size) {
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, kName));
  const uint32_t spec[] = {wg};
  const ShaderCode code = F32MatvecShader();
  PipelineDesc desc;
  desc.name = kName;
  desc.spirv = code.spirv;
  desc.spirv_words = code.words;
  desc.bindings = 3;
  desc.push_bytes = kPushHeaderWords * 4 + sizeof(Push);
  desc.spec = spec;
  desc.spec_count = 1;
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline, Pipeline::Create(device, desc));
  return F32Matvec(std::move(pipeline), wg);
}

Result<Dispatch> F32Matvec::Prepare(DescriptorPool& pool, const F32MatvecArgs& a) const {
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.rows >= 1 && a.cols >= 1, Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u rows=%u cols=%u", kName, a.max_tokens,
                       a.rows, a.cols);
  KITE_CHECK_OR_RETURN(a.y != a.x, Error::kInvalidArgument,
                       "%s: 'y' must be another buffer than 'x'", kName);
  KITE_RETURN_IF_ERROR(
      CheckBufferSize(kName, a.w, static_cast<uint64_t>(a.rows) * a.cols * 4, "w"));
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.x, a.x_at, a.max_pos, a.max_tokens, a.cols, 4, "x"));
  KITE_RETURN_IF_ERROR(CheckRows(kName, a.y, a.y_at, a.max_pos, a.max_tokens, a.rows, 4, "y"));
  const uint32_t per_group = RowsPerWorkgroup(a.rows);
  const Buffer* buffers[] = {a.w, a.x, a.y};
  const Push push = {a.rows, a.cols, per_group, a.x_at, a.y_at};
  return pipeline_.Prepare(pool, buffers, &push, (a.rows + per_group - 1) / per_group,
                           a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
