// 4-bit-weight x 8-bit-activation matrix-vector product (decode's hot loop).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// y[r] = sum_g xscale[g] * (wscale[r][g] * sum_j qw[r][g][j] * qx[g][j]
///                            + wmin[r][g] * xsum[g]),  r in [0, rows).
/// `w`: Q4_ROW_GROUPS layout (kite.fbs): rows * groups * group/2 bytes, byte j of a group
/// holds element 2j (low nibble) and 2j+1 (high nibble) as q+8. `wscales`, `wmins`: f16
/// bits [rows][groups]; `wmins` is null for symmetric weights (all offsets 0).
/// `qx`/`xscales`/`xsums`: the activation from q8_quantize with the same group.
/// `group` is even. Pure; thread-safe on disjoint row ranges.
using Q4MatvecFn = void (*)(size_t rows, size_t groups, size_t group, const uint8_t* w,
                            const uint16_t* wscales, const uint16_t* wmins, const int8_t* qx,
                            const float* xscales, const int32_t* xsums, float* y);

/// Scalar reference (the specification).
void q4_matvec_ref(size_t rows, size_t groups, size_t group, const uint8_t* w,
                   const uint16_t* wscales, const uint16_t* wmins, const int8_t* qx,
                   const float* xscales, const int32_t* xsums, float* y);

/// NEON variant (aarch64, and armv7 with NEON + VFPv4; Arm builds only, dispatch checks the
/// feature). Same contract and thread safety as the reference; the integer dot products are
/// exact and the per-group float arithmetic is the reference's (results equal up to the
/// compiler's contraction of its multiply-adds).
void q4_matvec_neon(size_t rows, size_t groups, size_t group, const uint8_t* w,
                    const uint16_t* wscales, const uint16_t* wmins, const int8_t* qx,
                    const float* xscales, const int32_t* xsums, float* y);

}  // namespace kite::kernels
