#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding rows of a Q4_R16_G32 (or Q4_R16_G32_SYM, or Q4_R16_G32_CB) table, read as the
// converter stores it (sdk/schema/kite.fbs): d * u + o (o = -8 d when symmetric; with
// kCodebook, the SYM blocks, u is the tensor's codebook entry codebook[u] and o = 0), as
// q4r16_row_dequant_ref, DequantizeQ4R16SymRow and DequantizeQ4R16CbRow compute it, unfused
// ('precise'). See embedding.glsl.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256
// Set by embedding.cc from sdk/format/blocks.h, as for q4r16_matvec.comp:
layout(constant_id = 1) const uint kBlockWords = 80;    // words per 16 x 32 block
layout(constant_id = 2) const uint kScalesWord = 64;    // word offset of the 16 f16 scales
layout(constant_id = 3) const uint kOffsetsWord = 72;   // word offset of the 16 f16 offsets
layout(constant_id = 4) const bool kSymmetric = false;  // no offsets: o = -8 d
layout(constant_id = 5) const bool kCodebook = false;   // Q4_R16_G32_CB (with kSymmetric)

layout(set = 0, binding = 2) readonly buffer Table { uint w[]; };

#include "embedding.glsl"
#include "codebook.glsl"

float TableElement(uint row, uint col) {
  const uint rr = row % 16;
  const uint e = col % 32;
  const uint base = ((row / 16) * p.groups + col / 32) * kBlockWords;
  // Word q*16 + rr: byte j holds u[rr][4q+j] (low nibble) and u[rr][16+4q+j] (high).
  const uint lane = e % 16;
  const uint byte_bits = 8 * (lane % 4) + (e < 16 ? 0 : 4);
  const uint code = bitfieldExtract(w[base + (lane / 4) * 16 + rr], int(byte_bits), 4);
  const float u = kCodebook ? float(CodebookEntry(code)) : float(code);
  const vec2 d2 = unpackHalf2x16(w[base + kScalesWord + rr / 2]);
  const float d = (rr & 1u) == 0u ? d2.x : d2.y;
  float o = kCodebook ? 0.0 : -8.0 * d;
  if (!kSymmetric) {
    const vec2 o2 = unpackHalf2x16(w[base + kOffsetsWord + rr / 2]);
    o = (rr & 1u) == 0u ? o2.x : o2.y;
  }
  precise float v = d * u + o;
  return v;
}
