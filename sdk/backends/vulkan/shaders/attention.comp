#version 450
// Causal attention of one query head of one token over the KV cache, with n_pos = pos + t + 1
// (token t of the call sees positions 0 .. pos + t):
//   s_p = scale * (q . k_p),  w = softmax(s),  out = sum_p w_p v_p,
// where k_p and v_p are the head_dim elements of KV head h / q_per_kv in row p of the caches
// (rows kv_dim elements apart from cache_offset).
//   - kQ8 false: f32 caches, the contract of attention_ref (sdk/kernels/attention/).
//   - kQ8 true: int8 caches (4 codes per word, byte j of a row at byte offset j) with an f16
//     scale d and offset m per KV head and position (one word: d low, m high, n_kv_heads
//     words per position from key_param_offset / value_param_offset in `params`), the
//     contract of attention_q8kv_ref:
//     s_p = (scale d_p) (q . c_p) + (scale m_p) sum_j q[j]; out = sum_p (w_p d_p) c_p
//     + sum_p w_p m_p.
// Scores are added as the CPU adds them (in order j, then the products; `precise`: no fused
// multiply-add), so they are the CPU's. The rest differs by float rounding.
//
// One workgroup per (head: gl_WorkGroupID.x, token: gl_WorkGroupID.y). The positions are
// taken in tiles of WG, one per invocation, with an online softmax: a running maximum m
// and sum l, the output accumulators rescaled by exp(m_old - m_new) when the maximum grows,
// and out = acc / l at the end. So the shared memory does not grow with the context:
// q and the accumulators (kMaxHeadDim floats each) and three arrays of WG floats: 5 KiB at
// WG = 256, within the 16 KiB baseline. fp32 arithmetic, 32-bit storage.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256
layout(constant_id = 1) const bool kQ8 = false;
const uint kMaxHeadDim = 256;    // attention.h's kAttentionMaxHeadDim

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(set = 0, binding = 1) readonly buffer Keys { float keys[]; };
layout(set = 0, binding = 1) readonly buffer KeyCodes { uint key_codes[]; };  // kQ8
layout(set = 0, binding = 2) readonly buffer Values { float values[]; };
layout(set = 0, binding = 2) readonly buffer ValueCodes { uint value_codes[]; };  // kQ8
layout(set = 0, binding = 3) writeonly buffer Out { float out_[]; };
layout(set = 0, binding = 4) readonly buffer Params { uint params[]; };  // kQ8: f16 d | m << 16

layout(push_constant) uniform Push {
  uint n_tokens;      // the call's tokens (= the workgroups along y)
  uint pos;           // position of the call's first token
  uint head_dim;      // elements per head, <= kMaxHeadDim
  uint q_per_kv;      // query heads per KV head (n_heads / n_kv_heads)
  uint kv_dim;        // elements per cache row (n_kv_heads * head_dim)
  uint cache_offset;  // element index of position 0's row in both caches
  uint key_param_offset;    // kQ8: word index of position 0's key parameters
  uint value_param_offset;  // kQ8: ... value parameters
  float scale;        // multiplies q . k (1 / sqrt(head_dim))
  uint q_offset, q_pos_stride, q_stride;        // q's RowAddress (rows.glsl)
  uint out_offset, out_pos_stride, out_stride;  // out's RowAddress
} p;

#include "rows.glsl"
#include "workgroup_sum.glsl"

const uint WG = gl_WorkGroupSize.x;
const float kLowest = -3.402823466e38;

shared float q_s[kMaxHeadDim];
shared float acc[kMaxHeadDim];
shared float weight[WG];   // the tile's exp(s_p - m) (times d_p for int8 values)
shared float partial[WG];  // the tile's maximum; then the value pass's partial sums

