// Byte-level tokenizer tables through a .kite file: written by the converter's writer as a
// vocabulary-only file, then validated by the runtime loader, which must refuse merges and
// byte tables that do not hold together (with errors that name the problem).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "platform/file_map.h"
#include "sdk/runtime/loader/model.h"
#include "test/common/tool_run.h"
#include "tools/convert/tokenizer/byte_level.h"
#include "tools/convert/write/kite_writer.h"

namespace kite::convert {
namespace {

ByteBpeSource SmallSource() {
  ByteBpeSource s;
  for (int b = 0; b < 256; ++b)
    s.tokens.push_back(BytesToByteLevel(std::string(1, static_cast<char>(b))));
  s.tokens.push_back("he");       // 256
  s.tokens.push_back("hel");      // 257
  s.tokens.push_back("<|end|>");  // 258
  s.types.assign(s.tokens.size(), static_cast<uint8_t>(TokenType::NORMAL));
  s.types[258] = static_cast<uint8_t>(TokenType::CONTROL);
  s.merges = {{"h", "e"}, {"he", "l"}};
  s.eos_id = 258;
  s.stop_ids = {258};
  return s;
}

// Writes `t` as a vocabulary-only file and opens it with the runtime loader.
Result<std::unique_ptr<Model>> WriteAndOpen(const TokenizerTables& t) {
  static const std::string dir = test::MakeScratchDir("byte_bpe_file");
  const std::string path = dir + "/vocab.kite";
  KiteModel m;
  m.vocab_only = true;
  m.config.vocab_size = static_cast<uint32_t>(t.pieces.size());
  m.tokenizer = &t;
  absl::StatusOr<KiteFileSummary> w = WriteKiteFile(m, path);
  EXPECT_TRUE(w.ok()) << w.status();
  Result<FileMap> map = FileMap::OpenPath(path.c_str());
  if (!map.ok()) return map.status();
  return Model::Open(static_cast<FileMap&&>(map.value()), {});
}

TEST(ByteBpeFileTest, WritesLoadsAndEncodes) {
  absl::StatusOr<TokenizerTables> t = BuildByteBpeTables(SmallSource(), nullptr);
  ASSERT_TRUE(t.ok()) << t.status();
  Result<std::unique_ptr<Model>> model = WriteAndOpen(*t);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const Tokenizer& tok = model.value()->tokenizer();
  EXPECT_TRUE(model.value()->vocab_only());
  EXPECT_EQ(tok.view().kind, TokenizerType::BYTE_BPE);
  EXPECT_EQ(tok.view().n_merges, 2u);
  int32_t ids[16];
  size_t n = 0;
  ASSERT_TRUE(tok.Encode("help", 4, false, ids, 16, &n).ok());
  EXPECT_EQ(std::vector<int32_t>(ids, ids + n), (std::vector<int32_t>{257, 'p'}));
  // A NUL byte is a piece like any other and decodes back.
  ASSERT_TRUE(tok.Encode("a\0b", 3, false, ids, 16, &n).ok());
  char text[8];
  size_t len = 0;
  ASSERT_TRUE(tok.Decode(ids, n, text, sizeof(text), &len).ok());
  EXPECT_EQ(std::string(text, len), std::string("a\0b", 3));
  EXPECT_TRUE(tok.IsStop(258));
  // Too small an output buffer names the capacity needed.
  const Status small = tok.Encode("help", 4, false, ids, 3, &n);
  EXPECT_EQ(small.code(), Error::kOutOfMemory);
  EXPECT_NE(std::strstr(small.message(), "need 4"), nullptr) << small.message();
}

TEST(ByteBpeFileTest, LoaderRefusesInconsistentMerges) {
  absl::StatusOr<TokenizerTables> good = BuildByteBpeTables(SmallSource(), nullptr);
  ASSERT_TRUE(good.ok());
  const auto expect_refused = [](const TokenizerTables& t, const char* needle) {
    Result<std::unique_ptr<Model>> model = WriteAndOpen(t);
    ASSERT_FALSE(model.ok()) << needle;
    EXPECT_EQ(model.status().code(), Error::kInvalidFormat);
    EXPECT_NE(std::strstr(model.status().message(), needle), nullptr) << model.status().message();
  };
  TokenizerTables t = *good;
  t.merges[0].mutate_result(257);  // "h" + "e" is not "hel"
  expect_refused(t, "is not tokens");
  t = *good;
  t.merges[1].mutate_right(9999);
  expect_refused(t, "token id >=");
  t = *good;
  std::swap(t.merges[0], t.merges[1]);  // writer keeps the order it is given
  expect_refused(t, "not sorted");
  t = *good;
  t.byte_ids['a'] = 'b';
  expect_refused(t, "is not the one-byte piece");
  t = *good;
  t.byte_ids.clear();
  expect_refused(t, "needs byte_ids");
}

// A normalizer pipeline and RAW added tokens survive the file; the loader refuses a step
// kind it does not know (naming the step), bad step strings and a short flag table.
TEST(ByteBpeFileTest, NormalizerPipelineAndAddedTokenFlags) {
  ByteBpeSource src = SmallSource();
  src.tokens.push_back("<MiXeD>");  // 259, matched in the raw text
  src.types.push_back(static_cast<uint8_t>(TokenType::USER_DEFINED));
  absl::StatusOr<TokenizerTables> good = BuildByteBpeTables(src, nullptr);
  ASSERT_TRUE(good.ok()) << good.status();
  good->normalizer = NormalizerType::PIPELINE;
  NormalizerStepTables lower;
  lower.kind = NormalizerStepKind::LOWERCASE;
  lower.name = "Lowercase";
  NormalizerStepTables replace;
  replace.kind = NormalizerStepKind::REPLACE;
  replace.name = "Replace";
  replace.pattern = "q";
  replace.content = "he";
  good->normalizer_steps = {lower, replace};
  good->added_token_flags.assign(good->pieces.size(), 0);
  good->added_token_flags[259] = static_cast<uint8_t>(AddedTokenFlag::RAW);
  {
    Result<std::unique_ptr<Model>> model = WriteAndOpen(*good);
    ASSERT_TRUE(model.ok()) << model.status().message();
    const Tokenizer& tok = model.value()->tokenizer();
    ASSERT_EQ(tok.view().n_normalizer_steps, 2u);
    int32_t ids[32];
    size_t n = 0;
    // "QL" -> "ql" -> "hel"; the raw "<MiXeD>" is its token, "<mixed>" is plain text.
    ASSERT_TRUE(tok.Encode("QL<MiXeD>", 9, false, ids, 32, &n).ok());
    EXPECT_EQ(std::vector<int32_t>(ids, ids + n), (std::vector<int32_t>{257, 259}));
    ASSERT_TRUE(tok.Encode("<mixed>", 7, false, ids, 32, &n).ok());
    EXPECT_EQ(n, 7u);
    ASSERT_TRUE(tok.Encode("<MIXED>", 7, false, ids, 32, &n).ok());
    EXPECT_EQ(std::vector<int32_t>(ids, ids + n),
              (std::vector<int32_t>{'<', 'm', 'i', 'x', 'e', 'd', '>'}));
  }
  const auto expect_refused = [](const TokenizerTables& t, Error code, const char* needle) {
    Result<std::unique_ptr<Model>> model = WriteAndOpen(t);
    ASSERT_FALSE(model.ok()) << needle;
    EXPECT_EQ(model.status().code(), code) << needle;
    EXPECT_NE(std::strstr(model.status().message(), needle), nullptr) << model.status().message();
  };
  TokenizerTables t = *good;
  t.normalizer_steps[1].kind = static_cast<NormalizerStepKind>(200);
  t.normalizer_steps[1].name = "Future";
  expect_refused(t, Error::kUnsupported,
                 "normalizer step 1 is 'Future' (kind 200), which this runtime does not know");
  t = *good;
  t.normalizer_steps[1].pattern.clear();  // an empty Replace pattern
  expect_refused(t, Error::kInvalidFormat, "normalizer step 1 ('Replace') has a pattern of 0");
  t = *good;
  t.normalizer_steps[1].kind = NormalizerStepKind::PREPEND;
  t.normalizer_steps[1].name = "Prepend";
  t.normalizer_steps[1].pattern.clear();
  t.normalizer_steps[1].content.assign(100000, 'x');  // absurd Prepend length
  expect_refused(t, Error::kInvalidFormat, "has content of 100000 bytes");
  t = *good;
  t.normalizer_steps.clear();  // PIPELINE without steps
  expect_refused(t, Error::kInvalidFormat, "the normalizer pipeline has 0 steps");
  t = *good;
  t.normalizer = NormalizerType::NFC;  // steps without PIPELINE
  expect_refused(t, Error::kInvalidFormat, "normalizer_steps given for normalizer 1");
  t = *good;
  t.added_token_flags.pop_back();  // a truncated flag table
  expect_refused(t, Error::kInvalidFormat, "added_token_flags has 259 entries, expected 260");
  t = *good;
  t.added_token_flags[258] = static_cast<uint8_t>(AddedTokenFlag::RAW);  // a CONTROL token
  expect_refused(t, Error::kInvalidFormat, "added_token_flags[258] = 0x01");
  t = *good;
  t.added_token_flags[259] = 0x80;  // an unknown bit
  expect_refused(t, Error::kInvalidFormat, "added_token_flags[259] = 0x80");
}

TEST(ByteBpeFileTest, WriterRefusesVocabOnlyFilesWithTensors) {
  absl::StatusOr<TokenizerTables> t = BuildByteBpeTables(SmallSource(), nullptr);
  ASSERT_TRUE(t.ok());
  KiteModel m;
  m.vocab_only = true;
  m.config.vocab_size = static_cast<uint32_t>(t->pieces.size());
  static const std::string dir = test::MakeScratchDir("byte_bpe_writer");
  EXPECT_FALSE(WriteKiteFile(m, dir + "/a.kite").ok());  // no tokenizer
  m.tokenizer = &*t;
  KiteTensor norm;
  norm.name = "norm";
  norm.shape = {4};
  norm.data.assign(16, 0);
  m.tensors.push_back(norm);
  absl::StatusOr<KiteFileSummary> w = WriteKiteFile(m, dir + "/b.kite");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("no tensors"), std::string::npos) << w.status();
}

TEST(ByteBpeFileTest, BuilderDropsMergesItCannotResolve) {
  ByteBpeSource s = SmallSource();
  s.merges.push_back({"x", "yz"});       // "yz" is not a piece
  s.merges.push_back({"h", "e"});        // repeats rank 0
  s.merges.push_back({"<|end|>", "h"});  // a control piece
  size_t dropped = 0;
  absl::StatusOr<TokenizerTables> t = BuildByteBpeTables(s, &dropped);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(dropped, 3u);
  EXPECT_EQ(t->merges.size(), 2u);
  EXPECT_EQ(t->pieces[258], "<|end|>");
  s.eos_id = 400;
  EXPECT_FALSE(BuildByteBpeTables(s, nullptr).ok());
}

}  // namespace
}  // namespace kite::convert
