// e^x in the CPU's operations (ExpLikeCpu), for elementwise.comp (SwiGLU) and
// attention.comp (softmax). Included by shaders (#extension GL_GOOGLE_include_directive);
// brings fma_exact.glsl.
#include "fma_exact.glsl"

// e^x as the CPU's vector variants compute it (sdk/kernels/simd/f32-exp.h, which documents
// the method and the constants: Cody-Waite reduction by ln 2, a degree-6 polynomial with
// fused multiply-adds, scaling by 2^n), the same operations in the same order (the fused
// multiply-adds by FmaExact), so its results are the AVX-512 variants' bit for bit. The
// scaling is split in two so that n = 128 does not overflow ldexp.
float ExpLikeCpu(float x) {
  precise float xc = min(89.0, max(-104.0, x));
  precise float n = roundEven(xc * 1.44269502);
  precise float r = FmaExact(-n, 0.693147182, xc);
  r = FmaExact(-n, -1.90465421e-09, r);
  precise float q = 1.39261759e-3;
  q = FmaExact(q, r, 8.36317334e-3);
  q = FmaExact(q, r, 4.16665561e-2);
  q = FmaExact(q, r, 1.66665778e-1);
  q = FmaExact(q, r, 0.5);
  q = FmaExact(q, r, 1.0);
  q = FmaExact(q, r, 1.0);
  const int ni = int(n), h = ni / 2;
  return ldexp(ldexp(q, h), ni - h);
}
