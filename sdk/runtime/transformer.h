// The Llama-style decoder forward pass over one token (RMSNorm, interleaved RoPE, GQA
// attention with a KV cache, SwiGLU feed-forward, shared or separate classifier).
#pragma once

#include <cstdint>

#include "sdk/kernels/dispatch.h"
#include "sdk/runtime/model.h"

namespace kite {

/// Arena-backed buffers the forward pass works in (sizes from MemoryPlan).
struct ForwardBuffers {
  float* x;            ///< [dim] residual stream
  float* xb;           ///< [max(dim, q_dim)]
  float* xb2;          ///< [dim]
  float* hb;           ///< [hidden_dim]
  float* hb2;          ///< [hidden_dim]
  float* q;            ///< [q_dim]
  float* att;          ///< [n_heads * max_context]
  float* logits;       ///< [vocab_size]
  float* key_cache;    ///< [n_layers * max_context * kv_dim]
  float* value_cache;  ///< [n_layers * max_context * kv_dim]
  int8_t* xq;          ///< quantized activation scratch
  float* xq_scales;    ///< its per-group scales
  int32_t* xq_sums;    ///< its per-group sums of quantized values
  uint32_t max_context;
};

/// Runs the model one token at a time. Holds no memory of its own; not thread-safe (one
/// per session). Kernels are picked by the caller once (KernelTable).
class Transformer {
 public:
  Transformer() = default;
  Transformer(const Model* model, const kernels::KernelTable* kernels, const ForwardBuffers& buffers)
      : model_(model), k_(kernels), b_(buffers) {}

  /// Processes `token` at position `pos` (pos < max_context, token < vocab_size: the
  /// caller checks), appending to the KV cache. When `want_logits`, writes the next-token
  /// logits to buffers().logits.
  void Forward(int32_t token, uint32_t pos, bool want_logits);

  const ForwardBuffers& buffers() const { return b_; }

 private:
  // y = W x for any supported weight dtype.
  void Linear(const TensorView& w, const float* x, float* y);
  // Writes row `row` of an embedding-shaped tensor to `out` as f32.
  void EmbeddingRow(const TensorView& t, uint32_t row, float* out);
  void Attention(uint32_t layer, uint32_t pos);

  const Model* model_ = nullptr;
  const kernels::KernelTable* k_ = nullptr;
  ForwardBuffers b_{};
};

}  // namespace kite
