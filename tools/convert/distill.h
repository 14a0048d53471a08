// Distillation recovery for quantized models: after conversion, the stored tensors' free
// continuous parameters (RMSNorm weights, Q4 group scales and offsets, Q8_C row scales) are
// tuned with Adam so that the quantized model's next-token distribution matches the f32
// source model's on calibration text (mean KL(P_f32 || P_quantized)); the integer codes
// stay as quantized (and pruned weights stay zero). Host tools only.
//
// Parameterization (all trained with one Adam learning rate, as relative changes):
// - an RMSNorm weight g = g0 (1 + a);
// - a Q4 group (Q4_R16_G32: w = d u + o; Q4_ROW_GROUPS: w = d q (+ m)): d = d0 (1 + b) and,
//   when the group has an offset (always in Q4_R16_G32, where symmetric groups store
//   o = -8 d), o = o0 + |d0| c: the offset moves in units of the original step size and is
//   trained independently of d;
// - a 2:4 sparse group (Q4S24_R16_G64: w = d (u - 8) at its kept columns, 0 elsewhere):
//   d = d0 (1 + b); the kept positions and codes stay, so pruned weights stay zero;
// - a Q8_C row scale s = s0 (1 + e).
// The tuned values are rounded to the stored precision (f16 for Q4, f32 otherwise) and
// written back into the tensors' bytes, repacking Q4_R16_G32 blocks with the same codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/kite_writer.h"
#include "tools/convert/source_model.h"

namespace kite::convert {

/// Distillation settings.
struct DistillOptions {
  size_t steps = 300;            ///< Adam steps
  double learning_rate = 3e-3;   ///< peak relative change per step (cosine decay to 10%)
  size_t sequences_per_step = 2; ///< calibration sequences per step (gradient averaged)
  /// Longer calibration sequences are cut into windows of at most this many tokens.
  size_t window = 256;
  bool train_norms = true;       ///< RMSNorm weights
  bool train_q4 = true;          ///< Q4 group scales and offsets
  bool train_q8 = true;          ///< Q8_C per-row scales
  size_t log_every = 25;         ///< progress callback period, in steps (0: never)
  /// Run the model in double instead of float (twice as slow; for gradient checks).
  bool double_precision = false;
  /// Also tune F32 matrices, every non-zero weight (unit: the tensor's rms); weights that
  /// are exactly 0 stay 0, so a pruning mask holds. Off for quantized files (their F32
  /// matrices are kept as they are); DistillSourceWeights turns it on.
  bool train_f32_matrices = false;
};

/// What distillation did.
struct DistillReport {
  double kl_before = 0.0;  ///< mean KL over all calibration positions, before tuning
  double kl_after = 0.0;   ///< the same after tuning, with the stored (rounded) values
  size_t steps = 0;
  size_t parameters = 0;   ///< number of tuned scalars
  size_t positions = 0;    ///< calibration positions (tokens that predict one)
  double seconds = 0.0;    ///< wall time of the whole call
};

/// Called every log_every steps with the step number (1-based), the total, and the mean KL
/// of the sequences of the last log_every steps (before their update).
using DistillProgressFn = std::function<void(size_t step, size_t total, double kl)>;

/// The tunable view of converted tensors: dense double weights rebuilt from the stored
/// codes and a vector of tunable values (norm weights, Q4 scales and offsets, Q8_C row
/// scales). DistillStoredTensors uses it; exposed for tests.
class DistillModel {
 public:
  /// Decodes `tensors` (see DistillStoredTensors for what is tuned). Fails on a missing or
  /// inconsistent tensor or an unsupported dtype/layout of a tensor the forward pass needs.
  static absl::StatusOr<DistillModel> Create(const SourceConfig& config,
                                             const std::vector<KiteTensor>& tensors,
                                             const DistillOptions& options);

  /// The tunable values as stored (widened to double).
  const std::vector<double>& initial_values() const { return initial_; }
  /// Per value, the unit of its relative parameterization (g0, d0, |d0| or s0; see the top
  /// of this file); 0 for a value that is frozen (a zero scale).
  const std::vector<double>& units() const { return units_; }

