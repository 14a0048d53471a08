#include "sdk/runtime/tokenizer/split_regex.h"

#include "sdk/runtime/tokenizer/pretokenizer.h"
#include "sdk/runtime/tokenizer/unicode_tables.h"

namespace kite {
namespace {

constexpr uint32_t kOpCount = 12;

SplitOp OpOf(const uint32_t* words, uint32_t pc) {
  return static_cast<SplitOp>(words[1 + 2 * pc] & 0xFF);
}
uint32_t AOf(const uint32_t* words, uint32_t pc) { return words[1 + 2 * pc] >> 8; }
uint32_t BOf(const uint32_t* words, uint32_t pc) { return words[2 + 2 * pc]; }

// A decoded character: its code point and the bit of its general category (an invalid byte
// counts as unassigned, Cn).
struct Char {
  uint32_t cp;
  uint32_t category_bit;
  size_t len;
};

Char DecodeAt(const char* text, size_t pos, size_t end) {
  Char c;
  c.len = DecodeUtf8(text, end, pos, &c.cp);
  const unicode::GeneralCategory cat =
      c.cp == kInvalidCodepoint ? unicode::GeneralCategory::kCn : unicode::CategoryOf(c.cp);
  c.category_bit = 1u << static_cast<uint32_t>(cat);
  return c;
}

bool ClassHas(const uint32_t* words, uint32_t offset, const Char& c) {
  const uint32_t head = words[offset];
  const uint32_t n = head & 0x7FFFFFFFu;
  const bool negated = (head >> 31) != 0;
  bool in = (words[offset + 1] & c.category_bit) != 0;
  if (!in) {
    const uint32_t* ranges = words + offset + 2;
    uint32_t lo = 0;
    uint32_t hi = n;
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (c.cp < ranges[2 * mid]) {
        hi = mid;
      } else if (c.cp > ranges[2 * mid + 1]) {
        lo = mid + 1;
      } else {
        in = true;
        break;
      }
    }
  }
  return in != negated;
}

bool Consumes(const uint32_t* words, uint32_t pc, const Char& c) {
  switch (OpOf(words, pc)) {
    case SplitOp::kChar:
      return c.cp == BOf(words, pc);
    case SplitOp::kAny:
      return c.cp != '\n';
    case SplitOp::kClass:
      return ClassHas(words, BOf(words, pc), c);
    default:
      return false;
  }
}

bool IsWord(const Char& c) { return (c.category_bit & kWordCategories) != 0; }

// Whether the character that ends at `pos` (after `begin`) is a word character. A byte that
// does not end a valid UTF-8 sequence there is an invalid character: not a word character.
bool WordBefore(const char* text, size_t begin, size_t pos) {
  if (pos <= begin) return false;
  size_t start = pos - 1;
  while (start > begin && pos - start < 4 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) {
    --start;
  }
  const Char c = DecodeAt(text, start, pos);
  return start + c.len == pos && IsWord(c);
}

// The number of characters of class `cls` from pos to the end of their run (at most `end`),
// through the scratch's run cache (see SplitRunCache); the run's end offset in *run_end.
// Counts scanned characters in *steps.
size_t RunLength(const uint32_t* words, uint32_t cls, SplitScratch* s, const char* text,
                 size_t pos, size_t end, uint64_t* steps, size_t* run_end) {
  SplitRunCache* c = nullptr;
  for (SplitRunCache& r : s->runs) {
    if (r.words == words && r.class_offset == cls && r.end == end) c = &r;
  }
  // Characters of the class from `from`, stopping at `stop` or the first one outside it.
  const auto scan = [&](size_t from, size_t stop, size_t* count) {
    size_t p = from;
    while (p < stop) {
      const Char ch = DecodeAt(text, p, end);
      if (!ClassHas(words, cls, ch)) break;
      p += ch.len;
      ++*count;
    }
    if (steps != nullptr) *steps += *count;
    return p;
  };
  if (c != nullptr && c->pos <= pos && pos <= c->run_end) {
    size_t passed = 0;
    if (scan(c->pos, pos, &passed) == pos && passed <= c->count) {  // inside the run, as known
      c->pos = pos;
      c->count -= passed;
      *run_end = c->run_end;
      return c->count;
    }
  }
  if (c != nullptr && pos < c->pos && c->pos <= c->run_end) {
    size_t k = 0;
    const size_t p = scan(pos, c->pos, &k);
    if (p == c->pos) {
      c->pos = pos;
      c->count += k;
      *run_end = c->run_end;
      return c->count;
    }
    c->pos = pos;
    c->run_end = p;
    c->count = k;
    *run_end = p;
    return k;
  }
  if (c == nullptr) {
    c = &s->runs[s->next_run];
    s->next_run = (s->next_run + 1) % kMaxSplitStages;
  }
  size_t k = 0;
  *c = SplitRunCache{words, cls, end, pos, scan(pos, end, &k), 0};
  c->count = k;
  *run_end = c->run_end;
  return k;
}

// The thread list of one position: consuming instructions in priority order.
struct List {
  uint16_t* pcs;
  uint32_t* starts;
  uint32_t n;
};

// Adds pc and everything reachable from it by epsilon moves, in priority order (depth first,
// the preferred branch first), to `list`, at text position pos (relative offset rel). Each
// instruction enters at most once per position (`mark` == stamp).
void AddThread(const uint32_t* words, SplitScratch* s, uint32_t stamp, List* list, uint32_t pc0,
               uint32_t start, const char* text, size_t begin, size_t pos, size_t end,
               uint64_t* steps) {
  uint32_t top = 0;
  s->stack[top++] = static_cast<uint16_t>(pc0);
  bool have_next = false;
  Char next{};
  while (top > 0) {
    const uint32_t pc = s->stack[--top];
    if (s->mark[pc] == stamp) continue;
    s->mark[pc] = stamp;
    if (steps != nullptr) ++*steps;
    switch (OpOf(words, pc)) {
      case SplitOp::kSplit:
        s->stack[top++] = static_cast<uint16_t>(BOf(words, pc));
        s->stack[top++] = static_cast<uint16_t>(AOf(words, pc));
        break;
      case SplitOp::kJmp:
        s->stack[top++] = static_cast<uint16_t>(BOf(words, pc));
        break;
      case SplitOp::kAssertBegin:
        if (pos == begin) s->stack[top++] = static_cast<uint16_t>(pc + 1);
        break;
      case SplitOp::kAssertEnd:
        if (pos == end) s->stack[top++] = static_cast<uint16_t>(pc + 1);
        break;
      case SplitOp::kAssertNext: {
        if (!have_next && pos < end) {
          next = DecodeAt(text, pos, end);
          have_next = true;
        }
        const bool in = pos < end && ClassHas(words, BOf(words, pc), next);
        const bool negative = AOf(words, pc) != 0;
        if (in != negative) s->stack[top++] = static_cast<uint16_t>(pc + 1);
        break;
      }
      case SplitOp::kAssertRun: {
        const uint32_t k = AOf(words, pc) >> 1;
        const bool plus = (AOf(words, pc) & 1) != 0;
        size_t run_end = pos;
        const size_t n = RunLength(words, BOf(words, pc), s, text, pos, end, steps, &run_end);
        if (n % k == 0 && (!plus || n > 0)) s->stack[top++] = static_cast<uint16_t>(pc + 1);
        break;
      }
      case SplitOp::kAssertWordBoundary: {
        if (!have_next && pos < end) {
          next = DecodeAt(text, pos, end);
          have_next = true;
        }
        const bool boundary = WordBefore(text, begin, pos) != (pos < end && IsWord(next));
        if (boundary != (AOf(words, pc) != 0)) s->stack[top++] = static_cast<uint16_t>(pc + 1);
        break;
      }
      case SplitOp::kAssertRunBoundary: {
        const uint32_t k = AOf(words, pc);
        size_t run_end = pos;
        const size_t n = RunLength(words, BOf(words, pc), s, text, pos, end, steps, &run_end);
        if (n > 0 && n % k == 0 &&
            (run_end >= end || !IsWord(DecodeAt(text, run_end, end)))) {
          s->stack[top++] = static_cast<uint16_t>(pc + 1);
        }
        break;
      }
      default:  // kChar, kAny, kClass, kMatch wait for the next character (or end)
        list->pcs[list->n] = static_cast<uint16_t>(pc);
        list->starts[list->n] = start;
        ++list->n;
        break;
    }
  }
}

}  // namespace

