#include "tools/convert/compress/gptq.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "sdk/format/format.h"
#include "sdk/kernels/fp16.h"
#include "tools/convert/compress/prune.h"

namespace kite::convert {
namespace {

// In-place lower Cholesky factor of the symmetric n x n matrix `a` (row-major; the upper
// triangle is cleared). False when `a` is not positive definite.
bool CholeskyLower(std::vector<double>& a, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0.0)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
    for (size_t i = 0; i < j; ++i) a[i * n + j] = 0.0;
  }
  return true;
}

// The upper triangular U with H^-1 = U^T U, given the lower Cholesky factor L of H
// (H^-1 = L^-T L^-1 is formed, then factored). Empty when H^-1 is not positive definite.
std::vector<double> InverseUpperCholesky(const std::vector<double>& l, size_t n) {
  // Linv = L^-1 (lower triangular), by forward substitution column by column.
  std::vector<double> linv(n * n, 0.0);
  for (size_t j = 0; j < n; ++j) {
    linv[j * n + j] = 1.0 / l[j * n + j];
    for (size_t i = j + 1; i < n; ++i) {
      double s = 0.0;
      for (size_t k = j; k < i; ++k) s -= l[i * n + k] * linv[k * n + j];
      linv[i * n + j] = s / l[i * n + i];
    }
  }
  // Hinv = Linv^T Linv.
  std::vector<double> hinv(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i; j < n; ++j) {
      double s = 0.0;
      for (size_t k = j; k < n; ++k) s += linv[k * n + i] * linv[k * n + j];
      hinv[i * n + j] = s;
      hinv[j * n + i] = s;
    }
  }
  // Hinv = U^T U with U = (lower Cholesky of Hinv)^T.
  if (!CholeskyLower(hinv, n)) return {};
  std::vector<double> u(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j <= i; ++j) u[j * n + i] = hinv[i * n + j];
  }
  return u;
}

// One group's fitted grid: w = q * d + m for q in [-8, 7] (d = 0: every value is m).
struct Grid {
  int half = 8;  // codes in [-half, half - 1]
  float d = 0.0f;
  float m = 0.0f;
  uint16_t d_bits = 0;
  uint16_t m_bits = 0;
};

int Nearest(float x, const Grid& g) {
  if (g.d == 0.0f) return 0;
  const float q = std::round((x - g.m) / g.d);
  const float lo = static_cast<float>(-g.half), hi = static_cast<float>(g.half - 1);
  return q < lo ? -g.half : (q > hi ? g.half - 1 : static_cast<int>(q));
}

float Value(int q, const Grid& g) { return g.d == 0.0f ? g.m : static_cast<float>(q) * g.d + g.m; }

// U with (H + damp)^-1 = U^T U for H = xtx (see QuantizeQ4GGptq for the handling of
// dead columns and the dampening).
absl::StatusOr<std::vector<double>> InverseHessianFactor(const double* xtx, size_t n,
                                                         double damp_fraction) {
  std::vector<double> h(xtx, xtx + n * n);
  double mean_diag = 0.0;
  for (size_t j = 0; j < n; ++j) {
    for (size_t k = 0; k < n; ++k) {
      if (!std::isfinite(h[j * n + k])) {
        return absl::InvalidArgumentError("calibration statistics are not finite");
      }
    }
    mean_diag += h[j * n + j];
  }
  mean_diag /= static_cast<double>(n);
  // A column without input: its weight does not matter; give it a unit diagonal and no
  // coupling so that it is rounded to nearest and passes nothing on.
  for (size_t j = 0; j < n; ++j) {
    if (h[j * n + j] <= 0.0) {
      for (size_t k = 0; k < n; ++k) h[j * n + k] = h[k * n + j] = 0.0;
      h[j * n + j] = mean_diag > 0.0 ? mean_diag : 1.0;
    }
  }
  if (!(mean_diag > 0.0)) mean_diag = 1.0;
  std::vector<double> u;
  double damp = damp_fraction;
  for (int attempt = 0; attempt < 6 && u.empty(); ++attempt, damp *= 10.0) {
    std::vector<double> l = h;
    for (size_t j = 0; j < n; ++j) l[j * n + j] += damp * mean_diag;
    if (CholeskyLower(l, n)) u = InverseUpperCholesky(l, n);
  }
  if (u.empty()) {
    return absl::InvalidArgumentError("the calibration Hessian is singular even after dampening");
  }

  return u;
}

}  // namespace

