#include "sdk/runtime/tokenizer/normalize.h"

#include <cstdint>

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

// The full decomposition of `cp` in `form` (NFKC: the compatibility entry, else the
// canonical one), or null when it has none.
const unicode::Decomposition* FindDecomposition(NormalizerType form, uint32_t cp) {
  if (form == NormalizerType::NFKC) {
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

// Streams code points through decomposition, ordering and composition into a bounded
// output, counting every byte.
class Normalizer {
 public:
  Normalizer(NormalizerType form, char* out, size_t capacity)
      : form_(form), out_(out), capacity_(capacity) {}

  // One input code point.
  void Feed(uint32_t cp) {
    if (cp - kSBase < kSCount) {
      const uint32_t s = cp - kSBase;
      Add(kLBase + s / kNCount, 0);
      Add(kVBase + (s % kNCount) / kTCount, 0);
      if (s % kTCount != 0) Add(kTBase + s % kTCount, 0);
      return;
    }
    const unicode::Decomposition* d = cp < 0xA0 ? nullptr : FindDecomposition(form_, cp);
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
    Put(byte);
  }

  // Ends the text; returns the output length.
  size_t Finish() {
    Flush();
    return n_;
  }

 private:
  void Add(uint32_t cp, uint8_t ccc) {
    if (ccc == 0) {
      if (size_ > 0) {
        OrderAndCompose();
        // The starter took every mark: it may compose with this starter too.
        if (size_ == 1 && ccc_[0] == 0) {
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
    if (ccc_[0] != 0) return;
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
    for (size_t i = 0; i < size_; ++i) PutCodepoint(run_[i]);
    size_ = 0;
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

  void Put(uint8_t byte) {
    if (n_ < capacity_) out_[n_] = static_cast<char>(byte);
    ++n_;
  }

  NormalizerType form_;
  char* out_;
  size_t capacity_;
  size_t n_ = 0;
  uint32_t run_[kMaxCombiningRun];
  uint8_t ccc_[kMaxCombiningRun];
  size_t size_ = 0;
};

}  // namespace

bool IsNormalizedQuick(NormalizerType form, const char* text, size_t len) {
  if (form == NormalizerType::NONE) return true;
  const bool compat = form == NormalizerType::NFKC;
  const unicode::CodepointRange* ranges =
      compat ? unicode::kNfkcUnstableRanges : unicode::kNfcUnstableRanges;
  const uint32_t count = compat ? unicode::kNfkcUnstableRangeCount : unicode::kNfcUnstableRangeCount;
  for (size_t pos = 0; pos < len;) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    uint32_t cp = 0;
    pos += DecodeUtf8(text, len, pos, &cp);
    if (cp != kInvalidCodepoint && unicode::InRanges(ranges, count, cp)) return false;
  }
  return true;
}

size_t NormalizeText(NormalizerType form, const char* text, size_t len, char* out,
                     size_t capacity) {
  if (form == NormalizerType::NONE) {
    for (size_t i = 0; i < len && i < capacity; ++i) out[i] = text[i];
    return len;
  }
  Normalizer n(form, out, capacity);
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

}  // namespace kite
