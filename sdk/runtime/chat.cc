#include "sdk/runtime/chat.h"

#include <cstring>

namespace kite {
namespace {

int32_t SpecialAt(const TokenizerView& v, const char* text, size_t avail, size_t* len);

// Turns rendered chat text into ids as it is written (EncodeChat): plain text is encoded
// with Tokenizer::Encode, split only at the special pieces found in template text.
class ChatEncoder {
 public:
  ChatEncoder(const Tokenizer& tokenizer, const char* text, bool add_bos, int32_t* out,
              size_t capacity)
      : tok_(tokenizer), text_(text), bos_(add_bos), out_(out), capacity_(capacity) {}

  // Template text text_[at, at + n), already written: its special pieces become ids.
  void Template(size_t at, size_t n) {
    for (size_t k = 0; k < n && status_.ok();) {
      size_t special_len = 0;
      const int32_t id =
          text_[at + k] == '<' ? SpecialAt(tok_.view(), text_ + at + k, n - k, &special_len) : -1;
      if (id < 0) {
        ++k;
        continue;
      }
      Flush(at + k);
      if (!status_.ok()) return;
      if (n_ >= capacity_) {
        status_ = Status::Make(Error::kOutOfMemory, "need more than %zu ids", capacity_);
        return;
      }
      out_[n_++] = id;
      k += special_len;
      segment_ = at + k;
    }
  }

  // Encodes the plain text before `end` (BOS first, once).
  void Flush(size_t end) {
    if (!status_.ok() || (end == segment_ && !bos_)) return;
    size_t k = 0;
    status_ = tok_.Encode(text_ + segment_, end - segment_, bos_, out_ + n_, capacity_ - n_, &k);
    n_ += k;
    bos_ = false;
    segment_ = end;
  }

  const Status& status() const { return status_; }
  size_t count() const { return n_; }

 private:
  const Tokenizer& tok_;
  const char* text_;
  bool bos_;
  int32_t* out_;
  size_t capacity_;
  size_t n_ = 0;
  size_t segment_ = 0;  // start of the plain text not yet encoded
  Status status_;
};

// Appends to a caller buffer, counting the full length even past the capacity. Template
// text (Put) and caller text (PutText: roles and contents) are told apart: with an
// encoder, only template text may hold special tokens.
class Writer {
 public:
  Writer(char* out, size_t capacity, ChatEncoder* encoder = nullptr)
      : out_(out), capacity_(capacity), encoder_(encoder) {}

  void Put(const char* s, size_t n) {
    const size_t at = len_;
    PutText(s, n);
    if (encoder_ != nullptr) encoder_->Template(at, n);
  }
  void Put(const char* s) { Put(s, std::strlen(s)); }

  void PutText(const char* s, size_t n) {
    if (len_ < capacity_) {
      const size_t room = capacity_ - len_;
      std::memcpy(out_ + len_, s, n < room ? n : room);
    }
    len_ += n;
  }
  void PutText(const char* s) { PutText(s, std::strlen(s)); }

  // Appends caller text `s` without leading and trailing whitespace (Jinja's `trim`).
  void PutTrimmed(const char* s) {
    size_t n = std::strlen(s);
    size_t b = 0;
    while (b < n && IsSpace(s[b])) ++b;
    while (n > b && IsSpace(s[n - 1])) --n;
    PutText(s + b, n - b);
  }

  size_t length() const { return len_; }

  // NUL-terminates and reports.
  Status Finish(size_t* len_out) {
    *len_out = len_;
    if (len_ < capacity_) {
      out_[len_] = '\0';
      return Status::Ok();
    }
    if (capacity_ > 0) out_[capacity_ - 1] = '\0';
    return Status::Make(Error::kOutOfMemory,
                        "the formatted conversation needs %zu bytes (plus NUL) but the buffer "
                        "holds %zu",
                        len_, capacity_);
  }

  static bool IsSpace(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
  }

