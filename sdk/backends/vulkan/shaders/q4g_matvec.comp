#version 450
#extension GL_GOOGLE_include_directive : require
// 4-bit weights in the Q4_ROW_GROUPS layout (groups of G along each row, f16 scales and
// optional f16 mins per row and group) times int8 activations quantized with the same group
// (q8_quantize): the contract of q4_matvec_ref (sdk/kernels/q4-matvec/),
//   y[t][r] = sum_g xscale[t][g] * (d[r][g] * sum_j (u[r][g][j] - 8) * xq[t][g][j]
//                                   + m[r][g] * sum_j xq[t][g][j]),
// reading the converter's bytes as stored (sdk/schema/kite.fbs, docs/file-format.md).
// Baseline: 32-bit storage and fp32 arithmetic only (nibbles, bytes and f16 are unpacked
// from uint words). G is a multiple of 8, so every group starts on a word: G / 8 weight
// words and G / 4 activation words. The group sums of the codes are added here (exact
// integers, equal to q8_quantize's xsum), so the shader binds 5 buffers.
//
// One workgroup per 16 rows (gl_WorkGroupID.x) and tile of T tokens: workgroup y takes
// tokens [y * T, y * T + T) of the call (T = kTileTokens; the dispatch has n_tokens
// workgroups along y, and those past the call's tokens return at once). T = 1 is the decode
// matvec; T > 1 (prefill) reads each weight word once for T tokens. Of its WG invocations,
// invocation i takes row i % 16 and every (WG/16)-th group starting at i / 16; the partial
// sums are then added across groups in shared memory (WG * T floats), the same order for
// every T.

layout(local_size_x_id = 0) in;  // WG: 16 x a power of two, <= 256
layout(constant_id = 1) const uint kTileTokens = 1;  // T: tokens per workgroup, <= 8

layout(set = 0, binding = 0) readonly buffer Weights { uint w[]; };
// rows * groups f16 scales (row-major, 2 per word), then as many f16 mins from half index
// p.mins_at when p.mins_at != 0.
layout(set = 0, binding = 1) readonly buffer Params { uint params[]; };
layout(set = 0, binding = 2) readonly buffer Activations { uint xq[]; };  // 4 int8 per word
layout(set = 0, binding = 3) readonly buffer ActScales { float xscale[]; };
layout(set = 0, binding = 4) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint n_tokens;     // the call's tokens (= the workgroups along y)
  uint pos;          // position of the call's first token
  uint rows;         // output rows to write
  uint groups;       // groups per row: ceil(K / G)
  uint group_words;  // G / 8: weight words per group (activation words: twice as many)
  uint mins_at;      // half index of the first min in params; 0: no mins
  uint y_offset;     // y's RowAddress (rows.glsl)
  uint y_pos_stride;
  uint y_stride;
} p;

#include "rows.glsl"

const uint kRowsPerBlock = 16;
const uint kMaxTile = 8;
shared float partial[gl_WorkGroupSize.x * kTileTokens];

float Half(uint index) {
  const vec2 pair = unpackHalf2x16(params[index / 2]);
  return (index & 1u) == 0u ? pair.x : pair.y;
}

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint lanes = gl_WorkGroupSize.x / kRowsPerBlock;
  const uint r = gl_WorkGroupID.x * kRowsPerBlock + lane % kRowsPerBlock;
  const uint t0 = gl_WorkGroupID.y * kTileTokens;
  if (t0 >= p.n_tokens) return;  // the whole workgroup: no tokens left for this tile
  // Token k of the tile reads token tk[k]: past the call's last token (a partial tile) it
  // repeats that token, whose sums are not written, so every loop over the tile has the
  // constant trip count T (unrolled, the sums kept in registers).
  uint tk[kMaxTile];
  for (uint k = 0; k < kTileTokens; ++k) tk[k] = min(t0 + k, p.n_tokens - 1u);

  float acc[kMaxTile];
  for (uint k = 0; k < kTileTokens; ++k) acc[k] = 0.0;
  if (r < p.rows) {
    for (uint g = lane / kRowsPerBlock; g < p.groups; g += lanes) {
      const uint wbase = (r * p.groups + g) * p.group_words;
      int dot[kMaxTile], xsum[kMaxTile];
      for (uint k = 0; k < kTileTokens; ++k) {
        dot[k] = 0;
        xsum[k] = 0;
      }
      for (uint i = 0; i < p.group_words; ++i) {
        // Byte b of weight word i holds elements 8i + 2b (low nibble) and 8i + 2b + 1 (high),
        // which are bytes 2b % 4 and 2b % 4 + 1 of activation word 2i + b / 2.
        const uint word = w[wbase + i];
        for (uint k = 0; k < kTileTokens; ++k) {
          const uint xbase = (tk[k] * p.groups + g) * 2 * p.group_words;
          const int x0 = int(xq[xbase + 2 * i]), x1 = int(xq[xbase + 2 * i + 1]);
          for (uint b = 0; b < 4; ++b) {
            const int xw = b < 2 ? x0 : x1;
            const int even = bitfieldExtract(xw, int(16 * (b % 2)), 8);
            const int odd = bitfieldExtract(xw, int(16 * (b % 2) + 8), 8);
            dot[k] += (int(bitfieldExtract(word, int(8 * b), 4)) - 8) * even +
                      (int(bitfieldExtract(word, int(8 * b + 4), 4)) - 8) * odd;
            xsum[k] += even + odd;
          }
        }
      }
      const uint rg = r * p.groups + g;
      const float d = Half(rg);
      const float m = p.mins_at != 0u ? Half(p.mins_at + rg) : 0.0;
      for (uint k = 0; k < kTileTokens; ++k) {
        float group_sum = d * float(dot[k]);
        if (p.mins_at != 0u) group_sum += m * float(xsum[k]);
        acc[k] += xscale[tk[k] * p.groups + g] * group_sum;
      }
    }
  }

  const uint wg = gl_WorkGroupSize.x;
  for (uint k = 0; k < kTileTokens; ++k) partial[k * wg + lane] = acc[k];
  barrier();
  for (uint s = wg / 2; s >= kRowsPerBlock; s /= 2) {
    if (lane < s) {
      for (uint k = 0; k < kTileTokens; ++k) partial[k * wg + lane] += partial[k * wg + lane + s];
    }
    barrier();
  }
  if (lane < kRowsPerBlock && r < p.rows) {
    for (uint k = 0; k < kTileTokens && t0 + k < p.n_tokens; ++k) {
      y[RowStart(p.y_offset, p.y_pos_stride, p.y_stride, p.pos, t0 + k) + r] =
          partial[k * wg + lane];
    }
  }
}
