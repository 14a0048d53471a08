#version 450
#extension GL_GOOGLE_include_directive : require
// RMS normalisation of one vector of n floats per token, the contract of rmsnorm_ref
// (sdk/kernels/rmsnorm/): out = weight * (x / sqrt(mean(x^2) + eps)).
// Rows at RowAddresses (rows.glsl). One workgroup per token (gl_WorkGroupID.y); its WG
// invocations each add the squares of every WG-th element, the sums are added in shared memory (WG floats), then each
// invocation scales its elements. fp32 only.

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

#include "rows.glsl"

shared float partial[gl_WorkGroupSize.x];

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint t = gl_WorkGroupID.y;
  const uint base = RowStart(p.x_offset, p.x_pos_stride, p.x_stride, p.pos, t);
  const uint out_base = RowStart(p.out_offset, p.out_pos_stride, p.out_stride, p.pos, t);
  float ss = 0.0;
  for (uint i = lane; i < p.n; i += gl_WorkGroupSize.x) ss += x[base + i] * x[base + i];
  partial[lane] = ss;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s /= 2) {
    if (lane < s) partial[lane] += partial[lane + s];
    barrier();
  }
  const float inv = 1.0 / sqrt(partial[0] / float(p.n) + p.eps);
  for (uint i = lane; i < p.n; i += gl_WorkGroupSize.x) {
    out_[out_base + i] = weight[i] * (inv * x[base + i]);
  }
}
