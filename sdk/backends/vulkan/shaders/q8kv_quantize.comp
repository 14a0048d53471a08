#version 450
#extension GL_GOOGLE_include_directive : require
// KV-cache quantization, the contract of q8kv_quantize (sdk/kernels/attention/), bit for
// bit: each token's row of n_kv_heads * head_dim floats, in groups of head_dim (one per KV
// head), with lo / hi the group's smallest / largest value:
//   m = f16(lo + 128 ((hi - lo) / 255)) (nearest even, clamped to +-65504),
//   d = the smallest f16 >= max((hi - m) / 127, (m - lo) / 128) (at most 65504),
//   c = roundEven((x - m) * (1 / d)) (0 when d is 0) clamped to [-128, 127].
// The divisions are exact (DivExact: Vulkan lets '/' be 2.5 ulp off), the f16 rounding is
// done in integers (Vulkan leaves packHalf2x16's rounding to the device), products and sums
// are `precise` (not fused), so every code, scale and offset is the CPU's.
//
// Invocation i of workgroup (x, t) quantizes KV head x * WG + i of token t: head_dim floats
// in, head_dim / 4 words of 4 codes (byte k of word j is element 4j + k) and one word of
// parameters (d low, m high: the CPU's uint16 pair) out.

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256

layout(set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Codes { uint codes[]; };    // 4 int8 per word
layout(set = 0, binding = 2) writeonly buffer Params { uint params[]; };  // f16 d | m << 16

layout(push_constant) uniform Push {
  uint n_tokens;    // the call's tokens (= the workgroups along y)
  uint pos;         // position of the call's first token
  uint n_kv_heads;  // groups per row
  uint head_dim;    // floats per group, a multiple of 4
  uint x_offset, x_pos_stride, x_stride;                 // x's RowAddress (floats)
  uint codes_offset, codes_pos_stride, codes_stride;     // codes' RowAddress (bytes)
  uint params_offset, params_pos_stride, params_stride;  // params' RowAddress (words)
} p;

#include "div_exact.glsl"
#include "rows.glsl"

const float kMaxHalf = 65504.0;

// kite::FloatToHalf (sdk/kernels/fp16.h) for finite f with |f| <= 65504: IEEE binary16
// bits, rounded to nearest even (subnormal results included).
uint FloatToHalf(float f) {
  const uint x = floatBitsToUint(f);
  const uint sign = (x >> 16) & 0x8000u;
  const uint a = x & 0x7FFFFFFFu;
  if (a < 0x38800000u) {  // below the smallest normal f16: subnormal or zero
    if (a < 0x33000000u) return sign;
    const uint shift = 126u - (a >> 23);  // 14..24
    const uint mant = (a & 0x7FFFFFu) | 0x800000u;
    uint h = mant >> shift;
    const uint rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u) != 0u)) ++h;
    return sign | h;
  }
  uint h = (a >> 13) - (112u << 10);
  const uint rem = a & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) ++h;
  return sign | h;
}
float HalfToFloat(uint h) { return unpackHalf2x16(h).x; }

// a / b for finite a of either sign (DivExact takes a >= 0).
float DivSigned(float a, float b) { return a < 0.0 ? -DivExact(-a, b) : DivExact(a, b); }

void main() {
  const uint g = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  const uint t = gl_WorkGroupID.y;
  if (g >= p.n_kv_heads) return;
  const uint hd = p.head_dim;
  const uint src = RowStart(p.x_offset, p.x_pos_stride, p.x_stride, p.pos, t) + g * hd;
  float lo = x[src], hi = x[src];
  for (uint i = 1; i < hd; ++i) {
    lo = min(lo, x[src + i]);
    hi = max(hi, x[src + i]);
  }
  precise const float m_exact = lo + 128.0 * DivExact(hi - lo, 255.0);
  const uint m_bits = FloatToHalf(clamp(m_exact, -kMaxHalf, kMaxHalf));
  const float m = HalfToFloat(m_bits);
  precise const float up = DivSigned(hi - m, 127.0);
  precise const float down = (m - lo) * (1.0 / 128.0);  // exact: a power of two
  const float at_least = max(up, down);
  // The smallest f16 >= at_least (>= 0), at most 65504 (the CPU's HalfAtLeast).
  uint d_bits = 0x7BFFu;
  if (at_least < kMaxHalf) {
    d_bits = FloatToHalf(at_least);
    if (HalfToFloat(d_bits) < at_least) ++d_bits;
  }
  const float d = HalfToFloat(d_bits);
  const float inv = d != 0.0 ? DivExact(1.0, d) : 0.0;
  const uint out_word =
      (RowStart(p.codes_offset, p.codes_pos_stride, p.codes_stride, p.pos, t) + g * hd) / 4;
  for (uint j = 0; j < hd / 4; ++j) {
    uint word = 0u;
    for (uint k = 0; k < 4; ++k) {
      precise const float v = (x[src + 4 * j + k] - m) * inv;
      const float c = roundEven(v);
      // As the CPU clamps: a NaN code fails both comparisons and gives -128.
      const float clamped = c >= 127.0 ? 127.0 : (c >= -128.0 ? c : -128.0);
      word = bitfieldInsert(word, uint(int(clamped)), int(8 * k), 8);
    }
    codes[out_word + j] = word;
  }
  params[RowStart(p.params_offset, p.params_pos_stride, p.params_stride, p.pos, t) + g] =
      d_bits | (m_bits << 16);
}
