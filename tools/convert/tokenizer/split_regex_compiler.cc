#include "tools/convert/tokenizer/split_regex_compiler.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sdk/runtime/tokenizer/pretokenizer.h"
#include "sdk/runtime/tokenizer/split_regex.h"
#include "sdk/runtime/tokenizer/unicode_tables.h"
#include "tools/convert/tokenizer/case_folding_table.h"

namespace kite::convert {
namespace {

using unicode::GeneralCategory;

constexpr uint32_t kMaxCodepoint = 0x10FFFF;
constexpr uint32_t kMaxRepeat = 100;

uint32_t Bit(GeneralCategory c) { return 1u << static_cast<uint32_t>(c); }

// A set of code points: explicit ranges plus whole general categories, intersected with every
// set in `conjuncts` (a class intersection [A&&B]; the emitter checks those with lookaheads).
struct CharSet {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  uint32_t categories = 0;
  bool negated = false;
  std::vector<CharSet> conjuncts;

  void Add(uint32_t a, uint32_t b) { ranges.emplace_back(a, b); }

  // Sorts and merges the ranges, dropping those inside a listed category is not attempted
  // (the matcher checks categories first, then ranges).
  void Normalize() {
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : ranges) {
      if (!merged.empty() && r.first <= merged.back().second + 1) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    ranges = std::move(merged);
  }

  // Adds every code point with the same simple case fold as one in the ranges (Unicode
  // simple case folding, as (?i) matches in Oniguruma and Rust's regex: k also matches K and
  // the Kelvin sign, s the long s; i not the dotless i). Categories are left as they are.
  void FoldCase() {
    // The folds of the code points in the ranges, then the whole class of each: the fold
    // itself and every code point folding to it.
    std::vector<uint32_t> folds;
    for (const auto& [a, b] : ranges) {
      for (uint32_t k = 0; k < kCaseFoldCount; ++k) {
        const CaseFold& f = kCaseFolds[k];
        if ((f.code_point >= a && f.code_point <= b) || (f.fold >= a && f.fold <= b)) {
          folds.push_back(f.fold);
        }
      }
    }
    std::sort(folds.begin(), folds.end());
    folds.erase(std::unique(folds.begin(), folds.end()), folds.end());
    for (uint32_t f : folds) Add(f, f);
    for (uint32_t k = 0; k < kCaseFoldCount; ++k) {
      if (std::binary_search(folds.begin(), folds.end(), kCaseFolds[k].fold)) {
        Add(kCaseFolds[k].code_point, kCaseFolds[k].code_point);
      }
    }
    for (CharSet& c : conjuncts) c.FoldCase();
  }
};

// Whether some other code point has the same simple case fold as `cp`.
bool HasCaseVariants(uint32_t cp) {
  for (uint32_t k = 0; k < kCaseFoldCount; ++k) {
    if (kCaseFolds[k].code_point == cp || kCaseFolds[k].fold == cp) return true;
  }
  return false;
}

// Table ranges (sorted, disjoint) as a set, or their complement.
void AddRanges(CharSet* set, const unicode::CodepointRange* ranges, uint32_t count,
               bool complement) {
  uint32_t next = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const unicode::CodepointRange& r = ranges[i];
    if (complement) {
      if (r.first > next) set->Add(next, r.first - 1);
      next = r.last + 1;
    } else {
      set->Add(r.first, r.last);
    }
  }
  // The complement also holds the code point the matcher gives invalid bytes.
  if (complement) set->Add(next, kInvalidCodepoint);
}

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  enum Kind {
    kEmpty, kChar, kSet, kAny, kConcat, kAlt, kRepeat, kAssertNext, kBegin, kEnd, kAssertRun,
    kWordBoundary
  };
  Kind kind = kEmpty;
  uint32_t cp = 0;
  CharSet set;
  std::vector<NodePtr> children;
  uint32_t min = 0;
  uint32_t max = 0;  // kRepeat; UINT32_MAX for no bound
  bool greedy = true;
  bool negative = false;  // kAssertNext; kWordBoundary: \B
  bool plus = false;      // kAssertRun: at least one group (min is the group length)
  bool boundary = false;  // kAssertRun: the groups end at \b, not at (?!X)
};

