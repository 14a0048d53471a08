// NFC, NFKC, NFD, NFKD and Lowercase (sdk/runtime/tokenizer/normalize.h) against Python's
// unicodedata.normalize and lower() on the vectors of normalization_vectors.txt (written by
// gen_normalization_vectors.py): Hangul, reordered combining marks, singletons, exclusions,
// compatibility forms, special casings; the other pipeline steps and the growth bounds.
#include "sdk/runtime/tokenizer/normalize.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sdk/runtime/tokenizer/normalization_tables.h"

namespace kite {
namespace {

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string Normalize(NormalizerType form, const std::string& text) {
  const size_t n = NormalizedLength(form, text.data(), text.size());
  std::string out(n, '\0');
  EXPECT_EQ(NormalizeText(form, text.data(), text.size(), out.data(), out.size()), n);
  return out;
}

struct Vector {
  NormalizerType form;  // NFC, NFKC, or NONE for a step of `step`'s kind
  std::string input;
  std::string expected;
  NormalizerStepKind step = NormalizerStepKind::NFC;
  std::string name;
};

std::string Apply(const NormalizerStep& step, const std::string& text) {
  const size_t n = ApplyNormalizerStep(step, text.data(), text.size(), nullptr, 0);
  std::string out(n, '\0');
  EXPECT_EQ(ApplyNormalizerStep(step, text.data(), text.size(), out.data(), out.size()), n);
  EXPECT_LE(n, NormalizerStepBound(step, text.size()));
  return out;
}

NormalizerStep Step(NormalizerStepKind kind) {
  NormalizerStep s;
  s.kind = kind;
  return s;
}

std::vector<Vector> ReadVectors() {
  std::vector<Vector> out;
  FILE* f = std::fopen(KITE_NORMALIZATION_VECTORS, "r");
  EXPECT_NE(f, nullptr) << KITE_NORMALIZATION_VECTORS;
  if (f == nullptr) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::string s(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (s.empty() || s[0] == '#') continue;
    const size_t a = s.find('\t');
    const size_t b = s.find('\t', a + 1);
    const std::string form = s.substr(0, a);
    Vector v{form == "NFKC" ? NormalizerType::NFKC
             : form == "NFC" ? NormalizerType::NFC
                             : NormalizerType::NONE,
             Unhex(s.substr(a + 1, b - a - 1)), Unhex(s.substr(b + 1))};
    v.name = form;
    v.step = form == "NFD"    ? NormalizerStepKind::NFD
             : form == "NFKD" ? NormalizerStepKind::NFKD
             : form == "NFKC" ? NormalizerStepKind::NFKC
             : form == "LOWER" ? NormalizerStepKind::LOWERCASE
                               : NormalizerStepKind::NFC;
    out.push_back(v);
  }
  std::fclose(f);
  return out;
}

TEST(NormalizeTest, MatchesPythonUnicodedata) {
  const std::vector<Vector> vectors = ReadVectors();
  ASSERT_GT(vectors.size(), 800u);
  size_t steps = 0;
  for (const Vector& v : vectors) {
    // Every vector also through the pipeline step of its kind.
    EXPECT_EQ(Apply(Step(v.step), v.input), v.expected) << v.name << " of " << v.input;
    if (v.form == NormalizerType::NONE) {
      ++steps;
      continue;
    }
    const std::string got = Normalize(v.form, v.input);
    EXPECT_EQ(got, v.expected) << (v.form == NormalizerType::NFC ? "NFC" : "NFKC") << " of "
                               << v.input;
    // Idempotent, and the quick check never calls changed text normalized.
    EXPECT_EQ(Normalize(v.form, got), got);
    if (IsNormalizedQuick(v.form, v.input.data(), v.input.size())) {
      EXPECT_EQ(got, v.input);
    }
    EXPECT_TRUE(IsNormalizedQuick(v.form, "plain ascii", 11));
  }
  EXPECT_GT(steps, 1200u);
}

// The growth constants of normalize.h hold for every code point (one code point's
// decomposition or lowercase is the worst case: composition only shortens).
TEST(NormalizeTest, GrowthBoundsHoldForEveryCodePoint) {
  size_t worst[3] = {0, 0, 0};  // NFD, NFKD, Lowercase: most output bytes per input byte x 2
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp < 0xE000) continue;
    char in[4];
    const size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (len == 1) {
      in[0] = static_cast<char>(cp);
    } else {
      for (size_t i = len - 1; i > 0; --i) in[i] = static_cast<char>(0x80 | ((cp >> (6 * (len - 1 - i))) & 0x3F));
      in[0] = static_cast<char>((0xF00 >> len) | (cp >> (6 * (len - 1))));
    }
    const NormalizerStepKind kinds[3] = {NormalizerStepKind::NFD, NormalizerStepKind::NFKD,
                                         NormalizerStepKind::LOWERCASE};
    for (int k = 0; k < 3; ++k) {
      const size_t out = ApplyNormalizerStep(Step(kinds[k]), in, len, nullptr, 0);
      const size_t ratio2 = (2 * out + len - 1) / len;
      worst[k] = ratio2 > worst[k] ? ratio2 : worst[k];
    }
  }
  EXPECT_EQ(worst[0], 2 * kNfcGrowth);
  EXPECT_EQ(worst[1], 2 * kNfkcGrowth);
  EXPECT_EQ(worst[2], 3u);  // x 3/2
}

