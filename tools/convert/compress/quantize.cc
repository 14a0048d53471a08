#include "tools/convert/compress/quantize.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"
#include "sdk/format/format.h"
#include "sdk/kernels/fp16.h"

namespace kite::convert {

absl::Status ValidateGroupSize(uint32_t group_size) {
  if (group_size == 32 || group_size == 64 || group_size == 128) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("group size %d is not supported (use 32, 64 or 128)", group_size));
}

namespace {

// A zeroed matrix of the right size after checking the arguments.
absl::StatusOr<Q4Matrix> NewQ4Matrix(uint64_t rows, uint64_t cols, uint32_t group_size,
                                     bool asymmetric) {
  if (absl::Status s = ValidateGroupSize(group_size); !s.ok()) return s;
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot quantize an empty %dx%d matrix", rows, cols));
  }
  Q4Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = group_size;
  m.data.assign(PackedBytes(DType::Q4_G, Layout::Q4_ROW_GROUPS, rows, cols, group_size), 0);
  m.scales.assign(rows * m.groups(), 0);
  if (asymmetric) m.mins.assign(rows * m.groups(), 0);
  return m;
}

// Quantizes one value with scale d (d != 0) to [-half, half - 1] (half = 8 for 4-bit
// codes, 4 for 3-bit ones).
int QuantizeNibble(float x, float d, int half = 8) {
  const float q = std::round(x / d);
  const float lo = static_cast<float>(-half), hi = static_cast<float>(half - 1);
  return q < lo ? -half : (q > hi ? half - 1 : static_cast<int>(q));
}

// Squared error of the group `x[0..n)` stored with the f16 scale `d_bits`.
double GroupError(const float* x, uint64_t n, uint16_t d_bits, int half) {
  const float d = HalfToFloat(d_bits);
  double err = 0.0;
  for (uint64_t i = 0; i < n; ++i) {
    const double e =
        static_cast<double>(x[i]) - (d == 0.0f ? 0.0 : d * QuantizeNibble(x[i], d, half));
    err += e * e;
  }
  return err;
}

// The f16 scale of one group under `rule`; `max_value` is its value of largest magnitude;
// codes span [-half, half - 1].
uint16_t ChooseScale(const float* x, uint64_t n, float max_value, ScaleRule rule, int half) {
  const float h = static_cast<float>(half);
  uint16_t best = FloatToHalf(max_value / -h);
  if (rule == ScaleRule::kMaxAbs || HalfToFloat(best) == 0.0f) return best;
  double best_err = GroupError(x, n, best, half);
  // Divisors from 0.69 to 1.25 times half in both orientations: the largest value mapping
  // towards -half (as the max-abs rule) or towards half - 1. Smaller divisors clip the
  // largest value to spend resolution on the rest; larger ones leave headroom.
  const float step_size = h / 64.0f;
  for (int step = -20; step <= 36; ++step) {
    if (step == 0) continue;
    const float divisor = step <= 16 ? -h + step_size * static_cast<float>(step)
                                     : (h - 1.0f) + step_size * static_cast<float>(step - 26);
    const float inv = divisor / max_value;
    double xq = 0.0, qq = 0.0;
    for (uint64_t i = 0; i < n; ++i) {
      float q = std::round(x[i] * inv);
      q = q < -h ? -h : (q > h - 1.0f ? h - 1.0f : q);
      xq += static_cast<double>(x[i]) * q;
      qq += static_cast<double>(q) * q;
    }
    if (qq == 0.0) continue;
    // Least-squares scale for these q, then requantized with its f16 value.
    const uint16_t candidate = FloatToHalf(static_cast<float>(xq / qq));
    if (HalfToFloat(candidate) == 0.0f || std::isinf(HalfToFloat(candidate))) continue;
    const double err = GroupError(x, n, candidate, half);
    if (err < best_err) {
      best_err = err;
      best = candidate;
    }
  }
  return best;
}

// Quantizes the `n` values of one group with scale d and offset mn (d = 0: all q = 0) and
// writes its nibbles to `out`; elements n..group_size-1 are padding (q = 0).
void WriteGroup(const float* x, uint64_t n, float d, float mn, uint8_t* out, uint32_t group_size,
                int half = 8) {
  for (uint64_t i = 0; i < group_size; ++i) {
    const int q = (i < n && d != 0.0f) ? QuantizeNibble(x[i] - mn, d, half) : 0;
    // Element i goes to byte i/2: even elements in the low nibble, odd in the high.
    const uint8_t nibble = static_cast<uint8_t>(q + 8);
    out[i / 2] |= (i % 2 == 0) ? nibble : static_cast<uint8_t>(nibble << 4);
  }
}

}  // namespace

