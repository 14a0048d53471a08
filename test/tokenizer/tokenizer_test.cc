// Runtime tokenizer (sdk/runtime/tokenizer/tokenizer.cc) against llama2.c's outputs for stories260K,
// against Hugging Face's Llama 2 tokenizer on llama.cpp's oracle strings, and on
// hand-built vocabularies that pin the merge rules.
#include "sdk/runtime/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "test/common/json_fixture.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite {
namespace {

using convert::TokenizerTables;

const std::string kModels = KITE_SHARED_MODELS;

// Loads a llama2.c tokenizer once per process; fails the test when it cannot.
const TokenizerTables* LoadOnce(const std::string& file, int32_t vocab_size) {
  static auto* cache = new std::map<std::string, TokenizerTables>();
  const auto found = cache->find(file);
  if (found != cache->end()) return &found->second;
  auto tables = convert::ReadLlama2cTokenizer(kModels + "/" + file, vocab_size);
  EXPECT_TRUE(tables.ok()) << tables.status();
  if (!tables.ok()) return nullptr;
  return &cache->emplace(file, *std::move(tables)).first->second;
}

// Encode() merges with an O(n log n) cached algorithm when `out` has room for 3 ids per
// initial token, else by rescanning; both must give the same ids.
constexpr size_t kFastCapacityFactor = 3;

std::vector<int32_t> EncodeWithCapacity(const Tokenizer& tok, const std::string& text,
                                        bool add_bos, size_t capacity) {
  std::vector<int32_t> ids(capacity);
  size_t n = 0;
  const Status s = tok.Encode(text.data(), text.size(), add_bos, ids.data(), ids.size(), &n);
  EXPECT_TRUE(s.ok()) << s.message();
  ids.resize(s.ok() ? n : 0);
  return ids;
}

// The number of ids `text` takes before merging, read from the kOutOfMemory message that
// Encode() gives for capacity 0.
size_t PreMergeCount(const Tokenizer& tok, const std::string& text, bool add_bos) {
  size_t n = 0;
  const Status s = tok.Encode(text.data(), text.size(), add_bos, nullptr, 0, &n);
  if (s.ok()) return 0;
  EXPECT_EQ(s.code(), Error::kOutOfMemory) << s.message();
  const char* need = std::strstr(s.message(), "need ");
  EXPECT_NE(need, nullptr) << s.message();
  return need != nullptr ? std::strtoull(need + 5, nullptr, 10) : 0;
}

// Encodes with both merge algorithms (capacity for the fast one, exactly the pre-merge
// count for the rescanning one) and expects them to agree.
std::vector<int32_t> EncodeOk(const Tokenizer& tok, const std::string& text, bool add_bos) {
  const size_t pre_merge = PreMergeCount(tok, text, add_bos);
  EXPECT_LE(pre_merge, Tokenizer::MaxTokensFor(text.size()));
  std::vector<int32_t> fast =
      EncodeWithCapacity(tok, text, add_bos, kFastCapacityFactor * pre_merge);
  std::vector<int32_t> slow = EncodeWithCapacity(tok, text, add_bos, pre_merge);
  EXPECT_EQ(fast, slow) << "merge algorithms disagree on \"" << text << "\"";
  return fast;
}

std::string DecodeOk(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<char> text(ids.size() * 8 + 1);  // no piece here is longer than 8 bytes
  size_t len = 0;
  const Status s = tok.Decode(ids.data(), ids.size(), text.data(), text.size(), &len);
  EXPECT_TRUE(s.ok()) << s.message();
  return s.ok() ? std::string(text.data(), len) : std::string();
}

std::vector<int32_t> ToIds(const std::vector<int64_t>& values) {
  return std::vector<int32_t>(values.begin(), values.end());
}

struct Golden {
  std::string prompt;
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;
  std::string generated_text;
  std::string decoded_text;
};

Golden ReadGolden(const std::string& name) {
  Golden g;
  const json::Value json = test::LoadJson(kModels + "/goldens/" + name);
  std::vector<int64_t> values;
  EXPECT_TRUE(test::JsonString(json, "prompt", &g.prompt)) << name;
  EXPECT_TRUE(test::JsonIntArray(json, "prompt_token_ids", &values)) << name;
  g.prompt_ids = ToIds(values);
  EXPECT_TRUE(test::JsonIntArray(json, "generated_token_ids", &values)) << name;
  g.generated_ids = ToIds(values);
  EXPECT_TRUE(test::JsonString(json, "generated_text", &g.generated_text)) << name;
  EXPECT_TRUE(test::JsonString(json, "decoded_text", &g.decoded_text)) << name;
  return g;
}

const char* const kGoldenFiles[] = {"stories260K-greedy-once_upon_a_time.json",
                                    "stories260K-greedy-the_little_dog.json"};

TEST(Tok512Test, EncodesGoldenPromptsLikeLlama2c) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  std::vector<std::string> prompts;
  for (const char* file : kGoldenFiles) {
    const Golden g = ReadGolden(file);
    prompts.push_back(g.prompt);
    ASSERT_FALSE(g.prompt_ids.empty()) << file;
    EXPECT_EQ(EncodeOk(tok, g.prompt, /*add_bos=*/true), g.prompt_ids) << file;
  }
  EXPECT_EQ(prompts, (std::vector<std::string>{"Once upon a time", "The little dog"}));
}

