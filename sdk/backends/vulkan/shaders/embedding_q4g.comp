#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding rows of a Q4_ROW_GROUPS table (sdk/schema/kite.fbs): each row holds groups of
// G codes, two per byte (even column low nibble), G / 2 bytes per group; the f16 scales of
// the part's rows x groups (row-major, 2 per word) and, when p.mins_at != 0, as many f16
// mins from half index p.mins_at, in one buffer. Value (u - 8) * d + m (m = 0 without mins),
// as q4_row_dequant_ref computes it, unfused ('precise'). See embedding.glsl.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 2) readonly buffer Table { uint w[]; };
layout(set = 0, binding = 3) readonly buffer Params { uint params[]; };

#include "embedding.glsl"

float Half(uint index) {
  const vec2 pair = unpackHalf2x16(params[index / 2]);
  return (index & 1u) == 0u ? pair.x : pair.y;
}

float TableElement(uint row, uint col) {
  const uint g = col / p.group;
  const uint j = col % p.group;
  const uint b = (row * p.groups + g) * (p.group / 2) + j / 2;
  const float q = float(int(bitfieldExtract(w[b / 4], int(8 * (b % 4) + 4 * (j & 1u)), 4)) - 8);
  const uint cell = row * p.groups + g;
  const float m = p.mins_at != 0u ? Half(p.mins_at + cell) : 0.0;
  precise float v = q * Half(cell) + m;
  return v;
}
