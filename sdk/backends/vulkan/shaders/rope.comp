#version 450
// Rotary position embedding in place, the contract of rope_freqs_ref (sdk/kernels/rope/):
// pair (x[2i], x[2i+1]) of each of `heads` heads of `head_dim` floats in token t's row is
// rotated by the cosine and sine of its angle at position pos + t, read from a table the
// host computed with the CPU kernels' own operations (kernels::RopeCosSinTable: libm's
// cosf/sinf of float(pos) * inv_freq[i]): (cos, sin) of pair i at position P are
// cos_sin[2 (P head_dim / 2 + i)] and the next float. The rotation is the CPU's too: two
// rounded products and one rounded sum or difference per output, kept unfused by
// `precise`, so the result is rope_ref's (rope_freqs_ref's) bit for bit.
// One invocation per pair; workgroups: ceil(heads * head_dim / 2 / WG) along x, tokens
// along y. fp32 only.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 0) buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer CosSin { float cos_sin[]; };  // positions x pairs

layout(push_constant) uniform Push {
  uint n_tokens;   // the call's tokens (= the workgroups along y)
  uint pos;        // position of the call's first token
  uint heads;      // heads per row
  uint head_dim;   // floats per head (even)
  uint x_offset, x_pos_stride, x_stride;  // x's RowAddress (rows.glsl)
} p;

#include "rows.glsl"

void main() {
  const uint half_dim = p.head_dim / 2;
  const uint k = gl_GlobalInvocationID.x;
  if (k >= p.heads * half_dim) return;
  const uint t = gl_WorkGroupID.y;
  const uint i = k % half_dim;
  const uint a = 2 * ((p.pos + t) * half_dim + i);
  const float cos_a = cos_sin[a], sin_a = cos_sin[a + 1];
  const uint e = RowStart(p.x_offset, p.x_pos_stride, p.x_stride, p.pos, t) + (k / half_dim) *
                 p.head_dim + 2 * i;
  const float v0 = x[e], v1 = x[e + 1];
  precise const float y0 = v0 * cos_a - v1 * sin_a;
  precise const float y1 = v0 * sin_a + v1 * cos_a;
  x[e] = y0;
  x[e + 1] = y1;
}
