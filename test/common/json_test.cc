// tools/common/json: known answers for every value kind, escapes and numbers, errors with
// their byte offset and file name, the strictness rules (duplicate keys, depth, trailing
// garbage, UTF-8, surrogates, number range), the writer, and the 2 MB GPT-2 tokenizer.json
// from ../shared.
#include "tools/common/json.h"

#include <chrono>
#include <cmath>
#include <limits>
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

TEST(JsonTest, ArraysAndObjectsKeepOrder) {
  const Value v = MustParse(R"({"b": [1, 2, {"c": null}], "a": {}, "d": true, "e": []})");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.object().size(), 4u);
  EXPECT_EQ(v.object()[0].first, "b");
  EXPECT_EQ(v.object()[1].first, "a");
  EXPECT_EQ(v.object()[2].first, "d");
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

TEST(JsonTest, RejectsDuplicateKeys) {
  EXPECT_EQ(ErrorOf(R"({"b": 1, "a": 2, "b": 3})"),
            "JSON byte 19 (line 1, column 20): duplicate key \"b\" in an object");
  // Nested, and after escapes are decoded ("\u0061" is "a").
  EXPECT_NE(ErrorOf(R"([{"x": {"a": 1, "\u0061": 2}}])").find("duplicate key \"a\""),
            std::string::npos);
  // The same key in different objects is fine.
  EXPECT_TRUE(Parse(R"({"a": {"a": 1}, "b": {"a": 2}})").ok());
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

TEST(JsonTest, ErrorsNameTheByteAndWhatWasExpected) {
  EXPECT_EQ(ErrorOf("{\"a\": 1,\n  \"b\" 2}"),
            "JSON byte 15 (line 2, column 7): syntax error while parsing object separator - "
            "unexpected number literal; expected ':'");
  EXPECT_EQ(ErrorOf("[1, 2"), "JSON byte 5 (line 1, column 6): syntax error while parsing "
                              "array - unexpected end of input; expected ']'");
  EXPECT_EQ(ErrorOf(""), "JSON byte 0 (line 1, column 1): syntax error while parsing value - "
                         "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_NE(ErrorOf("[01]").find("expected ']'"), std::string::npos);
  EXPECT_NE(ErrorOf("[1.]").find("invalid number"), std::string::npos);
  EXPECT_NE(ErrorOf("[1e]").find("invalid number"), std::string::npos);
  EXPECT_NE(ErrorOf("[-]").find("invalid number"), std::string::npos);
  EXPECT_NE(ErrorOf("NaN").find("invalid literal"), std::string::npos);
  EXPECT_NE(ErrorOf("[+1]").find("invalid literal"), std::string::npos);
  EXPECT_NE(ErrorOf("tru").find("invalid literal"), std::string::npos);
  EXPECT_NE(ErrorOf("[1,]").find("unexpected ']'"), std::string::npos);
  EXPECT_NE(ErrorOf("{\"a\":1,}").find("expected string literal"), std::string::npos);
  EXPECT_NE(ErrorOf("{1:2}").find("expected string literal"), std::string::npos);
  EXPECT_NE(ErrorOf("\"abc").find("missing closing quote"), std::string::npos);
  EXPECT_NE(ErrorOf("\"a\tb\"").find("control character"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\x")").find("invalid string: forbidden character after backslash"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"("\u12")").find("invalid string: '\\u' must be followed by 4 hex digits"),
            std::string::npos);
  // JSON comments are not JSON.
  EXPECT_FALSE(Parse("{} // x").ok());
  EXPECT_FALSE(Parse("/* x */ {}").ok());
  // A byte order mark is not allowed either (nlohmann would skip it).
  EXPECT_EQ(ErrorOf("\xEF\xBB\xBF{}"),
            "JSON byte 0 (line 1, column 1): a byte order mark is not allowed");
}

TEST(JsonTest, RejectsTrailingGarbage) {
  EXPECT_EQ(ErrorOf("{} x").rfind("JSON byte 3 (line 1, column 4): syntax error while parsing "
                                   "value - invalid literal", 0),
            0u);
  EXPECT_NE(ErrorOf("{} x").find("expected end of input"), std::string::npos);
  EXPECT_NE(ErrorOf("{}}").find("expected end of input"), std::string::npos);
  EXPECT_NE(ErrorOf("[1] [2]").find("expected end of input"), std::string::npos);
  EXPECT_NE(ErrorOf("1 2").find("expected end of input"), std::string::npos);
  // nlohmann reads a NUL byte as the end of the input: it must not hide what follows.
  EXPECT_EQ(ErrorOf(std::string("{}\0x", 4)),
            "JSON byte 2 (line 1, column 3): a NUL byte is not allowed");
  EXPECT_FALSE(Parse(std::string("[1,\0 2]", 7)).ok());
  EXPECT_TRUE(Parse(" \t\r\n{} \n").ok());  // whitespace around the value is fine
}

TEST(JsonTest, RejectsLoneSurrogateEscapes) {
  EXPECT_NE(ErrorOf(R"("\ud83e")").find("surrogate U+D800..U+DBFF must be followed by "
                                        "U+DC00..U+DFFF"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83ex")").find("surrogate"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83e\u0041")").find("surrogate"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\ud83e\ud83e")").find("surrogate"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("\udd99")").find("surrogate U+DC00..U+DFFF must follow"),
            std::string::npos);
}

TEST(JsonTest, NumbersOutOfRange) {
  EXPECT_EQ(ErrorOf("1e999"),
            "JSON byte 4 (line 1, column 5): number overflow parsing '1e999'");
  EXPECT_NE(ErrorOf("[-1e309]").find("number overflow"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"a": 1)" + std::string(400, '0') + "}").find("number overflow"),
            std::string::npos);
  // Integers beyond 64 bits are read as doubles (rounded), as strtod would.
  EXPECT_EQ(MustParse("18446744073709551616").number(), 18446744073709551616.0);
  EXPECT_EQ(MustParse("-9223372036854775809").number(), -9223372036854775808.0);
  int64_t i = 0;
  EXPECT_TRUE(MustParse("9223372036854775807").GetInt64(&i));
  EXPECT_EQ(i, std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(MustParse("18446744073709551615").GetInt64(&i));  // above int64
  uint64_t u = 0;
  EXPECT_TRUE(MustParse("18446744073709551615").GetUint64(&u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(MustParse("-1").GetUint64(&u));
}

TEST(JsonTest, RejectsInvalidUtf8) {
  for (const char* bad : {"\"\xFF\"", "\"\xC0\xAF\"", "\"\xE0\x80\xAF\"", "\"\xED\xA0\x80\"",
                          "\"\xF4\x90\x80\x80\"", "\"\xC3\"", "\"\xE2\x82\"", "\"\x80\""}) {
    EXPECT_NE(ErrorOf(bad).find("invalid string: ill-formed UTF-8 byte"), std::string::npos)
        << bad;
  }
}

TEST(JsonTest, NestingLimit) {
  std::string ok(kMaxDepth, '[');
  ok += std::string(kMaxDepth, ']');
  EXPECT_TRUE(Parse(ok).ok());
  std::string deep(kMaxDepth + 1, '[');
  deep += std::string(kMaxDepth + 1, ']');
  EXPECT_EQ(ErrorOf(deep), "JSON byte 512 (line 1, column 513): arrays and objects nest "
                          "more than 512 deep");
  std::string objects;
  for (int i = 0; i <= kMaxDepth; ++i) objects += "{\"a\":";
  EXPECT_NE(ErrorOf(objects).find("nest more than 512 deep"), std::string::npos);
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
  EXPECT_EQ(garbage.status().message().rfind(bin + ": JSON byte ", 0), 0u)
      << garbage.status();
  EXPECT_EQ(Parse("[", "x.json").status().message().rfind("x.json: JSON byte 1 (line 1", 0),
            0u);
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

TEST(JsonTest, WriteIsCompactAndKeepsOrder) {
  Value v;
  v.Add("b", Value::Int(-3))
      .Add("a", Value::String("q\"\\\n\x01\xC4\xA0"))
      .Add("n", Value::Null())
      .Add("t", Value::Bool(true))
      .Add("x", Value::Number(0.5))
      .Add("l", Value().Push(Value::Int(1)).Push(Value::Array({})).Push(Value::Object({})));
  EXPECT_EQ(Write(v), R"({"b":-3,"a":"q\"\\\n\u0001)" "\xC4\xA0"
                     R"(","n":null,"t":true,"x":0.5,"l":[1,[],{}]})");
  EXPECT_EQ(Write(Value().Add("a", Value::Int(1)), 2), "{\n  \"a\": 1\n}");
}

TEST(JsonTest, WriteNumbers) {
  EXPECT_EQ(Write(Value::Int(std::numeric_limits<int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(Write(Value::Number(2.0)), "2.0");  // a double stays a double
  EXPECT_EQ(Write(Value::Number(std::nan(""))), "null");
  EXPECT_EQ(Write(Value::Number(-INFINITY)), "null");
  EXPECT_EQ(Write(Value::Uint(std::numeric_limits<uint64_t>::max())), "18446744073709551615");
  EXPECT_EQ(Write(Value::Uint(7)), "7");
  EXPECT_EQ(Write(Value::Decimals(2.0 / 3.0, 3)), "0.667");
  EXPECT_EQ(Write(Value::Decimals(12.5, 3)), "12.5");
  EXPECT_EQ(Write(Value::Rounded(2.0 / 3.0, 6)), "0.666667");
  EXPECT_EQ(Write(Value::Rounded(1234567.0, 6)), "1234570.0");
  EXPECT_EQ(Write(Value::Rounded(0.1f, 9)), "0.100000001");
  EXPECT_TRUE(std::isnan(Value::Rounded(NAN, 6).number()));
}

TEST(JsonTest, WriteReplacesInvalidUtf8) {
  EXPECT_EQ(Write(Value::String("a\xFF")), "\"a\xEF\xBF\xBD\"");
}

TEST(JsonTest, WriteThenParseRoundTrips) {
  const std::string text = R"({"s":"\u0000)" "\xF0\x9F\xA6\x99"
                           R"(","i":[0,-1,4294967296],"f":1e-05,"o":{"k":[true,false,null]}})";
  absl::StatusOr<Value> v = Parse(text);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(Write(*v), text);
}

}  // namespace
}  // namespace kite::json
