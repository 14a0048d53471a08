// attention and attention_q8kv, AVX-512: the driver (driver.h) over 16-float vectors, up to
// 128 output floats in registers per pass; int8 rows are widened to f32 16 at a time, with
// masked byte loads for the row tails.
#include <immintrin.h>

#include "sdk/kernels/attention/x86.h"
#include "sdk/kernels/simd/lanes.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// The 16-float lanes of simd/lanes.h, plus int8 rows.
struct Avx512 : X86AttentionLanes<F32x16, softmax_avx512> {
  // Two sets of 8 accumulators still fit the 32 registers.
  static constexpr int kMaxVecs = 8;
  static constexpr int kTwoSetVecs = 8;

  using F32x16::Load;
  using F32x16::LoadTail;
  static Vec Load(const int8_t* p) { return LoadTail(TailOf(16), p); }
  // Reads only the bytes in m.
  static Vec LoadTail(Tail m, const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
  }
};

}  // namespace

KITE_ATTENTION_X86_VARIANTS(avx512, Avx512)

}  // namespace kite::kernels
