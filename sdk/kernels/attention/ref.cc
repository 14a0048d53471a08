#include <cassert>
#include <type_traits>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// Both references: rows of f32 (no scales: the factor 1 is exact) or of int8 times their
// position's scale.
template <typename Elem>
void AttentionRef(size_t head_dim, size_t n_pos, const float* q, const Elem* keys,
                  const float* key_scales, const Elem* values, const float* value_scales,
                  size_t kv_stride, size_t scale_stride, float scale, float* scores, float* out) {
  constexpr bool kF32 = std::is_same_v<Elem, float>;
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim);
  assert(q != nullptr && keys != nullptr && values != nullptr && scores != nullptr &&
         out != nullptr);
  assert(kF32 || (key_scales != nullptr && value_scales != nullptr && scale_stride >= 1));
  for (size_t p = 0; p < n_pos; ++p) {
    const Elem* key = keys + p * kv_stride;
    float score = 0.0f;
    for (size_t j = 0; j < head_dim; ++j) score += q[j] * static_cast<float>(key[j]);
    scores[p] = score * (kF32 ? scale : scale * key_scales[p * scale_stride]);
  }
  softmax_ref(n_pos, scores);
  for (size_t j = 0; j < head_dim; ++j) out[j] = 0.0f;
  for (size_t p = 0; p < n_pos; ++p) {
    const Elem* v = values + p * kv_stride;
    const float w = kF32 ? scores[p] : scores[p] * value_scales[p * scale_stride];
    for (size_t j = 0; j < head_dim; ++j) out[j] += w * static_cast<float>(v[j]);
  }
}

}  // namespace

void attention_ref(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                   const float* values, size_t kv_stride, float scale, float* scores, float* out) {
  AttentionRef<float>(head_dim, n_pos, q, keys, nullptr, values, nullptr, kv_stride, 0, scale,
                      scores, out);
}

void attention_q8kv_ref(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                        const float* key_scales, const int8_t* values,
                        const float* value_scales, size_t kv_stride, size_t scale_stride,
                        float scale, float* scores, float* out) {
  AttentionRef<int8_t>(head_dim, n_pos, q, keys, key_scales, values, value_scales, kv_stride,
                       scale_stride, scale, scores, out);
}

}  // namespace kite::kernels
