#include "tools/convert/tokenizer/chat_detect.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kite::convert {

absl::StatusOr<ChatFormat> ParseChatFormatName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (ChatFormat f : schema::EnumValuesChatFormat()) {
    if (lower == ChatFormatName(f)) return f;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown chat format '", name, "' (expected none, llama2, llama3, chatml, phi3 or gemma)"));
}

ChatFormat DetectChatFormatFromTemplate(absl::string_view t) {
  if (absl::StrContains(t, "<|start_header_id|>")) return ChatFormat::LLAMA3;
  if (absl::StrContains(t, "<|im_start|>")) return ChatFormat::CHATML;
  if (absl::StrContains(t, "<start_of_turn>")) return ChatFormat::GEMMA;
  if (absl::StrContains(t, "<|user|>") && absl::StrContains(t, "<|end|>")) {
    return ChatFormat::PHI3;
  }
  if (absl::StrContains(t, "[INST]")) return ChatFormat::LLAMA2;
  return ChatFormat::NONE;
}

}  // namespace kite::convert
