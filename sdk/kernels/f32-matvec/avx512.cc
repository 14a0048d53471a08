// f32-matvec, AVX-512 (VL): 16 columns per step on 4 rows at once, in 256-bit vectors with
// AVX-512VL masked column tails (the dot products of simd/matvec-masked.h). 256-bit loads
// are deliberate: on Zen 5 the same loop with 512-bit loads streams 1.6x slower from DRAM /
// L3 (measured 20 vs 32 GB/s at 256 MB), and this kernel is bound by how fast the weights
// stream in.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/simd/lanes.h"
#include "sdk/kernels/simd/matvec-avx2.h"
#include "sdk/kernels/simd/matvec-masked.h"

namespace kite::kernels {
namespace {

// f32 weights in 256-bit vectors with AVX-512VL mask registers for the tails (the lane type
// of simd/matvec-masked.h).
struct F32Lanes256 : F32x8 {
  using Weight = float;
  using Tail = __mmask8;
  static Tail TailOf(size_t remaining) {
    return remaining >= 8 ? static_cast<__mmask8>(0xFF)
                          : static_cast<__mmask8>((1u << remaining) - 1u);
  }
  static Vec LoadTail(Tail m, const float* p) { return _mm256_maskz_loadu_ps(m, p); }
  static Vec LoadW(const float* p) { return Load(p); }
  static Vec LoadWMasked(Tail m, const float* p) { return LoadTail(m, p); }
};

}  // namespace

void f32_matvec_avx512(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  MatvecQuartersX86(
      rows, y,
      [&](size_t t, size_t q) {
        const float* w0 = w + t * cols;
        return Dot4Masked<F32Lanes256>(cols, w0, w0 + q * cols, w0 + 2 * q * cols,
                                       w0 + 3 * q * cols, x);
      },
      [&](size_t r) { return Dot1Masked<F32Lanes256>(cols, w + r * cols, x); });
}

}  // namespace kite::kernels
