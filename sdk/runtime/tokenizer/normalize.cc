#include "sdk/runtime/tokenizer/normalize.h"

#include <cstdint>
#include <cstring>

#include "sdk/runtime/tokenizer/normalization_tables.h"
#include "sdk/runtime/tokenizer/pretokenizer.h"

namespace kite {
namespace {

// Hangul syllable arithmetic (Unicode chapter 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t CombiningClass(uint32_t cp) {
  if (cp < 0x300) return 0;
  uint32_t lo = 0;
  uint32_t hi = unicode::kCombiningClassRunCount;
  // The last run whose first code point is <= cp.
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if ((unicode::kCombiningClassRuns[mid] >> 8) <= cp) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return static_cast<uint8_t>(unicode::kCombiningClassRuns[lo] & 0xFF);
}

const unicode::Decomposition* Find(const unicode::Decomposition* table, uint32_t count,
                                   uint32_t cp) {
  uint32_t lo = 0;
  uint32_t hi = count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (table[mid].code_point < cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < count && table[lo].code_point == cp ? &table[lo] : nullptr;
}

// The full decomposition of `cp` (compat: the compatibility entry, else the canonical
// one), or null when it has none.
const unicode::Decomposition* FindDecomposition(bool compat, uint32_t cp) {
  if (compat) {
    const unicode::Decomposition* d = Find(unicode::kCompatibilityDecompositions,
                                           unicode::kCompatibilityDecompositionCount, cp);
    if (d != nullptr) return d;
  }
  return Find(unicode::kCanonicalDecompositions, unicode::kCanonicalDecompositionCount, cp);
}

// The primary composite of `first` followed by `second`, or 0.
uint32_t Compose(uint32_t first, uint32_t second) {
  if (first - kLBase < kLCount && second - kVBase < kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first - kSBase < kSCount && (first - kSBase) % kTCount == 0 && second - kTBase - 1 < kTCount - 1) {
    return first + (second - kTBase);
  }
  uint32_t lo = 0;
  uint32_t hi = unicode::kCompositionCount;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const unicode::Composition& c = unicode::kCompositions[mid];
    if (c.first < first || (c.first == first && c.second < second)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < unicode::kCompositionCount && unicode::kCompositions[lo].first == first &&
      unicode::kCompositions[lo].second == second) {
    return unicode::kCompositions[lo].composite;
  }
  return 0;
}

// Counts every byte written and stores those that fit in out[0..capacity).
class ByteSink {
 public:
  ByteSink(char* out, size_t capacity) : out_(out), capacity_(capacity) {}

  void Put(uint8_t byte) {
    if (n_ < capacity_) out_[n_] = static_cast<char>(byte);
    ++n_;
  }

  void Append(const char* bytes, size_t size) {
    for (size_t i = 0; i < size; ++i) Put(static_cast<uint8_t>(bytes[i]));
  }

  void PutCodepoint(uint32_t cp) {
    if (cp < 0x80) {
      Put(static_cast<uint8_t>(cp));
    } else if (cp < 0x800) {
      Put(static_cast<uint8_t>(0xC0 | cp >> 6));
      Put(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      Put(static_cast<uint8_t>(0xE0 | cp >> 12));
      Put(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
      Put(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    } else {
      Put(static_cast<uint8_t>(0xF0 | cp >> 18));
      Put(static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F)));
      Put(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
      Put(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    }
  }

  size_t size() const { return n_; }

 private:
  char* out_;
  size_t capacity_;
  size_t n_ = 0;
};

// Streams code points through decomposition, ordering and (NFC, NFKC) composition into a
// bounded output, counting every byte.
class Normalizer {
 public:
  Normalizer(bool compat, bool compose, char* out, size_t capacity)
      : compat_(compat), compose_(compose), sink_(out, capacity) {}

  // One input code point.
  void Feed(uint32_t cp) {
    if (cp - kSBase < kSCount) {
      const uint32_t s = cp - kSBase;
      Add(kLBase + s / kNCount, 0);
      Add(kVBase + (s % kNCount) / kTCount, 0);
      if (s % kTCount != 0) Add(kTBase + s % kTCount, 0);
      return;
    }
    const unicode::Decomposition* d = cp < 0xA0 ? nullptr : FindDecomposition(compat_, cp);
    if (d == nullptr) {
      Add(cp, CombiningClass(cp));
      return;
    }
    const char* text = unicode::kDecompositionPool + d->offset;
    for (size_t pos = 0; pos < d->length;) {
      uint32_t part = 0;
      pos += DecodeUtf8(text, d->length, pos, &part);
      Add(part, CombiningClass(part));
    }
  }

  // A byte that is not valid UTF-8: copied, and nothing composes across it.
  void Raw(uint8_t byte) {
    Flush();
    sink_.Put(byte);
  }

  // Ends the text; returns the output length.
  size_t Finish() {
    Flush();
    return sink_.size();
  }

 private:
  void Add(uint32_t cp, uint8_t ccc) {
    if (ccc == 0) {
      if (size_ > 0) {
        OrderAndCompose();
        // The starter took every mark: it may compose with this starter too.
        if (compose_ && size_ == 1 && ccc_[0] == 0) {
          const uint32_t c = Compose(run_[0], cp);
          if (c != 0) {
            run_[0] = c;
            return;
          }
        }
        Emit();
      }
    } else if (size_ == kMaxCombiningRun) {
      Flush();
    }
    run_[size_] = cp;
    ccc_[size_] = ccc;
    ++size_;
  }

  // Stable insertion sort of the marks by class, then composition with the starter.
  void OrderAndCompose() {
    for (size_t i = 1; i < size_; ++i) {
      const uint32_t cp = run_[i];
      const uint8_t ccc = ccc_[i];
      size_t j = i;
      for (; j > 0 && ccc_[j - 1] > ccc; --j) {
        run_[j] = run_[j - 1];
        ccc_[j] = ccc_[j - 1];
      }
      run_[j] = cp;
      ccc_[j] = ccc;
    }
    if (!compose_ || ccc_[0] != 0) return;
    size_t kept = 1;
    uint8_t last = 0;  // class of the last mark left between the starter and the next one
    for (size_t i = 1; i < size_; ++i) {
      const uint32_t c = last < ccc_[i] ? Compose(run_[0], run_[i]) : 0;
      if (c != 0) {
        run_[0] = c;
        continue;
      }
      last = ccc_[i];
      run_[kept] = run_[i];
      ccc_[kept] = ccc_[i];
      ++kept;
    }
    size_ = kept;
  }

  void Flush() {
    if (size_ == 0) return;
    OrderAndCompose();
    Emit();
  }

  void Emit() {
    for (size_t i = 0; i < size_; ++i) sink_.PutCodepoint(run_[i]);
    size_ = 0;
  }

  bool compat_;
  bool compose_;
  ByteSink sink_;
  uint32_t run_[kMaxCombiningRun];
  uint8_t ccc_[kMaxCombiningRun];
  size_t size_ = 0;
};

// NFC, NFKC, NFD or NFKD of text[0..len) into out[0..capacity); returns the full length.
size_t Normalize(bool compat, bool compose, const char* text, size_t len, char* out,
                 size_t capacity) {
  Normalizer n(compat, compose, out, capacity);
  for (size_t pos = 0; pos < len;) {
    uint32_t cp = 0;
    const size_t l = DecodeUtf8(text, len, pos, &cp);
    if (cp == kInvalidCodepoint) {
      n.Raw(static_cast<uint8_t>(text[pos]));
    } else {
      n.Feed(cp);
    }
    pos += l;
  }
  return n.Finish();
}

// Quick check of the NF forms: true when text[0..len) certainly does not change.
bool IsFormQuick(bool compat, bool compose, const char* text, size_t len) {
  const unicode::CodepointRange* ranges =
      compat ? unicode::kNfkcUnstableRanges : unicode::kNfcUnstableRanges;
  const uint32_t count = compat ? unicode::kNfkcUnstableRangeCount : unicode::kNfcUnstableRangeCount;
  for (size_t pos = 0; pos < len;) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    // The unstable sets are the composed forms'; for NFD and NFKD only ASCII is certain.
    if (!compose) return false;
    uint32_t cp = 0;
    pos += DecodeUtf8(text, len, pos, &cp);
    if (cp != kInvalidCodepoint && unicode::InRanges(ranges, count, cp)) return false;
  }
  return true;
}

size_t Lowercase(const char* text, size_t len, ByteSink* sink) {
  for (size_t pos = 0; pos < len;) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      const char c = text[pos++];
      sink->Put(static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
      continue;
    }
    uint32_t cp = 0;
    const size_t l = DecodeUtf8(text, len, pos, &cp);
    const unicode::Decomposition* m =
        cp == kInvalidCodepoint
            ? nullptr
            : Find(unicode::kLowercaseMappings, unicode::kLowercaseMappingCount, cp);
    if (m != nullptr) {
      sink->Append(unicode::kDecompositionPool + m->offset, m->length);
    } else {
      sink->Append(text + pos, l);
    }
    pos += l;
  }
  return sink->size();
}

bool IsWhitespaceAt(const char* text, size_t len, size_t pos, size_t* l) {
  uint32_t cp = 0;
  *l = DecodeUtf8(text, len, pos, &cp);
  return cp != kInvalidCodepoint &&
         unicode::InRanges(unicode::kWhitespaceRanges, unicode::kWhitespaceRangeCount, cp);
}

size_t Strip(const NormalizerStep& step, const char* text, size_t len, ByteSink* sink) {
  size_t begin = 0;
  size_t l = 0;
  if (step.strip_left) {
    while (begin < len && IsWhitespaceAt(text, len, begin, &l)) begin += l;
  }
  size_t end = begin;
  if (step.strip_right) {
    // The end of the last code point that is not White_Space.
    for (size_t pos = begin; pos < len; pos += l) {
      if (!IsWhitespaceAt(text, len, pos, &l)) end = pos + l;
    }
  } else {
    end = len;
  }
  sink->Append(text + begin, end - begin);
  return sink->size();
}

size_t Replace(const NormalizerStep& step, const char* text, size_t len, ByteSink* sink) {
  const size_t m = step.pattern_size;
  size_t pos = 0;
  while (m > 0 && pos + m <= len) {
    if (std::memcmp(text + pos, step.pattern, m) == 0) {
      sink->Append(step.content, step.content_size);
      pos += m;
    } else {
      sink->Put(static_cast<uint8_t>(text[pos++]));
    }
  }
  sink->Append(text + pos, len - pos);
  return sink->size();
}

// a * num / den rounded up, or SIZE_MAX when it does not fit.
size_t ScaleUp(size_t a, size_t num, size_t den) {
  if (a > (SIZE_MAX - den) / num) return SIZE_MAX;
  return (a * num + den - 1) / den;
}

size_t AddSaturating(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

}  // namespace

bool IsNormalizedQuick(NormalizerType form, const char* text, size_t len) {
  if (form == NormalizerType::NONE) return true;
  if (form != NormalizerType::NFC && form != NormalizerType::NFKC) return false;
  return IsFormQuick(form == NormalizerType::NFKC, true, text, len);
}

size_t NormalizeText(NormalizerType form, const char* text, size_t len, char* out,
                     size_t capacity) {
  if (form == NormalizerType::NFC || form == NormalizerType::NFKC) {
    return Normalize(form == NormalizerType::NFKC, true, text, len, out, capacity);
  }
  for (size_t i = 0; i < len && i < capacity; ++i) out[i] = text[i];
  return len;
}

bool IsStepNoOpQuick(const NormalizerStep& step, const char* text, size_t len) {
  switch (step.kind) {
    case NormalizerStepKind::NFC:
    case NormalizerStepKind::NFKC:
    case NormalizerStepKind::NFD:
    case NormalizerStepKind::NFKD:
      return IsFormQuick(step.kind == NormalizerStepKind::NFKC ||
                             step.kind == NormalizerStepKind::NFKD,
                         step.kind == NormalizerStepKind::NFC ||
                             step.kind == NormalizerStepKind::NFKC,
                         text, len);
    case NormalizerStepKind::PREPEND:
      return len == 0 || step.content_size == 0;
    default:
      return false;
  }
}

size_t ApplyNormalizerStep(const NormalizerStep& step, const char* text, size_t len, char* out,
                           size_t capacity) {
  ByteSink sink(out, capacity);
  switch (step.kind) {
    case NormalizerStepKind::NFC:
      return Normalize(false, true, text, len, out, capacity);
    case NormalizerStepKind::NFKC:
      return Normalize(true, true, text, len, out, capacity);
    case NormalizerStepKind::NFD:
      return Normalize(false, false, text, len, out, capacity);
    case NormalizerStepKind::NFKD:
      return Normalize(true, false, text, len, out, capacity);
    case NormalizerStepKind::LOWERCASE:
      return Lowercase(text, len, &sink);
    case NormalizerStepKind::STRIP:
      return Strip(step, text, len, &sink);
    case NormalizerStepKind::REPLACE:
      return Replace(step, text, len, &sink);
    case NormalizerStepKind::PREPEND:
      if (len > 0) sink.Append(step.content, step.content_size);
      sink.Append(text, len);
      return sink.size();
  }
  sink.Append(text, len);  // a kind the loader refuses; kept total
  return sink.size();
}

size_t NormalizerStepBound(const NormalizerStep& step, size_t len) {
  switch (step.kind) {
    case NormalizerStepKind::NFC:
    case NormalizerStepKind::NFD:
      return ScaleUp(len, kNfcGrowth, 1);
    case NormalizerStepKind::NFKC:
    case NormalizerStepKind::NFKD:
      return ScaleUp(len, kNfkcGrowth, 1);
    case NormalizerStepKind::LOWERCASE:
      return ScaleUp(len, 3, 2);
    case NormalizerStepKind::STRIP:
      return len;
    case NormalizerStepKind::REPLACE:
      if (step.pattern_size == 0 || step.content_size <= step.pattern_size) return len;
      return ScaleUp(len, step.content_size, step.pattern_size);
    case NormalizerStepKind::PREPEND:
      return len == 0 ? 0 : AddSaturating(len, step.content_size);
  }
  return SIZE_MAX;
}

size_t NormalizerPipelineBound(const NormalizerStep* steps, uint32_t n, size_t len) {
  for (uint32_t i = 0; i < n && len != SIZE_MAX; ++i) len = NormalizerStepBound(steps[i], len);
  return len;
}

bool ApplyNormalizerPipeline(const NormalizerStep* steps, uint32_t n, const char* text,
                             size_t len, char* scratch, size_t scratch_size,
                             NormalizedText* result) {
  const char* cur = text;
  size_t cur_len = len;
  bool in_scratch = false;  // cur is right-aligned at the end of scratch
  char* const end = scratch + scratch_size;
  for (uint32_t i = 0; i < n; ++i) {
    if (IsStepNoOpQuick(steps[i], cur, cur_len)) continue;
    const size_t m = ApplyNormalizerStep(steps[i], cur, cur_len, nullptr, 0);
    const size_t held = in_scratch ? cur_len : 0;
    if (m > scratch_size || held > scratch_size - m) {
      result->text = nullptr;
      result->size = 0;
      result->scratch_needed = AddSaturating(held, m);
      return false;
    }
    // The output goes just before the input, then slides to the end (memmove: they may
    // overlap).
    char* const at = end - held - m;
    ApplyNormalizerStep(steps[i], cur, cur_len, at, m);
    if (held > 0 && m > 0) std::memmove(end - m, at, m);
    cur = end - m;
    cur_len = m;
    in_scratch = true;
  }
  result->text = cur;
  result->size = cur_len;
  result->scratch_needed = in_scratch ? cur_len : 0;
  return true;
}

}  // namespace kite
