// Block geometry of the packed 4-bit (and 3-bit) layouts (sdk/schema/kite.fbs has the byte-exact text,
// docs/file-format.md the table). The format table (sdk/format/format.cc), the kernels that
// read the blocks and the packers that write them all take their numbers from here.
// Constants only: safe to include from any layer at or above sdk/format.
#pragma once

#include <cstddef>

namespace kite {

// Q4_R16_G32 and Q4_R16_G32_SYM (dtype Q4_G, group_size 32): blocks of 16 rows x 32 columns.

/// Rows per block (a matrix's rows are padded to a multiple of it).
inline constexpr size_t kQ4R16BlockRows = 16;
/// Columns per block = the quantization group (activations use the same group).
inline constexpr size_t kQ4R16GroupSize = 32;
/// Bytes of nibbles at the start of every block (16 rows x 32 columns x 4 bits).
inline constexpr size_t kQ4R16NibbleBytes = 256;
/// Byte offset of the 16 f16 scales d[r] inside a block.
inline constexpr size_t kQ4R16ScalesOffset = 256;
/// Byte offset of the 16 f16 offsets o[r] inside a Q4_R16_G32 block.
inline constexpr size_t kQ4R16OffsetsOffset = 288;
/// Bytes per Q4_R16_G32 block: nibbles, 16 f16 scales, 16 f16 offsets (w = d * u + o).
inline constexpr size_t kQ4R16BlockBytes = 320;
/// Bytes per Q4_R16_G32_SYM block: nibbles and 16 f16 scales, no offsets (w = d * (u - 8)).
inline constexpr size_t kQ4R16SymBlockBytes = 288;
/// Entries of the per-tensor int8 codebook of Q4_R16_G32_CB (one per 4-bit code); its
/// blocks are Q4_R16_G32_SYM's (kQ4R16SymBlockBytes), w = d * codebook[u].
inline constexpr size_t kQ4CodebookEntries = 16;
/// Codebook entries lie in [-kQ4CodebookMax, kQ4CodebookMax] (-128 is excluded so that
/// |entry * activation| pairs fit the int16 sums of AVX2's vpmaddubsw).
inline constexpr int kQ4CodebookMax = 127;

// Q3_R16_G32 (dtype Q4_G, group_size 32, symmetric 3-bit codes): the block geometry of
// Q4_R16_G32 (kQ4R16BlockRows x kQ4R16GroupSize), 2-bit plane, 1-bit plane, f16 scales.

/// Bytes of the low-2-bit plane at the start of every Q3_R16_G32 block (16 x 32 x 2 bits).
inline constexpr size_t kQ3R16LowBitsBytes = 128;
/// Byte offset of the high-bit plane (16 x 32 x 1 bit) inside a Q3_R16_G32 block.
inline constexpr size_t kQ3R16HighBitsOffset = 128;
/// Byte offset of the 16 f16 scales d[r] inside a Q3_R16_G32 block.
inline constexpr size_t kQ3R16ScalesOffset = 192;
/// Bytes per Q3_R16_G32 block: the two planes and 16 f16 scales (w = d * (u - kQ3Zero)).
inline constexpr size_t kQ3R16BlockBytes = 224;
/// Largest 3-bit code; the code kQ3Zero stands for weight 0 (padding stores it).
inline constexpr unsigned kQ3MaxCode = 7;
inline constexpr int kQ3Zero = 4;
/// Bytes of the codes of 16 rows x 32 columns (the low-bit plane, then the high-bit plane):
/// the first kQ3R16CodeBytes of a Q3_R16_G32 block, and each half of a Q3_R16_G64 block's
/// codes.
inline constexpr size_t kQ3R16CodeBytes = 192;

// Q3_R16_G64 (dtype Q4_G, group_size 64, symmetric 3-bit codes): blocks of 16 rows x 64
// columns, each two 32-column code parts laid out as in Q3_R16_G32 (columns 0..31, then
// 32..63), then 16 f16 scales shared by both (activations stay in groups of 32).

/// Columns per Q3_R16_G64 block = the columns one scale covers (the tensor's group_size).
inline constexpr size_t kQ3R16G64BlockCols = 64;
/// Byte offset of the 16 f16 scales d[r] inside a Q3_R16_G64 block.
inline constexpr size_t kQ3R16G64ScalesOffset = 384;
/// Bytes per Q3_R16_G64 block: two code parts and 16 f16 scales (3.25 bits per weight).
inline constexpr size_t kQ3R16G64BlockBytes = 416;

/// Bytes per block of the 3-bit layout whose scales cover `parts` 32-column code parts
/// (1: Q3_R16_G32, 2: Q3_R16_G64); the scales start at parts * kQ3R16CodeBytes.
constexpr size_t Q3R16BlockBytes(size_t parts) {
  return parts * kQ3R16CodeBytes + 2 * kQ4R16BlockRows;
}

// Q4_SP24_R16_G64 (dtype Q4_G_SP24, group_size 64): 2:4 sparse blocks of 16 rows x 64
// columns, each two 32-column sub-blocks followed by the scales.

/// Rows per block (a matrix's rows are padded to a multiple of it).
inline constexpr size_t kQ4SP24BlockRows = 16;
/// Columns per block: one f16 scale per row covers them (the tensor's group_size).
inline constexpr size_t kQ4SP24BlockCols = 64;
/// Columns per sub-block = the activation quantization group of this layout.
inline constexpr size_t kQ4SP24GroupSize = 32;
/// Kept (stored) values per row and sub-block: 2 of every 4 columns.
inline constexpr size_t kQ4SP24Kept = 16;
/// Bytes per 16 x 32 sub-block: 128 bytes of nibbles, then 64 bytes of positions.
inline constexpr size_t kQ4SP24SubBlockBytes = 192;
/// Byte offset of the positions inside a sub-block.
inline constexpr size_t kQ4SP24PositionsOffset = 128;
/// Bytes per 16 x 64 block: two sub-blocks, then 16 f16 scales at kQ4SP24ScalesOffset.
inline constexpr size_t kQ4SP24BlockBytes = 416;
inline constexpr size_t kQ4SP24ScalesOffset = 384;

static_assert(kQ4R16ScalesOffset == kQ4R16NibbleBytes &&
                  kQ4R16OffsetsOffset == kQ4R16ScalesOffset + 2 * kQ4R16BlockRows &&
                  kQ4R16BlockBytes == kQ4R16OffsetsOffset + 2 * kQ4R16BlockRows &&
                  kQ4R16SymBlockBytes == kQ4R16ScalesOffset + 2 * kQ4R16BlockRows,
              "Q4_R16_G32 blocks: nibbles, then f16 scales, then (asymmetric only) f16 offsets");
static_assert(kQ3R16HighBitsOffset == kQ3R16LowBitsBytes &&
                  kQ3R16ScalesOffset == kQ3R16HighBitsOffset + kQ4R16BlockRows * kQ4R16GroupSize / 8 &&
                  kQ3R16BlockBytes == kQ3R16ScalesOffset + 2 * kQ4R16BlockRows &&
                  kQ3R16LowBitsBytes == kQ4R16BlockRows * kQ4R16GroupSize / 4,
              "Q3_R16_G32 blocks: 2-bit plane, 1-bit plane, then f16 scales");
static_assert(kQ3R16CodeBytes == kQ3R16ScalesOffset && Q3R16BlockBytes(1) == kQ3R16BlockBytes &&
                  kQ3R16G64ScalesOffset == 2 * kQ3R16CodeBytes &&
                  Q3R16BlockBytes(2) == kQ3R16G64BlockBytes &&
                  kQ3R16G64BlockCols == 2 * kQ4R16GroupSize,
              "Q3_R16_G64 blocks: two Q3_R16_G32 code parts, then f16 scales");
static_assert(kQ4SP24SubBlockBytes == kQ4SP24PositionsOffset + kQ4SP24BlockRows * 4 &&
                  kQ4SP24ScalesOffset == 2 * kQ4SP24SubBlockBytes &&
                  kQ4SP24BlockBytes == kQ4SP24ScalesOffset + 2 * kQ4SP24BlockRows,
              "Q4_SP24_R16_G64 blocks: two sub-blocks, then f16 scales");

}  // namespace kite
