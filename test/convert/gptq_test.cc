// GPTQ: equal to round-to-nearest when the inputs are uncorrelated, lower output error
// than it when they are correlated, and pruned weights kept at zero.
#include "tools/convert/compress/gptq.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tools/convert/compress/prune.h"
#include "tools/convert/compress/quantize.h"

namespace kite::convert {
namespace {

std::vector<float> RandomMatrix(size_t rows, size_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(rows * cols);
  for (float& x : w) x = normal(rng);
  return w;
}

// X^T X for `tokens` inputs whose columns are strongly correlated: x = A z with A mixing
// neighbouring columns, plus a few large-scale columns.
std::vector<double> CorrelatedXtX(size_t cols, size_t tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xtx(cols * cols, 0.0), z(cols), x(cols);
  for (size_t t = 0; t < tokens; ++t) {
    for (double& v : z) v = normal(rng);
    for (size_t j = 0; j < cols; ++j) {
      x[j] = z[j] + 0.9 * z[(j + 1) % cols] + 0.7 * z[(j + 7) % cols] + 0.5 * z[0];
      if (j % 13 == 0) x[j] *= 4.0;
    }
    for (size_t j = 0; j < cols; ++j) {
      for (size_t k = 0; k < cols; ++k) xtx[j * cols + k] += x[j] * x[k];
    }
  }
  return xtx;
}

std::vector<double> Identity(size_t n, double scale) {
  std::vector<double> h(n * n, 0.0);
  for (size_t j = 0; j < n; ++j) h[j * n + j] = scale;
  return h;
}

TEST(HessianWeightedError, KnownAnswer) {
  // e = [1, 2], H = [[2, 1], [1, 3]]: e^T H e = 2 + 2 * 2 + 12 = 18 (row 1 has e = 0).
  const float w[4] = {1.0f, 2.0f, 5.0f, 5.0f};
  const float v[4] = {0.0f, 0.0f, 5.0f, 5.0f};
  const double h[4] = {2.0, 1.0, 1.0, 3.0};
  EXPECT_DOUBLE_EQ(HessianWeightedError(w, v, 2, 2, h), 18.0);
}

TEST(Gptq, IdentityHessianEqualsRoundToNearest) {
  constexpr size_t kRows = 5, kCols = 80;  // 3 groups of 32, the last one partial
  const std::vector<float> w = RandomMatrix(kRows, kCols, 1);
  const std::vector<double> h = Identity(kCols, 3.0);
  for (int variant = 0; variant < 4; ++variant) {
    const bool asymmetric = variant % 2 == 1;
    GptqOptions options;
    options.asymmetric = asymmetric;
    options.act_order = variant >= 2;
    std::vector<float> restored;
    auto gptq = QuantizeQ4GGptq(w.data(), kRows, kCols, h.data(), options, &restored);
    ASSERT_TRUE(gptq.ok()) << gptq.status();
    auto rtn = asymmetric ? QuantizeQ4GAsymmetric(w.data(), kRows, kCols, 32)
                          : QuantizeQ4G(w.data(), kRows, kCols, 32);
    ASSERT_TRUE(rtn.ok());
    EXPECT_EQ(gptq->data, rtn->data) << "variant " << variant;
    EXPECT_EQ(gptq->scales, rtn->scales);
    EXPECT_EQ(gptq->mins, rtn->mins);
    EXPECT_EQ(restored, DequantizeQ4G(*gptq));
  }
}

TEST(Gptq, CorrelatedInputsLowerTheOutputError) {
  constexpr size_t kRows = 24, kCols = 96;
  const std::vector<float> w = RandomMatrix(kRows, kCols, 2);
  const std::vector<double> h = CorrelatedXtX(kCols, 512, 3);
  for (int variant = 0; variant < 4; ++variant) {
    const bool asymmetric = variant % 2 == 1;
    GptqOptions options;
    options.asymmetric = asymmetric;
    options.act_order = variant >= 2;
    std::vector<float> restored;
    auto gptq = QuantizeQ4GGptq(w.data(), kRows, kCols, h.data(), options, &restored);
    ASSERT_TRUE(gptq.ok()) << gptq.status();
    EXPECT_EQ(restored, DequantizeQ4G(*gptq));
    auto rtn = asymmetric ? QuantizeQ4GAsymmetric(w.data(), kRows, kCols, 32)
                          : QuantizeQ4G(w.data(), kRows, kCols, 32);
    ASSERT_TRUE(rtn.ok());
    const std::vector<float> rtn_w = DequantizeQ4G(*rtn);
    const double e_gptq = HessianWeightedError(w.data(), restored.data(), kRows, kCols, h.data());
    const double e_rtn = HessianWeightedError(w.data(), rtn_w.data(), kRows, kCols, h.data());
    // GPTQ minimizes this error greedily; on such inputs it roughly halves it or better.
    EXPECT_LT(e_gptq, 0.75 * e_rtn) << "variant " << variant << ": gptq " << e_gptq
                                    << ", rtn " << e_rtn;
  }
}

TEST(Gptq, KeepsPrunedWeightsAtZeroAndCompensatesThem) {
  constexpr size_t kRows = 16, kCols = 64;
  const std::vector<float> w = RandomMatrix(kRows, kCols, 4);
  const std::vector<double> h = CorrelatedXtX(kCols, 512, 5);
  std::vector<float> pruned = w;
  Prune24(pruned.data(), kRows, kCols, nullptr);
  GptqOptions options;
  options.asymmetric = false;
  options.keep_zeros = true;
  std::vector<float> restored;
  auto gptq = QuantizeQ4GGptq(pruned.data(), kRows, kCols, h.data(), options, &restored);
  ASSERT_TRUE(gptq.ok()) << gptq.status();
  for (size_t i = 0; i < w.size(); ++i) {
    if (pruned[i] == 0.0f) EXPECT_EQ(restored[i], 0.0f) << "element " << i;
  }
  EXPECT_TRUE(Is24Sparse(restored.data(), kRows, kCols));
  // Against the unpruned weights, compensation beats pruning then rounding to nearest.
  auto rtn = QuantizeQ4G(pruned.data(), kRows, kCols, 32);
  ASSERT_TRUE(rtn.ok());
  const std::vector<float> rtn_w = DequantizeQ4G(*rtn);
  EXPECT_LT(HessianWeightedError(w.data(), restored.data(), kRows, kCols, h.data()),
            HessianWeightedError(w.data(), rtn_w.data(), kRows, kCols, h.data()));
}

TEST(Gptq, DeadColumnsAndErrors) {
  constexpr size_t kRows = 3, kCols = 32;
  const std::vector<float> w = RandomMatrix(kRows, kCols, 6);
  std::vector<double> h = CorrelatedXtX(kCols, 128, 7);
  for (size_t k = 0; k < kCols; ++k) h[5 * kCols + k] = h[k * kCols + 5] = 0.0;  // column 5 sees nothing
  GptqOptions options;
  auto q = QuantizeQ4GGptq(w.data(), kRows, kCols, h.data(), options);
  EXPECT_TRUE(q.ok()) << q.status();
  EXPECT_FALSE(QuantizeQ4GGptq(w.data(), kRows, kCols, nullptr, options).ok());
  std::vector<double> bad = h;
  bad[3] = NAN;
  EXPECT_FALSE(QuantizeQ4GGptq(w.data(), kRows, kCols, bad.data(), options).ok());
  std::vector<float> nan_w = w;
  nan_w[7] = NAN;
  EXPECT_FALSE(QuantizeQ4GGptq(nan_w.data(), kRows, kCols, h.data(), options).ok());
  options.group_size = 48;
  EXPECT_FALSE(QuantizeQ4GGptq(w.data(), kRows, kCols, h.data(), options).ok());
}

// With H = 2I, [H^-1]_jj is the same for every column and nothing is compensated: the
// SparseGPT mask is the magnitude 2:4 mask. Trailing groups of 3 and 2 columns too.
TEST(PruneSparseGpt24, IdentityHessianIsMagnitudeTwoFour) {
  constexpr size_t kRows = 5, kCols = 19;
  std::vector<float> w = RandomMatrix(kRows, kCols, 11);
  std::vector<float> expected = w;
  Prune24(expected.data(), kRows, kCols, nullptr);
  const std::vector<double> h = Identity(kCols, 2.0);
  ASSERT_TRUE(PruneSparseGpt24(w.data(), kRows, kCols, h.data()).ok());
  EXPECT_EQ(w, expected);
}

// On correlated inputs the adaptive mask loses less output than the fixed masks chosen
// before compensating (by |W| and by Wanda's |W| * ||X_j||), summed over several matrices,
// and the result is 2:4.
TEST(PruneSparseGpt24, AdaptiveMaskBeatsFixedMasksOnCorrelatedInputs) {
  constexpr size_t kRows = 16, kCols = 64;
  double e_sparsegpt = 0.0, e_magnitude = 0.0, e_wanda = 0.0;
  for (uint32_t seed = 20; seed < 25; ++seed) {
    const std::vector<float> w = RandomMatrix(kRows, kCols, seed);
    const std::vector<double> h = CorrelatedXtX(kCols, 512, seed + 100);
    std::vector<float> adaptive = w;
    ASSERT_TRUE(PruneSparseGpt24(adaptive.data(), kRows, kCols, h.data()).ok());
    EXPECT_TRUE(Is24Sparse(adaptive.data(), kRows, kCols));
    e_sparsegpt += HessianWeightedError(w.data(), adaptive.data(), kRows, kCols, h.data());
    std::vector<float> act(kCols);
    for (size_t j = 0; j < kCols; ++j) act[j] = static_cast<float>(std::sqrt(h[j * kCols + j]));
    const float* const masks[] = {nullptr, act.data()};
    for (const float* a : masks) {
      std::vector<float> fixed = w;
      Prune24(fixed.data(), kRows, kCols, a);
      std::vector<uint8_t> mask(w.size());
      for (size_t i = 0; i < w.size(); ++i) mask[i] = fixed[i] == 0.0f;
      fixed = w;
      ASSERT_TRUE(CompensatePruning(fixed.data(), kRows, kCols, mask.data(), h.data()).ok());
      (a == nullptr ? e_magnitude : e_wanda) +=
          HessianWeightedError(w.data(), fixed.data(), kRows, kCols, h.data());
    }
  }
  EXPECT_LT(e_sparsegpt, e_magnitude);
  EXPECT_LT(e_sparsegpt, e_wanda);
  std::vector<float> w = RandomMatrix(2, 8, 1);
  EXPECT_FALSE(PruneSparseGpt24(w.data(), 2, 8, nullptr).ok());
}

}  // namespace
}  // namespace kite::convert

