#version 450
// The fma probe (fma_probe.h): r[i] = fma(a, b, c) of the i-th operand triple, as the
// device computes GLSL's fma(). One invocation per triple.

layout(local_size_x_id = 0) in;  // WG: a power of two

layout(set = 0, binding = 0) readonly buffer In { float v[]; };  // a, b, c per triple
layout(set = 0, binding = 1) writeonly buffer Out { float r[]; };

layout(push_constant) uniform Push {
  uint n_tokens;  // 1
  uint pos;       // 0
  uint n;         // triples
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.n) return;
  precise float x = fma(v[3 * i], v[3 * i + 1], v[3 * i + 2]);
  r[i] = x;
}
