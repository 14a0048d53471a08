// Distillation recovery for quantized models: after conversion, the stored tensors' free
// continuous parameters (RMSNorm weights, Q4 group scales and offsets, Q8_C row scales) are
// tuned with Adam so that the quantized model's next-token distribution matches the f32
// source model's on calibration text (mean KL(P_f32 || P_quantized)). The integer codes
// stay as quantized unless DistillOptions::train_codes is set (quantization-aware training
// with a straight-through estimator, below); pruned weights stay zero. q/k/v biases
// (Qwen2) are applied in every pass but never tuned. Host tools only.
//
// Parameterization (all trained with one Adam learning rate, as relative changes):
// - an RMSNorm weight g = g0 (1 + a);
// - a Q4 group (Q4_R16_G32: w = d u + o; Q4_R16_G32_SYM: w = d (u - 8); Q4_ROW_GROUPS:
//   w = d q (+ m)): d = d0 (1 + b) and,
//   when the group has an offset (always in Q4_R16_G32, where symmetric groups store
//   o = -8 d), o = o0 + |d0| c: the offset moves in units of the original step size and is
//   trained independently of d;
// - a 2:4 sparse group (Q4_SP24_R16_G64: w = d (u - 8) at its kept columns, 0 elsewhere):
//   d = d0 (1 + b); the kept positions and codes stay, so pruned weights stay zero;
// - a 3-bit group (Q3_R16_G32 or Q3_R16_G64: w = d (u - 4)): d = d0 (1 + b); its codes stay
//   (no latent codes for these layouts);
// - a Q8_C row scale s = s0 (1 + e);
// - with train_codes, every code of a dense Q4 matrix (Q4_R16_G32, Q4_R16_G32_SYM,
//   Q4_ROW_GROUPS) through a latent real copy z that starts near the stored code (see
//   latent_from_teacher): the forward pass uses code = clamp(round(z)) (0..15 for u,
//   -8..7 for q), the backward pass hands
//   dL/dw * d to z as if the rounding were the identity (straight-through estimator), and
//   z moves in code units (its step size is code_learning_rate). The final rounding gives
//   the stored codes. 2:4 sparse codes (Q4_SP24_R16_G64) and Q8_C codes stay fixed.
// - with train_codes, every code of a codebook matrix (Q4_R16_G32_CB: w = d codebook[u])
//   the same way, z in entry units: the forward pass uses the entry nearest z, the
//   straight-through gradient is dL/dw * d, and z's step is code_learning_rate times the
//   codebook's mean gap, (max entry - min entry) / 15;
// - with train_codebook, the distinct entries of every codebook (Q4_R16_G32_CB): a real
//   shadow e of each, dL/de = sum over the weights coded with it of dL/dw * d, moving in
//   units of the mean gap (its step size is codebook_learning_rate). After every step the
//   entries are clamped to [-kQ4CodebookMax, kQ4CodebookMax] and made non-decreasing in
//   index order (each at least its predecessor), so the codebook stays ascending and valid;
//   they are rounded to int8 at the end. With train_codes, a latent z still picks the
//   stored entry nearest it (the grid the codes were quantized on), and the weight takes
//   that entry's trained value: moving an entry changes its weights' values, never which
//   entry a weight uses.
// The tuned values are rounded to the stored precision (f16 for Q4, f32 otherwise) and
// written back into the tensors' bytes, repacking Q4 blocks with their (possibly trained)
// codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/write/kite_writer.h"
#include "tools/convert/source/source_model.h"

