// Choosing a model's chat format (kite.schema.ChatFormat) at convert time, from its chat
// template text or, failing that, from its architecture and vocabulary. Host tools only.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kite::convert {

/// Values match kite.schema.ChatFormat and kite_chat_format_id in kite.h.
enum class ChatFormatId : uint8_t {
  kNone = 0,
  kLlama2 = 1,
  kLlama3 = 2,
  kChatMl = 3,
  kPhi3 = 4,
  kGemma = 5,
};

/// Lower-case name as --chat-format spells it: "none", "llama2", "llama3", "chatml",
/// "phi3", "gemma".
const char* ChatFormatName(ChatFormatId format);

/// Parses a --chat-format value (one of the names above, case-insensitive).
/// InvalidArgument listing the accepted names otherwise.
absl::StatusOr<ChatFormatId> ParseChatFormatName(absl::string_view name);

/// The format a Jinja chat template produces, recognized by its markers, checked in this
/// order: "<|start_header_id|>" -> LLAMA3, "<|im_start|>" -> CHATML, "<start_of_turn>" ->
/// GEMMA, "<|user|>" together with "<|end|>" -> PHI3, "[INST]" -> LLAMA2; else NONE
/// (also for an empty template).
ChatFormatId DetectChatFormatFromTemplate(absl::string_view chat_template);

/// Fallback when there is no template: a vocabulary that has the format's own special
/// tokens (has_piece answers "is this exact piece in the vocabulary?"): "<|start_header_id|>"
/// -> LLAMA3, "<|im_start|>" -> CHATML, "<start_of_turn>" -> GEMMA, "<|user|>" and
/// "<|end|>" -> PHI3; else NONE (base models, llama2.c models).
template <typename HasPiece>
ChatFormatId DetectChatFormatFromVocabulary(const HasPiece& has_piece) {
  if (has_piece("<|start_header_id|>")) return ChatFormatId::kLlama3;
  if (has_piece("<|im_start|>")) return ChatFormatId::kChatMl;
  if (has_piece("<start_of_turn>")) return ChatFormatId::kGemma;
  if (has_piece("<|user|>") && has_piece("<|end|>")) return ChatFormatId::kPhi3;
  return ChatFormatId::kNone;
}

}  // namespace kite::convert
