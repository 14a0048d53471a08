#version 450
#extension GL_GOOGLE_include_directive : require
// Activation quantization, the contract of q8_quantize_ref (sdk/kernels/q8-quantize/) with
// groups of G = 4 * group_words (32 for the Q4_R16 and 2:4 layouts, the matrix's group for
// Q4_ROW_GROUPS), bit for bit: per group scale = amax / 127, inv = 1 / scale (0 for an
// all-zero group), q = round-to-nearest-even(x * inv), sum = the sum of q; q is 0 past cols.
// Both divisions are done exactly in integers (DivExact): Vulkan lets '/' be 2.5 ulp off,
// while the multiplication x * inv is correctly rounded ('precise': not fused).
//
// Invocation i of workgroup (x, t) quantizes group x * WG + i of token t: G floats in,
// G / 4 words of 4 int8 (byte k of word j is element 4j + k), a scale and a sum out.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Codes { uint xq[]; };  // 4 int8 per word
layout(set = 0, binding = 2) writeonly buffer Scales { float xscale[]; };
layout(set = 0, binding = 3) writeonly buffer Sums { int xsum[]; };

layout(push_constant) uniform Push {
  uint n_tokens;  // the call's tokens (= the workgroups along y)
  uint pos;       // position of the call's first token
  uint cols;      // floats per row
  uint groups;    // ceil(cols / G)
  uint x_offset;  // x's RowAddress (rows.glsl)
  uint x_pos_stride;
  uint x_stride;
  uint group_words;  // G / 4
} p;

#include "div_exact.glsl"
#include "rows.glsl"

void main() {
  const uint g = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  const uint t = gl_WorkGroupID.y;
  if (g >= p.groups) return;
  const uint kGroupWords = p.group_words;
  const uint kGroup = kGroupWords * 4;
  const uint row = RowStart(p.x_offset, p.x_pos_stride, p.x_stride, p.pos, t);
  const uint begin = g * kGroup;
  const uint end = min(begin + kGroup, p.cols);

  float amax = 0.0;
  for (uint i = begin; i < end; ++i) amax = max(amax, abs(x[row + i]));
  const float scale = DivExact(amax, 127.0);
  const float inv = scale != 0.0 ? DivExact(1.0, scale) : 0.0;

  int sum = 0;
  const uint out_word = (t * p.groups + g) * kGroupWords;
  for (uint j = 0; j < kGroupWords; ++j) {
    uint word = 0u;
    for (uint k = 0; k < 4; ++k) {
      const uint i = begin + 4 * j + k;
      int q = 0;
      if (i < end) {
        precise float v = x[row + i] * inv;
        q = int(roundEven(v));
      }
      sum += q;
      word = bitfieldInsert(word, uint(q), int(8 * k), 8);
    }
    xq[out_word + j] = word;
  }
  xscale[t * p.groups + g] = scale;
  xsum[t * p.groups + g] = sum;
}
