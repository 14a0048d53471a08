// Hugging Face model folders (config.json + model.safetensors, or model-*.safetensors
// shards with model.safetensors.index.json) read into a SourceModel with Kite tensor names.
// Host tools only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/source/hf_config.h"
#include "tools/convert/source/source_model.h"

namespace kite::convert {

/// An opened folder whose config, index, headers, names and shapes have all been checked,
/// reading each tensor only when asked (so a converter can hold one tensor at a time).
/// Movable, not copyable. Load() may be called from several threads at once.
class HfWeights {
 public:
  /// Opens `folder` with every check ReadHfModel() does except reading tensor data.
  static absl::StatusOr<HfWeights> Open(const std::string& folder);

  const HfConfig& hf() const { return hf_; }
  /// Kite names and shapes in SourceModel order, with empty data.
  const std::vector<SourceTensor>& tensors() const { return tensors_; }
  /// The safetensors files (base names).
  const std::vector<std::string>& weight_files() const { return weight_files_; }

  /// Reads tensor `index` of tensors() into *out (name, shape, f32 data with the q/k
  /// permutation undone). Errors name the tensor and the file.
  absl::Status Load(size_t index, SourceTensor* out) const;

  HfWeights(HfWeights&&) noexcept;
  HfWeights& operator=(HfWeights&&) noexcept;
  ~HfWeights();

 private:
  HfWeights();
  struct Files;
  HfConfig hf_;
  std::vector<SourceTensor> tensors_;
  std::vector<std::string> weight_files_;
  std::unique_ptr<Files> files_;  // open shards and where each tensor is
};

/// A folder read into memory.
struct HfImport {
  HfConfig hf;                            ///< config.json and the token hints
  SourceModel model;                      ///< f32 weights with Kite names and Meta q/k order
  std::vector<std::string> weight_files;  ///< the safetensors files read (base names)
};

/// Reads the folder: config (ReadHfConfig), then every tensor the config needs, each from
/// the file the index names (F32, F16 and BF16 widened to f32). q_proj/k_proj (and their
/// biases) get the inverse of transformers' rotate_half permutation, so the weights use
/// Kite's interleaved RoPE pairs. Tied models use model.embed_tokens.weight as the head
/// (a present lm_head.weight is ignored); untied ones need lm_head.weight.
/// Errors name the tensor and the file: a missing tensor, a shape that does not match the
/// config, a shard the index names that does not exist, a tensor Kite would not use (other
/// than rotary_emb.inv_freq), and every safetensors header problem. Holds the whole model
/// in f32 (used by tests); kite-convert uses HfWeights to hold one tensor at a time.
absl::StatusOr<HfImport> ReadHfModel(const std::string& folder);

/// Reorders the rows of a [n_heads * head_dim, cols] matrix in place from transformers'
/// rotate_half order to interleaved pairs: within each head, HF row c * head_dim/2 + j
/// becomes row 2j + c. Use cols = 1 for a bias vector. head_dim must be even.
void RotateHalfToInterleaved(float* rows, uint32_t n_heads, uint32_t head_dim, uint64_t cols);

}  // namespace kite::convert
