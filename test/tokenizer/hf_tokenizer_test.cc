// Hugging Face tokenizer.json import (tools/convert/tokenizer/hf_tokenizer.cc): the real GPT-2 file
// against the GGUF vocabulary it was generated from, small hand-written files for each
// supported flavour and for the errors, and the byte-level alphabet.
#include "tools/convert/tokenizer/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"
#include "tools/convert/tokenizer/byte_level.h"
#include "tools/convert/source/gguf_model.h"
#include "tools/convert/source/gguf_reader.h"

namespace kite::convert {
namespace {

std::vector<int32_t> Encode(const TokenizerTables& t, const std::string& text) {
  const Tokenizer tok(t.View());
  std::vector<int32_t> ids(3 * (text.size() + 2));
  size_t n = 0;
  const Status s = tok.Encode(text.data(), text.size(), false, ids.data(), ids.size(), &n);
  EXPECT_TRUE(s.ok()) << s.message();
  ids.resize(s.ok() ? n : 0);
  return ids;
}

absl::StatusOr<TokenizerTables> FromText(const std::string& tokenizer_json,
                                         const std::string& config_json = "") {
  absl::StatusOr<json::Value> doc = json::Parse(tokenizer_json);
  EXPECT_TRUE(doc.ok()) << doc.status();
  if (!doc.ok()) return doc.status();
  absl::StatusOr<json::Value> config = json::Value();
  if (!config_json.empty()) config = json::Parse(config_json);
  EXPECT_TRUE(config.ok()) << config.status();
  return HfTokenizerFromJson(*doc, &*config, "test.json");
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// A byte-level file with a handful of pieces; `merges` is the JSON array text.
std::string ByteLevelJson(const std::string& merges, const std::string& pre_tokenizer,
                          bool ignore_merges = false) {
  return R"({"version": "1.0", "added_tokens": [{"id": 10, "content": "<|endoftext|>",
      "special": true}], "normalizer": null, "pre_tokenizer": )" +
         pre_tokenizer + R"(, "model": {"type": "BPE", "ignore_merges": )" +
         (ignore_merges ? "true" : "false") +
         R"(, "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "he": 5, "ll": 6, "hell": 7,
      "hello": 8, "Ġh": 9, "<|endoftext|>": 10}, "merges": )" +
         merges + "}}";
}

constexpr char kGpt2Pre[] =
    R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})";

TEST(HfTokenizerTest, Gpt2FileMatchesTheGgufVocabularyItCameFrom) {
  absl::StatusOr<TokenizerTables> json =
      LoadHfTokenizerFromPath(test::SharedModel("tokenizers/gpt2-tokenizer.json"));
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<GgufFile> g = ReadGgufFile(test::SharedModel("tokenizers/ggml-vocab-gpt-2.gguf"));
  ASSERT_TRUE(g.ok());
  absl::StatusOr<TokenizerTables> gguf = TokenizerFromGguf(*g);
  ASSERT_TRUE(gguf.ok());
  EXPECT_EQ(json->kind, TokenizerType::BYTE_BPE);
  EXPECT_EQ(json->pretokenizer, PreTokenizerType::GPT2);
  EXPECT_EQ(json->pieces, gguf->pieces);
  EXPECT_EQ(json->types, gguf->types);
  ASSERT_EQ(json->merges.size(), gguf->merges.size());
  for (size_t i = 0; i < json->merges.size(); ++i) {
    ASSERT_EQ(json->merges[i].left(), gguf->merges[i].left()) << i;
    ASSERT_EQ(json->merges[i].right(), gguf->merges[i].right()) << i;
    ASSERT_EQ(json->merges[i].rank(), gguf->merges[i].rank()) << i;
    ASSERT_EQ(json->merges[i].result(), gguf->merges[i].result()) << i;
  }
  EXPECT_EQ(json->eos_id, 50256);  // guessed from <|endoftext|> (no tokenizer_config.json)
  EXPECT_FALSE(json->add_bos);
  EXPECT_EQ(Encode(*json, "Hello world"), (std::vector<int32_t>{15496, 995}));
}

