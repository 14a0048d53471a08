#include "sdk/runtime/tokenizer/tokenizer_bpe.h"

#include <cstring>

#include "sdk/runtime/tokenizer/pretokenizer.h"

namespace kite {
namespace {

constexpr int32_t kDead = -1;
constexpr int32_t kNoMerge = -1;

bool IsTextKind(uint8_t kind) {
  return kind == static_cast<uint8_t>(TokenType::NORMAL) ||
         kind == static_cast<uint8_t>(TokenType::USER_DEFINED);
}

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

size_t NextAlive(const int32_t* tokens, size_t i, size_t n) {
  ++i;
  while (i < n && tokens[i] == kDead) ++i;
  return i;
}

size_t PrevAlive(const int32_t* tokens, size_t i, size_t n) {
  while (i > 0) {
    --i;
    if (tokens[i] != kDead) return i;
  }
  return n;
}

// The merge joining alive position i with the next alive token, or kNoMerge.
int32_t Candidate(const TokenizerView& v, const int32_t* tokens, size_t i, size_t n) {
  const size_t j = NextAlive(tokens, i, n);
  if (j >= n) return kNoMerge;
  return FindMerge(v, tokens[i], tokens[j]);
}

void Apply(const TokenizerView& v, int32_t* tokens, size_t i, size_t n, int32_t merge) {
  tokens[NextAlive(tokens, i, n)] = kDead;
  tokens[i] = static_cast<int32_t>(v.merges[merge].result());
}

size_t Compact(int32_t* tokens, size_t n) {
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (tokens[i] != kDead) tokens[kept++] = tokens[i];
  }
  return kept;
}

// Merging repeats "join the adjacent pair of lowest rank, the leftmost on ties" until no
// pair has a merge. As in tokenizer.cc, merged-away positions are marked dead; a dead run
// follows a token whose piece has a byte per position it absorbed, so skipping dead runs is
// bounded by the longest piece.

// O(n^2) lookups, no memory.
size_t MergeByRescanning(const TokenizerView& v, int32_t* tokens, size_t n) {
  for (;;) {
    int32_t best = kNoMerge;
    size_t best_pos = 0;
    for (size_t i = 0; i < n; i = NextAlive(tokens, i, n)) {
      const int32_t m = Candidate(v, tokens, i, n);
      if (m != kNoMerge && (best == kNoMerge || v.merges[m].rank() < v.merges[best].rank())) {
        best = m;
        best_pos = i;
      }
    }
    if (best == kNoMerge) break;
    Apply(v, tokens, best_pos, n, best);
  }
  return Compact(tokens, n);
}

// O(n log n): each position caches its candidate merge; a tournament tree over positions
// keeps the best one (lowest rank, then leftmost) at its root.
class RankMerger {
 public:
  static constexpr size_t kScratchPerToken = 2;

  RankMerger(const TokenizerView& v, int32_t* tokens, size_t n, int32_t* scratch)
      : v_(v), tokens_(tokens), n_(n), candidates_(scratch), tree_(scratch + n) {}

  size_t Run() {
    for (size_t i = 0; i < n_; ++i) candidates_[i] = Candidate(v_, tokens_, i, n_);
    // Internal nodes 1..n-1; node k has children 2k and 2k+1; index n + i is position i.
    for (size_t k = n_ - 1; k >= 1; --k) tree_[k] = Better(Child(2 * k), Child(2 * k + 1));
    for (;;) {
      const size_t best = static_cast<size_t>(tree_[1]);
      if (candidates_[best] == kNoMerge) break;
      const size_t right = NextAlive(tokens_, best, n_);
      Apply(v_, tokens_, best, n_, candidates_[best]);
      Set(right, kNoMerge);
      Set(best, Candidate(v_, tokens_, best, n_));
      const size_t left = PrevAlive(tokens_, best, n_);
      if (left < n_) Set(left, Candidate(v_, tokens_, left, n_));
    }
    return Compact(tokens_, n_);
  }

 private:
  int32_t Child(size_t node) const {
    return node >= n_ ? static_cast<int32_t>(node - n_) : tree_[node];
  }

  int32_t Better(int32_t a, int32_t b) const {
    const int32_t ma = candidates_[a];
    const int32_t mb = candidates_[b];
    if (ma == kNoMerge) return mb == kNoMerge ? (a < b ? a : b) : b;
    if (mb == kNoMerge) return a;
    const uint32_t ra = v_.merges[ma].rank();
    const uint32_t rb = v_.merges[mb].rank();
    if (ra != rb) return ra < rb ? a : b;
    return a < b ? a : b;
  }

  void Set(size_t pos, int32_t merge) {
    candidates_[pos] = merge;
    for (size_t k = (pos + n_) / 2; k >= 1; k /= 2) {
      tree_[k] = Better(Child(2 * k), Child(2 * k + 1));
    }
  }

  const TokenizerView& v_;
  int32_t* tokens_;
  size_t n_;
  int32_t* candidates_;
  int32_t* tree_;  // tree_[0] is unused
};

size_t MergeRanked(const TokenizerView& v, int32_t* tokens, size_t n, size_t spare) {
  if (n < 2 || v.n_merges == 0) return n;
  if (n <= static_cast<size_t>(INT32_MAX) / 2 && spare / RankMerger::kScratchPerToken >= n) {
    return RankMerger(v, tokens, n, tokens + n).Run();
  }
  return MergeByRescanning(v, tokens, n);
}

int CompareBytes(const char* a, size_t a_size, const char* b, size_t b_size) {
  const size_t common = a_size < b_size ? a_size : b_size;
  if (common > 0) {
    const int r = std::memcmp(a, b, common);
    if (r != 0) return r;
  }
  return a_size < b_size ? -1 : (a_size > b_size ? 1 : 0);
}

}  // namespace

int32_t FindTextPieceBytes(const TokenizerView& v, const char* bytes, size_t n) {
  if (n > v.max_piece_length) return -1;
  size_t lo = 0;
  size_t hi = v.vocab_size;
  const auto compare = [&](uint32_t id) {
    const uint32_t begin = v.piece_offsets[id];
    return CompareBytes(v.pieces + begin, v.piece_offsets[id + 1] - begin - 1, bytes, n);
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
    if (IsTextKind(v.types[v.sorted_ids[lo]])) return static_cast<int32_t>(v.sorted_ids[lo]);
  }
  return -1;
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
  for (size_t pos = 0; pos < len;) {
    const size_t end = NextPreToken(v.pretokenizer, text, len, pos);
    const size_t m = end - pos;
    if (v.ignore_merges) {
      const int32_t whole = FindTextPieceBytes(v, text + pos, m);
      if (whole >= 0) {
        out[count++] = whole;
        pos = end;
        continue;
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
    pos = end;
  }
  *n_out = count;
  return Status::Ok();
}

}  // namespace kite
