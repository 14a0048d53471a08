#version 450
#extension GL_GOOGLE_include_directive : require
// Embedding rows of an F32 table (row-major [rows][cols]): a copy. See embedding.glsl.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 2) readonly buffer Table { float table[]; };

#include "embedding.glsl"

float TableElement(uint row, uint col) { return table[row * p.cols + col]; }
