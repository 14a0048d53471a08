// Text <-> token ids, reading its tables in place from the mapped model file.
// Encoding and decoding never allocate: callers pass the output buffers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/base/status.h"
#include "sdk/format/format.h"
#include "sdk/runtime/tokenizer/normalize.h"
#include "sdk/runtime/tokenizer/split_regex.h"

namespace kite {

// The tokenizer's enums come from sdk/schema/kite.fbs (see sdk/format/format.h):
// TokenizerType (the algorithm), PreTokenizerType (how byte-level BPE splits text before
// merging; sdk/runtime/tokenizer/pretokenizer.h has the exact rules) and TokenType (a
// token's kind, as SentencePiece's). BpeMerge, the merge record, is the schema's struct too.

/// Borrowed pointers to the tokenizer tables (normally inside the mapped .kite file, see
/// sdk/schema/kite.fbs table Tokenizer). The loader validates them before building a view:
/// every array has the documented length, every offset and id is in range.
struct TokenizerView {
  TokenizerType kind = TokenizerType::NONE;
  uint32_t vocab_size = 0;
  /// All pieces, each followed by a NUL byte; piece i starts at pieces + piece_offsets[i].
  const char* pieces = nullptr;
  const uint32_t* piece_offsets = nullptr;  ///< vocab_size + 1 entries
  const float* scores = nullptr;            ///< vocab_size entries
  const uint8_t* types = nullptr;           ///< vocab_size TokenType values
  const uint32_t* sorted_ids = nullptr;     ///< ids sorted by piece bytes (memcmp, shorter first)
  const int32_t* byte_ids = nullptr;        ///< 256 entries (byte -> BYTE token id or -1), or null
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  const int32_t* stop_ids = nullptr;  ///< tokens that end generation
  uint32_t n_stop_ids = 0;
  bool add_dummy_prefix = true;
  uint32_t max_piece_length = 0;
  // Byte-level BPE (kByteBpe) only. byte_ids then maps each byte to its single-byte piece.
  /// Merges sorted by (left, right), no duplicate pair; every id < vocab_size.
  const BpeMerge* merges = nullptr;
  uint32_t n_merges = 0;
  PreTokenizerType pretokenizer = PreTokenizerType::NONE;
  /// pretokenizer SPLIT: the stages (programs borrowed from the file), applied in order.
  SplitStage split_stages[kMaxSplitStages];
  uint32_t n_split_stages = 0;
  /// USER_DEFINED pieces (Hugging Face's non-special added tokens) are matched in the text
  /// before the split, longest first: bit b of user_first_bytes is set when one starts with
  /// byte b; max_user_length is the longest one's length (0: none). Those flagged
  /// AddedTokenFlag::RAW are matched first, in the text before normalization (raw_first_bytes,
  /// max_raw_length), the others in the normalized text between them.
  /// IndexUserDefinedTokens (tokenizer_bpe.h) fills all four.
  uint8_t user_first_bytes[32] = {};
  uint32_t max_user_length = 0;
  uint8_t raw_first_bytes[32] = {};
  uint32_t max_raw_length = 0;
  /// vocab_size AddedTokenFlag bit sets, or null (no token is RAW).
  const uint8_t* added_token_flags = nullptr;
  /// A pre-token that is itself a normal piece is taken whole (Hugging Face ignore_merges).
  bool ignore_merges = false;
  /// Hugging Face ByteLevel add_prefix_space: each piece reaching split stage
  /// prefix_space_stage (0: the text between added tokens, whatever the pre-tokenizer;
  /// n_split_stages: the final pieces) gets a space prepended unless it starts with one.
  /// -1: never.
  int32_t prefix_space_stage = -1;
  /// Normalization of the text before anything else (normalize.h): NFC or NFKC, or
  /// PIPELINE, whose steps follow.
  NormalizerType normalizer = NormalizerType::NONE;
  /// normalizer PIPELINE: the steps, applied in order (strings borrowed from the file).
  NormalizerStep normalizer_steps[kMaxNormalizerSteps];
  uint32_t n_normalizer_steps = 0;
  /// Whether prompts of this model start with BOS (sessions honour it; Encode's add_bos
  /// argument is not affected).
  bool add_bos = true;
};

/// Encoder/decoder over a TokenizerView. Immutable after construction and safe to use from
/// many threads at once. The view's memory must outlive the Tokenizer.
class Tokenizer {
 public:
  Tokenizer() = default;
  explicit Tokenizer(const TokenizerView& view) : v_(view) {}

