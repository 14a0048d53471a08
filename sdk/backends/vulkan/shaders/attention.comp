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
// Every float operation is the CPU's AVX-512 variant's as GCC builds it (attention/driver.h
// over 16 lanes, softmax/simd.h, the polynomial e^x of exp_cpu.glsl), in its order, so the
// outputs are its bit for bit (the fused multiply-adds by FmaExact, fma_exact.glsl): each
// score is 16 lane sums of fused products (lane k: elements k, k + 16, ...), added as
// ReduceAdd4Avx512 does for the positions in whole groups of 4 and as _mm512_reduce_add_ps
// does for the rest, times the scale (int8 keys: fused with the offset term, as GCC
// contracts it); softmax takes the maximum, sums e^(s - max) in 32 chains (position p in
// chain p % 32 below the last whole block of 32 positions, p % 16 after it) added as the
// two 16-lane sums are, and multiplies by the exact 1 / sum; each output element adds its
// even positions' and odd positions' fused products in two chains, then the two (int8
// values: plus the offsets' sum, fused products in 4 chains by p % 4, as GCC contracts
// them). The reference adds in other orders (float rounding apart).
//
// One workgroup per (head: gl_WorkGroupID.x, token: gl_WorkGroupID.y), in three passes
// over the positions in tiles of WG, one position per invocation, the scores recomputed
// in each (the same operations: the same values): the maximum; the sum; the weighted sum.
// So the shared memory does not grow with the context: q (kMaxHeadDim floats), the two
// accumulator sets (2 kMaxHeadDim), two arrays of WG floats and 36 more: 5.1 KiB at
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

#include "div_exact.glsl"
#include "exp_cpu.glsl"
#include "rows.glsl"

const uint WG = gl_WorkGroupSize.x;
const float kLowest = -3.402823466e38;
const uint kLanes = 16;  // the AVX-512 variant's

shared float q_s[kMaxHeadDim];
shared float acc[2 * kMaxHeadDim];  // element j: even positions at j, odd ones at hd + j
shared float weight[WG];            // the tile's softmax weights (times d_p for int8 values)
shared float partial[WG];           // the tile's maximum; then (kQ8) its softmax weights
shared float chain[2 * kLanes];     // the softmax's 32 partial sums
shared float offset_chain[4];       // kQ8: sum_p w_p m_p in 4 chains

// Element e (an element index into the cache) of an int8 cache, as a float.
float Code(uint e, bool key) {
  const uint word = key ? key_codes[e / 4] : value_codes[e / 4];
  return float(bitfieldExtract(int(word), int(8 * (e % 4)), 8));
}
float Key(uint e) { return kQ8 ? Code(e, true) : keys[e]; }
float Value(uint e) { return kQ8 ? Code(e, false) : values[e]; }

// kQ8: the offset m_pp of the values at position pp.
float ValueOffset(uint pp, uint kv_head, uint n_kv_heads) {
  return unpackHalf2x16(params[p.value_param_offset + pp * n_kv_heads + kv_head]).y;
}

// The sum of 16 lanes as _mm512_reduce_add_ps adds them (strides 8, 4, 2, 1), or with
// `four` as ReduceAdd4Avx512 (simd/avx512-util.h) does: the 4-lane fold, then pairwise.
float Reduce16(float v[kLanes], bool four) {
  precise float f[4];
  for (uint k = 0; k < 4; ++k) f[k] = (v[k] + v[k + 8]) + (v[k + 4] + v[k + 12]);
  precise float r = four ? (f[0] + f[1]) + (f[2] + f[3]) : (f[0] + f[2]) + (f[1] + f[3]);
  return r;
}