TEST(HfTokenizerTest, MergesByRankAsStringsOrPairs) {
  const std::string strings = R"(["h e", "l l", "he ll", "hell o", "Ġ h"])";
  const std::string pairs = R"([["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "h"]])";
  absl::StatusOr<TokenizerTables> a = FromText(ByteLevelJson(strings, kGpt2Pre));
  absl::StatusOr<TokenizerTables> b = FromText(ByteLevelJson(pairs, kGpt2Pre));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->merges.size(), 5u);
  ASSERT_EQ(b->merges.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(a->merges[i].result(), b->merges[i].result());
  // "h e" (rank 0) beats "Ġ h" (rank 4), so " hello" is Ġ + hello, not Ġh + ...
  EXPECT_EQ(Encode(*a, " hello"), (std::vector<int32_t>{4, 8}));
  EXPECT_EQ(Encode(*b, "hello"), (std::vector<int32_t>{8}));
  EXPECT_EQ(a->types[10], static_cast<uint8_t>(TokenType::CONTROL));
  EXPECT_EQ(a->pieces[4], " ");
}

TEST(HfTokenizerTest, RecognisesLlama3AndQwen2Regexes) {
  const char* llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
      R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const char* qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
      R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const auto pre = [](const std::string& regex) {
    return R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": ")" +
           JsonEscape(regex) +
           R"("}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel",
           "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})";
  };
  absl::StatusOr<TokenizerTables> l = FromText(ByteLevelJson("[]", pre(llama3), true));
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->pretokenizer, PreTokenizerType::LLAMA3);
  EXPECT_TRUE(l->ignore_merges);
  // ignore_merges: a pre-token that is a piece is taken whole even without merges.
  EXPECT_EQ(Encode(*l, "hello"), (std::vector<int32_t>{8}));
  absl::StatusOr<TokenizerTables> q = FromText(ByteLevelJson("[]", pre(qwen2)));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->pretokenizer, PreTokenizerType::QWEN2);
  EXPECT_EQ(Encode(*q, "hello"), (std::vector<int32_t>{0, 1, 2, 2, 3}));
  absl::StatusOr<TokenizerTables> smol = FromText(ByteLevelJson("[]", R"({"type": "Sequence",
      "pretokenizers": [{"type": "Digits", "individual_digits": true},
                        {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}]})"));
  ASSERT_TRUE(smol.ok()) << smol.status();
  EXPECT_EQ(smol->pretokenizer, PreTokenizerType::SMOLLM);
  // Any other pattern is compiled into a SPLIT stage.
  absl::StatusOr<TokenizerTables> other = FromText(ByteLevelJson("[]", pre("\\w+|\\s+")));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->pretokenizer, PreTokenizerType::SPLIT);
  ASSERT_EQ(other->split_rules.size(), 1u);
  EXPECT_EQ(other->split_rules[0].behavior, SplitBehavior::ISOLATED);
  EXPECT_EQ(Encode(*other, "hello"), (std::vector<int32_t>{0, 1, 2, 2, 3}));
  // A construct the compiler lacks is named, with the JSON path of the stage.
  absl::StatusOr<TokenizerTables> bad = FromText(ByteLevelJson("[]", pre("(?<=a)b")));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("pre_tokenizer: split stage 0: split pattern: the group "
                                        "syntax \"(?\" at byte 1"),
            std::string::npos)
      << bad.status();
}

TEST(HfTokenizerTest, SplitOptionsAndRefusals) {
  const auto split = [](const std::string& fields) {
    return R"({"type": "Sequence", "pretokenizers": [{"type": "Split", )" + fields +
           R"(}, {"type": "ByteLevel", "use_regex": false}]})";
  };
  absl::StatusOr<TokenizerTables> t = FromText(
      ByteLevelJson("[]", split(R"("pattern": {"String": "-"}, "behavior": "MergedWithNext",
                                   "invert": true)")));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->split_rules.size(), 1u);
  EXPECT_EQ(t->split_rules[0].behavior, SplitBehavior::MERGED_WITH_NEXT);
  EXPECT_TRUE(t->split_rules[0].invert);
  absl::StatusOr<TokenizerTables> b = FromText(
      ByteLevelJson("[]", split(R"("pattern": {"Regex": "a"}, "behavior": "Sideways")")));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find(
                "pre_tokenizer.pretokenizers[0].behavior: 'Sideways' is not a supported Split "
                "behavior"),
            std::string::npos)
      << b.status();
  absl::StatusOr<TokenizerTables> w = FromText(ByteLevelJson(
      "[]", R"({"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"},
                                                       {"type": "WhitespaceSplit"}]})"));
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find(
                "pre_tokenizer.pretokenizers[1]: pre-tokenizer 'WhitespaceSplit' is not supported"),
            std::string::npos)
      << w.status();
  absl::StatusOr<TokenizerTables> d = FromText(ByteLevelJson(
      "[]", R"({"type": "Sequence", "pretokenizers": [{"type": "Digits"},
                                                       {"type": "Punctuation"},
                                                       {"type": "ByteLevel"}]})"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->pretokenizer, PreTokenizerType::SPLIT);
  EXPECT_EQ(d->split_rules.size(), 3u);
}

