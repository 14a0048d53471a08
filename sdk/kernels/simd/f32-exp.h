// Vector e^x over a lane type (F32x8 / F32x16 of simd/lanes.h), for the x86 softmax, swiglu
// and attention variants. Instantiate only from an ISA file with that file's lane type: the
// instantiation then has internal linkage and is built with that file's flags.
#pragma once

namespace kite::kernels {

/// e^x lane-wise. Maximum error 1 ulp over every float (measured exhaustively against the
/// correctly rounded double exp; see test/kernels/elementwise_test.cc, F32Exp). Results below
/// 2^-126 are correctly scaled denormals, x < ln(2^-150) gives +0, x > ln(FLT_MAX) gives +inf
/// (also for +/-inf), NaN propagates. Pure; no state, no MXCSR change (assumes the default
/// round-to-nearest mode and no FTZ/DAZ). V provides Set1, Min, Max, Mul, Fma, Fnma,
/// RoundNearest and MulPow2 (p * 2^n for integral n in [-150, 128], rounded once).
template <class V>
static inline typename V::Vec Exp(typename V::Vec x) {
  using Vec = typename V::Vec;
  // Clamp to where the result is neither 0 nor inf after rounding; max/min return their second
  // operand when one is NaN, so NaN passes through.
  x = V::Min(V::Set1(89.0f), V::Max(V::Set1(-104.0f), x));
  // Range reduction x = n ln2 + r, |r| <= ln2/2 (Cody-Waite): ln2 = kLn2Hi + kLn2Lo with
  // kLn2Hi = float(ln2). x - n kLn2Hi is exactly representable for |n| <= 150, so the first
  // FMA is exact and only the tiny n kLn2Lo correction rounds.
  const Vec n = V::RoundNearest(V::Mul(x, V::Set1(1.44269502f)));
  Vec r = V::Fnma(n, V::Set1(0.693147182f), x);
  r = V::Fnma(n, V::Set1(-1.90465421e-09f), r);
  // e^r = 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4): Chebyshev fit of
  // (e^r - 1 - r) / r^2 on [-ln2/2, ln2/2] (abs. error < 1e-8, well under half an ulp).
  Vec p = V::Set1(1.39261759e-3f);
  p = V::Fma(p, r, V::Set1(8.36317334e-3f));
  p = V::Fma(p, r, V::Set1(4.16665561e-2f));
  p = V::Fma(p, r, V::Set1(1.66665778e-1f));
  p = V::Fma(p, r, V::Set1(0.5f));
  p = V::Fma(p, r, V::Set1(1.0f));
  p = V::Fma(p, r, V::Set1(1.0f));
  return V::MulPow2(p, n);
}

}  // namespace kite::kernels