TEST(Tok512Test, DecodesGoldenOutputsLikeRunC) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  for (const char* file : kGoldenFiles) {
    const Golden g = ReadGolden(file);
    ASSERT_EQ(g.generated_ids.size(), 64u) << file;
    std::vector<int32_t> all = g.prompt_ids;
    all.insert(all.end(), g.generated_ids.begin(), g.generated_ids.end());
    EXPECT_EQ(DecodeOk(tok, all), g.decoded_text) << file;

    // The continuation piece by piece, as a streaming caller prints it.
    std::string continuation;
    char byte_buf[2];
    int32_t prev = g.prompt_ids.back();
    for (int32_t id : g.generated_ids) {
      continuation += tok.Piece(prev, id, byte_buf);
      prev = id;
    }
    EXPECT_EQ(continuation, g.generated_text) << file;
  }
}

// The .txt holds run.c's stdout for each story joined by one blank line, plus a final
// newline; decoding each story's sampled ids must reproduce its span exactly.
TEST(Tok512Test, DecodesSampledStoriesExactly) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  std::string text;
  ASSERT_TRUE(test::ReadWholeFile(kModels + "/eval/stories260K-samples-dev.txt", &text));

  size_t text_pos = 0;
  int stories = 0;
  for (const std::vector<int64_t>& values :
       test::StoryTokenIds(kModels + "/eval/stories260K-samples-dev.tokens.json")) {
    const std::string story = DecodeOk(tok, ToIds(values));
    const std::string separator = stories == 0 ? "" : "\n\n";
    ASSERT_EQ(text.compare(text_pos, separator.size(), separator), 0) << "before story " << stories;
    text_pos += separator.size();
    ASSERT_EQ(text.substr(text_pos, story.size()), story) << "story " << stories;
    text_pos += story.size();
    ++stories;
  }
  EXPECT_EQ(stories, 100);
  EXPECT_EQ(text.substr(text_pos), "\n");
}

TEST(Tok512Test, EncodeThenDecodeRoundTripsSampledStories) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  std::string text;
  ASSERT_TRUE(test::ReadWholeFile(kModels + "/eval/stories260K-samples-dev.txt", &text));
  // The whole file at once (53 KB): only the fast merge path; rescanning is O(n^2).
  const std::vector<int32_t> ids = EncodeWithCapacity(
      tok, text, /*add_bos=*/true, kFastCapacityFactor * Tokenizer::MaxTokensFor(text.size()));
  ASSERT_GT(ids.size(), 1000u);
  EXPECT_LT(ids.size(), text.size() / 2) << "merges did not happen";
  EXPECT_EQ(DecodeOk(tok, ids), text);
}

// Story by story, both merge algorithms (EncodeOk checks they agree) and the round trip.
TEST(Tok512Test, EncodeThenDecodeRoundTripsEachStory) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  std::string text;
  ASSERT_TRUE(test::ReadWholeFile(kModels + "/eval/stories260K-samples-dev.txt", &text));
  int stories = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    const std::string story = text.substr(pos, end - pos);
    EXPECT_EQ(DecodeOk(tok, EncodeOk(tok, story, true)), story) << "story " << stories;
    ++stories;
    pos = end + 2;
  }
  EXPECT_EQ(stories, 100);
}

