// a * b + c rounded once, as an IEEE fused multiply-add (the CPU's vfmadd) rounds it, from
// fp32 operations that each round once (`precise`: none fused or reordered). GLSL's fma()
// does not promise that: lavapipe (Mesa 22.3) computes it as a multiplication and an
// addition, each rounded. Included by shaders (#extension GL_GOOGLE_include_directive).
//
// The method is the error-free one of Boldo and Melquiond ("Emulation of FMA and correctly
// rounded sums: proved algorithms using rounding to odd", IEEE TC 2008): a * b = uh + ul
// exactly (Dekker's product, with Veltkamp's split by 2^12 + 1), c + uh = th + tl exactly
// (Knuth's two-sum), v = tl + ul rounded to odd, result th + v rounded to nearest. Exact for
// finite operands whose product's parts and the sums stay normal (|a|, |b| < 2^100 or so,
// no result below 2^-100): the values of the kernels that call it.
//
// kFmaNative (specialization constant 100, kFmaNativeConstantId in pipeline.h) makes
// FmaExact plain fma(): the device sets it where its probe found fma() fused (fma_probe.h),
// giving the same results at a fraction of the cost; KITE_VULKAN_FMA=native forces it.
layout(constant_id = 100) const bool kFmaNative = false;

// s + e == a + b exactly, s = a + b rounded (Knuth's two-sum).
void TwoSum(float a, float b, out float s, out float e) {
  precise float sum = a + b;
  precise float bb = sum - a;
  precise float err = (a - (sum - bb)) + (b - bb);
  s = sum;
  e = err;
}

// p + e == a * b exactly, p = a * b rounded (Dekker's product, Veltkamp's split).
void TwoProduct(float a, float b, out float p, out float e) {
  precise float ga = 4097.0 * a;
  precise float ah = ga - (ga - a);
  precise float al = a - ah;
  precise float gb = 4097.0 * b;
  precise float bh = gb - (gb - b);
  precise float bl = b - bh;
  precise float prod = a * b;
  precise float err = (((ah * bh - prod) + ah * bl) + al * bh) + al * bl;
  p = prod;
  e = err;
}

// a + b rounded to odd: rounded toward zero, then the last bit set if inexact.
float SumRoundedToOdd(float a, float b) {
  float s, e;
  TwoSum(a, b, s, e);
  const uint bits = floatBitsToUint(s);
  if (e == 0.0 || (bits & 1u) != 0u) return s;
  // s is even and inexact: the odd neighbour on e's side.
  return uintBitsToFloat((e > 0.0) == (s > 0.0) ? bits + 1u : bits - 1u);
}

float FmaExact(float a, float b, float c) {
  if (kFmaNative) {
    precise float f = fma(a, b, c);
    return f;
  }
  float uh, ul, th, tl;
  TwoProduct(a, b, uh, ul);
  TwoSum(c, uh, th, tl);
  precise float r = th + SumRoundedToOdd(tl, ul);
  return r;
}
