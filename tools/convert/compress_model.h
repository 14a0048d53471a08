// Whole-model compression steps of kite-convert that sit around tensor conversion:
// pruning every linear layer of a source model, and choosing which tensors stay at 8 bits
// under a bits-per-weight budget from measured sensitivities. Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/convert/calibration.h"
#include "tools/convert/convert_tensors.h"
#include "tools/convert/source_model.h"

namespace kite::convert {

/// How linear layers are pruned.
enum class PruneMethod {
  kNone,
  kMagnitude,   ///< unstructured, per output row, score |W|
  kWanda,       ///< unstructured, per output row, score |W| * ||X_j|| (needs calibration)
  k24,          ///< 2:4, score |W|
  k24Wanda,     ///< 2:4, score |W| * ||X_j|| (needs calibration)
};

/// The command-line spelling of `method` ("none", "magnitude", "wanda", "2:4", "2:4-wanda").
const char* PruneMethodName(PruneMethod method);

/// True for the methods that score with activation norms.
inline bool PruneNeedsCalibration(PruneMethod method) {
  return method == PruneMethod::kWanda || method == PruneMethod::k24Wanda;
}

/// True when `name` is a weight matrix that pruning touches: the 2-D tensors of the
/// layers ("layers.N.attention.wq", ...), not the embedding or the output head.
bool IsPrunableWeight(const std::string& name, const std::vector<uint64_t>& shape);

/// Prunes every prunable weight of `model` in place. `sparsity` is used by the
/// unstructured methods (0 < sparsity < 1). Wanda methods need `stats` with an entry for
/// every prunable weight. With `compensate` (and `stats`), the kept weights are then
/// adjusted to make up for the pruned ones (CompensatePruning, SparseGPT-style with the
/// mask chosen by `method`). Returns the fraction of prunable weights that are zero after.
absl::StatusOr<double> PruneModel(SourceModel* model, PruneMethod method, float sparsity,
                                  const CalibrationStats* stats, bool compensate = false);

/// One tensor's measured sensitivity to 4-bit quantization.
struct TensorSensitivity {
  std::string name;
  /// Mean KL(f32 || model) over the calibration positions, in nats, when only this tensor
  /// is stored at 4 bits (everything else f32), and when only it is stored at 8 bits.
  double kl_q4 = 0.0;
  double kl_q8 = 0.0;
  uint64_t bytes_q4 = 0;  ///< stored bytes of this tensor at 4 bits (data + scales + mins)
  uint64_t bytes_q8 = 0;  ///< and at 8 bits
  bool forced_8bit = false;  ///< named in keep_8bit: 8 bits whatever the budget
  bool chosen_8bit = false;  ///< the budget keeps it at 8 bits
  /// Mean KL of the whole choice, all chosen tensors quantized together, for the two
  /// greedy orders tried (the same in every row).
  double kl_choice_per_byte = 0.0;
  double kl_choice_by_gain = 0.0;
  size_t index = 0;  ///< position among the measured 2-D tensors (internal)
};

/// Mixed precision: measures every 2-D tensor's sensitivity on `sequences` (ForwardFloat
/// of `model`, which must still hold its data) and chooses the tensors kept at 8 bits
/// (Q8_C) so that the bytes of all tensors (norms and scales included) stay within
/// `bits_per_weight` per parameter: two greedy choices (by KL saved per extra byte, and by
/// KL saved) are each measured with all their tensors quantized at once, and the one with
/// the lower KL wins. Tensors in
/// `options.keep_8bit` are always 8-bit. Returns the measurements with the choice; the
/// caller puts the chosen names in keep_8bit. Fails when even the all-4-bit file (plus
/// the forced tensors) exceeds the budget; the message gives the minimum.
absl::StatusOr<std::vector<TensorSensitivity>> ChooseMixedPrecision(
    const SourceModel& model, const ConvertOptions& options,
    const std::vector<std::vector<int32_t>>& sequences, double bits_per_weight);

/// The measurements and the choice as a table for the terminal, most sensitive first.
std::string FormatSensitivities(const std::vector<TensorSensitivity>& rows);

}  // namespace kite::convert