  /// Mean KL(teacher || model) over the T positions of `tokens` with the tunable values
  /// `values`, `teacher_logits` being [T, vocab]. When `grad` is not null it receives
  /// d(KL)/d(value) for every value. Fails on a bad token id.
  absl::StatusOr<double> LossAndGradient(const std::vector<double>& values,
                                         const int32_t* tokens, size_t T,
                                         const float* teacher_logits, std::vector<double>* grad);

  /// `values` rounded to their stored precision (f16 for Q4, f32 otherwise).
  std::vector<double> Round(const std::vector<double>& values) const;

  /// Writes `values` (rounded) into the bytes of `tensors`, which must be the tensors this
  /// model was created from; updates quant_rel_rms_error against `reference` when it holds
  /// the tensor's f32 data.
  void WriteBack(const std::vector<double>& values, const SourceModel* reference,
                 std::vector<KiteTensor>* tensors) const;

  /// One tunable tensor (internal; public for the implementation's helpers).
  struct Block {
    enum Kind { kNorm, kDense, kQ4RowGroups, kQ4R16, kQ4S24, kQ8 } kind = kNorm;
    size_t tensor = 0;          ///< index in the tensors
    std::string name;
    size_t rows = 0, cols = 0;  ///< vectors: rows = 1
    size_t group = 0;           ///< columns per scale (Q8_C: cols)
    size_t groups = 0;          ///< scales per row
    bool has_offset = false;    ///< Q4 groups with an offset (w = d code + o)
    std::vector<double> code;   ///< rows * cols integer codes (Q4/Q8); empty for norms
    std::vector<uint8_t> nibbles;  ///< Q4_R16_G32: rows * groups * 32 unsigned codes, for repacking
    size_t first = 0;           ///< index of its first value; scales, then offsets
  };

 private:
  DistillModel() = default;
  template <typename Real>
  void BuildWeights(const std::vector<double>& values, std::vector<std::vector<Real>>* dense);
  template <typename Real>
  absl::StatusOr<double> Pass(const std::vector<double>& values, const int32_t* tokens,
                              size_t T, const float* teacher_logits, std::vector<double>* grad,
                              std::vector<std::vector<Real>>* dense);

  SourceConfig config_;
  std::vector<Block> blocks_;
  std::vector<double> initial_, units_;
  std::vector<bool> half_;  // per value: stored as f16
  // Dense weights by tensor name (in double or float, see double_precision), rebuilt
  // from the values before each pass.
  bool double_ = false;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> dense_;
  std::vector<std::vector<float>> dense_f_;
};

/// Tunes `tensors` (the converted model: F32 norms and matrices, Q8_C, Q4_G in
/// Q4_R16_G32 or Q4_ROW_GROUPS, Q4_G_S24 in Q4S24_R16_G64) towards the f32 `teacher` (same names and config, data
/// present) on the calibration `sequences` (token ids; cut into options.window tokens,
/// pieces shorter than 2 tokens dropped), and writes
/// the tuned values back into their bytes. Tensors of other dtypes or layouts (and F32
/// matrices) are used as stored but not tuned. When tuning does not lower the KL on the
/// calibration sequences, `tensors` are left unchanged (kl_after = kl_before). Updates
/// quant_rel_rms_error of the tuned matrices. Memory: the teacher's logits for all
/// sequences (positions * vocab floats) plus one forward tape. Fails on inconsistent
/// tensors, bad token ids, or no usable sequence.
absl::StatusOr<DistillReport> DistillStoredTensors(
    const SourceModel& teacher, const std::vector<std::vector<int32_t>>& sequences,
    const DistillOptions& options, std::vector<KiteTensor>* tensors,
    const DistillProgressFn& progress);

/// Before quantization, for a pruned model: tunes every weight of `student` (f32, same
/// names and config as `teacher`) towards `teacher` like DistillStoredTensors does for the
/// stored scales, keeping weights that are exactly 0 at 0 (the pruning mask) and the
/// others free (each moves in units of its tensor's rms). This recovers much more than
/// tuning scales alone when pruning removed half of the weights. Leaves `student`
/// unchanged when the KL does not drop.
absl::StatusOr<DistillReport> DistillSourceWeights(
    const SourceModel& teacher, const std::vector<std::vector<int32_t>>& sequences,
    const DistillOptions& options, SourceModel* student, const DistillProgressFn& progress);

}  // namespace kite::convert
