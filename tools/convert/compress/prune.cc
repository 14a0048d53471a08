#include "tools/convert/compress/prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/strings/str_format.h"

namespace kite::convert {
namespace {

float Score(float w, const float* act_norm, size_t j) {
  const float a = std::fabs(w);
  return act_norm == nullptr ? a : a * act_norm[j];
}

absl::Status CheckCommon(const float* w, size_t rows, size_t cols, const float* act_norm) {
  if (w == nullptr) return absl::InvalidArgumentError("no matrix to prune");
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot prune an empty %dx%d matrix", rows, cols));
  }
  if (act_norm != nullptr) {
    for (size_t j = 0; j < cols; ++j) {
      if (!std::isfinite(act_norm[j]) || act_norm[j] < 0.0f) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "activation norm of column %d is %g (must be finite and >= 0)", j, act_norm[j]));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

void PruneUnstructured(float* w, size_t rows, size_t cols, float sparsity,
                       const float* act_norm) {
  if (!(sparsity > 0.0f)) return;
  if (sparsity > 1.0f) sparsity = 1.0f;
  const size_t prune = static_cast<size_t>(std::lround(static_cast<double>(sparsity) * cols));
  if (prune == 0) return;
  std::vector<size_t> order(cols);
  std::vector<float> score(cols);
  for (size_t r = 0; r < rows; ++r) {
    float* row = w + r * cols;
    for (size_t j = 0; j < cols; ++j) score[j] = Score(row[j], act_norm, j);
    std::iota(order.begin(), order.end(), size_t{0});
    // The `prune` lowest scores, lower column first among equals.
    auto lower = [&](size_t a, size_t b) {
      return score[a] < score[b] || (score[a] == score[b] && a < b);
    };
    if (prune < cols) {
      std::nth_element(order.begin(), order.begin() + prune, order.end(), lower);
    }
    for (size_t k = 0; k < prune; ++k) row[order[k]] = 0.0f;
  }
}

void Prune24(float* w, size_t rows, size_t cols, const float* act_norm) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = w + r * cols;
    for (size_t begin = 0; begin < cols; begin += 4) {
      const size_t n = std::min<size_t>(4, cols - begin);
      if (n <= 2) continue;
      // Keep the two best: higher score first, lower index first among equals.
      float s[4];
      for (size_t i = 0; i < n; ++i) s[i] = Score(row[begin + i], act_norm, begin + i);
      size_t best = 0;
      for (size_t i = 1; i < n; ++i) {
        if (s[i] > s[best]) best = i;
      }
      size_t second = best == 0 ? 1 : 0;
      for (size_t i = 0; i < n; ++i) {
        if (i != best && s[i] > s[second]) second = i;
      }
      for (size_t i = 0; i < n; ++i) {
        if (i != best && i != second) row[begin + i] = 0.0f;
      }
    }
  }
}

absl::Status CheckedPruneUnstructured(float* w, size_t rows, size_t cols, float sparsity,
                                      const float* act_norm) {
  if (!(sparsity >= 0.0f && sparsity < 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sparsity %g is outside [0, 1)", sparsity));
  }
  if (absl::Status s = CheckCommon(w, rows, cols, act_norm); !s.ok()) return s;
  PruneUnstructured(w, rows, cols, sparsity, act_norm);
  return absl::OkStatus();
}

absl::Status CheckedPrune24(float* w, size_t rows, size_t cols, const float* act_norm) {
  if (absl::Status s = CheckCommon(w, rows, cols, act_norm); !s.ok()) return s;
  Prune24(w, rows, cols, act_norm);
  return absl::OkStatus();
}

bool Is24Sparse(const float* w, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    for (size_t begin = 0; begin < cols; begin += 4) {
      int nonzero = 0;
      for (size_t j = begin; j < std::min(cols, begin + 4); ++j) nonzero += w[r * cols + j] != 0.0f;
      if (nonzero > 2) return false;
    }
  }
  return true;
}

}  // namespace kite::convert
