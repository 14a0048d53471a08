#version 450
#extension GL_GOOGLE_include_directive : require
// 4-bit weights in the Q4_R16_G32 (or Q4_R16_G32_SYM, or Q4_R16_G32_CB) layout times int8
// activations, the decode matvec: the same contract as qd8_q4r16_gemm_ref
// (sdk/kernels/qd8-q4r16-gemm/),
//   y[t][r] = sum_g xscale[t][g] * (d[r][g] * sum_j u[r][g][j] * xq[t][g][j]
//                                   + o[r][g] * xsum[t][g]),
// and with kCodebook (qd8_q4r16cb_gemm_ref, the SYM blocks) u is replaced by the tensor's
// int8 codebook entry codebook[u] and o = 0: the integer sum is the reference's, exactly.
// reading the converter's bytes as stored (sdk/schema/kite.fbs, docs/file-format.md).
// Baseline: 32-bit storage and fp32 arithmetic only (bytes are unpacked from uint words).
//
// One workgroup per 16-row block (gl_WorkGroupID.x) and tile of T tokens: workgroup y
// takes tokens [y * T, y * T + T) of the call (T = kTileTokens; the dispatch has n_tokens
// workgroups along y, and those past the call's tokens return at once). T = 1 is the decode
// matvec; T > 1 (prefill) reads each weight word once for T tokens. The groups are taken in
// chunks of WG/16: in a chunk, invocation i computes the integer sums of row i % 16 and
// group i / 16 (16 neighbouring invocations read 16 neighbouring words of a block) into
// shared memory (WG * T ints); then invocation r < 16 adds the chunk's groups of row r to
// the row's sums in group order.
//
// The float work per row and token is the CPU's AVX-512 variant's (qd8-q4r16-gemm/
// avx512vnni.cc), operation for operation, so the outputs (and the int8 codes quantized
// from them) are its bit for bit: one sum from 0, each group in order adding
// fma(float(dot) * xscale, d, acc) (FmaExact, fma_exact.glsl: rounded once on any device),
// with the offset-free layouts' -8 (not the codebook's) folded into the integer sum
// (dot - 8 xsum), and the layout with offsets then fma(o, xscale * float(xsum), acc). The reference's other float
// form, xscale * (d * dot + o * xsum) per group, differs from it by roundings.

// Specialization constants (set by q4r16_matvec.cc from sdk/format/blocks.h):
layout(local_size_x_id = 0) in;  // WG: 16 x a power of two, <= 256
layout(constant_id = 1) const uint kBlockWords = 80;    // words per 16 x 32 block
layout(constant_id = 2) const uint kScalesWord = 64;    // word offset of the 16 f16 scales
layout(constant_id = 3) const uint kOffsetsWord = 72;   // word offset of the 16 f16 offsets
layout(constant_id = 4) const bool kSymmetric = false;  // no offsets: o = -8 d
layout(constant_id = 5) const uint kTileTokens = 1;     // T: tokens per workgroup, <= 8
// Q4_R16_G32_CB (with kSymmetric), in this shader and its integer-dot variant alike.
layout(constant_id = 6) const bool kCodebook = false;

layout(set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(set = 0, binding = 1) readonly buffer Activations { uint xq[]; };  // 4 int8 per word
layout(set = 0, binding = 2) readonly buffer ActScales { float xscale[]; };
layout(set = 0, binding = 3) readonly buffer ActSums { int xsum[]; };
layout(set = 0, binding = 4) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint n_tokens;      // the call's tokens (= the workgroups along y)
  uint pos;           // position of the call's first token
  uint rows;          // output rows to write
  uint groups;        // K / 32
  uint y_offset;      // y's RowAddress (rows.glsl)
  uint y_pos_stride;
  uint y_stride;
  uint codebook[4];   // kCodebook: the 16 int8 entries, entry u in byte u % 4 of word u / 4
} p;

#include "fma_exact.glsl"
#include "rows.glsl"

const uint kRowsPerBlock = 16;
const uint kMaxTile = 8;
shared int dots[gl_WorkGroupSize.x * kTileTokens];