TEST(HfTokenizerTest, SentencePieceStyleBecomesScoreBpe) {
  const std::string doc = R"({"added_tokens": [
      {"id": 0, "content": "<unk>", "special": true},
      {"id": 1, "content": "<s>", "special": true},
      {"id": 2, "content": "</s>", "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [
      {"type": "Prepend", "prepend": "▁"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "pre_tokenizer": null,
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
      "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x41>": 3, "▁": 4, "a": 5, "b": 6,
                "▁a": 7, "ab": 8, "▁ab": 9},
      "merges": ["▁ a", "a b", "▁a b"]}})";
  absl::StatusOr<TokenizerTables> t = FromText(doc);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->kind, TokenizerType::SCORE_BPE);
  EXPECT_TRUE(t->add_dummy_prefix);
  EXPECT_TRUE(t->add_bos);
  EXPECT_EQ(t->bos_id, 1);
  EXPECT_EQ(t->eos_id, 2);
  EXPECT_EQ(t->unk_id, 0);
  EXPECT_EQ(t->types[0], static_cast<uint8_t>(TokenType::UNKNOWN));
  EXPECT_EQ(t->types[3], static_cast<uint8_t>(TokenType::BYTE));
  EXPECT_EQ(t->pieces[9], " ab");
  EXPECT_EQ(Encode(*t, "ab"), (std::vector<int32_t>{9}));
  EXPECT_EQ(Encode(*t, "A"), (std::vector<int32_t>{4, 3}));  // byte fallback
  // tokenizer_config.json overrides the guesses.
  absl::StatusOr<TokenizerTables> c = FromText(
      doc, R"({"bos_token": {"content": "</s>"}, "eos_token": "<s>", "add_bos_token": false})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bos_id, 2);
  EXPECT_EQ(c->eos_id, 1);
  EXPECT_FALSE(c->add_bos);
}

TEST(HfTokenizerTest, ReadsAFolderWithTokenizerConfig) {
  static const std::string dir = test::MakeScratchDir("hf_tokenizer");
  const auto write = [](const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  };
  write(dir + "/tokenizer.json", ByteLevelJson(R"(["h e"])", kGpt2Pre));
  write(dir + "/tokenizer_config.json",
        R"({"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "add_bos_token": true})");
  TokenizerTables t;
  ASSERT_TRUE(LoadHfTokenizer(dir, &t).ok());
  EXPECT_EQ(t.bos_id, 10);
  EXPECT_EQ(t.eos_id, 10);
  EXPECT_TRUE(t.add_bos);
  absl::StatusOr<TokenizerTables> by_file = LoadHfTokenizerFromPath(dir + "/tokenizer.json");
  ASSERT_TRUE(by_file.ok()) << by_file.status();
  EXPECT_TRUE(by_file->add_bos);
  EXPECT_TRUE(absl::IsNotFound(LoadHfTokenizer(dir + "/missing", &t)));
}

