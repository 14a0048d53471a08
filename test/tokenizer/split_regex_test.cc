// The split-pattern engine: the compiler (tools/convert/tokenizer/split_regex_compiler.h), the
// Pike VM matcher and SplitText (sdk/runtime/tokenizer/split_regex.h), and the GGUF name table
// (split_rules.h). The hand-written splitters of pretokenizer.h are the oracles for the
// patterns they implement, on the 46 llama.cpp oracle strings and on random UTF-8.
#include "sdk/runtime/tokenizer/split_regex.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "sdk/runtime/tokenizer/pretokenizer.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"
#include "test/common/vocab_tests.h"
#include "tools/convert/tokenizer/split_regex_compiler.h"
#include "tools/convert/tokenizer/split_rules.h"

namespace kite {
namespace {

using convert::CompileSplitPattern;

std::vector<uint32_t> Compile(const std::string& pattern) {
  absl::StatusOr<std::vector<uint32_t>> p = CompileSplitPattern(pattern);
  EXPECT_TRUE(p.ok()) << pattern << ": " << p.status().message();
  return p.ok() ? *p : std::vector<uint32_t>{};
}

// The first match of `pattern` in `text`, or "<none>".
std::string First(const std::string& pattern, const std::string& text) {
  const std::vector<uint32_t> words = Compile(pattern);
  if (words.empty()) return "<error>";
  SplitScratch scratch;
  size_t b = 0, e = 0;
  const SplitProgram prog{words.data(), static_cast<uint32_t>(words.size())};
  if (!FindSplitMatch(prog, text.data(), 0, text.size(), 0, &scratch, &b, &e)) return "<none>";
  return text.substr(b, e - b);
}

struct Stage {
  std::vector<uint32_t> words;
  SplitBehavior behavior;
  bool invert;
};

std::vector<std::string> Split(const std::vector<Stage>& stages, const std::string& text,
                               uint64_t* steps = nullptr) {
  std::vector<SplitStage> s;
  for (const Stage& st : stages) {
    s.push_back({{st.words.data(), static_cast<uint32_t>(st.words.size())}, st.behavior,
                 st.invert});
  }
  std::vector<std::string> pieces;
  const auto emit = [&](size_t b, size_t e) {
    pieces.push_back(text.substr(b, e - b));
    return Status::Ok();
  };
  SplitScratch scratch;
  const Status st = SplitText(s.data(), static_cast<uint32_t>(s.size()), text.data(), 0,
                              text.size(), &scratch, emit, steps);
  EXPECT_TRUE(st.ok()) << st.message();
  return pieces;
}

std::vector<std::string> Split1(const std::string& pattern, const std::string& text,
                                SplitBehavior behavior = SplitBehavior::ISOLATED,
                                bool invert = false) {
  return Split({{Compile(pattern), behavior, invert}}, text);
}

using Pieces = std::vector<std::string>;

TEST(SplitRegexTest, Constructs) {
  EXPECT_EQ(First("abc", "xxabcx"), "abc");
  EXPECT_EQ(First("h\xC3\xA9", "ah\xC3\xA9"), "h\xC3\xA9");  // UTF-8 literal
  EXPECT_EQ(First("a.c", "abc"), "abc");
  EXPECT_EQ(First("a.c", "a\nc"), "<none>");  // . is not \n
  EXPECT_EQ(First("x|bc", "abc"), "bc");
  EXPECT_EQ(First("(?:ab)+", "ababa"), "abab");
  EXPECT_EQ(First("(ab)+", "ababa"), "abab");
  EXPECT_EQ(First("(?i:'s|'t)", "it'S"), "'S");
  EXPECT_EQ(First("(?i)abc", "xABc"), "ABc");
  EXPECT_EQ(First("[b-d]+", "abcde"), "bcd");
  EXPECT_EQ(First("[^a-c]+", "abcde"), "de");
  EXPECT_EQ(First("[\\p{L}]+", "12\xC3\xA9t\xC3\xA9!"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(First("\\p{Lu}+", "abCDe"), "CD");
  EXPECT_EQ(First("\\P{L}+", "ab12!c"), "12!");
  EXPECT_EQ(First("\\p{N}+", "x\xC2\xBD" "3y"), "\xC2\xBD" "3");  // ½ is No
  EXPECT_EQ(First("\\p{P}+", "a,.!b"), ",.!");
  EXPECT_EQ(First("\\p{S}", "a+b"), "+");
  EXPECT_EQ(First("\\p{M}", "e\xCC\x81"), "\xCC\x81");  // combining acute
  EXPECT_EQ(First("\\s+", "a \t\nb"), " \t\n");
  EXPECT_EQ(First("\\S+", "  ab "), "ab");
  EXPECT_EQ(First("\\d+", "ab123"), "123");
  EXPECT_EQ(First("\\w+", "!ab_1!"), "ab_1");
  EXPECT_EQ(First("ab?c", "ac"), "ac");
  EXPECT_EQ(First("ab*", "abbb"), "abbb");
  EXPECT_EQ(First("a{2,3}", "aaaa"), "aaa");
  EXPECT_EQ(First("a{2}", "aaaa"), "aa");
  EXPECT_EQ(First("a{2,}", "aaaa"), "aaaa");
  EXPECT_EQ(First("a+?", "aaa"), "a");  // lazy
  EXPECT_EQ(First("a*?b", "aab"), "aab");
  EXPECT_EQ(First("\\s+(?!\\S)", "  x"), " ");  // leaves the last space for the word
  EXPECT_EQ(First("\\s+(?!\\S)", "   "), "   ");
  EXPECT_EQ(First("a(?=b)", "acab"), "a");
  EXPECT_EQ(First("\\s+$", "a  b  "), "  ");
  EXPECT_EQ(First("^a", "ba"), "<none>");
  EXPECT_EQ(First("\\x{4E00}|\\u00e9|\\x41", "\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(First("[\\x{4E00}-\\x{9FA5}]+", "a\xE4\xB8\x80\xE4\xB8\x81"),
            "\xE4\xB8\x80\xE4\xB8\x81");
  // The Han script (U+4E2D U+6587; U+3005 is Lm and Han; U+3006 is Lo, not Han).
  EXPECT_EQ(First("\\p{Han}+", "ab\xE4\xB8\xAD\xE6\x96\x87" "c"), "\xE4\xB8\xAD\xE6\x96\x87");
  EXPECT_EQ(First("[\\p{Han}]+", "\xE3\x80\x86\xE3\x80\x85"), "\xE3\x80\x85");
  EXPECT_EQ(First("\\P{Han}+", "\xE4\xB8\xAD" "ab\xE4\xB8\xAD"), "ab");
  EXPECT_EQ(First("\\p{Script=Han}", "a\xE4\xB8\xAD"), "\xE4\xB8\xAD");
  // Class intersection: [A&&B] holds what both hold.
  EXPECT_EQ(First("[\\p{L}&&[^a-z]]+", "abCDe"), "CD");
  EXPECT_EQ(First("[a-z&&[^aeiou]]+", "aebcdi"), "bcd");
  EXPECT_EQ(First("[a-z&&b-y&&[^c]]+", "abcd"), "b");
  EXPECT_EQ(First("[\\p{Lo}&&[^\\p{Han}]]+", "\xE4\xB8\xAD\xE3\x80\x86\xE3\x81\x82\xE4\xB8\xAD"),
            "\xE3\x80\x86\xE3\x81\x82");  // U+3006 and hiragana U+3042, not U+4E2D
  EXPECT_EQ(First("(?i)[a-z&&[^b]]+", "xBAC"), "x");
  EXPECT_EQ(First("(?i)[a-z&&[^b]]+", "BAC"), "AC");
  EXPECT_EQ(First("x[a-c&&[^b]]*y", "xacay"), "xacay");
  EXPECT_EQ(First("x[a-c&&[^b]]*y", "xaby"), "<none>");
}

// Perl/Oniguruma semantics: the first alternative that matches wins, not the longest.
TEST(SplitRegexTest, LeftmostFirstNotLongest) {
  EXPECT_EQ(First("a|ab", "ab"), "a");
  EXPECT_EQ(First("ab|a", "ab"), "ab");
  EXPECT_EQ(First("b|ab", "ab"), "ab");  // leftmost start first
  EXPECT_EQ(First("(a|ab)(c|bcd)", "abcd"), "abcd");
  EXPECT_EQ(Split1("'s|'t| ?\\p{L}+", "it's"), (Pieces{"it", "'s"}));
}

TEST(SplitRegexTest, UnsupportedConstructsAreNamed) {
  const auto error = [](const std::string& p) {
    absl::StatusOr<std::vector<uint32_t>> r = CompileSplitPattern(p);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_NE(error("(a)\\1").find("the escape \\1"), std::string::npos) << error("(a)\\1");
  EXPECT_NE(error("a++").find("possessive"), std::string::npos);
  EXPECT_NE(error("(?<=a)b").find("group syntax"), std::string::npos);
  EXPECT_NE(error("\\p{Greek}").find("\\p{Greek}"), std::string::npos);
  EXPECT_NE(error("[^a-z&&[^b]]").find("negated class intersection"), std::string::npos);
  EXPECT_NE(error("a(?=[a-z&&[^b]])").find("intersection in a lookahead"), std::string::npos);
  EXPECT_NE(error("[a[b]]").find("nested class"), std::string::npos);
  EXPECT_NE(error("(?!ab)").find("more than one character"), std::string::npos);
  EXPECT_NE(error("[a").find("unterminated"), std::string::npos);
  EXPECT_NE(error("a{1000}").find("repetition count"), std::string::npos);
  EXPECT_NE(error("(?:abcdefghij){90}").find("instructions"), std::string::npos);
  EXPECT_NE(error("\\Gx").find("the escape \\G"), std::string::npos);
}

// The loader's check of a stored program: every corruption is refused, naming the problem.
TEST(SplitRegexTest, ValidationRefusesCorruptPrograms) {
  const std::vector<uint32_t> good = Compile("[a-c]+|x(?!y)");
  ASSERT_TRUE(ValidateSplitProgram(good.data(), static_cast<uint32_t>(good.size()), "t").ok());
  const auto check = [&](std::vector<uint32_t> words, const char* expect) {
    const Status s = ValidateSplitProgram(words.data(), static_cast<uint32_t>(words.size()), "t");
    EXPECT_FALSE(s.ok()) << expect;
    EXPECT_NE(std::string(s.message()).find(expect), std::string::npos) << s.message();
  };
  check({}, "empty");
  check({0}, "0 instructions");
  check({300}, "300 instructions");
  std::vector<uint32_t> w = good;
  w[1] = (w[1] & ~0xFFu) | 99;  // unknown op
  check(w, "unknown op 99");
  w = good;
  ASSERT_EQ(w[1] & 0xFF, static_cast<uint32_t>(SplitOp::kSplit));
  w[2] = 1000;  // second branch out of range
  check(w, "out of range");
  w = good;
  w.resize(w.size() - 1);  // the last class loses a word
  check(w, "out of range");
  w = good;
  const uint32_t cls = w[2 + 2];  // instruction 1 is the class [a-c]
  std::swap(w[cls + 2], w[cls + 3]);  // range c-a
  check(w, "out of range");
}

// Hugging Face's documented example of each Split behavior.
TEST(SplitRegexTest, Behaviors) {
  const std::string t = "the-final--countdown";
  EXPECT_EQ(Split1("-", t, SplitBehavior::ISOLATED),
            (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(Split1("-", t, SplitBehavior::REMOVED), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(Split1("-", t, SplitBehavior::MERGED_WITH_PREVIOUS),
            (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(Split1("-", t, SplitBehavior::MERGED_WITH_NEXT),
            (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(Split1("-", t, SplitBehavior::CONTIGUOUS),
            (Pieces{"the", "-", "final", "--", "countdown"}));
  // invert: the pattern names the pieces to keep whole; the rest is the delimiter.
  EXPECT_EQ(Split1("[a-z]+", t, SplitBehavior::REMOVED, /*invert=*/true),
            (Pieces{"the", "final", "countdown"}));
  // Empty matches are boundaries (Hugging Face's Split; its empty pieces are dropped).
  EXPECT_EQ(Split1("x*", "ab"), (Pieces{"a", "b"}));
  EXPECT_EQ(Split1("(?=b)", "abab"), (Pieces{"a", "ba", "b"}));
  EXPECT_EQ(Split1("(?=b)", "abab", SplitBehavior::MERGED_WITH_NEXT), (Pieces{"a", "ba", "b"}));
  EXPECT_EQ(Split1("(?=b)", "abab", SplitBehavior::REMOVED), (Pieces{"a", "ba", "b"}));
  // ... but not an empty match right where a match ended: "a" then the gap "c" join.
  EXPECT_EQ(Split1("a|(?=c)", "ac", SplitBehavior::MERGED_WITH_NEXT), (Pieces{"ac"}));
  EXPECT_EQ(Split1("a|(?=c)", "bc", SplitBehavior::MERGED_WITH_NEXT), (Pieces{"b", "c"}));
  // Stages apply in order, each to the pieces of the one before.
  EXPECT_EQ(Split({{Compile("\\p{N}"), SplitBehavior::ISOLATED, false},
                   {Compile(convert::kGpt2SplitRegex), SplitBehavior::ISOLATED, false}},
                  "ab 12 cd"),
            (Pieces{"ab", " ", "1", "2", " cd"}));
}

// The stages of `gguf_name` compiled, and the built-in splitter they must agree with.
std::vector<Stage> StagesOf(const std::string& gguf_name) {
  absl::StatusOr<convert::GgufPreTokenizer> named = convert::GgufPreTokenizerStages(gguf_name);
  EXPECT_TRUE(named.ok()) << named.status().message();
  std::vector<Stage> stages;
  if (!named.ok()) return stages;
  for (const convert::SplitStageSource& s : named->stages) {
    stages.push_back({Compile(s.pattern), s.behavior, s.invert});
  }
  return stages;
}

Pieces HandWritten(PreTokenizerType kind, const std::string& text) {
  Pieces pieces;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = NextPreToken(kind, text.data(), text.size(), pos);
    pieces.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return pieces;
}


std::string RandomText(std::mt19937* rng, size_t chars) {
  static const char* const kAlphabet[] = {
      "a", "Z", "q", "0", "7", " ", " ", "  ", "\t", "\n", "\r", "'", "'s", "'T", "'ll", "!",
      ".", "-", "_", "\xC3\xA9", "\xC2\xBD", "\xD0\x96", "\xE1\x9E\x80", "\xE4\xB8\x80",
      "\xF0\x9F\xA6\x99", "\xE2\x80\x8D", "\xEF\xB8\x8F", "\xC2\xA0", "\xE3\x80\x80",
      "\xCC\x81", "\x80", "\xFF", "\xC3", "\xE2\x85\xAB", "\xD9\xA3"};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) / sizeof(kAlphabet[0]) - 1);
  std::string s;
  for (size_t i = 0; i < chars; ++i) s += kAlphabet[pick(*rng)];
  return s;
}

TEST(SplitRegexTest, MatchesTheHandWrittenSplitters) {
  const struct {
    const char* gguf_name;
    PreTokenizerType kind;
  } kCases[] = {{"gpt-2", PreTokenizerType::GPT2},
                {"llama3", PreTokenizerType::LLAMA3},
                {"qwen2", PreTokenizerType::QWEN2},
                {"smollm", PreTokenizerType::SMOLLM}};
  std::vector<std::string> texts = test::ReadVocabTests("ggml-vocab-gpt-2.gguf.inp");
  ASSERT_EQ(texts.size(), 46u);
  std::mt19937 rng(16);
  for (int i = 0; i < 400; ++i) texts.push_back(RandomText(&rng, 1 + i % 40));
  for (const auto& c : kCases) {
    const std::vector<Stage> stages = StagesOf(c.gguf_name);
    ASSERT_FALSE(stages.empty());
    int differ = 0;
    for (const std::string& t : texts) {
      const Pieces regex = Split(stages, t);
      const Pieces hand = HandWritten(c.kind, t);
      EXPECT_EQ(regex, hand) << c.gguf_name << ": \"" << t << "\"";
      differ += regex != hand;
      if (differ > 5) break;
    }
  }
}

// Every name of the GGUF table converts; an unknown name is refused, listing them.
TEST(SplitRegexTest, EveryGgufNameCompiles) {
  const std::vector<std::string> names = convert::GgufPreTokenizerNames();
  EXPECT_GE(names.size(), 60u);
  for (const std::string& name : names) {
    absl::StatusOr<convert::GgufPreTokenizer> named = convert::GgufPreTokenizerStages(name);
    ASSERT_TRUE(named.ok()) << name;
    absl::StatusOr<convert::PreTokenizerChoice> choice = convert::ChoosePreTokenizer(named->stages);
    EXPECT_TRUE(choice.ok()) << name << ": " << choice.status().message();
  }
  absl::StatusOr<convert::GgufPreTokenizer> unknown =
      convert::GgufPreTokenizerStages("no-such-pre");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("'no-such-pre' is not supported"),
            std::string::npos)
      << unknown.status().message();
  EXPECT_NE(std::string(unknown.status().message()).find("deepseek-llm"), std::string::npos);
  // The built-in splitters are chosen when the stages are exactly theirs.
  EXPECT_EQ(convert::ChoosePreTokenizer(convert::GgufPreTokenizerStages("refact")->stages)->kind,
            PreTokenizerType::SMOLLM);
  EXPECT_EQ(convert::ChoosePreTokenizer(convert::GgufPreTokenizerStages("falcon")->stages)->kind,
            PreTokenizerType::SPLIT);
}

// Kimi K2: Han runs are pieces of their own; letters otherwise split as GPT-4o's pattern does
// (pieces read off the pattern: an optional non-letter prefix, upper then lower non-Han
// letters, an optional contraction; digits in threes; trailing space alone).
TEST(SplitRegexTest, KimiK2Pieces) {
  const std::vector<Stage> stages = StagesOf("kimi-k2");
  ASSERT_EQ(stages.size(), 1u);
  const std::string zhong = "\xE4\xB8\xAD", wen = "\xE6\x96\x87", shi = "\xE4\xB8\x96",
                    jie = "\xE7\x95\x8C", odoriji = "\xE3\x80\x85";
  EXPECT_EQ(Split(stages, "Hello" + shi + jie + " World" + zhong + wen + "ABCdef's 12345\n\n"),
            (Pieces{"Hello", shi + jie, " World", zhong + wen, "ABCdef's", " ", "123", "45",
                    "\n\n"}));
  EXPECT_EQ(Split(stages, "ab" + zhong + "c"), (Pieces{"ab", zhong, "c"}));
  EXPECT_EQ(Split(stages, "!" + zhong), (Pieces{"!", zhong}));
  EXPECT_EQ(Split(stages, "a" + odoriji + "b"), (Pieces{"a", odoriji, "b"}));
  EXPECT_EQ(Split(stages, "I'M here  now"), (Pieces{"I'M", " here", " ", " now"}));
  // GPT-4o's split keeps Han inside a letter run: the difference Kimi K2 makes.
  EXPECT_EQ(Split(StagesOf("gpt-4o"), "ab" + zhong + "c"), (Pieces{"ab" + zhong + "c"}));
}

// Run lookaheads (?=(?:X{k})*(?!X)): the run of X here is a multiple of k long.
TEST(SplitRegexTest, RunLookahead) {
  EXPECT_EQ(First("(?=(\\d{3})+(?!\\d))\\d", "x1234"), "2");
  EXPECT_EQ(First("(?=(?:\\d{3})*(?!\\d))\\d", "1234"), "2");
  EXPECT_EQ(First("(?=(?:\\d{3})*(?!\\d)).", "a1"), "a");  // an empty run: zero groups
  EXPECT_EQ(First("(?=(?:\\d{3})+(?!\\d)).", "a1"), "<none>");
  EXPECT_EQ(First("a(?=(\\d{3})+(?!\\d))\\d+", "a12a123"), "a123");
  EXPECT_EQ(First("x(?=(\\d{3})+(?!\\d))\\d+", "x12x1234x123456"), "x123456");
  EXPECT_EQ(First("x(?=(?:[ab]{2})+(?![ab]))", "xabax"), "<none>");
  EXPECT_EQ(First("x(?=(?:[ab]{2})+(?![ab]))", "xabaxabab"), "x");
  EXPECT_EQ(Split1("\\d{1,3}(?=(?:\\d{3})*(?!\\d))", "1234567 12"),
            (Pieces{"1", "234", "567", " ", "12"}));
  // Other lookaheads stay one character; a second run lookahead is refused.
  const auto error = [](const std::string& p) {
    absl::StatusOr<std::vector<uint32_t>> r = CompileSplitPattern(p);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_NE(error("(?=(\\d{3})+(?!\\w))").find("not one character"), std::string::npos);
  EXPECT_NE(error("(?=(\\d{3})+(?!\\d))(?=(\\d{2})+(?!\\d))").find("more than one run"),
            std::string::npos);
  EXPECT_NE(error("(?=(\\d{0})+(?!\\d))").find("group length"), std::string::npos);
  EXPECT_NE(error("(?=(\\d{3})+(?!\\d))+").find("quantifier on an assertion"),
            std::string::npos);
}

// The run cache does not outlive a SplitText call: the same buffer with new text splits anew.
TEST(SplitRegexTest, RunCacheForgetsChangedText) {
  const std::vector<uint32_t> words = Compile("(?=(\\d{3})+(?!\\d))");
  const SplitStage stage{{words.data(), static_cast<uint32_t>(words.size())},
                         SplitBehavior::ISOLATED, false};
  SplitScratch scratch;
  std::string text = "123456";
  Pieces pieces;
  const auto emit = [&](size_t b, size_t e) {
    pieces.push_back(text.substr(b, e - b));
    return Status::Ok();
  };
  ASSERT_TRUE(SplitText(&stage, 1, text.data(), 0, text.size(), &scratch, emit).ok());
  EXPECT_EQ(pieces, (Pieces{"123", "456"}));
  text[2] = 'a';
  pieces.clear();
  ASSERT_TRUE(SplitText(&stage, 1, text.data(), 0, text.size(), &scratch, emit).ok());
  EXPECT_EQ(pieces, (Pieces{"12a", "456"}));
}

// SuperBPE: number runs, then cuts before each multiple of three digits that ends a run.
TEST(SplitRegexTest, SuperBpePieces) {
  const std::vector<Stage> stages = StagesOf("superbpe");
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(Split(stages, "a1234567b 12 123"),
            (Pieces{"a", "1", "234", "567", "b ", "12", " ", "123"}));
  EXPECT_EQ(Split(stages, "123456"), (Pieces{"123", "456"}));
  EXPECT_EQ(Split(stages, "no digits"), (Pieces{"no digits"}));
}

// AFMoE: number runs cut into groups of three from the right, the text before a run joining
// its first group (llama.cpp's splitter); then Asian-script runs; then DeepSeek V3's words.
TEST(SplitRegexTest, AfmoePieces) {
  const std::vector<Stage> stages = StagesOf("afmoe");
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_EQ(Split({stages[0]}, "x12345678 y123"), (Pieces{"x12", "345", "678", " y123"}));
  EXPECT_EQ(Split(stages, "x12345678"), (Pieces{"x", "12", "345", "678"}));
  EXPECT_EQ(Split(stages, "ab1234 cd"), (Pieces{"ab", "1", "234", " cd"}));
  const std::string zhong = "\xE4\xB8\xAD", wen = "\xE6\x96\x87", ga = "\xEA\xB0\x80";
  EXPECT_EQ(Split(stages, "ab" + zhong + wen + "cd " + ga), (Pieces{"ab", zhong + wen, "cd", " ", ga}));
}

// \b and \B: Oniguruma's word boundary (word characters: letters, marks, numbers, connector
// punctuation), inside the subject; an invalid byte is not a word character.
TEST(SplitRegexTest, WordBoundary) {
  EXPECT_EQ(Split1("\\b", "ab cd"), (Pieces{"ab", " ", "cd"}));
  EXPECT_EQ(Split1("\\B", "ab"), (Pieces{"a", "b"}));
  EXPECT_EQ(Split1("a\\b", "ab a"), (Pieces{"ab ", "a"}));
  EXPECT_EQ(Split1("1\\b", "1\xC2\xB2 1!"), (Pieces{"1\xC2\xB2 ", "1", "!"}));  // ² is a word char
  EXPECT_EQ(Split1("x\\b", "x\xFFx"), (Pieces{"x", "\xFF", "x"}));
  EXPECT_EQ(Split1("\\w+", "a_1\xC2\xB2!\xC3\xA9"), (Pieces{"a_1\xC2\xB2", "!", "\xC3\xA9"}));
  // The subject's edges are boundaries only by what is inside it.
  const std::vector<uint32_t> words = Compile("\\bb");
  SplitScratch scratch;
  size_t b = 0, e = 0;
  const std::string text = "ab";
  EXPECT_TRUE(FindSplitMatch({words.data(), static_cast<uint32_t>(words.size())}, text.data(),
                             1, 2, 1, &scratch, &b, &e));
  EXPECT_EQ(b, 1u);
  EXPECT_FALSE(FindSplitMatch({words.data(), static_cast<uint32_t>(words.size())}, text.data(),
                              0, 2, 1, &scratch, &b, &e));
  const auto error = [](const std::string& p) {
    absl::StatusOr<std::vector<uint32_t>> r = CompileSplitPattern(p);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_NE(error("\\b+").find("quantifier on an assertion"), std::string::npos);
  EXPECT_NE(error("(?=(?:[a!]{2})*\\b)").find("not all word characters"), std::string::npos);
}

// (?i) folds by Unicode simple case folding (CaseFolding.txt C and S), as Oniguruma and
// Rust's regex do: the Kelvin sign is a k, the long s an s, final sigma a sigma; the dotless
// i and the dotted capital I are not an i. Categories are not folded.
TEST(SplitRegexTest, CaseInsensitiveIsUnicode) {
  const std::string kelvin = "\xE2\x84\xAA", long_s = "\xC5\xBF", sigma = "\xCF\x83",
                    final_sigma = "\xCF\x82", capital_sigma = "\xCE\xA3",
                    dotless_i = "\xC4\xB1", dotted_capital_i = "\xC4\xB0",
                    sharp_s = "\xC3\x9F", capital_sharp_s = "\xE1\xBA\x9E";
  EXPECT_EQ(First("(?i)k", "a" + kelvin), kelvin);
  EXPECT_EQ(First("(?i:'s|'t)", "x'" + long_s), "'" + long_s);
  EXPECT_EQ(First("(?i)[a-z]+", "1" + kelvin + long_s + "Ab"), kelvin + long_s + "Ab");
  EXPECT_EQ(First("(?i)" + sigma + "+", "a" + final_sigma + capital_sigma + sigma),
            final_sigma + capital_sigma + sigma);
  EXPECT_EQ(First("(?i)" + capital_sigma, final_sigma), final_sigma);
  EXPECT_EQ(First("(?i)i", dotless_i + dotted_capital_i), "<none>");
  EXPECT_EQ(First("(?i)I", dotless_i + "i"), "i");
  EXPECT_EQ(First("(?i)" + sharp_s, capital_sharp_s), capital_sharp_s);
  EXPECT_EQ(First("(?i)[^k]", kelvin + "K" + "x"), "x");
  EXPECT_EQ(First("k", kelvin), "<none>");  // without (?i), only itself
  EXPECT_EQ(First("(?i)\\p{Lu}", "aB"), "B");
}

// \d is Unicode's Nd (decimal digits of every script), as in Hugging Face's tokenizers
// (Oniguruma) and Rust's regex; not other numbers (No: ², ½) that \p{N} holds.
TEST(SplitRegexTest, DigitIsUnicodeDecimal) {
  const std::string arabic_3 = "\xD9\xA3", devanagari_7 = "\xE0\xA5\xAD", sup2 = "\xC2\xB2";
  EXPECT_EQ(First("\\d+", "x" + sup2 + arabic_3 + devanagari_7 + "4"),
            arabic_3 + devanagari_7 + "4");
  EXPECT_EQ(First("\\d+", "\xC2\xBD" + sup2), "<none>");
  EXPECT_EQ(First("\\p{N}+", "\xC2\xBD" + sup2), "\xC2\xBD" + sup2);
  EXPECT_EQ(First("[^\\d]+", arabic_3 + "a" + sup2), "a" + sup2);
}

// Run lookaheads ending in \b, (?=(?:X{k})*\b): zero groups when here is a boundary, else the
// run of X ends here plus a multiple of k and no word character follows it.
TEST(SplitRegexTest, RunLookaheadToWordBoundary) {
  const char* p = "\\d{1,3}(?=(?:\\d{3})*\\b)";
  EXPECT_EQ(Split1(p, "1234567 x"), (Pieces{"1", "234", "567", " x"}));
  EXPECT_EQ(Split1(p, "12,345"), (Pieces{"12", ",", "345"}));
  EXPECT_EQ(Split1(p, "1234abc"), (Pieces{"1234abc"}));  // a letter follows: no boundary
  EXPECT_EQ(Split1(p, "12\xC2\xB2"), (Pieces{"12\xC2\xB2"}));
  EXPECT_EQ(First("(?=(?:\\d{3})*\\b).", "ab 1"), "a");  // zero groups at the start
  EXPECT_EQ(First("(?=(?:\\d{3})+\\b).", "ab 1"), "<none>");
  EXPECT_EQ(First("(?=(?:\\d{3})+\\b)\\d+", "1 12a 123456"), "123456");
}

// The names llama.cpp added after the first table, each split as its patterns read.
TEST(SplitRegexTest, NewerGgufNames) {
  const std::string acute = "\xCC\x81", zwnj = "\xE2\x80\x8C";
  // Qwen3.5 keeps combining marks in words; Qwen2 (and solar-open) split them off.
  EXPECT_EQ(Split(StagesOf("qwen35"), "Cafe" + acute + " ok I'M 12"),
            (Pieces{"Cafe" + acute, " ok", " I", "'M", " ", "1", "2"}));
  EXPECT_EQ(Split(StagesOf("solar-open"), "Cafe" + acute + " ok"),
            (Pieces{"Cafe", acute, " ok"}));
  // Laguna cuts lines first, so spaces before a line break stay with the line.
  EXPECT_EQ(Split(StagesOf("laguna"), "a  \nb"), (Pieces{"a", "  ", "\n", "b"}));
  EXPECT_EQ(Split(StagesOf("qwen2"), "a  \nb"), (Pieces{"a", "  \n", "b"}));
  // K2-Horizon keeps zero-width non-joiners in words; digits in threes.
  EXPECT_EQ(Split(StagesOf("k2-horizon"), "a" + zwnj + "b 12345 I'M"),
            (Pieces{"a" + zwnj + "b", " ", "123", "45", " I", "'M"}));
  EXPECT_EQ(Split(StagesOf("llama3"), "a" + zwnj + "b"), (Pieces{"a", zwnj + "b"}));
  // EXAONE MoE joins words separated by single spaces; one break or '/' after punctuation.
  EXPECT_EQ(Split(StagesOf("exaone-moe"), "Hello big world, ok/\n12"),
            (Pieces{"Hello big world", ",", " ok", "/\n", "1", "2"}));
  EXPECT_EQ(Split(StagesOf("exaone-moe"), "a  b"), (Pieces{"a", " ", " b"}));
  // Tiny Aya (and cohere2moe): digit groups from the right when the number ends at a word
  // boundary, then GPT-4o's split.
  for (const char* name : {"tiny_aya", "cohere2moe"}) {
    const std::vector<Stage> stages = StagesOf(name);
    ASSERT_EQ(stages.size(), 2u);
    EXPECT_EQ(Split(stages, "1234567 x"), (Pieces{"1", "234", "567", " x"}));
    EXPECT_EQ(Split(stages, "1234abc"), (Pieces{"123", "4", "abc"}));
    EXPECT_EQ(Split(stages, "\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4."),  // Arabic-Indic 1234
              (Pieces{"\xD9\xA1", "\xD9\xA2\xD9\xA3\xD9\xA4", "."}));
  }
  // joyai-llm is DeepSeek V3's split, mellum2 StarCoder's (the built-in SMOLLM splitter).
  const Pieces v3 = Split(StagesOf("deepseek-v3"), "1234 ab!cd\n");
  EXPECT_EQ(v3, (Pieces{"123", "4", " ab", "!cd", "\n"}));
  EXPECT_EQ(Split(StagesOf("joyai-llm"), "1234 ab!cd\n"), v3);
  EXPECT_EQ(convert::ChoosePreTokenizer(convert::GgufPreTokenizerStages("mellum2")->stages)->kind,
            PreTokenizerType::SMOLLM);
}

// 1 MB of adversarial text: the engine's own step count stays linear in the input.
TEST(SplitRegexTest, LinearOnOneMegabyte) {
  const size_t n = 1 << 20;
  std::string alternating;
  while (alternating.size() < n) alternating += "a1 !\xC3\xA9\t";
  const std::string han = "\xE4\xB8\xAD";
  std::string han_mix;
  while (han_mix.size() < n) han_mix += "a" + han + "B'" + han + "1";
  const std::string inputs[] = {std::string(n, ' '), std::string(n, 'a'), std::string(n, '1'),
                                std::string(n, '\''), std::string(n, '\n'), alternating,
                                std::string(n - 1, ' ') + "x", han_mix};
  for (const char* name :
       {"gpt-2", "llama3", "deepseek-llm", "gpt-4o", "kimi-k2", "superbpe", "afmoe", "tiny_aya",
        "exaone-moe", "k2-horizon", "laguna", "qwen35"}) {
    const std::vector<Stage> stages = StagesOf(name);
    std::vector<SplitStage> s;
    uint32_t longest = 0;
    for (const Stage& st : stages) {
      s.push_back({{st.words.data(), static_cast<uint32_t>(st.words.size())}, st.behavior,
                   st.invert});
      longest = std::max(longest, st.words[0]);
    }
    for (const std::string& text : inputs) {
      uint64_t steps = 0;
      size_t total = 0;
      const auto emit = [&](size_t b, size_t e) {
        total += e - b;
        return Status::Ok();
      };
      SplitScratch scratch;
      ASSERT_TRUE(SplitText(s.data(), static_cast<uint32_t>(s.size()), text.data(), 0,
                            text.size(), &scratch, emit, &steps)
                      .ok());
      EXPECT_EQ(total, text.size()) << name;
      // Each stage visits each instruction at most twice per byte (closure + step).
      const uint64_t bound = 2ull * stages.size() * longest * (text.size() + 1);
      EXPECT_LE(steps, bound) << name << " on \"" << text.substr(0, 8) << "...\"";
    }
  }
}

}  // namespace
}  // namespace kite
