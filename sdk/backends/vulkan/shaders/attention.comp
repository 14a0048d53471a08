#version 450
// Causal attention of one query head of one token over an f32 KV cache, the contract of
// attention_ref (sdk/kernels/attention/): with n_pos = pos + t + 1 (token t of the call
// sees positions 0 .. pos + t),
//   s_p = scale * (q . k_p),  w = softmax(s),  out = sum_p w_p v_p,
// where k_p and v_p are the head_dim floats of KV head h / q_per_kv in row p of the caches
// (rows kv_dim floats apart from cache_offset). Each score is q[0] k[0] + q[1] k[1] + ...
// in order, then times scale, as the CPU adds them (`precise`: no fused multiply-add).
//
// One workgroup per (head: gl_WorkGroupID.x, token: gl_WorkGroupID.y). The positions are
// taken in tiles of WG, one per invocation, with an online softmax: a running maximum m
// and sum l, the output accumulators rescaled by exp(m_old - m_new) when the maximum grows,
// and out = acc / l at the end. So the shared memory does not grow with the context:
// q and the accumulators (kMaxHeadDim floats each) and three arrays of WG floats: 5 KiB at
// WG = 256, within the 16 KiB baseline. fp32 only.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;  // WG: a power of two, <= 256
const uint kMaxHeadDim = 256;    // attention.h's kAttentionMaxHeadDim

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
layout(set = 0, binding = 1) readonly buffer Keys { float keys[]; };
layout(set = 0, binding = 2) readonly buffer Values { float values[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float out_[]; };

layout(push_constant) uniform Push {
  uint n_tokens;      // the call's tokens (= the workgroups along y)
  uint pos;           // position of the call's first token
  uint head_dim;      // floats per head, <= kMaxHeadDim
  uint q_per_kv;      // query heads per KV head (n_heads / n_kv_heads)
  uint kv_dim;        // floats per cache row (n_kv_heads * head_dim)
  uint cache_offset;  // float index of position 0's row in both caches
  float scale;        // multiplies q . k (1 / sqrt(head_dim))
  uint q_offset, q_pos_stride, q_stride;        // q's RowAddress (rows.glsl)
  uint out_offset, out_pos_stride, out_stride;  // out's RowAddress
} p;

#include "rows.glsl"

const uint WG = gl_WorkGroupSize.x;
const float kLowest = -3.402823466e38;

shared float q_s[kMaxHeadDim];
shared float acc[kMaxHeadDim];
shared float weight[WG];  // exp(s_p - m) of the tile's positions
shared float red[WG];     // reductions; then the partial sums of the value pass
shared float red2[WG];

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint head = gl_WorkGroupID.x;
  const uint t = gl_WorkGroupID.y;
  const uint hd = p.head_dim;
  const uint n_pos = p.pos + t + 1;
  const uint kv_base = p.cache_offset + (head / p.q_per_kv) * hd;
  const uint q_base = RowStart(p.q_offset, p.q_pos_stride, p.q_stride, p.pos, t) + head * hd;
  for (uint j = lane; j < hd; j += WG) {
    q_s[j] = q[q_base + j];
    acc[j] = 0.0;
  }
  // The value pass splits a tile's positions in `parts` interleaved parts when a head is
  // narrower than the workgroup: invocation (part, j) = (lane / hd, lane % hd).
  const uint parts = max(1u, WG / hd);
  barrier();

  float m = kLowest;  // running maximum of the scores (the same in every invocation)
  float l = 0.0;      // running sum of exp(s_p - m)
  for (uint start = 0; start < n_pos; start += WG) {
    const uint count = min(WG, n_pos - start);
    // This invocation's score.
    precise float s = 0.0;
    if (lane < count) {
      const uint k = kv_base + (start + lane) * p.kv_dim;
      for (uint j = 0; j < hd; ++j) s += q_s[j] * keys[k + j];
      s *= p.scale;
    }
    red[lane] = lane < count ? s : kLowest;
    barrier();
    for (uint half_ = WG / 2; half_ > 0; half_ /= 2) {
      if (lane < half_) red[lane] = max(red[lane], red[lane + half_]);
      barrier();
    }
    const float m_new = max(m, red[0]);
    const float e = lane < count ? exp(s - m_new) : 0.0;
    weight[lane] = e;
    red2[lane] = e;
    barrier();
    for (uint half_ = WG / 2; half_ > 0; half_ /= 2) {
      if (lane < half_) red2[lane] += red2[lane + half_];
      barrier();
    }
    const float alpha = start == 0 ? 0.0 : exp(m - m_new);  // rescales the old sums
    l = l * alpha + red2[0];
    m = m_new;
    if (parts == 1) {
      for (uint j = lane; j < hd; j += WG) {
        float a = acc[j] * alpha;
        const uint v = kv_base + start * p.kv_dim + j;
        for (uint i = 0; i < count; ++i) a += weight[i] * values[v + i * p.kv_dim];
        acc[j] = a;
      }
    } else {
      const uint part = lane / hd, j = lane % hd;
      float a = 0.0;
      if (part < parts) {
        const uint v = kv_base + start * p.kv_dim + j;
        for (uint i = part; i < count; i += parts) a += weight[i] * values[v + i * p.kv_dim];
      }
      red[lane] = a;  // every invocation has read red[0] above (barrier after red2's sum)
      barrier();
      if (lane < hd) {
        float sum = acc[lane] * alpha;
        for (uint k = 0; k < parts; ++k) sum += red[k * hd + lane];
        acc[lane] = sum;
      }
    }
    barrier();  // weight, red and red2 are rewritten by the next tile
  }
  const float inv = 1.0 / l;
  const uint o = RowStart(p.out_offset, p.out_pos_stride, p.out_stride, p.pos, t) + head * hd;
  for (uint j = lane; j < hd; j += WG) out_[o + j] = acc[j] * inv;
}
