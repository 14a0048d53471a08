#version 450
#extension GL_GOOGLE_include_directive : require
// 3-bit weights in the Q3_R16_G32 or Q3_R16_G64 layout times int8 activations, the decode
// matvec and (with a tile of several tokens) the prefill GEMM: the same contract as
// qd8_q3r16_gemm_ref (sdk/kernels/qd8-q3r16-gemm/ref.cc, the spec),
//   y[t][r] = sum_g xscale[t][g] * (d[r][g / S] * sum_j (u[r][g][j] - Z) * xq[t][g][j]),
// S = groups_per_scale (1: Q3_R16_G32, 2: Q3_R16_G64; a push constant, so one pipeline runs
// both), reading the converter's bytes as stored (sdk/schema/kite.fbs, docs/file-format.md).
// The integer sum is formed as sum_j u * xq - Z * xsum[t][g] (exact in int32, so equal to
// the reference's per-weight subtraction). Baseline: 32-bit storage and fp32 arithmetic only.
//
// The work split is q4r16_matvec.comp's: one workgroup per 16-row block (gl_WorkGroupID.x)
// and tile of T tokens (gl_WorkGroupID.y; T = kTileTokens, 1 for decode). The groups (of 32
// columns) are taken in chunks of WG/16: in a chunk, invocation i computes the integer sums
// of row i % 16 and group i / 16 into shared memory (WG * T ints); then invocation r < 16
// adds the chunk's groups of row r to the row's sums in group order.
//
// The float work per row and token is the CPU's AVX-512 variant's (qd8-q3r16-gemm/
// avx512vnni.cc), operation for operation, so the outputs (and the int8 codes quantized
// from them) are its bit for bit: one sum from 0, each group in order adding
// fma(float(dot) * xscale, d, acc) (FmaExact, fma_exact.glsl: rounded once on any device).
// The reference's form, xscale * (d * dot) per group, differs from it by roundings.
//
// A block (16 rows x 32 S columns) is S code parts of 48 words, then 8 words of 16 f16
// scales. Part h holds columns 32 h .. 32 h + 31: words 0..31 the low-2-bit plane (word
// (k / 4) * 16 + r, byte j, bits 2 (k % 4) .. +1: code bits 0..1 of row r, column 4k + j),
// words 32..47 the high-bit plane (word 32 + r, byte j, bit k: code bit 2 of row r, column
// 4k + j). Activation group g is part g % S of column block g / S. With S = 2 the call may
// have an odd number of groups: the last block's second part (padding) is not read.

// Specialization constants (set by q3r16_matvec.cc from sdk/format/blocks.h):
layout(local_size_x_id = 0) in;  // WG: 16 x a power of two, <= 256
layout(constant_id = 1) const uint kPartWords = 48;   // words per 16 x 32 code part
layout(constant_id = 2) const uint kHighWord = 32;    // word offset of a part's high-bit plane
layout(constant_id = 3) const uint kScaleWords = 8;   // words of the 16 f16 scales
layout(constant_id = 4) const int kZero = 4;          // the code of weight 0
layout(constant_id = 5) const uint kTileTokens = 1;   // T: tokens per workgroup, <= 8

layout(set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(set = 0, binding = 1) readonly buffer Activations { uint xq[]; };  // 4 int8 per word
layout(set = 0, binding = 2) readonly buffer ActScales { float xscale[]; };
layout(set = 0, binding = 3) readonly buffer ActSums { int xsum[]; };
layout(set = 0, binding = 4) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint n_tokens;      // the call's tokens (= the workgroups along y)
  uint pos;           // position of the call's first token
  uint rows;          // output rows to write
  uint groups;        // activation groups: ceil(K / 32)
  uint groups_per_scale;  // S: 1 (Q3_R16_G32) or 2 (Q3_R16_G64)
  uint y_offset;      // y's RowAddress (rows.glsl)
  uint y_pos_stride;
  uint y_stride;
} p;

#include "fma_exact.glsl"
#include "rows.glsl"

const uint kRowsPerBlock = 16;
const uint kMaxTile = 8;
shared int dots[gl_WorkGroupSize.x * kTileTokens];

// The signed dot product of two words of 4 packed int8 each (sum over bytes j of a_j * b_j).
int PackedDot(uint a, uint b) {
  int sum = 0;
  for (int j = 0; j < 4; ++j) {
    sum += bitfieldExtract(int(a), 8 * j, 8) * bitfieldExtract(int(b), 8 * j, 8);
  }
  return sum;
}

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint rr = lane % kRowsPerBlock;
  const uint wg = gl_WorkGroupSize.x;
  const uint lanes = wg / kRowsPerBlock;
  const uint block = gl_WorkGroupID.x;
  const uint t0 = gl_WorkGroupID.y * kTileTokens;
  if (t0 >= p.n_tokens) return;  // the whole workgroup: no tokens left for this tile

  precise float acc[kMaxTile];
  for (uint k = 0; k < kTileTokens; ++k) acc[k] = 0.0;
  const uint parts = p.groups_per_scale;
  const uint block_words = parts * kPartWords + kScaleWords;
  const uint col_blocks = (p.groups + parts - 1) / parts;
  for (uint g0 = 0; g0 < p.groups; g0 += lanes) {
    const uint g = g0 + lane / kRowsPerBlock;
    if (g < p.groups) {
      const uint col_block = g / parts;
      const uint base = (block * col_blocks + col_block) * block_words +
                        (g - col_block * parts) * kPartWords;
      // The codes of column quad q (columns 4q .. 4q + 3), one per byte, each in [0, 7].
      uint u[8];
      const uint low0 = w[base + rr], low1 = w[base + 16 + rr];
      const uint high = w[base + kHighWord + rr];
      for (uint q = 0; q < 8; ++q) {
        const uint low = q < 4 ? low0 : low1;
        u[q] = ((low >> (2 * (q % 4))) & 0x03030303u) | (((high >> q) & 0x01010101u) << 2);
      }
      for (uint k = 0; k < kTileTokens; ++k) {
        const uint t = t0 + k;
        if (t >= p.n_tokens) break;
        const uint tg = t * p.groups + g;
        int dot = -kZero * xsum[tg];
        for (uint q = 0; q < 8; ++q) dot += PackedDot(u[q], xq[tg * 8 + q]);
        dots[k * wg + lane] = dot;
      }
    }
    barrier();
    if (lane < kRowsPerBlock) {
      const uint gn = min(lanes, p.groups - g0);
      for (uint j = 0; j < gn; ++j) {
        const uint gj = g0 + j;
        const uint start = (block * col_blocks + gj / parts) * block_words;
        const vec2 d2 = unpackHalf2x16(w[start + parts * kPartWords + rr / 2]);
        const float d = (rr & 1u) == 0u ? d2.x : d2.y;
        for (uint k = 0; k < kTileTokens; ++k) {
          const uint t = t0 + k;
          if (t >= p.n_tokens) break;
          precise float sx = float(dots[k * wg + j * kRowsPerBlock + lane]) *
                             xscale[t * p.groups + gj];
          acc[k] = FmaExact(sx, d, acc[k]);
        }
      }
    }
    barrier();  // the next chunk overwrites dots
  }

  const uint r = block * kRowsPerBlock + lane;
  if (lane < kRowsPerBlock && r < p.rows) {
    for (uint k = 0; k < kTileTokens && t0 + k < p.n_tokens; ++k) {
      y[RowStart(p.y_offset, p.y_pos_stride, p.y_stride, p.pos, t0 + k) + r] = acc[k];
    }
  }
}