TEST(Tok512Test, FallsBackToByteTokensForCharactersOutsideTheVocabulary) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  const int32_t space = 410;  // " " in tok512; byte b is token 3 + b
  ASSERT_EQ(tables->pieces[space], " ");
  // "ü" (C3 BC) is not a tok512 piece; "é" (C3 A9) is (id 485).
  EXPECT_EQ(EncodeOk(tok, "\xC3\xBC", true), (std::vector<int32_t>{1, space, 3 + 0xC3, 3 + 0xBC}));
  EXPECT_EQ(EncodeOk(tok, "\xC3\xA9", true), (std::vector<int32_t>{1, space, 485}));
  const std::string llama = "\xF0\x9F\xA6\x99";  // U+1F999
  EXPECT_EQ(EncodeOk(tok, llama, true),
            (std::vector<int32_t>{1, space, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}));
  const std::string mixed = "A llama \xF0\x9F\xA6\x99 said \xC3\xBC" "ber.";
  EXPECT_EQ(DecodeOk(tok, EncodeOk(tok, mixed, true)), mixed);
}

TEST(Tok512Test, EmptyTextGivesOnlyBos) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  EXPECT_EQ(EncodeOk(tok, "", true), std::vector<int32_t>{1});
  EXPECT_EQ(EncodeOk(tok, "", false), std::vector<int32_t>{});
  size_t n = 99;
  EXPECT_TRUE(tok.Encode(nullptr, 0, false, nullptr, 0, &n).ok());
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(DecodeOk(tok, {}), "");
  EXPECT_EQ(DecodeOk(tok, {1}), "");
}

TEST(Tok512Test, BosAndDummyPrefix) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  const std::vector<int32_t> with_bos = EncodeOk(tok, "Once upon a time", true);
  const std::vector<int32_t> without_bos = EncodeOk(tok, "Once upon a time", false);
  ASSERT_FALSE(with_bos.empty());
  EXPECT_EQ(with_bos.front(), 1);
  EXPECT_EQ(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()), without_bos);
  // The dummy prefix space only disappears after BOS.
  EXPECT_EQ(DecodeOk(tok, with_bos), "Once upon a time");
  EXPECT_EQ(DecodeOk(tok, without_bos), " Once upon a time");
  char byte_buf[2];
  EXPECT_STREQ(tok.Piece(1, 403, byte_buf), "Once");
  EXPECT_STREQ(tok.Piece(-1, 403, byte_buf), " Once");
  EXPECT_STREQ(tok.Piece(378, 403, byte_buf), " Once");
  // Text that starts with a space keeps it: the dummy prefix comes on top.
  EXPECT_EQ(DecodeOk(tok, EncodeOk(tok, " Once", true)), " Once");
}

TEST(Tok512Test, PiecesOfSpecialAndByteTokens) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  char byte_buf[2] = {'x', 'x'};
  EXPECT_STREQ(tok.Piece(-1, 0, byte_buf), "");    // <unk>
  EXPECT_STREQ(tok.Piece(-1, 1, byte_buf), "");    // BOS "\n<s>\n"
  EXPECT_STREQ(tok.Piece(-1, 2, byte_buf), "");    // EOS "\n</s>\n"
  EXPECT_STREQ(tok.Piece(-1, 13, byte_buf), "\n");  // <0x0A>
  EXPECT_EQ(byte_buf[0], '\n');
  EXPECT_STREQ(tok.Piece(-1, 35, byte_buf), " ");  // <0x20>
  EXPECT_STREQ(tok.Piece(1, 35, byte_buf), "");    // after BOS it is the dummy prefix
  EXPECT_STREQ(tok.Piece(-1, 512, byte_buf), "");
  EXPECT_STREQ(tok.Piece(-1, -1, byte_buf), "");
  EXPECT_TRUE(tok.IsStop(1));
  EXPECT_TRUE(tok.IsStop(2));
  EXPECT_FALSE(tok.IsStop(0));
  EXPECT_FALSE(tok.IsStop(403));
  EXPECT_FALSE(tok.IsStop(-1));
}

TEST(Tok512Test, EncodeReportsTheCapacityItNeeds) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  const std::string text = "Once upon a time";  // BOS + prefix + 16 characters = 18 slots
  std::vector<int32_t> ids(18, -7);
  size_t n = 123;
  Status s = tok.Encode(text.data(), text.size(), true, ids.data(), 3, &n);
  EXPECT_EQ(s.code(), Error::kOutOfMemory);
  EXPECT_NE(std::string(s.message()).find("need 18"), std::string::npos) << s.message();
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(ids[3], -7) << "wrote past the capacity";
  s = tok.Encode(text.data(), text.size(), true, nullptr, 0, &n);
  EXPECT_EQ(s.code(), Error::kOutOfMemory);
  EXPECT_EQ(Tokenizer::MaxTokensFor(text.size()), 18u);
  s = tok.Encode(text.data(), text.size(), true, ids.data(), 18, &n);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + n),
            (std::vector<int32_t>{1, 403, 407, 261, 378}));
}

