// Hugging Face tokenizer.json (the `tokenizers` library's format) as Kite tokenizer tables.
// Host tools only.
//
// Supported: model.type "BPE" in two flavours.
//   - Byte-level (GPT-2, Llama 3, Qwen2, SmolLM-style files): pre_tokenizer ByteLevel with
//     use_regex (the GPT-2 split), or a Sequence of Split / Digits / Punctuation / ByteLevel
//     stages (built-in splitters when they are exactly GPT-2's, Llama 3's, Qwen2's or
//     SmolLM's, else compiled split programs). ByteLevel add_prefix_space is recorded as the
//     stage before which pieces get a leading space. Becomes BYTE_BPE.
//   - SentencePiece-style (Llama 2, TinyLlama): byte_fallback and "▁" for spaces (a
//     Metaspace pre-tokenizer, or Prepend/Replace "▁" normalizers). Becomes SCORE_BPE with
//     score = -(rank of the merge that makes the piece), so the highest score is the first
//     merge; pieces no merge makes never merge.
// added_tokens become CONTROL ("special": true) or USER_DEFINED pieces (byte-level: matched
// in the text, in the raw text when "normalized": false). Merges may be "left right" strings
// or [left, right] pairs. Byte-level normalizers (NFC, NFKC, NFD, NFKD, Lowercase, Strip,
// literal Replace, Prepend, Sequences) are recorded and applied by the runtime encoder.
// Anything else (WordPiece, Unigram, an unsupported regex, two ByteLevels with
// add_prefix_space, other normalizers or a regex Replace with byte-level BPE) is a clear
// error.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/common/json.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// Reads `folder`/tokenizer.json and, when present, `folder`/tokenizer_config.json (for
/// bos_token, eos_token, unk_token and add_bos_token), and fills *out with finalized
/// tables. Without a config, BOS/EOS are guessed from well-known special tokens
/// ("<s>"/"</s>", "<|begin_of_text|>"/"<|end_of_text|>", "<|endoftext|>"), and add_bos
/// follows the post_processor (a TemplateProcessing that starts with BOS) or, for
/// SentencePiece-style files, defaults to true. End-of-turn tokens ("<|eot_id|>",
/// "<|im_end|>", "<|end|>", "<end_of_turn>") that exist as special tokens join the stop ids.
/// Errors (NotFound, InvalidArgument, Unimplemented) name the file and the field.
absl::Status LoadHfTokenizer(const std::string& folder, TokenizerTables* out);

/// As LoadHfTokenizer, for a path that is either a folder holding tokenizer.json or the
/// tokenizer.json file itself (then tokenizer_config.json is looked for beside it).
absl::StatusOr<TokenizerTables> LoadHfTokenizerFromPath(const std::string& path);

/// Builds tables from already parsed documents (`config` may be null). `name_for_errors`
/// prefixes messages. Used by the loaders above and by the fuzz target.
absl::StatusOr<TokenizerTables> HfTokenizerFromJson(const json::Value& tokenizer,
                                                    const json::Value* config,
                                                    const std::string& name_for_errors);

}  // namespace kite::convert