// The score of position pp (< n_pos): q . k_pp in the CPU's lanes, times the scale (int8
// keys: times scale d, plus (scale m) q_sum).
float Score(uint pp, uint n_pos, uint kv_base, uint kv_head, uint n_kv_heads, float q_sum) {
  const uint k = kv_base + pp * p.kv_dim;
  precise float a[kLanes];
  for (uint i = 0; i < kLanes; ++i) a[i] = 0.0;
  for (uint j0 = 0; j0 < p.head_dim; j0 += kLanes) {
    for (uint i = 0; i < kLanes; ++i) {
      if (j0 + i < p.head_dim) a[i] = FmaExact(q_s[j0 + i], Key(k + j0 + i), a[i]);
    }
  }
  // Positions in whole groups of 4 are reduced 4 at a time (Reduce4), the rest one by one.
  const bool four = pp < n_pos / 4 * 4;
  precise float dot = Reduce16(a, four);
  precise float s;
  if (kQ8) {
    // dot (scale d) + (scale m) q_sum with one product fused, the one GCC 12 fuses when it
    // contracts the CPU's code: the offset term's in Reduce4, the dot product's alone.
    const vec2 dm = unpackHalf2x16(params[p.key_param_offset + pp * n_kv_heads + kv_head]);
    precise float sd = p.scale * dm.x;
    precise float sm = p.scale * dm.y;
    if (four) {
      precise float scaled = dot * sd;
      s = FmaExact(sm, q_sum, scaled);
    } else {
      precise float offset_term = sm * q_sum;
      s = FmaExact(dot, sd, offset_term);
    }
  } else {
    s = dot * p.scale;
  }
  return s;
}

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
  for (uint j = lane; j < hd; j += WG) q_s[j] = q[q_base + j];
  for (uint j = lane; j < 2 * hd; j += WG) acc[j] = 0.0;
  for (uint c = lane; c < 2 * kLanes; c += WG) chain[c] = 0.0;
  for (uint c = lane; c < 4; c += WG) offset_chain[c] = 0.0;
  barrier();
  precise float q_sum = 0.0;  // kQ8: the sum of q in order, as the CPU adds it
  if (kQ8) {
    for (uint j = 0; j < hd; ++j) q_sum += q_s[j];
  }

  // Pass 1: the maximum score (exact in any order).
  float m = kLowest;
  for (uint start = 0; start < n_pos; start += WG) {
    const uint pp = start + lane;
    partial[lane] = pp < n_pos ? Score(pp, n_pos, kv_base, kv_head, n_kv_heads, q_sum) : kLowest;
    barrier();
    for (uint half_ = WG / 2; half_ > 0; half_ /= 2) {
      if (lane < half_) partial[lane] = max(partial[lane], partial[lane + half_]);
      barrier();
    }
    m = max(m, partial[0]);
    barrier();  // partial[] is rewritten by the next tile
  }

  // Pass 2: the sum of e^(s - m) in softmax/simd.h's chains.
  const uint whole32 = n_pos / (2 * kLanes) * (2 * kLanes);
  for (uint start = 0; start < n_pos; start += WG) {
    const uint pp = start + lane;
    const uint end = min(start + WG, n_pos);
    if (pp < n_pos) {
      precise float x = Score(pp, n_pos, kv_base, kv_head, n_kv_heads, q_sum) - m;
      weight[lane] = ExpLikeCpu(x);
    }
    barrier();
    for (uint c = lane; c < 2 * kLanes; c += WG) {
      precise float s = chain[c];
      // Below whole32: the positions of chain c (p % 32 == c), in order.
      for (uint pq = start + (c + 2 * kLanes - start % (2 * kLanes)) % (2 * kLanes);
           pq < min(end, whole32); pq += 2 * kLanes) {
        s += weight[pq - start];
      }
      // From whole32: lanes 0-15 take p % 16 == c, in order.
      if (c < kLanes) {
        const uint from = max(start, whole32);
        for (uint pq = from + (c + kLanes - from % kLanes) % kLanes; pq < end; pq += kLanes) {
          s += weight[pq - start];
        }
      }
      chain[c] = s;
    }
    barrier();
  }
  float total;
  {
    precise float v[kLanes];
    for (uint k = 0; k < kLanes; ++k) v[k] = chain[k] + chain[kLanes + k];
    total = Reduce16(v, false);
  }
  const float inv = DivExact(1.0, total);  // total >= 1: the maximum's e^0

  // Pass 3: the weights and the weighted sum of the values.
  for (uint start = 0; start < n_pos; start += WG) {
    const uint pp = start + lane;
    const uint end = min(start + WG, n_pos);
    float w = 0.0;
    if (pp < n_pos) {
      precise float x = Score(pp, n_pos, kv_base, kv_head, n_kv_heads, q_sum) - m;
      precise float wp = ExpLikeCpu(x) * inv;
      w = wp;
      if (kQ8) {
        const vec2 dm = unpackHalf2x16(params[p.value_param_offset + pp * n_kv_heads + kv_head]);
        precise float wd = wp * dm.x;
        w = wd;
        partial[lane] = wp;
      }
    }
    weight[lane] = w;
    barrier();
    for (uint idx = lane; idx < 2 * hd; idx += WG) {
      const uint j = idx % hd, parity = idx / hd;
      precise float a = acc[idx];
      const uint v = kv_base + j;
      for (uint pq = start + (parity + 2 - start % 2) % 2; pq < end; pq += 2) {
        a = FmaExact(weight[pq - start], Value(v + pq * p.kv_dim), a);
      }
      acc[idx] = a;
    }
    if (kQ8) {
      // Positions in whole groups of 4 in chain p % 4, the rest in chain 0.
      const uint whole4 = n_pos / 4 * 4;
      for (uint c = lane; c < 4; c += WG) {
        precise float o = offset_chain[c];
        for (uint pq = start + (c + 4 - start % 4) % 4; pq < min(end, whole4); pq += 4) {
          o = FmaExact(partial[pq - start], ValueOffset(pq, kv_head, n_kv_heads), o);
        }
        if (c == 0) {
          for (uint pq = max(start, whole4); pq < end; ++pq) {
            o = FmaExact(partial[pq - start], ValueOffset(pq, kv_head, n_kv_heads), o);
          }
        }
        offset_chain[c] = o;
      }
    }
    barrier();  // weight[] and partial[] are rewritten by the next tile
  }
  precise float offset = 0.0;
  if (kQ8) offset = (offset_chain[0] + offset_chain[1]) + (offset_chain[2] + offset_chain[3]);
  const uint o = RowStart(p.out_offset, p.out_pos_stride, p.out_stride, p.pos, t) + head * hd;
  for (uint j = lane; j < hd; j += WG) {
    precise float y = acc[j] + acc[hd + j];
    if (kQ8) y += offset;
    out_[o + j] = y;
  }
}
