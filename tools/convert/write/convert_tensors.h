// Turns source f32 tensors into stored .kite tensors: f32 as is, or Q4_G for 2-D weights
// (Q8_C for the ones kept at 8 bits; norm vectors always stay f32). Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/write/kite_writer.h"
#include "tools/convert/compress/quantize.h"
#include "tools/convert/source/source_model.h"

namespace kite::convert {

class CalibrationStats;  // tools/convert/compress/calibration.h

/// How weights are stored.
enum class QuantMode {
  kF32,  ///< every tensor f32
  kQ4,   ///< 2-D weights Q4_G (Q4_ROW_GROUPS) or Q8_C (keep_8bit), vectors f32
  kQ8,   ///< 2-D weights Q8_C (int8, one f32 scale per row), vectors f32
};

/// Tensors kept at 8 bits in q4 mode unless told otherwise: the token embedding (which is
/// also the classifier when tied) and the output head, the most sensitive weights.
inline const std::vector<std::string>& DefaultKeep8Bit() {
  static const std::vector<std::string> names = {"tok_embeddings", "output"};
  return names;
}

/// Short name of a mode as the command line spells it ("f32", "q4").
const char* QuantModeName(QuantMode mode);

/// Conversion settings.
struct ConvertOptions {
  QuantMode quant = QuantMode::kF32;
  uint32_t group_size = 32;  ///< Q4_G group size (32, 64 or 128); ignored for f32
  /// q4 mode: asymmetric groups (f16 scale + f16 min, 5 bits/weight) when true; scale
  /// only (4.5 bits/weight) when false.
  bool q4_asymmetric = true;
  /// q4 mode, symmetric groups: how each group's scale is chosen.
  ScaleRule q4_scale_rule = ScaleRule::kSearch;
  /// q4 mode with group_size 32: store the kernels' packed layout Q4_R16_G32 (blocks of 16
  /// rows, scales and offsets beside their nibbles) when true; the plain row-group layout
  /// (Q4_ROW_GROUPS, read by the reference kernels only) when false. Other group sizes
  /// always use row groups.
  bool q4_packed = true;
  /// q4 mode, packed, symmetric groups: store the offset-free Q4_R16_G32_SYM (4.5 bits/weight)
  /// instead of Q4_R16_G32 with o = -8 d (5 bits/weight). Off by default until every
  /// reader of packed tensors in the tools (distillation) supports it.
  bool q4_offset_free = false;
  /// q4 mode, packed (group 32): store Q4_G matrices as Q4_R16_G32_CB, each with a learned
  /// codebook (compress/codebook.h), its k-means weighted by the calibration's input
  /// E[x^2] when `calibration` has the matrix's statistics; with `gptq` as well, their
  /// codes are then chosen by GptqCodebookCodes (compress/gptq.h).
  bool q4_codebook = false;
  /// q4 mode: names of 2-D tensors stored as Q8_C (int8, per-row f32 scale) instead.
  std::vector<std::string> keep_8bit = DefaultKeep8Bit();
  /// q4 mode: names of 2-D tensors stored as f32 instead (for sensitivity measurements:
  /// one tensor quantized, the rest exact). Wins over every other precision option.
  std::vector<std::string> keep_f32;
  /// q4 mode: names of 2-D tensors stored as 3-bit symmetric groups of 32 (Q3_R16_G32,
  /// 3.5 bits/weight; GPTQ with `calibration` and `gptq` as for Q4_G), whatever
  /// group_size says (--bpw picks them among the least sensitive). keep_8bit wins.
  std::vector<std::string> q3;
  /// q4 mode: names of 2-D tensors stored as 3-bit symmetric groups of 64 (Q3_R16_G64,
  /// 3.25 bits/weight; GPTQ as for q3), whatever group_size says (--bpw --bpw-3bit picks
  /// them among the least sensitive when 3.5 bits/weight do not fit). Wins over q3;
  /// keep_8bit wins over both.
  std::vector<std::string> q3_g64;
  /// q4 mode, --bpw: the budget may also store matrices at 3 bits (see q3 and
  /// ChooseMixedPrecision). Not with sparse_24.
  bool bpw_q3 = false;
  /// q4 mode: (tensor name, group size) pairs overriding `group_size` for those tensors
  /// (--bpw picks coarser groups for the least sensitive ones).
  std::vector<std::pair<std::string, uint32_t>> group_size_for;
  /// q4 mode: per-layer input statistics from calibration (not owned; must outlive the
  /// conversion), or null. When set and `gptq` is true, every Q4_G matrix that has
  /// statistics, except the token embedding, is quantized with GPTQ (gptq.h).
  const CalibrationStats* calibration = nullptr;
  bool gptq = true;  ///< see `calibration`
  /// GPTQ also for the tied token embedding, against the statistics of its use as the
  /// classifier (its lookup has none, so the lookup rows take whatever error that adds).
  bool gptq_tied_embedding = false;
  /// GPTQ: weights that are exactly 0 are pruned ones and stay at the group's value
  /// nearest 0 (set after pruning; see GptqOptions::keep_zeros).
  bool gptq_keep_zeros = false;
  bool gptq_act_order = false;  ///< GPTQ: see GptqOptions::act_order
  /// q4 mode: store the layers' weight matrices (IsPrunableWeight, not in keep_8bit) as 2:4
  /// sparse Q4_G_SP24 (layout Q4_SP24_R16_G64, its own group of 64; 3.25 bits/weight). A matrix
  /// that is not 2:4 sparse yet is pruned to 2:4 first: by |W| * ||X_j|| when `calibration`
  /// has its statistics (Wanda), else by |W|. Its kept values are quantized symmetric
  /// 4-bit with a searched scale per row and 64 columns (sdk/kernels/qd8-q4sp24-gemm/pack.h).
  bool sparse_24 = false;
};

/// Receives progress while tensors convert. Default methods do nothing.
class ConvertProgress {
 public:
  virtual ~ConvertProgress() = default;
  /// Tensor `index` (0-based) of `total` starts; it will be stored as `dtype`.
  virtual void Begin(size_t index, size_t total, const SourceTensor& source, DType dtype) {}
  /// Tensor `index` of `total` is done.
  virtual void End(size_t index, size_t total, const KiteTensor& stored) {}
};

/// The dtype `source` gets under `options`: F32 for vectors, in f32 mode and for names in
/// keep_f32, Q8_C in q8 mode and for names in keep_8bit, Q4_G_SP24 for the layers' matrices with sparse_24, else
/// Q4_G.
DType StoredDType(const SourceTensor& source, const ConvertOptions& options);

/// Converts one tensor, filling quant_rel_rms_error (0 for f32). Fails on a non-finite
/// value or an unsupported shape; the error names the tensor. `restored`, when not null,
/// receives the values the stored tensor holds, as f32 (the source values for f32).
absl::StatusOr<KiteTensor> ConvertTensor(const SourceTensor& source, const ConvertOptions& options,
                                         std::vector<float>* restored = nullptr);

/// Converts every tensor of `source` in order, reporting to `progress` (may be null). Each
/// source tensor's data is released once converted, so peak memory stays near one copy of
/// the model; `source->tensors` keep their names and shapes.
absl::StatusOr<std::vector<KiteTensor>> ConvertTensors(SourceModel* source,
                                                       const ConvertOptions& options,
                                                       ConvertProgress* progress);

/// Reads tensor `index` (0-based, in the order of the shapes) into *out as f32: its name,
/// shape and data. Called from several threads at once.
using TensorLoader = std::function<absl::Status(size_t index, SourceTensor* out)>;

/// Loads and converts the tensors `shapes` names (names and shapes; their data is ignored)
/// on up to `threads` threads (0: one per CPU). Each worker loads one tensor with `load`,
/// converts it with ConvertTensor and frees the f32 values, so peak memory is the converted
/// model plus about two f32 copies of the tensors in flight. The result is in the order of
/// `shapes` and does not depend on `threads`. `progress` (may be null) is called under a
/// lock, possibly out of order, from the worker threads. The first error stops the work.
absl::StatusOr<std::vector<KiteTensor>> ConvertTensorsInParallel(
    const std::vector<SourceTensor>& shapes, const TensorLoader& load,
    const ConvertOptions& options, ConvertProgress* progress, unsigned threads);

}  // namespace kite::convert