namespace kite::convert {
namespace {

TEST(CompensatePruning, IdentityHessianOnlyZeroesTheMask) {
  constexpr size_t kRows = 4, kCols = 16;
  std::vector<float> w = RandomMatrix(kRows, kCols, 8);
  std::vector<float> expected = w;
  Prune24(expected.data(), kRows, kCols, nullptr);
  std::vector<uint8_t> mask(w.size());
  for (size_t i = 0; i < w.size(); ++i) mask[i] = expected[i] == 0.0f;
  const std::vector<double> h = Identity(kCols, 2.0);
  ASSERT_TRUE(CompensatePruning(w.data(), kRows, kCols, mask.data(), h.data()).ok());
  EXPECT_EQ(w, expected);
}

TEST(CompensatePruning, CorrelatedInputsLowerTheOutputError) {
  constexpr size_t kRows = 16, kCols = 64;
  const std::vector<float> w = RandomMatrix(kRows, kCols, 9);
  const std::vector<double> h = CorrelatedXtX(kCols, 512, 10);
  std::vector<float> pruned = w;
  PruneUnstructured(pruned.data(), kRows, kCols, 0.5f, nullptr);
  std::vector<uint8_t> mask(w.size());
  for (size_t i = 0; i < w.size(); ++i) mask[i] = pruned[i] == 0.0f;
  std::vector<float> compensated = w;
  ASSERT_TRUE(CompensatePruning(compensated.data(), kRows, kCols, mask.data(), h.data()).ok());
  for (size_t i = 0; i < w.size(); ++i) {
    if (mask[i]) EXPECT_EQ(compensated[i], 0.0f) << "element " << i;
  }
  const double e_comp = HessianWeightedError(w.data(), compensated.data(), kRows, kCols, h.data());
  const double e_plain = HessianWeightedError(w.data(), pruned.data(), kRows, kCols, h.data());
  EXPECT_LT(e_comp, 0.75 * e_plain) << "compensated " << e_comp << ", plain " << e_plain;
  EXPECT_FALSE(CompensatePruning(compensated.data(), kRows, kCols, nullptr, h.data()).ok());
  EXPECT_FALSE(CompensatePruning(compensated.data(), kRows, kCols, mask.data(), nullptr).ok());
}

}  // namespace
}  // namespace kite::convert
