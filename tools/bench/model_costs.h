// What running a model costs per token, computed from its .kite tensor table: the bytes a
// decode step reads and the int8 ops a prefill token needs. Feeds the roofline. Host tools.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace kite::bench {

/// Per-token cost figures of one model and session shape.
struct ModelCosts {
  uint32_t dim = 0, n_layers = 0, vocab_size = 0;
  uint32_t max_seq_len = 0;  ///< the model's longest context, in positions
  bool tied_embeddings = false;
  uint64_t tensor_bytes = 0;         ///< data + scales + mins extents of every tensor
  uint64_t embedding_bytes = 0;      ///< the tok_embeddings tensor
  uint64_t embedding_row_bytes = 0;  ///< embedding_bytes / vocab_size
  /// Weight bytes one decode step reads: tensor_bytes - embedding_bytes + one embedding
  /// row, + embedding_bytes again when the embedding is the tied output head.
  uint64_t weight_bytes_per_token = 0;
  uint64_t layer_matmul_params = 0;  ///< elements of every 2-D "layers.*" tensor
  uint64_t head_params = 0;          ///< vocab_size * dim (the output head)
  /// K and V bytes per cached position over all layers, from the session memory plan.
  uint64_t kv_bytes_per_position = 0;
  uint64_t kv_cache_bytes = 0;       ///< the session's whole KV cache
};

/// Opens `path` with the C++ runtime (mapped, not read) and computes the costs for a
/// session of `context` positions, `threads` threads, prefill chunks of `chunk` tokens and
/// a KV cache of `kv_type` (a kite_kv_type value). Fails with NotFound or DataLoss
/// (with the loader's message) when the file cannot be opened as a model, and with
/// InvalidArgument when `context` exceeds the model's max_seq_len ("context N exceeds the
/// model's max_seq_len M", for the caller to say where N came from) or the planner rejects
/// the session options.
absl::StatusOr<ModelCosts> ComputeModelCosts(const std::string& path, uint32_t context,
                                             uint32_t threads, uint32_t chunk,
                                             uint32_t kv_type);

/// Bytes read per decode token averaged over `generate` steps after a `prompt`-token
/// prompt: weight_bytes_per_token + kv_bytes_per_position * (prompt + (generate + 1) / 2),
/// the mean number of positions attended to.
double DecodeBytesPerToken(const ModelCosts& costs, uint32_t prompt, uint32_t generate);

/// Int8 ops per prompt token: 2 * layer_matmul_params + 2 * head_params / prompt (logits
/// are computed for the last prompt token only).
double PrefillOpsPerToken(const ModelCosts& costs, uint32_t prompt);

}  // namespace kite::bench
