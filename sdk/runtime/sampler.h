// Picks the next token from logits: greedy, or temperature with top-k / top-p filtering.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/base/status.h"

namespace kite {

/// Sampling parameters. temperature == 0 means greedy (argmax, ties to the lowest id).
struct SamplerParams {
  float temperature = 0.0f;  ///< >= 0; logits are divided by it before softmax
  uint32_t top_k = 0;        ///< keep the k most likely tokens; 0 = no limit
  float top_p = 1.0f;        ///< keep the smallest set whose probability mass reaches p; 1 = off
  uint64_t seed = 0;         ///< random seed (the same seed gives the same tokens)
};

/// Checks ranges (temperature in [0, 100], top_p in (0, 1]); names the bad field.
Status ValidateSamplerParams(const SamplerParams& params);

/// One candidate during top-k / top-p selection (the sampler's scratch element).
struct ProbIndex {
  float prob;
  int32_t index;
};

/// Stateful sampler (owns the RNG state). Uses caller-provided scratch, never allocates.
/// Not thread-safe; one per session.
class Sampler {
 public:
  Sampler() = default;
  /// `scratch` has room for `vocab_size` ProbIndex entries and outlives the sampler.
  Sampler(const SamplerParams& params, uint32_t vocab_size, ProbIndex* scratch);

  /// Picks a token from `logits` (vocab_size values; modified in place when temperature > 0).
  int32_t Sample(float* logits);

  /// Next pseudo-random float in [0, 1) (xorshift64*).
  float NextFloat();

 private:
  SamplerParams params_;
  uint32_t vocab_size_ = 0;
  ProbIndex* scratch_ = nullptr;
  uint64_t state_ = 0;
};

/// Index of the largest of `n` values; ties go to the lowest index.
int32_t Argmax(const float* values, size_t n);

}  // namespace kite