// gpt2-tokenizer.json with its normalizer and pre_tokenizer replaced by `replacement` (the
// JSON text of both members) and, when `user_token` is set, the non-special added token
// "<x>" as id 50257.
std::string Gpt2Text(const std::string& replacement, bool user_token) {
  std::string text = test::ReadText(test::SharedModel("tokenizers/gpt2-tokenizer.json"));
  const std::string original =
      "\"normalizer\": null,\n  \"pre_tokenizer\": {\n    \"type\": \"ByteLevel\",\n    "
      "\"add_prefix_space\": false,\n    \"trim_offsets\": true,\n    \"use_regex\": true\n  },";
  const size_t at = text.find(original);
  EXPECT_NE(at, std::string::npos);
  if (at == std::string::npos) return "";
  text.replace(at, original.size(), replacement);
  if (user_token) {
    const size_t added = text.find("\"added_tokens\": [") + 17;
    text.insert(added, R"({"id": 50257, "content": "<x>", "special": false}, )");
  }
  return text;
}

TokenizerTables Gpt2With(const std::string& replacement, bool user_token = false) {
  absl::StatusOr<TokenizerTables> t = FromText(Gpt2Text(replacement, user_token));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : TokenizerTables{};
}

// Hugging Face's ByteLevel add_prefix_space: each piece reaching the ByteLevel (the text
// between added tokens, or a piece of an earlier Split) gets a space in front unless it
// starts with one; then the ByteLevel's own regex splits it. Expected ids from the GPT-2
// vocabulary: " hello" 23748, " world" 995, " 123" 17031, " !" 5145, " -" 532.
TEST(HfTokenizerTest, ByteLevelAddPrefixSpace) {
  const TokenizerTables t = Gpt2With(
      R"("normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true,
         "trim_offsets": true, "use_regex": true},)",
      true);
  EXPECT_EQ(t.prefix_space_stage, 0);
  EXPECT_EQ(t.pretokenizer, PreTokenizerType::GPT2);
  EXPECT_EQ(Encode(t, "hello world"), (std::vector<int32_t>{23748, 995}));
  EXPECT_EQ(Encode(t, " hello world"), (std::vector<int32_t>{23748, 995}));
  EXPECT_EQ(Encode(t, "123"), (std::vector<int32_t>{17031}));
  EXPECT_EQ(Encode(t, "!"), (std::vector<int32_t>{5145}));
  EXPECT_EQ(Encode(t, ""), (std::vector<int32_t>{}));
  // Each segment between added tokens gets its own space.
  EXPECT_EQ(Encode(t, "hello<x>world"), (std::vector<int32_t>{23748, 50257, 995}));
  EXPECT_EQ(Encode(t, "<x>!"), (std::vector<int32_t>{50257, 5145}));

  // After a Split, every piece gets one: "hello", "-", "world" -> " hello", " -", " world".
  const TokenizerTables split = Gpt2With(
      R"("normalizer": null, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
         {"type": "Split", "pattern": {"String": "-"}, "behavior": "Isolated", "invert": false},
         {"type": "ByteLevel", "add_prefix_space": true, "use_regex": false}]},)");
  EXPECT_EQ(split.pretokenizer, PreTokenizerType::SPLIT);
  EXPECT_EQ(split.prefix_space_stage, 1);
  EXPECT_EQ(Encode(split, "hello-world"), (std::vector<int32_t>{23748, 532, 995}));
  EXPECT_EQ(Encode(split, " hello- world"), (std::vector<int32_t>{23748, 532, 995}));

  // Not asked for: no space ("hello" 31373, "-" 12, "world" 6894); the file keeps -1.
  const TokenizerTables plain = Gpt2With(
      R"("normalizer": null, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
         {"type": "Split", "pattern": {"String": "-"}, "behavior": "Isolated", "invert": false},
         {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},)");
  EXPECT_EQ(plain.prefix_space_stage, -1);
  EXPECT_EQ(Encode(plain, "hello-world"), (std::vector<int32_t>{31373, 12, 6894}));

  // Capacity: a piece per byte each with a space needs more slots than the text has bytes.
  const Tokenizer tok(split.View());
  std::vector<int32_t> ids(8);
  size_t n = 0;
  EXPECT_EQ(tok.Encode("-a-a-a-", 7, false, ids.data(), ids.size(), &n).code(),
            Error::kOutOfMemory);
}

