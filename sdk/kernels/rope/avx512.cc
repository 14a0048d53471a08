// rope, AVX-512: per call, cos/sin of the head_dim / 2 angles with libm (as the reference),
// laid out per lane, then every head rotated 8 pairs per vector.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/rope/lane-table.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/simd/avx512-util.h"

namespace kite::kernels {

void rope_avx512(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x) {
  assert(head_dim % 2 == 0 && (n_heads == 0 || x != nullptr));
  // Angles are tabulated for up to kChunk lanes of a head at a time (stack only).
  constexpr size_t kChunk = 256;
  alignas(64) float cos_lane[kChunk];  // {c0, c0, c1, c1, ...}
  alignas(64) float sin_lane[kChunk];  // {-s0, s0, -s1, s1, ...}
  for (size_t d0 = 0; d0 < head_dim; d0 += kChunk) {
    const size_t len = head_dim - d0 < kChunk ? head_dim - d0 : kChunk;
    RopeLaneTable(head_dim, pos, theta, d0, len, 16, cos_lane, sin_lane);
    // (v0, v1) -> (v0 c - v1 s, v1 c + v0 s): x * cos_lane + pair_swap(x) * sin_lane with
    // separate multiplies and adds, which is the reference's arithmetic exactly.
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + h * head_dim + d0;
      for (size_t j = 0; j < len; j += 16) {
        const __mmask16 m = TailMask16(len - j);
        const __m512 xv = _mm512_maskz_loadu_ps(m, v + j);
        const __m512 swapped = _mm512_permute_ps(xv, 0xB1);
        const __m512 r = _mm512_add_ps(_mm512_mul_ps(xv, _mm512_load_ps(cos_lane + j)),
                                       _mm512_mul_ps(swapped, _mm512_load_ps(sin_lane + j)));
        _mm512_mask_storeu_ps(v + j, m, r);
      }
    }
  }
}

}  // namespace kite::kernels
