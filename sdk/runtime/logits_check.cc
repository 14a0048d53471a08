#include "sdk/runtime/logits_check.h"

#include <cmath>
#include <limits>

namespace kite {

LogitsComparison CompareLogits(const float* got, const float* want, uint32_t n) {
  LogitsComparison c;
  float range = 0.0f;
  for (uint32_t i = 0; i < n; ++i) {
    if (std::isfinite(want[i])) range = std::fmax(range, std::fabs(want[i]));
  }
  c.tolerance = kLogitsAbsTolerance + kLogitsRelTolerance * range;
  for (uint32_t i = 0; i < n; ++i) {
    const float d = std::isfinite(got[i]) && std::isfinite(want[i])
                        ? std::fabs(got[i] - want[i])
                        : std::numeric_limits<float>::infinity();
    if (d > c.worst_diff) {
      c.worst_diff = d;
      c.worst_index = i;
    }
  }
  c.agree = c.worst_diff <= c.tolerance;
  return c;
}

}  // namespace kite
