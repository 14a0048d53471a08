// The body every embedding shader shares (embedding_*.comp): invocation i of workgroup
// (x, t) writes column x * WG + i of token t's row when the token's id is in the table part
// [row_begin, row_begin + row_count). The including shader declares the local size, the
// table's buffers (bindings 2 and up) and defines
//   float TableElement(uint row, uint col);  // row: within the part

layout(set = 0, binding = 0) readonly buffer Tokens { uint tokens[]; };
layout(set = 0, binding = 1) writeonly buffer Output { float out_[]; };

layout(push_constant) uniform Push {
  uint n_tokens;   // the call's tokens (= the workgroups along y)
  uint pos;        // position of the call's first token
  uint cols;       // floats per row
  uint row_begin;  // the part's first table row
  uint row_count;  // the part's rows
  uint groups;     // groups per row (Q4_R16 layouts: of 32; Q4_ROW_GROUPS, Q3_R16: of p.group)
  uint group;      // Q4_ROW_GROUPS: the group size G (even); Q3_R16: 32 or 64; else unused
  uint mins_at;    // Q4_ROW_GROUPS: half index of the first min in the params; 0: none
  uint out_offset;  // out's RowAddress (rows.glsl)
  uint out_pos_stride;
  uint out_stride;
  uint codebook[4];  // Q4_R16_G32_CB: the 16 int8 entries (codebook.glsl); else unused
} p;

#include "rows.glsl"

float TableElement(uint row, uint col);

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint col = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  const uint id = tokens[t];
  if (col >= p.cols || id < p.row_begin || id - p.row_begin >= p.row_count) return;
  out_[RowStart(p.out_offset, p.out_pos_stride, p.out_stride, p.pos, t) + col] =
      TableElement(id - p.row_begin, col);
}