TEST(NormalizeTest, PipelineSteps) {
  NormalizerStep strip = Step(NormalizerStepKind::STRIP);
  strip.strip_left = strip.strip_right = true;
  EXPECT_EQ(Apply(strip, " \t\xE3\x80\x80" "a b\xC2\xA0\n"), "a b");  // U+3000, U+00A0
  EXPECT_EQ(Apply(strip, "\xFF "), "\xFF");  // an invalid byte is not White_Space
  strip.strip_left = false;
  EXPECT_EQ(Apply(strip, " a "), " a");
  NormalizerStep replace = Step(NormalizerStepKind::REPLACE);
  replace.pattern = "aba";
  replace.pattern_size = 3;
  replace.content = "X";
  replace.content_size = 1;
  EXPECT_EQ(Apply(replace, "ababab aba"), "Xbab X");  // leftmost, not overlapping
  replace.content = "";
  replace.content_size = 0;
  EXPECT_EQ(Apply(replace, "abaab"), "ab");
  NormalizerStep prepend = Step(NormalizerStepKind::PREPEND);
  prepend.content = "\xE2\x96\x81";
  prepend.content_size = 3;
  EXPECT_EQ(Apply(prepend, "a"), "\xE2\x96\x81" "a");
  EXPECT_EQ(Apply(prepend, ""), "");
  EXPECT_EQ(Apply(Step(NormalizerStepKind::LOWERCASE), "\xC3\x89\xFF" "A"), "\xC3\xA9\xFF" "a");

  // The pipeline: results right-aligned in scratch, a short scratch reported.
  const NormalizerStep steps[3] = {Step(NormalizerStepKind::NFKC),
                                   Step(NormalizerStepKind::LOWERCASE), prepend};
  const std::string text = "\xEF\xBC\xA1\xEF\xAC\x81";  // ＡﬁA
  char scratch[64];
  NormalizedText r;
  ASSERT_TRUE(ApplyNormalizerPipeline(steps, 3, text.data(), text.size(), scratch,
                                      sizeof scratch, &r));
  EXPECT_EQ(std::string(r.text, r.size), "\xE2\x96\x81" "afi");
  EXPECT_EQ(r.text + r.size, scratch + sizeof scratch);
  EXPECT_FALSE(ApplyNormalizerPipeline(steps, 3, text.data(), text.size(), scratch, 4, &r));
  EXPECT_EQ(r.scratch_needed, 3u + 3u);  // "afi" held while its lowercase is written
  // Nothing to change: the caller's text, no scratch.
  ASSERT_TRUE(ApplyNormalizerPipeline(steps, 1, "abc", 3, scratch, 0, &r));
  EXPECT_EQ(r.scratch_needed, 0u);
  EXPECT_EQ(std::string(r.text, r.size), "abc");
  EXPECT_EQ(NormalizerPipelineBound(steps, 3, 10), 10u * 11 * 3 / 2 + 3);
}

TEST(NormalizeTest, SpotChecks) {
  EXPECT_EQ(Normalize(NormalizerType::NFC, "cafe\xCC\x81"), "caf\xC3\xA9");
  EXPECT_EQ(Normalize(NormalizerType::NFC, "\xEF\xAC\x81"), "\xEF\xAC\x81");  // ﬁ kept
  EXPECT_EQ(Normalize(NormalizerType::NFKC, "\xEF\xAC\x81"), "fi");
  EXPECT_EQ(Normalize(NormalizerType::NFKC, "\xE2\x91\xA0"), "1");            // ①
  EXPECT_EQ(Normalize(NormalizerType::NFKC, "\xEF\xBC\xA1"), "A");            // full-width A
  EXPECT_EQ(Normalize(NormalizerType::NFC, "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"),
            "\xEA\xB0\x81");  // jamo -> 각
  EXPECT_EQ(Normalize(NormalizerType::NFC, "\xE2\x84\xAB"), "\xC3\x85");      // Å sign
  // Invalid UTF-8 passes through and blocks composition.
  EXPECT_EQ(Normalize(NormalizerType::NFC, "e\xFF\xCC\x81"), "e\xFF\xCC\x81");
  EXPECT_EQ(Normalize(NormalizerType::NONE, "e\xCC\x81"), "e\xCC\x81");
  EXPECT_FALSE(IsNormalizedQuick(NormalizerType::NFC, "e\xCC\x81", 3));
  EXPECT_TRUE(IsNormalizedQuick(NormalizerType::NFC, "caf\xC3\xA9", 5));
  EXPECT_FALSE(IsNormalizedQuick(NormalizerType::NFKC, "\xEF\xAC\x81", 3));
  EXPECT_STREQ(unicode::kNormalizationUnicodeVersion, "14.0.0");
}

TEST(NormalizeTest, ShortOutputIsCutNotOverrun) {
  char out[4] = {'#', '#', '#', '#'};
  // ﷺ has an 18-character compatibility decomposition.
  const size_t n = NormalizeText(NormalizerType::NFKC, "\xEF\xB7\xBA", 3, out, 3);
  EXPECT_GT(n, 30u);
  EXPECT_EQ(out[3], '#');
}

TEST(NormalizeTest, LongMarkRunsAreBoundedAndIdempotent) {
  std::string text = "a";
  for (int i = 0; i < 100; ++i) text += (i % 2 != 0) ? "\xCC\x81" : "\xCC\xA3";  // 0301, 0323
  const std::string once = Normalize(NormalizerType::NFC, text);
  EXPECT_EQ(Normalize(NormalizerType::NFC, once), once);
}

}  // namespace
}  // namespace kite
