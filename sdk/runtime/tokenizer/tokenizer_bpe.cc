#include "sdk/runtime/tokenizer/tokenizer_bpe.h"

#include <cstring>

#include "sdk/runtime/tokenizer/bpe_common.h"
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

// The lowest id of a piece spelled exactly bytes[0..n) whose type passes `accept`, or -1.
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
    if (accept(v.types[v.sorted_ids[lo]])) return static_cast<int32_t>(v.sorted_ids[lo]);
  }
  return -1;
}

bool IsUserDefined(uint8_t type) { return type == static_cast<uint8_t>(TokenType::USER_DEFINED); }

// The length of the longest USER_DEFINED piece starting at text[0..n) (its id in *id), or 0.
size_t LongestUserToken(const TokenizerView& v, const char* text, size_t n, int32_t* id) {
  const uint8_t b = static_cast<uint8_t>(text[0]);
  if ((v.user_first_bytes[b >> 3] & (1u << (b & 7))) == 0) return 0;
  for (size_t l = n < v.max_user_length ? n : v.max_user_length; l > 0; --l) {
    *id = FindPieceBytes(v, text, l, IsUserDefined);
    if (*id >= 0) return l;
  }
  return 0;
}

}  // namespace

void IndexUserDefinedTokens(TokenizerView* v) {
  for (uint8_t& b : v->user_first_bytes) b = 0;
  v->max_user_length = 0;
  if (v->kind != TokenizerType::BYTE_BPE) return;
  for (uint32_t id = 0; id < v->vocab_size; ++id) {
    const uint32_t begin = v->piece_offsets[id];
    const uint32_t n = v->piece_offsets[id + 1] - begin - 1;
    if (!IsUserDefined(v->types[id]) || n == 0) continue;
    const uint8_t b = static_cast<uint8_t>(v->pieces[begin]);
    v->user_first_bytes[b >> 3] = static_cast<uint8_t>(v->user_first_bytes[b >> 3] | (1u << (b & 7)));
    if (n > v->max_user_length) v->max_user_length = n;
  }
}

int32_t FindTextPieceBytes(const TokenizerView& v, const char* bytes, size_t n) {
  return FindPieceBytes(v, bytes, n, tokenizer_internal::IsTextKind);
}

Status EncodeByteBpe(const TokenizerView& v, const char* text, size_t len, bool add_bos,
                     int32_t* out, size_t capacity, size_t* n_out) {
  const bool bos = add_bos && v.bos_id >= 0 && static_cast<uint32_t>(v.bos_id) < v.vocab_size;
  const size_t needed = len + (bos ? 1 : 0);
  KITE_CHECK_OR_RETURN(needed >= len && capacity >= needed, Error::kOutOfMemory,
                       "Encode: %zu bytes of text need %zu token slots before merging, "
                       "capacity is %zu",
                       len, needed, capacity);
  KITE_CHECK_OR_RETURN(v.byte_ids != nullptr, Error::kInvalidFormat,
                       "Encode: the byte-level tokenizer has no byte table");
  size_t count = 0;
  if (bos) out[count++] = v.bos_id;
  // Merges the pre-token text[pos, end) into out[count..).
  const auto encode_piece = [&](size_t pos, size_t end) -> Status {
    const size_t m = end - pos;
    if (v.ignore_merges) {
      const int32_t whole = FindTextPieceBytes(v, text + pos, m);
      if (whole >= 0) {
        out[count++] = whole;
        return Status::Ok();
      }
    }
    for (size_t i = 0; i < m; ++i) {
      const uint8_t byte = static_cast<uint8_t>(text[pos + i]);
      const int32_t id = v.byte_ids[byte];
      KITE_CHECK_OR_RETURN(id >= 0, Error::kInvalidArgument,
                           "text byte 0x%02X at offset %zu has no token in this vocabulary",
                           static_cast<unsigned>(byte), pos + i);
      out[count + i] = id;
    }
    // Entries after this pre-token's bytes are free: the rest of the text needs at most
    // one per remaining byte, which `needed` reserved.
    count += MergeRanked(v, out + count, m, capacity - count - m);
    return Status::Ok();
  };
  // Splits text[a, b) into pre-tokens and merges each.
  const auto encode_text = [&](size_t a, size_t b) -> Status {
    if (v.pretokenizer == PreTokenizerType::SPLIT) {
      SplitScratch scratch;
      return SplitText(v.split_stages, v.n_split_stages, text, a, b, &scratch, encode_piece);
    }
    for (size_t pos = a; pos < b;) {
      const size_t end = a + NextPreToken(v.pretokenizer, text + a, b - a, pos - a);
      KITE_RETURN_IF_ERROR(encode_piece(pos, end));
      pos = end;
    }
    return Status::Ok();
  };
  KITE_CHECK_OR_RETURN(v.pretokenizer != PreTokenizerType::SPLIT || len <= UINT32_MAX,
                       Error::kInvalidArgument,
                       "Encode: %zu bytes of text are more than a split pre-tokenizer takes "
                       "at once (4 GiB)",
                       len);
  size_t segment = 0;
  if (v.max_user_length > 0) {
    for (size_t pos = 0; pos < len;) {
      int32_t id = -1;
      const size_t n = LongestUserToken(v, text + pos, len - pos, &id);
      if (n == 0) {
        ++pos;
        continue;
      }
      KITE_RETURN_IF_ERROR(encode_text(segment, pos));
      out[count++] = id;
      pos += n;
      segment = pos;
    }
  }
  KITE_RETURN_IF_ERROR(encode_text(segment, len));
  *n_out = count;
  return Status::Ok();
}

}  // namespace kite