  const TokenizerView& view() const { return v_; }
  uint32_t vocab_size() const { return v_.vocab_size; }

  /// Worst-case number of ids Encode() needs before merging for `len` bytes of text
  /// (one per byte, plus BOS and the dummy prefix). Capacity of at least this always works,
  /// except for byte-level tokenizers with a normalizer or add_prefix_space (see Encode).
  static size_t MaxTokensFor(size_t len) { return len + 2; }

  /// A capacity with which Encode() never fails for lack of room on `len` bytes of text,
  /// whatever the normalizer (its growth bound, normalize.h) and add_prefix_space: three
  /// entries per byte of the longest normalized text, plus room for that text and the
  /// pipeline's intermediate text (with RAW added tokens, each piece between them may get
  /// a Prepend). SIZE_MAX when it overflows.
  size_t CapacityFor(size_t len) const;

  /// Encodes `len` bytes of UTF-8 `text` (BOS first when `add_bos` and the model has one).
  /// Writes the ids to out[0..*n_out). `out` doubles as working space: if the text needs
  /// more than `capacity` ids before merging, returns kOutOfMemory naming the capacity
  /// needed. Invalid UTF-8 is encoded byte by byte (byte fallback) or as unk. No heap.
  /// Byte-level BPE starts from one id per byte (plus BOS). For both kinds, a capacity of
  /// 3 * MaxTokensFor(len) lets merging take its O(n log n) path; less still works, by
  /// rescanning. Special-token text (e.g. "<|endoftext|>", CONTROL pieces) is encoded as
  /// plain text; byte-level BPE matches USER_DEFINED pieces (added tokens) before the split.
  /// A SPLIT pre-tokenizer's matcher state (SplitScratch, about 5 KB) is on the stack.
  /// Byte-level tokenizers with a normalizer normalize the text first unless the quick check
  /// finds nothing to change (with RAW added tokens, each piece of text between them
  /// separately, as Hugging Face does); the normalized text (n bytes) then takes n / 4 + 1
  /// entries at the end of `out`, and add_prefix_space another n / 4 + 1 for one piece with
  /// its space, beside one id per normalized byte and per prefix space: kOutOfMemory names
  /// the capacity needed (3 * MaxTokensFor(len) is enough unless normalization grows the
  /// text by more than half or most pieces get a space; CapacityFor(len) always is).
  /// A pipeline of several steps also needs, while it runs, room after the ids for one
  /// step's input and output at once; when that is short, kOutOfMemory names a lower bound.
  Status Encode(const char* text, size_t len, bool add_bos, int32_t* out, size_t capacity,
                size_t* n_out) const;

  /// The text of `token` when it follows `prev` (-1 when it is the first): a NUL-terminated
  /// string pointing into the tables, or into `byte_buf` for byte tokens. Control and
  /// unknown-kind tokens give "". After BOS, a leading space (the dummy prefix) is dropped.
  /// Returns "" for ids out of range.
  const char* Piece(int32_t prev, int32_t token, char byte_buf[2]) const;

  /// Decodes `n` ids into `out` (NUL-terminated), as the concatenation of Piece() of each
  /// id after the previous one. *len_out gets the text length (without NUL). Fails with
  /// kOutOfMemory when `capacity` is too small, kInvalidArgument for an id out of range.
  Status Decode(const int32_t* ids, size_t n, char* out, size_t capacity, size_t* len_out) const;

  /// True when `token` ends generation (one of the stop ids).
  bool IsStop(int32_t token) const;

 private:
  TokenizerView v_;
};

}  // namespace kite
