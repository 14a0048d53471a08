// Synthetic models for `kite-convert --synthetic NAME`: random weights at the shapes of real
// models (TinyLlama, SmolLM, Llama 3.2, Qwen 2.5, stories260K), with a synthetic tokenizer,
// so benchmarks run at realistic sizes without downloading anything. Host tools only.
//
// The weights are deterministic: every tensor's values depend only on the seed and the
// tensor's name, so a tensor can be generated alone (lazily, on any thread) and the same
// seed always gives the same file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/write/convert_tensors.h"
#include "tools/convert/write/kite_writer.h"
#include "tools/convert/source/source_model.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// Standard deviation of the synthetic matrix weights (norm vectors are all 1.0).
inline constexpr float kSyntheticWeightStd = 0.02f;

/// Smallest vocabulary a synthetic tokenizer can have: 3 control tokens and 256 byte tokens.
inline constexpr int64_t kSyntheticMinVocab = 3 + 256;
/// Largest vocabulary accepted (the runtime's limit).
inline constexpr int64_t kSyntheticMaxVocab = int64_t{1} << 22;

/// The known shape names, in the order --help lists them.
const std::vector<std::string>& SyntheticModelNames();

/// One line per known shape ("name: dims ...; note"), for --help and error messages.
std::string SyntheticModelTable();

/// The architecture config of the named shape, without generating anything.
/// `vocab_override` > 0 replaces the model's vocabulary size (kSyntheticMinVocab ..
/// kSyntheticMaxVocab). Fails with InvalidArgument for an unknown name (the message lists
/// the known names) or a vocabulary out of range.
absl::StatusOr<SourceConfig> SyntheticConfig(const std::string& name, int64_t vocab_override);

/// The tensors of a model with `config`, in SourceModel order, with names and shapes but
/// no data (call FillSyntheticTensor to generate a tensor's values).
std::vector<SourceTensor> SyntheticTensorShapes(const SourceConfig& config);

/// Fills `tensor->data` (tensor->elements() values) with its synthetic values: 1.0 for
/// vectors (norm weights), otherwise roughly normal values with mean 0 and standard
/// deviation kSyntheticWeightStd from a counter-based generator keyed by `seed` and the
/// tensor's name. Deterministic and independent of the order tensors are filled in.
void FillSyntheticTensor(uint64_t seed, SourceTensor* tensor);

/// The whole named model with every weight generated (f32, in memory). Fine for small
/// shapes; for large ones prefer SyntheticConfig + SyntheticTensorShapes and
/// ConvertSyntheticTensors, which generate one tensor at a time.
absl::StatusOr<SourceModel> MakeSyntheticModel(const std::string& name, int64_t vocab_override,
                                               uint64_t seed);

/// A SentencePiece-style (SCORE_BPE) tokenizer of exactly `vocab_size` pieces
/// (>= kSyntheticMinVocab): ids 0..2 are <unk> (UNKNOWN), <s> (CONTROL, BOS) and </s>
/// (CONTROL, EOS, the stop token); ids 3..258 are the byte tokens <0x00>..<0xFF> (BYTE);
/// the rest are distinct printable ASCII strings (every single character first, then
/// every pair, then triples, ...) with decreasing scores. Finalized.
TokenizerTables MakeSyntheticTokenizer(uint32_t vocab_size);

/// Generates and converts `shapes` (as from SyntheticTensorShapes; their data is ignored)
/// with `seed`, on up to `threads` threads (0: one per CPU). Each worker generates one
/// tensor, converts it with ConvertTensor and frees the f32 values, so peak memory is the
/// converted model plus about two f32 copies of the tensors in flight. The result is in
/// the order of `shapes` and does not depend on `threads`. `progress` (may be null) is
/// called under a lock, possibly out of order, from the worker threads.
absl::StatusOr<std::vector<KiteTensor>> ConvertSyntheticTensors(
    const std::vector<SourceTensor>& shapes, uint64_t seed, const ConvertOptions& options,
    ConvertProgress* progress, unsigned threads);

}  // namespace kite::convert
