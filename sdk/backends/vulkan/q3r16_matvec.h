// The matvec on 3-bit weights (Q3_R16_G32, `kite-convert --q3` or `--bpw B --bpw-3bit`, and
// Q3_R16_G64, `--q3-g64`), as the converter stores them, times int8 activations from
// q8_quantize (group 32). One pipeline runs both layouts (Q4MatvecArgs::groups_per_scale). Same
// contract and arithmetic as qd8_q3r16_gemm_ref (sdk/kernels/qd8-q3r16-gemm/ref.cc): integer
// dot products are exact; the f32 sums across groups are added in another order (agreement
// to float rounding of the terms' magnitudes). With tile_tokens > 1 it is the tiled GEMM for
// prefill: a workgroup reads each weight word once for a tile of tokens.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/op.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/q4r16_matvec.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// The compiled shader (shaders/q3r16_matvec.comp) for one workgroup size and token tile.
/// Move-only; the Device must outlive it, and it must outlive its Dispatches.
/// Thread-compatible (see Pipeline).
class Q3R16Matvec {
 public:
  /// `workgroup_size`: invocations per workgroup, a power of two in [16,
  /// device.max_workgroup_size()], or 0 for device.max_workgroup_size(); else
  /// kInvalidArgument. `tile_tokens`: tokens per workgroup, in [1, kQ4MaxTileTokens] (else
  /// kInvalidArgument). 1 is the decode matvec; more is the tiled GEMM for prefill (calls of
  /// several tokens), which reads each weight word once per tile and uses workgroup_size *
  /// tile_tokens floats of shared memory (8 KiB at 256 x 8). Every tile size adds in the
  /// same order: the outputs are identical. `variant`: the plain shader
  /// (shaders/q3r16_matvec.comp) or its integer-dot variant (q3r16_matvec_dot.spvasm, each
  /// column quad's 4 codes times 4 int8 activations as one OpSDot), chosen as for
  /// Q4R16Matvec (UseIntegerDot); the outputs are identical bit for bit. kIntegerDot on a
  /// device without integer dot products is kUnsupported (UseIntegerDot's message).
  static Result<Q3R16Matvec> Create(const Device& device, uint32_t workgroup_size,
                                    uint32_t tile_tokens = 1,
                                    Q4R16MatvecVariant variant = Q4R16MatvecVariant::kAuto);

  /// Checks the shape against the buffers' sizes and the device's dispatch limits
  /// (kInvalidArgument / kUnsupported naming the op and the buffer or limit) and prepares
  /// the dispatch (a descriptor set from `pool`). Reads w (Q3_R16_G32 when
  /// args.groups_per_scale is 1: ceil(rows / 16) * groups blocks of 224 bytes; Q3_R16_G64
  /// when 2: ceil(rows / 16) * ceil(groups / 2) blocks of 416 bytes; else
  /// kInvalidArgument), xq, xscale and xsum (group 32), writes y.
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q4MatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }
  uint32_t tile_tokens() const { return tile_tokens_; }
  /// True when it runs the integer-dot shader.
  bool integer_dot() const { return integer_dot_; }

 private:
  Q3R16Matvec(Pipeline&& pipeline, uint32_t wg, uint32_t tile, bool integer_dot)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg), tile_tokens_(tile),
        integer_dot_(integer_dot) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
  uint32_t tile_tokens_;
  bool integer_dot_;
};

}  // namespace kite::vulkan
