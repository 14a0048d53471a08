// The decode matvec on the GPU, and its tiled GEMM variant for prefill (several tokens per
// workgroup): Q4_R16_G32 (or Q4_R16_G32_SYM) weights, as the converter stores them, times
// int8 activations from q8_quantize (group 32). Same contract and
// arithmetic as qd8_q4r16_gemm_ref (sdk/kernels/qd8-q4r16-gemm/): integer dot products are
// exact; the f32 sums across groups are added in another order (agreement to float
// rounding of the terms' magnitudes).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of the product y = x W^T for the tokens t < n_tokens of a call
/// starting at position pos. Output row r of token t goes to float index
///   y.offset + pos * y.pos_stride + t * y.stride + r   (RowAddress, rows.h),
/// so a product can write into a KV cache (y.pos_stride = y.stride = the cache's row) or a
/// part of a wider output (y.offset: the first row of a split matrix). Buffers are borrowed.
struct Q4R16MatvecArgs {
  uint32_t max_tokens = 1;    ///< most tokens a call may have (activation rows), >= 1
  uint32_t max_pos = 0;       ///< largest starting position a call may have
  uint32_t rows = 0;          ///< output rows, >= 1
  uint32_t groups = 0;        ///< input width / 32 (padded), >= 1
  RowAddress y_at;            ///< the output rows; y_at.stride >= rows
  const Buffer* w = nullptr;       ///< ceil(rows/16) * groups blocks, from offset 0
  const Buffer* xq = nullptr;      ///< max_tokens * groups * 32 int8
  const Buffer* xscale = nullptr;  ///< max_tokens * groups f32
  const Buffer* xsum = nullptr;    ///< max_tokens * groups int32
  const Buffer* y = nullptr;       ///< f32 outputs, addressed as above
};

/// Most tokens a Q4R16Matvec workgroup may take (the shader's kMaxTile).
inline constexpr uint32_t kQ4R16MaxTileTokens = 8;

/// The compiled shader for one layout, workgroup size and token tile. Move-only; the Device must
/// outlive it, and it must outlive its Dispatches. Thread-compatible (see Pipeline).
class Q4R16Matvec {
 public:
  /// `symmetric`: Q4_R16_G32_SYM blocks (288 bytes, o = -8 d), else Q4_R16_G32 (320 bytes).
  /// `workgroup_size`: invocations per workgroup, a power of two in [16,
  /// device.max_workgroup_size()], or 0 for device.max_workgroup_size().
  /// `tile_tokens`: tokens per workgroup, in [1, kQ4R16MaxTileTokens]. 1 is the decode
  /// matvec; more is the tiled GEMM for prefill (calls of several tokens), which reads each
  /// weight word once per tile and uses workgroup_size * tile_tokens floats of shared
  /// memory (8 KiB at 256 x 8). Every tile size adds in the same order: the outputs are
  /// identical. Errors: a tile size out of range (kInvalidArgument).
  static Result<Q4R16Matvec> Create(const Device& device, bool symmetric,
                                    uint32_t workgroup_size, uint32_t tile_tokens = 1);

  /// Checks the shape against the buffers' sizes and the device's dispatch limits
  /// (kInvalidArgument / kUnsupported naming the buffer or limit) and prepares the
  /// dispatch (a descriptor set from `pool`).
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q4R16MatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }
  uint32_t tile_tokens() const { return tile_tokens_; }

 private:
  Q4R16Matvec(Pipeline&& pipeline, bool symmetric, uint32_t wg, uint32_t tile)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), symmetric_(symmetric), workgroup_size_(wg),
        tile_tokens_(tile) {}

  Pipeline pipeline_;
  bool symmetric_;
  uint32_t workgroup_size_;
  uint32_t tile_tokens_;
};

}  // namespace kite::vulkan
