// The llama2.c tokenizer.bin reader and the derived tables (tools/convert).
#include "tools/convert/tokenizer/llama2c_tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "test/common/read_file.h"
#include "sdk/runtime/tokenizer/tokenizer.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {
namespace {

const std::string kModels = KITE_SHARED_MODELS;

uint8_t Kind(TokenType k) { return static_cast<uint8_t>(k); }

// Builds llama2.c tokenizer bytes: header, then (score, len, bytes) per entry.
class FileBuilder {
 public:
  explicit FileBuilder(uint32_t max_token_length) { U32(max_token_length); }
  FileBuilder& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  FileBuilder& F32(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return U32(bits);
  }
  FileBuilder& Entry(float score, const std::string& piece) {
    F32(score);
    U32(static_cast<uint32_t>(piece.size()));
    bytes_ += piece;
    return *this;
  }
  FileBuilder& Raw(const std::string& raw) {
    bytes_ += raw;
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// A small valid file: <unk>, BOS, EOS, two byte tokens, " ", "a", " a".
FileBuilder SmallFile() {
  FileBuilder b(6);
  b.Entry(0, "<unk>").Entry(0, "\n<s>\n").Entry(0, "\n</s>\n");
  b.Entry(0, "<0x00>").Entry(0, "<0x61>").Entry(-1, " ").Entry(-2, "a").Entry(-3, " a");
  return b;
}

void ExpectError(const absl::StatusOr<TokenizerTables>& result, absl::StatusCode code,
                 const std::vector<std::string>& fragments) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  for (const std::string& fragment : fragments) {
    EXPECT_NE(result.status().message().find(fragment), std::string::npos)
        << "missing \"" << fragment << "\" in: " << result.status().message();
  }
}

TEST(Llama2cTokenizerTest, ReadsTok512) {
  auto result = ReadLlama2cTokenizer(kModels + "/tok512.bin", 512);
  ASSERT_TRUE(result.ok()) << result.status();
  const TokenizerTables& t = *result;
  ASSERT_EQ(t.pieces.size(), 512u);
  EXPECT_EQ(t.kind, TokenizerType::SCORE_BPE);
  EXPECT_EQ(t.pieces[0], "<unk>");
  EXPECT_EQ(t.pieces[1], "\n<s>\n");
  EXPECT_EQ(t.pieces[2], "\n</s>\n");
  EXPECT_EQ(t.pieces[259], " t");
  EXPECT_EQ(t.scores[260], -1.0f);
  EXPECT_EQ(t.scores[511], -252.0f);
  EXPECT_EQ(t.types[0], Kind(TokenType::UNKNOWN));
  EXPECT_EQ(t.types[1], Kind(TokenType::CONTROL));
  EXPECT_EQ(t.types[2], Kind(TokenType::CONTROL));
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(t.types[3 + b], Kind(TokenType::BYTE)) << b;
    EXPECT_EQ(t.byte_ids[b], 3 + b) << b;
  }
  for (size_t id = 259; id < 512; ++id) EXPECT_EQ(t.types[id], Kind(TokenType::NORMAL)) << id;
  EXPECT_EQ(t.bos_id, 1);
  EXPECT_EQ(t.eos_id, 2);
  EXPECT_EQ(t.unk_id, 0);
  EXPECT_EQ(t.stop_ids, (std::vector<int32_t>{2, 1}));
  EXPECT_TRUE(t.add_dummy_prefix);
  EXPECT_EQ(t.max_piece_length, 7u);
}

TEST(Llama2cTokenizerTest, ReadsLlama2Vocabulary) {
  auto result = ReadLlama2cTokenizer(kModels + "/tokenizer-llama2-32k.bin", 32000);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->pieces.size(), 32000u);
  EXPECT_EQ(result->pieces[29871], " ");
  EXPECT_EQ(result->scores[259], -1e9f);
  EXPECT_LE(result->max_piece_length, 27u);
  EXPECT_EQ(result->byte_ids[0xFF], 258);
}

