// Pruning: magnitude and Wanda scores, unstructured per row and 2:4, on hand-computed
// matrices.
#include "tools/convert/compress/prune.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace kite::convert {
namespace {

using Floats = std::vector<float>;

TEST(PruneUnstructured, MagnitudeHalfPerRow) {
  Floats w = {1.0f, -4.0f, 2.0f, -3.0f,  //
              0.5f, 0.1f, -0.2f, 0.3f};
  PruneUnstructured(w.data(), 2, 4, 0.5f, nullptr);
  EXPECT_EQ(w, (Floats{0.0f, -4.0f, 0.0f, -3.0f,  //
                       0.5f, 0.0f, 0.0f, 0.3f}));
}

TEST(PruneUnstructured, WandaWeighsColumnsByActivationNorm) {
  // Scores |w| * norm = [10, 4, 2, 3]: the two lowest are columns 2 and 3, although
  // column 0 has the smallest magnitude.
  Floats w = {1.0f, -4.0f, 2.0f, -3.0f};
  const float norm[4] = {10.0f, 1.0f, 1.0f, 1.0f};
  PruneUnstructured(w.data(), 1, 4, 0.5f, norm);
  EXPECT_EQ(w, (Floats{1.0f, -4.0f, 0.0f, 0.0f}));
}

TEST(PruneUnstructured, TiesPruneLowerColumnsFirst) {
  Floats w = {1.0f, -1.0f, 1.0f, 1.0f};
  PruneUnstructured(w.data(), 1, 4, 0.5f, nullptr);
  EXPECT_EQ(w, (Floats{0.0f, 0.0f, 1.0f, 1.0f}));
}

TEST(PruneUnstructured, RoundsTheCountPerRow) {
  // 0.3 * 5 = 1.5 rounds to 2 per row.
  Floats w = {5.0f, 4.0f, 3.0f, 2.0f, 1.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  PruneUnstructured(w.data(), 2, 5, 0.3f, nullptr);
  EXPECT_EQ(w, (Floats{5.0f, 4.0f, 3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 3.0f, 4.0f, 5.0f}));
}

TEST(PruneUnstructured, ZeroSparsityChangesNothing) {
  Floats w = {1.0f, -2.0f, 3.0f};
  PruneUnstructured(w.data(), 1, 3, 0.0f, nullptr);
  EXPECT_EQ(w, (Floats{1.0f, -2.0f, 3.0f}));
}

TEST(PruneUnstructured, RandomRowsKeepTheirLargestScores) {
  constexpr size_t kRows = 16, kCols = 100;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.1f, 3.0f);
  Floats w(kRows * kCols), norm(kCols);
  for (float& x : w) x = normal(rng);
  for (float& x : norm) x = uniform(rng);
  const Floats original = w;
  PruneUnstructured(w.data(), kRows, kCols, 0.3f, norm.data());
  for (size_t r = 0; r < kRows; ++r) {
    float max_pruned = 0.0f, min_kept = INFINITY;
    int zeros = 0;
    for (size_t j = 0; j < kCols; ++j) {
      const float score = std::fabs(original[r * kCols + j]) * norm[j];
      if (w[r * kCols + j] == 0.0f) {
        ++zeros;
        max_pruned = std::fmax(max_pruned, score);
      } else {
        EXPECT_EQ(w[r * kCols + j], original[r * kCols + j]);
        min_kept = std::fmin(min_kept, score);
      }
    }
    EXPECT_EQ(zeros, 30) << "row " << r;
    EXPECT_LE(max_pruned, min_kept) << "row " << r;
  }
}

TEST(Prune24, MagnitudeKeepsTwoLargestOfEachFour) {
  Floats w = {1.0f, -4.0f, 2.0f, -3.0f, 5.0f, 6.0f, 7.0f, -8.0f};
  Prune24(w.data(), 1, 8, nullptr);
  EXPECT_EQ(w, (Floats{0.0f, -4.0f, 0.0f, -3.0f, 0.0f, 0.0f, 7.0f, -8.0f}));
  EXPECT_TRUE(Is24Sparse(w.data(), 1, 8));
}

TEST(Prune24, WandaScores) {
  // Scores of the first group: [1, 4, 20, 3] -> keeps columns 2 and 1.
  Floats w = {1.0f, -4.0f, 2.0f, -3.0f};
  const float norm[4] = {1.0f, 1.0f, 10.0f, 1.0f};
  Prune24(w.data(), 1, 4, norm);
  EXPECT_EQ(w, (Floats{0.0f, -4.0f, 2.0f, 0.0f}));
}

TEST(Prune24, TrailingGroupsAndTies) {
  // 7 columns: a full group, then a group of 3 that keeps its 2 largest. Row 1 is all
  // ties, which keep the lower indices.
  Floats w = {4.0f, 3.0f, 2.0f, 1.0f, 1.0f, 2.0f, 3.0f,  //
              1.0f, 1.0f, 1.0f, 1.0f, 2.0f, 2.0f, 2.0f};
  Prune24(w.data(), 2, 7, nullptr);
  EXPECT_EQ(w, (Floats{4.0f, 3.0f, 0.0f, 0.0f, 0.0f, 2.0f, 3.0f,  //
                       1.0f, 1.0f, 0.0f, 0.0f, 2.0f, 2.0f, 0.0f}));
  // A trailing group of 2 is left alone.
  Floats v = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  Prune24(v.data(), 1, 6, nullptr);
  EXPECT_EQ(v, (Floats{0.0f, 0.0f, 3.0f, 4.0f, 5.0f, 6.0f}));
}

TEST(Is24Sparse, DetectsAGroupWithThreeNonZeros) {
  const Floats ok = {0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f};
  const Floats bad = {0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f};
  EXPECT_TRUE(Is24Sparse(ok.data(), 1, 8));
  EXPECT_FALSE(Is24Sparse(bad.data(), 1, 8));
  EXPECT_FALSE(Is24Sparse(bad.data(), 2, 4));
}

TEST(CheckedPrune, RejectsBadArguments) {
  Floats w = {1.0f, 2.0f, 3.0f, 4.0f};
  EXPECT_FALSE(CheckedPruneUnstructured(w.data(), 1, 4, 1.5f, nullptr).ok());
  EXPECT_FALSE(CheckedPruneUnstructured(w.data(), 1, 4, 1.0f, nullptr).ok());
  EXPECT_FALSE(CheckedPruneUnstructured(w.data(), 1, 4, -0.1f, nullptr).ok());
  EXPECT_FALSE(CheckedPruneUnstructured(w.data(), 1, 4, NAN, nullptr).ok());
  EXPECT_FALSE(CheckedPruneUnstructured(nullptr, 1, 4, 0.5f, nullptr).ok());
  EXPECT_FALSE(CheckedPruneUnstructured(w.data(), 0, 4, 0.5f, nullptr).ok());
  const float negative[4] = {1.0f, -1.0f, 1.0f, 1.0f};
  const float nan[4] = {1.0f, NAN, 1.0f, 1.0f};
  EXPECT_FALSE(CheckedPrune24(w.data(), 1, 4, negative).ok());
  EXPECT_FALSE(CheckedPrune24(w.data(), 1, 4, nan).ok());
  EXPECT_EQ(w, (Floats{1.0f, 2.0f, 3.0f, 4.0f}));  // nothing changed on failure
  ASSERT_TRUE(CheckedPrune24(w.data(), 1, 4, nullptr).ok());
  EXPECT_EQ(w, (Floats{0.0f, 0.0f, 3.0f, 4.0f}));
  ASSERT_TRUE(CheckedPruneUnstructured(w.data(), 1, 4, 0.75f, nullptr).ok());
  EXPECT_EQ(w, (Floats{0.0f, 0.0f, 0.0f, 4.0f}));
}

}  // namespace
}  // namespace kite::convert
