// Split patterns for byte-level BPE pre-tokenization: a compiled regular-expression program
// (the format below, written by the converter's compiler tools/convert/tokenizer/
// split_regex_compiler.h into the .kite file) and its matcher, a Pike VM: a Thompson NFA
// simulation that keeps Perl's leftmost-first priority (alternation order matters, quantifiers
// are greedy or lazy as written), in time O(extent * program length) per search and with no
// backtracking. Host and firmware code: no heap, no exceptions; the state sets live in a
// SplitScratch the caller provides.
//
// Program format (all words uint32, little-endian in the file):
//   word 0            n_inst, the number of instructions (1..kMaxSplitInstructions)
//   words 1..2*n_inst instruction i = words (1 + 2i, 2 + 2i) = (op | a << 8, b)
//   the rest          class pool; a class at word offset k (from word 0) is
//                     (n_ranges | negated << 31, category mask, first0, last0, first1, ...)
//                     with ranges sorted and disjoint. The category mask has bit c set for
//                     each unicode::GeneralCategory c the class contains.
// Ops (SplitOp): kChar (b = code point), kAny (any code point but '\n'), kClass (b = class
// offset), kSplit (try pc a first, then pc b), kJmp (to b), kMatch, kAssertNext (b = class;
// holds when the next character is in the class, or with a = 1 when it is not or there is
// none: (?=[..]) and (?![..])), kAssertBegin (^: start of the subject), kAssertEnd ($: end of
// the subject), kAssertRun (b = class, a = k << 1 | plus; holds when the run of characters in
// the class starting here, up to the end of the subject, has a length that is a multiple of k,
// at least k when plus: (?=(?:[..]{k})*(?![..])) and (?=(?:[..]{k})+(?![..])), as SuperBPE's
// digit groups use; 1 <= k <= kMaxSplitRunGroup), kAssertWordBoundary (\b, or \B with a = 1:
// whether the characters before and after here, inside the subject, differ in being word
// characters, kWordCategories), kAssertRunBoundary (b = class of word characters only, a = k:
// holds when the run of the class starting here is n > 0 characters long, n a multiple of k,
// and no word character follows it: with \b, what (?=(?:\d{3})*\b) asks). A byte that does
// not start valid UTF-8 is one character of code point kInvalidCodepoint (0xFFFFFFFF) and
// category Cn: \S and \P{L} hold it, \s and \p{L} do not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "sdk/base/status.h"
#include "sdk/format/format.h"
#include "sdk/runtime/tokenizer/unicode_tables.h"