// The signed dot product of two words of 4 packed int8 each (sum over bytes j of a_j * b_j).
// q4r16_matvec_dot.spvasm, the integer-dot variant, is this shader with this function's body
// replaced by one OpSDotKHR (4x8-bit packed signed operands).
int PackedDot(uint a, uint b) {
  int sum = 0;
  for (int j = 0; j < 4; ++j) {
    sum += bitfieldExtract(int(a), 8 * j, 8) * bitfieldExtract(int(b), 8 * j, 8);
  }
  return sum;
}

#include "codebook.glsl"

// kCodebook: the integer sum of one group, sum_j codebook[u[j]] * xq[j] (the order does not
// matter: integer sums are exact). Each weight word's 4 low (and 4 high) nibbles are looked
// up and their entries packed into a word, 4 int8, multiplied with the activation word by
// PackedDot (so the integer-dot variant does them with OpSDot too). `wq` as in main;
// `xbase`: the group's first xq word.
int CodebookDot(uint wq[4], uint xbase) {
  int dot = 0;
  for (uint q = 0; q < 4; ++q) {
    uint lo = 0u, hi = 0u;
    for (uint j = 0; j < 4; ++j) {
      const uint byte = (wq[q] >> (8 * j)) & 0xFFu;
      lo |= (uint(CodebookEntry(byte & 0x0Fu)) & 0xFFu) << (8 * j);
      hi |= (uint(CodebookEntry(byte >> 4)) & 0xFFu) << (8 * j);
    }
    dot += PackedDot(lo, xq[xbase + q]);
    dot += PackedDot(hi, xq[xbase + 4 + q]);
  }
  return dot;
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
  for (uint g0 = 0; g0 < p.groups; g0 += lanes) {
    const uint g = g0 + lane / kRowsPerBlock;
    if (g < p.groups) {
      const uint base = (block * p.groups + g) * kBlockWords;
      // Word q*16 + rr: byte j holds u[rr][4q+j] (low nibble) and u[rr][16+4q+j] (high).
      uint wq[4];
      for (uint q = 0; q < 4; ++q) wq[q] = w[base + q * 16 + rr];
      for (uint k = 0; k < kTileTokens; ++k) {
        const uint t = t0 + k;
        if (t >= p.n_tokens) break;
        const uint xbase = (t * p.groups + g) * 8;
        // The low nibbles of word q pair with activation word q, the high ones with word
        // 4 + q; masked to 0x0F per byte, each is 4 int8 in [0, 15].
        int dot = 0;
        if (kCodebook) {
          dot = CodebookDot(wq, xbase);
        } else {
          for (uint q = 0; q < 4; ++q) {
            dot += PackedDot(wq[q] & 0x0F0F0F0Fu, xq[xbase + q]);
            dot += PackedDot((wq[q] >> 4) & 0x0F0F0F0Fu, xq[xbase + 4 + q]);
          }
          if (kSymmetric) dot -= 8 * xsum[t * p.groups + g];
        }
        dots[k * wg + lane] = dot;
      }
    }
    barrier();
    if (lane < kRowsPerBlock) {
      const uint gn = min(lanes, p.groups - g0);
      for (uint j = 0; j < gn; ++j) {
        const uint gj = g0 + j;
        const uint base = (block * p.groups + gj) * kBlockWords;
        const vec2 d2 = unpackHalf2x16(w[base + kScalesWord + rr / 2]);
        const float d = (rr & 1u) == 0u ? d2.x : d2.y;
        float o = 0.0;
        if (!kSymmetric) {
          const vec2 o2 = unpackHalf2x16(w[base + kOffsetsWord + rr / 2]);
          o = (rr & 1u) == 0u ? o2.x : o2.y;
        }
        for (uint k = 0; k < kTileTokens; ++k) {
          const uint t = t0 + k;
          if (t >= p.n_tokens) break;
          const uint tg = t * p.groups + gj;
          precise float sx = float(dots[k * wg + j * kRowsPerBlock + lane]) * xscale[tg];
          acc[k] = FmaExact(sx, d, acc[k]);
          if (!kSymmetric) {
            precise float xsx = xscale[tg] * float(xsum[tg]);
            acc[k] = FmaExact(o, xsx, acc[k]);
          }
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
