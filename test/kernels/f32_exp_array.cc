// e^x over an array through the vector exp of sdk/kernels/simd/f32-exp.h, for the F32Exp
// tests of elementwise_test.cc. test/kernels/elementwise.cmake builds this file twice, once
// per lane type with that ISA's flags (KITE_EXP_LANES_AVX512 0: F32x8, AVX2 + FMA; 1:
// F32x16, AVX-512), as the kernels instantiate the template.
#include <cstddef>

#include "sdk/kernels/simd/f32-exp.h"
#include "sdk/kernels/simd/lanes.h"

#if KITE_EXP_LANES_AVX512
#define KITE_EXP_ARRAY ExpArrayAvx512
using Lanes = kite::kernels::F32x16;
#else
#define KITE_EXP_ARRAY ExpArrayAvx2
using Lanes = kite::kernels::F32x8;
#endif

/// y[i] = e^x[i] for i < n, n a multiple of 16. Call only when the CPU has the ISA.
void KITE_EXP_ARRAY(size_t n, const float* x, float* y) {
  for (size_t i = 0; i < n; i += Lanes::kLanes) {
    Lanes::Store(y + i, kite::kernels::Exp<Lanes>(Lanes::Load(x + i)));
  }
}
