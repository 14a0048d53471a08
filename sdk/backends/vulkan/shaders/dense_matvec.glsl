// y = W x for f32 row-major W [rows][cols], the contract of f32_matvec_ref
// (sdk/kernels/f32-matvec/), per token. Workgroup (x, t) computes rows
// [x * rows_per_group, (x + 1) * rows_per_group) of token t; for each row its WG
// invocations add every WG-th product (neighbouring invocations read neighbouring floats)
// and the partial sums are added in shared memory. fp32 arithmetic; the weights are f32, or
// f16 where KITE_F16_WEIGHTS is defined (f16_matvec.comp), each widened to f32 exactly.
// Included by f32_matvec.comp and f16_matvec.comp.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

#ifdef KITE_F16_WEIGHTS
layout(set = 0, binding = 0) readonly buffer Weights { float16_t w[]; };
#else
layout(set = 0, binding = 0) readonly buffer Weights { float w[]; };
#endif
layout(set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(set = 0, binding = 2) writeonly buffer Output { float y[]; };

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
    float acc = 0.0;
    for (uint c = lane; c < p.cols; c += gl_WorkGroupSize.x) {
      acc += float(w[r * p.cols + c]) * x[xrow + c];
    }
    const float sum = WorkgroupSum(acc);
    if (lane == 0) y[yrow + r] = sum;
  }
}
