// The matvec on 2:4 sparse 4-bit weights (Q4_SP24_R16_G64, `kite-convert --sparse 2:4`), as
// the converter stores them, times int8 activations from q8_quantize (group 32). Same
// contract and arithmetic as qd8_q4sp24_gemm_ref (sdk/kernels/qd8-q4sp24-gemm/): integer
// dot products are exact; the f32 sums across groups are added in another order (agreement
// to float rounding of the terms' magnitudes). With tile_tokens > 1 it is the tiled GEMM for
// prefill: a workgroup reads each weight word once for a tile of tokens.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// The compiled shader (shaders/q4sp24_matvec.comp) for one workgroup size and token tile.
/// Move-only; the Device must outlive it, and it must outlive its Dispatches.
/// Thread-compatible (see Pipeline).
class Q4Sp24Matvec {
 public:
  /// `workgroup_size`: invocations per workgroup, a power of two in [16,
  /// device.max_workgroup_size()], or 0 for device.max_workgroup_size(); else
  /// kInvalidArgument. `tile_tokens`: tokens per workgroup, in [1, kQ4MaxTileTokens] (else
  /// kInvalidArgument). 1 is the decode matvec; more is the tiled GEMM for prefill (calls of
  /// several tokens), which reads each weight word once per tile and uses workgroup_size *
  /// tile_tokens floats of shared memory (8 KiB at 256 x 8). Every tile size adds in the
  /// same order: the outputs are identical.
  static Result<Q4Sp24Matvec> Create(const Device& device, uint32_t workgroup_size,
                                     uint32_t tile_tokens = 1);

  /// Checks the shape against the buffers' sizes (kInvalidArgument naming the op and
  /// buffer) and prepares the dispatch (a descriptor set from `pool`). Reads w (ceil(rows /
  /// 16) * ceil(groups / 2) blocks of 416 bytes), xq and xscale (group 32), writes y.
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q4MatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }
  uint32_t tile_tokens() const { return tile_tokens_; }

 private:
  Q4Sp24Matvec(Pipeline&& pipeline, uint32_t wg, uint32_t tile)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg), tile_tokens_(tile) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
  uint32_t tile_tokens_;
};

}  // namespace kite::vulkan
