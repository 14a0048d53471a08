#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding rows of a Q3_R16_G32 or Q3_R16_G64 table, read as the converter stores it
// (sdk/schema/kite.fbs; the block as in q3r16_matvec.comp): d * (u - Z), as
// DequantizeQ3R16Row computes it. p.group is the columns one scale covers (32 or 64: the
// table's layout; a block holds p.group / 32 code parts) and p.groups the column blocks per
// row. See embedding.glsl.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256
// Set by embedding.cc from sdk/format/blocks.h, as for q3r16_matvec.comp:
layout(constant_id = 1) const uint kPartWords = 48;  // words per 16 x 32 code part
layout(constant_id = 2) const uint kHighWord = 32;   // word offset of a part's high-bit plane
layout(constant_id = 3) const uint kScaleWords = 8;  // words of the 16 f16 scales
layout(constant_id = 4) const int kZero = 4;         // the code of weight 0

layout(set = 0, binding = 2) readonly buffer Table { uint w[]; };

#include "embedding.glsl"

float TableElement(uint row, uint col) {
  const uint rr = row % 16;
  const uint e = col % 32;
  const uint parts = p.group / 32;
  const uint start = ((row / 16) * p.groups + col / p.group) * (parts * kPartWords + kScaleWords);
  const uint base = start + ((col % p.group) / 32) * kPartWords;
  // Column e of the part is byte e % 4 of column quad q = e / 4: bits 2 (q % 4) .. +1 of low
  // word (q / 4) * 16 + rr, and bit q of high word rr.
  const uint q = e / 4, byte_bits = 8 * (e % 4);
  const uint low = bitfieldExtract(w[base + (q / 4) * 16 + rr], int(byte_bits + 2 * (q % 4)), 2);
  const uint high = bitfieldExtract(w[base + kHighWord + rr], int(byte_bits + q), 1);
  const vec2 d2 = unpackHalf2x16(w[start + parts * kPartWords + rr / 2]);
  const float d = (rr & 1u) == 0u ? d2.x : d2.y;
  return d * float(int(low | (high << 2)) - kZero);
}
