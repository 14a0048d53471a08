// The lane types of the x86 elementwise templates (simd/f32-exp.h and the families' simd.h):
// F32x8 (__m256, simd/lanes-avx2.h) and F32x16 (__m512, simd/lanes-avx512.h). Both provide
// the same static operations, so one template serves both widths:
//
//   Vec, IVec, Tail, kLanes      floats / int32 lanes in a vector, a partial-vector mask,
//                                lanes per vector
//   Tail TailOf(size_t n)        the first min(n, kLanes) lanes
//   Zero, Set1, Load, Store      (unaligned loads and stores)
//   LoadTail(t, p)               the lanes in t from p, the others 0; reads only those
//   LoadTailOr(t, p, rest)       the lanes in t from p, the others from rest
//   StoreTail(t, p, v)           writes only the lanes in t
//   Add, Sub, Mul, Div, Neg, Abs; AddTail(t, a, b): a + b in the lanes of t, a elsewhere
//   Max, Min                     vmaxps / vminps: the second operand when either is NaN
//   Fma(a, b, c) = a b + c, Fnma(a, b, c) = c - a b (fused)
//   SwapPairs                    {a1, a0, a3, a2, ...}
//   RoundNearest                 to the nearest integer (ties to even), as a float
//   MulPow2(p, n)                p 2^n for integral n in [-150, 128], rounded once
//   ReduceAdd, ReduceMax         over all lanes; ReduceAdd4(a, b, c, d): their 4 sums (__m128)
//   ZeroI, AddI, ReduceAddI      on int32 lanes
//   ToInt                        vcvtps2dq: current rounding mode; NaN / out of range -> INT_MIN
//   LowByte                      each int32 lane's low byte, sign-extended
//   KeepTail(t, i)               the int32 lanes of t, 0 elsewhere
//   StoreBytes(p, i, n)          the first min(n, kLanes) int32 lanes (in [-128, 127]) as bytes
//
// Each lane type sits in an unnamed namespace on purpose: every includer gets its own, so a
// template instantiated with it has internal linkage and nothing compiled with one ISA's
// flags can be merged by the linker into another ISA's code.
#pragma once

/// The operations that are the same intrinsic at both widths, P the intrinsics' prefix
/// (_mm256, _mm512) and SI their integer vector suffix (si256, si512). Expands inside a lane
/// type that defines Vec and IVec.
#define KITE_X86_LANE_OPS(P, SI)                                                     \
  static Vec Zero() { return P##_setzero_ps(); }                                     \
  static Vec Set1(float x) { return P##_set1_ps(x); }                                \
  static Vec Load(const float* p) { return P##_loadu_ps(p); }                        \
  static void Store(float* p, Vec v) { P##_storeu_ps(p, v); }                        \
  static Vec Add(Vec a, Vec b) { return P##_add_ps(a, b); }                          \
  static Vec Sub(Vec a, Vec b) { return P##_sub_ps(a, b); }                          \
  static Vec Mul(Vec a, Vec b) { return P##_mul_ps(a, b); }                          \
  static Vec Div(Vec a, Vec b) { return P##_div_ps(a, b); }                          \
  static Vec Max(Vec a, Vec b) { return P##_max_ps(a, b); }                          \
  static Vec Min(Vec a, Vec b) { return P##_min_ps(a, b); }                          \
  static Vec Fma(Vec a, Vec b, Vec c) { return P##_fmadd_ps(a, b, c); }              \
  static Vec Fnma(Vec a, Vec b, Vec c) { return P##_fnmadd_ps(a, b, c); }            \
  static Vec Neg(Vec a) { return P##_xor_ps(a, P##_set1_ps(-0.0f)); }                \
  static Vec Abs(Vec a) {                                                            \
    return P##_and_ps(a, P##_cast##SI##_ps(P##_set1_epi32(0x7FFFFFFF)));            \
  }                                                                                  \
  static Vec SwapPairs(Vec a) { return P##_permute_ps(a, 0xB1); }                    \
  static IVec ZeroI() { return P##_setzero_##SI(); }                                 \
  static IVec ToInt(Vec a) { return P##_cvtps_epi32(a); }                            \
  static IVec LowByte(IVec a) { return P##_srai_epi32(P##_slli_epi32(a, 24), 24); }  \
  static IVec AddI(IVec a, IVec b) { return P##_add_epi32(a, b); }