namespace kite::convert {

/// Distillation settings.
struct DistillOptions {
  size_t steps = 300;            ///< Adam steps
  /// Peak relative change per step: a linear warmup over warmup_steps, then a cosine decay
  /// to 10% at the last step.
  double learning_rate = 3e-3;
  /// Steps of linear warmup: step s <= warmup_steps uses s / (warmup_steps + 1) of the
  /// cosine schedule's rate. 0: none.
  size_t warmup_steps = 0;
  size_t sequences_per_step = 2; ///< calibration sequences per step (gradient averaged)
  /// Threads running a step's sequences (and the KL evaluations) at once, and splitting the
  /// weight rebuild and the Adam update; 0: one per CPU. The result does not depend on it:
  /// the gradients are summed in sequence order and every value's update is computed alone.
  size_t threads = 0;
  /// When k > 0, every k-th window (indices k-1, 2k-1, ...) is held out: never trained on,
  /// its KL evaluated at every progress report (DistillProgress::heldout_kl). 0: none.
  size_t heldout_every = 0;
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
  /// Also train the codes of dense Q4 matrices with a straight-through estimator (see the
  /// top of this file); independent of train_q4, which covers their scales and offsets.
  bool train_codes = true;
  /// With train_codes: peak step of a latent code per Adam step, in code units (cosine
  /// decay to 10% like learning_rate).
  double code_learning_rate = 0.003;
  /// Also train the entries of every codebook (Q4_R16_G32_CB; see the top of this file);
  /// independent of train_codes and train_q4. Off by default: on stories260K it did not
  /// lower the dev KLD (docs/compression.md, "Codebook 4-bit groups").
  bool train_codebook = false;
  /// With train_codebook: peak step of an entry per Adam step, in units of its codebook's
  /// mean gap (cosine decay to 10% like learning_rate).
  double codebook_learning_rate = 0.01;
  /// With train_codes: start each latent code at the f32 teacher weight's position on its
  /// group's grid, clamped to within 0.49 of the stored code (so the start rounds to the
  /// stored codes, but codes that were close to a rounding boundary are close to it again,
  /// and the latents do not all reach a boundary at the same step). False: latents start
  /// at the codes themselves (measured worse; see docs/decisions.md).
  bool latent_from_teacher = true;
  /// With train_codes, after pruning: the pruned f32 model (not owned; may be null). A
  /// weight that is exactly 0 in its tensor of the same name keeps its code, so the pruning
  /// mask holds (as the group's value nearest 0).
  const SourceModel* frozen_zeros = nullptr;
};

/// What distillation did.
struct DistillReport {
  double kl_before = 0.0;  ///< mean KL over all calibration positions, before tuning
  double kl_after = 0.0;   ///< the same after tuning, with the stored (rounded) values
  size_t steps = 0;
  size_t parameters = 0;   ///< number of tuned scalars (latent codes included)
  size_t codes_changed = 0;  ///< with train_codes: stored codes that differ from the start
  size_t positions = 0;    ///< calibration positions (tokens that predict one)
  double seconds = 0.0;    ///< wall time of the whole call
  /// With heldout_every: the KL over the held-out windows before and after tuning (0 when
  /// none), and their number of positions (included in `positions` and kl_before/after).
  double heldout_kl_before = 0.0, heldout_kl_after = 0.0;
  size_t heldout_positions = 0;
};

/// The step after which DistillProgress::kEstimate reports the speed (or the last step of
/// a shorter run).
inline constexpr size_t kDistillEstimateSteps = 5;

/// A progress report of a distillation run. Times are wall seconds since training began
/// (after the teacher's logits and the first KL evaluation).
struct DistillProgress {
  enum Kind {
    kStart,     ///< step 0: train_kl and heldout_kl are the KLs before training
    kEstimate,  ///< after kDistillEstimateSteps steps: the speed and ETA only (KLs are 0)
    kLog,       ///< every log_every steps
  } kind = kLog;
  size_t step = 0;   ///< steps done (1-based after the start)
  size_t total = 0;  ///< DistillOptions::steps
  /// kLog: the mean KL of the sequences of the last log_every steps (before their update);
  /// kStart: the KL over the training windows.
  double train_kl = 0.0;
  /// The KL over the held-out windows under the current values; 0 without them.
  double heldout_kl = 0.0;
  size_t tokens = 0;        ///< training tokens so far (steps x sequences x mean window)
  double seconds = 0.0;
  double steps_per_second = 0.0;
  double eta_seconds = 0.0;  ///< estimated wall seconds to the last step
};

/// Receives every DistillProgress of a run (may be empty: no reports).
using DistillProgressFn = std::function<void(const DistillProgress&)>;

/// The tunable view of converted tensors: dense double weights rebuilt from the stored
/// codes and a vector of tunable values (norm weights, Q4 scales and offsets, Q8_C row
/// scales). DistillStoredTensors uses it; exposed for tests.
class DistillModel {
 public:
  /// Decodes `tensors` (see DistillStoredTensors for what is tuned). Fails on a missing or
  /// inconsistent tensor or an unsupported dtype/layout of a tensor the forward pass needs.
  /// `teacher` (may be null) serves options.latent_from_teacher.
  static absl::StatusOr<DistillModel> Create(const SourceConfig& config,
                                             const std::vector<KiteTensor>& tensors,
                                             const DistillOptions& options,
                                             const SourceModel* teacher = nullptr);

