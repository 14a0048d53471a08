#include <cassert>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {

void attention_ref(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                   const float* values, size_t kv_stride, float scale, float* scores, float* out) {
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim);
  assert(q != nullptr && keys != nullptr && values != nullptr && scores != nullptr &&
         out != nullptr);
  for (size_t p = 0; p < n_pos; ++p) {
    const float* key = keys + p * kv_stride;
    float score = 0.0f;
    for (size_t j = 0; j < head_dim; ++j) score += q[j] * key[j];
    scores[p] = score * scale;
  }
  softmax_ref(n_pos, scores);
  for (size_t j = 0; j < head_dim; ++j) out[j] = 0.0f;
  for (size_t p = 0; p < n_pos; ++p) {
    const float* v = values + p * kv_stride;
    const float w = scores[p];
    for (size_t j = 0; j < head_dim; ++j) out[j] += w * v[j];
  }
}

void attention_q8kv_ref(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                        const float* key_scales, const int8_t* values,
                        const float* value_scales, size_t kv_stride, size_t scale_stride,
                        float scale, float* scores, float* out) {
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim && scale_stride >= 1);
  assert(q != nullptr && keys != nullptr && key_scales != nullptr && values != nullptr &&
         value_scales != nullptr && scores != nullptr && out != nullptr);
  for (size_t p = 0; p < n_pos; ++p) {
    const int8_t* key = keys + p * kv_stride;
    float score = 0.0f;
    for (size_t j = 0; j < head_dim; ++j) score += q[j] * static_cast<float>(key[j]);
    scores[p] = score * (scale * key_scales[p * scale_stride]);
  }
  softmax_ref(n_pos, scores);
  for (size_t j = 0; j < head_dim; ++j) out[j] = 0.0f;
  for (size_t p = 0; p < n_pos; ++p) {
    const int8_t* v = values + p * kv_stride;
    const float w = scores[p] * value_scales[p * scale_stride];
    for (size_t j = 0; j < head_dim; ++j) out[j] += w * static_cast<float>(v[j]);
  }
}

}  // namespace kite::kernels
