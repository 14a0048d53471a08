#include "sdk/format/format.h"

namespace kite {
namespace {

// The encodings of the format: one row per (dtype, layout) pair a file may hold.
// kite.fbs describes each layout's bytes exactly; docs/file-format.md has this table.
constexpr Encoding kEncodings[] = {
    // dtype, layout, group_size, block rows x cols, block bytes, scale bytes,
    // scales per group, mins, codebook entries if any (the kernel family of each: docs/file-format.md)
    {DType::F32, Layout::ROW_MAJOR, 0, 1, 1, 4, 0, false, false},
    {DType::F16, Layout::ROW_MAJOR, 0, 1, 1, 2, 0, false, false},
    {DType::Q8_C, Layout::ROW_MAJOR, 0, 1, 1, 1, 4, false, false},
    {DType::Q4_G, Layout::Q4_ROW_GROUPS, kAnyEvenGroup, 1, 0, 0, 2, true, true},
    {DType::Q4_G, Layout::Q4_R16_G32, kQ4R16GroupSize, kQ4R16BlockRows,
     kQ4R16GroupSize, kQ4R16BlockBytes, 0, false, false},
    {DType::Q4_G, Layout::Q4_R16_G32_SYM, kQ4R16GroupSize, kQ4R16BlockRows,
     kQ4R16GroupSize, kQ4R16SymBlockBytes, 0, false, false},
    {DType::Q4_G, Layout::Q4_R16_G32_CB, kQ4R16GroupSize, kQ4R16BlockRows,
     kQ4R16GroupSize, kQ4R16SymBlockBytes, 0, false, false, kQ4CodebookEntries},
    {DType::Q4_G, Layout::Q3_R16_G32, kQ4R16GroupSize, kQ4R16BlockRows,
     kQ4R16GroupSize, kQ3R16BlockBytes, 0, false, false},
    {DType::Q4_G, Layout::Q3_R16_G64, kQ3R16G64BlockCols, kQ4R16BlockRows,
     kQ3R16G64BlockCols, kQ3R16G64BlockBytes, 0, false, false},
    {DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, kQ4SP24BlockCols,
     kQ4SP24BlockRows, kQ4SP24BlockCols, kQ4SP24BlockBytes, 0, false, false},
};

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

const Encoding* FindEncoding(DType dtype, Layout layout) {
  for (const Encoding& e : kEncodings) {
    if (e.dtype == dtype && e.layout == layout) return &e;
  }
  return nullptr;
}

const Encoding* Encodings(size_t* count) {
  *count = sizeof(kEncodings) / sizeof(kEncodings[0]);
  return kEncodings;
}

bool GroupSizeValid(const Encoding& e, uint32_t group_size) {
  if (e.group_size == 0) return true;
  if (e.group_size == kAnyEvenGroup) {
    return group_size >= 2 && group_size <= kMaxGroupSize && group_size % 2 == 0;
  }
  return group_size == e.group_size;
}

uint32_t BlockCols(const Encoding& e, uint32_t group_size) {
  return e.block_cols != 0 ? e.block_cols : group_size;
}

uint64_t RowBlockBytes(const Encoding& e, uint64_t cols, uint32_t group_size) {
  const uint32_t block_cols = BlockCols(e, group_size);
  const uint64_t block_bytes = e.block_bytes != 0 ? e.block_bytes : block_cols / 2;
  return CeilDiv(cols, block_cols) * block_bytes;
}

uint64_t PackedBytes(const Encoding& e, uint64_t rows, uint64_t cols, uint32_t group_size) {
  return CeilDiv(rows, e.block_rows) * RowBlockBytes(e, cols, group_size);
}

uint64_t PackedBytes(DType dtype, Layout layout, uint64_t rows, uint64_t cols,
                     uint32_t group_size) {
  const Encoding* e = FindEncoding(dtype, layout);
  if (e == nullptr || !GroupSizeValid(*e, group_size)) return 0;
  return PackedBytes(*e, rows, cols, group_size);
}

uint64_t ScalesBytes(const Encoding& e, uint64_t rows, uint64_t cols, uint32_t group_size) {
  const uint64_t per_row = e.scales_per_group ? CeilDiv(cols, BlockCols(e, group_size)) : 1;
  return rows * per_row * e.scale_bytes;
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::Q8_C: return "q8_c";
    case DType::Q4_G: return "q4_g";
    case DType::Q4_G_SP24: return "q4_g_sp24";
  }
  return "unknown";
}

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::ROW_MAJOR: return "row_major";
    case Layout::Q4_ROW_GROUPS: return "q4_row_groups";
    case Layout::Q4_R16_G32: return "q4_r16_g32";
    case Layout::Q4_SP24_R16_G64: return "q4_sp24_r16_g64";
    case Layout::Q4_R16_G32_SYM: return "q4_r16_g32_sym";
    case Layout::Q4_R16_G32_CB: return "q4_r16_g32_cb";
    case Layout::Q3_R16_G32: return "q3_r16_g32";
    case Layout::Q3_R16_G64: return "q3_r16_g64";
  }
  return "unknown";
}

const char* ChatFormatName(ChatFormat format) {
  switch (format) {
    case ChatFormat::NONE: return "none";
    case ChatFormat::LLAMA2: return "llama2";
    case ChatFormat::LLAMA3: return "llama3";
    case ChatFormat::CHATML: return "chatml";
    case ChatFormat::PHI3: return "phi3";
    case ChatFormat::GEMMA: return "gemma";
  }
  return "none";
}

}  // namespace kite
