// Picks the next token from logits: logit bias and repetition penalties, then greedy, or
// temperature with min-p / top-k / top-p filtering.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/base/status.h"

namespace kite {

/// Longest window of recent context tokens the penalties look at
/// (SamplerParams::penalty_last_n). The session keeps this many of its context's last
/// tokens (fewer when its context is shorter). KITE_MAX_PENALTY_LAST_N mirrors it.
inline constexpr uint32_t kMaxPenaltyLastN = 1024;
/// Largest repetition, frequency or presence penalty accepted.
inline constexpr float kMaxPenalty = 100.0f;

/// A logit added to one token before sampling. kite_logit_bias (kite.h) has the same layout
/// (checked in sdk/runtime/c_api_mirror.cc).
struct LogitBias {
  int32_t token;  ///< id in [0, vocab_size)
  float bias;     ///< added to the token's logit: finite, or -INFINITY to ban the token
};

/// Sampling parameters. temperature == 0 means greedy (argmax, ties to the lowest id).
/// Adjustments run in this order on a copy of the logits: logit bias, repetition penalty
/// (a positive logit is divided by it, a negative one multiplied), frequency penalty (minus
/// it times the token's count in the window) and presence penalty (minus it once for a
/// token in the window); then greedy picks the largest, or sampling applies the
/// temperature, min-p, top-k and top-p in that order and draws.
struct SamplerParams {
  float temperature = 0.0f;  ///< >= 0; logits are divided by it before softmax
  uint32_t top_k = 0;        ///< keep the k most likely tokens; 0 = no limit
  float top_p = 1.0f;        ///< keep the smallest set whose probability mass reaches p; 1 = off
  uint64_t seed = 0;         ///< random seed (the same seed gives the same tokens)
  /// Keep only tokens whose probability (after the temperature) is at least min_p times
  /// the most likely token's; in [0, 1], 0 = off.
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;  ///< in (0, kMaxPenalty]; 1 = off
  float frequency_penalty = 0.0f;   ///< in [0, kMaxPenalty]; 0 = off
  float presence_penalty = 0.0f;    ///< in [0, kMaxPenalty]; 0 = off
  /// The penalties look at the context's last penalty_last_n tokens (prompt and generated
  /// ones); 0..kMaxPenaltyLastN, 0 = off.
  uint32_t penalty_last_n = 64;
  /// n_logit_bias biases (borrowed; may be null when n_logit_bias is 0). A token listed
  /// twice gets both.
  const LogitBias* logit_bias = nullptr;
  size_t n_logit_bias = 0;
};

/// Checks ranges (temperature in [0, 100], top_p in (0, 1], min_p in [0, 1], the
/// penalties, penalty_last_n, every logit bias against `vocab_size`); NaN is out of every
/// range. The message names the bad field.
Status ValidateSamplerParams(const SamplerParams& params, uint32_t vocab_size);

/// One candidate during top-k / top-p selection (the sampler's scratch element).
struct ProbIndex {
  float prob;
  int32_t index;
};

/// The last tokens of a context, in a ring of caller storage (no allocation). Not
/// thread-safe.
class RecentTokens {
 public:
  RecentTokens() = default;
  /// `storage` holds `capacity` ids and outlives this object.
  RecentTokens(int32_t* storage, uint32_t capacity) : ring_(storage), capacity_(capacity) {}
  /// Appends `n` ids (only the last `capacity` are kept).
  void Push(const int32_t* tokens, size_t n);
  /// Forgets every token.
  void Clear() { size_ = 0; }
  /// Tokens held: min(tokens pushed since Clear, capacity).
  uint32_t size() const { return size_; }
  /// The i-th most recent token (0: the last one); i < size().
  int32_t Back(uint32_t i) const {
    return ring_[(next_ + capacity_ - 1 - i) % capacity_];
  }

 private:
  int32_t* ring_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t next_ = 0;  // where the next token goes
  uint32_t size_ = 0;
};

/// Stateful sampler (owns the RNG state). Uses caller-provided scratch, never allocates.
/// Not thread-safe; one per session.
class Sampler {
 public:
  Sampler() = default;
  /// `scratch` has room for `vocab_size` ProbIndex entries and outlives the sampler.
  /// `window_scratch` (needed only when a penalty is on) has room for as many ids as the
  /// RecentTokens later passed to Sample() can hold.
  Sampler(const SamplerParams& params, uint32_t vocab_size, ProbIndex* scratch,
          int32_t* window_scratch = nullptr);

  /// Picks a token from `logits` (vocab_size values, left unchanged). The penalties look at
  /// `recent` (null: no penalty). Tokens in `recent` must be < vocab_size. When every
  /// token is banned (all logits -INFINITY), picks id 0.
  int32_t Sample(const float* logits, const RecentTokens* recent = nullptr);

  /// Next pseudo-random float in [0, 1) (xorshift64*).
  float NextFloat();

 private:
  // Applies the penalties over the window of `recent` to scratch_[t].prob (logits).
  void ApplyPenalties(const RecentTokens& recent);

  SamplerParams params_;
  uint32_t vocab_size_ = 0;
  ProbIndex* scratch_ = nullptr;
  int32_t* window_ = nullptr;
  uint64_t state_ = 0;
};

/// Index of the largest of `n` values; ties go to the lowest index.
int32_t Argmax(const float* values, size_t n);

}  // namespace kite
