// The Llama-style decoder forward pass (RMSNorm, interleaved RoPE, GQA attention with a KV
// cache, SwiGLU feed-forward, shared or separate classifier) over a chunk of tokens: a
// decode step is a chunk of one, prefill runs the prompt in chunks as matrix products.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/thread_pool.h"
#include "sdk/kernels/dispatch.h"
#include "sdk/runtime/loader/model.h"

namespace kite {

/// Arena-backed buffers the forward pass works in (sizes from MemoryPlan). Per-token
/// buffers hold `max_batch` rows.
struct ForwardBuffers {
  uint32_t max_batch;   ///< most tokens per Forward() call (the prefill chunk)
  uint32_t max_context;
  float* x;            ///< [max_batch][dim] residual stream
  float* xb;           ///< [max_batch][max(dim, q_dim)]
  float* xb2;          ///< [max_batch][dim]
  float* hb;           ///< [max_batch][hidden_dim]
  float* hb2;          ///< [max_batch][hidden_dim]
  float* q;            ///< [max_batch][q_dim]
  float* att;          ///< [n_heads * max_context] attention scores: one row per task
                       ///< (head or head and query range; transformer.cc)
  float* logits;       ///< [vocab_size], for the last token of a chunk
  float* key_cache;    ///< [n_layers][max_context][kv_dim] (f32 KV; null for int8)
  float* value_cache;  ///< [n_layers][max_context][kv_dim] (f32 KV; null for int8)
  // The int8 KV cache (all null for f32 KV): rows as above, and per KV head per row an f16
  // scale and offset (kernels::q8kv_quantize).
  int8_t* key_cache_q8;    ///< [n_layers][max_context][kv_dim]
  int8_t* value_cache_q8;  ///< [n_layers][max_context][kv_dim]
  uint16_t* key_params;    ///< [n_layers][max_context][n_kv_heads][2] (scale, offset)
  uint16_t* value_params;  ///< [n_layers][max_context][n_kv_heads][2] (scale, offset)
  float* k_rows;           ///< [max_batch][kv_dim] a chunk's f32 keys before quantization
  float* v_rows;           ///< [max_batch][kv_dim] its f32 values (may alias hb / hb2)
  int8_t* xq;          ///< [max_batch][xq_stride] quantized activations
  float* xq_scales;    ///< [max_batch][xq_groups] their per-group scales
  int32_t* xq_sums;    ///< [max_batch][xq_groups] their per-group sums
  size_t xq_stride;    ///< int8 values per token row (widest padded input)
  size_t xq_groups;    ///< groups per token row
};

/// Runs the model. Holds no memory of its own; not thread-safe (one per session). Kernels
/// are picked once by the caller (KernelTable); work is spread over `pool`.
class Transformer {
 public:
  Transformer() = default;
  Transformer(const Model* model, const kernels::KernelTable* kernels, ThreadPool* pool,
              const ForwardBuffers& buffers)
      : model_(model), k_(kernels), pool_(pool), b_(buffers) {}

  /// Processes tokens[0..n) at positions pos..pos+n-1 (1 <= n <= max_batch,
  /// pos + n <= max_context, every token < vocab_size: the caller checks), appending to
  /// the KV cache. When `want_logits`, writes the logits after the last token to
  /// buffers().logits.
  void Forward(const int32_t* tokens, uint32_t n, uint32_t pos, bool want_logits);

  const ForwardBuffers& buffers() const { return b_; }
  const kernels::KernelTable& kernels() const { return *k_; }

  /// One matrix of a Linears() call and where its output rows go.
  struct LinearOutput {
    const TensorView* w;
    float* y;
    size_t y_stride;
  };

 private:
  // Element-wise work a Linears() call does on the rows each task has just written, inside
  // the parallel loop (so the other threads are not idle while the caller does it alone).
  // Results are the same as doing it after the call. LinearFusion{} (all zero): nothing.
  struct LinearFusion {
    // Two outputs (gate, up) of the same rows: gate rows = silu(gate) * up (k_->swiglu).
    // Each task computes the same block of both matrices.
    bool swiglu;
    // One output: residual[t][r] += y[t][r] for its rows (token rows residual_stride apart).
    float* residual;
    size_t residual_stride;
  };
  // y[t] = W x[t] for t < n; x rows are `x_stride` floats apart, y rows `y_stride`.
  void Linear(const TensorView& w, uint32_t n, const float* x, size_t x_stride, float* y,
              size_t y_stride, const LinearFusion& fusion = LinearFusion{});
  // Several matrices over the same input (q/k/v, gate/up) in one parallel loop, with the
  // input quantized once. All must share dtype, layout, group size and cols.
  void Linears(const LinearOutput* outs, size_t count, uint32_t n, const float* x, size_t x_stride,
               const LinearFusion& fusion = LinearFusion{});
  // The fusion's work done after a call on all rows (a dense or a split call).
  void ApplyFusion(const LinearOutput* outs, uint32_t n, const LinearFusion& fusion);
  // Writes row `row` of an embedding-shaped tensor to `out` as f32.
  void EmbeddingRow(const TensorView& t, uint32_t row, float* out);
  // Causal attention of the chunk's queries over the cache of `layer` (positions up to
  // pos + i for token i); writes each head's output into xb.
  void Attention(uint32_t layer, uint32_t n, uint32_t pos);

  const Model* model_ = nullptr;
  const kernels::KernelTable* k_ = nullptr;
  ThreadPool* pool_ = nullptr;
  ForwardBuffers b_{};
};

}  // namespace kite