  /// The tunable values as stored (widened to double).
  const std::vector<double>& initial_values() const { return initial_; }
  /// Per value, the unit of its relative parameterization (g0, d0, |d0| or s0; see the top
  /// of this file); 0 for a value that is frozen (a zero scale). A latent code's unit is
  /// code_learning_rate / learning_rate, so that Adam's steps are code_learning_rate; a
  /// codebook entry's is codebook_learning_rate / learning_rate times its codebook's mean
  /// gap.
  const std::vector<double>& units() const { return units_; }

  /// Mean KL(teacher || model) over the T positions of `tokens` with the tunable values
  /// `values`, `teacher_logits` being [T, vocab]. When `grad` is not null it receives
  /// d(KL)/d(value) for every value. Fails on a bad token id.
  absl::StatusOr<double> LossAndGradient(const std::vector<double>& values,
                                         const int32_t* tokens, size_t T,
                                         const float* teacher_logits, std::vector<double>* grad);

  /// The dense weights one pass builds from the values. A thread calling LossAndGradient
  /// concurrently with others needs its own (NewWorkspace); the calls are then thread-safe.
  struct Workspace {
    std::vector<std::vector<double>> dense;
    std::vector<std::vector<float>> dense_f;
  };
  Workspace NewWorkspace() const { return Workspace{dense_, dense_f_}; }
  /// LossAndGradient with the buffers of `workspace`.
  absl::StatusOr<double> LossAndGradient(const std::vector<double>& values,
                                         const int32_t* tokens, size_t T,
                                         const float* teacher_logits, std::vector<double>* grad,
                                         Workspace* workspace) const;
  /// Rebuilds the dense weights of `workspace` from `values`, the tensors split over
  /// `threads` threads (the result does not depend on their number).
  void BuildWorkspace(const std::vector<double>& values, size_t threads,
                      Workspace* workspace) const;
  /// LossAndGradient on the weights `built` already holds (BuildWorkspace with the same
  /// `values`). Reads `built` only, so any number of threads may share it.
  absl::StatusOr<double> LossAndGradientBuilt(const std::vector<double>& values,
                                              const int32_t* tokens, size_t T,
                                              const float* teacher_logits,
                                              std::vector<double>* grad,
                                              const Workspace& built) const;

  /// Per value, the index of its group for Adam's second moment (0, 1, ..., ascending):
  /// every value is its own group except the latent codes of one matrix, which share one.
  /// Adam divides a step by the larger of the value's and its group's second moment, so a
  /// code whose gradient is small against its matrix's moves less than the full step
  /// (with Adam alone every code, noise-driven ones included, would random-walk at the
  /// full step size).
  const std::vector<size_t>& moment_groups() const { return moment_group_; }

  /// `values` rounded to their stored precision (f16 for Q4 scales, int8 for codebook
  /// entries, f32 otherwise).
  std::vector<double> Round(const std::vector<double>& values) const;

  /// Keeps every latent code of `values` within half a step of its code range, so that
  /// Adam's momentum cannot carry it far past the clamp, and every trained codebook within
  /// [-kQ4CodebookMax, kQ4CodebookMax] and non-decreasing. No-op without train_codes and
  /// train_codebook.
  void ClampLatents(std::vector<double>* values) const;

  /// The number of codes that `values` (latent codes) round to a code other than the
  /// stored one (for a codebook matrix: an entry of another index). 0 without train_codes.
  size_t ChangedCodes(const std::vector<double>& values) const;

  /// Writes `values` (rounded) into the bytes of `tensors`, which must be the tensors this
  /// model was created from; updates quant_rel_rms_error against `reference` when it holds
  /// the tensor's f32 data.
  void WriteBack(const std::vector<double>& values, const SourceModel* reference,
                 std::vector<KiteTensor>* tensors) const;