namespace unicode {

GeneralCategory CategoryOf(uint32_t cp) {
  if (cp < 256) return static_cast<GeneralCategory>(kLatin1Categories[cp]);
  // The last run starting at or before cp.
  uint32_t lo = 0;
  uint32_t hi = kCategoryRunCount;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if ((kCategoryRuns[mid] >> 5) <= cp) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return static_cast<GeneralCategory>(kCategoryRuns[lo] & 31);
}

}  // namespace unicode

Status ValidateSplitProgram(const uint32_t* words, uint32_t n_words, const char* what) {
  KITE_CHECK_OR_RETURN(words != nullptr && n_words >= 1, Error::kInvalidFormat,
                       "%s: the split program is empty", what);
  const uint32_t n = words[0];
  KITE_CHECK_OR_RETURN(n >= 1 && n <= kMaxSplitInstructions && 1 + 2 * n <= n_words,
                       Error::kInvalidFormat,
                       "%s: the split program has %u instructions (1..%u) in %u words", what, n,
                       kMaxSplitInstructions, n_words);
  const auto class_ok = [&](uint32_t offset) {
    if (offset < 1 + 2 * n || offset > n_words || n_words - offset < 2) return false;
    const uint32_t count = words[offset] & 0x7FFFFFFFu;
    if (count > (n_words - offset - 2) / 2) return false;
    const uint32_t* r = words + offset + 2;
    for (uint32_t i = 0; i < count; ++i) {
      if (r[2 * i] > r[2 * i + 1] || (i > 0 && r[2 * i] <= r[2 * i - 1])) return false;
    }
    return true;
  };
  for (uint32_t pc = 0; pc < n; ++pc) {
    const uint32_t op = words[1 + 2 * pc] & 0xFF;
    const uint32_t a = AOf(words, pc);
    const uint32_t b = BOf(words, pc);
    KITE_CHECK_OR_RETURN(op < kOpCount, Error::kInvalidFormat,
                         "%s: split program instruction %u has unknown op %u", what, pc, op);
    bool ok = true;
    switch (static_cast<SplitOp>(op)) {
      case SplitOp::kSplit:
        ok = a < n && b < n;
        break;
      case SplitOp::kJmp:
        ok = b < n;
        break;
      case SplitOp::kClass:
        ok = class_ok(b);
        break;
      case SplitOp::kAssertNext:
        ok = class_ok(b) && a <= 1 && pc + 1 < n;
        break;
      case SplitOp::kAssertRun:
        ok = class_ok(b) && (a >> 1) >= 1 && (a >> 1) <= kMaxSplitRunGroup && pc + 1 < n;
        break;
      case SplitOp::kAssertRunBoundary:
        ok = class_ok(b) && a >= 1 && a <= kMaxSplitRunGroup && pc + 1 < n;
        break;
      case SplitOp::kAssertWordBoundary:
        ok = a <= 1 && pc + 1 < n;
        break;
      case SplitOp::kAssertBegin:
      case SplitOp::kAssertEnd:
      case SplitOp::kChar:
      case SplitOp::kAny:
        ok = pc + 1 < n;
        break;
      case SplitOp::kMatch:
        break;
    }
    KITE_CHECK_OR_RETURN(ok, Error::kInvalidFormat,
                         "%s: split program instruction %u (op %u) has an operand out of range",
                         what, pc, op);
  }
  return Status::Ok();
}