// NFC and NFKC normalizers are applied before the split.
TEST(HfTokenizerTest, NormalizersAreApplied) {
  const std::string pre = R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false,
      "use_regex": true},)";
  const TokenizerTables none = Gpt2With(R"("normalizer": null, )" + pre);
  const TokenizerTables nfc = Gpt2With(R"("normalizer": {"type": "NFC"}, )" + pre);
  const TokenizerTables nfkc = Gpt2With(R"("normalizer": {"type": "NFKC"}, )" + pre);
  EXPECT_EQ(nfc.normalizer, NormalizerType::NFC);
  EXPECT_EQ(nfkc.normalizer, NormalizerType::NFKC);
  const std::string composed = " caf\xC3\xA9 \xEA\xB0\x81";  // " café 각"
  const std::string decomposed = " cafe\xCC\x81 \xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8";
  EXPECT_EQ(Encode(nfc, decomposed), Encode(none, composed));
  EXPECT_NE(Encode(none, decomposed), Encode(none, composed));
  EXPECT_EQ(Encode(nfc, composed), Encode(none, composed));
  // NFKC also folds compatibility forms: ﬁ, ①, full-width Ａ.
  EXPECT_EQ(Encode(nfkc, " \xEF\xAC\x81 \xE2\x91\xA0 \xEF\xBC\xA1"), Encode(none, " fi 1 A"));
  EXPECT_EQ(Encode(nfc, " \xEF\xAC\x81"), Encode(none, " \xEF\xAC\x81"));
  // NFD decomposes (a pipeline step; the legacy field holds only NFC / NFKC).
  const TokenizerTables nfd = Gpt2With(R"("normalizer": {"type": "NFD"}, )" + pre);
  EXPECT_EQ(nfd.normalizer, NormalizerType::PIPELINE);
  EXPECT_EQ(Encode(nfd, composed), Encode(none, decomposed));
  // A normalizer Kite does not apply is refused naming it.
  absl::StatusOr<TokenizerTables> bert =
      FromText(Gpt2Text(R"("normalizer": {"type": "BertNormalizer"}, )" + pre, false));
  ASSERT_FALSE(bert.ok());
  EXPECT_NE(std::string(bert.status().message()).find("BertNormalizer"), std::string::npos);
}

