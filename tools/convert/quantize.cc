#include "tools/convert/quantize.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"
#include "sdk/kernels/fp16.h"

namespace kite::convert {

absl::Status ValidateGroupSize(uint32_t group_size) {
  if (group_size == 32 || group_size == 64 || group_size == 128) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("group size %d is not supported (use 32, 64 or 128)", group_size));
}

absl::StatusOr<Q4Matrix> QuantizeQ4G(const float* w, uint64_t rows, uint64_t cols,
                                     uint32_t group_size) {
  if (absl::Status s = ValidateGroupSize(group_size); !s.ok()) return s;
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot quantize an empty %dx%d matrix", rows, cols));
  }
  Q4Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = group_size;
  const uint64_t groups = m.groups();
  const uint64_t group_bytes = group_size / 2;
  m.data.assign(rows * groups * group_bytes, 0);
  m.scales.assign(rows * groups, 0);

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
      uint16_t d_bits = FloatToHalf(max_value / -8.0f);
      const float d = HalfToFloat(d_bits);
      if (d == 0.0f) d_bits = 0;  // +0, not the -0 that 0 / -8 gives
      if (std::isinf(d)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "value %g at row %d (group %d) is too large for an f16 scale", max_value, r, g));
      }
      m.scales[r * groups + g] = d_bits;

      uint8_t* out = m.data.data() + (r * groups + g) * group_bytes;
      for (uint64_t i = 0; i < group_size; ++i) {
        int q = 0;
        const uint64_t c = begin + i;
        if (c < end && d != 0.0f) {
          const float x = std::round(row[c] / d);
          q = x < -8.0f ? -8 : (x > 7.0f ? 7 : static_cast<int>(x));
        }
        // Element i goes to byte i/2: even elements in the low nibble, odd in the high.
        const uint8_t nibble = static_cast<uint8_t>(q + 8);
        out[i / 2] |= (i % 2 == 0) ? nibble : static_cast<uint8_t>(nibble << 4);
      }
    }
  }
  return m;
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
      w[r * m.cols + c] = static_cast<float>(q) * HalfToFloat(m.scales[r * groups + g]);
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
