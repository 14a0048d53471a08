#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding rows of a Q3_R16_G32 table, read as the converter stores it (sdk/schema/kite.fbs;
// the block as in q3r16_matvec.comp): d * (u - Z), as DequantizeQ3R16Row computes it.
// See embedding.glsl.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256
// Set by embedding.cc from sdk/format/blocks.h, as for q3r16_matvec.comp:
layout(constant_id = 1) const uint kBlockWords = 56;  // words per 16 x 32 block
layout(constant_id = 2) const uint kHighWord = 32;    // word offset of the high-bit plane
layout(constant_id = 3) const uint kScalesWord = 48;  // word offset of the 16 f16 scales
layout(constant_id = 4) const int kZero = 4;          // the code of weight 0

layout(set = 0, binding = 2) readonly buffer Table { uint w[]; };

#include "embedding.glsl"

float TableElement(uint row, uint col) {
  const uint rr = row % 16;
  const uint e = col % 32;
  const uint base = ((row / 16) * p.groups + col / 32) * kBlockWords;
  // Column e is byte e % 4 of column quad q = e / 4: bits 2 (q % 4) .. +1 of low word
  // (q / 4) * 16 + rr, and bit q of high word rr.
  const uint q = e / 4, byte_bits = 8 * (e % 4);
  const uint low = bitfieldExtract(w[base + (q / 4) * 16 + rr], int(byte_bits + 2 * (q % 4)), 2);
  const uint high = bitfieldExtract(w[base + kHighWord + rr], int(byte_bits + q), 1);
  const vec2 d2 = unpackHalf2x16(w[base + kScalesWord + rr / 2]);
  const float d = (rr & 1u) == 0u ? d2.x : d2.y;
  return d * float(int(low | (high << 2)) - kZero);
}
