#include "sdk/runtime/tokenizer/tokenizer.h"

#include <cstdint>
#include <cstring>

#include "sdk/runtime/tokenizer/bpe_common.h"
#include "sdk/runtime/tokenizer/tokenizer_bpe.h"

namespace kite {
namespace {

// A byte range inside the tables or the caller's text (not NUL-terminated).
struct ByteSpan {
  const char* data;
  size_t size;
};

// llama2.c starts its best-merge search at this score and only takes strictly higher ones,
// so pieces scored at or below it never merge. Kept for identical results.
constexpr float kNoMergeScore = -1e10f;

ByteSpan PieceBytes(const TokenizerView& v, int32_t id) {
  const uint32_t begin = v.piece_offsets[id];
  const uint32_t end = v.piece_offsets[id + 1];
  return {v.pieces + begin, end - begin - 1};  // the -1 drops the NUL after each piece
}

bool InVocab(const TokenizerView& v, int32_t id) {
  return id >= 0 && static_cast<uint32_t>(id) < v.vocab_size;
}

// Pieces that user text may turn into. Control, unknown, byte and unused pieces only come
// from their ids, never from matching their spelling (so typing "<0x41>" or "\n<s>\n"
// does not produce those tokens).
bool IsTextPiece(const TokenizerView& v, int32_t id) {
  return tokenizer_internal::IsTextKind(v.types[id]);
}

// Three-way comparison of the concatenation `head + tail` with `piece`, in the order of
// sorted_ids (bytewise, a proper prefix first), without building the concatenation.
int CompareJoined(ByteSpan head, ByteSpan tail, ByteSpan piece) {
  if (head.size >= piece.size) {
    const int r =
        tokenizer_internal::CompareBytes(head.data, head.size, piece.data, piece.size);
    if (r != 0) return r;
    // head == piece: the joined string is equal when the tail is empty, else longer.
    return tail.size == 0 ? 0 : 1;
  }
  if (head.size > 0) {
    const int r = std::memcmp(head.data, piece.data, head.size);
    if (r != 0) return r;
  }
  return tokenizer_internal::CompareBytes(tail.data, tail.size, piece.data + head.size,
                                          piece.size - head.size);
}

// The text piece spelled `head + tail`, or -1. Among several ids with the same spelling
// the lowest text-piece id wins (sorted_ids breaks ties by id).
int32_t FindTextPiece(const TokenizerView& v, ByteSpan head, ByteSpan tail) {
  if (head.size + tail.size > v.max_piece_length) return -1;
  size_t lo = 0;
  size_t hi = v.vocab_size;
  while (lo < hi) {  // first sorted position whose piece is >= head + tail
    const size_t mid = lo + (hi - lo) / 2;
    const int32_t id = static_cast<int32_t>(v.sorted_ids[mid]);
    if (CompareJoined(head, tail, PieceBytes(v, id)) > 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  for (; lo < v.vocab_size; ++lo) {
    const int32_t id = static_cast<int32_t>(v.sorted_ids[lo]);
    if (CompareJoined(head, tail, PieceBytes(v, id)) != 0) break;
    if (IsTextPiece(v, id)) return id;
  }
  return -1;
}

// Appends ids to the caller's array, counting past its capacity so the error can say how
// much is needed.
class TokenWriter {
 public:
  TokenWriter(int32_t* out, size_t capacity) : out_(out), capacity_(capacity) {}
  void Push(int32_t id) {
    if (count_ < capacity_) out_[count_] = id;
    ++count_;
  }
  size_t count() const { return count_; }
  bool overflowed() const { return count_ > capacity_; }

 private:
  int32_t* out_;
  size_t capacity_;
  size_t count_ = 0;
};

// Emits the tokens of one UTF-8 character (or stray byte run): its piece when the vocabulary
// has one, else one byte token per byte, else the unknown token.
Status EncodeCharacter(const TokenizerView& v, ByteSpan character, size_t text_offset,
                       TokenWriter* writer) {
  const int32_t id = FindTextPiece(v, character, ByteSpan{nullptr, 0});
  if (id >= 0) {
    writer->Push(id);
    return Status::Ok();
  }
  bool all_bytes_have_tokens = v.byte_ids != nullptr;
  for (size_t i = 0; all_bytes_have_tokens && i < character.size; ++i) {
    const int32_t byte_id = v.byte_ids[static_cast<uint8_t>(character.data[i])];
    all_bytes_have_tokens = InVocab(v, byte_id);
  }
  if (all_bytes_have_tokens) {
    for (size_t i = 0; i < character.size; ++i) {
      writer->Push(v.byte_ids[static_cast<uint8_t>(character.data[i])]);
    }
    return Status::Ok();
  }
  KITE_CHECK_OR_RETURN(InVocab(v, v.unk_id), Error::kInvalidArgument,
                       "text byte 0x%02X at offset %zu has no token (the vocabulary has no "
                       "byte fallback and no unknown token)",
                       static_cast<unsigned>(static_cast<uint8_t>(character.data[0])),
                       text_offset);
  writer->Push(v.unk_id);
  return Status::Ok();
}

bool IsContinuationByte(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

// --- Merging --------------------------------------------------------------------------
//
// The rule (llama2.c's): repeatedly replace the adjacent pair whose joined spelling is the
// highest-scored text piece (the leftmost pair on ties) by that piece, until no pair joins.
// The loop itself is shared with byte-level BPE (bpe_common.h).

// Score BPE as a bpe_common.h Rule: a candidate is the piece a pair joins into.
class ScoreRule {
 public:
  explicit ScoreRule(const TokenizerView& v) : v_(v) {}

  // The piece that alive position i would become by joining with the next alive token, or
  // -1 when they do not join (or the piece is scored too low to ever merge).
  int32_t Candidate(const int32_t* tokens, size_t i, size_t n) const {
    const size_t j = tokenizer_internal::NextAlive(tokens, i, n);
    if (j >= n) return -1;
    if (!IsTextPiece(v_, tokens[i]) || !IsTextPiece(v_, tokens[j])) return -1;
    const int32_t joined = FindTextPiece(v_, PieceBytes(v_, tokens[i]), PieceBytes(v_, tokens[j]));
    if (joined < 0 || !(v_.scores[joined] > kNoMergeScore)) return -1;
    return joined;
  }

  // Higher scores merge first.
  bool Precedes(int32_t a, int32_t b) const { return v_.scores[a] > v_.scores[b]; }

  void Apply(int32_t* tokens, size_t i, size_t n, int32_t joined) const {
    tokens[tokenizer_internal::NextAlive(tokens, i, n)] = tokenizer_internal::kDeadToken;
    tokens[i] = joined;
  }

 private:
  const TokenizerView& v_;
};

// Merges tokens[0..n) in place and returns the new count. `spare` entries after them may
// be used as scratch: with enough, the fast path runs; results are identical either way.
size_t MergePairs(const TokenizerView& v, int32_t* tokens, size_t n, size_t spare) {
  if (n < 2) return n;
  const ScoreRule rule(v);
  if (n <= static_cast<size_t>(INT32_MAX) &&
      spare / tokenizer_internal::CachedPairMerger<ScoreRule>::kScratchPerToken >= n) {
    return tokenizer_internal::CachedPairMerger<ScoreRule>(rule, tokens, n, tokens + n).Run();
  }
  return tokenizer_internal::MergeByRescanning(rule, tokens, n);
}

// The byte a BYTE token stands for, parsed from its "<0xAB>" spelling (the spelling that
// byte_ids was built from). False for any other spelling.
bool ParseBytePiece(ByteSpan piece, uint8_t* value) {
  if (piece.size != 6 || std::memcmp(piece.data, "<0x", 3) != 0 || piece.data[5] != '>') {
    return false;
  }
  unsigned parsed = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = piece.data[i];
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return false;
    }
    parsed = parsed * 16 + digit;
  }
  *value = static_cast<uint8_t>(parsed);
  return true;
}

// Piece() with an explicit length, so that a byte token for 0x00 survives in Decode().
// `token` must be in range. The result points into the tables or into `byte_buf`.
ByteSpan TokenText(const TokenizerView& v, int32_t prev, int32_t token, char byte_buf[2]) {
  const uint8_t kind = v.types[token];
  if (kind == static_cast<uint8_t>(TokenType::CONTROL) ||
      kind == static_cast<uint8_t>(TokenType::UNKNOWN)) {
    return {"", 0};
  }
  ByteSpan text = PieceBytes(v, token);
  if (kind == static_cast<uint8_t>(TokenType::BYTE)) {
    uint8_t value = 0;
    if (!ParseBytePiece(text, &value)) return {"", 0};
    byte_buf[0] = static_cast<char>(value);
    byte_buf[1] = '\0';
    text = {byte_buf, 1};
  }
  // The first token after BOS loses the space that Encode()'s dummy prefix added. As in
  // Hugging Face's Llama decoder this applies after byte fallback, so a dummy prefix that
  // had to be spelled <0x20> is dropped too (llama2.c would print it; its vocabularies
  // always have a " " piece, so its encoder never emits <0x20> first).
  if (v.add_dummy_prefix && prev >= 0 && prev == v.bos_id && text.size > 0 &&
      text.data[0] == ' ') {
    ++text.data;
    --text.size;
  }
  return text;
}

}  // namespace

Status Tokenizer::Encode(const char* text, size_t len, bool add_bos, int32_t* out,
                         size_t capacity, size_t* n_out) const {
  KITE_CHECK_OR_RETURN(n_out != nullptr, Error::kInvalidArgument, "Encode: n_out is null");
  *n_out = 0;
  KITE_CHECK_OR_RETURN(text != nullptr || len == 0, Error::kInvalidArgument,
                       "Encode: text is null");
  KITE_CHECK_OR_RETURN(out != nullptr || capacity == 0, Error::kInvalidArgument,
                       "Encode: out is null");
  KITE_CHECK_OR_RETURN(
      (v_.kind == TokenizerType::SCORE_BPE || v_.kind == TokenizerType::BYTE_BPE) &&
          v_.vocab_size > 0,
      Error::kUnsupported, "Encode: the model has no tokenizer");
  if (v_.kind == TokenizerType::BYTE_BPE) {
    return EncodeByteBpe(v_, text, len, add_bos, out, capacity, n_out);
  }

  TokenWriter writer(out, capacity);
  if (add_bos && InVocab(v_, v_.bos_id)) writer.Push(v_.bos_id);
  const size_t first_text_token = writer.count();

  // The dummy prefix: a space before the text, so that the first word is spelled like a
  // mid-sentence word. It is encoded like any character (piece, byte token or <unk>); with
  // no token for a space at all it is left out.
  if (len > 0 && v_.add_dummy_prefix) {
    const Status space = EncodeCharacter(v_, ByteSpan{" ", 1}, 0, &writer);
    (void)space;
  }

  // Characters as llama2.c splits them: a byte and up to three continuation bytes after it.
  // Invalid UTF-8 thus still makes groups of 1..4 bytes, which fall back to byte tokens.
  size_t start = 0;
  while (start < len) {
    size_t end = start + 1;
    while (end < len && end - start < 4 && IsContinuationByte(text[end])) ++end;
    KITE_RETURN_IF_ERROR(
        EncodeCharacter(v_, ByteSpan{text + start, end - start}, start, &writer));
    start = end;
  }

  KITE_CHECK_OR_RETURN(!writer.overflowed(), Error::kOutOfMemory,
                       "Encode: %zu bytes of text need %zu token slots before merging, "
                       "capacity is %zu",
                       len, writer.count(), capacity);

  const size_t n_text = writer.count() - first_text_token;
  const size_t spare = capacity - writer.count();
  *n_out = first_text_token + MergePairs(v_, out + first_text_token, n_text, spare);
  return Status::Ok();
}

const char* Tokenizer::Piece(int32_t prev, int32_t token, char byte_buf[2]) const {
  if (!InVocab(v_, token)) return "";
  return TokenText(v_, prev, token, byte_buf).data;
}

Status Tokenizer::Decode(const int32_t* ids, size_t n, char* out, size_t capacity,
                         size_t* len_out) const {
  KITE_CHECK_OR_RETURN(len_out != nullptr, Error::kInvalidArgument, "Decode: len_out is null");
  *len_out = 0;
  KITE_CHECK_OR_RETURN(ids != nullptr || n == 0, Error::kInvalidArgument, "Decode: ids is null");
  KITE_CHECK_OR_RETURN(out != nullptr || capacity == 0, Error::kInvalidArgument,
                       "Decode: out is null");
  KITE_CHECK_OR_RETURN(capacity > 0, Error::kOutOfMemory,
                       "Decode: the output buffer has no room for the terminating NUL");
  out[0] = '\0';

  // Text length first, so a too-small buffer is reported with the size it needs.
  size_t needed = 0;
  char byte_buf[2];
  for (size_t i = 0; i < n; ++i) {
    KITE_CHECK_OR_RETURN(InVocab(v_, ids[i]), Error::kInvalidArgument,
                         "Decode: token id %d at index %zu is outside the vocabulary [0, %u)",
                         static_cast<int>(ids[i]), i, static_cast<unsigned>(v_.vocab_size));
    needed += TokenText(v_, i > 0 ? ids[i - 1] : -1, ids[i], byte_buf).size;
  }
  KITE_CHECK_OR_RETURN(needed < capacity, Error::kOutOfMemory,
                       "Decode: the text needs %zu bytes plus a NUL, capacity is %zu", needed,
                       capacity);

  size_t length = 0;
  for (size_t i = 0; i < n; ++i) {
    const ByteSpan text = TokenText(v_, i > 0 ? ids[i - 1] : -1, ids[i], byte_buf);
    if (text.size > 0) std::memcpy(out + length, text.data, text.size);
    length += text.size;
  }
  out[length] = '\0';
  *len_out = length;
  return Status::Ok();
}

bool Tokenizer::IsStop(int32_t token) const {
  for (uint32_t i = 0; i < v_.n_stop_ids; ++i) {
    if (v_.stop_ids[i] == token) return true;
  }
  return false;
}

}  // namespace kite
