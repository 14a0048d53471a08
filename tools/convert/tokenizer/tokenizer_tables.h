// Owned tokenizer tables as the converter builds them, before they are written into the
// .kite file (sdk/schema/kite.fbs table Tokenizer). Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sdk/format/format.h"
#include "sdk/runtime/tokenizer/normalize.h"
#include "sdk/runtime/tokenizer/split_regex.h"

namespace kite {
struct TokenizerView;  // sdk/runtime/tokenizer/tokenizer.h, which callers of View() include
}  // namespace kite

namespace kite::convert {

/// One compiled stage of a SPLIT pre-tokenizer (sdk/schema/kite.fbs table SplitRule).
struct SplitRuleTables {
  std::vector<uint32_t> program;  ///< sdk/runtime/tokenizer/split_regex.h format
  SplitBehavior behavior = SplitBehavior::ISOLATED;
  bool invert = false;
};

/// One step of a PIPELINE normalizer (sdk/schema/kite.fbs table NormalizerStep).
struct NormalizerStepTables {
  NormalizerStepKind kind = NormalizerStepKind::NFC;
  std::string name;  ///< the source's name (tokenizer.json "type"), for messages
  bool strip_left = false;
  bool strip_right = false;
  std::string pattern;  ///< REPLACE
  std::string content;  ///< REPLACE, PREPEND

  /// The runtime's view of this step: its strings point into this object, which must
  /// outlive the view and not change.
  NormalizerStep View() const {
    NormalizerStep s;
    s.kind = kind;
    s.strip_left = strip_left;
    s.strip_right = strip_right;
    s.pattern = pattern.data();
    s.pattern_size = pattern.size();
    s.content = content.data();
    s.content_size = content.size();
    return s;
  }
};

/// The tokenizer of a model, with every derived table filled by Finalize().
struct TokenizerTables {
  TokenizerType kind = TokenizerType::SCORE_BPE;
  std::vector<std::string> pieces;      ///< raw bytes of each piece (SentencePiece U+2581 already a space)
  std::vector<float> scores;            ///< one per piece
  std::vector<uint8_t> types;           ///< TokenType per piece
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  std::vector<int32_t> stop_ids;
  bool add_dummy_prefix = true;
  /// Whether prompts start with BOS (the source's add_bos_token).
  bool add_bos = true;
  // Byte-level BPE (kByteBpe) only; pieces then hold raw bytes.
  std::vector<BpeMerge> merges;         ///< any order; Finalize() sorts them by (left, right)
  PreTokenizerType pretokenizer = PreTokenizerType::NONE;
  std::vector<SplitRuleTables> split_rules;  ///< pretokenizer SPLIT: the stages, in order
  bool ignore_merges = false;           ///< take a pre-token whole when it is a piece
  /// ByteLevel add_prefix_space: the split stage whose input pieces get a leading space
  /// (kite.fbs Tokenizer.prefix_space_stage), or -1.
  int8_t prefix_space_stage = -1;
  NormalizerType normalizer = NormalizerType::NONE;  ///< applied to the text first
  /// normalizer PIPELINE: its steps, in order (at most kMaxNormalizerSteps).
  std::vector<NormalizerStepTables> normalizer_steps;
  /// Byte-level BPE: AddedTokenFlag bits per piece, or empty (no RAW added token).
  std::vector<uint8_t> added_token_flags;

  // Derived by Finalize():
  std::string blob;                     ///< pieces, each followed by NUL
  std::vector<uint32_t> piece_offsets;  ///< size() + 1 entries into blob
  std::vector<uint32_t> sorted_ids;     ///< ids sorted by piece bytes (memcmp order, shorter first)
  /// 256 entries, -1 when none: the BYTE token ("<0xHH>") of each byte value, or for
  /// byte-level BPE the lowest-id NORMAL piece that is exactly that one byte.
  std::vector<int32_t> byte_ids;
  uint32_t max_piece_length = 0;

  /// Fills the derived tables from pieces/scores/types (and sorts merges). Call after any
  /// change.
  void Finalize();

  /// A view over these tables (valid while this object lives and is not modified).
  TokenizerView View() const;
};

/// If `piece` is a byte-fallback spelling, exactly "<0xHH>" with two hex digits (either
/// case), stores the byte value in *value and returns true; otherwise returns false.
bool ParseBytePiece(const std::string& piece, uint8_t* value);

}  // namespace kite::convert
