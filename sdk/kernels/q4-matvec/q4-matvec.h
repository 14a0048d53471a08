// 4-bit-weight x 8-bit-activation matrix-vector product (decode's hot loop).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// y[r] = sum_g wscale[r][g] * xscale[g] * sum_j qw[r][g][j] * qx[g][j], r in [0, rows).
/// `w`: Q4_ROW_GROUPS layout (kite.fbs): rows * groups * group/2 bytes, byte j of a group
/// holds element 2j (low nibble) and 2j+1 (high nibble) as q+8. `wscales`: f16 bits
/// [rows][groups]. `qx`/`xscales`: the activation from q8_quantize with the same group.
/// `group` is even. Pure; thread-safe on disjoint row ranges.
using Q4MatvecFn = void (*)(size_t rows, size_t groups, size_t group, const uint8_t* w,
                            const uint16_t* wscales, const int8_t* qx, const float* xscales,
                            float* y);

/// Scalar reference (the specification).
void q4_matvec_ref(size_t rows, size_t groups, size_t group, const uint8_t* w,
                   const uint16_t* wscales, const int8_t* qx, const float* xscales, float* y);

}  // namespace kite::kernels
