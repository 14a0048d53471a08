#version 450
// Element-wise ops on n floats per token, one element per invocation:
//   kOp 0 (add):    a[i] += b[i];
//   kOp 1 (swiglu): a[i] = silu(a[i]) * b[i] with silu(g) = g / (1 + exp(-g)) (exp as the
//                   CPU's vector variants compute it, exp_cpu.glsl), the contract
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
#include "exp_cpu.glsl"
#include "rows.glsl"

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
