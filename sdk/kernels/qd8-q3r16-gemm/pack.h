// Host-side packing to and from the 3-bit layouts Q3_R16_G32 and Q3_R16_G64
// (sdk/schema/kite.fbs). The converter packs once; the runtime maps the packed bytes and
// never repacks. Tests unpack.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

// Packed sizes come from the format: PackedBytes(DType::Q4_G, Layout::Q3_R16_G32, rows,
// cols, 32) or PackedBytes(DType::Q4_G, Layout::Q3_R16_G64, rows, cols, 64) in
// sdk/format/format.h. `group_size` below is the columns one scale covers: 32 for
// Q3_R16_G32, 64 for Q3_R16_G64 (the layout's group_size; nothing else is valid).

/// Packs a symmetric 3-bit group-quantized matrix (w = d * (u - 4) per group of
/// `group_size` columns).
/// - `u`: rows x padded_cols bytes, padded_cols = ceil(cols/group_size) * group_size, one
///   code (0..7) per byte, row-major. Entries at columns >= cols are ignored (written as
///   u = 4, the layout's padding value).
/// - `d`: rows x ceil(cols/group_size) f16 bits per row and group, row-major.
/// - `out`: the packed size of the matrix, fully written (padding rows get u = 4, d = 0).
///   Caller owns all buffers. Pure; thread-safe on distinct outputs.
void PackQ3R16(size_t rows, size_t cols, size_t group_size, const uint8_t* u, const uint16_t* d,
               uint8_t* out);

/// Inverse of PackQ3R16 for the `rows` real rows: fills `u` (rows x padded_cols, padding
/// columns included as stored) and `d` (rows x ceil(cols/group_size)); either may be null
/// to skip it. Pure; thread-safe on distinct outputs.
void UnpackQ3R16(size_t rows, size_t cols, size_t group_size, const uint8_t* packed, uint8_t* u,
                 uint16_t* d);

/// Dequantizes row `row` of a packed matrix with `cols` columns to f32:
/// out[k] = d * (u - 4) for k < cols, in f32 (the f16 scale widened exactly). Writes `cols`
/// floats. Pure; thread-safe.
void DequantizeQ3R16Row(size_t cols, size_t group_size, const uint8_t* packed, size_t row,
                        float* out);

}  // namespace kite::kernels