TEST(Llama2cTokenizerTest, FinalizeBuildsLookupTables) {
  auto result = ParseLlama2cTokenizer(SmallFile().bytes(), 8, "small");
  ASSERT_TRUE(result.ok()) << result.status();
  const TokenizerTables& t = *result;
  // Blob: every piece followed by NUL, offsets one past each NUL.
  ASSERT_EQ(t.piece_offsets.size(), 9u);
  EXPECT_EQ(t.piece_offsets[0], 0u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(t.blob.substr(t.piece_offsets[i], t.pieces[i].size() + 1), t.pieces[i] + '\0');
    EXPECT_EQ(t.piece_offsets[i + 1], t.piece_offsets[i] + t.pieces[i].size() + 1);
  }
  EXPECT_EQ(t.piece_offsets[8], t.blob.size());
  // Byte order: "\n</s>\n" < "\n<s>\n" < " " < " a" < "<0x00>" < "<0x61>" < "<unk>" < "a".
  EXPECT_EQ(t.sorted_ids, (std::vector<uint32_t>{2, 1, 5, 7, 3, 4, 0, 6}));
  EXPECT_EQ(t.byte_ids[0x00], 3);
  EXPECT_EQ(t.byte_ids[0x61], 4);
  EXPECT_EQ(t.byte_ids[0x62], -1);
  EXPECT_EQ(t.max_piece_length, 6u);

  const TokenizerView v = t.View();
  EXPECT_EQ(v.vocab_size, 8u);
  EXPECT_EQ(v.pieces, t.blob.data());
  EXPECT_EQ(v.n_stop_ids, 2u);
  EXPECT_EQ(v.byte_ids, t.byte_ids.data());
  EXPECT_EQ(v.max_piece_length, 6u);
}

TEST(Llama2cTokenizerTest, SortOrderIsBytewiseWithPrefixesFirst) {
  TokenizerTables t;
  t.pieces = {"b", "ab", "a", "\xC3\xA9", "a\x01", "", "aa"};
  t.Finalize();
  // "" < "a" < "a\x01" < "aa" < "ab" < "b" < "\xC3\xA9" (bytes compare unsigned).
  EXPECT_EQ(t.sorted_ids, (std::vector<uint32_t>{5, 2, 4, 6, 1, 0, 3}));
  EXPECT_EQ(t.scores.size(), 7u);
  EXPECT_EQ(t.types[0], Kind(TokenType::NORMAL));
}

TEST(Llama2cTokenizerTest, BytePieceSpelling) {
  uint8_t value = 0;
  EXPECT_TRUE(ParseBytePiece("<0xAB>", &value));
  EXPECT_EQ(value, 0xAB);
  EXPECT_TRUE(ParseBytePiece("<0x0f>", &value));
  EXPECT_EQ(value, 0x0F);
  EXPECT_FALSE(ParseBytePiece("<0xAG>", &value));
  EXPECT_FALSE(ParseBytePiece("<0xABC>", &value));
  EXPECT_FALSE(ParseBytePiece("<0xA>", &value));
  EXPECT_FALSE(ParseBytePiece("[0xAB]", &value));
}

TEST(Llama2cTokenizerTest, Id0IsUnknownOnlyWhenSpelledUnk) {
  FileBuilder b(6);
  b.Entry(0, "zero").Entry(0, "\n<s>\n").Entry(0, "\n</s>\n");
  auto result = ParseLlama2cTokenizer(b.bytes(), 3, "custom");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->unk_id, -1);
  EXPECT_EQ(result->types[0], Kind(TokenType::NORMAL));
}

TEST(Llama2cTokenizerTest, RejectsWrongVocabSize) {
  std::string bytes;
  ASSERT_TRUE(test::ReadWholeFile(kModels + "/tok512.bin", &bytes));
  ExpectError(ParseLlama2cTokenizer(bytes, 511, "tok512.bin"), absl::StatusCode::kDataLoss,
              {"tok512.bin", "trailing bytes", "is vocab_size 511 right?"});
  ExpectError(ParseLlama2cTokenizer(bytes, 513, "tok512.bin"), absl::StatusCode::kDataLoss,
              {"tok512.bin", "truncated at token 512 of 513"});
  ExpectError(ParseLlama2cTokenizer(bytes, 0, "tok512.bin"), absl::StatusCode::kInvalidArgument,
              {"tok512.bin", "vocab_size 0"});
  ExpectError(ParseLlama2cTokenizer(bytes, -5, "tok512.bin"),
              absl::StatusCode::kInvalidArgument, {"vocab_size -5"});
  ExpectError(ParseLlama2cTokenizer(bytes, 2, "tok512.bin"), absl::StatusCode::kInvalidArgument,
              {"vocab_size 2"});
  ExpectError(ParseLlama2cTokenizer(bytes, std::numeric_limits<int32_t>::max(), "tok512.bin"),
              absl::StatusCode::kDataLoss, {"truncated at token 512"});
}