bool FindSplitMatch(const SplitProgram& program, const char* text, size_t begin, size_t end,
                    size_t from, SplitScratch* s, size_t* match_begin, size_t* match_end,
                    uint64_t* steps) {
  const uint32_t* words = program.words;
  // Marks are stamps, one per position visited, increasing across searches, so the array
  // needs clearing only when they wrap. A search needs at most (end - from) + 2 of them.
  if (s->stamp > UINT32_MAX - (end - from) - 2) {
    for (uint32_t i = 0; i < kMaxSplitInstructions; ++i) s->mark[i] = 0;
    s->stamp = 0;
  }
  uint32_t stamp = ++s->stamp;
  List cur{s->pcs[0], s->starts[0], 0};
  List nxt{s->pcs[1], s->starts[1], 0};
  bool matched = false;
  size_t pos = from;
  AddThread(words, s, stamp, &cur, 0, static_cast<uint32_t>(from - begin), text, begin, pos, end,
            steps);
  while (true) {
    if (cur.n == 0 && matched) break;
    const Char c = pos < end ? DecodeAt(text, pos, end) : Char{kInvalidCodepoint, 0, 0};
    const size_t next_pos = pos + c.len;
    ++stamp;
    nxt.n = 0;
    for (uint32_t i = 0; i < cur.n; ++i) {
      const uint32_t pc = cur.pcs[i];
      if (steps != nullptr) ++*steps;
      if (OpOf(words, pc) == SplitOp::kMatch) {
        matched = true;
        *match_begin = begin + cur.starts[i];
        *match_end = pos;
        break;  // lower-priority threads are cut
      }
      if (pos < end && Consumes(words, pc, c)) {
        AddThread(words, s, stamp, &nxt, pc + 1, cur.starts[i], text, begin, next_pos, end,
                  steps);
      }
    }
    if (pos >= end) break;
    // Until a match is found, a new search starts at every position, after the others.
    if (!matched) {
      AddThread(words, s, stamp, &nxt, 0, static_cast<uint32_t>(next_pos - begin), text, begin,
                next_pos, end, steps);
    }
    List t = cur;
    cur = nxt;
    nxt = t;
    pos = next_pos;
  }
  s->stamp = stamp;
  return matched;
}

}  // namespace kite
