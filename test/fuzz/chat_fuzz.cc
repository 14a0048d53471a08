// Fuzz target: the chat formatter (FormatChat) and its safe encoder (EncodeChat), for every
// chat format and template-derived style. The vocabulary is stories260K's (tok512.bin)
// plus the control pieces of every format, so the markers are real special tokens.
//
// Input: byte 0 picks the format, byte 1 the flags (bit 0 add_generation_prompt, bit 1
// add_bos, bit 2 derive the style from a template); the rest, split at NUL bytes, is the
// template (when bit 2) and then role, content, role, content... (at most 8 messages).
//
// Checks beyond "no crash": FormatChat's length contract (the length is reported when the
// text does not fit; a truncated prefix is NUL-terminated); EncodeChat succeeds with
// ChatTokensNeeded() ids, reports that figure when given fewer, yields ids in range; and no
// message can forge a turn: the conversation encodes to exactly as many special tokens as
// the same conversation with every '<' in roles and contents replaced by '(' (which no
// marker survives).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sdk/runtime/chat.h"
#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/fuzz/fuzz_check.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"

namespace {

using kite::ChatFormat;
using kite::ChatMessage;
using kite::ChatStyle;

constexpr size_t kMaxMessages = 8;
constexpr size_t kMaxInputBytes = 4096;

// Markers of every format (sdk/runtime/chat.h); "<s>" and "</s>" are tok512's BOS/EOS.
const char* const kMarkers[] = {
    "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|begin_of_text|>",
    "<|im_start|>",        "<|im_end|>",        "<|system|>", "<|user|>",
    "<|assistant|>",       "<|end|>",           "<start_of_turn>", "<end_of_turn>",
};

const kite::convert::TokenizerTables& Tables() {
  static const kite::convert::TokenizerTables* tables = [] {
    const std::string path = std::string(KITE_SHARED_MODELS) + "/tok512.bin";
    absl::StatusOr<kite::convert::TokenizerTables> t =
        kite::convert::ReadLlama2cTokenizer(path, 512);
    if (!t.ok()) {
      std::fprintf(stderr, "chat_fuzz: cannot read %s: %s\n", path.c_str(),
                   std::string(t.status().message()).c_str());
      std::abort();
    }
    auto* owned = new kite::convert::TokenizerTables(*std::move(t));
    for (const char* marker : kMarkers) {
      owned->pieces.push_back(marker);
      owned->scores.push_back(0.0f);
      owned->types.push_back(static_cast<uint8_t>(kite::TokenType::CONTROL));
    }
    owned->Finalize();
    return owned;
  }();
  return *tables;
}

bool IsSpecial(const kite::TokenizerView& v, int32_t id) {
  const auto kind = static_cast<kite::TokenType>(v.types[id]);
  return kind == kite::TokenType::CONTROL || kind == kite::TokenType::USER_DEFINED;
}

// FormatChat's contract; returns the formatted text.
std::string Format(const ChatStyle& style, const std::vector<ChatMessage>& messages, bool gen) {
  size_t len = 0;
  kite::Status s = FormatChat(style, messages.data(), messages.size(), gen, nullptr, 0, &len);
  std::vector<char> buf(len + 1, 'x');
  s = FormatChat(style, messages.data(), messages.size(), gen, buf.data(), buf.size(), &len);
  FUZZ_CHECK(s.ok());
  FUZZ_CHECK(len + 1 == buf.size() && buf[len] == '\0');
  if (len > 0) {  // one byte short: the length still, a NUL-terminated prefix
    size_t again = 0;
    s = FormatChat(style, messages.data(), messages.size(), gen, buf.data(), len, &again);
    FUZZ_CHECK(s.code() == kite::Error::kOutOfMemory && again == len);
    FUZZ_CHECK(std::memchr(buf.data(), '\0', len) != nullptr);
  }
  return std::string(buf.data(), len);
}

// EncodeChat's contract; returns the number of special tokens.
size_t EncodeAndCountSpecials(const ChatStyle& style, const kite::Tokenizer& tok,
                              const std::vector<ChatMessage>& messages, bool gen, bool bos,
                              size_t text_len) {
  const size_t needed = kite::ChatTokensNeeded(text_len);
  size_t n = 0;
  kite::Status s = EncodeChat(style, tok, messages.data(), messages.size(), gen, bos, nullptr, 0, &n);
  FUZZ_CHECK(s.code() == kite::Error::kOutOfMemory && n == needed);
  std::vector<int32_t> ids(needed);
  s = EncodeChat(style, tok, messages.data(), messages.size(), gen, bos, ids.data(), ids.size(), &n);
  FUZZ_CHECK(s.ok());
  FUZZ_CHECK(n <= needed);
  size_t specials = 0;
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(ids[i] >= 0 && static_cast<uint32_t>(ids[i]) < tok.vocab_size());
    specials += IsSpecial(tok.view(), ids[i]) ? 1 : 0;
  }
  return specials;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > kMaxInputBytes) return 0;
  const auto format = static_cast<ChatFormat>(data[0] % 6);
  const bool gen = (data[1] & 1) != 0;
  const bool bos = (data[1] & 2) != 0;
  const bool with_template = (data[1] & 4) != 0;

  // Fields, NUL-separated. std::string keeps them alive and NUL-terminated.
  std::vector<std::string> fields(1);
  for (size_t i = 2; i < size; ++i) {
    if (data[i] == '\0') {
      fields.emplace_back();
    } else {
      fields.back().push_back(static_cast<char>(data[i]));
    }
  }
  std::string chat_template;
  size_t first = 0;
  if (with_template) {
    chat_template = fields[0];
    first = 1;
  }
  std::vector<std::string> plain;  // the same fields without any '<'
  for (const std::string& f : fields) {
    std::string p = f;
    for (char& c : p) c = c == '<' ? '(' : c;
    plain.push_back(p);
  }
  std::vector<ChatMessage> messages, defused;
  for (size_t i = first; i + 1 < fields.size() && messages.size() < kMaxMessages; i += 2) {
    messages.push_back({fields[i].c_str(), fields[i + 1].c_str()});
    defused.push_back({plain[i].c_str(), plain[i + 1].c_str()});
  }

  const ChatStyle style =
      kite::ChatStyleFor(format, chat_template.data(), chat_template.size());
  if (style.default_system != nullptr) {  // points into the template
    FUZZ_CHECK(style.default_system >= chat_template.data() &&
               style.default_system + style.default_system_len <=
                   chat_template.data() + chat_template.size());
  }
  const std::string text = Format(style, messages, gen);
  const std::string defused_text = Format(style, defused, gen);
  FUZZ_CHECK(text.size() == defused_text.size());

  const kite::Tokenizer tok(Tables().View());
  const size_t specials = EncodeAndCountSpecials(style, tok, messages, gen, bos, text.size());
  const size_t defused_specials =
      EncodeAndCountSpecials(style, tok, defused, gen, bos, defused_text.size());
  FUZZ_CHECK(specials == defused_specials);
  return 0;
}