absl::StatusOr<Q4Matrix> QuantizeQ4GGptq(const float* w, uint64_t rows, uint64_t cols,
                                         const double* xtx, const GptqOptions& options,
                                         std::vector<float>* dequantized) {
  if (absl::Status s = ValidateGroupSize(options.group_size); !s.ok()) return s;
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot quantize an empty %dx%d matrix", rows, cols));
  }
  if (xtx == nullptr) return absl::InvalidArgumentError("GPTQ needs calibration statistics");
  if (options.bits != 4 && !(options.bits == 3 && !options.asymmetric)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "GPTQ stores 4-bit codes, or 3-bit symmetric ones, not %d-bit%s", options.bits,
        options.asymmetric ? " asymmetric" : ""));
  }
  const size_t n = cols;
  for (uint64_t i = 0; i < rows * cols; ++i) {
    if (!std::isfinite(w[i])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "non-finite value %g at row %d, column %d", w[i], i / cols, i % cols));
    }
  }
  // Column order: natural, or by decreasing H_jj (act-order: the columns with the most
  // input energy first, while the most columns remain to absorb their error).
  std::vector<size_t> perm(n);
  for (size_t j = 0; j < n; ++j) perm[j] = j;
  const double* h = xtx;
  std::vector<double> permuted;
  if (options.act_order) {
    std::stable_sort(perm.begin(), perm.end(),
                     [&](size_t a, size_t b) { return xtx[a * n + a] > xtx[b * n + b]; });
    permuted.resize(n * n);
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = 0; b < n; ++b) permuted[a * n + b] = xtx[perm[a] * n + perm[b]];
    }
    h = permuted.data();
  }
  absl::StatusOr<std::vector<double>> u_or = InverseHessianFactor(h, n, options.damp);
  if (!u_or.ok()) return u_or.status();
  const std::vector<double>& u = *u_or;

  const uint32_t gs = options.group_size;
  Q4Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = gs;
  const uint64_t groups = m.groups();
  // Padding columns: q = 0.
  m.data.assign(PackedBytes(DType::Q4_G, Layout::Q4_ROW_GROUPS, rows, cols, gs), 0x88);
  m.scales.assign(rows * groups, 0);
  if (options.asymmetric) m.mins.assign(rows * groups, 0);
  if (dequantized != nullptr) dequantized->assign(rows * cols, 0.0f);

  std::vector<double> row(n);  // in processing order
  std::vector<float> group(gs);
  std::vector<Grid> grids(groups);
  // Fits the grid of group g of row r to `values` (original column order).
  auto fit_group = [&](uint64_t r, size_t g, const float* values) -> absl::Status {
    const size_t begin = g * gs, end = std::min<size_t>(n, begin + gs);
    const float* source = w + r * cols;
    for (size_t k = begin; k < end; ++k) {
      group[k - begin] = (options.keep_zeros && source[k] == 0.0f) ? 0.0f : values[k - begin];
    }
    absl::StatusOr<Q4Matrix> fit = options.asymmetric
                                       ? QuantizeQ4GAsymmetric(group.data(), 1, end - begin, gs)
                                       : QuantizeQ4G(group.data(), 1, end - begin, gs,
                                                     options.scale_rule, options.bits);
    if (!fit.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "row %d, columns %d..%d after compensation: %s", r, begin, end - 1,
          fit.status().message()));
    }
    Grid& grid = grids[g];
    grid.half = 1 << (options.bits - 1);
    grid.d_bits = fit->scales[0];
    grid.d = HalfToFloat(grid.d_bits);
    grid.m_bits = options.asymmetric ? fit->mins[0] : 0;
    grid.m = options.asymmetric ? HalfToFloat(grid.m_bits) : 0.0f;
    m.scales[r * groups + g] = grid.d_bits;
    if (options.asymmetric) m.mins[r * groups + g] = grid.m_bits;
    return absl::OkStatus();
  };
  std::vector<float> values(gs);
  for (uint64_t r = 0; r < rows; ++r) {
    const float* source = w + r * cols;
    for (size_t a = 0; a < n; ++a) row[a] = source[perm[a]];
    if (options.act_order) {
      // Static groups: every grid is fitted to the original weights up front.
      for (size_t g = 0; g < groups; ++g) {
        if (absl::Status st = fit_group(r, g, source + g * gs); !st.ok()) return st;
      }
    }
    for (size_t a = 0; a < n; ++a) {
      const size_t c = perm[a];
      if (!options.act_order && c % gs == 0) {
        // Fit this group's grid to the compensated weights (natural order: a == c).
        const size_t end = std::min<size_t>(n, c + gs);
        for (size_t k = c; k < end; ++k) values[k - c] = static_cast<float>(row[k]);
        if (absl::Status st = fit_group(r, c / gs, values.data()); !st.ok()) return st;
      }
      const Grid& grid = grids[c / gs];
      const bool pruned = options.keep_zeros && source[c] == 0.0f;
      const float target = pruned ? 0.0f : static_cast<float>(row[a]);
      const int q = Nearest(target, grid);
      const float value = Value(q, grid);
      const size_t in_group = c % gs;
      uint8_t& byte = m.data[(r * groups + c / gs) * (gs / 2) + in_group / 2];
      const int shift = in_group % 2 == 0 ? 0 : 4;
      byte = static_cast<uint8_t>((byte & ~(0x0F << shift)) | ((q + 8) << shift));
      if (dequantized != nullptr) (*dequantized)[r * cols + c] = value;
      const double* ua = u.data() + a * n;
      const double err = (row[a] - value) / ua[a];
      for (size_t j = a + 1; j < n; ++j) row[j] -= err * ua[j];
    }
  }
  return m;
}

