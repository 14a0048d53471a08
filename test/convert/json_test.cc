// tools/common/json: known answers for every value kind, escapes and numbers, errors with
// their line:column, limits, and the 2 MB GPT-2 tokenizer.json from ../shared.
#include "tools/common/json.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "test/common/test_paths.h"

namespace kite::json {
namespace {

Value MustParse(std::string_view text) {
  absl::StatusOr<Value> v = Parse(text);
  EXPECT_TRUE(v.ok()) << v.status() << " for " << text;
  return v.ok() ? *std::move(v) : Value();
}

std::string ErrorOf(std::string_view text) {
  absl::StatusOr<Value> v = Parse(text);
  EXPECT_FALSE(v.ok()) << "accepted: " << text;
  return v.ok() ? "" : std::string(v.status().message());
}

TEST(JsonTest, Scalars) {
  EXPECT_TRUE(MustParse("null").is_null());
  EXPECT_TRUE(MustParse(" true ").boolean());
  EXPECT_FALSE(MustParse("false").boolean());
  EXPECT_TRUE(MustParse("false").is_bool());
  EXPECT_EQ(MustParse("0").number(), 0.0);
  EXPECT_EQ(MustParse("-12").number(), -12.0);
  EXPECT_EQ(MustParse("1e-05").number(), 1e-05);
  EXPECT_EQ(MustParse("10000.0").number(), 10000.0);
  EXPECT_EQ(MustParse("2.5E+3").number(), 2500.0);
  EXPECT_EQ(MustParse("-0.125").number(), -0.125);
  EXPECT_EQ(MustParse("1e-400").number(), 0.0);  // underflow is fine
  EXPECT_EQ(MustParse("\"abc\"").str(), "abc");
}

TEST(JsonTest, AccessorsOfOtherKindsAreEmpty) {
  const Value v = MustParse("\"x\"");
  EXPECT_EQ(v.number(), 0.0);
  EXPECT_FALSE(v.boolean());
  EXPECT_TRUE(v.array().empty());
  EXPECT_TRUE(v.object().empty());
  EXPECT_EQ(v.Find("x"), nullptr);
  EXPECT_EQ(MustParse("1").str(), "");
}

TEST(JsonTest, StringEscapes) {
  EXPECT_EQ(MustParse(R"("a\"b\\c\/d\b\f\n\r\t")").str(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(MustParse(R"("\u0041\u00e9\u20AC")").str(), "A\xC3\xA9\xE2\x82\xAC");
  // U+1F999 (llama emoji) as a surrogate pair, and raw.
  EXPECT_EQ(MustParse(R"("\ud83e\udd99")").str(), "\xF0\x9F\xA6\x99");
  EXPECT_EQ(MustParse("\"\xF0\x9F\xA6\x99\"").str(), "\xF0\x9F\xA6\x99");
  EXPECT_EQ(MustParse(R"("\u0000")").str(), std::string(1, '\0'));
  EXPECT_EQ(MustParse("\"\xC4\xA0t\"").str(), "\xC4\xA0t");  // GPT-2 "Ġt"
}

TEST(JsonTest, ArraysAndObjectsKeepOrderAndDuplicates) {
  const Value v = MustParse(R"({"b": [1, 2, {"c": null}], "a": {}, "b": true, "e": []})");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.object().size(), 4u);
  EXPECT_EQ(v.object()[0].first, "b");
  EXPECT_EQ(v.object()[1].first, "a");
  EXPECT_EQ(v.object()[2].first, "b");
  const Value* b = v.Find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->is_array());
  ASSERT_EQ(b->array().size(), 3u);
  EXPECT_EQ(b->array()[1].number(), 2.0);
  EXPECT_TRUE(b->array()[2].Find("c")->is_null());
  EXPECT_TRUE(v.Find("a")->is_object());
  EXPECT_TRUE(v.Find("e")->array().empty());
  EXPECT_EQ(v.Find("z"), nullptr);
}

TEST(JsonTest, GetInt64) {
  int64_t i = 7;
  EXPECT_TRUE(MustParse("4294967296").GetInt64(&i));
  EXPECT_EQ(i, 4294967296);
  EXPECT_TRUE(MustParse("-3").GetInt64(&i));
  EXPECT_EQ(i, -3);
  EXPECT_FALSE(MustParse("1.5").GetInt64(&i));
  EXPECT_FALSE(MustParse("1e300").GetInt64(&i));
  EXPECT_FALSE(MustParse("\"1\"").GetInt64(&i));
  EXPECT_EQ(i, -3);
}

TEST(JsonTest, ErrorsNameLineColumnAndExpectation) {
  EXPECT_EQ(ErrorOf("{\"a\": 1,\n  \"b\" 2}"),
            "JSON line 2, column 7: expected ':' after an object key, found '2'");
  EXPECT_EQ(ErrorOf("[1, 2"), "JSON line 1, column 6: expected ',' or ']' in an array, "
                              "found end of input");
  EXPECT_EQ(ErrorOf("{} x"), "JSON line 1, column 4: expected end of document after the "
                             "top-level value, found 'x'");
  EXPECT_EQ(ErrorOf(""), "JSON line 1, column 1: expected a value, found end of input");
  EXPECT_NE(ErrorOf("[01]").find("no leading zeros"), std::string::npos);
  EXPECT_NE(ErrorOf("[1.]").find("digit after the decimal point"), std::string::npos);
  EXPECT_NE(ErrorOf("[1e]").find("digit in the exponent"), std::string::npos);
  EXPECT_NE(ErrorOf("[-]").find("digit after '-'"), std::string::npos);
  EXPECT_NE(ErrorOf("1e999").find("within double range"), std::string::npos);
  EXPECT_NE(ErrorOf("NaN").find("a value"), std::string::npos);
  EXPECT_NE(ErrorOf("[+1]").find("a value"), std::string::npos);
  EXPECT_NE(ErrorOf("tru").find("'true'"), std::string::npos);
  EXPECT_NE(ErrorOf("[1,]").find("a value"), std::string::npos);
  EXPECT_NE(ErrorOf("{\"a\":1,}").find("a string key"), std::string::npos);
  EXPECT_NE(ErrorOf("{1:2}").find("a string key"), std::string::npos);
  EXPECT_NE(ErrorOf("\"abc").find("to close the string"), std::string::npos);
  EXPECT_NE(ErrorOf("\"a\tb\"").find("control characters"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\x")").find("after '\\'"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\u12")").find("4 hex digits"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83e")").find("low surrogate"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83ex")").find("low surrogate"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\udd99")").find("high surrogate"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83e\u0041")").find("low surrogate"), std::string::npos);
}

TEST(JsonTest, RejectsInvalidUtf8) {
  for (const char* bad : {"\"\xFF\"", "\"\xC0\xAF\"", "\"\xE0\x80\xAF\"", "\"\xED\xA0\x80\"",
                          "\"\xF4\x90\x80\x80\"", "\"\xC3\"", "\"\xE2\x82\"", "\"\x80\""}) {
    EXPECT_NE(ErrorOf(bad).find("valid UTF-8"), std::string::npos) << bad;
  }
}

TEST(JsonTest, NestingLimit) {
  std::string ok(kMaxDepth, '[');
  ok += std::string(kMaxDepth, ']');
  EXPECT_TRUE(Parse(ok).ok());
  std::string deep(kMaxDepth + 1, '[');
  deep += std::string(kMaxDepth + 1, ']');
  EXPECT_NE(ErrorOf(deep).find("nesting at most 512 deep"), std::string::npos);
  // Far deeper input must fail cleanly, not overflow the stack.
  EXPECT_FALSE(Parse(std::string(100000, '[')).ok());
  EXPECT_FALSE(Parse(std::string(100000, '{')).ok());
}

TEST(JsonTest, ParseFileNamesThePath) {
  absl::StatusOr<Value> missing = ParseFile("/nonexistent/config.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/config.json"), std::string::npos);
  // A file that is not JSON: the error starts with its path.
  const std::string bin = kite::test::SharedModel("tok512.bin");
  absl::StatusOr<Value> garbage = ParseFile(bin);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message().rfind(bin + ": JSON line 1", 0), 0u)
      << garbage.status();
}