// Added tokens with "normalized": true are matched in the normalized text: one that the
// normalizer changes is refused naming it (it would never match). Those with false are
// matched in the raw text, whatever the normalizer does to it.
TEST(HfTokenizerTest, AddedTokensNormalizedOrRaw) {
  const std::string pre = R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false,
      "use_regex": true},)";
  const auto with_token = [&](const std::string& normalizer, const std::string& content,
                              bool normalized) {
    std::string text = Gpt2Text(R"("normalizer": )" + normalizer + ", " + pre, false);
    const size_t added = text.find("\"added_tokens\": [") + 17;
    text.insert(added, R"({"id": 50257, "content": ")" + content + R"(", "special": false, )" +
                           R"("normalized": )" + (normalized ? "true" : "false") + "}, ");
    return FromText(text);
  };
  const absl::StatusOr<TokenizerTables> decomposed =
      with_token(R"({"type": "NFC"})", "<e\xCC\x81>", true);
  ASSERT_FALSE(decomposed.ok());
  EXPECT_NE(std::string(decomposed.status().message())
                .find("the added token '<e\xCC\x81>' changes under the NFC normalizer"),
            std::string::npos)
      << decomposed.status().message();
  const absl::StatusOr<TokenizerTables> ligature =
      with_token(R"({"type": "NFKC"})", "<\xEF\xAC\x81>", true);
  ASSERT_FALSE(ligature.ok());
  EXPECT_NE(std::string(ligature.status().message()).find("NFKC"), std::string::npos);
  EXPECT_TRUE(with_token(R"({"type": "NFC"})", "<\xEF\xAC\x81>", true).ok());  // NFC keeps ﬁ
  EXPECT_TRUE(with_token(R"({"type": "NFKC"})", "<x>", true).ok());
  EXPECT_TRUE(with_token("null", "<e\xCC\x81>", true).ok());

  // normalized: false under NFC: the decomposed spelling matches in the raw text.
  const absl::StatusOr<TokenizerTables> raw_nfc =
      with_token(R"({"type": "NFC"})", "<e\xCC\x81>", false);
  ASSERT_TRUE(raw_nfc.ok()) << raw_nfc.status();
  EXPECT_EQ(raw_nfc->added_token_flags.at(50257), static_cast<uint8_t>(AddedTokenFlag::RAW));
  EXPECT_EQ(Encode(*raw_nfc, "a<e\xCC\x81>"), (std::vector<int32_t>{64, 50257}));

  // A Lowercase normalizer: "<MiXeD>" normalized: false matches only its raw spelling;
  // "<mixed>" normalized: true matches any spelling that lowercases to it.
  const std::string lower = R"({"type": "Lowercase"})";
  const absl::StatusOr<TokenizerTables> raw = with_token(lower, "<MiXeD>", false);
  ASSERT_TRUE(raw.ok()) << raw.status();
  const TokenizerTables none = Gpt2With(R"("normalizer": null, )" + pre);
  EXPECT_EQ(Encode(*raw, "Hi<MiXeD>"), (std::vector<int32_t>{5303, 50257}));  // "hi"
  EXPECT_EQ(Encode(*raw, "hi<mixed>"), Encode(none, "hi<mixed>"));
  EXPECT_EQ(Encode(*raw, "hi<MIXED>"), Encode(none, "hi<mixed>"));
  // Text on each side of a raw token is normalized on its own (Prepend shows it).
  const absl::StatusOr<TokenizerTables> prepend = with_token(
      R"({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": " "}]})",
      "<MiXeD>", false);
  ASSERT_TRUE(prepend.ok()) << prepend.status();
  EXPECT_EQ(Encode(*prepend, "hi<MiXeD>hi"), (std::vector<int32_t>{23105, 50257, 23105}));
  const absl::StatusOr<TokenizerTables> normalized = with_token(lower, "<mixed>", true);
  ASSERT_TRUE(normalized.ok()) << normalized.status();
  EXPECT_TRUE(normalized->added_token_flags.empty());
  EXPECT_EQ(Encode(*normalized, "hi<MiXeD>"), (std::vector<int32_t>{5303, 50257}));
  EXPECT_EQ(Encode(*normalized, "hi<mixed>"), (std::vector<int32_t>{5303, 50257}));
  const absl::StatusOr<TokenizerTables> changed = with_token(lower, "<MiXeD>", true);
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(std::string(changed.status().message())
                .find("the added token '<MiXeD>' changes under the normalizer"),
            std::string::npos)
      << changed.status().message();
}

