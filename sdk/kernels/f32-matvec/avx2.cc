// f32-matvec, AVX2: 16 columns per step on 4 rows at once, masked column tail (the shared
// walk and dot products of simd/matvec-avx2.h).
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/matvec-avx2.h"

namespace kite::kernels {
namespace {

struct LoadF32 {
  using Weight = float;
  static __m256 Load(const float* p) { return _mm256_loadu_ps(p); }
  static __m256 LoadTail(const float* p, size_t /*count*/, __m256i mask) {
    return _mm256_maskload_ps(p, mask);
  }
};

}  // namespace

void f32_matvec_avx2(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  const ColumnTailAvx2 ct = ColumnTailOf(cols, x);
  MatvecQuartersX86(
      rows, y,
      [&](size_t t, size_t q) {
        const float* w0 = w + t * cols;
        return Dot4Avx2<LoadF32>(cols, w0, w0 + q * cols, w0 + 2 * q * cols, w0 + 3 * q * cols,
                                 x, ct.mask, ct.x);
      },
      [&](size_t r) { return Dot1Avx2<LoadF32>(cols, w + r * cols, x, ct.mask, ct.x); });
}

}  // namespace kite::kernels