 private:
  char* out_;
  size_t capacity_;
  ChatEncoder* encoder_;
  size_t len_ = 0;
};

bool RoleIs(const ChatMessage& m, const char* role) { return std::strcmp(m.role, role) == 0; }

const char* Find(const char* hay, size_t hay_len, const char* needle) {
  const size_t n = std::strlen(needle);
  for (size_t i = 0; i + n <= hay_len; ++i) {
    if (std::memcmp(hay + i, needle, n) == 0) return hay + i;
  }
  return nullptr;
}

void FormatLlama3(const ChatStyle& style, const ChatMessage* m, size_t n, Writer* w) {
  size_t first = 0;
  if (style.llama3_dates) {
    // Llama 3.1/3.2: the system block always comes first, with the knowledge and
    // "today" dates, then the (trimmed) system message if any.
    w->Put("<|start_header_id|>system<|end_header_id|>\n\n");
    w->Put("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
    if (n > 0 && RoleIs(m[0], "system")) {
      w->PutTrimmed(m[0].content);
      first = 1;
    }
    w->Put("<|eot_id|>");
  }
  for (size_t i = first; i < n; ++i) {
    w->Put("<|start_header_id|>");
    w->PutText(m[i].role);
    w->Put("<|end_header_id|>\n\n");
    w->PutTrimmed(m[i].content);
    w->Put("<|eot_id|>");
  }
}

void FormatChatMl(const ChatStyle& style, const ChatMessage* m, size_t n, Writer* w) {
  if ((n == 0 || !RoleIs(m[0], "system")) && style.default_system != nullptr) {
    w->Put("<|im_start|>system\n");
    w->PutText(style.default_system, style.default_system_len);
    w->Put("<|im_end|>\n");
  }
  for (size_t i = 0; i < n; ++i) {
    w->Put("<|im_start|>");
    w->PutText(m[i].role);
    w->Put("\n");
    w->PutText(m[i].content);
    w->Put("<|im_end|>\n");
  }
}

void FormatPhi3(const ChatMessage* m, size_t n, Writer* w) {
  for (size_t i = 0; i < n; ++i) {
    const char* tag = RoleIs(m[i], "system") ? (m[i].content[0] ? "<|system|>\n" : nullptr)
                      : RoleIs(m[i], "user")      ? "<|user|>\n"
                      : RoleIs(m[i], "assistant") ? "<|assistant|>\n"
                                                  : nullptr;
    if (tag == nullptr) continue;  // the template drops other roles
    w->Put(tag);
    w->PutText(m[i].content);
    w->Put("<|end|>\n");
  }
}

void FormatGemma(const ChatMessage* m, size_t n, Writer* w) {
  const char* system = nullptr;
  size_t i = 0;
  if (n > 0 && RoleIs(m[0], "system")) {
    system = m[0].content;
    i = 1;
  }
  for (; i < n; ++i) {
    w->Put("<start_of_turn>");
    w->PutText(RoleIs(m[i], "assistant") ? "model" : m[i].role);
    w->Put("\n");
    if (system != nullptr && RoleIs(m[i], "user")) {
      w->PutTrimmed(system);
      w->Put("\n\n");
      system = nullptr;
    }
    w->PutTrimmed(m[i].content);
    w->Put("<end_of_turn>\n");
  }
}

void FormatLlama2(const ChatMessage* m, size_t n, Writer* w) {
  const char* system = nullptr;
  size_t i = 0;
  if (n > 0 && RoleIs(m[0], "system")) {
    system = m[0].content;
    i = 1;
  }
  bool first_turn = true;
  for (; i < n; ++i) {
    if (RoleIs(m[i], "user")) {
      // The first BOS comes from the session; later turns start with "<s>".
      if (!first_turn) w->Put("<s>");
      w->Put("[INST] ");
      if (system != nullptr) {
        w->Put("<<SYS>>\n");
        w->PutText(system);
        w->Put("\n<</SYS>>\n\n");
        system = nullptr;
      }
      w->PutTrimmed(m[i].content);
      w->Put(" [/INST]");
      first_turn = false;
    } else if (RoleIs(m[i], "assistant")) {
      w->Put(" ");
      w->PutTrimmed(m[i].content);
      w->Put(" </s>");
      first_turn = false;
    }
  }
}

void FormatPlain(const ChatMessage* m, size_t n, Writer* w) {
  for (size_t i = 0; i < n; ++i) {
    w->PutText(m[i].role);
    w->Put(": ");
    w->PutText(m[i].content);
    w->Put("\n");
  }
}

// Id of the piece equal to s[0..len), or -1 (binary search over sorted_ids).
int32_t FindPiece(const TokenizerView& v, const char* s, size_t len) {
  if (v.sorted_ids == nullptr) return -1;
  size_t lo = 0, hi = v.vocab_size;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    const uint32_t id = v.sorted_ids[mid];
    const char* p = v.pieces + v.piece_offsets[id];
    const size_t plen = v.piece_offsets[id + 1] - v.piece_offsets[id] - 1;
    int c = std::memcmp(p, s, plen < len ? plen : len);
    if (c == 0) c = plen < len ? -1 : (plen > len ? 1 : 0);
    if (c == 0) return static_cast<int32_t>(id);
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return -1;
}

// The longest control / user-defined piece starting at text[0], or -1; *len gets its length.
int32_t SpecialAt(const TokenizerView& v, const char* text, size_t avail, size_t* len) {
  int32_t best = -1;
  const size_t max = avail < v.max_piece_length ? avail : v.max_piece_length;
  for (size_t n = 2; n <= max; ++n) {
    if (text[n - 1] != '>') continue;
    const int32_t id = FindPiece(v, text, n);
    if (id < 0) continue;
    const TokenType kind = static_cast<TokenType>(v.types[id]);
    if (kind == TokenType::CONTROL || kind == TokenType::USER_DEFINED) {
      best = id;
      *len = n;
    }
  }
  return best;
}

}  // namespace

ChatStyle ChatStyleFor(ChatFormat format, const char* t, size_t len) {
  ChatStyle style;
  style.format = format;
  if (t == nullptr) len = 0;
  if (format == ChatFormat::LLAMA3) {
    style.llama3_dates = Find(t, len, "Cutting Knowledge Date") != nullptr;
  }
  if (format == ChatFormat::CHATML) {
    // The Jinja source spells the newline as the two characters '\' 'n'.
    static const char kOpen[] = "<|im_start|>system\\n";
    for (const char* at = Find(t, len, kOpen); at != nullptr;
         at = Find(at + 1, len - static_cast<size_t>(at + 1 - t), kOpen)) {
      const char* begin = at + sizeof(kOpen) - 1;
      const char* end = Find(begin, len - static_cast<size_t>(begin - t), "<|im_end|>");
      if (end == nullptr) break;
      bool plain = end > begin;
      for (const char* p = begin; p < end && plain; ++p) {
        plain = *p != '\'' && *p != '"' && *p != '{' && *p != '}' && *p != '\\' && *p != '\n';
      }
      if (plain) {
        style.default_system = begin;
        style.default_system_len = static_cast<size_t>(end - begin);
        break;
      }
    }
  }
  return style;
}

namespace {

Status CheckMessages(const ChatMessage* messages, size_t n) {
  KITE_CHECK_OR_RETURN(n == 0 || messages != nullptr, Error::kInvalidArgument,
                       "messages is null");
  for (size_t i = 0; i < n; ++i) {
    KITE_CHECK_OR_RETURN(messages[i].role != nullptr && messages[i].content != nullptr,
                         Error::kInvalidArgument, "message %zu has a null role or content", i);
  }
  return Status::Ok();
}

void Render(const ChatStyle& style, const ChatMessage* messages, size_t n,
            bool add_generation_prompt, Writer* w) {
  switch (style.format) {
    case ChatFormat::LLAMA3:
      FormatLlama3(style, messages, n, w);
      if (add_generation_prompt) w->Put("<|start_header_id|>assistant<|end_header_id|>\n\n");
      break;
    case ChatFormat::CHATML:
      FormatChatMl(style, messages, n, w);
      if (add_generation_prompt) w->Put("<|im_start|>assistant\n");
      break;
    case ChatFormat::PHI3:
      FormatPhi3(messages, n, w);
      if (add_generation_prompt) w->Put("<|assistant|>\n");
      break;
    case ChatFormat::GEMMA:
      FormatGemma(messages, n, w);
      if (add_generation_prompt) w->Put("<start_of_turn>model\n");
      break;
    case ChatFormat::LLAMA2:
      // "[/INST]" already invites the answer.
      FormatLlama2(messages, n, w);
      break;
    case ChatFormat::NONE:
      FormatPlain(messages, n, w);
      if (add_generation_prompt) w->Put("assistant: ");
      break;
  }
}

}  // namespace

Status FormatChat(const ChatStyle& style, const ChatMessage* messages, size_t n,
                  bool add_generation_prompt, char* out, size_t capacity, size_t* len_out) {
  KITE_RETURN_IF_ERROR(CheckMessages(messages, n));
  KITE_CHECK_OR_RETURN(out != nullptr || capacity == 0, Error::kInvalidArgument,
                       "the output buffer is null");
  Writer w(out, capacity);
  Render(style, messages, n, add_generation_prompt, &w);
  return w.Finish(len_out);
}

size_t ChatTokensNeeded(size_t text_len) {
  return Tokenizer::MaxTokensFor(text_len) + (text_len + 1 + sizeof(int32_t) - 1) / sizeof(int32_t);
}

Status EncodeChat(const ChatStyle& style, const Tokenizer& tokenizer, const ChatMessage* messages,
                  size_t n, bool add_generation_prompt, bool add_bos, int32_t* out,
                  size_t capacity, size_t* n_out) {
  KITE_CHECK_OR_RETURN(n_out != nullptr, Error::kInvalidArgument, "n_out is null");
  *n_out = 0;
  KITE_RETURN_IF_ERROR(CheckMessages(messages, n));
  KITE_CHECK_OR_RETURN(out != nullptr || capacity == 0, Error::kInvalidArgument,
                       "the id buffer is null");
  Writer measure(nullptr, 0);
  Render(style, messages, n, add_generation_prompt, &measure);
  const size_t len = measure.length();
  const size_t needed = ChatTokensNeeded(len);
  if (capacity < needed) {
    *n_out = needed;
    return Status::Make(Error::kOutOfMemory,
                        "the conversation is %zu bytes of text and needs a buffer of %zu ids, "
                        "not %zu",
                        len, needed, capacity);
  }
  // The text is rendered into the buffer's tail, the ids grow from its head; the head
  // keeps MaxTokensFor(len) ids, which the encoder never exceeds (see chat.h).
  const size_t text_slots = needed - Tokenizer::MaxTokensFor(len);
  char* text = reinterpret_cast<char*>(out + (capacity - text_slots));
  ChatEncoder encoder(tokenizer, text, add_bos, out, capacity - text_slots);
  Writer w(text, len + 1, &encoder);
  Render(style, messages, n, add_generation_prompt, &w);
  size_t written = 0;
  KITE_RETURN_IF_ERROR(w.Finish(&written));
  encoder.Flush(written);
  KITE_RETURN_IF_ERROR(encoder.status());
  *n_out = encoder.count();
  return Status::Ok();
}

Status EncodeWithSpecialTokens(const Tokenizer& tokenizer, const char* text, size_t len,
                               bool add_bos, int32_t* out, size_t capacity, size_t* n_out) {
  const TokenizerView& v = tokenizer.view();
  KITE_CHECK_OR_RETURN(text != nullptr || len == 0, Error::kInvalidArgument, "text is null");
  size_t n = 0;
  size_t segment = 0;  // start of the plain text not yet encoded
  bool bos = add_bos;
  // Encodes text[segment, end) after the ids so far.
  const auto flush = [&](size_t end) -> Status {
    if (end == segment && !bos) return Status::Ok();
    size_t k = 0;
    KITE_CHECK_OR_RETURN(n <= capacity, Error::kOutOfMemory, "need more than %zu ids", capacity);
    Status s = tokenizer.Encode(text + segment, end - segment, bos, out + n, capacity - n, &k);
    if (!s.ok()) return s;
    n += k;
    bos = false;
    return Status::Ok();
  };
  for (size_t i = 0; i < len;) {
    size_t special_len = 0;
    const int32_t id = text[i] == '<' ? SpecialAt(v, text + i, len - i, &special_len) : -1;
    if (id < 0) {
      ++i;
      continue;
    }
    KITE_RETURN_IF_ERROR(flush(i));
    KITE_CHECK_OR_RETURN(n < capacity, Error::kOutOfMemory,
                         "need more than %zu ids for the chat text", capacity);
    out[n++] = id;
    i += special_len;
    segment = i;
  }
  KITE_RETURN_IF_ERROR(flush(len));
  *n_out = n;
  return Status::Ok();
}

}  // namespace kite