  /// One tunable tensor (internal; public for the implementation's helpers).
  struct Block {
    enum Kind {
      kNorm, kDense, kQ4RowGroups, kQ4R16, kQ4R16Sym, kQ4R16Cb, kQ4SP24, kQ8,
      kQ3R16,  ///< Q3_R16_G32 or Q3_R16_G64: its scales train, its 3-bit codes stay
    } kind = kNorm;
    size_t tensor = 0;          ///< index in the tensors
    std::string name;
    size_t rows = 0, cols = 0;  ///< vectors: rows = 1
    size_t group = 0;           ///< columns per scale (Q8_C: cols)
    size_t groups = 0;          ///< scales per row
    bool has_offset = false;    ///< Q4 groups with an offset (w = d code + o)
    std::vector<double> code;   ///< rows * cols integer codes (Q4/Q8); empty for norms
    std::vector<uint8_t> nibbles;  ///< Q4_R16_G32: rows * groups * 32 unsigned codes, for repacking
    size_t first = 0;           ///< index of its first value; scales, then offsets
    /// With train_codes: rows * cols latent codes start at value `latent`, and the
    /// effective code is clamp(round(z), code_min, code_max), or for a codebook matrix the
    /// entry of `entries` nearest z.
    bool has_latent = false;
    size_t latent = 0;
    double code_min = 0.0, code_max = 0.0;
    double code_step = 1.0;  ///< latent units per code step (codebook: the mean entry gap)
    /// Q4_R16_G32_CB: the codebook's distinct entries as stored, ascending, and per
    /// element (r * cols + c) the index of its stored entry among them.
    std::vector<double> entries;
    std::vector<uint8_t> entry_index;
    /// Q4_R16_G32_CB with train_codebook: the current entries (as many as `entries`, in the
    /// same order) are the values from `entry_first`.
    bool train_entries = false;
    size_t entry_first = 0;

    /// The code of element `i` (r * cols + c) under `values`; for a codebook matrix the
    /// value of its entry.
    double CodeAt(const double* values, size_t i) const;
    /// Q4_R16_G32_CB: the index (into `entries`) of the entry element `i` uses under
    /// `values`.
    size_t EntryIndexAt(const double* values, size_t i) const;
  };

 private:
  DistillModel() = default;
  // Fills `dense` from `values`, the blocks split over `threads` threads.
  template <typename Real>
  void BuildWeights(const std::vector<double>& values, size_t threads,
                    std::vector<std::vector<Real>>* dense) const;
  template <typename Real>
  absl::StatusOr<double> Pass(const std::vector<double>& values, const int32_t* tokens,
                              size_t T, const float* teacher_logits, std::vector<double>* grad,
                              const std::vector<std::vector<Real>>& dense) const;

  SourceConfig config_;
  std::vector<Block> blocks_;
  std::vector<double> initial_, units_;
  // Per value, the precision it is stored in (see Round).
  enum class Precision : uint8_t { kF32, kF16, kInt8 };
  std::vector<Precision> precision_;
  std::vector<size_t> moment_group_;
  // Dense weights by tensor name (in double or float, see double_precision), rebuilt
  // from the values before each pass.
  bool double_ = false;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> dense_;
  std::vector<std::vector<float>> dense_f_;
};

/// Tunes `tensors` (the converted model: F32 norms and matrices, Q8_C, Q4_G in
/// Q4_R16_G32, Q4_R16_G32_SYM, Q4_R16_G32_CB, Q3_R16_G32, Q3_R16_G64 or Q4_ROW_GROUPS,
/// Q4_G_SP24 in Q4_SP24_R16_G64) towards the f32
/// `teacher` (same names and config, data present) on the calibration `sequences` (token
/// ids; cut into options.window tokens, pieces shorter than 2 tokens dropped), and writes
/// the tuned values (and, with train_codes, codes) back into their bytes. Tensors of other
/// dtypes or layouts (and F32 matrices) are used as stored but not tuned. When tuning does
/// not lower the KL on the calibration sequences, `tensors` are left unchanged (kl_after =
/// kl_before). Updates quant_rel_rms_error of the tuned matrices. Memory: the teacher's
/// logits for all sequences (positions * vocab floats) plus one forward tape. Fails on
/// inconsistent tensors, bad token ids, or no usable sequence.
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
