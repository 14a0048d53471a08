#include <cstdint>

#include "sdk/kernels/q4-matvec/q4-matvec.h"
#include "sdk/kernels/q4-matvec/rows.h"

namespace kite::kernels {

void q4_matvec_ref(size_t rows, size_t groups, size_t group, const uint8_t* w,
                   const uint16_t* wscales, const uint16_t* wmins, const int8_t* qx,
                   const float* xscales, const int32_t* xsums, float* y) {
  Q4MatvecRows(rows, groups, group, w, wscales, wmins, qx, xscales, xsums, y,
               [](size_t group_bytes, const uint8_t* block, const int8_t* xg) {
                 int32_t dot = 0;
                 for (size_t j = 0; j < group_bytes; ++j) {
                   const int32_t lo = static_cast<int32_t>(block[j] & 0x0F) - 8;
                   const int32_t hi = static_cast<int32_t>(block[j] >> 4) - 8;
                   dot += lo * xg[2 * j] + hi * xg[2 * j + 1];
                 }
                 return dot;
               });
}

}  // namespace kite::kernels