TEST(JsonTest, HfConfigFixture) {
  absl::StatusOr<Value> v =
      ParseFile(kite::test::SharedModel("hf/stories260K-hf-f32-sharded/config.json"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("hidden_size")->number(), 64.0);
  EXPECT_EQ(v->Find("rms_norm_eps")->number(), 1e-05);
  EXPECT_TRUE(v->Find("rope_scaling")->is_null());
  EXPECT_EQ(v->Find("architectures")->array()[0].str(), "LlamaForCausalLM");
  EXPECT_TRUE(v->Find("tie_word_embeddings")->boolean());
}

TEST(JsonTest, Gpt2TokenizerJsonIsQuick) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Value> v = ParseFile(kite::test::SharedModel("tokenizers/gpt2-tokenizer.json"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(v.ok()) << v.status();
  const Value* model = v->Find("model");
  ASSERT_NE(model, nullptr);
  const Value* vocab = model->Find("vocab");
  ASSERT_NE(vocab, nullptr);
  ASSERT_EQ(vocab->object().size(), 50257u);
  EXPECT_EQ(vocab->object()[0].first, "!");
  EXPECT_EQ(vocab->Find("\xC4\xA0t")->number(), 256.0);  // "Ġt"
  EXPECT_EQ(vocab->Find("<|endoftext|>")->number(), 50256.0);
  ASSERT_EQ(model->Find("merges")->array().size(), 50000u);
  EXPECT_EQ(model->Find("merges")->array()[0].str(), "\xC4\xA0 t");
  // Generous bound (shared, sanitized CI machines); a quadratic parser would blow it.
  EXPECT_LT(seconds, 10.0);
}

}  // namespace
}  // namespace kite::json
