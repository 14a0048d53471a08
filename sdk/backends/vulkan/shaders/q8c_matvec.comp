#version 450
#extension GL_GOOGLE_include_directive : require
// y = (W x) * scale[r] for Q8_C weights (int8 [rows][cols] row-major, an f32 scale per row),
// the contract of q8c_matvec_ref (sdk/kernels/q8c-matvec/), per token. The int8 weights
// are read 4 per word; row r is bytes [r * cols, (r + 1) * cols), which need not start or
// end on a word when cols % 4 != 0, so each word's bytes outside the row are skipped.
// Workgroup (x, t) computes rows [x * rows_per_group, (x + 1) * rows_per_group) of token
// t; for each row its WG invocations take every WG-th word of the row and the partial sums
// are added in shared memory. Baseline: 32-bit storage, fp32 arithmetic.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 0) readonly buffer Weights { uint w[]; };  // 4 int8 per word
layout(set = 0, binding = 1) readonly buffer Scales { float scale[]; };
layout(set = 0, binding = 2) readonly buffer Input { float x[]; };
layout(set = 0, binding = 3) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint n_tokens;        // the call's tokens (= the workgroups along y)
  uint pos;             // position of the call's first token
  uint rows;            // output rows
  uint cols;            // input width
  uint rows_per_group;  // rows a workgroup computes
  uint x_offset;        // x's RowAddress (rows.glsl)
  uint x_pos_stride;
  uint x_stride;
  uint y_offset;        // y's RowAddress
  uint y_pos_stride;
  uint y_stride;
} p;

#include "rows.glsl"
#include "workgroup_sum.glsl"

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint t = gl_WorkGroupID.y;
  const uint xrow = RowStart(p.x_offset, p.x_pos_stride, p.x_stride, p.pos, t);
  const uint yrow = RowStart(p.y_offset, p.y_pos_stride, p.y_stride, p.pos, t);
  const uint first = gl_WorkGroupID.x * p.rows_per_group;
  const uint last = min(first + p.rows_per_group, p.rows);
  for (uint r = first; r < last; ++r) {
    const uint begin = r * p.cols;  // the row's first byte
    const uint end = begin + p.cols;
    float acc = 0.0;
    for (uint wi = begin / 4 + lane; wi * 4 < end; wi += gl_WorkGroupSize.x) {
      const int word = int(w[wi]);
      for (uint k = 0; k < 4; ++k) {
        const uint b = wi * 4 + k;
        if (b >= begin && b < end) {
          acc += float(bitfieldExtract(word, int(8 * k), 8)) * x[xrow + b - begin];
        }
      }
    }
    const float sum = WorkgroupSum(acc);
    if (lane == 0) y[yrow + r] = sum * scale[r];
  }
}
