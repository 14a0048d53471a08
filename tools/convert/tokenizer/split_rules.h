// Pre-tokenizers as split patterns: the stage lists that tokenizer.json pre_tokenizers and
// llama.cpp's `tokenizer.ggml.pre` names stand for, and the choice between a built-in
// hand-written splitter (sdk/runtime/tokenizer/pretokenizer.h, when the stages are exactly
// one of those) and compiled SPLIT programs. Host tools only.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// GPT-2's split pattern (also ByteLevel's with use_regex), as tokenizer.json spells it.
extern const char kGpt2SplitRegex[];

/// One split stage as the source gives it: a regular expression and its options.
struct SplitStageSource {
  std::string pattern;
  SplitBehavior behavior = SplitBehavior::ISOLATED;
  bool invert = false;
};

/// A pre-tokenizer ready for TokenizerTables: a built-in kind, or SPLIT with its programs.
struct PreTokenizerChoice {
  PreTokenizerType kind = PreTokenizerType::NONE;
  std::vector<SplitRuleTables> rules;  ///< kind SPLIT only
};

/// The built-in kind when `stages` are exactly one built-in splitter's (GPT2, LLAMA3, QWEN2,
/// SMOLLM; none for no stages) and `builtin_allowed`, else the compiled stages. Fails naming
/// the stage and the construct when a pattern is not supported, or when there are more than
/// kMaxSplitStages.
absl::StatusOr<PreTokenizerChoice> ChoosePreTokenizer(const std::vector<SplitStageSource>& stages,
                                                      bool builtin_allowed = true);

/// What a llama.cpp `tokenizer.ggml.pre` name stands for.
struct GgufPreTokenizer {
  std::vector<SplitStageSource> stages;
  bool ignore_merges = false;  ///< llama.cpp sets it for the Llama 3 family and tekken
};

/// The stages of the GGUF pre-tokenizer `name`, or NotFound listing the supported names.
absl::StatusOr<GgufPreTokenizer> GgufPreTokenizerStages(const std::string& name);

/// Every name GgufPreTokenizerStages knows, in table order (for tests and docs).
std::vector<std::string> GgufPreTokenizerNames();

}  // namespace kite::convert
