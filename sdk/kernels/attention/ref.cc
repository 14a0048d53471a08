#include <cassert>
#include <cmath>
#include <type_traits>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// Both references: rows of f32, or of int8 codes with their position's f16 scale and offset
// (params; unused for f32).
template <typename Elem>
void AttentionRef(size_t head_dim, size_t n_pos, const float* q, const Elem* keys,
                  const uint16_t* key_params, const Elem* values, const uint16_t* value_params,
                  size_t kv_stride, size_t param_stride, float scale, float* scores, float* out) {
  constexpr bool kF32 = std::is_same_v<Elem, float>;
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim);
  assert(q != nullptr && keys != nullptr && values != nullptr && scores != nullptr &&
         out != nullptr);
  assert(kF32 || (key_params != nullptr && value_params != nullptr && param_stride >= 2));
  float q_sum = 0.0f;
  if constexpr (!kF32) {
    for (size_t j = 0; j < head_dim; ++j) q_sum += q[j];
  }
  for (size_t p = 0; p < n_pos; ++p) {
    const Elem* key = keys + p * kv_stride;
    float score = 0.0f;
    for (size_t j = 0; j < head_dim; ++j) score += q[j] * static_cast<float>(key[j]);
    if constexpr (kF32) {
      scores[p] = score * scale;
    } else {
      const uint16_t* kp = key_params + p * param_stride;
      scores[p] = score * (scale * HalfToFloat(kp[0])) + (scale * HalfToFloat(kp[1])) * q_sum;
    }
  }
  softmax_ref(n_pos, scores);
  for (size_t j = 0; j < head_dim; ++j) out[j] = 0.0f;
  for (size_t p = 0; p < n_pos; ++p) {
    const Elem* v = values + p * kv_stride;
    const float w = kF32 ? scores[p] : scores[p] * HalfToFloat(value_params[p * param_stride]);
    for (size_t j = 0; j < head_dim; ++j) out[j] += w * static_cast<float>(v[j]);
  }
  if constexpr (!kF32) {
    float offset = 0.0f;  // sum_p w_p m_p
    for (size_t p = 0; p < n_pos; ++p) {
      offset += scores[p] * HalfToFloat(value_params[p * param_stride + 1]);
    }
    for (size_t j = 0; j < head_dim; ++j) out[j] += offset;
  }
}

// x (>= 0) as f16 bits rounded up: HalfToFloat of the result is >= x (65504 at most).
uint16_t HalfAtLeast(float x) {
  constexpr float kMaxHalf = 65504.0f;
  if (!(x < kMaxHalf)) return FloatToHalf(kMaxHalf);
  uint16_t h = FloatToHalf(x);
  if (HalfToFloat(h) < x) ++h;  // the next f16 up (x >= 0, finite)
  return h;
}

}  // namespace

void attention_ref(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                   const float* values, size_t kv_stride, float scale, float* scores, float* out) {
  AttentionRef<float>(head_dim, n_pos, q, keys, nullptr, values, nullptr, kv_stride, 0, scale,
                      scores, out);
}

void attention_q8kv_ref(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                        const uint16_t* key_params, const int8_t* values,
                        const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                        float scale, float* scores, float* out) {
  AttentionRef<int8_t>(head_dim, n_pos, q, keys, key_params, values, value_params, kv_stride,
                       param_stride, scale, scores, out);
}

void q8kv_quantize(size_t n, size_t group, const float* x, int8_t* q, uint16_t* params) {
  assert(group > 0 && n % group == 0 && x != nullptr && q != nullptr && params != nullptr);
  for (size_t g = 0; g < n / group; ++g) {
    const float* xg = x + g * group;
    int8_t* qg = q + g * group;
    float lo = xg[0], hi = xg[0];
    for (size_t i = 1; i < group; ++i) {
      lo = std::fmin(lo, xg[i]);
      hi = std::fmax(hi, xg[i]);
    }
    // Codes -128..127 span [lo, hi]: m = f16(lo + 128 (hi - lo) / 255), then the smallest f16
    // d >= the step that still reaches lo and hi from the rounded m, so no value clamps.
    constexpr float kMaxHalf = 65504.0f;
    const float m_exact = lo + 128.0f * ((hi - lo) / 255.0f);
    const uint16_t m_bits =
        FloatToHalf(m_exact > kMaxHalf ? kMaxHalf : (m_exact < -kMaxHalf ? -kMaxHalf : m_exact));
    const float m = HalfToFloat(m_bits);
    const float up = (hi - m) / 127.0f, down = (m - lo) / 128.0f;
    const uint16_t d_bits = HalfAtLeast(up > down ? up : down);
    const float d = HalfToFloat(d_bits);
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    for (size_t i = 0; i < group; ++i) {
      const float c = std::nearbyint((xg[i] - m) * inv);  // NaN clamps to -128
      qg[i] = static_cast<int8_t>(c >= 127.0f ? 127.0f : (c >= -128.0f ? c : -128.0f));
    }
    params[2 * g] = d_bits;
    params[2 * g + 1] = m_bits;
  }
}

}  // namespace kite::kernels
