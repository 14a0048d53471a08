#version 450
#extension GL_GOOGLE_include_directive : require
// 2:4 sparse 4-bit weights in the Q4_SP24_R16_G64 layout times int8 activations (groups of
// 32 from q8_quantize): the contract of qd8_q4sp24_gemm_ref (sdk/kernels/qd8-q4sp24-gemm/),
//   y[t][r] = sum_g xscale[t][g] * (d[r][g / 2] * sum_{i<16} (u[r][g][i] - 8) * xq[t][g][c]),
// c = 4 * (i / 2) + p[r][g][i], reading the converter's bytes as stored (sdk/schema/kite.fbs,
// docs/file-format.md). Baseline: 32-bit storage and fp32 arithmetic only (bytes and nibbles
// are unpacked from uint words).
//
// One workgroup per 16-row block (gl_WorkGroupID.x) and tile of T tokens: workgroup y takes
// tokens [y * T, y * T + T) of the call (T = kTileTokens; the dispatch has n_tokens
// workgroups along y, and those past the call's tokens return at once). T = 1 is the decode
// matvec; T > 1 (prefill) reads each weight word once for T tokens. Of its WG invocations,
// invocation i takes row i % 16 of the block and every (WG/16)-th group (a 32-column
// sub-block) starting at i / 16, so 16 neighbouring invocations read 16 neighbouring words.
// The partial sums are then added across groups in shared memory (WG * T floats), the same
// order for every T.

// Specialization constants (set by q4sp24_matvec.cc from sdk/format/blocks.h):
layout(local_size_x_id = 0) in;  // WG: 16 x a power of two, <= 256
layout(constant_id = 1) const uint kBlockWords = 104;     // words per 16 x 64 block
layout(constant_id = 2) const uint kSubBlockWords = 48;   // words per 32-column sub-block
layout(constant_id = 3) const uint kPositionsWord = 32;   // word offset of the positions
layout(constant_id = 4) const uint kScalesWord = 96;      // word offset of the 16 f16 scales
layout(constant_id = 5) const uint kTileTokens = 1;       // T: tokens per workgroup, <= 8

layout(set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(set = 0, binding = 1) readonly buffer Activations { uint xq[]; };  // 4 int8 per word
layout(set = 0, binding = 2) readonly buffer ActScales { float xscale[]; };
layout(set = 0, binding = 3) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint n_tokens;      // the call's tokens (= the workgroups along y)
  uint pos;           // position of the call's first token
  uint rows;          // output rows to write
  uint groups;        // K / 32
  uint y_offset;      // y's RowAddress (rows.glsl)
  uint y_pos_stride;
  uint y_stride;
} p;

#include "rows.glsl"

const uint kRowsPerBlock = 16;
const uint kMaxTile = 8;
shared float partial[gl_WorkGroupSize.x * kTileTokens];

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint rr = lane % kRowsPerBlock;
  const uint lanes = gl_WorkGroupSize.x / kRowsPerBlock;
  const uint block = gl_WorkGroupID.x;
  const uint t0 = gl_WorkGroupID.y * kTileTokens;
  if (t0 >= p.n_tokens) return;  // the whole workgroup: no tokens left for this tile
  const uint col_blocks = (p.groups + 1) / 2;

  float acc[kMaxTile];
  for (uint k = 0; k < kTileTokens; ++k) acc[k] = 0.0;
  for (uint g = lane / kRowsPerBlock; g < p.groups; g += lanes) {
    const uint base = (block * col_blocks + g / 2) * kBlockWords;
    const uint sub = base + (g % 2) * kSubBlockWords;
    // Word h*16 + rr: byte j holds kept value 4h+j (low nibble) and 8+4h+j (high nibble);
    // word kPositionsWord + rr: byte j holds kept value 4s+j's position in bits 2s..2s+1.
    const uint nib[2] = uint[2](w[sub + rr], w[sub + 16 + rr]);
    const uint positions = w[sub + kPositionsWord + rr];
    const vec2 d2 = unpackHalf2x16(w[base + kScalesWord + rr / 2]);
    const float d = (rr & 1u) == 0u ? d2.x : d2.y;
    for (uint k = 0; k < kTileTokens; ++k) {
      const uint t = t0 + k;
      if (t >= p.n_tokens) break;
      const uint xbase = (t * p.groups + g) * 8;
      int dot = 0;
      for (uint s = 0; s < 4; ++s) {
        const uint nibbles = nib[s % 2] >> (s < 2 ? 0 : 4);
        for (uint j = 0; j < 4; ++j) {
          // Kept value i = 4s + j sits in quad i / 2 = 2s + j / 2 (activation word), byte p.
          const int u = int(bitfieldExtract(nibbles, int(8 * j), 4)) - 8;
          const uint at = bitfieldExtract(positions, int(8 * j + 2 * s), 2);
          dot += u * bitfieldExtract(int(xq[xbase + 2 * s + j / 2]), int(8 * at), 8);
        }
      }
      acc[k] += xscale[t * p.groups + g] * (d * float(dot));
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
  const uint r = block * kRowsPerBlock + lane;
  if (lane < kRowsPerBlock && r < p.rows) {
    for (uint k = 0; k < kTileTokens && t0 + k < p.n_tokens; ++k) {
      y[RowStart(p.y_offset, p.y_pos_stride, p.y_stride, p.pos, t0 + k) + r] =
          partial[k * wg + lane];
    }
  }
}
