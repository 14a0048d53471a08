#version 450
// Element-wise ops on n floats per token, one element per invocation:
//   kOp 0 (add):    a[i] += b[i];
//   kOp 1 (swiglu): a[i] = silu(a[i]) * b[i] with silu(g) = g / (1 + exp(-g)) (exp as the
//                   CPU's vector variants compute it, ExpLikeCpu below), the contract
//                   of swiglu_ref (sdk/kernels/swiglu/).
// Workgroups: ceil(n / WG) along x, the call's tokens along y. fp32 only.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256
layout(constant_id = 1) const uint kOp = 0;

layout(set = 0, binding = 0) buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };

layout(push_constant) uniform Push {
  uint n_tokens;  // the call's tokens (= the workgroups along y)
  uint pos;       // position of the call's first token
  uint n;         // floats per row
  uint a_offset, a_pos_stride, a_stride;  // a's RowAddress (rows.glsl)
  uint b_offset, b_pos_stride, b_stride;  // b's RowAddress
} p;

#include "div_exact.glsl"
#include "rows.glsl"

// e^x as the CPU's vector variants compute it (sdk/kernels/simd/f32-exp.h, which documents
// the method and the constants: Cody-Waite reduction by ln 2, a degree-6 polynomial with
// fused multiply-adds, scaling by 2^n), the same operations in the same order, so SwiGLU's
// outputs, and the int8 codes quantized from them, are the AVX-512 variant's where the
// device fuses fma() (lavapipe does). The scaling is split in two so that n = 128 does not
// overflow ldexp.
float ExpLikeCpu(float x) {
  precise float xc = min(89.0, max(-104.0, x));
  precise float n = roundEven(xc * 1.44269502);
  precise float r = fma(-n, 0.693147182, xc);
  r = fma(-n, -1.90465421e-09, r);
  precise float q = 1.39261759e-3;
  q = fma(q, r, 8.36317334e-3);
  q = fma(q, r, 4.16665561e-2);
  q = fma(q, r, 1.66665778e-1);
  q = fma(q, r, 0.5);
  q = fma(q, r, 1.0);
  q = fma(q, r, 1.0);
  const int ni = int(n), h = ni / 2;
  return ldexp(ldexp(q, h), ni - h);
}


void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.n) return;
  const uint t = gl_WorkGroupID.y;
  const uint ai = RowStart(p.a_offset, p.a_pos_stride, p.a_stride, p.pos, t) + i;
  const float y = b[RowStart(p.b_offset, p.b_pos_stride, p.b_stride, p.pos, t) + i];
  if (kOp == 0) {
    a[ai] += y;
  } else {
    const float g = a[ai];
    // g / (1 + e^-g), the division exact (DivExact, for finite g) as the CPU's.
    precise float den = 1.0 + ExpLikeCpu(-g);
    const float mag = isinf(g) || isnan(g) ? abs(g) / den : DivExact(abs(g), den);
    precise float silu = g < 0.0 ? -mag : mag;
    a[ai] = silu * y;
  }
}
