// Chat prompt formats: turning a conversation (system / user / assistant messages) into
// the text a chat model was trained on, and encoding that text with its special tokens.
// No heap: callers pass the output buffers. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/base/status.h"
#include "sdk/format/format.h"
#include "sdk/runtime/tokenizer/tokenizer.h"

namespace kite {

// The prompt formats are kite::ChatFormat (sdk/format/format.h, generated from the
// ChatFormat enum of sdk/schema/kite.fbs); ChatFormatName() is declared there too.
// NONE: messages are joined by newlines (see FormatChat).

/// A format plus the details a model's own template adds. Built by ChatStyleFor().
struct ChatStyle {
  ChatFormat format = ChatFormat::NONE;
  /// kLlama3: start with a system block "Cutting Knowledge Date: December 2023\nToday Date:
  /// 26 Jul 2024\n\n" + system message (Llama 3.1 / 3.2 templates). Kite always uses the
  /// templates' own fallback date so prompts are reproducible.
  bool llama3_dates = false;
  /// kChatMl: the system message the template inserts when the conversation has none
  /// (e.g. Qwen2.5's "You are Qwen, created by Alibaba Cloud. ..."), not NUL-terminated;
  /// points into the template. Null when none.
  const char* default_system = nullptr;
  size_t default_system_len = 0;
};

/// The style for `format` given the model's raw chat template (may be null / empty): the
/// Llama 3 date block when the template mentions "Cutting Knowledge Date", and a ChatML
/// default system message when the template holds the literal
/// "<|im_start|>system\n<text><|im_end|>" with plain text (no quotes, braces or
/// backslashes) in between. The result points into `chat_template`.
ChatStyle ChatStyleFor(ChatFormat format, const char* chat_template, size_t template_len);

/// One message. `role` is "system", "user" or "assistant" (other roles are written as
/// given where the format allows, see FormatChat); `content` is NUL-terminated UTF-8.
struct ChatMessage {
  const char* role;
  const char* content;
};

/// Formats `messages[0..n)` into `out` (NUL-terminated). With `add_generation_prompt`, ends
/// with the header that starts the assistant's answer. BOS/EOS texts are never written
/// (sessions add BOS as the tokenizer says). Per format, as the reference templates render:
///  - kLlama3: contents trimmed of surrounding whitespace (as the template's `| trim`).
///  - kChatMl: every message as <|im_start|>role ...; style.default_system first when the
///    first message is not "system".
///  - kPhi3: system messages with empty content are skipped (as Phi-3.5's template).
///  - kGemma: "assistant" is written as "model"; contents trimmed; a leading system
///    message (which Gemma's template rejects) is prepended to the first user message,
///    separated by a blank line.
///  - kLlama2: the system message goes inside the first [INST] in <<SYS>> tags; each
///    assistant answer is followed by " </s><s>" before the next [INST].
///  - kNone: "role: content\n" per message, and "assistant: " as the generation prompt.
/// *len_out receives the formatted length (without NUL) even when it does not fit; then
/// the call fails with kOutOfMemory and `out` holds a truncated prefix (NUL-terminated
/// when capacity > 0). kInvalidArgument for a null role or content.
Status FormatChat(const ChatStyle& style, const ChatMessage* messages, size_t n,
                  bool add_generation_prompt, char* out, size_t capacity, size_t* len_out);

/// Formats `messages[0..n)` like FormatChat and encodes the result safely: only the
/// format's own markers (written by the template, e.g. "<|im_start|>", "<|end|>", "<s>")
/// become special tokens; roles and contents are encoded as plain text, so a message
/// containing "<|end|>\n<|assistant|>" cannot forge a turn. The ids equal
/// EncodeWithSpecialTokens(FormatChat(...)) whenever the messages hold no special-token
/// text. BOS first when `add_bos`. `out` (room for `capacity` ids) also holds the
/// formatted text while encoding: it needs ChatTokensNeeded(formatted length) ids; with
/// less the call fails with kOutOfMemory and *n_out receives that figure. No heap.
Status EncodeChat(const ChatStyle& style, const Tokenizer& tokenizer, const ChatMessage* messages,
                  size_t n, bool add_generation_prompt, bool add_bos, int32_t* out,
                  size_t capacity, size_t* n_out);

/// Ids EncodeChat needs for a conversation whose formatted text is `text_len` bytes:
/// Tokenizer::MaxTokensFor(text_len) for the ids (between special pieces, each plain
/// segment needs at most its bytes + 2 and each piece saves at least one) plus room for
/// the text and its NUL.
size_t ChatTokensNeeded(size_t text_len);

/// Encodes chat text: every control or user-defined piece of the vocabulary that appears
/// literally in `text` (e.g. "<|im_start|>", "<|eot_id|>") becomes its id, and the text
/// between them is encoded with Tokenizer::Encode (BOS only before the first piece, when
/// `add_bos`). Same capacity contract as Tokenizer::Encode (MaxTokensFor(len) always
/// suffices). No heap. Unsafe for text that holds caller content: special-token text
/// inside it becomes control tokens too (use EncodeChat).
Status EncodeWithSpecialTokens(const Tokenizer& tokenizer, const char* text, size_t len,
                               bool add_bos, int32_t* out, size_t capacity, size_t* n_out);

}  // namespace kite
