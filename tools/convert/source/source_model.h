// A model as a checkpoint reader produces it: the architecture config and every weight as
// an owned f32 tensor with a Kite tensor name (sdk/format/tensor_names.h). Readers of all
// input formats (llama2.c, later GGUF and Hugging Face) fill this; the converter consumes it.
// Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kite::convert {

/// Architecture hyper-parameters of a Llama-style decoder (mirrors kite.schema.Config).
struct SourceConfig {
  std::string architecture = "llama";
  uint32_t dim = 0;          ///< model (embedding) width
  uint32_t hidden_dim = 0;   ///< feed-forward width
  uint32_t n_layers = 0;
  uint32_t n_heads = 0;
  uint32_t n_kv_heads = 0;
  uint32_t head_dim = 0;     ///< elements per attention head
  uint32_t vocab_size = 0;
  uint32_t max_seq_len = 0;  ///< longest context the model was trained for, in tokens
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  /// True when the output head reuses "tok_embeddings" (no "output" tensor).
  bool tied_embeddings = true;
  /// True when q/k/v have bias vectors "layers.<i>.attention.b{q,k,v}" (Qwen2).
  bool attention_bias = false;
  /// RoPE frequency scaling (kite.schema.RopeScaling). kLlama3 is Llama 3.1/3.2's
  /// "rope_scaling": {"rope_type": "llama3", ...}; the four numbers below belong to it.
  enum class RopeScaling { kNone, kLlama3 };
  RopeScaling rope_scaling = RopeScaling::kNone;
  float rope_scaling_factor = 1.0f;
  float rope_low_freq_factor = 1.0f;
  float rope_high_freq_factor = 4.0f;
  uint32_t rope_original_max_seq_len = 0;  ///< original_max_position_embeddings, tokens
};

/// One weight tensor, row-major f32. Matrices have shape [rows, cols] (rows = output
/// features), vectors [n]. `data` holds the product of `shape` elements.
struct SourceTensor {
  std::string name;
  std::vector<uint64_t> shape;
  std::vector<float> data;

  /// Number of elements (product of the shape; 0 for an empty shape).
  uint64_t elements() const {
    if (shape.empty()) return 0;
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    return n;
  }
};

/// A whole source model. Tensors are in a stable order: "tok_embeddings", then each layer's
/// tensors (layer 0 first), then "norm" and, when the head is not tied, "output".
struct SourceModel {
  SourceConfig config;
  std::vector<SourceTensor> tensors;
};

}  // namespace kite::convert
