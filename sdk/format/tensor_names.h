// Names of the tensors of a Llama-style model inside a .kite file. The converter writes
// them, the loader looks them up. Per-layer names are "layers.<i>.<suffix>".
#pragma once

namespace kite::names {

inline constexpr const char* kTokEmbeddings = "tok_embeddings";  ///< [vocab, dim]
inline constexpr const char* kNorm = "norm";                     ///< [dim], final RMSNorm
inline constexpr const char* kOutput = "output";                 ///< [vocab, dim]; absent when tied

// Per-layer suffixes.
inline constexpr const char* kAttentionNorm = "attention_norm";  ///< [dim]
inline constexpr const char* kWq = "attention.wq";               ///< [n_heads*head_dim, dim]
inline constexpr const char* kWk = "attention.wk";               ///< [n_kv_heads*head_dim, dim]
inline constexpr const char* kWv = "attention.wv";               ///< [n_kv_heads*head_dim, dim]
inline constexpr const char* kWo = "attention.wo";               ///< [dim, n_heads*head_dim]
inline constexpr const char* kFfnNorm = "ffn_norm";              ///< [dim]
inline constexpr const char* kW1 = "feed_forward.w1";            ///< [hidden, dim] gate
inline constexpr const char* kW2 = "feed_forward.w2";            ///< [dim, hidden] down
inline constexpr const char* kW3 = "feed_forward.w3";            ///< [hidden, dim] up
// Optional q/k/v biases (config.attention_bias, e.g. Qwen2), f32 vectors added right after
// the projections (before RoPE). Rows follow the same interleaved-pair order as wq/wk.
inline constexpr const char* kBq = "attention.bq";               ///< [n_heads*head_dim]
inline constexpr const char* kBk = "attention.bk";               ///< [n_kv_heads*head_dim]
inline constexpr const char* kBv = "attention.bv";               ///< [n_kv_heads*head_dim]

}  // namespace kite::names
