// The summary kite-convert prints when it is done: one row per tensor, then totals.
// Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/convert/write/kite_writer.h"

namespace kite::convert {

/// Totals over a set of stored tensors.
struct ReportTotals {
  uint64_t parameters = 0;    ///< elements over all tensors
  uint64_t tensor_bytes = 0;  ///< data, scales and mins bytes over all tensors (no padding)
  /// tensor_bytes * 8 / parameters (0 when there are no parameters).
  double bits_per_weight() const {
    return parameters ? static_cast<double>(tensor_bytes) * 8.0 / static_cast<double>(parameters)
                      : 0.0;
  }
};

/// Sums parameters and bytes of `tensors`.
ReportTotals ComputeTotals(const std::vector<KiteTensor>& tensors);

/// "64x172" for a matrix, "64" for a vector.
std::string ShapeString(const std::vector<uint64_t>& shape);

/// The table (tensor, shape, dtype, bytes, relative RMS error), the totals (parameters,
/// tensor bytes, bits per weight, file bytes) and the output path, ready for stdout.
std::string FormatReport(const std::vector<KiteTensor>& tensors, const KiteFileSummary& file,
                         const std::string& output_path);

}  // namespace kite::convert
