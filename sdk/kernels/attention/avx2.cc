// attention and attention_q8kv, AVX2: the driver (driver.h) over 8-float vectors, up to 64
// output floats in registers per pass; int8 rows are widened to f32 8 at a time.
#include <immintrin.h>

#include "sdk/kernels/attention/x86.h"
#include "sdk/kernels/simd/lanes.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// The 8-float lanes of simd/lanes.h, with tails that know their length (for the int8
// tail loads).
struct Avx2 : X86AttentionLanes<F32x8, softmax_avx2> {
  struct Tail {
    __m256i mask;  // the first n lanes
    size_t n;
  };
  // 8 accumulators of one set still leave registers for the loads; up to 4 vectors get a
  // second set (8 FMA chains).
  static constexpr int kMaxVecs = 8;
  static constexpr int kTwoSetVecs = 4;

  static Tail TailOf(size_t n) { return Tail{F32x8::TailOf(n), n}; }
  using F32x8::Load;
  // Reads exactly 8 bytes.
  static Vec Load(const int8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static Vec LoadTail(const Tail& t, const float* p) { return F32x8::LoadTail(t.mask, p); }
  static Vec LoadTail(const Tail& t, const int8_t* p) {
    uint64_t bits = 0;
    for (size_t i = 0; i < t.n; ++i) {
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    }
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(bits))));
  }
  static void StoreTail(const Tail& t, float* y, Vec v) { F32x8::StoreTail(t.mask, y, v); }
};

}  // namespace

KITE_ATTENTION_X86_VARIANTS(avx2, Avx2)

}  // namespace kite::kernels
