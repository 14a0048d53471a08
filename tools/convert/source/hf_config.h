// Hugging Face model folders: config.json -> SourceConfig, plus what generation_config.json
// and tokenizer_config.json say about special tokens and the chat template. Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/common/json.h"
#include "tools/convert/source/source_model.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// Model classes ("architectures" in config.json) the importer reads.
enum class HfArchitecture {
  kLlama,  ///< LlamaForCausalLM: Llama 2/3/3.1/3.2, TinyLlama, SmolLM/SmolLM2
  kQwen2,  ///< Qwen2ForCausalLM: like Llama, plus q/k/v biases
};

/// Special tokens and chat template gathered from the folder's JSON files. Ids not given
/// stay -1 / empty; token texts are resolved against the vocabulary later.
struct HfTokenHints {
  int32_t bos_id = -1;               ///< config.json / generation_config.json bos_token_id
  std::vector<int32_t> eos_ids;      ///< every eos_token_id seen (int or list), in order
  std::string bos_token;             ///< tokenizer_config.json bos_token text
  std::string eos_token;             ///< tokenizer_config.json eos_token text
  std::string chat_template;         ///< tokenizer_config.json chat_template ("default" entry)
};

/// What config.json describes.
struct HfConfig {
  HfArchitecture architecture = HfArchitecture::kLlama;
  std::string architecture_name;  ///< as written, e.g. "LlamaForCausalLM"
  SourceConfig config;            ///< architecture "llama"; biases/rope scaling as flags
  HfTokenHints hints;
};

/// Interprets a parsed config.json. Required keys: "architectures" (or "model_type"),
/// hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, vocab_size,
/// max_position_embeddings. Defaults as in transformers: num_key_value_heads =
/// num_attention_heads, head_dim = hidden_size / num_attention_heads, rms_norm_eps 1e-6,
/// rope_theta 10000, tie_word_embeddings false. Unsupported settings fail with
/// Unimplemented naming the key and its value (another architecture, rope_scaling other than
/// "llama3"/"default", attention_bias or mlp_bias on Llama, hidden_act other than "silu",
/// sliding windows, partial rotary); wrong types or values fail with InvalidArgument.
/// Every message starts with `name_for_errors`. Pure function, thread-safe.
absl::StatusOr<HfConfig> ParseHfConfig(const json::Value& config, absl::string_view name_for_errors);

/// Adds bos/eos ids from a parsed generation_config.json.
absl::Status ApplyGenerationConfig(const json::Value& generation, absl::string_view name_for_errors,
                                   HfTokenHints* hints);

/// Adds bos/eos token texts and the chat template from a parsed tokenizer_config.json.
/// "chat_template" may be a string or a list of {"name", "template"} (the "default" one is
/// taken, else the first).
absl::Status ApplyTokenizerConfig(const json::Value& tokenizer_config,
                                  absl::string_view name_for_errors, HfTokenHints* hints);

/// Reads FOLDER/config.json and, when present, generation_config.json and
/// tokenizer_config.json. Errors name the file.
absl::StatusOr<HfConfig> ReadHfConfig(const std::string& folder);

/// End-of-turn tokens that ApplyTokenHints adds to the stop ids when the vocabulary has
/// them: <|eot_id|> (Llama 3), <|im_end|> (ChatML), <|end|> (Phi-3), <end_of_turn> (Gemma),
/// </s> (Llama 2).
const std::vector<std::string>& EndOfTurnPieces();

/// Applies the hints to a (finalized) tokenizer: bos_id when given, in range and the
/// tokenizer starts prompts with BOS (add_bos); every
/// eos id in range and the eos_token text's id become stop ids (the first eos id also
/// eos_id); so do the EndOfTurnPieces() present in the vocabulary. Ids outside the
/// vocabulary are skipped with a warning in *warnings. Re-finalizes the tables.
void ApplyTokenHints(const HfTokenHints& hints, TokenizerTables* tables,
                     std::vector<std::string>* warnings);

/// `folder` + "/" + `name` (no doubled slash).
std::string JoinPath(const std::string& folder, const std::string& name);

}  // namespace kite::convert
