// Expands one stored row to f32 (embedding lookup).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// Dequantizes one Q4_ROW_GROUPS row (`groups` groups of `group`, f16 `scales` and
/// optional f16 `mins` of that row, or null) into `cols` floats (cols <= groups * group).
/// Pure; thread-safe.
void q4_row_dequant_ref(size_t cols, size_t groups, size_t group, const uint8_t* row,
                        const uint16_t* scales, const uint16_t* mins, float* out);

/// Dequantizes row `row` of a Q4_R16_G32 tensor (`data` is the tensor's data extent,
/// `groups` = ceil(cols / 32)) into `cols` floats. Pure; thread-safe.
void q4r16_row_dequant_ref(size_t cols, size_t groups, const uint8_t* data, size_t row, float* out);

/// Converts `cols` f16 values to f32.
void f16_row_dequant_ref(size_t cols, const uint16_t* row, float* out);

/// Dequantizes `cols` int8 values with one f32 scale.
void q8_row_dequant_ref(size_t cols, const int8_t* row, float scale, float* out);

}  // namespace kite::kernels
