#include "sdk/runtime/sampler.h"

#include <algorithm>
#include <cmath>

namespace kite {

Status ValidateSamplerParams(const SamplerParams& p) {
  KITE_CHECK_OR_RETURN(p.temperature >= 0.0f && p.temperature <= 100.0f, Error::kInvalidArgument,
                       "temperature %g is out of range [0, 100]", static_cast<double>(p.temperature));
  KITE_CHECK_OR_RETURN(p.top_p > 0.0f && p.top_p <= 1.0f, Error::kInvalidArgument,
                       "top_p %g is out of range (0, 1]", static_cast<double>(p.top_p));
  return Status::Ok();
}

int32_t Argmax(const float* values, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (values[i] > values[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplerParams& params, uint32_t vocab_size, ProbIndex* scratch)
    : params_(params), vocab_size_(vocab_size), scratch_(scratch) {
  // splitmix64 of the seed, so nearby seeds give unrelated streams and the state is never 0.
  uint64_t z = params.seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  state_ = (z ^ (z >> 31)) | 1u;
}

float Sampler::NextFloat() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  const uint64_t r = state_ * 0x2545F4914F6CDD1Dull;
  return static_cast<float>(r >> 40) / 16777216.0f;  // top 24 bits -> [0, 1)
}

int32_t Sampler::Sample(float* logits) {
  const size_t n = vocab_size_;
  if (params_.temperature == 0.0f) return Argmax(logits, n);

  float max = logits[0];
  for (size_t i = 1; i < n; ++i) max = std::max(max, logits[i]);
  const float inv_t = 1.0f / params_.temperature;
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float p = std::exp((logits[i] - max) * inv_t);
    scratch_[i] = ProbIndex{p, static_cast<int32_t>(i)};
    sum += p;
  }
  size_t kept = n;
  const auto by_prob = [](const ProbIndex& a, const ProbIndex& b) {
    return a.prob > b.prob || (a.prob == b.prob && a.index < b.index);
  };
  const bool top_k = params_.top_k > 0 && params_.top_k < n;
  const bool top_p = params_.top_p < 1.0f;
  if (top_k) {
    kept = params_.top_k;
    std::partial_sort(scratch_, scratch_ + kept, scratch_ + n, by_prob);
  } else if (top_p) {
    std::sort(scratch_, scratch_ + n, by_prob);
  }
  float kept_sum = sum;
  if (top_k) {
    kept_sum = 0.0f;
    for (size_t i = 0; i < kept; ++i) kept_sum += scratch_[i].prob;
  }
  if (top_p) {
    // Smallest prefix whose share of the kept mass reaches top_p.
    const float target = params_.top_p * kept_sum;
    float cumulative = 0.0f;
    for (size_t i = 0; i < kept; ++i) {
      cumulative += scratch_[i].prob;
      if (cumulative >= target) {
        kept = i + 1;
        break;
      }
    }
    kept_sum = cumulative;
  }
  const float r = NextFloat() * kept_sum;
  float cumulative = 0.0f;
  for (size_t i = 0; i < kept; ++i) {
    cumulative += scratch_[i].prob;
    if (r < cumulative) return scratch_[i].index;
  }
  return scratch_[kept - 1].index;  // rounding left r at the very top
}

}  // namespace kite