namespace kite {

/// Instruction opcodes of a split program (see the file comment).
enum class SplitOp : uint8_t {
  kChar = 0,
  kAny = 1,
  kClass = 2,
  kSplit = 3,
  kJmp = 4,
  kMatch = 5,
  kAssertNext = 6,
  kAssertBegin = 7,
  kAssertEnd = 8,
  kAssertRun = 9,
  kAssertWordBoundary = 10,
  kAssertRunBoundary = 11,
};

/// The general categories (bits by unicode::GeneralCategory) of word characters, \w and \b:
/// letters, marks, numbers and connector punctuation, as Oniguruma (the engine of Hugging
/// Face's tokenizers) has them for Unicode text.
inline constexpr uint32_t kWordCategories = [] {
  using C = unicode::GeneralCategory;
  uint32_t mask = 0;
  for (C c : {C::kLu, C::kLl, C::kLt, C::kLm, C::kLo, C::kMn, C::kMc, C::kMe, C::kNd, C::kNl,
              C::kNo, C::kPc}) {
    mask |= 1u << static_cast<uint32_t>(c);
  }
  return mask;
}();

/// Longest program the matcher runs (instructions); the compiler refuses longer patterns.
inline constexpr uint32_t kMaxSplitInstructions = 256;
/// Most split stages one tokenizer applies in sequence.
inline constexpr uint32_t kMaxSplitStages = 8;
/// Largest group length k of a kAssertRun.
inline constexpr uint32_t kMaxSplitRunGroup = 100;

// SplitBehavior (sdk/format/format.h, from the schema) says how a stage keeps the pieces its
// matches and the gaps between them make: ISOLATED (each its own piece), REMOVED (matches
// dropped), MERGED_WITH_PREVIOUS / MERGED_WITH_NEXT (a match joins the gap before / after
// it), CONTIGUOUS (adjacent matches form one piece): Hugging Face's Split behaviors.

/// A validated split program: borrowed words (normally inside the mapped .kite file).
struct SplitProgram {
  const uint32_t* words = nullptr;
  uint32_t n_words = 0;
};

/// One stage of a split pre-tokenizer: its pattern and how matches become pieces. With
/// `invert`, the gaps play the role of matches.
struct SplitStage {
  SplitProgram program;
  SplitBehavior behavior = SplitBehavior::ISOLATED;
  bool invert = false;
};

/// What a kAssertRun last learned about one run: from `pos`, `count` characters of the class
/// reach `run_end` (the run's end) in the subject ending at `end`. Searches move forward, so
/// the next question usually advances `pos` a little: the run is scanned once, not once per
/// position. Empty while `words` is null.
struct SplitRunCache {
  const uint32_t* words = nullptr;
  uint32_t class_offset = 0;
  size_t end = 0;
  size_t pos = 0;
  size_t run_end = 0;
  size_t count = 0;
};

/// Working memory of searches: thread lists, the closure stack, visit stamps (sized for
/// kMaxSplitInstructions) and one run cache per stage (about 5 KB). Owned by the caller, one
/// per thread; construct it (value-initialized: marks and stamp zero) and reuse it for any
/// number of searches.
struct SplitScratch {
  uint32_t stamp = 0;
  uint32_t mark[kMaxSplitInstructions] = {};
  uint16_t pcs[2][kMaxSplitInstructions];
  uint32_t starts[2][kMaxSplitInstructions];
  uint16_t stack[2 * kMaxSplitInstructions + 1];
  SplitRunCache runs[kMaxSplitStages] = {};
  uint32_t next_run = 0;  // the cache entry to reuse next

