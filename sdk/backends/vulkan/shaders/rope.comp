#version 450
// Rotary position embedding in place, the contract of rope_freqs_ref (sdk/kernels/rope/):
// pair (x[2i], x[2i+1]) of each of `heads` heads of `head_dim` floats in token t's row is
// rotated by the angle float(pos + t) * inv_freq[i]. rope_ref (theta) is the same with the
// table RopeInverseFrequencies computes, which is rope_ref's own float arithmetic.
//
// The angle is the CPU's float product (Vulkan rounds f32 multiplication correctly). Its
// sine and cosine are computed here rather than by the driver's sin/cos, whose precision
// Vulkan leaves loose (2^-11 absolute, and only within [-pi, pi]) while angles reach the
// context length in radians: the angle is reduced by j multiples of pi/2 split in four
// floats (Cody-Waite: the first three have at most 7 significant bits, so for j < 2^17,
// i.e. angles below ~205800, the products j * C1..C3 and the three subtractions are exact
// and only the last one rounds), then Taylor polynomials on [-pi/4, pi/4] to 1e-9. `precise` keeps the compiler from fusing or
// reordering the reduction and the rotation (the CPU reference does not fuse either).
// One invocation per pair; workgroups: ceil(heads * head_dim / 2 / WG) along x, tokens
// along y. fp32 only.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 0) buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer InvFreq { float inv_freq[]; };  // head_dim / 2

layout(push_constant) uniform Push {
  uint n_tokens;   // the call's tokens (= the workgroups along y)
  uint pos;        // position of the call's first token
  uint heads;      // heads per row
  uint head_dim;   // floats per head (even)
  uint x_offset, x_pos_stride, x_stride;  // x's RowAddress (rows.glsl)
} p;

#include "rows.glsl"


// pi/2 = kC1 + kC2 + kC3 + kC4 (kC1..kC3: 5, 7 and 7 significant bits; kC4 rounded to f32).
const float kC1 = 1.5625;
const float kC2 = 0.0081787109375;
const float kC3 = 0.00011730194091796875;
const float kC4 = 3.1391647326017846e-07;
const float kTwoOverPi = 0.63661977236758134;

// sin and cos of r in [-pi/4, pi/4] (Taylor to r^11 and r^10).
float SinSmall(float r) {
  const float r2 = r * r;
  return r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 +
         r2 * (1.0 / 362880.0 + r2 * (-1.0 / 39916800.0)))));
}
float CosSmall(float r) {
  const float r2 = r * r;
  return 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 +
         r2 * (-1.0 / 3628800.0)))));
}

void main() {
  const uint half_dim = p.head_dim / 2;
  const uint k = gl_GlobalInvocationID.x;
  if (k >= p.heads * half_dim) return;
  const uint t = gl_WorkGroupID.y;
  const uint i = k % half_dim;
  precise const float angle = float(p.pos + t) * inv_freq[i];
  const float j = roundEven(angle * kTwoOverPi);
  precise const float r = (((angle - j * kC1) - j * kC2) - j * kC3) - j * kC4;
  const float s = SinSmall(r), c = CosSmall(r);
  float sin_a, cos_a;
  switch (int(j) & 3) {  // the quadrant
    case 0: sin_a = s; cos_a = c; break;
    case 1: sin_a = c; cos_a = -s; break;
    case 2: sin_a = -s; cos_a = -c; break;
    default: sin_a = -c; cos_a = s; break;
  }
  const uint e = RowStart(p.x_offset, p.x_pos_stride, p.x_stride, p.pos, t) + (k / half_dim) *
                 p.head_dim + 2 * i;
  const float v0 = x[e], v1 = x[e + 1];
  precise const float y0 = v0 * cos_a - v1 * sin_a;
  precise const float y1 = v0 * sin_a + v1 * cos_a;
  x[e] = y0;
  x[e + 1] = y1;
}