absl::StatusOr<Q4Matrix> QuantizeQ4G(const float* w, uint64_t rows, uint64_t cols,
                                     uint32_t group_size, ScaleRule rule, int bits) {
  if (bits != 3 && bits != 4) {
    return absl::InvalidArgumentError(absl::StrFormat("%d-bit codes are not supported", bits));
  }
  const int half = 1 << (bits - 1);
  absl::StatusOr<Q4Matrix> made = NewQ4Matrix(rows, cols, group_size, /*asymmetric=*/false);
  if (!made.ok()) return made.status();
  Q4Matrix& m = *made;
  const uint64_t groups = m.groups();

  for (uint64_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    for (uint64_t g = 0; g < groups; ++g) {
      const uint64_t begin = g * group_size;
      const uint64_t end = begin + group_size < cols ? begin + group_size : cols;

      float max_value = 0.0f;
      for (uint64_t c = begin; c < end; ++c) {
        if (!std::isfinite(row[c])) {
          return absl::InvalidArgumentError(
              absl::StrFormat("non-finite value %g at row %d, column %d", row[c], r, c));
        }
        if (std::fabs(row[c]) > std::fabs(max_value)) max_value = row[c];
      }
      uint16_t d_bits = ChooseScale(row + begin, end - begin, max_value, rule, half);
      const float d = HalfToFloat(d_bits);
      if (d == 0.0f) d_bits = 0;  // +0, not the -0 that 0 / -8 gives
      if (std::isinf(d)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "value %g at row %d (group %d) is too large for an f16 scale", max_value, r, g));
      }
      m.scales[r * groups + g] = d_bits;

      WriteGroup(row + begin, end - begin, d, 0.0f,
                 m.data.data() + (r * groups + g) * (group_size / 2), group_size, half);
    }
  }
  return made;
}

namespace {

// Squared error of `x[0..n)` stored with f16 scale and offset bits (d, m).
double AsymmetricError(const float* x, uint64_t n, uint16_t d_bits, uint16_t m_bits) {
  const float d = HalfToFloat(d_bits), m = HalfToFloat(m_bits);
  double err = 0.0;
  for (uint64_t i = 0; i < n; ++i) {
    const double v = d == 0.0f ? m : static_cast<double>(QuantizeNibble(x[i] - m, d)) * d + m;
    err += (x[i] - v) * (x[i] - v);
  }
  return err;
}

// Chooses the f16 (scale, offset) of one asymmetric group spanning [lo, hi] (lo < hi).
void ChooseAsymmetric(const float* x, uint64_t n, float lo, float hi, uint16_t* d_out,
                      uint16_t* m_out) {
  const float range = hi - lo;
  double best = -1.0;
  // Trim up to 10% off either end of the range: clipping a lone outlier can pay for
  // itself in the resolution the other values get.
  const float trims[] = {0.0f, 0.05f, 0.1f};
  for (float a : trims) {
    for (float b : trims) {
      const float d0 = (range * (1.0f - a - b)) / 15.0f;
      if (d0 <= 0.0f) continue;
      const float m0 = lo + a * range + 8.0f * d0;
      // Refit (d, m) by least squares to the levels chosen with (d0, m0).
      double sq = 0, sx = 0, sqq = 0, sqx = 0;
      for (uint64_t i = 0; i < n; ++i) {
        const double q = QuantizeNibble(x[i] - m0, d0);
        sq += q;
        sx += x[i];
        sqq += q * q;
        sqx += q * x[i];
      }
      const double var = sqq - sq * sq / static_cast<double>(n);
      double d = d0, m = m0;
      if (var > 0) {
        d = (sqx - sq * sx / static_cast<double>(n)) / var;
        m = (sx - d * sq) / static_cast<double>(n);
      }
      for (const auto& candidate : {std::make_pair(d, m), std::make_pair(double{d0}, double{m0})}) {
        const uint16_t db = FloatToHalf(static_cast<float>(candidate.first));
        const uint16_t mb = FloatToHalf(static_cast<float>(candidate.second));
        if (!(HalfToFloat(db) > 0.0f) || std::isinf(HalfToFloat(db)) || std::isinf(HalfToFloat(mb))) {
          continue;
        }
        const double err = AsymmetricError(x, n, db, mb);
        if (best < 0 || err < best) {
          best = err;
          *d_out = db;
          *m_out = mb;
        }
      }
    }
  }
  if (best < 0) {  // range too small for an f16 scale: store the mean as the offset
    double mean = 0;
    for (uint64_t i = 0; i < n; ++i) mean += x[i];
    *d_out = 0;
    *m_out = FloatToHalf(static_cast<float>(mean / static_cast<double>(n)));
  }
}

}  // namespace