  /// Forgets what the run caches learned about `words` (every program when null). SplitText
  /// does this for its stages on entry, keeping what an enclosing SplitText learned.
  void ClearRuns(const uint32_t* words = nullptr) {
    for (SplitRunCache& r : runs) {
      if (words == nullptr || r.words == words) r = SplitRunCache{};
    }
  }
};

/// Checks that words[0..n_words) is a well-formed program: instruction count in range, every
/// op known, every jump target an instruction, every class inside the words with sorted,
/// disjoint ranges. The matcher relies on it. `what` names the program in messages.
Status ValidateSplitProgram(const uint32_t* words, uint32_t n_words, const char* what);

/// Searches text[from, end) for the leftmost-first match of `program`, the subject being
/// text[begin, end) (begin <= from <= end; ^ and $ refer to begin and end, and lookahead stops
/// at end). On a match, stores its bounds in *match_begin / *match_end and returns true.
/// Adds the number of thread steps taken to *steps when steps is not null (for tests that
/// bound the work). Offsets must fit in 32 bits relative to `begin`. No heap. The scratch's run
/// caches (kAssertRun) trust that the text is unchanged since the last search with the same
/// program and `end`: call scratch->ClearRuns(program.words) after changing it.
bool FindSplitMatch(const SplitProgram& program, const char* text, size_t begin, size_t end,
                    size_t from, SplitScratch* scratch, size_t* match_begin, size_t* match_end,
                    uint64_t* steps = nullptr);

/// Splits text[begin, end) by stages[0..n_stages) in sequence (each stage splits every piece
/// of the one before) and calls emit(piece_begin, piece_end) for each final, non-empty piece
/// in text order. An empty match is a boundary, as in Hugging Face's Split (which drops the
/// empty pieces): (?=(\d{3})+(?!\d)) cuts "1234567" into "1", "234", "567". As there, the
/// search after an empty match starts one character on, and an empty match right where the
/// previous match ended is skipped. Stops at and returns the first error emit returns.
/// Recursion depth is n_stages (at most kMaxSplitStages). No heap.
template <typename Emit>
Status SplitText(const SplitStage* stages, uint32_t n_stages, const char* text, size_t begin,
                 size_t end, SplitScratch* scratch, Emit& emit, uint64_t* steps = nullptr);

// ---------------------------------------------------------------------------------------
// Implementation of the template.

namespace split_internal {

// Whether a boundary separates segment kinds (prev_match, match) under `behavior` (for
// kRemoved, matches are dropped before this is asked).
inline bool Boundary(SplitBehavior behavior, bool prev_match, bool match) {
  switch (behavior) {
    case SplitBehavior::MERGED_WITH_PREVIOUS:
      return !(match && !prev_match);
    case SplitBehavior::MERGED_WITH_NEXT:
      return !(prev_match && !match);
    case SplitBehavior::CONTIGUOUS:
      return prev_match != match;
    case SplitBehavior::ISOLATED:
    case SplitBehavior::REMOVED:
      break;
  }
  return true;
}

template <typename Emit>
Status SplitStageRange(const SplitStage* stages, uint32_t n_stages, uint32_t stage,
                       const char* text, size_t begin, size_t end, SplitScratch* scratch,
                       Emit& emit, uint64_t* steps) {
  if (begin == end) return Status::Ok();
  if (stage == n_stages) return emit(begin, end);
  const SplitStage& s = stages[stage];
  size_t piece_begin = begin;
  size_t piece_end = begin;
  bool have_prev = false;
  bool prev_match = false;
  // One segment: [a, b) is a gap (match == false) or a match, after inversion. An empty
  // segment counts only when it is an empty match (`empty_match`): a boundary.
  const auto segment = [&](size_t a, size_t b, bool match, bool empty_match) -> Status {
    if (a == b && !empty_match) return Status::Ok();
    if (s.behavior == SplitBehavior::REMOVED && match) {
      KITE_RETURN_IF_ERROR(SplitStageRange(stages, n_stages, stage + 1, text, piece_begin,
                                           piece_end, scratch, emit, steps));
      piece_begin = piece_end = b;
      have_prev = false;
      return Status::Ok();
    }
    if (have_prev && Boundary(s.behavior, prev_match, match)) {
      KITE_RETURN_IF_ERROR(SplitStageRange(stages, n_stages, stage + 1, text, piece_begin,
                                           piece_end, scratch, emit, steps));
      piece_begin = a;
    }
    piece_end = b;
    have_prev = true;
    prev_match = match;
    return Status::Ok();
  };
  size_t pos = begin;              // end of the segments so far
  size_t from = begin;             // where the next search starts
  size_t last_match_end = SIZE_MAX;  // end of the previous match
  while (from < end) {  // an empty match at the end would cut nothing
    size_t mb = end;
    size_t me = end;
    if (!FindSplitMatch(s.program, text, begin, end, from, scratch, &mb, &me, steps)) break;
    const bool empty = me == mb;
    if (!(empty && mb == last_match_end)) {
      KITE_RETURN_IF_ERROR(segment(pos, mb, s.invert, false));
      KITE_RETURN_IF_ERROR(segment(mb, me, !s.invert, empty));
      pos = me;
    }
    last_match_end = me;
    if (!empty) {
      from = me;
      continue;
    }
    if (mb >= end) break;
    from = mb + 1;  // one character on
    while (from < end && (static_cast<uint8_t>(text[from]) & 0xC0) == 0x80) ++from;
  }
  KITE_RETURN_IF_ERROR(segment(pos, end, s.invert, false));
  return SplitStageRange(stages, n_stages, stage + 1, text, piece_begin, piece_end, scratch, emit,
                         steps);
}

}  // namespace split_internal

template <typename Emit>
Status SplitText(const SplitStage* stages, uint32_t n_stages, const char* text, size_t begin,
                 size_t end, SplitScratch* scratch, Emit& emit, uint64_t* steps) {
  for (uint32_t i = 0; i < n_stages; ++i) scratch->ClearRuns(stages[i].program.words);
  return split_internal::SplitStageRange(stages, n_stages, 0, text, begin, end, scratch, emit,
                                         steps);
}

}  // namespace kite
