// The .kite weight format in one place: the enums of sdk/schema/kite.fbs as C++ uses them,
// the file's alignments, and the table of encodings (a dtype stored in a layout) with the
// byte sizes of their extents. The loader, the forward pass, the converter's writer and
// distillation, kite-inspect and the benchmarks all size tensors from here.
//
// Adding a layout: append it to the Layout enum of kite.fbs, add one row to the table in
// format.cc (and its block constants to blocks.h), then write its kernels.
// docs/file-format.md has the table in prose. Firmware-clean; everything here is pure and
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/format/blocks.h"
#include "sdk/schema/kite_generated.h"

namespace kite {

/// The schema's enums, defined once in sdk/schema/kite.fbs (flatc --scoped-enums), so
/// enumerators read as in the schema: DType::Q4_G, Layout::Q4_R16_G32_SYM, ...
using DType = schema::DType;
using Layout = schema::Layout;
using ChatFormat = schema::ChatFormat;
using TokenizerType = schema::TokenizerType;
using PreTokenizerType = schema::PreTokenizer;
using SplitBehavior = schema::SplitBehavior;
using TokenType = schema::TokenType;
using NormalizerType = schema::Normalizer;
using NormalizerStepKind = schema::NormalizerStepKind;
using AddedTokenFlag = schema::AddedTokenFlag;
/// One byte-level BPE merge as the file stores it (kite.fbs struct BpeMerge: four
/// little-endian uint32, read through left(), right(), rank(), result()). The runtime
/// tokenizer reads the file's array in place; the converter builds and writes the same type.
using BpeMerge = schema::BpeMerge;

/// Current file format version (major * 1000 + minor). Files of another major are refused.
inline constexpr uint32_t kFormatVersion = 1000;
/// First segment alignment (so weights can be mapped zero-copy on 16 KiB-page systems).
inline constexpr uint64_t kDataAlignment = 16384;
/// Alignment of every segment and tensor inside the file.
inline constexpr uint64_t kTensorAlignment = 64;
/// Magic of the metadata checksum record that follows the size-prefixed FlatBuffer.
inline constexpr char kChecksumMagic[4] = {'K', 'C', 'R', 'C'};

/// Group sizes the Q4_ROW_GROUPS layout accepts: even, in [2, kMaxGroupSize].
inline constexpr uint32_t kMaxGroupSize = 4096;
/// Encoding::group_size value of a layout whose tensors choose their group (any even
/// size in [2, kMaxGroupSize]).
inline constexpr uint32_t kAnyEvenGroup = 0xffffffffu;

/// One encoding: a dtype stored in a layout, and the shape of its bytes. A tensor's data
/// extent is ceil(rows / block_rows) * ceil(cols / block_cols) * block_bytes bytes; its
/// scales extent (when scale_bytes != 0) holds one scale_bytes entry per row, or per row
/// and group when scales_per_group. A vector of n elements is stored as 1 x n.
struct Encoding {
  DType dtype;
  Layout layout;
  /// The group_size the tensor must record: 0 (not grouped; ignored), a fixed size, or
  /// kAnyEvenGroup.
  uint32_t group_size;
  uint32_t block_rows;   ///< rows per block, >= 1 (rows are padded to a multiple)
  uint32_t block_cols;   ///< columns per block; 0: the tensor's group_size
  uint32_t block_bytes;  ///< bytes per block; 0: block_cols / 2 (packed nibbles)
  uint32_t scale_bytes;  ///< bytes per entry of the scales extent; 0: there is none
  bool scales_per_group; ///< scales: one entry per row and group (else one per row)
  bool mins;             ///< may carry a mins extent shaped like the scales
  /// Entries of the tensor's int8 codebook (Tensor.codebook), required exactly when
  /// nonzero (kQ4CodebookEntries for Q4_R16_G32_CB); 0: the tensor has none.
  uint32_t codebook_entries = 0;
};

/// The entry for `dtype` stored in `layout`, or null when the format has no such pair.
const Encoding* FindEncoding(DType dtype, Layout layout);

/// Every encoding of the format, `*count` entries, in table order.
const Encoding* Encodings(size_t* count);

/// True when a tensor of encoding `e` may record `group_size` (see Encoding::group_size).
bool GroupSizeValid(const Encoding& e, uint32_t group_size);

/// Columns per block of `e` for a tensor with `group_size` (Encoding::block_cols, or the
/// group size). Requires GroupSizeValid.
uint32_t BlockCols(const Encoding& e, uint32_t group_size);

/// Bytes of one row of blocks (block_rows rows, every column) of a tensor with `cols`
/// columns: the stride between consecutive block rows of its data extent. Requires
/// GroupSizeValid.
uint64_t RowBlockBytes(const Encoding& e, uint64_t cols, uint32_t group_size);

/// Bytes of the data extent of a rows x cols tensor. Requires GroupSizeValid. No overflow
/// below 2^32 rows and columns.
uint64_t PackedBytes(const Encoding& e, uint64_t rows, uint64_t cols, uint32_t group_size);

/// PackedBytes for `dtype` in `layout`; 0 when the pair is not an encoding of the format
/// or `group_size` is not valid for it.
uint64_t PackedBytes(DType dtype, Layout layout, uint64_t rows, uint64_t cols,
                     uint32_t group_size);

/// Bytes of the scales extent (and of the mins extent, when present) of a rows x cols
/// tensor; 0 when the encoding has none. Requires GroupSizeValid.
uint64_t ScalesBytes(const Encoding& e, uint64_t rows, uint64_t cols, uint32_t group_size);

/// Lower-case dtype name as the converter and the loader print it: "f32", "f16", "q8_c",
/// "q4_g", "q4_g_sp24"; "unknown" for other values. Static string.
const char* DTypeName(DType dtype);

/// Lower-case layout name: "row_major", "q4_row_groups", "q4_r16_g32", "q4_sp24_r16_g64",
/// "q4_r16_g32_sym"; "unknown" for other values. Static string.
const char* LayoutName(Layout layout);

/// Lower-case chat format name, as kite-convert --chat-format spells it: "none", "llama2",
/// "llama3", "chatml", "phi3", "gemma" ("none" for unknown values). Static string.
const char* ChatFormatName(ChatFormat format);

}  // namespace kite