TEST(Tok512Test, InvalidUtf8RoundTripsThroughByteTokens) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  const std::string cases[] = {
      std::string("\xFF\xFE"),
      std::string("\x80" "abc"),            // stray continuation byte
      std::string("x\xE2\x82"),             // truncated 3-byte sequence
      std::string("a\x80\x80\x80\x80\x80"),  // over-long run of continuation bytes
      std::string("\xC3"),                   // lead byte at the end
      std::string("a\0b", 3),                // NUL is byte 0x00, token 3
  };
  for (const std::string& text : cases) {
    const std::vector<int32_t> ids = EncodeOk(tok, text, true);
    EXPECT_EQ(DecodeOk(tok, ids), text) << "ids: " << ::testing::PrintToString(ids);
  }
  EXPECT_EQ(EncodeOk(tok, std::string("a\0b", 3), true), (std::vector<int32_t>{1, 261, 3, 430}));
}

TEST(Tok512Test, DecodeRejectsIdsOutsideTheVocabulary) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  char text[64];
  size_t len = 77;
  const int32_t too_big[] = {1, 403, 512};
  Status s = tok.Decode(too_big, 3, text, sizeof(text), &len);
  EXPECT_EQ(s.code(), Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("512 at index 2"), std::string::npos) << s.message();
  EXPECT_EQ(len, 0u);
  const int32_t negative[] = {-3};
  s = tok.Decode(negative, 1, text, sizeof(text), &len);
  EXPECT_EQ(s.code(), Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("-3"), std::string::npos) << s.message();
}

TEST(Tok512Test, DecodeReportsTheCapacityItNeeds) {
  const TokenizerTables* tables = LoadOnce("tok512.bin", 512);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  const int32_t ids[] = {1, 403, 407, 261, 378};  // "Once upon a time": 16 bytes + NUL
  char text[17];
  size_t len = 0;
  Status s = tok.Decode(ids, 5, text, 16, &len);
  EXPECT_EQ(s.code(), Error::kOutOfMemory);
  EXPECT_NE(std::string(s.message()).find("16 bytes"), std::string::npos) << s.message();
  s = tok.Decode(ids, 5, text, 17, &len);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(len, 16u);
  EXPECT_STREQ(text, "Once upon a time");
}

// llama.cpp's oracle strings with the ids Hugging Face's Llama 2 tokenizer gives
// (tokenizers/README.md). llama2.c's encoder is a different program, so some strings could
// legitimately differ; none does for these 46, so the list of known differences is empty and
// every case must match.
TEST(Llama2VocabTest, MatchesSentencePieceOracle) {
  const TokenizerTables* tables = LoadOnce("tokenizer-llama2-32k.bin", 32000);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  std::string inputs, outputs;
  ASSERT_TRUE(test::ReadWholeFile(kModels + "/tokenizers/ggml-vocab-llama-spm.gguf.inp", &inputs));
  ASSERT_TRUE(
      test::ReadWholeFile(kModels + "/tokenizers/ggml-vocab-llama-spm.gguf.out", &outputs));

  std::vector<std::string> texts;
  const std::string separator = "\n__ggml_vocab_test__\n";
  for (size_t pos = 0; pos < inputs.size();) {
    const size_t end = inputs.find(separator, pos);
    ASSERT_NE(end, std::string::npos) << "unterminated test at byte " << pos;
    texts.push_back(inputs.substr(pos, end - pos));
    pos = end + separator.size();
  }
  std::vector<std::vector<int32_t>> expected;
  for (size_t pos = 0; pos < outputs.size();) {
    size_t end = outputs.find('\n', pos);
    if (end == std::string::npos) end = outputs.size();
    std::vector<int32_t> ids;
    const char* p = outputs.c_str() + pos;
    const char* line_end = outputs.c_str() + end;
    while (p < line_end) {
      char* next = nullptr;
      ids.push_back(static_cast<int32_t>(std::strtol(p, &next, 10)));
      p = next;
    }
    expected.push_back(ids);
    pos = end + 1;
  }
  ASSERT_EQ(texts.size(), 46u);
  ASSERT_EQ(expected.size(), 46u);

  // Indices of oracle strings where llama2.c-style encoding is known to differ (with why).
  const std::vector<size_t> known_differences = {};
  int matched = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> ids = EncodeOk(tok, texts[i], /*add_bos=*/false);
    const bool known = std::find(known_differences.begin(), known_differences.end(), i) !=
                       known_differences.end();
    if (known) {
      EXPECT_NE(ids, expected[i]) << "case " << i << " now matches; drop it from the list";
    } else {
      EXPECT_EQ(ids, expected[i]) << "case " << i << ": \"" << texts[i] << "\"";
      matched += ids == expected[i];
    }
    // Every string is representable (byte fallback), so decoding after BOS restores it.
    std::vector<int32_t> with_bos = {1};
    with_bos.insert(with_bos.end(), ids.begin(), ids.end());
    EXPECT_EQ(DecodeOk(tok, with_bos), texts[i]) << "case " << i;
  }
  EXPECT_EQ(matched, 46);
}

