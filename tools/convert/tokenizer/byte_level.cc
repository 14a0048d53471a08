#include "tools/convert/tokenizer/byte_level.h"

#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kite::convert {
namespace {

// Bytes that stand for themselves: '!'..'~', '¡'..'¬', '®'..'ÿ'.
bool IsSelfMapped(uint32_t b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The 256 code points of the alphabet, indexed by byte, and the inverse for U+0000..U+0143.
struct Alphabet {
  uint32_t to_unicode[256];
  int16_t to_byte[0x144];
  Alphabet() {
    uint32_t next = 0x100;
    for (int i = 0; i < 0x144; ++i) to_byte[i] = -1;
    for (uint32_t b = 0; b < 256; ++b) {
      to_unicode[b] = IsSelfMapped(b) ? b : next++;
      to_byte[to_unicode[b]] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& GetAlphabet() {
  static const Alphabet alphabet;
  return alphabet;
}

}  // namespace

uint32_t ByteToUnicode(uint8_t b) { return GetAlphabet().to_unicode[b]; }

bool ByteLevelToBytes(absl::string_view s, std::string* out) {
  const Alphabet& a = GetAlphabet();
  out->clear();
  for (size_t i = 0; i < s.size();) {
    const uint8_t b0 = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t n;
    if (b0 < 0x80) {
      cp = b0, n = 1;
    } else if ((b0 & 0xE0) == 0xC0 && i + 1 < s.size() &&
               (static_cast<uint8_t>(s[i + 1]) & 0xC0) == 0x80) {
      cp = (b0 & 0x1Fu) << 6 | (static_cast<uint8_t>(s[i + 1]) & 0x3Fu), n = 2;
    } else {
      return false;  // the alphabet only has code points below U+0800
    }
    if (cp >= 0x144 || a.to_byte[cp] < 0) return false;
    out->push_back(static_cast<char>(a.to_byte[cp]));
    i += n;
  }
  return true;
}

std::string BytesToByteLevel(absl::string_view bytes) {
  std::string out;
  for (char c : bytes) AppendUtf8(ByteToUnicode(static_cast<uint8_t>(c)), &out);
  return out;
}

absl::StatusOr<TokenizerTables> BuildByteBpeTables(const ByteBpeSource& source,
                                                   size_t* dropped_merges) {
  const size_t n = source.tokens.size();
  if (n == 0) return absl::InvalidArgumentError("the vocabulary is empty");
  if (n > (size_t{1} << 22)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the vocabulary has ", n, " tokens, more than Kite supports (2^22)"));
  }
  if (!source.types.empty() && source.types.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d token types for %d tokens", source.types.size(), n));
  }
  TokenizerTables t;
  t.kind = TokenizerType::BYTE_BPE;
  t.add_dummy_prefix = false;
  t.add_bos = source.add_bos;
  t.pretokenizer = source.pretokenizer;
  t.split_rules = source.split_rules;
  t.ignore_merges = source.ignore_merges;
  t.prefix_space_stage = source.prefix_space_stage;
  t.normalizer = source.normalizer;
  t.pieces.resize(n);
  t.types.assign(n, static_cast<uint8_t>(TokenType::NORMAL));
  t.scores.assign(n, 0.0f);
  for (size_t id = 0; id < n; ++id) {
    const uint8_t type =
        source.types.empty() ? static_cast<uint8_t>(TokenType::NORMAL) : source.types[id];
    if (type < 1 || type > 6) {
      return absl::InvalidArgumentError(absl::StrFormat("token %d has unknown type %d", id, type));
    }
    t.types[id] = type;
    if (type != static_cast<uint8_t>(TokenType::NORMAL) ||
        !ByteLevelToBytes(source.tokens[id], &t.pieces[id])) {
      t.pieces[id] = source.tokens[id];
    }
  }
  for (int32_t id : {source.bos_id, source.eos_id, source.unk_id}) {
    if (id < -1 || id >= static_cast<int64_t>(n)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("special token id %d is outside the vocabulary of %d tokens", id, n));
    }
  }
  for (int32_t id : source.stop_ids) {
    if (id < 0 || id >= static_cast<int64_t>(n)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("stop token id %d is outside the vocabulary of %d tokens", id, n));
    }
  }
  t.bos_id = source.bos_id;
  t.eos_id = source.eos_id;
  t.unk_id = source.unk_id;
  t.stop_ids = source.stop_ids;

  // Merges name pieces by their byte-level spelling; the lowest id wins on duplicates.
  std::unordered_map<std::string, uint32_t> by_spelling;
  by_spelling.reserve(n);
  for (size_t id = 0; id < n; ++id)
    by_spelling.emplace(source.tokens[id], static_cast<uint32_t>(id));
  std::unordered_map<uint64_t, bool> seen_pairs;
  seen_pairs.reserve(source.merges.size());
  size_t dropped = 0;
  t.merges.reserve(source.merges.size());
  for (size_t rank = 0; rank < source.merges.size(); ++rank) {
    const auto& [left, right] = source.merges[rank];
    const auto l = by_spelling.find(left);
    const auto r = by_spelling.find(right);
    const auto joined = by_spelling.find(left + right);
    const auto is_text = [&](uint32_t id) {
      return t.types[id] == static_cast<uint8_t>(TokenType::NORMAL) ||
             t.types[id] == static_cast<uint8_t>(TokenType::USER_DEFINED);
    };
    if (l == by_spelling.end() || r == by_spelling.end() || joined == by_spelling.end() ||
        !is_text(l->second) || !is_text(r->second) || !is_text(joined->second) ||
        t.pieces[joined->second] != t.pieces[l->second] + t.pieces[r->second] ||
        !seen_pairs.emplace(uint64_t{l->second} << 32 | r->second, true).second) {
      ++dropped;
      continue;
    }
    t.merges.push_back(BpeMerge{l->second, r->second, static_cast<uint32_t>(rank), joined->second});
  }
  if (dropped_merges != nullptr) *dropped_merges = dropped;
  t.Finalize();
  return t;
}

}  // namespace kite::convert
