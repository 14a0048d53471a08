// Host-side packing to and from the Q4_SP24_R16_G64 layout (sdk/schema/kite.fbs): 2:4 sparse
// weights, 4-bit symmetric with one scale per row and 64 columns. The converter packs once; the
// runtime maps the packed bytes and never repacks. Tests and the row-dequant path unpack.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

// Packed sizes come from the format: PackedBytes(DType::Q4_G_SP24,
// Layout::Q4_SP24_R16_G64, rows, cols, 64) in sdk/format/format.h.

/// True when every aligned group of 4 columns (the last one may be shorter) of every row of
/// the row-major rows x cols matrix `w` has at most 2 non-zero values (NaN counts as
/// non-zero). Pure; thread-safe.
bool IsTwoFourSparse(size_t rows, size_t cols, const float* w);

/// Quantizes and packs a 2:4 sparse row-major rows x cols f32 matrix `w` (rows = output
/// features) into `out` (the packed size of the matrix, fully written on success).
///
/// In every aligned quad of 4 columns the (at most 2) non-zero values are kept, in
/// ascending column order; a quad with fewer than 2 non-zeros is completed with its lowest
/// unused positions holding the value 0 (u = 8), as are quads past `cols`. Per row and
/// block of 64 columns the 32 kept values get one f16 scale d, searched among candidates
/// amax / k (k from 5.5 to 8.5) for the least squared error of d * clamp(round(v / d), -8,
/// 7); u = q + 8. An all-zero block stores d = 0. Padding rows store u = 8, positions 0,
/// d = 0.
///
/// When `scales` is not null it gives the f16 scale (bits) of row r, block b at
/// scales[r * ceil(cols / 64) + b], used instead of the search: weights that are d times an
/// integer in [-8, 7] are then stored exactly (the converter's code training repacks this
/// way).
///
/// Returns false, leaving `out` unspecified, when `w` is not 2:4 sparse (IsTwoFourSparse)
/// or holds a non-finite value. Allocates nothing. Pure; thread-safe on distinct outputs.
bool PackQ4SP24(size_t rows, size_t cols, const float* w, uint8_t* out,
               const uint16_t* scales = nullptr);

/// Dequantizes row `row` of a packed matrix with `cols` columns to f32: out[c] is the sum
/// of d * (u - 8) over the row's kept values at column c (0 where none is), for c < cols;
/// kept values at columns >= cols are ignored. Writes `cols` floats. Pure; thread-safe.
void DequantizeQ4SP24Row(size_t cols, const uint8_t* packed, size_t row, float* out);

/// Marks the columns of row `row` that hold one of the row's stored values (two per quad,
/// whatever their value, zeros included): out[c] = 1 there, 0 elsewhere, for c < cols.
/// Writes `cols` bytes. Pure; thread-safe.
void Q4SP24StoredColumns(size_t cols, const uint8_t* packed, size_t row, uint8_t* out);

}  // namespace kite::kernels
