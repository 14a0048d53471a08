#include "tools/convert/compress/codebook.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "sdk/kernels/fp16.h"

namespace kite::convert {
namespace {

constexpr uint64_t kGroup = kQ4R16GroupSize;
// Rounds of (k-means, scale refit), Lloyd iterations per round, and the most sampled
// weights k-means visits per iteration: enough for 16 centroids, cheap for 1B weights.
constexpr int kRounds = 3;
constexpr int kLloydIterations = 12;
constexpr uint64_t kMaxSamples = uint64_t{1} << 18;
// Scale candidates per group (last round): the extreme mappings shrunk by 0..kShrinkSteps
// steps of kShrink.
constexpr int kShrinkSteps = 5;
constexpr float kShrink = 0.04f;

using Codebook = std::array<int8_t, kQ4CodebookEntries>;

// Weighted squared error of one group of n weights against scale d and `cb`; the codes
// go to `codes` when not null.
double GroupError(const float* w, const float* h, size_t n, float d, const Codebook& cb,
                  uint8_t* codes) {
  double err = 0.0;
  for (size_t j = 0; j < n; ++j) {
    const uint8_t u = d != 0.0f ? NearestCode(cb, w[j] / d) : NearestCode(cb, 0.0f);
    const double e = static_cast<double>(w[j]) - static_cast<double>(d) * cb[u];
    err += (h != nullptr ? h[j] : 1.0) * e * e;
    if (codes != nullptr) codes[j] = u;
  }
  return err;
}

}  // namespace

uint8_t NearestCode(const Codebook& codebook, float v) {
  // Binary search for the first entry above v, then the nearer of it and its predecessor.
  size_t lo = 0, hi = kQ4CodebookEntries;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (static_cast<float>(codebook[mid]) <= v) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return 0;
  if (lo == kQ4CodebookEntries) return kQ4CodebookEntries - 1;
  return v - codebook[lo - 1] <= codebook[lo] - v ? static_cast<uint8_t>(lo - 1)
                                                  : static_cast<uint8_t>(lo);
}

absl::StatusOr<Q4CodebookMatrix> QuantizeQ4Codebook(const float* w, uint64_t rows, uint64_t cols,
                                                    const float* col_weight) {
  if (rows == 0 || cols == 0) return absl::InvalidArgumentError("empty matrix");
  const uint64_t groups = (cols + kGroup - 1) / kGroup;
  const uint64_t padded = groups * kGroup;
  Q4CodebookMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.codes.assign(rows * padded, 8);
  m.scales.assign(rows * groups, 0);
  std::vector<float> d(rows * groups, 0.0f);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t g = 0; g < groups; ++g) {
      float max_abs = 0.0f;
      for (uint64_t c = g * kGroup; c < std::min(cols, (g + 1) * kGroup); ++c) {
        const float v = w[r * cols + c];
        if (!std::isfinite(v)) {
          return absl::InvalidArgumentError(
              absl::StrFormat("non-finite value %g at row %d, column %d", v, r, c));
        }
        max_abs = std::max(max_abs, std::fabs(v));
      }
      const float s = max_abs / static_cast<float>(kQ4CodebookMax);
      if (!std::isfinite(HalfToFloat(FloatToHalf(s)))) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "scale %g of row %d, columns from %d, overflows f16", s, r, g * kGroup));
      }
      m.scales[r * groups + g] = FloatToHalf(s);
      d[r * groups + g] = HalfToFloat(m.scales[r * groups + g]);
    }
  }
  // k-means state in f64; starts as a uniform grid over [-127, 127].
  double centroids[kQ4CodebookEntries];
  for (size_t i = 0; i < kQ4CodebookEntries; ++i) {
    centroids[i] = -kQ4CodebookMax + 2.0 * kQ4CodebookMax * i / (kQ4CodebookEntries - 1);
  }
  const uint64_t n = rows * cols;
  const uint64_t stride = std::max<uint64_t>(1, n / kMaxSamples);
  std::vector<float> values, weights;
  values.reserve(n / stride + 1);
  weights.reserve(n / stride + 1);
  std::vector<float> h_group(kGroup);
  for (int round = 0; round < kRounds; ++round) {
    values.clear();
    weights.clear();
    for (uint64_t i = 0; i < n; i += stride) {
      const uint64_t r = i / cols, c = i % cols;
      const float dg = d[r * groups + c / kGroup];
      if (dg == 0.0f) continue;
      values.push_back(w[i] / dg);
      weights.push_back(dg * dg * (col_weight != nullptr ? col_weight[c] : 1.0f));
    }
    for (int it = 0; it < kLloydIterations; ++it) {
      double sum[kQ4CodebookEntries] = {}, mass[kQ4CodebookEntries] = {};
      for (size_t k = 0; k < values.size(); ++k) {
        size_t best = 0;
        double best_d = std::fabs(values[k] - centroids[0]);
        for (size_t i = 1; i < kQ4CodebookEntries; ++i) {
          const double dist = std::fabs(values[k] - centroids[i]);
          if (dist < best_d) {
            best_d = dist;
            best = i;
          }
        }
        sum[best] += static_cast<double>(weights[k]) * values[k];
        mass[best] += weights[k];
      }
      for (size_t i = 0; i < kQ4CodebookEntries; ++i) {
        if (mass[i] > 0.0) centroids[i] = sum[i] / mass[i];
      }
      std::sort(centroids, centroids + kQ4CodebookEntries);
    }
    for (size_t i = 0; i < kQ4CodebookEntries; ++i) {
      const double c = std::round(centroids[i]);
      m.codebook[i] = static_cast<int8_t>(std::clamp(c, -1.0 * kQ4CodebookMax, 1.0 * kQ4CodebookMax));
    }
    std::sort(m.codebook.begin(), m.codebook.end());
    // Scales: per group the best of the current scale and those mapping the group's
    // largest (or smallest) weight to the codebook's largest (smallest) entry, shrunk in the
    // last round by up to kShrinkSteps * kShrink (clipping the tails), each then refit by
    // least squares against its nearest-entry codes.
    const float cb_hi = static_cast<float>(m.codebook.back());
    const float cb_lo = static_cast<float>(m.codebook.front());
    const int shrink_steps = round + 1 == kRounds ? kShrinkSteps : 0;
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t g = 0; g < groups; ++g) {
        const uint64_t c0 = g * kGroup;
        const size_t len = static_cast<size_t>(std::min(cols, c0 + kGroup) - c0);
        const float* wg = w + r * cols + c0;
        const float* hg = col_weight != nullptr ? col_weight + c0 : nullptr;
        float& dg = d[r * groups + g];
        if (dg == 0.0f) continue;
        uint8_t* codes = m.codes.data() + r * padded + c0;
        double best = GroupError(wg, hg, len, dg, m.codebook, codes);
        float w_max = 0.0f, w_min = 0.0f;
        for (size_t j = 0; j < len; ++j) {
          w_max = std::max(w_max, wg[j]);
          w_min = std::min(w_min, wg[j]);
        }
        const float bases[2] = {cb_hi > 0.0f ? w_max / cb_hi : 0.0f,
                                cb_lo < 0.0f ? w_min / cb_lo : 0.0f};
        uint8_t trial[kGroup];
        for (int k = -1; k < 2 * (shrink_steps + 1); ++k) {
          // k = -1: the current scale; else base k % 2 shrunk k / 2 steps.
          float cand = k < 0 ? dg
                             : bases[k % 2] * (1.0f - kShrink * static_cast<float>(k / 2));
          for (int refit = 0; refit < 2; ++refit) {
            const uint16_t bits = FloatToHalf(cand);
            const float dc = HalfToFloat(bits);
            if (dc == 0.0f || !std::isfinite(dc)) break;
            const double e = GroupError(wg, hg, len, dc, m.codebook, trial);
            if (e < best) {
              best = e;
              dg = dc;
              m.scales[r * groups + g] = bits;
              std::copy(trial, trial + len, codes);
            }
            double num = 0.0, den = 0.0;
            for (size_t j = 0; j < len; ++j) {
              const double hj = hg != nullptr ? hg[j] : 1.0;
              const double c = m.codebook[trial[j]];
              num += hj * wg[j] * c;
              den += hj * c * c;
            }
            if (den <= 0.0) break;
            cand = static_cast<float>(num / den);
          }
        }
      }
    }
    for (size_t i = 0; i < kQ4CodebookEntries; ++i) centroids[i] = m.codebook[i];
  }
  // Codes of all-zero groups (d = 0), skipped above; the others' are already final.
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t g = 0; g < groups; ++g) {
      const uint64_t c0 = g * kGroup;
      const size_t len = static_cast<size_t>(std::min(cols, c0 + kGroup) - c0);
      GroupError(w + r * cols + c0, nullptr, len, d[r * groups + g], m.codebook,
                 m.codes.data() + r * padded + c0);
    }
  }
  return m;
}

}  // namespace kite::convert
