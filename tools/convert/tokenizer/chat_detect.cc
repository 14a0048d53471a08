#include "tools/convert/tokenizer/chat_detect.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kite::convert {

const char* ChatFormatName(ChatFormatId format) {
  switch (format) {
    case ChatFormatId::kNone: return "none";
    case ChatFormatId::kLlama2: return "llama2";
    case ChatFormatId::kLlama3: return "llama3";
    case ChatFormatId::kChatMl: return "chatml";
    case ChatFormatId::kPhi3: return "phi3";
    case ChatFormatId::kGemma: return "gemma";
  }
  return "none";
}

absl::StatusOr<ChatFormatId> ParseChatFormatName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (ChatFormatId f : {ChatFormatId::kNone, ChatFormatId::kLlama2, ChatFormatId::kLlama3,
                         ChatFormatId::kChatMl, ChatFormatId::kPhi3, ChatFormatId::kGemma}) {
    if (lower == ChatFormatName(f)) return f;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown chat format '", name, "' (expected none, llama2, llama3, chatml, phi3 or gemma)"));
}

ChatFormatId DetectChatFormatFromTemplate(absl::string_view t) {
  if (absl::StrContains(t, "<|start_header_id|>")) return ChatFormatId::kLlama3;
  if (absl::StrContains(t, "<|im_start|>")) return ChatFormatId::kChatMl;
  if (absl::StrContains(t, "<start_of_turn>")) return ChatFormatId::kGemma;
  if (absl::StrContains(t, "<|user|>") && absl::StrContains(t, "<|end|>")) {
    return ChatFormatId::kPhi3;
  }
  if (absl::StrContains(t, "[INST]")) return ChatFormatId::kLlama2;
  return ChatFormatId::kNone;
}

}  // namespace kite::convert
