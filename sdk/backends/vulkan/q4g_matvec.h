// The matvec on 4-bit weights in the Q4_ROW_GROUPS layout (`kite-convert --quant q4
// --group-size 64|128`, and the groups `--bpw` mixes): per row, groups of G nibbles with an
// f16 scale and an optional f16 min per row and group, times int8 activations from
// q8_quantize with the same group. Same contract and arithmetic as q4_matvec_ref
// (sdk/kernels/q4-matvec/): integer dot products and code sums are exact; the f32 sums
// across groups are added in another order (agreement to float rounding of the terms'
// magnitudes). Several tokens per call run one workgroup row per token.
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Shape and buffers of the product y = x W^T for the tokens t < n_tokens of a call
/// starting at position pos. Output row r of token t goes to float index
///   y_at.offset + pos * y_at.pos_stride + t * y_at.stride + r   (RowAddress, rows.h).
/// Buffers are borrowed.
struct Q4gMatvecArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have (activation rows), >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t rows = 0;        ///< output rows, >= 1
  uint32_t groups = 0;      ///< groups per row: ceil(input width / group), >= 1
  uint32_t group = 0;       ///< G: columns per group, a multiple of 8 in [8, 4096]
  bool mins = false;        ///< params holds the mins after the scales
  RowAddress y_at;          ///< the output rows; y_at.stride >= rows
  const Buffer* w = nullptr;  ///< rows * groups * G / 2 bytes (the data extent's rows)
  /// rows * groups f16 scales (row-major), then, with `mins`, rows * groups f16 mins
  /// (starting at byte 2 * rows * groups, which need not be a multiple of 4).
  const Buffer* params = nullptr;
  const Buffer* xq = nullptr;      ///< max_tokens * groups * G int8 (q8_quantize, group G)
  const Buffer* xscale = nullptr;  ///< max_tokens * groups f32
  const Buffer* y = nullptr;       ///< f32 outputs, addressed as above
};

/// Most columns per group Q4gMatvec takes (the format's largest group).
inline constexpr uint32_t kQ4gMaxGroup = 4096;

/// The compiled shader (shaders/q4g_matvec.comp) for one workgroup size. Move-only; the
/// Device must outlive it, and it must outlive its Dispatches. Thread-compatible (see
/// Pipeline).
class Q4gMatvec {
 public:
  /// `workgroup_size`: invocations per workgroup, a power of two in [16,
  /// device.max_workgroup_size()], or 0 for device.max_workgroup_size(); else
  /// kInvalidArgument.
  static Result<Q4gMatvec> Create(const Device& device, uint32_t workgroup_size);

  /// Checks the shape against the buffers' sizes (kInvalidArgument naming the op and
  /// buffer; a group that is not a multiple of 8 in [8, kQ4gMaxGroup]: kInvalidArgument)
  /// and prepares the dispatch (a descriptor set from `pool`).
  Result<Dispatch> Prepare(DescriptorPool& pool, const Q4gMatvecArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Q4gMatvec(Pipeline&& pipeline, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), workgroup_size_(wg) {}

  Pipeline pipeline_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
