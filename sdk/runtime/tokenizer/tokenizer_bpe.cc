#include "sdk/runtime/tokenizer/tokenizer_bpe.h"

#include <cstring>

#include "sdk/runtime/tokenizer/bpe_common.h"
#include "sdk/runtime/tokenizer/normalize.h"
#include "sdk/runtime/tokenizer/pretokenizer.h"

namespace kite {
namespace {

constexpr int32_t kNoMerge = -1;

// Index in v.merges of the merge of (left, right), or kNoMerge.
int32_t FindMerge(const TokenizerView& v, int32_t left, int32_t right) {
  const uint32_t l = static_cast<uint32_t>(left);
  const uint32_t r = static_cast<uint32_t>(right);
  uint32_t lo = 0;
  uint32_t hi = v.n_merges;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const BpeMerge& m = v.merges[mid];
    if (m.left() < l || (m.left() == l && m.right() < r)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < v.n_merges && v.merges[lo].left() == l && v.merges[lo].right() == r) {
    return static_cast<int32_t>(lo);
  }
  return kNoMerge;
}

// Merging repeats "join the adjacent pair of lowest rank, the leftmost on ties" until no
// pair has a merge; the loop is shared with score BPE (bpe_common.h). This is its Rule: a
// candidate is an index in v.merges.
class RankRule {
 public:
  explicit RankRule(const TokenizerView& v) : v_(v) {}

  // The merge joining alive position i with the next alive token, or kNoMerge.
  int32_t Candidate(const int32_t* tokens, size_t i, size_t n) const {
    const size_t j = tokenizer_internal::NextAlive(tokens, i, n);
    if (j >= n) return kNoMerge;
    return FindMerge(v_, tokens[i], tokens[j]);
  }

  bool Precedes(int32_t a, int32_t b) const { return v_.merges[a].rank() < v_.merges[b].rank(); }

  void Apply(int32_t* tokens, size_t i, size_t n, int32_t merge) const {
    tokens[tokenizer_internal::NextAlive(tokens, i, n)] = tokenizer_internal::kDeadToken;
    tokens[i] = static_cast<int32_t>(v_.merges[merge].result());
  }

