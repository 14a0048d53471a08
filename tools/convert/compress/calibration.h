// Calibration for the converter: a text tokenized with the model's own tokenizer is run
// through the f32 source model (ForwardFloat, llama_float.h), and the inputs of every
// linear layer are summarized as X^T X (for GPTQ) and per-column L2 norms (for Wanda).
// Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/convert/compress/llama_float.h"
#include "tools/convert/source/source_model.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// Default cap on calibration tokens (--calib-tokens).
inline constexpr size_t kDefaultCalibTokens = 2048;

/// Statistics of one linear layer's inputs over all calibration tokens.
struct LinearInputStats {
  size_t cols = 0;      ///< input width
  uint64_t tokens = 0;  ///< inputs accumulated
  /// sum over tokens of x x^T: cols x cols, row-major, symmetric.
  std::vector<double> xtx;

  /// ||X_j||_2 for each input column j: sqrt of xtx's diagonal (Wanda's activation norm).
  std::vector<float> ColumnNorms() const;
};

/// Accumulates LinearInputStats per weight matrix while ForwardFloat runs. Matrices that
/// read the same input (wq, wk and wv; w1 and w3) share one accumulator.
class CalibrationStats : public LinearCapture {
 public:
  void OnLinearInput(const std::string& weight_name, const float* x, size_t tokens,
                     size_t cols) override;

  /// The statistics of the input of `weight_name`, or null when it was never seen.
  const LinearInputStats* Find(const std::string& weight_name) const;
  /// The same, writable (--awq rescales the statistics it folds scales into). Matrices that
  /// share an input share the returned object.
  LinearInputStats* FindMutable(const std::string& weight_name);

  /// Number of weight matrices with statistics.
  size_t size() const { return by_name_.size(); }

 private:
  std::map<std::string, std::shared_ptr<LinearInputStats>> by_name_;
  // The accumulator and the input of the previous call, to recognize a shared input.
  std::shared_ptr<LinearInputStats> last_;
  std::vector<float> last_x_;
};

/// Splits `text` into documents at blank lines ("\n\n"), encodes each with `tokenizer`
/// (BOS first), cuts documents longer than `window` tokens into consecutive windows, and
/// stops at `max_tokens` tokens in all (the last sequence is shortened). Sequences of one
/// token are dropped (they predict nothing). Fails when no sequence remains, or when
/// `window` or `max_tokens` is 0.
absl::StatusOr<std::vector<std::vector<int32_t>>> TokenizeCalibrationText(
    const std::string& text, const TokenizerTables& tokenizer, size_t window, size_t max_tokens);

/// Runs ForwardFloat on every sequence and returns the accumulated statistics.
absl::StatusOr<CalibrationStats> Calibrate(const SourceModel& model,
                                           const std::vector<std::vector<int32_t>>& sequences);

/// Reads the file at `path` as text. Fails with a message naming the path.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace kite::convert