// Lowercase, Strip, Replace and Prepend steps are applied in order (expected ids: the same
// text normalized by hand, through the plain GPT-2 tokenizer).
TEST(HfTokenizerTest, NormalizerPipelineSteps) {
  const std::string pre = R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false,
      "use_regex": true},)";
  const TokenizerTables none = Gpt2With(R"("normalizer": null, )" + pre);
  const auto with = [&](const std::string& steps) {
    return Gpt2With(R"("normalizer": {"type": "Sequence", "normalizers": [)" + steps + "]}, " +
                    pre);
  };
  const TokenizerTables lower = with(R"({"type": "Lowercase"})");
  EXPECT_EQ(lower.normalizer, NormalizerType::PIPELINE);
  EXPECT_EQ(Encode(lower, "Hello WORLD \xC3\x89T\xC3\x89"), Encode(none, "hello world \xC3\xA9t\xC3\xA9"));
  // U+0130 has a two-code-point lowercase (Rust's to_lowercase), the Kelvin sign a one-byte one.
  EXPECT_EQ(Encode(lower, "\xC4\xB0 \xE2\x84\xAA"), Encode(none, "i\xCC\x87 k"));
  const TokenizerTables strip =
      with(R"({"type": "Strip", "strip_left": true, "strip_right": true})");
  EXPECT_EQ(Encode(strip, " \t hello world \xE3\x80\x80\n"), Encode(none, "hello world"));
  EXPECT_EQ(Encode(strip, " \n "), (std::vector<int32_t>{}));
  const TokenizerTables left = with(R"({"type": "Strip", "strip_left": true, "strip_right": false})");
  EXPECT_EQ(Encode(left, "  hi  "), Encode(none, "hi  "));
  const TokenizerTables replace =
      with(R"({"type": "Replace", "pattern": {"String": "aa"}, "content": "b-"})");
  EXPECT_EQ(Encode(replace, "aaaaa"), Encode(none, "b-b-a"));
  const TokenizerTables regex =
      with(R"({"type": "Replace", "pattern": {"Regex": "\\."}, "content": " dot "})");
  EXPECT_EQ(Encode(regex, "a.b"), Encode(none, "a dot b"));
  const TokenizerTables prepend = with(R"({"type": "Prepend", "prepend": "\u2581"})");
  EXPECT_EQ(Encode(prepend, "hi"), Encode(none, "\xE2\x96\x81hi"));
  EXPECT_EQ(Encode(prepend, ""), (std::vector<int32_t>{}));
  // Order matters: Lowercase then Replace "X" never replaces; Replace then Lowercase does.
  const TokenizerTables lr = with(R"({"type": "Lowercase"},
      {"type": "Replace", "pattern": {"String": "X"}, "content": "y"})");
  const TokenizerTables rl = with(R"({"type": "Replace", "pattern": {"String": "X"},
      "content": "y"}, {"type": "Lowercase"})");
  EXPECT_EQ(Encode(lr, "aXb"), Encode(none, "axb"));
  EXPECT_EQ(Encode(rl, "aXb"), Encode(none, "ayb"));
  // NFKC, Lowercase, Strip and Prepend together; CapacityFor always suffices.
  const TokenizerTables all = with(R"({"type": "NFKC"}, {"type": "Lowercase"},
      {"type": "Strip", "strip_left": true, "strip_right": true},
      {"type": "Prepend", "prepend": " "})");
  const std::string text = "  \xEF\xAC\x81 \xEF\xBC\xA1" "BC\xEF\xB7\xBA ";
  EXPECT_EQ(Encode(all, text), Encode(none, " fi abc" + std::string("\xD8\xB5\xD9\x84\xD9\x89 "
      "\xD8\xA7\xD9\x84\xD9\x84\xD9\x87 \xD8\xB9\xD9\x84\xD9\x8A\xD9\x87 \xD9\x88\xD8\xB3\xD9\x84"
      "\xD9\x85")));
  const Tokenizer tok(all.View());
  std::vector<int32_t> ids(tok.CapacityFor(text.size()));
  size_t n = 0;
  EXPECT_TRUE(tok.Encode(text.data(), text.size(), true, ids.data(), ids.size(), &n).ok());
  // Too little room for the pipeline's text names the shortfall.
  const Status small = tok.Encode(text.data(), text.size(), false, ids.data(), 8, &n);
  EXPECT_EQ(small.code(), Error::kOutOfMemory);
  EXPECT_NE(std::string(small.message()).find("token slots"), std::string::npos)
      << small.message();
}