// Characters are a byte plus up to three continuation bytes (llama2.c's split), so a 4-byte
// character can match a piece, and stray continuation bytes stick to the character before
// them. Expected ids from a line-by-line Python port of run.c's encode().
TEST(Llama2VocabTest, SplitsCharactersLikeLlama2c) {
  const TokenizerTables* tables = LoadOnce("tokenizer-llama2-32k.bin", 32000);
  ASSERT_NE(tables, nullptr);
  const Tokenizer tok(tables->View());
  ASSERT_EQ(tables->pieces[31494], "\xF0\x9F\x8C\x8D");  // U+1F30D, a whole piece
  EXPECT_EQ(EncodeOk(tok, "Hello \xF0\x9F\x8C\x8D!", false),
            (std::vector<int32_t>{15043, 29871, 31494, 29991}));
  // "!" + two continuation bytes is one unknown character: three byte tokens.
  EXPECT_EQ(EncodeOk(tok, "Hello \xF0\x9F\x8C\x8D!\x8D\x8D", false),
            (std::vector<int32_t>{15043, 29871, 31494, 3 + '!', 3 + 0x8D, 3 + 0x8D}));
}

// --- Merge rules on hand-built vocabularies -------------------------------------------

struct Entry {
  const char* piece;
  float score;
  TokenType kind;
};

TokenizerTables MakeTables(const std::vector<Entry>& entries, bool dummy_prefix) {
  TokenizerTables t;
  for (const Entry& e : entries) {
    t.pieces.push_back(e.piece);
    t.scores.push_back(e.score);
    t.types.push_back(static_cast<uint8_t>(e.kind));
  }
  t.bos_id = 1;
  t.eos_id = 2;
  t.unk_id = 0;
  t.stop_ids = {2};
  t.add_dummy_prefix = dummy_prefix;
  t.Finalize();
  return t;
}

constexpr TokenType kN = TokenType::NORMAL;

std::vector<Entry> BaseEntries() {
  return {{"<unk>", 0, TokenType::UNKNOWN},
          {"<s>", 0, TokenType::CONTROL},
          {"</s>", 0, TokenType::CONTROL},
          {"a", -10, kN},   // 3
          {"b", -10, kN},   // 4
          {"x", -10, kN},   // 5
          {"y", -10, kN},   // 6
          {" ", -10, kN}};  // 7
}

TEST(MergeRulesTest, EqualScoresMergeTheLeftmostPairFirst) {
  std::vector<Entry> e = BaseEntries();
  e.push_back({"ab", -1, kN});  // 8
  e.push_back({"ba", -1, kN});  // 9
  const TokenizerTables t = MakeTables(e, false);
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "aba", false), (std::vector<int32_t>{8, 3}));
}

TEST(MergeRulesTest, HigherScoreMergesFirst) {
  std::vector<Entry> e = BaseEntries();
  e.push_back({"ab", -2, kN});  // 8
  e.push_back({"ba", -1, kN});  // 9
  const TokenizerTables t = MakeTables(e, false);
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "aba", false), (std::vector<int32_t>{3, 9}));
}

TEST(MergeRulesTest, MergesRepeatUntilNoPairJoins) {
  std::vector<Entry> e = BaseEntries();
  e.push_back({"ab", -1, kN});    // 8
  e.push_back({"abab", -3, kN});  // 9
  e.push_back({" abab", -4, kN});  // 10
  const TokenizerTables t = MakeTables(e, true);
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "ababa", true), (std::vector<int32_t>{1, 10, 3}));
}

