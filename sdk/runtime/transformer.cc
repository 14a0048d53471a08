#include "sdk/runtime/transformer.h"

#include <cassert>
#include <cmath>
#include <cstring>

#include "sdk/kernels/row-dequant/row-dequant.h"

namespace kite {

void Transformer::Linear(const TensorView& w, const float* x, float* y) {
  switch (w.dtype) {
    case DType::kF32:
      k_->f32_matvec(w.rows, w.cols, static_cast<const float*>(w.data), x, y);
      return;
    case DType::kQ4G:
      k_->q8_quantize(w.cols, w.group_size, x, b_.xq, b_.xq_scales, b_.xq_sums);
      k_->q4_matvec(w.rows, w.groups(), w.group_size, static_cast<const uint8_t*>(w.data),
                    static_cast<const uint16_t*>(w.scales), static_cast<const uint16_t*>(w.mins),
                    b_.xq, b_.xq_scales, b_.xq_sums, y);
      return;
    case DType::kQ8C:
      k_->q8c_matvec(w.rows, w.cols, static_cast<const int8_t*>(w.data),
                     static_cast<const float*>(w.scales), x, y);
      return;
    default:
      assert(false && "dtype rejected by the loader");
  }
}

void Transformer::EmbeddingRow(const TensorView& t, uint32_t row, float* out) {
  switch (t.dtype) {
    case DType::kF32:
      std::memcpy(out, static_cast<const float*>(t.data) + static_cast<size_t>(row) * t.cols,
                  t.cols * sizeof(float));
      return;
    case DType::kQ4G: {
      const size_t groups = t.groups();
      kernels::q4_row_dequant_ref(
          t.cols, groups, t.group_size,
          static_cast<const uint8_t*>(t.data) + static_cast<size_t>(row) * groups * (t.group_size / 2),
          static_cast<const uint16_t*>(t.scales) + static_cast<size_t>(row) * groups,
          t.mins ? static_cast<const uint16_t*>(t.mins) + static_cast<size_t>(row) * groups : nullptr,
          out);
      return;
    }
    case DType::kQ8C:
      kernels::q8_row_dequant_ref(t.cols,
                                  static_cast<const int8_t*>(t.data) + static_cast<size_t>(row) * t.cols,
                                  static_cast<const float*>(t.scales)[row], out);
      return;
    default:
      assert(false && "dtype rejected by the loader");
  }
}

void Transformer::Attention(uint32_t layer, uint32_t pos) {
  const ModelConfig& c = model_->config();
  const uint32_t hd = c.head_dim;
  const uint32_t kv_dim = c.kv_dim();
  const uint32_t group = c.n_heads / c.n_kv_heads;  // query heads per KV head
  const size_t layer_off = static_cast<size_t>(layer) * b_.max_context * kv_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (uint32_t h = 0; h < c.n_heads; ++h) {
    const float* q = b_.q + h * hd;
    float* att = b_.att + static_cast<size_t>(h) * b_.max_context;
    const size_t kv_off = layer_off + (h / group) * hd;
    for (uint32_t t = 0; t <= pos; ++t) {
      const float* k = b_.key_cache + kv_off + static_cast<size_t>(t) * kv_dim;
      float score = 0.0f;
      for (uint32_t i = 0; i < hd; ++i) score += q[i] * k[i];
      att[t] = score * scale;
    }
    k_->softmax(pos + 1, att);
    float* out = b_.xb + h * hd;
    std::memset(out, 0, hd * sizeof(float));
    for (uint32_t t = 0; t <= pos; ++t) {
      const float* v = b_.value_cache + kv_off + static_cast<size_t>(t) * kv_dim;
      const float a = att[t];
      for (uint32_t i = 0; i < hd; ++i) out[i] += a * v[i];
    }
  }
}

void Transformer::Forward(int32_t token, uint32_t pos, bool want_logits) {
  const ModelConfig& c = model_->config();
  assert(token >= 0 && static_cast<uint32_t>(token) < c.vocab_size);
  assert(pos < b_.max_context);
  const uint32_t dim = c.dim;
  const uint32_t kv_dim = c.kv_dim();
  EmbeddingRow(model_->tok_embeddings(), static_cast<uint32_t>(token), b_.x);

  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model_->layer(l);
    k_->rmsnorm(dim, b_.x, static_cast<const float*>(w.attention_norm.data), c.norm_eps, b_.xb);
    const size_t cache_row = (static_cast<size_t>(l) * b_.max_context + pos) * kv_dim;
    float* k_row = b_.key_cache + cache_row;
    float* v_row = b_.value_cache + cache_row;
    Linear(w.wq, b_.xb, b_.q);
    Linear(w.wk, b_.xb, k_row);
    Linear(w.wv, b_.xb, v_row);
    k_->rope(c.n_heads, c.head_dim, pos, c.rope_theta, b_.q);
    k_->rope(c.n_kv_heads, c.head_dim, pos, c.rope_theta, k_row);
    Attention(l, pos);
    Linear(w.wo, b_.xb, b_.xb2);
    for (uint32_t i = 0; i < dim; ++i) b_.x[i] += b_.xb2[i];

    k_->rmsnorm(dim, b_.x, static_cast<const float*>(w.ffn_norm.data), c.norm_eps, b_.xb);
    Linear(w.w1, b_.xb, b_.hb);
    Linear(w.w3, b_.xb, b_.hb2);
    k_->swiglu(c.hidden_dim, b_.hb, b_.hb2);
    Linear(w.w2, b_.hb, b_.xb);
    for (uint32_t i = 0; i < dim; ++i) b_.x[i] += b_.xb[i];
  }
  if (!want_logits) return;
  k_->rmsnorm(dim, b_.x, static_cast<const float*>(model_->norm().data), c.norm_eps, b_.x);
  Linear(model_->output(), b_.x, b_.logits);
}

}  // namespace kite
