// The matvec on 4-bit weights in the Q4_ROW_GROUPS layout (`kite-convert --quant q4
// --group-size 64|128`, and the groups `--bpw` mixes): per row, groups of G nibbles with an
// f16 scale and an optional f16 min per row and group, times int8 activations from
// q8_quantize with the same group. Same contract and arithmetic as q4_matvec_ref
// (sdk/kernels/q4-matvec/): integer dot products and code sums are exact; the f32 sums
// across groups are added in another order (agreement to float rounding of the terms'
// magnitudes). With tile_tokens > 1 it is the tiled GEMM for prefill: a workgroup reads
// each weight word once for a tile of tokens.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Most columns per group Q4gMatvec takes (the format's largest group).
inline constexpr uint32_t kQ4gMaxGroup = 4096;

/// The compiled shader (shaders/q4g_matvec.comp) for one workgroup size and token tile.
/// Move-only; the Device must outlive it, and it must outlive its Dispatches.
/// Thread-compatible (see Pipeline).
class Q4gMatvec {
 public:
  /// `workgroup_size`: invocations per workgroup, a power of two in [16,
  /// device.max_workgroup_size()], or 0 for device.max_workgroup_size(); else
  /// kInvalidArgument. `tile_tokens`: tokens per workgroup, in [1, kQ4MaxTileTokens] (else
  /// kInvalidArgument). 1 is the decode matvec; more is the tiled GEMM for prefill (calls of
  /// several tokens), which reads each weight word once per tile and uses workgroup_size *
  /// tile_tokens floats of shared memory (8 KiB at 256 x 8). Every tile size adds in the
  /// same order: the outputs are identical.
  static Result<Q4gMatvec> Create(const Device& device, uint32_t workgroup_size,
                                  uint32_t tile_tokens = 1);

  /// Checks the shape against the buffers' sizes (kInvalidArgument naming the op and
  /// buffer; a group that is not a multiple of 8 in [8, kQ4gMaxGroup]: kInvalidArgument)
  /// and prepares the dispatch (a descriptor set from `pool`). Reads w (rows * groups *
  /// group / 2 bytes), params (scales, and mins with args.mins), xq and xscale (quantized
  /// with args.group); writes y.
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q4MatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }
  uint32_t tile_tokens() const { return tile_tokens_; }

 private:
  Q4gMatvec(Pipeline&& pipeline, uint32_t wg, uint32_t tile)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg), tile_tokens_(tile) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
  uint32_t tile_tokens_;
};

}  // namespace kite::vulkan
