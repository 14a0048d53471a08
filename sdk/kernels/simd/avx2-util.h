// Small AVX2 helpers (tail masks, horizontal reductions, broadcasts, stores, prefetch,
// constants) shared by the x86 kernel files.
// Include only from files compiled with -mavx2 -mfma: everything here is static inline, so
// each file gets its own copy built for its own ISA.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kite::kernels {

/// 1.5 * 2^23 and its bits as an int32. An integer accumulator started at kF32MagicBits that
/// ends at kF32MagicBits + v with |v| < 2^22, read as a float, is exactly kF32Magic + v: one
/// subtraction of kF32Magic replaces the int32 -> float conversion.
inline constexpr int32_t kF32MagicBits = 0x4B400000;
inline constexpr float kF32Magic = 12582912.0f;

/// Lane mask for _mm256_maskload/maskstore: lane i is set iff i < remaining (all lanes for
/// remaining >= 8).
static inline __m256i TailMaskAvx2(size_t remaining) {
  const int r = remaining < 8 ? static_cast<int>(remaining) : 8;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Sum of the 8 lanes.
static inline float ReduceAddAvx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// Maximum of the 8 lanes (no NaN expected).
static inline float ReduceMaxAvx2(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// Sum of the 8 int32 lanes (wrapping).
static inline int32_t ReduceAddEpi32Avx2(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

/// {sum(a), sum(b), sum(c), sum(d)}.
static inline __m128 ReduceAdd4Avx2(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 b4 = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  const __m128 c4 = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
  const __m128 d4 = _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
  return _mm_hadd_ps(_mm_hadd_ps(a4, b4), _mm_hadd_ps(c4, d4));
}

/// The 4 bytes at p (no alignment) repeated in every dword lane.
static inline __m256i Broadcast4Avx2(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

/// Stores the first n (<= 8) lanes of v to y (no alignment).
static inline void StoreLanesAvx2(float* y, __m256 v, size_t n) {
  if (n == 8) {
    _mm256_storeu_ps(y, v);
  } else {
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, v);
    for (size_t i = 0; i < n; ++i) y[i] = tmp[i];
  }
}

/// Prefetches (into all cache levels) every 64-byte line from p to p + bytes, counted from p.
static inline void PrefetchBytesX86(const uint8_t* p, size_t bytes) {
  const char* c = reinterpret_cast<const char*>(p);
  for (size_t i = 0; i < bytes; i += 64) _mm_prefetch(c + i, _MM_HINT_T0);
}

}  // namespace kite::kernels
