// Roofline loops with AVX2 (compiled with -mavx2).
#include <immintrin.h>

#include "tools/bench/roofline_kernels.h"

namespace kite::bench {

uint64_t ReadSumAvx2(const uint64_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  uint64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; i < n; ++i) sum += p[i];
  return sum;
}

// One int8 dot-product step: ymm<t> = maddubs(a, b); ymm<t> = maddwd(ymm<t>, 1);
// ymm<acc> += ymm<t> (AT&T operand order).
#define KITE_DOT(t, acc)                                \
  "vpmaddubsw %[b], %[a], %%ymm" #t "\n\t"              \
  "vpmaddwd %[ones], %%ymm" #t ", %%ymm" #t "\n\t"      \
  "vpaddd %%ymm" #t ", %%ymm" #acc ", %%ymm" #acc "\n\t"
#define KITE_ADD(k) "vpaddd %%ymm" #k ", %%ymm0, %%ymm0\n\t"

uint64_t DotLoopAvx2(uint64_t iterations, int32_t seed) {
  const __m256i a = _mm256_set1_epi32(seed | 0x01010101);
  const __m256i b = _mm256_set1_epi32(seed ^ 0x7F017F01);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i total;
  // Written in asm so each iteration is exactly 12 multiply chains into 8 register-resident
  // accumulators ymm0..ymm7 with temporaries ymm8..ymm11 (the intrinsic version spills,
  // and the compiler may hoist the loop-invariant product).
  asm volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "test %[n], %[n]\n\t"
      "jz 2f\n\t"
      ".p2align 5\n\t"
      "1:\n\t"
      KITE_DOT(8, 0) KITE_DOT(9, 1) KITE_DOT(10, 2) KITE_DOT(11, 3)
      KITE_DOT(8, 4) KITE_DOT(9, 5) KITE_DOT(10, 6) KITE_DOT(11, 7)
      KITE_DOT(8, 0) KITE_DOT(9, 1) KITE_DOT(10, 2) KITE_DOT(11, 3)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      KITE_ADD(1) KITE_ADD(2) KITE_ADD(3) KITE_ADD(4) KITE_ADD(5) KITE_ADD(6) KITE_ADD(7)
      "vmovdqa %%ymm0, %[total]\n\t"
      : [n] "+r"(iterations), [total] "=x"(total)
      : [a] "x"(a), [b] "x"(b), [ones] "x"(ones)
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11");
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), total);
  uint64_t sum = 0;
  for (int32_t v : lanes) sum += static_cast<uint32_t>(v);
  return sum;
}

#undef KITE_DOT
#undef KITE_ADD

}  // namespace kite::bench