TEST(Llama2cTokenizerTest, RejectsTruncatedFiles) {
  const std::string whole = SmallFile().bytes();
  ASSERT_TRUE(ParseLlama2cTokenizer(whole, 8, "small").ok());
  ExpectError(ParseLlama2cTokenizer("", 8, "small"), absl::StatusCode::kDataLoss,
              {"small", "truncated", "max_token_length"});
  ExpectError(ParseLlama2cTokenizer(whole.substr(0, 3), 8, "small"), absl::StatusCode::kDataLoss,
              {"truncated"});
  // Inside the last piece (" a": its 2 bytes are the file's last).
  ExpectError(ParseLlama2cTokenizer(whole.substr(0, whole.size() - 1), 8, "small"),
              absl::StatusCode::kDataLoss, {"truncated in token 7", "needs 2 bytes"});
  // Inside the score/length pair of token 7.
  ExpectError(ParseLlama2cTokenizer(whole.substr(0, whole.size() - 2 - 3), 8, "small"),
              absl::StatusCode::kDataLoss, {"truncated at token 7 of 8"});
  // Every cut point fails cleanly.
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    EXPECT_FALSE(ParseLlama2cTokenizer(whole.substr(0, cut), 8, "small").ok()) << cut;
  }
}

TEST(Llama2cTokenizerTest, RejectsTrailingBytes) {
  FileBuilder b = SmallFile();
  b.Raw("xyz");
  ExpectError(ParseLlama2cTokenizer(b.bytes(), 8, "small"), absl::StatusCode::kDataLoss,
              {"small", "3 trailing bytes"});
}

TEST(Llama2cTokenizerTest, RejectsAbsurdLengths) {
  FileBuilder huge_piece(6);
  huge_piece.Entry(0, "<unk>").F32(0).U32(0xFFFFFFFFu).Raw("abc");
  ExpectError(ParseLlama2cTokenizer(huge_piece.bytes(), 3, "bad"), absl::StatusCode::kDataLoss,
              {"bad", "token 1", "length 4294967295", "max_token_length 6"});

  FileBuilder longer_than_declared(3);
  longer_than_declared.Entry(0, "<unk>");
  ExpectError(ParseLlama2cTokenizer(longer_than_declared.bytes(), 3, "bad"),
              absl::StatusCode::kDataLoss, {"token 0", "length 5", "max_token_length 3"});

  FileBuilder huge_header(1u << 30);
  huge_header.Entry(0, "<unk>");
  ExpectError(ParseLlama2cTokenizer(huge_header.bytes(), 3, "bad"), absl::StatusCode::kDataLoss,
              {"max_token_length 1073741824"});
  FileBuilder zero_header(0);
  ExpectError(ParseLlama2cTokenizer(zero_header.bytes(), 3, "bad"), absl::StatusCode::kDataLoss,
              {"max_token_length 0"});

  FileBuilder empty_piece(6);
  empty_piece.Entry(0, "<unk>").Entry(0, "");
  ExpectError(ParseLlama2cTokenizer(empty_piece.bytes(), 3, "bad"), absl::StatusCode::kDataLoss,
              {"token 1", "empty piece"});
}

TEST(Llama2cTokenizerTest, RejectsNanScores) {
  FileBuilder b(6);
  b.Entry(0, "<unk>").Entry(std::nanf(""), "\n<s>\n").Entry(0, "\n</s>\n");
  ExpectError(ParseLlama2cTokenizer(b.bytes(), 3, "bad"), absl::StatusCode::kDataLoss,
              {"token 1", "NaN"});
}

TEST(Llama2cTokenizerTest, MissingFileIsNotFound) {
  const std::string path = kModels + "/no-such-tokenizer.bin";
  auto result = ReadLlama2cTokenizer(path, 512);
  ExpectError(result, absl::StatusCode::kNotFound, {path});
}

}  // namespace
}  // namespace kite::convert
