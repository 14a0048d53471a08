#include "tools/convert/compress/calibration.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sdk/runtime/tokenizer/tokenizer.h"
#include "tools/common/input_file.h"

namespace kite::convert {

std::vector<float> LinearInputStats::ColumnNorms() const {
  std::vector<float> norms(cols);
  for (size_t j = 0; j < cols; ++j) {
    norms[j] = static_cast<float>(std::sqrt(std::fmax(0.0, xtx[j * cols + j])));
  }
  return norms;
}

void CalibrationStats::OnLinearInput(const std::string& weight_name, const float* x,
                                     size_t tokens, size_t cols) {
  // The same values as the previous call (wk after wq, ...): that accumulator has them.
  const bool same_input = last_ != nullptr && cols == last_->cols &&
                          tokens * cols == last_x_.size() &&
                          std::equal(last_x_.begin(), last_x_.end(), x);
  auto found = by_name_.find(weight_name);
  if (found == by_name_.end()) {
    if (same_input) {
      by_name_[weight_name] = last_;
      return;
    }
    auto stats = std::make_shared<LinearInputStats>();
    stats->cols = cols;
    stats->xtx.assign(cols * cols, 0.0);
    found = by_name_.emplace(weight_name, std::move(stats)).first;
  } else if (found->second == last_ && same_input) {
    return;
  }
  LinearInputStats& s = *found->second;
  if (s.cols != cols) return;  // cannot happen with a consistent model
  std::vector<double> xd(cols);
  for (size_t t = 0; t < tokens; ++t) {
    const float* xt = x + t * cols;
    for (size_t j = 0; j < cols; ++j) xd[j] = xt[j];
    for (size_t j = 0; j < cols; ++j) {
      const double xj = xd[j];
      if (xj == 0.0) continue;
      double* row = s.xtx.data() + j * cols;
      for (size_t k = j; k < cols; ++k) row[k] += xj * xd[k];
    }
  }
  // Mirror the upper triangle just accumulated into the lower one.
  for (size_t j = 0; j < cols; ++j) {
    for (size_t k = 0; k < j; ++k) s.xtx[j * cols + k] = s.xtx[k * cols + j];
  }
  s.tokens += tokens;
  last_ = found->second;
  last_x_.assign(x, x + tokens * cols);
}

const LinearInputStats* CalibrationStats::Find(const std::string& weight_name) const {
  auto found = by_name_.find(weight_name);
  return found == by_name_.end() ? nullptr : found->second.get();
}

LinearInputStats* CalibrationStats::FindMutable(const std::string& weight_name) {
  auto found = by_name_.find(weight_name);
  return found == by_name_.end() ? nullptr : found->second.get();
}

absl::StatusOr<std::vector<std::vector<int32_t>>> TokenizeCalibrationText(
    const std::string& text, const TokenizerTables& tables, size_t window, size_t max_tokens) {
  if (window == 0 || max_tokens == 0) {
    return absl::InvalidArgumentError("calibration window and token cap must be positive");
  }
  const Tokenizer tokenizer(tables.View());
  std::vector<std::vector<int32_t>> out;
  size_t total = 0;
  size_t begin = 0;
  while (begin < text.size() && total < max_tokens) {
    size_t end = text.find("\n\n", begin);
    if (end == std::string::npos) end = text.size();
    // Trim the newlines around a document.
    size_t b = begin, e = end;
    while (b < e && text[b] == '\n') ++b;
    while (e > b && text[e - 1] == '\n') --e;
    begin = end + 2;
    if (b == e) continue;
    std::vector<int32_t> ids(3 * Tokenizer::MaxTokensFor(e - b));
    size_t n = 0;
    const Status s = tokenizer.Encode(text.data() + b, e - b, /*add_bos=*/true, ids.data(),
                                      ids.size(), &n);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot tokenize the calibration text: ", s.message()));
    }
    for (size_t start = 0; start < n && total < max_tokens; start += window) {
      size_t len = std::min(window, n - start);
      len = std::min(len, max_tokens - total);
      if (len < 2) break;
      out.emplace_back(ids.begin() + start, ids.begin() + start + len);
      total += len;
    }
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("the calibration text gives no sequence of 2+ tokens");
  }
  return out;
}

absl::StatusOr<CalibrationStats> Calibrate(const SourceModel& model,
                                           const std::vector<std::vector<int32_t>>& sequences) {
  CalibrationStats stats;
  for (const std::vector<int32_t>& seq : sequences) {
    absl::Status s = ForwardFloat(model, seq.data(), seq.size(), nullptr, &stats);
    if (!s.ok()) return s;
  }
  return stats;
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  return tools::ReadInputFile(path);
}

}  // namespace kite::convert
