#version 450
// RMS normalisation of one vector of n floats per token, the contract of rmsnorm_ref
// (sdk/kernels/rmsnorm/): out = weight * (x / sqrt(mean(x^2) + eps)).
// One workgroup per token (gl_WorkGroupID.y); its WG invocations each add the squares of
// every WG-th element, the sums are added in shared memory (WG floats), then each
// invocation scales its elements. fp32 only.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(set = 0, binding = 2) writeonly buffer Output { float out_[]; };

layout(push_constant) uniform Push {
  uint n_tokens;    // the call's tokens (= the workgroups along y)
  uint pos;         // unused
  uint n;           // elements per vector
  uint x_stride;    // floats between tokens' vectors in x
  uint out_stride;  // ... in out
  float eps;
} p;

shared float partial[gl_WorkGroupSize.x];

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint base = gl_WorkGroupID.y * p.x_stride;
  const uint out_base = gl_WorkGroupID.y * p.out_stride;
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