absl::StatusOr<Q4Matrix> QuantizeQ4GAsymmetric(const float* w, uint64_t rows, uint64_t cols,
                                               uint32_t group_size) {
  absl::StatusOr<Q4Matrix> made = NewQ4Matrix(rows, cols, group_size, /*asymmetric=*/true);
  if (!made.ok()) return made.status();
  Q4Matrix& m = *made;
  const uint64_t groups = m.groups();
  for (uint64_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    for (uint64_t g = 0; g < groups; ++g) {
      const uint64_t begin = g * group_size;
      const uint64_t end = begin + group_size < cols ? begin + group_size : cols;
      float lo = row[begin], hi = row[begin];
      for (uint64_t c = begin; c < end; ++c) {
        if (!std::isfinite(row[c])) {
          return absl::InvalidArgumentError(
              absl::StrFormat("non-finite value %g at row %d, column %d", row[c], r, c));
        }
        lo = std::fmin(lo, row[c]);
        hi = std::fmax(hi, row[c]);
      }
      if (std::fabs(lo) > 65504.0f || std::fabs(hi) > 65504.0f) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "values in row %d (group %d) are too large for f16 scales", r, g));
      }
      uint16_t d_bits = 0, m_bits = FloatToHalf(lo);
      if (hi > lo) ChooseAsymmetric(row + begin, end - begin, lo, hi, &d_bits, &m_bits);
      m.scales[r * groups + g] = d_bits;
      m.mins[r * groups + g] = m_bits;
      const float d = HalfToFloat(d_bits), mn = HalfToFloat(m_bits);
      WriteGroup(row + begin, end - begin, d, mn,
                 m.data.data() + (r * groups + g) * (group_size / 2), group_size);
    }
  }
  return made;
}

absl::StatusOr<Q8Matrix> QuantizeQ8C(const float* w, uint64_t rows, uint64_t cols) {
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot quantize an empty %dx%d matrix", rows, cols));
  }
  Q8Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.data.resize(rows * cols);
  m.scales.resize(rows);
  for (uint64_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    float amax = 0.0f;
    for (uint64_t c = 0; c < cols; ++c) {
      if (!std::isfinite(row[c])) {
        return absl::InvalidArgumentError(
            absl::StrFormat("non-finite value %g at row %d, column %d", row[c], r, c));
      }
      amax = std::fmax(amax, std::fabs(row[c]));
    }
    const float scale = amax / 127.0f;
    m.scales[r] = scale;
    for (uint64_t c = 0; c < cols; ++c) {
      m.data[r * cols + c] = scale == 0.0f ? 0 : static_cast<int8_t>(std::round(row[c] / scale));
    }
  }
  return m;
}

std::vector<float> DequantizeQ8C(const Q8Matrix& m) {
  std::vector<float> w(m.rows * m.cols);
  for (uint64_t r = 0; r < m.rows; ++r) {
    for (uint64_t c = 0; c < m.cols; ++c) w[r * m.cols + c] = m.data[r * m.cols + c] * m.scales[r];
  }
  return w;
}

std::vector<float> DequantizeQ4G(const Q4Matrix& m) {
  std::vector<float> w(m.rows * m.cols);
  const uint64_t groups = m.groups();
  const uint64_t group_bytes = m.group_size / 2;
  for (uint64_t r = 0; r < m.rows; ++r) {
    for (uint64_t c = 0; c < m.cols; ++c) {
      const uint64_t g = c / m.group_size;
      const uint64_t i = c % m.group_size;
      const uint8_t byte = m.data[(r * groups + g) * group_bytes + i / 2];
      const int q = static_cast<int>(i % 2 == 0 ? (byte & 0x0F) : (byte >> 4)) - 8;
      w[r * m.cols + c] = static_cast<float>(q) * HalfToFloat(m.scales[r * groups + g]) +
                          (m.mins.empty() ? 0.0f : HalfToFloat(m.mins[r * groups + g]));
    }
  }
  return w;
}

double RelativeRmsError(const float* a, const float* b, size_t n) {
  double ref = 0.0;
  double err = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i];
    const double e = x - static_cast<double>(b[i]);
    ref += x * x;
    err += e * e;
  }
  if (err == 0.0) return 0.0;
  if (ref == 0.0) return std::numeric_limits<double>::infinity();
  return std::sqrt(err / ref);
}

}  // namespace kite::convert
