// Embedding lookup on the GPU: each token's row of the table, dequantized to f32, the
// contract of Transformer::EmbeddingRow (sdk/runtime/transformer.cc) for F32, Q8_C
// (q8_row_dequant_ref), Q4_R16_G32 (q4r16_row_dequant_ref), Q4_R16_G32_SYM
// (DequantizeQ4R16SymRow), Q4_R16_G32_CB (DequantizeQ4R16CbRow), Q4_ROW_GROUPS
// (q4_row_dequant_ref), Q4_SP24_R16_G64 (DequantizeQ4SP24Row), Q3_R16_G32 and Q3_R16_G64
// (DequantizeQ3R16Row) tables, bit for bit (no fused
// multiply-add). A table may be split by rows into parts (one Buffer each, e.g. to stay
// within maxStorageBufferRange): one dispatch per part writes the tokens whose rows it holds
// and skips the others.
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

/// Shape and buffers of the lookup of a call's tokens in one part of a table: token t's id
/// is tokens[t]; when row_begin <= id < row_begin + row_count its row (`cols` floats) is
/// written at out_at (RowAddress, rows.h), else nothing is written for it. Buffers are
/// borrowed.
struct EmbeddingArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have, >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t cols = 0;        ///< floats per row (the table's columns), >= 1
  /// The part's first table row (the 16-row block layouts Q4_R16_*, Q3_R16_* and
  /// Q4_SP24_R16_G64:
  /// a multiple of 16).
  uint32_t row_begin = 0;
  uint32_t row_count = 0;   ///< the part's rows, >= 1
  uint32_t group = 0;       ///< Q4_ROW_GROUPS: the table's group size (even); else unused
  bool mins = false;        ///< Q4_ROW_GROUPS: the table has f16 mins (after the scales)
  RowAddress out_at;        ///< the output rows (stride >= cols for several tokens)
  const Buffer* tokens = nullptr;  ///< max_tokens uint32 token ids
  const Buffer* table = nullptr;   ///< the part's data extent, as the .kite file stores it
  /// Q8_C: the part's row_count f32 scales. Q4_ROW_GROUPS: the part's row_count x groups
  /// f16 scales (row-major), then as many f16 mins when `mins`. Else unused.
  const Buffer* scales = nullptr;
  const Buffer* out = nullptr;     ///< f32 written, addressed by out_at
  /// Q4_R16_G32_CB: the tensor's kQ4CodebookEntries int8 entries (host memory, read at
  /// Prepare into the dispatch's push constants; not kept). Else unused.
  const int8_t* codebook = nullptr;
};

/// The compiled shader for one table encoding and workgroup size. Move-only; the Device
/// must outlive it, and it must outlive its Dispatches. Thread-compatible (see Pipeline).
class Embedding {
 public:
  /// `dtype`/`layout`: F32 or Q8_C row-major, Q4_G in Q4_R16_G32, Q4_R16_G32_SYM,
  /// Q4_R16_G32_CB, Q4_ROW_GROUPS, Q3_R16_G32 or Q3_R16_G64, Q4_G_SP24 in Q4_SP24_R16_G64;
  /// others are kUnsupported naming them. `workgroup_size`: a power of two in [1,
  /// device.max_workgroup_size()], or 0 for the device's largest (an invocation per column).
  static Result<Embedding> Create(const Device& device, DType dtype, Layout layout,
                                  uint32_t workgroup_size);

  /// Checks the shape against the buffers (kInvalidArgument naming the buffer; a
  /// Q4_R16_G32_CB table without args.codebook) and prepares the dispatch with a
  /// descriptor set from `pool`.
  Result<Dispatch> Prepare(DescriptorPool& pool, const EmbeddingArgs& args) const;

  uint32_t workgroup_size() const { return workgroup_size_; }

 private:
  Embedding(Pipeline&& pipeline, DType dtype, Layout layout, uint32_t wg)
      : pipeline_(static_cast<Pipeline&&>(pipeline)), dtype_(dtype), layout_(layout),
        workgroup_size_(wg) {}

  Pipeline pipeline_;
  DType dtype_;
  Layout layout_;
  uint32_t workgroup_size_;
};

}  // namespace kite::vulkan
