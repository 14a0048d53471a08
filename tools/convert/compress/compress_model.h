// Whole-model compression steps of kite-convert that sit around tensor conversion:
// pruning every linear layer of a source model, and choosing which tensors stay at 8 bits
// under a bits-per-weight budget from measured sensitivities. Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/write/convert_tensors.h"
#include "tools/convert/source/source_model.h"

namespace kite::convert {

/// How linear layers are pruned.
enum class PruneMethod {
  kNone,
  kMagnitude,   ///< unstructured, per output row, score |W|
  kWanda,       ///< unstructured, per output row, score |W| * ||X_j|| (needs calibration)
  k24,          ///< 2:4, score |W|
  k24Wanda,     ///< 2:4, score |W| * ||X_j|| (needs calibration)
  k24SparseGpt, ///< 2:4, mask chosen during the compensation sweep (needs calibration)
};

/// The command-line spelling of `method` ("none", "magnitude", "wanda", "2:4", "2:4-wanda").
const char* PruneMethodName(PruneMethod method);

/// True for the methods that score with activation norms.
inline bool PruneNeedsCalibration(PruneMethod method) {
  return method == PruneMethod::kWanda || method == PruneMethod::k24Wanda ||
         method == PruneMethod::k24SparseGpt;
}

/// True for the 2:4 methods.
inline bool PruneIsTwoFour(PruneMethod method) {
  return method == PruneMethod::k24 || method == PruneMethod::k24Wanda ||
         method == PruneMethod::k24SparseGpt;
}

/// True when `name` is a weight matrix that pruning touches: the 2-D tensors of the
/// layers ("layers.N.attention.wq", ...), not the embedding or the output head.
bool IsPrunableWeight(const std::string& name, const std::vector<uint64_t>& shape);

/// Prunes every prunable weight of `model` in place. `sparsity` is used by the
/// unstructured methods (0 < sparsity < 1). Wanda and SparseGPT need `stats` with an entry
/// for every prunable weight; SparseGPT always compensates (it picks its mask while doing so). With `compensate` (and `stats`), the kept weights are then
/// adjusted to make up for the pruned ones (CompensatePruning, SparseGPT-style with the
/// mask chosen by `method`). Returns the fraction of prunable weights that are zero after.
absl::StatusOr<double> PruneModel(SourceModel* model, PruneMethod method, float sparsity,
                                  const CalibrationStats* stats, bool compensate = false);

/// How --bpw stores one 2-D tensor, from the fewest bytes to the most.
enum class Precision {
  kQ3G64,     ///< 3-bit symmetric groups of 64 (Q3_R16_G64), only with bpw_q3 when kQ3 does
              ///< not fit
  kQ3,        ///< 3-bit symmetric groups of 32 (Q3_R16_G32), only with ConvertOptions::bpw_q3
  kQ4Coarse,  ///< 4-bit in groups twice the requested size (Q4_ROW_GROUPS), only to fit a budget
  kQ4,        ///< 4-bit as the options ask
  kQ8,        ///< Q8_C
};

/// One tensor's measured sensitivity to 4-bit quantization.
struct TensorSensitivity {
  std::string name;
  /// Mean KL(f32 || model) over the calibration positions, in nats, when only this tensor
  /// is stored at 4 bits (everything else f32), when only it is stored at 8 bits, and
  /// (when the budget needed them) when only it is stored at 4 bits in coarse groups.
  double kl_q4 = 0.0;
  double kl_q8 = 0.0;
  double kl_coarse = 0.0;
  double kl_q3 = 0.0;     ///< and when only it is stored at 3 bits (with bpw_q3)
  double kl_q3g64 = 0.0;  ///< and at 3 bits in groups of 64 (when all 3-bit does not fit)
  uint64_t bytes_q4 = 0;  ///< stored bytes of this tensor at 4 bits (data + scales + mins)
  uint64_t bytes_q8 = 0;  ///< and at 8 bits
  uint64_t bytes_coarse = 0;  ///< and at 4 bits in coarse groups (0: not measured)
  uint64_t bytes_q3 = 0;  ///< and at 3 bits (0: not measured)
  uint64_t bytes_q3g64 = 0;  ///< and at 3 bits in groups of 64 (0: not measured)
  uint32_t coarse_group_size = 0;  ///< the coarse group size (0: not measured)
  bool forced_8bit = false;  ///< named in keep_8bit: 8 bits whatever the budget
  Precision chosen = Precision::kQ4;  ///< what the budget stores
  /// Mean KL of the whole choice, all chosen tensors quantized together, for the two
  /// greedy orders tried (the same in every row).
  double kl_choice_per_byte = 0.0;
  double kl_choice_by_gain = 0.0;
  /// The same two orders started from every matrix at 3 bits (with bpw_q3; 0 otherwise),
  /// in groups of 64 when groups of 32 do not fit.
  double kl_choice_q3_per_byte = 0.0;
  double kl_choice_q3_by_gain = 0.0;
  size_t index = 0;  ///< position among the measured 2-D tensors (internal)