// Element e (an element index into the cache) of an int8 cache, as a float.
float Code(uint e, bool key) {
  const uint word = key ? key_codes[e / 4] : value_codes[e / 4];
  return float(bitfieldExtract(int(word), int(8 * (e % 4)), 8));
}
float Key(uint e) { return kQ8 ? Code(e, true) : keys[e]; }
float Value(uint e) { return kQ8 ? Code(e, false) : values[e]; }

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint head = gl_WorkGroupID.x;
  const uint t = gl_WorkGroupID.y;
  const uint hd = p.head_dim;
  const uint n_pos = p.pos + t + 1;
  const uint kv_head = head / p.q_per_kv;
  const uint n_kv_heads = p.kv_dim / hd;
  const uint kv_base = p.cache_offset + kv_head * hd;
  const uint q_base = RowStart(p.q_offset, p.q_pos_stride, p.q_stride, p.pos, t) + head * hd;
  for (uint j = lane; j < hd; j += WG) {
    q_s[j] = q[q_base + j];
    acc[j] = 0.0;
  }
  // The value pass splits a tile's positions in `parts` interleaved parts when a head is
  // narrower than the workgroup: invocation (part, j) = (lane / hd, lane % hd).
  const uint parts = max(1u, WG / hd);
  barrier();
  precise float q_sum = 0.0;  // kQ8: the sum of q in order, as the CPU adds it
  if (kQ8) {
    for (uint j = 0; j < hd; ++j) q_sum += q_s[j];
  }

  float m = kLowest;  // running maximum of the scores (the same in every invocation)
  float l = 0.0;      // running sum of exp(s_p - m)
  float offset = 0.0; // kQ8: running sum of exp(s_p - m) m_p of the values
  for (uint start = 0; start < n_pos; start += WG) {
    const uint count = min(WG, n_pos - start);
    const uint p_lane = start + lane;  // this invocation's position
    precise float s = kLowest;
    if (lane < count) {
      const uint k = kv_base + p_lane * p.kv_dim;
      precise float dot = 0.0;
      for (uint j = 0; j < hd; ++j) dot += q_s[j] * Key(k + j);
      if (kQ8) {
        const vec2 dm = unpackHalf2x16(params[p.key_param_offset + p_lane * n_kv_heads + kv_head]);
        s = dot * (p.scale * dm.x) + (p.scale * dm.y) * q_sum;
      } else {
        s = dot * p.scale;
      }
    }
    partial[lane] = s;
    barrier();
    for (uint half_ = WG / 2; half_ > 0; half_ /= 2) {
      if (lane < half_) partial[lane] = max(partial[lane], partial[lane + half_]);
      barrier();
    }
    const float m_new = max(m, partial[0]);
    const float e = lane < count ? exp(s - m_new) : 0.0;
    vec2 value_dm = vec2(1.0, 0.0);
    if (kQ8 && lane < count) {
      value_dm = unpackHalf2x16(params[p.value_param_offset + p_lane * n_kv_heads + kv_head]);
    }
    weight[lane] = e * value_dm.x;
    const float alpha = start == 0 ? 0.0 : exp(m - m_new);  // rescales the old sums
    l = l * alpha + WorkgroupSum(e);  // its barriers also publish weight[] and partial[0]
    if (kQ8) offset = offset * alpha + WorkgroupSum(e * value_dm.y);
    m = m_new;
    if (parts == 1) {
      for (uint j = lane; j < hd; j += WG) {
        float a = acc[j] * alpha;
        const uint v = kv_base + start * p.kv_dim + j;
        for (uint i = 0; i < count; ++i) a += weight[i] * Value(v + i * p.kv_dim);
        acc[j] = a;
      }
    } else {
      const uint part = lane / hd, j = lane % hd;
      float a = 0.0;
      if (part < parts) {
        const uint v = kv_base + start * p.kv_dim + j;
        for (uint i = part; i < count; i += parts) a += weight[i] * Value(v + i * p.kv_dim);
      }
      partial[lane] = a;  // every invocation has read partial[0] (WorkgroupSum's barriers)
      barrier();
      if (lane < hd) {
        float sum = acc[lane] * alpha;
        for (uint k = 0; k < parts; ++k) sum += partial[k * hd + lane];
        acc[lane] = sum;
      }
    }
    barrier();  // weight[] and partial[] are rewritten by the next tile
  }
  const float inv = 1.0 / l;
  const uint o = RowStart(p.out_offset, p.out_pos_stride, p.out_stride, p.pos, t) + head * hd;
  for (uint j = lane; j < hd; j += WG) out_[o + j] = (acc[j] + offset) * inv;
}
