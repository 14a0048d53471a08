// The decode matvec on the GPU: Q4_R16_G32 (or Q4_R16_G32_SYM) weights, as the converter
// stores them, times int8 activations from q8_quantize (group 32). Same contract and
// arithmetic as qd8_q4r16_gemm_ref (sdk/kernels/qd8-q4r16-gemm/): integer dot products are
// exact; the f32 sums across groups are added in another order (agreement to float
// rounding of the terms' magnitudes).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of one product y = x W^T for tokens t < m. Buffers are borrowed.
struct Q4R16MatvecArgs {
  uint32_t m = 1;         ///< tokens (activation rows), >= 1
  uint32_t rows = 0;      ///< output rows, >= 1
  uint32_t groups = 0;    ///< input width / 32 (padded), >= 1
  uint32_t y_stride = 0;  ///< floats between tokens' outputs, >= rows
  const Buffer* w = nullptr;       ///< ceil(rows/16) * groups blocks, from offset 0
  const Buffer* xq = nullptr;      ///< m * groups * 32 int8
  const Buffer* xscale = nullptr;  ///< m * groups f32
  const Buffer* xsum = nullptr;    ///< m * groups int32
  const Buffer* y = nullptr;       ///< (m - 1) * y_stride + rows f32 written
};

/// The compiled shader for one layout and workgroup size. Move-only; the Device must
/// outlive it. Not thread-safe.
class Q4R16Matvec {
 public:
  /// `symmetric`: Q4_R16_G32_SYM blocks (288 bytes, o = -8 d), else Q4_R16_G32 (320 bytes).
  /// `workgroup_size`: invocations per workgroup, a power of two in [16,
  /// device.max_workgroup_size()], or 0 for device.max_workgroup_size().
  static Result<Q4R16Matvec> Create(const Device& device, bool symmetric,
                                    uint32_t workgroup_size);

  /// Checks the shape against the buffers' sizes and the device's dispatch limits
  /// (kInvalidArgument / kUnsupported naming the buffer or limit), then binds the buffers
  /// and records the dispatch into `commands`. Binding updates this object's descriptor
  /// set: record it at most once per submission.
  Status Record(VkCommandBuffer commands, const Q4R16MatvecArgs& args);

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Q4R16Matvec(Pipeline&& pipeline, const Device& device, bool symmetric, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)),
        device_(&device),
        symmetric_(symmetric),
        workgroup_size_(wg) {}

  Pipeline pipeline_;
  const Device* device_;
  bool symmetric_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
