// What both BPE tokenizers share (tokenizer.cc: SentencePiece-style score BPE;
// tokenizer_bpe.cc: byte-level rank BPE): which pieces text may become, the byte order of
// the sorted piece table, and the pair-merging loop. Internal to sdk/runtime/tokenizer/.
//
// The loop: repeatedly join the adjacent pair that a Rule ranks first (the leftmost on
// ties) until no pair joins. Merged-away positions are marked dead (kDeadToken) instead of
// shifting the array, so positions keep their order; the caller compacts at the end. A dead
// run only follows a token that absorbed it, whose piece holds at least one byte per
// absorbed position, so skipping dead runs costs at most max_piece_length steps.
//
// A Rule (a small class over a TokenizerView) provides, for alive positions of `tokens`:
//   int32_t Candidate(const int32_t* tokens, size_t i, size_t n) const;
//     what joining position i with the next alive token gives (a Rule-defined value
//     >= 0), or -1 when that pair does not join;
//   bool Precedes(int32_t a, int32_t b) const;
//     whether candidate a merges strictly before candidate b (both >= 0);
//   void Apply(int32_t* tokens, size_t i, size_t n, int32_t candidate) const;
//     replaces position i by the joined token and marks the next alive position dead.
// Nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sdk/format/format.h"

namespace kite::tokenizer_internal {

/// Whether a piece of this TokenType may come from matching text: NORMAL and USER_DEFINED.
/// Control, unknown, byte and unused pieces only come from their ids.
inline bool IsTextKind(uint8_t kind) {
  return kind == static_cast<uint8_t>(TokenType::NORMAL) ||
         kind == static_cast<uint8_t>(TokenType::USER_DEFINED);
}

/// Three-way comparison of the byte strings a[0..a_size) and b[0..b_size) in the order of
/// TokenizerView::sorted_ids (memcmp, a prefix first): < 0, 0 or > 0.
inline int CompareBytes(const char* a, size_t a_size, const char* b, size_t b_size) {
  const size_t common = a_size < b_size ? a_size : b_size;
  if (common > 0) {
    const int r = std::memcmp(a, b, common);
    if (r != 0) return r;
  }
  return a_size < b_size ? -1 : (a_size > b_size ? 1 : 0);
}

/// Marks a position whose token was merged into its left neighbour.
inline constexpr int32_t kDeadToken = -1;

/// The alive position after i, or n when there is none.
inline size_t NextAlive(const int32_t* tokens, size_t i, size_t n) {
  ++i;
  while (i < n && tokens[i] == kDeadToken) ++i;
  return i;
}

/// The alive position before i, or n when there is none.
inline size_t PrevAlive(const int32_t* tokens, size_t i, size_t n) {
  while (i > 0) {
    --i;
    if (tokens[i] != kDeadToken) return i;
  }
  return n;
}

/// Moves the alive tokens to the front; returns their count.
inline size_t CompactAlive(int32_t* tokens, size_t n) {
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (tokens[i] != kDeadToken) tokens[kept++] = tokens[i];
  }
  return kept;
}

/// O(n^2) candidate lookups: finds the first pair by looking every pair up again. Needs no
/// memory. Returns the new count of tokens[0..n).
template <class Rule>
size_t MergeByRescanning(const Rule& rule, int32_t* tokens, size_t n) {
  for (;;) {
    int32_t best = -1;
    size_t best_pos = 0;
    // Position 0 is never dead: merges only kill the right token of a pair.
    for (size_t i = 0; i < n; i = NextAlive(tokens, i, n)) {
      const int32_t c = rule.Candidate(tokens, i, n);
      if (c >= 0 && (best < 0 || rule.Precedes(c, best))) {
        best = c;
        best_pos = i;
      }
    }
    if (best < 0) break;
    rule.Apply(tokens, best_pos, n, best);
  }
  return CompactAlive(tokens, n);
}

/// O(n log n): caches each position's candidate and keeps a tournament tree over the
/// positions whose root is the first pair to merge (Rule order, then leftmost). A merge
/// changes only the candidates of the merged position and of its left neighbour.
template <class Rule>
class CachedPairMerger {
 public:
  /// Needs kScratchPerToken * n entries at `scratch` (n for candidates, n for the tree).
  static constexpr size_t kScratchPerToken = 2;

  /// Requires 2 <= n <= INT32_MAX (positions are stored as int32_t).
  CachedPairMerger(const Rule& rule, int32_t* tokens, size_t n, int32_t* scratch)
      : rule_(rule), tokens_(tokens), n_(n), candidates_(scratch), tree_(scratch + n) {}

  /// Merges until no pair joins; returns the new count.
  size_t Run() {
    for (size_t i = 0; i < n_; ++i) candidates_[i] = rule_.Candidate(tokens_, i, n_);
    // Internal nodes 1..n-1; node k has children 2k and 2k+1; index n + i is position i.
    for (size_t k = n_ - 1; k >= 1; --k) tree_[k] = Better(Child(2 * k), Child(2 * k + 1));
    for (;;) {
      const size_t best = static_cast<size_t>(tree_[1]);
      if (candidates_[best] < 0) break;
      const size_t right = NextAlive(tokens_, best, n_);
      rule_.Apply(tokens_, best, n_, candidates_[best]);
      SetCandidate(right, -1);
      SetCandidate(best, rule_.Candidate(tokens_, best, n_));
      const size_t left = PrevAlive(tokens_, best, n_);
      if (left < n_) SetCandidate(left, rule_.Candidate(tokens_, left, n_));
    }
    return CompactAlive(tokens_, n_);
  }

 private:
  int32_t Child(size_t node) const {
    return node >= n_ ? static_cast<int32_t>(node - n_) : tree_[node];
  }

  // The position whose pair merges first: the Rule's order, then the lower position.
  int32_t Better(int32_t a, int32_t b) const {
    const int32_t ca = candidates_[a];
    const int32_t cb = candidates_[b];
    if (ca < 0) return cb < 0 ? (a < b ? a : b) : b;
    if (cb < 0) return a;
    if (rule_.Precedes(ca, cb)) return a;
    if (rule_.Precedes(cb, ca)) return b;
    return a < b ? a : b;
  }

  void SetCandidate(size_t pos, int32_t candidate) {
    candidates_[pos] = candidate;
    for (size_t k = (pos + n_) / 2; k >= 1; k /= 2) {
      tree_[k] = Better(Child(2 * k), Child(2 * k + 1));
    }
  }

  const Rule& rule_;
  int32_t* tokens_;
  size_t n_;
  int32_t* candidates_;
  int32_t* tree_;  // tree_[0] is unused
};

}  // namespace kite::tokenizer_internal