 private:
  const TokenizerView& v_;
};

size_t MergeRanked(const TokenizerView& v, int32_t* tokens, size_t n, size_t spare) {
  if (n < 2 || v.n_merges == 0) return n;
  const RankRule rule(v);
  if (n <= static_cast<size_t>(INT32_MAX) / 2 &&
      spare / tokenizer_internal::CachedPairMerger<RankRule>::kScratchPerToken >= n) {
    return tokenizer_internal::CachedPairMerger<RankRule>(rule, tokens, n, tokens + n).Run();
  }
  return tokenizer_internal::MergeByRescanning(rule, tokens, n);
}

}  // namespace

namespace {

// The lowest id of a piece spelled exactly bytes[0..n) that passes `accept` (given its id),
// or -1.
template <typename Accept>
int32_t FindPieceBytes(const TokenizerView& v, const char* bytes, size_t n, Accept accept) {
  if (n > v.max_piece_length) return -1;
  size_t lo = 0;
  size_t hi = v.vocab_size;
  const auto compare = [&](uint32_t id) {
    const uint32_t begin = v.piece_offsets[id];
    return tokenizer_internal::CompareBytes(v.pieces + begin, v.piece_offsets[id + 1] - begin - 1,
                                            bytes, n);
  };
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (compare(v.sorted_ids[mid]) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  for (; lo < v.vocab_size && compare(v.sorted_ids[lo]) == 0; ++lo) {
    if (accept(v.sorted_ids[lo])) return static_cast<int32_t>(v.sorted_ids[lo]);
  }
  return -1;
}

bool IsUserDefined(uint8_t type) { return type == static_cast<uint8_t>(TokenType::USER_DEFINED); }

// Whether USER_DEFINED token `id` is matched in the raw text (else in the normalized text).
bool IsRaw(const TokenizerView& v, uint32_t id) {
  return v.added_token_flags != nullptr &&
         (v.added_token_flags[id] & static_cast<uint8_t>(AddedTokenFlag::RAW)) != 0;
}

// The length of the longest USER_DEFINED piece of the group `raw` starting at text[0..n)
// (its id in *id), or 0.
size_t LongestUserToken(const TokenizerView& v, bool raw, const char* text, size_t n,
                        int32_t* id) {
  const uint8_t b = static_cast<uint8_t>(text[0]);
  const uint8_t* first = raw ? v.raw_first_bytes : v.user_first_bytes;
  if ((first[b >> 3] & (1u << (b & 7))) == 0) return 0;
  const size_t longest = raw ? v.max_raw_length : v.max_user_length;
  const auto accept = [&](uint32_t i) { return IsUserDefined(v.types[i]) && IsRaw(v, i) == raw; };
  for (size_t l = n < longest ? n : longest; l > 0; --l) {
    *id = FindPieceBytes(v, text, l, accept);
    if (*id >= 0) return l;
  }
  return 0;
}

// The normalizer as pipeline steps (a file's single NFC / NFKC becomes one step in *legacy).
uint32_t NormalizerSteps(const TokenizerView& v, NormalizerStep* legacy,
                         const NormalizerStep** steps) {
  *steps = v.normalizer_steps;
  if (v.normalizer == NormalizerType::PIPELINE) return v.n_normalizer_steps;
  if (v.normalizer == NormalizerType::NFC || v.normalizer == NormalizerType::NFKC) {
    legacy->kind = v.normalizer == NormalizerType::NFC ? NormalizerStepKind::NFC
                                                         : NormalizerStepKind::NFKC;
    *steps = legacy;
    return 1;
  }
  return 0;
}

size_t AddSat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
size_t MulSat(size_t a, size_t b) { return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

}  // namespace

size_t Tokenizer::CapacityFor(size_t len) const {
  NormalizerStep legacy;
  const NormalizerStep* steps = nullptr;
  const uint32_t n_steps = v_.kind == TokenizerType::BYTE_BPE ? NormalizerSteps(v_, &legacy, &steps) : 0;
  // The longest text at any point of the pipeline, and the result's bound.
  size_t longest = len;
  size_t n = len;
  for (uint32_t i = 0; i < n_steps; ++i) {
    // RAW added tokens cut the text into pieces normalized apart: each may get a Prepend.
    const bool per_piece = v_.max_raw_length > 0 && steps[i].kind == NormalizerStepKind::PREPEND;
    n = per_piece ? MulSat(n, 1 + steps[i].content_size) : NormalizerStepBound(steps[i], n);
    longest = n > longest ? n : longest;
  }
  const size_t ids = MulSat(3, AddSat(n, 2));
  const size_t texts = AddSat(MulSat(2, n / 4 + 1), MulSat(2, longest / 4 + 1));
  return AddSat(ids, texts);
}

void IndexUserDefinedTokens(TokenizerView* v) {
  for (uint8_t& b : v->user_first_bytes) b = 0;
  for (uint8_t& b : v->raw_first_bytes) b = 0;
  v->max_user_length = 0;
  v->max_raw_length = 0;
  if (v->kind != TokenizerType::BYTE_BPE) return;
  for (uint32_t id = 0; id < v->vocab_size; ++id) {
    const uint32_t begin = v->piece_offsets[id];
    const uint32_t n = v->piece_offsets[id + 1] - begin - 1;
    if (!IsUserDefined(v->types[id]) || n == 0) continue;
    const bool raw = IsRaw(*v, id);
    uint8_t* first = raw ? v->raw_first_bytes : v->user_first_bytes;
    uint32_t& longest = raw ? v->max_raw_length : v->max_user_length;
    const uint8_t b = static_cast<uint8_t>(v->pieces[begin]);
    first[b >> 3] = static_cast<uint8_t>(first[b >> 3] | (1u << (b & 7)));
    if (n > longest) longest = n;
  }
}

int32_t FindTextPieceBytes(const TokenizerView& v, const char* bytes, size_t n) {
  return FindPieceBytes(v, bytes, n,
                        [&](uint32_t id) { return tokenizer_internal::IsTextKind(v.types[id]); });
}

Status EncodeByteBpe(const TokenizerView& v, const char* text, size_t len, bool add_bos,
                     int32_t* out, size_t capacity, size_t* n_out) {
  const bool bos = add_bos && v.bos_id >= 0 && static_cast<uint32_t>(v.bos_id) < v.vocab_size;
  KITE_CHECK_OR_RETURN(v.byte_ids != nullptr, Error::kInvalidFormat,
                       "Encode: the byte-level tokenizer has no byte table");
  NormalizerStep legacy;
  const NormalizerStep* steps = nullptr;
  const uint32_t n_steps = NormalizerSteps(v, &legacy, &steps);
  const bool prefix = v.prefix_space_stage >= 0;
  size_t count = 0;
  // Per piece of text between RAW added tokens (the whole text without them): `src` is its
  // normalized text. The tail of `out` holds text when the tokenizer rewrites it: the
  // normalized text (A, right-aligned at the very end) and one piece with its prefix space
  // (B, before A); ids fill the front up to ids_capacity.
  const char* src = text;
  size_t ids_capacity = capacity;
  char* prefixed_piece = nullptr;
  // Merges the pre-token base[pos, end) into out[count..).
  const auto encode_piece = [&](const char* base, size_t pos, size_t end) -> Status {
    const size_t m = end - pos;
    // Prefix spaces add one id per piece beyond the text's bytes, which the segment's
    // check covers only once.
    KITE_CHECK_OR_RETURN(ids_capacity - count >= m, Error::kOutOfMemory,
                         "Encode: the prefix spaces of %zu bytes of text need more than %zu "
                         "token slots",
                         len, capacity);
    if (v.ignore_merges) {
      const int32_t whole = FindTextPieceBytes(v, base + pos, m);
      if (whole >= 0) {
        out[count++] = whole;
        return Status::Ok();
      }
    }
    for (size_t i = 0; i < m; ++i) {
      const uint8_t byte = static_cast<uint8_t>(base[pos + i]);
      const int32_t id = v.byte_ids[byte];
      KITE_CHECK_OR_RETURN(id >= 0, Error::kInvalidArgument,
                           "text byte 0x%02X at offset %zu has no token in this vocabulary",
                           static_cast<unsigned>(byte), pos + i);
      out[count + i] = id;
    }
    // Entries after this pre-token's ids are free up to ids_capacity: the rest of the text
    // needs at most one per remaining byte, which the segment's check reserved.
    count += MergeRanked(v, out + count, m, ids_capacity - count - m);
    return Status::Ok();
  };
  SplitScratch scratch;
  // Splits base[a, b) by the pre-tokenizer from stage `first` on (SPLIT; the built-in
  // splitters are one stage) and merges each pre-token.
  const auto split = [&](const char* base, size_t a, size_t b, uint32_t first) -> Status {
    if (v.pretokenizer == PreTokenizerType::SPLIT) {
      const auto emit = [&](size_t p, size_t e) { return encode_piece(base, p, e); };
      return SplitText(v.split_stages + first, v.n_split_stages - first, base, a, b, &scratch,
                       emit);
    }
    for (size_t pos = a; pos < b;) {
      const size_t end = a + NextPreToken(v.pretokenizer, base + a, b - a, pos - a);
      KITE_RETURN_IF_ERROR(encode_piece(base, pos, end));
      pos = end;
    }
    return Status::Ok();
  };
  // ByteLevel add_prefix_space: src[p, e), a piece reaching the prefix stage.
  const uint32_t prefix_stage = prefix ? static_cast<uint32_t>(v.prefix_space_stage) : 0;
  const auto prefix_piece = [&](size_t p, size_t e) -> Status {
    if (src[p] == ' ') return split(src, p, e, prefix_stage);
    prefixed_piece[0] = ' ';
    std::memcpy(prefixed_piece + 1, src + p, e - p);
    return split(prefixed_piece, 0, e - p + 1, prefix_stage);
  };
  // Splits src[a, b), text between added tokens, into pre-tokens and merges each.
  const auto encode_text = [&](size_t a, size_t b) -> Status {
    if (a == b) return Status::Ok();
    if (!prefix) return split(src, a, b, 0);
    if (prefix_stage == 0) return prefix_piece(a, b);
    return SplitText(v.split_stages, prefix_stage, src, a, b, &scratch, prefix_piece);
  };
  const auto push_id = [&](int32_t id) -> Status {
    KITE_CHECK_OR_RETURN(count < ids_capacity, Error::kOutOfMemory,
                         "Encode: the prefix spaces of %zu bytes of text need more than %zu "
                         "token slots",
                         len, capacity);
    out[count++] = id;
    return Status::Ok();
  };
  // Normalizes seg[0..seg_len) into the tail, then encodes it with the normalized added
  // tokens matched first.
  const auto encode_segment = [&](const char* seg, size_t seg_len) -> Status {
    if (seg_len == 0) return Status::Ok();
    src = seg;
    size_t n = seg_len;
    size_t words_a = 0;
    if (n_steps > 0) {
      NormalizedText r;
      if (!ApplyNormalizerPipeline(steps, n_steps, seg, seg_len,
                                   reinterpret_cast<char*>(out + count),
                                   (capacity - count) * sizeof(int32_t), &r)) {
        // One step: the text is known, so the figure is exact.
        const size_t m = r.scratch_needed;
        const size_t at_least =
            n_steps == 1 ? count + m + (prefix ? 1 + m / 4 + 1 : 0) + m / 4 + 1
                         : count + (m + sizeof(int32_t) - 1) / sizeof(int32_t);
        return Status::Make(Error::kOutOfMemory,
                            "Encode: %zu bytes of text need %s%zu token slots to normalize, "
                            "capacity is %zu",
                            len, n_steps == 1 ? "" : "at least ", at_least, capacity);
      }
      src = r.text;
      n = r.size;
      if (r.scratch_needed > 0) words_a = n / 4 + 1;
    }
    const size_t words_b = prefix ? n / 4 + 1 : 0;
    const size_t needed = count + n + (prefix ? 1 : 0) + words_a + words_b;
    KITE_CHECK_OR_RETURN(needed >= n && capacity >= needed, Error::kOutOfMemory,
                         "Encode: %zu bytes of text need %zu token slots before merging, "
                         "capacity is %zu",
                         len, needed, capacity);
    KITE_CHECK_OR_RETURN(v.pretokenizer != PreTokenizerType::SPLIT || n < UINT32_MAX,
                         Error::kInvalidArgument,
                         "Encode: %zu bytes of text are more than a split pre-tokenizer takes "
                         "at once (4 GiB)",
                         n);
    ids_capacity = capacity - words_a - words_b;
    prefixed_piece = prefix ? reinterpret_cast<char*>(out + ids_capacity) : nullptr;
    size_t segment = 0;
    if (v.max_user_length > 0) {
      for (size_t pos = 0; pos < n;) {
        int32_t id = -1;
        const size_t l = LongestUserToken(v, false, src + pos, n - pos, &id);
        if (l == 0) {
          ++pos;
          continue;
        }
        KITE_RETURN_IF_ERROR(encode_text(segment, pos));
        KITE_RETURN_IF_ERROR(push_id(id));
        pos += l;
        segment = pos;
      }
    }
    return encode_text(segment, n);
  };
  KITE_CHECK_OR_RETURN(!bos || capacity >= 1, Error::kOutOfMemory,
                       "Encode: %zu bytes of text need %zu token slots before merging, "
                       "capacity is %zu",
                       len, len + 1, capacity);
  if (bos) out[count++] = v.bos_id;
  // RAW added tokens split the text before normalization (Hugging Face's `normalized: false`).
  size_t segment = 0;
  if (v.max_raw_length > 0) {
    for (size_t pos = 0; pos < len;) {
      int32_t id = -1;
      const size_t l = LongestUserToken(v, true, text + pos, len - pos, &id);
      if (l == 0) {
        ++pos;
        continue;
      }
      KITE_RETURN_IF_ERROR(encode_segment(text + segment, pos - segment));
      ids_capacity = capacity;
      KITE_RETURN_IF_ERROR(push_id(id));
      pos += l;
      segment = pos;
    }
  }
  KITE_RETURN_IF_ERROR(encode_segment(text + segment, len - segment));
  *n_out = count;
  return Status::Ok();
}

}  // namespace kite
