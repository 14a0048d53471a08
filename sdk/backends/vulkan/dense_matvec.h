// The matvecs on dense weights on the GPU, per token of a call:
// - F32 (shaders/f32_matvec.comp): y = W x for f32 row-major W [rows][cols], the contract
//   of f32_matvec_ref (sdk/kernels/f32-matvec/); f32 models and any F32 matrix.
// - F16 (shaders/f16_matvec.comp): the same for W stored as f16 (an f32 model's matrices
//   converted at upload where the device reads f16 from storage buffers: the CPU's
//   products of the f16-rounded weights, in f32).
// - Q8_C (shaders/q8c_matvec.comp): y = (W x) * scale[r] for int8 row-major W [rows][cols]
//   and an f32 scale per row (TensorView in sdk/runtime/loader/model.h), the contract of
//   q8c_matvec_ref (sdk/kernels/q8c-matvec/); the classifier head of 4-bit models.
// The products are the CPU's; their sum is added in another order (agreement to float
// rounding of the sum of the terms' magnitudes, as the kernels' SIMD variants state).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/loader.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"
#include "sdk/format/format.h"

namespace kite::vulkan {

/// Shape and buffers of y = W x for the tokens of a call: token t reads `cols` floats at
/// x_at and writes `rows` floats at y_at (RowAddress, rows.h). Buffers are borrowed; y must
/// differ from x.
struct DenseMatvecArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t rows = 0;        ///< output rows, >= 1
  uint32_t cols = 0;        ///< input width, >= 1 (Q8_C: rows need not start on a word)
  RowAddress x_at;          ///< the input rows
  RowAddress y_at;          ///< the output rows (stride >= rows for several tokens)
  const Buffer* w = nullptr;       ///< rows * cols f32, f16 or int8, row-major, from offset 0
  const Buffer* scales = nullptr;  ///< Q8_C: rows f32; F32: unused
  const Buffer* x = nullptr;       ///< f32, addressed by x_at
  const Buffer* y = nullptr;       ///< f32 written, addressed by y_at
};

/// The compiled shader for one weight dtype and workgroup size. Move-only; the Device must
/// outlive it, and it must outlive its Dispatches. Thread-compatible (see Pipeline).
class DenseMatvec {
 public:
  /// `dtype`: F32, F16 or Q8_C (row-major); others are kUnsupported, and F16 on a device
  /// without DeviceFacts::storage_buffer_16bit too. `workgroup_size`: a power
  /// of two in [1, device.max_workgroup_size()], or 0 for the device's largest. A
  /// workgroup computes whole rows (its invocations split the row).
  static Result<DenseMatvec> Create(const Device& device, DType dtype, uint32_t workgroup_size);

  /// Checks the shape against the buffers (kInvalidArgument naming the shader and buffer)
  /// and prepares the dispatch with a descriptor set from `pool`.
  Result<Dispatch> Prepare(DescriptorPool& pool, const DenseMatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  DenseMatvec(Pipeline&& pipeline, DType dtype, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), dtype_(dtype), workgroup_size_(wg) {}

  Pipeline pipeline_;
  DType dtype_;
  uint32_t workgroup_size_;
};

/// DenseMatvec for one dtype fixed at compile time, created as the other ops are
/// (`Create(device, workgroup_size)`). Same ownership and thread safety.
template <DType kDType>
class DenseMatvecOf : public DenseMatvec {
 public:
  static Result<DenseMatvecOf> Create(const Device& device, uint32_t workgroup_size) {
    KITE_ASSIGN_OR_RETURN(DenseMatvec op, DenseMatvec::Create(device, kDType, workgroup_size));
    return DenseMatvecOf(static_cast<DenseMatvec&&>(op));
  }

 private:
  explicit DenseMatvecOf(DenseMatvec&& op) : DenseMatvec(static_cast<DenseMatvec&&>(op)) {}
};

/// The matvec on F32 weights (f32_matvec.comp); its args leave `scales` null.
using F32Matvec = DenseMatvecOf<DType::F32>;
using F32MatvecArgs = DenseMatvecArgs;
/// The matvec on Q8_C weights (q8c_matvec.comp).
using Q8CMatvec = DenseMatvecOf<DType::Q8_C>;
using Q8CMatvecArgs = DenseMatvecArgs;

}  // namespace kite::vulkan
