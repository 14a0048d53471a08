#include "tools/convert/compress/codebook.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

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
// The most scales one group's search evaluates: its current one, then two per candidate.
constexpr int kMaxTrials = 1 + 2 * (1 + 2 * (kShrinkSteps + 1));

using Codebook = std::array<int8_t, kQ4CodebookEntries>;

// One group of n <= kGroup weights w with their column weights h (1 without calibration),
// padded with zero weights of zero h to kGroup, and the sums a scale's fit needs that do
// not depend on the scale.
struct Group {
  Group(const float* weights, const float* col_weight, size_t n) {
    for (size_t j = 0; j < kGroup; ++j) {
      w[j] = j < n ? weights[j] : 0.0f;
      h[j] = j >= n ? 0.0 : col_weight != nullptr ? col_weight[j] : 1.0;
      hw[j] = h[j] * w[j];
      hww += hw[j] * w[j];
    }
  }
  float w[kGroup];
  double h[kGroup], hw[kGroup];  // h_j and h_j w_j
  double hww = 0.0;              // sum of h_j w_j^2
};

// One scale tried on a group: its weighted squared error against the nearest-entry codes,
// and the scale of least weighted squared error against those codes (0 when no weight
// has a nonzero weighted entry).
struct GroupFit {
  double err;
  float refit;
};

// Fits group `g` with scale d (nonzero, finite) to the codebook of `table`; the kGroup
// codes (padding included) go to `codes`. The error is
// sum h (w - d c)^2 = sum h w^2 - 2 d sum h w c + d^2 sum h c^2.
GroupFit FitGroup(const Group& g, float d, const Codebook& cb, const Q4CodeTable& table,
                  uint8_t* codes) {
  // Separate loops: all but the table lookup vectorize.
  float x[kGroup];
  for (size_t j = 0; j < kGroup; ++j) x[j] = Q4CodeTable::Clamped(g.w[j] / d);
  int index[kGroup];
  for (size_t j = 0; j < kGroup; ++j) index[j] = Q4CodeTable::Index(x[j]);
  double c[kGroup];
  for (size_t j = 0; j < kGroup; ++j) {
    codes[j] = table.CodeAt(index[j]);
    c[j] = cb[codes[j]];
  }
  // Four partial sums each: no long dependency chain.
  double n0 = 0, n1 = 0, n2 = 0, n3 = 0, d0 = 0, d1 = 0, d2 = 0, d3 = 0;
  for (size_t j = 0; j < kGroup; j += 4) {
    n0 += g.hw[j] * c[j];
    n1 += g.hw[j + 1] * c[j + 1];
    n2 += g.hw[j + 2] * c[j + 2];
    n3 += g.hw[j + 3] * c[j + 3];
    d0 += g.h[j] * c[j] * c[j];
    d1 += g.h[j + 1] * c[j + 1] * c[j + 1];
    d2 += g.h[j + 2] * c[j + 2] * c[j + 2];
    d3 += g.h[j + 3] * c[j + 3] * c[j + 3];
  }
  const double hwc = (n0 + n1) + (n2 + n3);
  const double hcc = (d0 + d1) + (d2 + d3);
  const double dd = d;
  return {g.hww - 2.0 * dd * hwc + dd * dd * hcc,
          hcc > 0.0 ? static_cast<float>(hwc / hcc) : 0.0f};
}

// Lloyd's k-means in one dimension on a sample sorted by value: with ascending centroids,
// each one's cluster is a contiguous range (values up to the midpoint with its successor;
// the lower centroid on a tie), so an iteration is a binary search and two prefix-sum
// differences per centroid instead of a pass over the sample.
class SortedSample {
 public:
  // Takes (value, weight) pairs in any order.
  explicit SortedSample(std::vector<std::pair<float, float>> samples) {
    std::sort(samples.begin(), samples.end());
    values_.resize(samples.size());
    mass_.assign(samples.size() + 1, 0.0);
    moment_.assign(samples.size() + 1, 0.0);
    for (size_t k = 0; k < samples.size(); ++k) {
      values_[k] = samples[k].first;
      mass_[k + 1] = mass_[k] + samples[k].second;
      moment_[k + 1] = moment_[k] + static_cast<double>(samples[k].second) * samples[k].first;
    }
  }

  // One Lloyd iteration on ascending `centroids`: each with a cluster of positive mass
  // moves to its cluster's weighted mean; the result is sorted again.
  void Iterate(double (&centroids)[kQ4CodebookEntries]) const {
    size_t begin = 0;
    double next[kQ4CodebookEntries];
    for (size_t i = 0; i < kQ4CodebookEntries; ++i) {
      size_t end = values_.size();
      if (i + 1 < kQ4CodebookEntries) {
        const double mid = 0.5 * (centroids[i] + centroids[i + 1]);
        end = static_cast<size_t>(
            std::upper_bound(values_.begin() + begin, values_.end(), mid,
                             [](double m, float v) { return m < static_cast<double>(v); }) -
            values_.begin());
      }
      const double mass = mass_[end] - mass_[begin];
      next[i] = mass > 0.0 ? (moment_[end] - moment_[begin]) / mass : centroids[i];
      begin = end;
    }
    std::copy(next, next + kQ4CodebookEntries, centroids);
    std::sort(centroids, centroids + kQ4CodebookEntries);
  }

