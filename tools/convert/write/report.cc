#include "tools/convert/write/report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kite::convert {

ReportTotals ComputeTotals(const std::vector<KiteTensor>& tensors) {
  ReportTotals t;
  for (const KiteTensor& k : tensors) {
    uint64_t n = 1;
    for (uint64_t d : k.shape) n *= d;
    t.parameters += n;
    t.tensor_bytes += k.data.size() + k.scales.size() + k.mins.size();
  }
  return t;
}

std::string ShapeString(const std::vector<uint64_t>& shape) {
  return absl::StrJoin(shape, "x");
}

std::string FormatReport(const std::vector<KiteTensor>& tensors, const KiteFileSummary& file,
                         const std::string& output_path) {
  size_t name_width = 6;
  for (const KiteTensor& t : tensors) name_width = std::max(name_width, t.name.size());
  const int w = static_cast<int>(name_width);

  std::string out = absl::StrFormat("%-*s  %-10s  %-5s  %12s  %10s\n", w, "tensor", "shape",
                                    "dtype", "bytes", "rel.error");
  for (const KiteTensor& t : tensors) {
    absl::StrAppendFormat(&out, "%-*s  %-10s  %-5s  %12d  %10.6f\n", w, t.name,
                          ShapeString(t.shape), DTypeName(t.dtype),
                          t.data.size() + t.scales.size() + t.mins.size(), t.quant_rel_rms_error);
  }
  const ReportTotals totals = ComputeTotals(tensors);
  absl::StrAppendFormat(&out, "\ntensors:      %d\n", tensors.size());
  absl::StrAppendFormat(&out, "parameters:   %d\n", totals.parameters);
  absl::StrAppendFormat(&out, "tensor bytes: %d (%.3f bits/weight)\n", totals.tensor_bytes,
                        totals.bits_per_weight());
  absl::StrAppendFormat(&out, "file bytes:   %d (metadata %d, data offset %d, %d segments)\n",
                        file.file_size, file.metadata_bytes, file.data_offset, file.segments);
  absl::StrAppendFormat(&out, "wrote %s\n", output_path);
  return out;
}

}  // namespace kite::convert
