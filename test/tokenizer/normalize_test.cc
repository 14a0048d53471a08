// NFC and NFKC (sdk/runtime/tokenizer/normalize.h) against Python's unicodedata.normalize
// on the vectors of normalization_vectors.txt (written by gen_normalization_vectors.py):
// Hangul, reordered combining marks, singletons, exclusions, compatibility forms.
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
  NormalizerType form;
  std::string input;
  std::string expected;
};

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
    out.push_back({form == "NFKC" ? NormalizerType::NFKC : NormalizerType::NFC,
                   Unhex(s.substr(a + 1, b - a - 1)), Unhex(s.substr(b + 1))});
  }
  std::fclose(f);
  return out;
}

TEST(NormalizeTest, MatchesPythonUnicodedata) {
  const std::vector<Vector> vectors = ReadVectors();
  ASSERT_GT(vectors.size(), 800u);
  for (const Vector& v : vectors) {
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