 private:
  std::vector<float> values_;
  std::vector<double> mass_, moment_;  // prefix sums of weight and weight * value
};

// One evaluated scale of a group: its f16 bits, weighted error, and least-squares refit.
struct Trial {
  uint16_t bits;
  double err;
  float refit;
};

}  // namespace

uint8_t NearestCode(const Codebook& codebook, float v) {
  // The number of midpoints between successive entries below v; a + b is exact and so is
  // half of it.
  uint8_t code = 0;
  for (size_t i = 0; i + 1 < kQ4CodebookEntries; ++i) {
    code += v > 0.5f * static_cast<float>(codebook[i] + codebook[i + 1]) ? 1 : 0;
  }
  return code;
}

Q4CodeTable::Q4CodeTable(const Codebook& codebook) {
  // Index j holds the code of every v with ceil(2 v) = j: the midpoints strictly below j / 2.
  for (int j = kLowest; j <= kHighest; ++j) {
    uint8_t code = 0;
    for (size_t i = 0; i + 1 < kQ4CodebookEntries; ++i) {
      code += codebook[i] + codebook[i + 1] < j ? 1 : 0;
    }
    codes_[static_cast<size_t>(j - kLowest)] = code;
  }
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
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::pair<float, float>> samples;
    samples.reserve(n / stride + 1);
    for (uint64_t i = 0; i < n; i += stride) {
      const uint64_t r = i / cols, c = i % cols;
      const float dg = d[r * groups + c / kGroup];
      if (dg == 0.0f) continue;
      samples.emplace_back(w[i] / dg, dg * dg * (col_weight != nullptr ? col_weight[c] : 1.0f));
    }
    const SortedSample sample(std::move(samples));
    for (int it = 0; it < kLloydIterations; ++it) sample.Iterate(centroids);
    for (size_t i = 0; i < kQ4CodebookEntries; ++i) {
      const double c = std::round(centroids[i]);
      m.codebook[i] = static_cast<int8_t>(std::clamp(c, -1.0 * kQ4CodebookMax, 1.0 * kQ4CodebookMax));
    }
    std::sort(m.codebook.begin(), m.codebook.end());
    const Q4CodeTable table(m.codebook);
    // Scales: per group the best of the current scale and those mapping the group's
    // largest (or smallest) weight to the codebook's largest (smallest) entry, shrunk in the
    // last round by up to kShrinkSteps * kShrink (clipping the tails), each then refit by
    // least squares against its nearest-entry codes. A scale met again (often: refits
    // converge) reuses its trial, which cannot beat the best and refits the same way.
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
        Trial trials[kMaxTrials];
        int tried = 0;
        const Group group(wg, hg, len);
        uint8_t trial[kGroup];
        const GroupFit current = FitGroup(group, dg, m.codebook, table, trial);
        std::copy(trial, trial + len, codes);
        double best = current.err;
        trials[tried++] = {m.scales[r * groups + g], current.err, current.refit};
        float w_max = 0.0f, w_min = 0.0f;
        for (size_t j = 0; j < len; ++j) {
          w_max = std::max(w_max, wg[j]);
          w_min = std::min(w_min, wg[j]);
        }
        const float bases[2] = {cb_hi > 0.0f ? w_max / cb_hi : 0.0f,
                                cb_lo < 0.0f ? w_min / cb_lo : 0.0f};
        for (int k = -1; k < 2 * (shrink_steps + 1); ++k) {
          // k = -1: the current scale; else base k % 2 shrunk k / 2 steps.
          float cand = k < 0 ? dg
                             : bases[k % 2] * (1.0f - kShrink * static_cast<float>(k / 2));
          for (int refit = 0; refit < 2; ++refit) {
            const uint16_t bits = FloatToHalf(cand);
            const float dc = HalfToFloat(bits);
            if (dc == 0.0f || !std::isfinite(dc)) break;
            const Trial* seen = nullptr;
            for (int t = 0; t < tried; ++t) {
              if (trials[t].bits == bits) seen = &trials[t];
            }
            if (seen == nullptr) {
              const GroupFit fit = FitGroup(group, dc, m.codebook, table, trial);
              trials[tried] = {bits, fit.err, fit.refit};
              seen = &trials[tried++];
              if (fit.err < best) {
                best = fit.err;
                dg = dc;
                m.scales[r * groups + g] = bits;
                std::copy(trial, trial + len, codes);
              }
            }
            if (seen->refit == 0.0f) break;
            cand = seen->refit;
          }
        }
      }
    }
    for (size_t i = 0; i < kQ4CodebookEntries; ++i) centroids[i] = m.codebook[i];
  }
  // Codes of all-zero groups (d = 0), skipped above; the others' are already final.
  const Q4CodeTable table(m.codebook);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t g = 0; g < groups; ++g) {
      if (d[r * groups + g] != 0.0f) continue;
      const uint64_t c0 = g * kGroup;
      const size_t len = static_cast<size_t>(std::min(cols, c0 + kGroup) - c0);
      std::fill_n(m.codes.data() + r * padded + c0, len, table.Code(0.0f));
    }
  }
  return m;
}

}  // namespace kite::convert
