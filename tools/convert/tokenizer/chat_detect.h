// Choosing a model's chat format (kite.schema.ChatFormat) at convert time, from its chat
// template text or, failing that, from its architecture and vocabulary. Host tools only.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sdk/format/format.h"

namespace kite::convert {

// Formats are kite::ChatFormat (sdk/format/format.h, from sdk/schema/kite.fbs); their
// names are ChatFormatName()'s.

/// Parses a --chat-format value (one of the names above, case-insensitive).
/// InvalidArgument listing the accepted names otherwise.
absl::StatusOr<ChatFormat> ParseChatFormatName(absl::string_view name);

/// The format a Jinja chat template produces, recognized by its markers, checked in this
/// order: "<|start_header_id|>" -> LLAMA3, "<|im_start|>" -> CHATML, "<start_of_turn>" ->
/// GEMMA, "<|user|>" together with "<|end|>" -> PHI3, "[INST]" -> LLAMA2; else NONE
/// (also for an empty template).
ChatFormat DetectChatFormatFromTemplate(absl::string_view chat_template);

/// Fallback when there is no template: a vocabulary that has the format's own special
/// tokens (has_piece answers "is this exact piece in the vocabulary?"): "<|start_header_id|>"
/// -> LLAMA3, "<|im_start|>" -> CHATML, "<start_of_turn>" -> GEMMA, "<|user|>" and
/// "<|end|>" -> PHI3; else NONE (base models, llama2.c models).
template <typename HasPiece>
ChatFormat DetectChatFormatFromVocabulary(const HasPiece& has_piece) {
  if (has_piece("<|start_header_id|>")) return ChatFormat::LLAMA3;
  if (has_piece("<|im_start|>")) return ChatFormat::CHATML;
  if (has_piece("<start_of_turn>")) return ChatFormat::GEMMA;
  if (has_piece("<|user|>") && has_piece("<|end|>")) return ChatFormat::PHI3;
  return ChatFormat::NONE;
}

}  // namespace kite::convert