  /// Mean KL and bytes at `p`.
  double kl(Precision p) const {
    return p == Precision::kQ8   ? kl_q8
           : p == Precision::kQ4 ? kl_q4
           : p == Precision::kQ3 ? kl_q3
           : p == Precision::kQ3G64 ? kl_q3g64
                                 : kl_coarse;
  }
  uint64_t bytes(Precision p) const {
    return p == Precision::kQ8   ? bytes_q8
           : p == Precision::kQ4 ? bytes_q4
           : p == Precision::kQ3 ? bytes_q3
           : p == Precision::kQ3G64 ? bytes_q3g64
                                 : bytes_coarse;
  }
};

/// Mixed precision: measures every 2-D tensor's sensitivity on `sequences` (ForwardFloat
/// of `model`, which must still hold its data) and chooses how each is stored so that the
/// bytes of all tensors (norms and scales included) stay within `bits_per_weight` per
/// parameter. Every tensor starts at 4 bits; when that exceeds the budget, every tensor
/// starts in coarse 4-bit groups (twice options.group_size, if that is at most 128)
/// instead. Greedy upgrades (coarse to 4-bit, coarse or 4-bit to 8-bit), in two orders
/// (by KL saved per extra byte, and by KL saved), are each measured with all tensors
/// quantized at once, and the one with the lower KL wins. Tensors in `options.keep_8bit`
/// are always 8-bit. With options.bpw_q3, every matrix is measured at 3 bits as well, and
/// the same two greedy orders also start from every matrix at 3 bits (upgrades to 4 and 8
/// bits); of all the choices that fit, the one with the lowest measured KL wins, so the
/// 3-bit ones are kept only when they help. When even every matrix at 3 bits exceeds the
/// budget, every matrix is also measured in 3-bit groups of 64, and the 3-bit choices start
/// from those instead (upgrades to 3-bit groups of 32, 4 and 8 bits). Returns the
/// measurements with the choice; the caller puts the 8-bit names in keep_8bit, the coarse
/// ones in group_size_for and the 3-bit ones in q3 or q3_g64. Fails when even the smallest
/// file (plus the forced tensors) exceeds the budget; the message gives the minimum.
/// `progress` (may be empty) is called after each measurement with the tensor's name, the
/// measurements done and the number planned so far (the coarse ones are added when needed);
/// calls are serialized but may come from any thread. The measurements run on `threads`
/// threads (0: one per CPU); the result does not depend on it.
using SensitivityProgressFn =
    std::function<void(const std::string& name, size_t done, size_t planned)>;
absl::StatusOr<std::vector<TensorSensitivity>> ChooseMixedPrecision(
    const SourceModel& model, const ConvertOptions& options,
    const std::vector<std::vector<int32_t>>& sequences, double bits_per_weight,
    const SensitivityProgressFn& progress = {}, size_t threads = 0);

/// The measurements and the choice as a table for the terminal, most sensitive first.
std::string FormatSensitivities(const std::vector<TensorSensitivity>& rows);

}  // namespace kite::convert
