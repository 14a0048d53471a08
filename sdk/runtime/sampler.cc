#include "sdk/runtime/sampler.h"

#include <algorithm>
#include <cmath>

namespace kite {
namespace {

// A penalty in [lo, kMaxPenalty] (lo excluded when `open_low`); NaN fails.
Status CheckPenalty(float value, float lo, bool open_low, const char* name) {
  const bool low_ok = open_low ? value > lo : value >= lo;
  KITE_CHECK_OR_RETURN(low_ok && value <= kMaxPenalty, Error::kInvalidArgument,
                       "%s %g is out of range %c%g, %g]", name, static_cast<double>(value),
                       open_low ? '(' : '[', static_cast<double>(lo),
                       static_cast<double>(kMaxPenalty));
  return Status::Ok();
}

bool PenaltiesOn(const SamplerParams& p) {
  return p.penalty_last_n > 0 &&
         (p.repetition_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
}

}  // namespace

Status ValidateSamplerParams(const SamplerParams& p, uint32_t vocab_size) {
  KITE_CHECK_OR_RETURN(p.temperature >= 0.0f && p.temperature <= 100.0f, Error::kInvalidArgument,
                       "temperature %g is out of range [0, 100]", static_cast<double>(p.temperature));
  KITE_CHECK_OR_RETURN(p.top_p > 0.0f && p.top_p <= 1.0f, Error::kInvalidArgument,
                       "top_p %g is out of range (0, 1]", static_cast<double>(p.top_p));
  KITE_CHECK_OR_RETURN(p.min_p >= 0.0f && p.min_p <= 1.0f, Error::kInvalidArgument,
                       "min_p %g is out of range [0, 1]", static_cast<double>(p.min_p));
  KITE_RETURN_IF_ERROR(CheckPenalty(p.repetition_penalty, 0.0f, true, "repetition_penalty"));
  KITE_RETURN_IF_ERROR(CheckPenalty(p.frequency_penalty, 0.0f, false, "frequency_penalty"));
  KITE_RETURN_IF_ERROR(CheckPenalty(p.presence_penalty, 0.0f, false, "presence_penalty"));
  KITE_CHECK_OR_RETURN(p.penalty_last_n <= kMaxPenaltyLastN, Error::kInvalidArgument,
                       "penalty_last_n %u is out of range [0, %u]", p.penalty_last_n,
                       kMaxPenaltyLastN);
  KITE_CHECK_OR_RETURN(p.logit_bias != nullptr || p.n_logit_bias == 0, Error::kInvalidArgument,
                       "logit_bias is null but n_logit_bias is %zu", p.n_logit_bias);
  for (size_t i = 0; i < p.n_logit_bias; ++i) {
    const LogitBias& b = p.logit_bias[i];
    KITE_CHECK_OR_RETURN(b.token >= 0 && static_cast<uint32_t>(b.token) < vocab_size,
                         Error::kInvalidArgument,
                         "logit_bias[%zu].token %d is out of range [0, %u)", i, b.token,
                         vocab_size);
    KITE_CHECK_OR_RETURN(std::isfinite(b.bias) || b.bias == -INFINITY, Error::kInvalidArgument,
                         "logit_bias[%zu].bias %g must be finite, or -INFINITY to ban token %d",
                         i, static_cast<double>(b.bias), b.token);
  }
  return Status::Ok();
}

int32_t Argmax(const float* values, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (values[i] > values[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

void RecentTokens::Push(const int32_t* tokens, size_t n) {
  if (capacity_ == 0) return;
  if (n > capacity_) {
    tokens += n - capacity_;
    n = capacity_;
  }
  for (size_t i = 0; i < n; ++i) {
    ring_[next_] = tokens[i];
    next_ = next_ + 1 == capacity_ ? 0 : next_ + 1;
  }
  size_ = static_cast<uint32_t>(std::min<size_t>(capacity_, size_ + n));
}

Sampler::Sampler(const SamplerParams& params, uint32_t vocab_size, ProbIndex* scratch,
                 int32_t* window_scratch)
    : params_(params), vocab_size_(vocab_size), scratch_(scratch), window_(window_scratch) {
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

void Sampler::ApplyPenalties(const RecentTokens& recent) {
  // Sorting a copy of the window groups each token's occurrences, so every distinct token
  // is penalised once, with its count, without a vocabulary-sized table.
  const uint32_t n = std::min(params_.penalty_last_n, recent.size());
  for (uint32_t i = 0; i < n; ++i) window_[i] = recent.Back(i);
  std::sort(window_, window_ + n);
  for (uint32_t i = 0; i < n;) {
    uint32_t end = i + 1;
    while (end < n && window_[end] == window_[i]) ++end;
    float& logit = scratch_[window_[i]].prob;
    if (params_.repetition_penalty != 1.0f) {
      logit = logit > 0.0f ? logit / params_.repetition_penalty
                           : logit * params_.repetition_penalty;
    }
    logit -= static_cast<float>(end - i) * params_.frequency_penalty + params_.presence_penalty;
    i = end;
  }
}

int32_t Sampler::Sample(const float* logits, const RecentTokens* recent) {
  const bool penalise = recent != nullptr && PenaltiesOn(params_);
  const bool adjust = penalise || params_.n_logit_bias > 0;
  const size_t n = vocab_size_;
  if (params_.temperature == 0.0f && !adjust) return Argmax(logits, n);

  // scratch_[i].prob holds token i's (adjusted) logit until the softmax below.
  size_t best = 0;
  for (size_t i = 0; i < n; ++i) scratch_[i] = ProbIndex{logits[i], static_cast<int32_t>(i)};
  if (adjust) {
    for (size_t i = 0; i < params_.n_logit_bias; ++i) {
      scratch_[params_.logit_bias[i].token].prob += params_.logit_bias[i].bias;
    }
    if (penalise) ApplyPenalties(*recent);
  }
  for (size_t i = 1; i < n; ++i) {
    if (scratch_[i].prob > scratch_[best].prob) best = i;
  }
  const float max = scratch_[best].prob;
  // Greedy, or every token banned (exp(-inf - -inf) would be NaN): the largest, lowest id.
  if (params_.temperature == 0.0f || max == -INFINITY) return static_cast<int32_t>(best);

  const float inv_t = 1.0f / params_.temperature;
  for (size_t i = 0; i < n; ++i) scratch_[i].prob = std::exp((scratch_[i].prob - max) * inv_t);
  // The most likely token has probability 1 here (before normalising), so min-p keeps the
  // tokens whose value reaches min_p.
  size_t kept = n;
  if (params_.min_p > 0.0f) {
    kept = 0;
    for (size_t i = 0; i < n; ++i) {
      if (scratch_[i].prob >= params_.min_p) scratch_[kept++] = scratch_[i];
    }
  }
  float sum = 0.0f;
  for (size_t i = 0; i < kept; ++i) sum += scratch_[i].prob;
  const auto by_prob = [](const ProbIndex& a, const ProbIndex& b) {
    return a.prob > b.prob || (a.prob == b.prob && a.index < b.index);
  };
  const bool top_k = params_.top_k > 0 && params_.top_k < kept;
  const bool top_p = params_.top_p < 1.0f;
  if (top_k) {
    std::partial_sort(scratch_, scratch_ + params_.top_k, scratch_ + kept, by_prob);
    kept = params_.top_k;
  } else if (top_p) {
    std::sort(scratch_, scratch_ + kept, by_prob);
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
  size_t last_possible = 0;
  for (size_t i = 0; i < kept; ++i) {
    if (scratch_[i].prob > 0.0f) last_possible = i;
    cumulative += scratch_[i].prob;
    if (r < cumulative) return scratch_[i].index;
  }
  return scratch_[last_possible].index;  // rounding left r at the very top
}

}  // namespace kite