NodePtr MakeNode(Node::Kind kind) {
  NodePtr n = std::make_unique<Node>();
  n->kind = kind;
  return n;
}

class Parser {
 public:
  explicit Parser(const std::string& p) : p_(p) {}

  absl::StatusOr<NodePtr> Parse() {
    absl::StatusOr<NodePtr> n = Alternation(false);
    if (!n.ok()) return n;
    if (i_ < p_.size()) return Error("unbalanced ')'");
    return n;
  }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrFormat(
        "split pattern: %s at byte %d of \"%s\" is not supported", what, i_, p_));
  }

  bool More() const { return i_ < p_.size(); }
  char Peek() const { return p_[i_]; }

  uint32_t NextCodepoint() {
    uint32_t cp;
    const size_t n = DecodeUtf8(p_.data(), p_.size(), i_, &cp);
    i_ += n;
    return cp;
  }

  absl::StatusOr<NodePtr> Alternation(bool fold) {
    std::vector<NodePtr> alts;
    while (true) {
      absl::StatusOr<NodePtr> c = Concatenation(&fold);
      if (!c.ok()) return c;
      alts.push_back(*std::move(c));
      if (More() && Peek() == '|') {
        ++i_;
        continue;
      }
      break;
    }
    if (alts.size() == 1) return std::move(alts[0]);
    NodePtr n = MakeNode(Node::kAlt);
    n->children = std::move(alts);
    return n;
  }

  // Items up to '|' or ')'. `fold` may be switched on by an inline (?i).
  absl::StatusOr<NodePtr> Concatenation(bool* fold) {
    NodePtr n = MakeNode(Node::kConcat);
    while (More() && Peek() != '|' && Peek() != ')') {
      if (p_.compare(i_, 4, "(?i)") == 0) {
        *fold = true;
        i_ += 4;
        continue;
      }
      absl::StatusOr<NodePtr> atom = Atom(*fold);
      if (!atom.ok()) return atom;
      absl::StatusOr<NodePtr> q = Quantified(*std::move(atom));
      if (!q.ok()) return q;
      n->children.push_back(*std::move(q));
    }
    return n;
  }

  absl::StatusOr<NodePtr> Quantified(NodePtr atom) {
    while (More()) {
      uint32_t min, max;
      const size_t at = i_;
      const char c = Peek();
      if (c == '?') {
        min = 0, max = 1, ++i_;
      } else if (c == '*') {
        min = 0, max = UINT32_MAX, ++i_;
      } else if (c == '+') {
        min = 1, max = UINT32_MAX, ++i_;
      } else if (c == '{') {
        ++i_;
        if (!ParseNumber(&min)) {
          i_ = at;
          return Error("'{' not starting a repetition {m,n}");
        }
        max = min;
        if (More() && Peek() == ',') {
          ++i_;
          max = UINT32_MAX;
          if (More() && Peek() != '}' && !ParseNumber(&max)) return Error("repetition {m,n}");
        }
        if (!More() || Peek() != '}' || max < min) return Error("repetition {m,n}");
        ++i_;
        if (min > kMaxRepeat || (max != UINT32_MAX && max > kMaxRepeat)) {
          return Error(absl::StrCat("a repetition count above ", kMaxRepeat));
        }
      } else {
        break;
      }
      if (atom->kind == Node::kAssertNext || atom->kind == Node::kBegin ||
          atom->kind == Node::kEnd || atom->kind == Node::kAssertRun ||
          atom->kind == Node::kWordBoundary) {
        i_ = at;
        return Error("a quantifier on an assertion");
      }
      bool greedy = true;
      if (More() && Peek() == '?') {
        greedy = false;
        ++i_;
      } else if (More() && Peek() == '+') {
        return Error("a possessive quantifier");
      }
      NodePtr r = MakeNode(Node::kRepeat);
      r->min = min;
      r->max = max;
      r->greedy = greedy;
      r->children.push_back(std::move(atom));
      atom = std::move(r);
    }
    return atom;
  }

  bool ParseNumber(uint32_t* value) {
    const size_t start = i_;
    uint64_t v = 0;
    while (More() && Peek() >= '0' && Peek() <= '9' && v < 1000000) v = v * 10 + (p_[i_++] - '0');
    *value = static_cast<uint32_t>(v);
    return i_ > start;
  }

  absl::StatusOr<NodePtr> Atom(bool fold) {
    const char c = Peek();
    if (c == '(') return Group(fold);
    if (c == '[') {
      absl::StatusOr<CharSet> set = Class(fold);
      if (!set.ok()) return set.status();
      return SetNode(*std::move(set));
    }
    if (c == '.') {
      ++i_;
      return MakeNode(Node::kAny);
    }
    if (c == '^') {
      ++i_;
      return MakeNode(Node::kBegin);
    }
    if (c == '$') {
      ++i_;
      return MakeNode(Node::kEnd);
    }
    if (c == '*' || c == '+' || c == '?' || c == '{') return Error("a quantifier with nothing to repeat");
    if (c == '\\') {
      if (i_ + 1 < p_.size() && (p_[i_ + 1] == 'A' || p_[i_ + 1] == 'z')) {
        const bool begin = p_[i_ + 1] == 'A';
        i_ += 2;
        return MakeNode(begin ? Node::kBegin : Node::kEnd);
      }
      if (i_ + 1 < p_.size() && (p_[i_ + 1] == 'b' || p_[i_ + 1] == 'B')) {
        NodePtr n = MakeNode(Node::kWordBoundary);
        n->negative = p_[i_ + 1] == 'B';
        i_ += 2;
        return n;
      }
      CharSet set;
      uint32_t cp;
      absl::Status s = Escape(&set, &cp, /*in_class=*/false);
      if (!s.ok()) return s;
      return Literal(set, cp, fold);
    }
    CharSet none;
    return Literal(none, NextCodepoint(), fold);
  }

  // One character of `set`. An intersection becomes lookaheads that check the conjuncts on the
  // character, then the set itself consuming it: [A&&B] is (?=B)A.
  static NodePtr SetNode(CharSet set) {
    NodePtr n = MakeNode(Node::kSet);
    if (set.conjuncts.empty()) {
      n->set = std::move(set);
      return n;
    }
    NodePtr seq = MakeNode(Node::kConcat);
    std::vector<CharSet> pending = std::move(set.conjuncts);
    set.conjuncts.clear();
    while (!pending.empty()) {
      CharSet c = std::move(pending.back());
      pending.pop_back();
      for (CharSet& inner : c.conjuncts) pending.push_back(std::move(inner));
      c.conjuncts.clear();
      NodePtr a = MakeNode(Node::kAssertNext);
      a->set = std::move(c);
      seq->children.push_back(std::move(a));
    }
    n->set = std::move(set);
    seq->children.push_back(std::move(n));
    return seq;
  }

  // A literal code point (cp != UINT32_MAX) or a set from an escape.
  NodePtr Literal(CharSet set, uint32_t cp, bool fold) {
    if (cp != UINT32_MAX) {
      if (!(fold && HasCaseVariants(cp))) {
        NodePtr n = MakeNode(Node::kChar);
        n->cp = cp;
        return n;
      }
      set.Add(cp, cp);
    }
    if (fold) set.FoldCase();
    NodePtr n = MakeNode(Node::kSet);
    n->set = std::move(set);
    return n;
  }

  absl::StatusOr<NodePtr> Group(bool fold) {
    const size_t at = i_;
    ++i_;  // '('
    bool inner_fold = fold;
    if (More() && Peek() == '?') {
      if (p_.compare(i_, 2, "?:") == 0) {
        i_ += 2;
      } else if (p_.compare(i_, 3, "?i:") == 0) {
        i_ += 3;
        inner_fold = true;
      } else if (p_.compare(i_, 2, "?=") == 0 || p_.compare(i_, 2, "?!") == 0) {
        const bool negative = p_[i_ + 1] == '!';
        i_ += 2;
        if (!negative) {
          absl::StatusOr<NodePtr> run = RunLookahead(fold);
          if (!run.ok() || *run != nullptr) return run;
        }
        NodePtr a = MakeNode(Node::kAssertNext);
        a->negative = negative;
        absl::StatusOr<CharSet> one = OneCharacter(fold);
        if (!one.ok()) return one.status();
        a->set = *std::move(one);
        if (!More() || Peek() != ')') {
          i_ = at;
          return Error("a lookahead of more than one character");
        }
        ++i_;
        return a;
      } else {
        return Error("the group syntax \"(?\"");
      }
    }
    absl::StatusOr<NodePtr> inner = Alternation(inner_fold);
    if (!inner.ok()) return inner;
    if (!More() || Peek() != ')') return Error("a missing ')'");
    ++i_;
    return inner;
  }

  // After "(?=": the rest of (?=(?:X{k})*(?!X)) or (?=(?:X{k})+(?!X)) (the group may capture),
  // X one character written the same both times: the run of X here has a length that is a
  // multiple of k (at least k with +). Or (?=(?:X{k})*\b) / (?=(?:X{k})+\b), X of word
  // characters only (Tiny Aya's digit groups). Returns null, consuming nothing, for other
  // lookaheads.
  absl::StatusOr<NodePtr> RunLookahead(bool fold) {
    const size_t save = i_;
    const auto other = [&]() -> absl::StatusOr<NodePtr> {
      i_ = save;
      return NodePtr();
    };
    if (!More() || Peek() != '(') return other();
    ++i_;
    if (p_.compare(i_, 2, "?:") == 0) {
      i_ += 2;
    } else if (More() && Peek() == '?') {
      return other();
    }
    const size_t x_begin = i_;
    absl::StatusOr<CharSet> x = OneCharacter(fold);
    if (!x.ok()) return other();
    const std::string x_text = p_.substr(x_begin, i_ - x_begin);
    uint32_t k = 0;
    if (!More() || Peek() != '{') return other();
    ++i_;
    if (!ParseNumber(&k) || !More() || Peek() != '}') return other();
    ++i_;
    if (!More() || Peek() != ')') return other();
    ++i_;
    if (!More() || (Peek() != '*' && Peek() != '+')) return other();
    const bool plus = Peek() == '+';
    ++i_;
    if (p_.compare(i_, 3, "\\b)") == 0) {
      i_ += 3;
      if (k < 1 || k > kMaxSplitRunGroup) {
        i_ = save;
        return Error(absl::StrCat("a run lookahead group length outside 1..", kMaxSplitRunGroup));
      }
      if (!OnlyWordCharacters(*x)) {
        i_ = save;
        return Error("a run lookahead ending in \\b over characters that are not all word "
                     "characters");
      }
      NodePtr n = MakeNode(Node::kAssertRun);
      n->set = *std::move(x);
      n->min = k;
      n->plus = plus;
      n->boundary = true;
      return n;
    }
    if (p_.compare(i_, 3, "(?!") != 0) return other();
    i_ += 3;
    if (p_.compare(i_, x_text.size(), x_text) != 0) return other();
    i_ += x_text.size();
    if (p_.compare(i_, 2, "))") != 0) return other();
    i_ += 2;
    if (k < 1 || k > kMaxSplitRunGroup) {
      i_ = save;
      return Error(absl::StrCat("a run lookahead group length outside 1..", kMaxSplitRunGroup));
    }
    NodePtr n = MakeNode(Node::kAssertRun);
    n->set = *std::move(x);
    n->min = k;
    n->plus = plus;
    return n;
  }

  // Whether every character of `set` is a word character (kWordCategories); ranges are
  // checked code point by code point up to a bound, refusing larger ones.
  static bool OnlyWordCharacters(const CharSet& set) {
    if (set.negated || !set.conjuncts.empty() || (set.categories & ~kWordCategories) != 0) {
      return false;
    }
    uint64_t budget = 1u << 17;
    for (const auto& [lo, hi] : set.ranges) {
      if (hi - lo >= budget) return false;
      budget -= hi - lo + 1;
      for (uint32_t cp = lo; cp <= hi; ++cp) {
        if ((kWordCategories & (1u << static_cast<uint32_t>(unicode::CategoryOf(cp)))) == 0) {
          return false;
        }
      }
    }
    return true;
  }

  // One character of a lookahead, as a set.
  absl::StatusOr<CharSet> OneCharacter(bool fold) {
    if (!More()) return Error("an empty lookahead");
    if (Peek() == '[') {
      absl::StatusOr<CharSet> set = Class(fold);
      if (set.ok() && !set->conjuncts.empty()) return Error("a class intersection in a lookahead");
      return set;
    }
    CharSet set;
    if (Peek() == '.') {
      ++i_;
      set.Add('\n', '\n');
      set.negated = true;
      return set;
    }
    uint32_t cp = UINT32_MAX;
    if (Peek() == '\\') {
      absl::Status s = Escape(&set, &cp, /*in_class=*/false);
      if (!s.ok()) return s;
    } else if (Peek() == '(' || Peek() == ')' || Peek() == '|') {
      return Error("a lookahead that is not one character");
    } else {
      cp = NextCodepoint();
    }
    if (cp != UINT32_MAX) set.Add(cp, cp);
    if (fold) set.FoldCase();
    return set;
  }

  // A property name after \p or \P: its category mask, or 0 with *han set for the Han script.
  absl::StatusOr<uint32_t> Category(bool* han) {
    std::string name;
    if (More() && Peek() == '{') {
      const size_t close = p_.find('}', i_);
      if (close == std::string::npos) return Error("an unterminated \\p{");
      name = p_.substr(i_ + 1, close - i_ - 1);
      i_ = close + 1;
    } else if (More()) {
      name = std::string(1, p_[i_++]);
    }
    static const char* const kNames[] = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me",
                                         "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi",
                                         "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl",
                                         "Zp", "Cc", "Cf", "Cs", "Co", "Cn"};
    *han = name == "Han" || name == "Hani" || name == "Script=Han" || name == "sc=Han" ||
           name == "Script=Hani" || name == "sc=Hani";
    if (*han) return 0u;
    if (name == "L&" || name == "LC") {
      return Bit(GeneralCategory::kLu) | Bit(GeneralCategory::kLl) | Bit(GeneralCategory::kLt);
    }
    uint32_t mask = 0;
    for (uint32_t c = 0; c < unicode::kGeneralCategoryCount; ++c) {
      const std::string full = kNames[c];
      if (name == full || (name.size() == 1 && full[0] == name[0])) mask |= 1u << c;
    }
    if (mask == 0) return Error(absl::StrCat("the property \\p{", name, "}"));
    return mask;
  }

  // An escape at p_[i_] == '\\'. Stores a single code point in *cp, or adds to *set and
  // leaves *cp = UINT32_MAX.
  absl::Status Escape(CharSet* set, uint32_t* cp, bool in_class) {
    *cp = UINT32_MAX;
    ++i_;
    if (!More()) return Error("a trailing '\\'");
    const char c = p_[i_++];
    constexpr uint32_t kAll = (1u << unicode::kGeneralCategoryCount) - 1;
    switch (c) {
      case 't': *cp = '\t'; return absl::OkStatus();
      case 'n': *cp = '\n'; return absl::OkStatus();
      case 'r': *cp = '\r'; return absl::OkStatus();
      case 'f': *cp = '\f'; return absl::OkStatus();
      case 'v': *cp = '\v'; return absl::OkStatus();
      case 'e': *cp = 0x1B; return absl::OkStatus();
      case '0': *cp = 0; return absl::OkStatus();
      case 'x':
      case 'u': {
        uint32_t v = 0;
        size_t digits = 0;
        const bool braced = c == 'x' && More() && Peek() == '{';
        if (braced) ++i_;
        const size_t want = braced ? 8 : (c == 'x' ? 2 : 4);
        while (More() && digits < want && std::isxdigit(static_cast<unsigned char>(Peek()))) {
          const char h = p_[i_++];
          v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++digits;
        }
        if (braced && (!More() || p_[i_++] != '}')) return Error("a \\x{...} escape");
        if (digits == 0 || v > kMaxCodepoint) return Error("a hexadecimal escape");
        *cp = v;
        return absl::OkStatus();
      }
      case 's':
      case 'S':
        AddRanges(set, unicode::kWhitespaceRanges, unicode::kWhitespaceRangeCount, c == 'S');
        return absl::OkStatus();
      case 'd':
        set->categories |= Bit(GeneralCategory::kNd);
        return absl::OkStatus();
      case 'D':
        set->categories |= kAll & ~Bit(GeneralCategory::kNd);
        return absl::OkStatus();
      case 'w':
      case 'W':
        set->categories |= c == 'w' ? kWordCategories : kAll & ~kWordCategories;
        return absl::OkStatus();
      case 'p':
      case 'P': {
        bool han = false;
        absl::StatusOr<uint32_t> mask = Category(&han);
        if (!mask.ok()) return mask.status();
        if (han) {
          AddRanges(set, unicode::kHanRanges, unicode::kHanRangeCount, c == 'P');
          return absl::OkStatus();
        }
        set->categories |= c == 'p' ? *mask : kAll & ~*mask;
        return absl::OkStatus();
      }
      default:
        break;
    }
    if (c == 'b' && in_class) {
      *cp = '\b';
      return absl::OkStatus();
    }
    if (std::isalnum(static_cast<unsigned char>(c))) {
      --i_;
      return Error(absl::StrCat("the escape \\", std::string(1, c)));
    }
    --i_;
    *cp = NextCodepoint();  // escaped punctuation or any non-ASCII character
    return absl::OkStatus();
  }

  // A bracketed class. Intersections [A&&B&&..] (as in Kimi K2's [\p{L}&&[^\p{Han}]]) keep
  // A as the set and B.. as conjuncts; each operand is items or one nested class.
  absl::StatusOr<CharSet> Class(bool fold) {
    const size_t open = i_;
    ++i_;  // '['
    CharSet set;
    if (More() && Peek() == '^') {
      set.negated = true;
      ++i_;
    }
    absl::Status s = ClassItems(&set, open, /*first=*/true);
    if (!s.ok()) return s;
    while (p_.compare(i_, 2, "&&") == 0) {
      i_ += 2;
      CharSet operand;
      if (More() && Peek() == '[') {
        absl::StatusOr<CharSet> nested = Class(fold);
        if (!nested.ok()) return nested.status();
        operand = *std::move(nested);
      } else {
        s = ClassItems(&operand, open, /*first=*/false);
        if (!s.ok()) return s;
      }
      set.conjuncts.push_back(std::move(operand));
    }
    if (!More() || Peek() != ']') {
      i_ = open;
      return Error("an unterminated '['");
    }
    ++i_;
    if (set.negated && !set.conjuncts.empty()) {
      i_ = open;
      return Error("a negated class intersection [^..&&..]");
    }
    if (fold) set.FoldCase();
    return set;
  }

  // Class items up to (not including) the closing ']' or a "&&". A ']' right after the
  // opening bracket is a literal when `first`.
  absl::Status ClassItems(CharSet* set, size_t open, bool first) {
    while (true) {
      if (!More()) {
        i_ = open;
        return Error("an unterminated '['");
      }
      if (Peek() == ']' && !first) return absl::OkStatus();
      if (p_.compare(i_, 2, "&&") == 0) return absl::OkStatus();
      if (Peek() == '[') return Error("a nested class other than an intersection operand");
      first = false;
      uint32_t lo = UINT32_MAX;
      if (Peek() == '\\') {
        absl::Status s = Escape(set, &lo, /*in_class=*/true);
        if (!s.ok()) return s;
        if (lo == UINT32_MAX) continue;
      } else {
        lo = NextCodepoint();
      }
      uint32_t hi = lo;
      if (i_ + 1 < p_.size() && Peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        if (Peek() == '\\') {
          CharSet not_single;
          absl::Status s = Escape(&not_single, &hi, /*in_class=*/true);
          if (!s.ok()) return s;
          if (hi == UINT32_MAX) return Error("a range ending in a class escape");
        } else {
          hi = NextCodepoint();
        }
        if (hi < lo) return Error("a reversed range");
      }
      set->Add(lo, hi);
    }
  }

  const std::string& p_;
  size_t i_ = 0;
};