absl::Status GptqCodebookCodes(const float* w, uint64_t rows, uint64_t cols, const double* xtx,
                               double damp, Q4CodebookMatrix* m) {
  if (xtx == nullptr) return absl::InvalidArgumentError("GPTQ needs calibration statistics");
  absl::StatusOr<std::vector<double>> u_or = InverseHessianFactor(xtx, cols, damp);
  if (!u_or.ok()) return u_or.status();
  const std::vector<double>& u = *u_or;
  const uint64_t groups = (cols + kQ4R16GroupSize - 1) / kQ4R16GroupSize;
  const uint64_t padded = groups * kQ4R16GroupSize;
  std::vector<double> row(cols);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t c = 0; c < cols; ++c) row[c] = w[r * cols + c];
    for (uint64_t c = 0; c < cols; ++c) {
      const float d = HalfToFloat(m->scales[r * groups + c / kQ4R16GroupSize]);
      const uint8_t code =
          NearestCode(m->codebook, d != 0.0f ? static_cast<float>(row[c]) / d : 0.0f);
      m->codes[r * padded + c] = code;
      const double* uc = u.data() + c * cols;
      const double err = (row[c] - static_cast<double>(d) * m->codebook[code]) / uc[c];
      for (uint64_t j = c + 1; j < cols; ++j) row[j] -= err * uc[j];
    }
  }
  return absl::OkStatus();
}

namespace {

// CompensatePruning's sweep over each row. With `choose_24`, `mask` is written, not read:
// at the start of each group of 4 columns the row's 2 weights of lowest w^2 / [H^-1]_jj
// (the compensated weights so far; SparseGPT's 2:4 rule) are marked pruned.
absl::Status Compensate(float* w, uint64_t rows, uint64_t cols, uint8_t* mask,
                        const double* xtx, double damp, bool choose_24) {
  if (w == nullptr || mask == nullptr || rows == 0 || cols == 0) {
    return absl::InvalidArgumentError("nothing to compensate");
  }
  if (xtx == nullptr) return absl::InvalidArgumentError("compensation needs calibration statistics");
  for (uint64_t i = 0; i < rows * cols; ++i) {
    if (!std::isfinite(w[i])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "non-finite value %g at row %d, column %d", w[i], i / cols, i % cols));
    }
  }
  absl::StatusOr<std::vector<double>> u_or = InverseHessianFactor(xtx, cols, damp);
  if (!u_or.ok()) return u_or.status();
  const std::vector<double>& u = *u_or;
  std::vector<double> row(cols);
  for (uint64_t r = 0; r < rows; ++r) {
    float* out = w + r * cols;
    uint8_t* m = mask + r * cols;
    for (uint64_t j = 0; j < cols; ++j) row[j] = out[j];
    for (uint64_t i = 0; i < cols; ++i) {
      if (choose_24 && i % 4 == 0) {
        // |w| / U_jj orders like w^2 / [H^-1]_jj (U is the upper Cholesky factor of H^-1).
        const uint64_t n = std::min<uint64_t>(4, cols - i);
        float score[4];
        for (uint64_t k = 0; k < n; ++k) {
          score[k] = static_cast<float>(std::fabs(row[i + k]) / u[(i + k) * cols + i + k]);
        }
        Prune24(score, 1, n, nullptr);
        for (uint64_t k = 0; k < n; ++k) m[i + k] = score[k] == 0.0f;
      }
      if (!m[i]) continue;
      const double* ui = u.data() + i * cols;
      const double err = row[i] / ui[i];
      for (uint64_t j = i + 1; j < cols; ++j) row[j] -= err * ui[j];
      row[i] = 0.0;
    }
    for (uint64_t j = 0; j < cols; ++j) out[j] = m[j] ? 0.0f : static_cast<float>(row[j]);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CompensatePruning(float* w, uint64_t rows, uint64_t cols, const uint8_t* pruned,
                               const double* xtx, double damp) {
  if (pruned == nullptr) return absl::InvalidArgumentError("nothing to compensate");
  std::vector<uint8_t> mask(pruned, pruned + rows * cols);
  return Compensate(w, rows, cols, mask.data(), xtx, damp, false);
}

absl::Status PruneSparseGpt24(float* w, uint64_t rows, uint64_t cols, const double* xtx,
                              double damp) {
  std::vector<uint8_t> mask(rows * cols);
  return Compensate(w, rows, cols, mask.data(), xtx, damp, true);
}

double HessianWeightedError(const float* w, const float* v, uint64_t rows, uint64_t cols,
                            const double* xtx) {
  std::vector<double> e(cols);
  double total = 0.0;
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t j = 0; j < cols; ++j) {
      e[j] = static_cast<double>(w[r * cols + j]) - static_cast<double>(v[r * cols + j]);
    }
    for (uint64_t j = 0; j < cols; ++j) {
      if (e[j] == 0.0) continue;
      double s = 0.0;
      const double* hj = xtx + j * cols;
      for (uint64_t k = 0; k < cols; ++k) s += hj[k] * e[k];
      total += e[j] * s;
    }
  }
  return total;
}

}  // namespace kite::convert
