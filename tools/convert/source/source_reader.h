// One interface over every converter input: a llama2.c checkpoint, a GGUF file, a Hugging
// Face folder, a synthetic shape, or (--vocab-only) a vocabulary alone. Each reader yields
// the same description (config, tokenizer, chat template, provenance) and its tensors,
// read one at a time or all at once; tools/convert/pipeline.h turns that into a .kite file.
// Host tools only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/convert/cli_options.h"
#include "tools/convert/source/source_model.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// What every input yields besides its tensors.
struct SourceDescription {
  /// The architecture. For a vocabulary alone: architecture "" and vocab_size only.
  SourceConfig config;
  TokenizerTables tokenizer;       ///< finalized; pieces match config.vocab_size
  std::string chat_template;       ///< the input's Jinja chat template; "" when none
  /// False when the chat format must stay NONE whatever the options say (synthetic
  /// models); true: --chat-format, else the template, else the vocabulary decides.
  bool detect_chat_format = true;
  std::string architecture_name;   ///< e.g. "Qwen2ForCausalLM" (Hugging Face only), for the log
  std::string source;              ///< provenance: the input's name (base name)
  std::string source_format;       ///< provenance: "llama2c", "gguf", "huggingface", ...
  /// A tokenizer file read beside the input (llama2.c tokenizer.bin, given or found); "".
  std::string tokenizer_path;
  /// Every file read; the output must not be one of them.
  std::vector<std::string> input_files;
  bool vocab_only = false;  ///< a vocabulary alone: no tensors
};

/// An opened input. Not copyable; used by one thread except Load() (see ParallelLoads).
class SourceReader {
 public:
  virtual ~SourceReader() = default;
  SourceReader(const SourceReader&) = delete;
  SourceReader& operator=(const SourceReader&) = delete;

  /// The config, tokenizer, chat template and provenance.
  const SourceDescription& description() const { return description_; }

  /// Names and shapes of the tensors in SourceModel order (their data may be absent);
  /// empty for a vocabulary alone.
  virtual const std::vector<SourceTensor>& tensors() const = 0;

  /// Reads tensor `index` of tensors() as f32 into *out. Errors name the tensor. May be
  /// called from several threads at once.
  virtual absl::Status Load(size_t index, SourceTensor* out) const = 0;

  /// True when Load() is computation that gains from several threads (generated
  /// weights): the pipeline then loads and converts on --threads threads.
  virtual bool ParallelLoads() const { return false; }

  /// True when the input was read whole when opened (llama2.c, GGUF): the pipeline then
  /// always converts the whole model (TakeModel) instead of one tensor at a time.
  virtual bool HoldsWholeModel() const { return false; }

  /// The whole model in f32, for calibration and the other whole-model steps: moved out
  /// when held, else every tensor Load()ed. Call at most once; tensors() and Load() are
  /// not usable afterwards.
  virtual absl::StatusOr<SourceModel> TakeModel();

 protected:
  SourceReader() = default;
  SourceDescription description_;
};

/// A command-line problem that depends on the input (--tokenizer with a GGUF file, an
/// output that is the input or the --tokenizer file): the message for the user, who gets
/// exit status 2; "" when there is none. Looks at the input's format only.
std::string InputUsageProblem(const CliOptions& options);

/// True when `path` is one of description.input_files (the same file: device and inode).
bool IsInputFile(const SourceDescription& description, const std::string& path);

/// Opens the input `options` name: --synthetic NAME, or options.input (its format
/// detected; with --vocab-only a GGUF file, a tokenizer.json or a folder holding one),
/// reading what the format needs up front and logging progress on stderr. Errors are
/// meant for the user (exit status 1): an unsupported or damaged input, a missing
/// tokenizer, ...
absl::StatusOr<std::unique_ptr<SourceReader>> OpenSource(const CliOptions& options);

}  // namespace kite::convert
