// kite::Quoted: untrusted bytes in messages are shown quoted, escaped and bounded
// (issue 18 defect 8).
#include "sdk/base/quote.h"

#include <gtest/gtest.h>

#include <string>

#include "sdk/base/status.h"

namespace kite {
namespace {

std::string Q(const std::string& s) { return Quoted(s.data(), s.size()).c_str(); }

TEST(QuoteTest, PlainNamesAreOnlyQuoted) {
  EXPECT_EQ(std::string(Quoted("layers.0.attention.wq.weight").c_str()),
            "'layers.0.attention.wq.weight'");
  EXPECT_EQ(Q(""), "''");
  EXPECT_EQ(std::string(Quoted(static_cast<const char*>(nullptr)).c_str()), "(null)");
}

TEST(QuoteTest, QuotesAndBackslashesAreEscaped) { EXPECT_EQ(Q("a'b\\c"), "'a\\'b\\\\c'"); }

TEST(QuoteTest, ControlBytesNeverReachTheTerminal) {
  // An ANSI escape sequence (clear screen), BEL, DEL, a C1 CSI (U+009B) and newlines.
  EXPECT_EQ(Q("\x1b[2J\x07x\x7f"), "'\\x1b[2J\\x07x\\x7f'");
  EXPECT_EQ(Q("\xc2\x9b"
              "31m"),
            "'\\xc2\\x9b31m'");
  EXPECT_EQ(Q("a\nb\rc\td"), "'a\\nb\\rc\\td'");
}

TEST(QuoteTest, EmbeddedNulIsShownNotTruncating) {
  EXPECT_EQ(Q(std::string("ab\0cd", 5)), "'ab\\x00cd'");
}

TEST(QuoteTest, Utf8PassesIllFormedBytesAreEscaped) {
  EXPECT_EQ(Q("caf\xc3\xa9 \xe2\x96\x81x \xf0\x9f\x98\x80"),
            "'caf\xc3\xa9 \xe2\x96\x81x \xf0\x9f\x98\x80'");
  EXPECT_EQ(Q("\xff\xfe"), "'\\xff\\xfe'");
  EXPECT_EQ(Q("\xc0\xaf"), "'\\xc0\\xaf'");           // overlong '/'
  EXPECT_EQ(Q("\xed\xa0\x80"), "'\\xed\\xa0\\x80'");  // a surrogate
  EXPECT_EQ(Q("\xe2\x96"), "'\\xe2\\x96'");           // truncated sequence
}

TEST(QuoteTest, LongInputIsBounded) {
  const std::string worst(100000, '\x01');
  const std::string q = Q(worst);
  EXPECT_LT(q.size(), Quoted::kCapacity);
  EXPECT_EQ(q.substr(q.size() - 4), "'...");
  const std::string long_name(Quoted::kMaxInputBytes + 1, 'n');
  EXPECT_EQ(Q(long_name), "'" + std::string(Quoted::kMaxInputBytes, 'n') + "'...");
  EXPECT_EQ(Q(std::string(Quoted::kMaxInputBytes, 'n')),
            "'" + std::string(Quoted::kMaxInputBytes, 'n') + "'");
}

TEST(QuoteTest, FitsInAStatusMessage) {
  const std::string worst(1000, '\xff');
  const Status s = Status::Make(Error::kInvalidFormat, "tensor %s is missing", Q(worst).c_str());
  EXPECT_NE(std::string(s.message()).find("tensor '\\xff"), std::string::npos);
}

}  // namespace
}  // namespace kite
