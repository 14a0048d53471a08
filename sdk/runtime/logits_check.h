// Comparing two backends' logits: the test the `auto` backend's self-check applies.
#pragma once

#include <cstdint>

namespace kite {

/// How two logit vectors compare.
struct LogitsComparison {
  bool agree = true;         ///< every |got - want| <= tolerance
  uint32_t worst_index = 0;  ///< index of the largest difference
  float worst_diff = 0.0f;   ///< that difference (infinity when either value is not finite)
  float tolerance = 0.0f;    ///< kLogitsAbsTolerance + kLogitsRelTolerance * max |want|
};

/// Tolerance of CompareLogits: absolute part, and part relative to the largest |logit|.
/// Both paths quantize activations the same way; only the order of float sums differs,
/// which moves logits by ~1e-5 of their range, so 1% flags a wrong device, not rounding.
inline constexpr float kLogitsAbsTolerance = 1e-3f;
inline constexpr float kLogitsRelTolerance = 1e-2f;

/// Compares `got` with the reference `want` (n values each). Pure.
LogitsComparison CompareLogits(const float* got, const float* want, uint32_t n);

}  // namespace kite
