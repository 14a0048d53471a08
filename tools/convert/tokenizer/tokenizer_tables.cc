#include "tools/convert/tokenizer/tokenizer_tables.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "sdk/runtime/tokenizer/tokenizer.h"
#include "sdk/runtime/tokenizer/tokenizer_bpe.h"

namespace kite::convert {
namespace {

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Bytewise order with a proper prefix first: memcmp on the common length, then length.
bool PieceLess(const std::string& a, const std::string& b) {
  const size_t common = std::min(a.size(), b.size());
  const int r = common == 0 ? 0 : std::memcmp(a.data(), b.data(), common);
  if (r != 0) return r < 0;
  return a.size() < b.size();
}

}  // namespace

bool ParseBytePiece(const std::string& piece, uint8_t* value) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return false;
  const int high = HexDigitValue(piece[3]);
  const int low = HexDigitValue(piece[4]);
  if (high < 0 || low < 0) return false;
  *value = static_cast<uint8_t>(high * 16 + low);
  return true;
}

void TokenizerTables::Finalize() {
  const size_t n = pieces.size();
  // Missing per-piece values default to score 0 and NORMAL, so every array has n entries.
  scores.resize(n, 0.0f);
  types.resize(n, static_cast<uint8_t>(TokenType::NORMAL));

  blob.clear();
  piece_offsets.assign(1, 0);
  piece_offsets.reserve(n + 1);
  max_piece_length = 0;
  for (const std::string& piece : pieces) {
    blob.append(piece);
    blob.push_back('\0');
    piece_offsets.push_back(static_cast<uint32_t>(blob.size()));
    max_piece_length = std::max(max_piece_length, static_cast<uint32_t>(piece.size()));
  }

  // Ties (equal pieces) keep id order, so lookups find the lowest id first.
  sorted_ids.resize(n);
  std::iota(sorted_ids.begin(), sorted_ids.end(), 0u);
  std::stable_sort(sorted_ids.begin(), sorted_ids.end(),
                   [this](uint32_t a, uint32_t b) { return PieceLess(pieces[a], pieces[b]); });

  byte_ids.assign(256, -1);
  if (kind == TokenizerType::BYTE_BPE) {
    for (size_t id = 0; id < n; ++id) {
      if (pieces[id].size() != 1 || types[id] != static_cast<uint8_t>(TokenType::NORMAL)) {
        continue;
      }
      int32_t& slot = byte_ids[static_cast<uint8_t>(pieces[id][0])];
      if (slot < 0) slot = static_cast<int32_t>(id);
    }
    std::sort(merges.begin(), merges.end(), [](const BpeMerge& a, const BpeMerge& b) {
      return a.left() != b.left() ? a.left() < b.left() : a.right() < b.right();
    });
    return;
  }
  for (size_t id = 0; id < n; ++id) {
    if (types[id] != static_cast<uint8_t>(TokenType::BYTE)) continue;
    uint8_t value = 0;
    if (ParseBytePiece(pieces[id], &value) && byte_ids[value] < 0) {
      byte_ids[value] = static_cast<int32_t>(id);
    }
  }
}

TokenizerView TokenizerTables::View() const {
  TokenizerView v;
  v.kind = kind;
  v.vocab_size = static_cast<uint32_t>(pieces.size());
  v.pieces = blob.data();
  v.piece_offsets = piece_offsets.data();
  v.scores = scores.data();
  v.types = types.data();
  v.sorted_ids = sorted_ids.data();
  v.byte_ids = byte_ids.size() == 256 ? byte_ids.data() : nullptr;
  v.bos_id = bos_id;
  v.eos_id = eos_id;
  v.unk_id = unk_id;
  v.stop_ids = stop_ids.data();
  v.n_stop_ids = static_cast<uint32_t>(stop_ids.size());
  v.add_dummy_prefix = add_dummy_prefix;
  v.max_piece_length = max_piece_length;
  v.merges = merges.data();
  v.n_merges = static_cast<uint32_t>(merges.size());
  v.pretokenizer = pretokenizer;
  v.n_split_stages = static_cast<uint32_t>(std::min<size_t>(split_rules.size(), kMaxSplitStages));
  for (uint32_t i = 0; i < v.n_split_stages; ++i) {
    v.split_stages[i].program.words = split_rules[i].program.data();
    v.split_stages[i].program.n_words = static_cast<uint32_t>(split_rules[i].program.size());
    v.split_stages[i].behavior = split_rules[i].behavior;
    v.split_stages[i].invert = split_rules[i].invert;
  }
  v.ignore_merges = ignore_merges;
  v.prefix_space_stage = prefix_space_stage;
  v.normalizer = normalizer;
  v.n_normalizer_steps =
      static_cast<uint32_t>(std::min<size_t>(normalizer_steps.size(), kMaxNormalizerSteps));
  for (uint32_t i = 0; i < v.n_normalizer_steps; ++i) {
    v.normalizer_steps[i] = normalizer_steps[i].View();
  }
  v.added_token_flags = added_token_flags.size() == pieces.size() && !pieces.empty()
                            ? added_token_flags.data()
                            : nullptr;
  v.add_bos = add_bos;
  IndexUserDefinedTokens(&v);
  return v;
}

}  // namespace kite::convert
