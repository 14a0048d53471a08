#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding rows of a 2:4 sparse Q4_SP24_R16_G64 table (sdk/schema/kite.fbs): column c
// lies in quad c / 4 of its 64-column block, whose two kept values (of sub-block quad / 8)
// each carry their position in the quad; the column's value is the sum of d * (u - 8) over
// the kept values at its position (none: 0), as DequantizeQ4SP24Row computes it
// ('precise'). See embedding.glsl.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256
// Set by embedding.cc from sdk/format/blocks.h, as for q4sp24_matvec.comp:
layout(constant_id = 1) const uint kBlockWords = 104;    // words per 16 x 64 block
layout(constant_id = 2) const uint kSubBlockWords = 48;  // words per 32-column sub-block
layout(constant_id = 3) const uint kPositionsWord = 32;  // word offset of the positions
layout(constant_id = 4) const uint kScalesWord = 96;     // word offset of the 16 f16 scales

layout(set = 0, binding = 2) readonly buffer Table { uint w[]; };

#include "embedding.glsl"

float TableElement(uint row, uint col) {
  const uint rr = row % 16;
  const uint col_blocks = (p.cols + 63) / 64;
  const uint base = ((row / 16) * col_blocks + col / 64) * kBlockWords;
  const uint quad = (col % 64) / 4;
  const uint sub = base + (quad / 8) * kSubBlockWords;
  const vec2 d2 = unpackHalf2x16(w[base + kScalesWord + rr / 2]);
  const float d = (rr & 1u) == 0u ? d2.x : d2.y;
  precise float v = 0.0;
  for (uint n = 0; n < 2; ++n) {
    // Kept value i of the sub-block: word (i / 4 % 2) * 16 + rr, byte i % 4, high nibble
    // when i >= 8; its position: word kPositionsWord + rr, byte i % 4, bits 2 * (i / 4).
    const uint i = 2 * (quad % 8) + n;
    const uint at = bitfieldExtract(w[sub + kPositionsWord + rr], int(8 * (i % 4) + 2 * (i / 4)), 2);
    if (at != col % 4) continue;
    const uint word = w[sub + ((i / 4) % 2) * 16 + rr];
    const int u = int(bitfieldExtract(word, int(8 * (i % 4) + (i >= 8 ? 4 : 0)), 4)) - 8;
    v += d * float(u);
  }
  return v;
}