TEST(MergeRulesTest, PiecesScoredAtOrBelowLlama2cFloorNeverMerge) {
  std::vector<Entry> e = BaseEntries();
  e.push_back({"ab", -1e10f, kN});  // 8: llama2.c's search starts at -1e10, strictly above
  e.push_back({"ba", -9e9f, kN});   // 9
  const TokenizerTables t = MakeTables(e, false);
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "ab", false), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(EncodeOk(tok, "ba", false), (std::vector<int32_t>{9}));
}

TEST(MergeRulesTest, TextNeverSpellsControlOrByteTokens) {
  std::vector<Entry> e = BaseEntries();
  e.push_back({"xy", 0, TokenType::CONTROL});  // 8
  e.push_back({"<0x61>", 0, TokenType::BYTE});  // 9: byte fallback for 'a'
  e.push_back({"<", -10, kN});                   // 10
  const TokenizerTables t = MakeTables(e, false);
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "xy", false), (std::vector<int32_t>{5, 6}));
  // Unknown characters: byte tokens when the byte has one, else <unk>.
  EXPECT_EQ(EncodeOk(tok, "<q", false), (std::vector<int32_t>{10, 0}));
  EXPECT_EQ(EncodeOk(tok, "\xC3\xA4", false), (std::vector<int32_t>{0}));
}

TEST(MergeRulesTest, DuplicatePiecesResolveToTheLowestId) {
  std::vector<Entry> e = BaseEntries();
  e.push_back({"ab", -1, kN});  // 8
  e.push_back({"ab", 5, kN});   // 9: same spelling, higher score, never chosen
  const TokenizerTables t = MakeTables(e, false);
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "ab", false), (std::vector<int32_t>{8}));
}

TEST(MergeRulesTest, DummyPrefixWithoutASpacePieceUsesByteFallback) {
  std::vector<Entry> e = BaseEntries();
  e.pop_back();                                   // drop " "
  e.push_back({"<0x20>", 0, TokenType::BYTE});   // 7
  e.push_back({" a", -1, kN});                    // 8: unreachable, " " is only a byte token
  const TokenizerTables t = MakeTables(e, true);
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "ab", true), (std::vector<int32_t>{1, 7, 3, 4}));
  EXPECT_EQ(DecodeOk(tok, EncodeOk(tok, "ab", true)), "ab");
  EXPECT_EQ(DecodeOk(tok, EncodeOk(tok, " ab", true)), " ab");
}

TEST(MergeRulesTest, NoDummyPrefixWithoutAnyTokenForASpace) {
  std::vector<Entry> e = BaseEntries();
  e.pop_back();  // drop " "
  TokenizerTables t = MakeTables(e, true);
  t.unk_id = -1;
  const Tokenizer tok(t.View());
  EXPECT_EQ(EncodeOk(tok, "ab", true), (std::vector<int32_t>{1, 3, 4}));
  EXPECT_EQ(DecodeOk(tok, EncodeOk(tok, "ab", true)), "ab");
}

TEST(MergeRulesTest, NoTokenAtAllIsAnError) {
  std::vector<Entry> e = BaseEntries();
  e[0].kind = kN;  // no unknown token, no byte tokens
  TokenizerTables t = MakeTables(e, false);
  t.unk_id = -1;
  const Tokenizer tok(t.View());
  int32_t ids[8];
  size_t n = 0;
  const Status s = tok.Encode("a\xC3\xA4", 3, false, ids, 8, &n);
  EXPECT_EQ(s.code(), Error::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("offset 1"), std::string::npos) << s.message();
}

TEST(MergeRulesTest, EmptyTokenizerIsUnsupported) {
  const Tokenizer tok;
  int32_t ids[4];
  size_t n = 0;
  EXPECT_EQ(tok.Encode("a", 1, true, ids, 4, &n).code(), Error::kUnsupported);
  char text[4];
  size_t len = 0;
  EXPECT_TRUE(tok.Decode(nullptr, 0, text, sizeof(text), &len).ok());
  EXPECT_EQ(tok.Decode(ids, 0, text, sizeof(text), &len).code(), Error::kOk);
  const int32_t one[] = {0};
  EXPECT_EQ(tok.Decode(one, 1, text, sizeof(text), &len).code(), Error::kInvalidArgument);
  EXPECT_FALSE(tok.IsStop(0));
}

}  // namespace
}  // namespace kite