// A Sequence of NFC / NFKC normalizers (nested or empty) comes to one normalization (the
// legacy field); a normalizer Kite does not apply, alone or inside a Sequence, or a step it
// cannot store, is refused naming it and its JSON path.
TEST(HfTokenizerTest, NormalizerSequences) {
  const std::string pre = R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false,
      "use_regex": true},)";
  const auto normalizer = [&](const std::string& json) {
    return FromText(Gpt2Text(R"("normalizer": )" + json + ", " + pre, false));
  };
  const struct {
    const char* json;
    NormalizerType want;
  } kAccepted[] = {
      {R"({"type": "Sequence", "normalizers": []})", NormalizerType::NONE},
      {R"({"type": "Sequence", "normalizers": [{"type": "NFC"}]})", NormalizerType::NFC},
      {R"({"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "NFC"}]})",
       NormalizerType::NFKC},
      {R"({"type": "Sequence", "normalizers": [{"type": "NFC"},
          {"type": "Sequence", "normalizers": [{"type": "NFKC"}]}]})",
       NormalizerType::NFKC},
  };
  for (const auto& c : kAccepted) {
    absl::StatusOr<TokenizerTables> t = normalizer(c.json);
    ASSERT_TRUE(t.ok()) << c.json << ": " << t.status();
    EXPECT_EQ(t->normalizer, c.want) << c.json;
  }
  // The Sequence's NFKC is applied: the ligature folds.
  const TokenizerTables none = Gpt2With(R"("normalizer": null, )" + pre);
  const TokenizerTables seq =
      Gpt2With(R"("normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}]}, )" + pre);
  EXPECT_EQ(Encode(seq, " \xEF\xAC\x81"), Encode(none, " fi"));
  const struct {
    const char* json;
    const char* message;
  } kRefused[] = {
      {R"({"type": "BertNormalizer"})",
       "normalizer: a normalizer with byte-level BPE is not supported ('BertNormalizer'; "
       "supported: NFC, NFKC, NFD, NFKD, Lowercase, Strip, Replace, Prepend, and Sequence"},
      {R"({"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Precompiled"}]})",
       "normalizer.normalizers[1]: a normalizer with byte-level BPE is not supported "
       "('Precompiled'"},
      {R"({"type": "Sequence", "normalizers": [{"type": "Sequence", "normalizers": [
          {"type": "Replace", "pattern": {"Regex": "a+"}, "content": "b"}]}]})",
       "normalizer.normalizers[0].normalizers[0].pattern: a Replace with the Regex 'a+' is "
       "not supported (only literal patterns; '+' at byte 1)"},
      {R"({"type": "Replace", "pattern": {"String": ""}, "content": "b"})",
       "normalizer.pattern: a Replace with an empty pattern"},
      {R"({"type": "Replace", "pattern": {"String": "a"}})",
       "normalizer.content: a Replace needs a string"},
      {R"({"type": "Prepend", "prepend": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})",
       "normalizer.prepend: 69 bytes, more than the 64 Kite stores"},
      {R"({"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace",
          "pattern": {"String": "a"}, "content": "bbbbbbbbbb"}]})",
       "normalizer: the normalizer can grow a text more than 64 times (bound: 110x)"},
      {R"({"type": "Sequence", "normalizers": [{"type": "Lowercase"}, {"type": "Lowercase"},
          {"type": "Lowercase"}, {"type": "Lowercase"}, {"type": "Lowercase"},
          {"type": "Lowercase"}, {"type": "Lowercase"}, {"type": "Lowercase"},
          {"type": "Lowercase"}]})",
       "normalizer: 9 normalizer steps, more than the 8 Kite applies"},
      {R"({"type": "Sequence"})", "normalizer: a Sequence normalizer without a normalizers"},
      {R"({"kind": "NFC"})", "('(no type)'"},
  };
  for (const auto& c : kRefused) {
    absl::StatusOr<TokenizerTables> t = normalizer(c.json);
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_NE(std::string(t.status().message()).find(c.message), std::string::npos)
        << t.status().message();
  }
}

TEST(HfTokenizerTest, RejectsUnsupportedFiles) {
  const auto code = [](const std::string& text) {
    absl::StatusOr<TokenizerTables> t = FromText(text);
    return t.ok() ? absl::StatusCode::kOk : t.status().code();
  };
  EXPECT_EQ(code(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})"),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(code(ByteLevelJson("[3]", kGpt2Pre)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(ByteLevelJson(R"(["he"])", kGpt2Pre)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(ByteLevelJson("[]", R"({"type": "Sequence", "pretokenizers": [
                {"type": "ByteLevel", "add_prefix_space": true, "use_regex": false},
                {"type": "ByteLevel", "add_prefix_space": true}]})")),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(code(ByteLevelJson("[]", R"({"type": "Whitespace"})")),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(code(R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []},
                     "pre_tokenizer": {"type": "ByteLevel"}})"),
            absl::StatusCode::kInvalidArgument);
}

TEST(ByteLevelTest, AlphabetRoundTrips) {
  EXPECT_EQ(ByteToUnicode(' '), 0x120u);
  EXPECT_EQ(ByteToUnicode('\n'), 0x10Au);
  EXPECT_EQ(ByteToUnicode('A'), static_cast<uint32_t>('A'));
  EXPECT_EQ(ByteToUnicode(0xAD), 0x143u);
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string back;
  ASSERT_TRUE(ByteLevelToBytes(BytesToByteLevel(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(ByteLevelToBytes("\xE2\x96\x81", &back));  // U+2581 is not in the alphabet
  EXPECT_FALSE(ByteLevelToBytes(" ", &back));             // a raw space is not either
}

}  // namespace
}  // namespace kite::convert
