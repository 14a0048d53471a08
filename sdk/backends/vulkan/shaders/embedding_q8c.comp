#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding rows of a Q8_C table (int8 [rows][cols] row-major, read 4 per word, and an f32
// scale per row): q * scale, as q8_row_dequant_ref. See embedding.glsl.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 2) readonly buffer Table { uint table[]; };  // 4 int8 per word
layout(set = 0, binding = 3) readonly buffer Scales { float scale[]; };

#include "embedding.glsl"

float TableElement(uint row, uint col) {
  const uint b = row * p.cols + col;
  return float(bitfieldExtract(int(table[b / 4]), int(8 * (b % 4)), 8)) * scale[row];
}
