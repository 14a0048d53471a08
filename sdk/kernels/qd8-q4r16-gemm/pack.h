// Host-side packing to and from the Q4_R16_G32 layout (sdk/schema/kite.fbs). The converter
// packs once; the runtime maps the packed bytes and never repacks. Tests unpack.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

// Packed sizes come from the format: PackedBytes(DType::Q4_G, Layout::Q4_R16_G32 or
// Layout::Q4_R16_G32_SYM, rows, cols, 32) in sdk/format/format.h.

/// Packs a 4-bit group-quantized matrix (w = d * u + o per group of 32 columns).
/// - `u`: rows x padded_cols bytes, padded_cols = ceil(cols/32) * 32, one unsigned nibble
///   value (0..15) per byte, row-major. Entries at columns >= cols are ignored (written as
///   u = 8, the layout's padding value).
/// - `d`, `o`: rows x ceil(cols/32) f16 bits (scale, offset) per row and group, row-major.
/// - `out`: the packed size of the Q4_R16_G32 matrix bytes, fully written (padding rows
///   get u = 8, d = o = 0). Caller owns all buffers. Pure; thread-safe on distinct outputs.
void PackQ4R16(size_t rows, size_t cols, const uint8_t* u, const uint16_t* d, const uint16_t* o,
               uint8_t* out);

/// Inverse of PackQ4R16 for the `rows` real rows: fills `u` (rows x padded_cols, padding
/// columns included as stored), `d` and `o` (rows x ceil(cols/32)). Any of the three may
/// be null to skip it. Pure; thread-safe on distinct outputs.
void UnpackQ4R16(size_t rows, size_t cols, const uint8_t* packed, uint8_t* u, uint16_t* d,
                 uint16_t* o);

/// Dequantizes row `row` of a packed matrix with `cols` columns to f32:
/// out[k] = d * u + o for k < cols, computed in f32 (f16 scale and offset widened exactly).
/// Writes `cols` floats. Pure; thread-safe.
void DequantizeQ4R16Row(size_t cols, const uint8_t* packed, size_t row, float* out);

/// PackQ4R16 for Q4_R16_G32_SYM: the same nibbles and scales, no offsets (the weight is
/// d * (u - 8)). `out`: the packed size of the Q4_R16_G32_SYM matrix, fully
/// written.
void PackQ4R16Sym(size_t rows, size_t cols, const uint8_t* u, const uint16_t* d, uint8_t* out);

/// DequantizeQ4R16Row for Q4_R16_G32_SYM: out[k] = d * u + o with o = -8 d, in f32.
void DequantizeQ4R16SymRow(size_t cols, const uint8_t* packed, size_t row, float* out);

/// DequantizeQ4R16Row for Q4_R16_G32_CB (packed exactly as PackQ4R16Sym packs the codes):
/// out[k] = d * codebook[u], in f32; `codebook`: the tensor's kQ4CodebookEntries values.
void DequantizeQ4R16CbRow(size_t cols, const uint8_t* packed, const int8_t* codebook, size_t row,
                          float* out);

}  // namespace kite::kernels
