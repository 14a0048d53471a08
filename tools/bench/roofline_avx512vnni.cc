// Roofline loops with AVX-512 (compiled with -mavx512f -mavx512bw -mavx512vnni).
#include <immintrin.h>

#include "tools/bench/roofline_kernels.h"

namespace kite::bench {

uint64_t ReadSumAvx512(const uint64_t* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 8));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 16));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 24));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
  uint64_t sum = 0;
  for (uint64_t v : lanes) sum += v;
  for (; i < n; ++i) sum += p[i];
  return sum;
}

// One vpdpbusd into accumulator zmm<k> (AT&T operand order: s8, u8, accumulator).
#define KITE_VNNI(k) "vpdpbusd %[b], %[a], %%zmm" #k "\n\t"
#define KITE_VNNI4(k0, k1, k2, k3) KITE_VNNI(k0) KITE_VNNI(k1) KITE_VNNI(k2) KITE_VNNI(k3)
#define KITE_ADD(k) "vpaddd %%zmm" #k ", %%zmm0, %%zmm0\n\t"

uint64_t DotLoopAvx512Vnni(uint64_t iterations, int32_t seed) {
  const __m512i a = _mm512_set1_epi32(seed | 0x01010101);
  const __m512i b = _mm512_set1_epi32(seed ^ 0x7F017F01);
  __m512i total;
  // Written in asm so the loop is exactly 16 independent vpdpbusd on register-resident
  // accumulators zmm0..zmm15 (the compiler adds register copies around the intrinsic).
  asm volatile(
      "vmovdqa64 %[a], %%zmm0\n\t"
      "vmovdqa64 %[a], %%zmm1\n\t"
      "vmovdqa64 %[a], %%zmm2\n\t"
      "vmovdqa64 %[a], %%zmm3\n\t"
      "vmovdqa64 %[a], %%zmm4\n\t"
      "vmovdqa64 %[a], %%zmm5\n\t"
      "vmovdqa64 %[a], %%zmm6\n\t"
      "vmovdqa64 %[a], %%zmm7\n\t"
      "vmovdqa64 %[b], %%zmm8\n\t"
      "vmovdqa64 %[b], %%zmm9\n\t"
      "vmovdqa64 %[b], %%zmm10\n\t"
      "vmovdqa64 %[b], %%zmm11\n\t"
      "vmovdqa64 %[b], %%zmm12\n\t"
      "vmovdqa64 %[b], %%zmm13\n\t"
      "vmovdqa64 %[b], %%zmm14\n\t"
      "vmovdqa64 %[b], %%zmm15\n\t"
      "test %[n], %[n]\n\t"
      "jz 2f\n\t"
      ".p2align 5\n\t"
      "1:\n\t"
      KITE_VNNI4(0, 1, 2, 3) KITE_VNNI4(4, 5, 6, 7) KITE_VNNI4(8, 9, 10, 11)
      KITE_VNNI4(12, 13, 14, 15)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      KITE_ADD(1) KITE_ADD(2) KITE_ADD(3) KITE_ADD(4) KITE_ADD(5) KITE_ADD(6) KITE_ADD(7)
      KITE_ADD(8) KITE_ADD(9) KITE_ADD(10) KITE_ADD(11) KITE_ADD(12) KITE_ADD(13)
      KITE_ADD(14) KITE_ADD(15)
      "vmovdqa64 %%zmm0, %[total]\n\t"
      : [n] "+r"(iterations), [total] "=v"(total)
      : [a] "v"(a), [b] "v"(b)
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  alignas(64) uint32_t lanes[16];
  _mm512_store_si512(lanes, total);
  uint64_t sum = 0;
  for (uint32_t v : lanes) sum += v;
  return sum;
}

#undef KITE_VNNI
#undef KITE_VNNI4
#undef KITE_ADD

}  // namespace kite::bench
