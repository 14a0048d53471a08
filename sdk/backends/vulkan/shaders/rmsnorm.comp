#version 450
#extension GL_GOOGLE_include_directive : require
// RMS normalisation of one vector of n floats per token, the contract of rmsnorm_ref
// (sdk/kernels/rmsnorm/): out = weight * (x / sqrt(mean(x^2) + eps)).
// Rows at RowAddresses (rows.glsl). One workgroup per token (gl_WorkGroupID.y). The sum of
// squares is the CPU's AVX-512 variant's (rmsnorm/simd.h with 16 lanes), bit for bit, so
// the int8 codes quantized from the output are the CPU's: 16 lanes, lane k adding with
// fused multiply-adds (FmaExact, rounded once on any device) x[32b + k]^2 to s0[k] and
// x[32b + 16 + k]^2 to s1[k] over the whole blocks of 32, then the last n % 32 elements in
// steps of 16 into s0; the lanes' s0 + s1 are then added as _mm512_reduce_add_ps does
// (strides 8, 4, 2, 1). Invocation i takes the lanes i, i + WG, ... below 16; the divisions
// are exact (DivExact), Vulkan's sqrt is assumed correctly rounded (lavapipe's is). Each
// invocation then scales every WG-th element.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(set = 0, binding = 2) writeonly buffer Output { float out_[]; };

layout(push_constant) uniform Push {
  uint n_tokens;        // the call's tokens (= the workgroups along y)
  uint pos;             // position of the call's first token
  uint n;               // elements per vector
  uint x_offset;        // x's RowAddress (rows.glsl)
  uint x_pos_stride;
  uint x_stride;
  uint out_offset;      // out's RowAddress
  uint out_pos_stride;
  uint out_stride;
  float eps;
} p;

#include "div_exact.glsl"
#include "fma_exact.glsl"
#include "rows.glsl"

const uint kLanes = 16;  // the AVX-512 variant's lanes
shared float lane_sum[kLanes];

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint t = gl_WorkGroupID.y;
  const uint base = RowStart(p.x_offset, p.x_pos_stride, p.x_stride, p.pos, t);
  const uint out_base = RowStart(p.out_offset, p.out_pos_stride, p.out_stride, p.pos, t);
  const uint whole = p.n - p.n % (2 * kLanes);  // elements in whole blocks of 32
  for (uint k = lane; k < kLanes; k += gl_WorkGroupSize.x) {
    precise float s0 = 0.0, s1 = 0.0;
    for (uint i = 0; i < whole; i += 2 * kLanes) {
      const float v0 = x[base + i + k], v1 = x[base + i + kLanes + k];
      s0 = FmaExact(v0, v0, s0);
      s1 = FmaExact(v1, v1, s1);
    }
    for (uint i = whole + k; i < p.n; i += kLanes) s0 = FmaExact(x[base + i], x[base + i], s0);
    lane_sum[k] = s0 + s1;
  }
  barrier();
  precise float ss = 0.0;
  {
    float v[kLanes];
    for (uint k = 0; k < kLanes; ++k) v[k] = lane_sum[k];
    for (uint s = kLanes / 2; s > 0; s /= 2) {
      for (uint k = 0; k < s; ++k) v[k] = v[k + s] + v[k];
    }
    ss = v[0];
  }
  // DivExact takes finite operands and a normal divisor: an overflowed sum, or a zero mean
  // with eps = 0, takes Vulkan's '/' (inf or NaN either way).
  const bool finite = !isinf(ss) && !isnan(ss);
  precise float ms = (finite ? DivExact(ss, float(p.n)) : ss / float(p.n)) + p.eps;
  const float r = sqrt(ms);
  const float inv = r > 0.0 && !isinf(r) ? DivExact(1.0, r) : 1.0 / r;
  for (uint i = lane; i < p.n; i += gl_WorkGroupSize.x) {
    out_[out_base + i] = weight[i] * (inv * x[base + i]);
  }
}