// Emits the program from the tree.
class Emitter {
 public:
  absl::Status Emit(const Node& n) {
    switch (n.kind) {
      case Node::kEmpty:
        return absl::OkStatus();
      case Node::kChar:
        Add(SplitOp::kChar, 0, n.cp);
        return absl::OkStatus();
      case Node::kAny:
        Add(SplitOp::kAny, 0, 0);
        return absl::OkStatus();
      case Node::kSet:
        Add(SplitOp::kClass, 0, AddClass(n.set));
        return absl::OkStatus();
      case Node::kAssertNext:
        Add(SplitOp::kAssertNext, n.negative ? 1 : 0, AddClass(n.set));
        return absl::OkStatus();
      case Node::kAssertRun:
        // One per pattern: the matcher keeps one run cache per stage.
        if (++run_asserts_ > 1) {
          return absl::InvalidArgumentError(
              "split pattern: more than one run lookahead (?=(?:X{k})*(?!X)) is not supported");
        }
        if (!n.boundary) {
          Add(SplitOp::kAssertRun, n.min << 1 | (n.plus ? 1 : 0), AddClass(n.set));
          return absl::OkStatus();
        }
        if (n.plus) {
          Add(SplitOp::kAssertRunBoundary, n.min, AddClass(n.set));
          return absl::OkStatus();
        }
        {
          // (?:X{k})*\b with X of word characters: zero groups need \b here; otherwise the
          // only boundary the groups can reach is the end of the run.
          const size_t split = Add(SplitOp::kSplit, 0, 0);
          SetA(split, Here());
          Add(SplitOp::kAssertWordBoundary, 0, 0);
          const size_t jump = Add(SplitOp::kJmp, 0, 0);
          SetB(split, Here());
          Add(SplitOp::kAssertRunBoundary, n.min, AddClass(n.set));
          SetB(jump, Here());
        }
        return absl::OkStatus();
      case Node::kWordBoundary:
        Add(SplitOp::kAssertWordBoundary, n.negative ? 1 : 0, 0);
        return absl::OkStatus();
      case Node::kBegin:
        Add(SplitOp::kAssertBegin, 0, 0);
        return absl::OkStatus();
      case Node::kEnd:
        Add(SplitOp::kAssertEnd, 0, 0);
        return absl::OkStatus();
      case Node::kConcat:
        for (const NodePtr& c : n.children) {
          absl::Status s = Emit(*c);
          if (!s.ok()) return s;
        }
        return absl::OkStatus();
      case Node::kAlt: {
        std::vector<size_t> jumps;
        for (size_t k = 0; k < n.children.size(); ++k) {
          const bool last = k + 1 == n.children.size();
          size_t split = 0;
          if (!last) split = Add(SplitOp::kSplit, 0, 0);
          if (!last) SetA(split, Here());
          absl::Status s = Emit(*n.children[k]);
          if (!s.ok()) return s;
          if (!last) {
            jumps.push_back(Add(SplitOp::kJmp, 0, 0));
            SetB(split, Here());
          }
        }
        for (size_t j : jumps) SetB(j, Here());
        return absl::OkStatus();
      }
      case Node::kRepeat:
        return Repeat(n);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<uint32_t>> Finish() {
    Add(SplitOp::kMatch, 0, 0);
    if (inst_.size() / 2 > kMaxSplitInstructions) {
      return absl::InvalidArgumentError(
          absl::StrFormat("split pattern: it compiles to %d instructions, more than the %d the "
                          "runtime matcher supports",
                          inst_.size() / 2, kMaxSplitInstructions));
    }
    const uint32_t n = static_cast<uint32_t>(inst_.size() / 2);
    const uint32_t pool_base = 1 + 2 * n;
    std::vector<uint32_t> out;
    out.push_back(n);
    for (size_t pc = 0; pc < n; ++pc) {
      uint32_t b = inst_[2 * pc + 1];
      const SplitOp op = static_cast<SplitOp>(inst_[2 * pc] & 0xFF);
      if (op == SplitOp::kClass || op == SplitOp::kAssertNext || op == SplitOp::kAssertRun ||
          op == SplitOp::kAssertRunBoundary) {
        b += pool_base;
      }
      out.push_back(inst_[2 * pc]);
      out.push_back(b);
    }
    out.insert(out.end(), pool_.begin(), pool_.end());
    return out;
  }

 private:
  absl::Status Repeat(const Node& n) {
    const Node& body = *n.children[0];
    for (uint32_t k = 0; k < n.min; ++k) {
      absl::Status s = Emit(body);
      if (!s.ok()) return s;
      if (TooLong()) return TooLongError();
    }
    if (n.max == UINT32_MAX) {
      const size_t loop = Add(SplitOp::kSplit, 0, 0);
      const size_t body_pc = Here();
      absl::Status s = Emit(body);
      if (!s.ok()) return s;
      Add(SplitOp::kJmp, 0, static_cast<uint32_t>(loop));
      Branch(loop, body_pc, Here(), n.greedy);
      return absl::OkStatus();
    }
    // Optional copies nest: x{1,3} is x(x(x)?)?; every "no" jumps to the end.
    std::vector<size_t> splits;
    for (uint32_t k = n.min; k < n.max; ++k) {
      splits.push_back(Add(SplitOp::kSplit, 0, 0));
      SetA(splits.back(), Here());
      absl::Status s = Emit(body);
      if (!s.ok()) return s;
      if (TooLong()) return TooLongError();
    }
    for (size_t sp : splits) Branch(sp, inst_[2 * sp] >> 8, Here(), n.greedy);
    return absl::OkStatus();
  }

  // Sets the split at `pc` to prefer `body` (greedy) or `out` (lazy).
  void Branch(size_t pc, size_t body, size_t out, bool greedy) {
    SetA(pc, greedy ? body : out);
    SetB(pc, greedy ? out : body);
  }

  bool TooLong() const { return inst_.size() / 2 > 4 * kMaxSplitInstructions; }
  absl::Status TooLongError() const {
    return absl::InvalidArgumentError(absl::StrFormat(
        "split pattern: repetition makes it longer than the %d instructions the runtime "
        "matcher supports",
        kMaxSplitInstructions));
  }

  size_t Here() const { return inst_.size() / 2; }
  size_t Add(SplitOp op, uint32_t a, uint32_t b) {
    inst_.push_back(static_cast<uint32_t>(op) | (a << 8));
    inst_.push_back(b);
    return inst_.size() / 2 - 1;
  }
  void SetA(size_t pc, size_t a) {
    inst_[2 * pc] = (inst_[2 * pc] & 0xFF) | static_cast<uint32_t>(a << 8);
  }
  void SetB(size_t pc, size_t b) { inst_[2 * pc + 1] = static_cast<uint32_t>(b); }

  // Appends the class to the pool; returns its offset within the pool.
  uint32_t AddClass(CharSet set) {
    set.Normalize();
    const uint32_t offset = static_cast<uint32_t>(pool_.size());
    pool_.push_back(static_cast<uint32_t>(set.ranges.size()) | (set.negated ? 1u << 31 : 0u));
    pool_.push_back(set.categories);
    for (const auto& r : set.ranges) {
      pool_.push_back(r.first);
      pool_.push_back(r.second);
    }
    return offset;
  }

  int run_asserts_ = 0;
  std::vector<uint32_t> inst_;  // pairs of words, class offsets relative to the pool
  std::vector<uint32_t> pool_;
};

}  // namespace

absl::StatusOr<std::vector<uint32_t>> CompileSplitPattern(const std::string& pattern) {
  Parser parser(pattern);
  absl::StatusOr<NodePtr> tree = parser.Parse();
  if (!tree.ok()) return tree.status();
  Emitter emitter;
  absl::Status s = emitter.Emit(**tree);
  if (!s.ok()) return s;
  absl::StatusOr<std::vector<uint32_t>> program = emitter.Finish();
  if (!program.ok()) return program.status();
  const Status valid = ValidateSplitProgram(program->data(),
                                            static_cast<uint32_t>(program->size()), "compiled");
  if (!valid.ok()) return absl::InternalError(valid.message());
  return program;
}

}  // namespace kite::convert
