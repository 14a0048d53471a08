// The hand-written pre-tokenizers (sdk/runtime/pretokenizer.cc) against splits worked out
// from the GPT-2, Llama 3 and Qwen2 regular expressions, the UTF-8 decoder and the Unicode
// classes.
#include "sdk/runtime/tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace kite {
namespace {

std::vector<std::string> Split(PreTokenizerType kind, const std::string& text) {
  std::vector<std::string> pieces;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = NextPreToken(kind, text.data(), text.size(), pos);
    EXPECT_GT(end, pos);
    EXPECT_LE(end, text.size());
    if (end <= pos || end > text.size()) break;
    pieces.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return pieces;
}

using V = std::vector<std::string>;

TEST(PreTokenizerTest, Gpt2) {
  const auto k = PreTokenizerType::GPT2;
  EXPECT_EQ(Split(k, "Hello world"), (V{"Hello", " world"}));
  // \s+(?!\S) leaves the last space to the word after it.
  EXPECT_EQ(Split(k, "   Hello"), (V{"  ", " Hello"}));
  EXPECT_EQ(Split(k, "x  "), (V{"x", "  "}));
  EXPECT_EQ(Split(k, "a\n\nb"), (V{"a", "\n", "\n", "b"}));
  EXPECT_EQ(Split(k, "\n\n"), (V{"\n\n"}));
  // Contractions are case-sensitive in GPT-2.
  EXPECT_EQ(Split(k, "I'm don't"), (V{"I", "'m", " don", "'t"}));
  EXPECT_EQ(Split(k, "I'M"), (V{"I", "'", "M"}));
  EXPECT_EQ(Split(k, "we'll they're"), (V{"we", "'ll", " they", "'re"}));
  EXPECT_EQ(Split(k, "abc123 45"), (V{"abc", "123", " 45"}));
  EXPECT_EQ(Split(k, "?!. ok"), (V{"?!.", " ok"}));
  EXPECT_EQ(Split(k, "h\xC3\xA9llo w\xC3\xB6rld"), (V{"h\xC3\xA9llo", " w\xC3\xB6rld"}));
  // U+00BD (vulgar fraction one half) is \p{N}; U+1F999 (llama) is neither L, N nor \s.
  EXPECT_EQ(Split(k, "3\xC2\xBD \xF0\x9F\xA6\x99!"), (V{"3\xC2\xBD", " \xF0\x9F\xA6\x99!"}));
  // A byte that is not UTF-8 is one "other" character.
  EXPECT_EQ(Split(k, "a\xFF\xFE b"), (V{"a", "\xFF\xFE", " b"}));
  EXPECT_EQ(Split(k, "\t"), (V{"\t"}));
}

TEST(PreTokenizerTest, Llama3) {
  const auto k = PreTokenizerType::LLAMA3;
  EXPECT_EQ(Split(k, "Hello world"), (V{"Hello", " world"}));
  // Contractions ignore case; numbers go in groups of up to three digits.
  EXPECT_EQ(Split(k, "I'M HERE"), (V{"I", "'M", " HERE"}));
  EXPECT_EQ(Split(k, "12345"), (V{"123", "45"}));
  EXPECT_EQ(Split(k, "a1"), (V{"a", "1"}));
  // One non-letter (not a line break) may lead a word.
  EXPECT_EQ(Split(k, "(hello)"), (V{"(hello", ")"}));
  EXPECT_EQ(Split(k, "\tHello"), (V{"\tHello"}));
  // Punctuation takes the line breaks after it; whitespace runs end at their last break.
  EXPECT_EQ(Split(k, "...\n\nx"), (V{"...\n\n", "x"}));
  EXPECT_EQ(Split(k, "hello\n\nworld"), (V{"hello", "\n\n", "world"}));
  EXPECT_EQ(Split(k, " \n  x"), (V{" \n", " ", " x"}));
  EXPECT_EQ(Split(k, "   Hello"), (V{"  ", " Hello"}));
  EXPECT_EQ(Split(k, "x  "), (V{"x", "  "}));
}

TEST(PreTokenizerTest, Qwen2SplitsEveryDigit) {
  const auto k = PreTokenizerType::QWEN2;
  EXPECT_EQ(Split(k, "12345"), (V{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(Split(k, "I'VE 2 cats"), (V{"I", "'VE", " ", "2", " cats"}));
}

TEST(PreTokenizerTest, SmolLmIsolatesDigitsThenSplitsLikeGpt2) {
  const auto k = PreTokenizerType::SMOLLM;
  EXPECT_EQ(Split(k, "x 3.5 y"), (V{"x", " ", "3", ".", "5", " y"}));
  // A whitespace run before a digit ends its fragment, so it is kept whole.
  EXPECT_EQ(Split(k, "hello  2"), (V{"hello", "  ", "2"}));
  EXPECT_EQ(Split(k, "hello   world"), (V{"hello", "  ", " world"}));
  EXPECT_EQ(Split(k, "\xD9\xA1\xD9\xA2"), (V{"\xD9\xA1", "\xD9\xA2"}));  // Arabic-Indic digits
}

TEST(PreTokenizerTest, NoneKeepsTheWholeText) {
  EXPECT_EQ(Split(PreTokenizerType::NONE, "a b c"), (V{"a b c"}));
}

TEST(Utf8Test, DecodesValidAndRejectsInvalidSequences) {
  uint32_t cp = 0;
  EXPECT_EQ(DecodeUtf8("\xE2\x96\x81", 3, 0, &cp), 3u);
  EXPECT_EQ(cp, 0x2581u);
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\xA6\x99", 4, 0, &cp), 4u);
  EXPECT_EQ(cp, 0x1F999u);
  const char* bad[] = {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                       "\xE2\x82", "\x80",         "\xF8\x88\x80\x80\x80"};
  for (const char* s : bad) {
    EXPECT_EQ(DecodeUtf8(s, std::strlen(s), 0, &cp), 1u) << s;
    EXPECT_EQ(cp, kInvalidCodepoint);
  }
}

TEST(UnicodeClassTest, LettersNumbersWhitespace) {
  EXPECT_EQ(ClassifyCodepoint('A'), CharClass::kLetter);
  EXPECT_EQ(ClassifyCodepoint(0x4E2D), CharClass::kLetter);  // 中
  EXPECT_EQ(ClassifyCodepoint(0x1780), CharClass::kLetter);  // Khmer KA
  EXPECT_EQ(ClassifyCodepoint(0x0661), CharClass::kNumber);  // Arabic-Indic one
  EXPECT_EQ(ClassifyCodepoint(0x00B2), CharClass::kNumber);  // superscript two (No)
  EXPECT_EQ(ClassifyCodepoint(0x3000), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodepoint(0x00A0), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodepoint(0x0085), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodepoint(0x001C), CharClass::kOther);  // not White_Space
  EXPECT_EQ(ClassifyCodepoint(0x200D), CharClass::kOther);  // zero width joiner
  EXPECT_EQ(ClassifyCodepoint(0x1F999), CharClass::kOther);
  EXPECT_EQ(ClassifyCodepoint(kInvalidCodepoint), CharClass::kOther);
}

}  // namespace
}  // namespace kite
