// What the ops share: the pipeline of one shader built by the conventions of pipeline.h, the
// specialization constants of shaders that read Q4_R16 blocks, and the arguments and shape
// checks of the 4-bit and 3-bit matvecs (Q4R16Matvec, Q4Sp24Matvec, Q4gMatvec, Q3R16Matvec).
#pragma once

#include <cstdint>

#include "sdk/backends/vulkan/buffer.h"
#include "sdk/backends/vulkan/device.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/backends/vulkan/shaders.h"
#include "sdk/base/status.h"

namespace kite::vulkan {

/// Builds the pipeline of shader `name` (static storage) from `code`: `bindings` storage
/// buffers, the n_tokens/pos push header followed by `op_push_bytes` of the op's fields,
/// and specialization constants spec[0..spec_count) (spec[0]: the workgroup size).
/// Errors as Pipeline::Create.
Result<Pipeline> CreateOpPipeline(const Device& device, const char* name, ShaderCode code,
                                  uint32_t bindings, uint32_t op_push_bytes,
                                  const uint32_t* spec, uint32_t spec_count);

/// Specialization constants 0..4 of a shader reading Q4_R16_G32 (or, `symmetric`,
/// Q4_R16_G32_SYM) blocks: the workgroup size, then the block geometry from the format
/// (sdk/format/blocks.h) in 32-bit words (words per block, word offsets of the scales and
/// of the offsets), then 1 when symmetric. Pure.
struct Q4R16Spec {
  uint32_t values[5];
};
Q4R16Spec MakeQ4R16Spec(uint32_t workgroup_size, bool symmetric);

/// The push words of a Q4_R16_G32_CB tensor's int8 codebook (kQ4CodebookEntries entries):
/// entry u in byte u % 4 of word u / 4, the layout shaders/codebook.glsl reads. Pure.
struct CodebookWords {
  uint32_t words[4];
};
CodebookWords PackCodebook(const int8_t* entries);

/// Specialization constants 0..4 of a shader reading Q3_R16_G32 or Q3_R16_G64 blocks
/// (shaders/q3r16_matvec.comp, embedding_q3r16.comp): the workgroup size, then the block
/// geometry from the format (sdk/format/blocks.h) in 32-bit words (words per 32-column code
/// part, word offset of a part's high-bit plane, words of the scales after the parts), then
/// the zero code kQ3Zero. A block is its layout's parts (1 or 2), then the scales. Pure.
struct Q3R16Spec {
  uint32_t values[5];
};
Q3R16Spec MakeQ3R16Spec(uint32_t workgroup_size);

/// Most tokens a workgroup of a tiled 4-bit product (Q4R16Matvec, Q4Sp24Matvec, Q4gMatvec
/// with tile_tokens > 1: the GEMM for prefill) may take: the shaders' kMaxTile.
inline constexpr uint32_t kQ4MaxTileTokens = 8;

/// kInvalidArgument "NAME: tile of T tokens is not in [1, 8]" unless `tile_tokens` is in
/// [1, kQ4MaxTileTokens]. Pure.
Status CheckTileTokens(const char* name, uint32_t tile_tokens);

/// Shape and buffers of a 4-bit matvec y = x W^T for the tokens t < n_tokens of a call
/// starting at position pos. Output row r of token t goes to float index
///   y_at.offset + pos * y_at.pos_stride + t * y_at.stride + r   (RowAddress, rows.h),
/// so a product can write into a KV cache (y_at.pos_stride = y_at.stride = the cache's row)
/// or a part of a wider output (y_at.offset: the first row of a split matrix). The
/// activations come from q8_quantize with the matvec's activation group A: 32 for the
/// Q4_R16 and Q4_SP24_R16_G64 layouts, `group` for Q4_ROW_GROUPS. Buffers are borrowed; each
/// op reads the ones its layout has (below).
struct Q4MatvecArgs {
  uint32_t max_tokens = 1;  ///< most tokens a call may have (activation rows), >= 1
  uint32_t max_pos = 0;     ///< largest starting position a call may have
  uint32_t rows = 0;        ///< output rows, >= 1
  uint32_t groups = 0;      ///< activation groups per row: ceil(input width / A), >= 1
  uint32_t group = 32;      ///< Q4_ROW_GROUPS: columns per group (a multiple of 8, <= 4096)
  bool mins = false;        ///< Q4_ROW_GROUPS: `params` holds mins after the scales
  RowAddress y_at;          ///< the output rows; y_at.stride >= rows
  const Buffer* w = nullptr;  ///< the layout's data bytes for `rows` rows, from offset 0
  /// Q4_ROW_GROUPS: rows * groups f16 scales (row-major), then, with `mins`, rows * groups
  /// f16 mins (from byte 2 * rows * groups, which need not be a multiple of 4).
  const Buffer* params = nullptr;
  const Buffer* xq = nullptr;      ///< max_tokens * groups * A int8
  const Buffer* xscale = nullptr;  ///< max_tokens * groups f32
  const Buffer* xsum = nullptr;    ///< Q4_R16: max_tokens * groups int32
  const Buffer* y = nullptr;       ///< f32 outputs, addressed as above
  /// Q4_R16_G32_CB: the tensor's kQ4CodebookEntries int8 entries (host memory, read at
  /// Prepare into the dispatch's push constants; not kept). Ignored by the other layouts.
  const int8_t* codebook = nullptr;
  /// Q3_R16: activation groups (of 32) one scale covers: 1 (Q3_R16_G32) or 2 (Q3_R16_G64,
  /// whose column blocks hold two groups; `groups` may be odd). Ignored by the other layouts.
  uint32_t groups_per_scale = 1;
};

/// The checks every 4-bit matvec's Prepare makes, for op `name` with activation group
/// `act_group`: the shape (kInvalidArgument "NAME: bad shape ..."), then xq, xscale and y
/// against their buffers (CheckBufferSize, CheckRows). Pure.
Status CheckQ4Matvec(const char* name, const Q4MatvecArgs& args, uint32_t act_group);

}  // namespace kite::vulkan
