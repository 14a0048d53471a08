#include "sdk/backends/vulkan/dense_matvec.h"

#include <utility>

#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/shaders.h"

namespace kite::vulkan {

namespace {

// Bytes per weight of the dense dtypes.
uint64_t DTypeBytes(DType dtype) {
  return dtype == DType::Q8_C ? 1 : dtype == DType::F16 ? 2 : 4;
}

// The shaders' push fields after the n_tokens/pos header (dense_matvec.glsl, q8c_matvec.comp).
struct Push {
  uint32_t rows;
  uint32_t cols;
  uint32_t rows_per_group;
  RowAddress x;
  RowAddress y;
};

}  // namespace

Result<DenseMatvec> DenseMatvec::Create(const Device& device, DType dtype,
                                        uint32_t workgroup_size) {
  KITE_CHECK_OR_RETURN(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::Q8_C,
                       Error::kUnsupported,
                       "dense matvec: no shader for %s weights (f32, f16, q8_c)", DTypeName(dtype));
  const bool q8 = dtype == DType::Q8_C;
  const bool f16 = dtype == DType::F16;
  const char* name = q8 ? "q8c_matvec" : f16 ? "f16_matvec" : "f32_matvec";
  KITE_CHECK_OR_RETURN(!f16 || device.facts().storage_buffer_16bit, Error::kUnsupported,
                       "f16_matvec: device '%s' lacks storageBuffer16BitAccess",
                       device.properties().deviceName);
  KITE_ASSIGN_OR_RETURN(const uint32_t wg, ChooseWorkgroupSize(device, workgroup_size, 1, name));
  const uint32_t spec[] = {wg};
  const ShaderCode code = q8 ? Q8CMatvecShader() : f16 ? F16MatvecShader() : F32MatvecShader();
  KITE_ASSIGN_OR_RETURN(Pipeline pipeline,
                        CreateOpPipeline(device, name, code, q8 ? 4 : 3, sizeof(Push), spec, 1));
  return DenseMatvec(std::move(pipeline), dtype, wg);
}

Result<Dispatch> DenseMatvec::Prepare(DescriptorPool& pool, const DenseMatvecArgs& a) const {
  const char* name = pipeline_.name();
  KITE_CHECK_OR_RETURN(a.max_tokens >= 1 && a.rows >= 1 && a.cols >= 1, Error::kInvalidArgument,
                       "%s: bad shape max_tokens=%u rows=%u cols=%u", name, a.max_tokens,
                       a.rows, a.cols);
  KITE_CHECK_OR_RETURN(a.y != a.x, Error::kInvalidArgument,
                       "%s: 'y' must be another buffer than 'x'", name);
  const bool q8 = dtype_ == DType::Q8_C;
  KITE_RETURN_IF_ERROR(
      CheckBufferSize(name, a.w, static_cast<uint64_t>(a.rows) * a.cols * DTypeBytes(dtype_), "w"));
  if (q8) {
    KITE_RETURN_IF_ERROR(
        CheckBufferSize(name, a.scales, static_cast<uint64_t>(a.rows) * 4, "scales"));
  }
  KITE_RETURN_IF_ERROR(CheckRows(name, a.x, a.x_at, a.max_pos, a.max_tokens, a.cols, 4, "x"));
  KITE_RETURN_IF_ERROR(CheckRows(name, a.y, a.y_at, a.max_pos, a.max_tokens, a.rows, 4, "y"));
  const uint32_t per_group = RowsPerWorkgroup(a.rows);
  // Binding order of the shaders: w, [scales,] x, y.
  const Buffer* f32_buffers[] = {a.w, a.x, a.y};
  const Buffer* q8_buffers[] = {a.w, a.scales, a.x, a.y};
  const Push push = {a.rows, a.cols, per_group, a.x_at, a.y_at};
  return pipeline_.Prepare(pool, q8 ? q8_buffers : f32_buffers, &push,
                           (a.rows + per_group - 1) / per_group, a.max_tokens, a.max_pos);
}

}  // namespace kite::vulkan
