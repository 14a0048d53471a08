#include "tools/convert/tokenizer/llama2c_tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/common/input_file.h"

namespace kite::convert {
namespace {

// llama2.c hard-codes these ids (run.c: BOS = 1, EOS = 2, byte fallback = 3 + byte).
constexpr int32_t kUnkId = 0;
constexpr int32_t kBosId = 1;
constexpr int32_t kEosId = 2;

// Sequential little-endian reader over the file bytes.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view bytes) : bytes_(bytes) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }

  bool ReadU32(uint32_t* value) {
    if (remaining() < 4) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes_.data() + offset_);
    *value = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
             static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    offset_ += 4;
    return true;
  }

  bool ReadF32(float* value) {
    uint32_t bits;
    if (!ReadU32(&bits)) return false;
    std::memcpy(value, &bits, sizeof(bits));
    return true;
  }

  bool ReadBytes(size_t n, std::string* out) {
    if (remaining() < n) return false;
    out->assign(bytes_.data() + offset_, n);
    offset_ += n;
    return true;
  }

 private:
  absl::string_view bytes_;
  size_t offset_ = 0;
};

uint8_t KindOf(int32_t id, const std::string& piece) {
  if (id == kBosId || id == kEosId) return static_cast<uint8_t>(TokenType::CONTROL);
  if (id == kUnkId && piece == "<unk>") return static_cast<uint8_t>(TokenType::UNKNOWN);
  uint8_t byte_value;
  if (ParseBytePiece(piece, &byte_value)) return static_cast<uint8_t>(TokenType::BYTE);
  return static_cast<uint8_t>(TokenType::NORMAL);
}

}  // namespace

absl::StatusOr<TokenizerTables> ParseLlama2cTokenizer(absl::string_view bytes,
                                                      int32_t vocab_size,
                                                      absl::string_view name_for_errors) {
  const std::string name(name_for_errors);
  if (vocab_size <= kEosId) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": vocab_size ", vocab_size,
        " is too small: llama2.c reserves ids 0 (unk), 1 (BOS) and 2 (EOS)"));
  }

  ByteReader reader(bytes);
  uint32_t max_token_length = 0;
  if (!reader.ReadU32(&max_token_length)) {
    return absl::DataLossError(absl::StrCat(name, ": truncated: ", bytes.size(),
                                            " bytes, too short for the max_token_length header"));
  }
  if (max_token_length == 0 || max_token_length > kMaxLlama2cPieceBytes) {
    return absl::DataLossError(absl::StrCat(name, ": max_token_length ", max_token_length,
                                            " is out of range [1, ", kMaxLlama2cPieceBytes,
                                            "]; is this a llama2.c tokenizer file?"));
  }

  TokenizerTables tables;
  tables.kind = TokenizerType::SCORE_BPE;
  // Each entry takes at least 8 bytes, which bounds the reservation for a hostile size.
  const size_t plausible_entries = std::min<size_t>(vocab_size, reader.remaining() / 8);
  tables.pieces.reserve(plausible_entries);
  tables.scores.reserve(plausible_entries);
  tables.types.reserve(plausible_entries);

  for (int32_t id = 0; id < vocab_size; ++id) {
    const size_t entry_offset = reader.offset();
    float score = 0;
    uint32_t length = 0;
    if (!reader.ReadF32(&score) || !reader.ReadU32(&length)) {
      return absl::DataLossError(absl::StrCat(
          name, ": truncated at token ", id, " of ", vocab_size, " (offset ", entry_offset,
          ", ", bytes.size(), " bytes): no room for its score and length; is vocab_size ",
          vocab_size, " right?"));
    }
    if (std::isnan(score)) {
      return absl::DataLossError(
          absl::StrCat(name, ": token ", id, " (offset ", entry_offset, ") has a NaN score"));
    }
    if (length == 0) {
      return absl::DataLossError(
          absl::StrCat(name, ": token ", id, " (offset ", entry_offset, ") has an empty piece"));
    }
    if (length > max_token_length) {
      return absl::DataLossError(absl::StrCat(name, ": token ", id, " (offset ", entry_offset,
                                              ") has length ", length,
                                              ", more than the file's max_token_length ",
                                              max_token_length));
    }
    std::string piece;
    if (!reader.ReadBytes(length, &piece)) {
      return absl::DataLossError(absl::StrCat(name, ": truncated in token ", id, " of ",
                                              vocab_size, ": its piece needs ", length,
                                              " bytes at offset ", reader.offset(), ", only ",
                                              reader.remaining(), " remain"));
    }
    tables.types.push_back(KindOf(id, piece));
    tables.pieces.push_back(std::move(piece));
    tables.scores.push_back(score);
  }
  if (reader.remaining() != 0) {
    return absl::DataLossError(absl::StrCat(
        name, ": ", reader.remaining(), " trailing bytes after the last token (", vocab_size,
        " tokens end at offset ", reader.offset(), "); is vocab_size ", vocab_size, " right?"));
  }

  tables.bos_id = kBosId;
  tables.eos_id = kEosId;
  tables.unk_id = tables.types[kUnkId] == static_cast<uint8_t>(TokenType::UNKNOWN) ? kUnkId : -1;
  // llama2.c models end a story by sampling BOS (run.c stops when it does), and never
  // emit EOS in practice; both stop generation.
  tables.stop_ids = {kEosId, kBosId};
  tables.add_dummy_prefix = true;
  tables.Finalize();
  return tables;
}

absl::StatusOr<TokenizerTables> ReadLlama2cTokenizer(const std::string& path,
                                                     int32_t vocab_size) {
  absl::StatusOr<std::string> contents = tools::ReadInputFile(path);
  if (!contents.ok()) return contents.status();
  return ParseLlama2cTokenizer(*contents, vocab_size, path);
}

}  // namespace kite::convert
