// TextStream: the callback's text is whole UTF-8 characters (ill-formed bytes become
// U+FFFD), stop strings are matched across pieces and never shown, held-back text comes out
// at Flush, and raw mode passes the pieces through.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sdk/runtime/text_stream.h"

namespace {

using kite::TextStream;

// Runs `pieces` through a stream; returns the shown text per piece, then Flush's as the
// last entry (unless a stop string ended the stream: *stopped_at is then its piece index).
std::vector<std::string> Stream(const std::vector<std::string>& pieces,
                             const std::vector<const char*>& stop, bool raw,
                             int* stopped_at = nullptr) {
  std::vector<char> buffer(TextStream::BufferBytes(16));
  EXPECT_TRUE(TextStream::ValidateStopStrings(stop.data(), stop.size()).ok());
  TextStream t(buffer.data(), buffer.size(), stop.data(), stop.size(), raw);
  std::vector<std::string> out;
  if (stopped_at != nullptr) *stopped_at = -1;
  for (size_t i = 0; i < pieces.size(); ++i) {
    bool stopped = false;
    out.push_back(t.Push(pieces[i].c_str(), &stopped));
    if (stopped) {
      if (stopped_at != nullptr) *stopped_at = static_cast<int>(i);
      EXPECT_STREQ(t.Flush(), "");
      return out;
    }
  }
  out.push_back(t.Flush());
  return out;
}

using Strings = std::vector<std::string>;

TEST(TextStream, HoldsASplitCharacterUntilItCompletes) {
  // "é" = C3 A9, "€" = E2 82 AC, "😀" = F0 9F 98 80, split across pieces.
  EXPECT_EQ(Stream({"a\xC3", "\xA9" "b", "\xE2", "\x82", "\xAC", "\xF0\x9F", "\x98\x80!"}, {}, false),
            (Strings{"a", "\xC3\xA9" "b", "", "", "\xE2\x82\xAC", "", "\xF0\x9F\x98\x80!", ""}));
}

TEST(TextStream, IllFormedBytesBecomeReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  // A lone continuation byte, an impossible lead byte, a surrogate (ED A0 80: three maximal
  // ill-formed subparts), an overlong lead (C0), a truncated character interrupted by ASCII.
  EXPECT_EQ(Stream({"\x80", "\xFF", "\xED\xA0\x80", "\xC0" "A", "\xE2\x82" "z"}, {}, false),
            (Strings{r, r, r + r + r, r + "A", r + "z", ""}));
  // A character still incomplete when the stream ends becomes U+FFFD at Flush.
  EXPECT_EQ(Stream({"ok\xE2\x82"}, {}, false), (Strings{"ok", r}));
}

TEST(TextStream, RawModePassesPiecesThrough) {
  EXPECT_EQ(Stream({"a\xC3", "\xA9", "\xFF"}, {}, true), (Strings{"a\xC3", "\xA9", "\xFF", ""}));
}

TEST(TextStream, StopStringAcrossPiecesIsNeverShown) {
  int at = 0;
  // "\nUser:" arrives over three pieces; the text before it is shown, the rest dropped.
  EXPECT_EQ(Stream({"Hello", " there\nU", "se", "r: more"}, {"\nUser:"}, false, &at),
            (Strings{"Hello", " there", "", ""}));
  EXPECT_EQ(at, 3);
  // Text after the stop string in the same piece is dropped too.
  EXPECT_EQ(Stream({"abcSTOPdef"}, {"STOP"}, false, &at), (Strings{"abc"}));
  EXPECT_EQ(at, 0);
  // The earliest of several stop strings wins.
  EXPECT_EQ(Stream({"xx ba", "r foo"}, {"foo", "bar"}, false, &at), (Strings{"xx ", ""}));
  EXPECT_EQ(at, 1);
  // ... by where it starts, even when a shorter one, listed first, ends sooner.
  EXPECT_EQ(Stream({"abcd"}, {"cd", "bcd"}, false, &at), (Strings{"a"}));
  EXPECT_EQ(at, 0);
}

TEST(TextStream, HeldTextIsReleasedWhenTheMatchFailsAndAtFlush) {
  int at = 0;
  // "ab" might start "abc": held, then released when "x" breaks the match.
  EXPECT_EQ(Stream({"zab", "x", "ab"}, {"abc"}, false, &at), (Strings{"z", "abx", "", "ab"}));
  EXPECT_EQ(at, -1);
  // Raw mode holds back for stop strings too.
  EXPECT_EQ(Stream({"zab", "\xC3"}, {"abc"}, true, &at), (Strings{"z", "ab\xC3", ""}));
}

TEST(TextStream, StopStringsAreMatchedOnWholeCharacters) {
  int at = 0;
  // "é!" as a stop string, its bytes split over three pieces.
  EXPECT_EQ(Stream({"caf\xC3", "\xA9", "!"}, {"\xC3\xA9!"}, false, &at),
            (Strings{"caf", "", ""}));
  EXPECT_EQ(at, 2);
}

TEST(TextStream, ValidatesStopStringsNamingTheField) {
  const auto message = [](const std::vector<const char*>& stop, size_t n) {
    const kite::Status s = TextStream::ValidateStopStrings(stop.data(), n);
    EXPECT_EQ(s.code(), kite::Error::kInvalidArgument);
    return std::string(s.message());
  };
  const std::string long_one(kite::kMaxStopStringBytes + 1, 'x');
  const std::string longest(kite::kMaxStopStringBytes, 'x');
  EXPECT_NE(message({"a", nullptr}, 2).find("stop[1] is null"), std::string::npos);
  EXPECT_NE(message({""}, 1).find("stop[0] is empty"), std::string::npos);
  EXPECT_NE(message({long_one.c_str()}, 1).find("stop[0] is longer"), std::string::npos);
  EXPECT_NE(message({"ok", "\xC3"}, 2).find("stop[1] is not valid UTF-8"), std::string::npos);
  std::vector<const char*> nine(kite::kMaxStopStrings + 1, "x");
  EXPECT_NE(message(nine, nine.size()).find("n_stop"), std::string::npos);
  EXPECT_NE(TextStream::ValidateStopStrings(nullptr, 1).message(), std::string());
  EXPECT_TRUE(TextStream::ValidateStopStrings(nullptr, 0).ok());
  const std::vector<const char*> fine = {longest.c_str(), "\xE2\x82\xAC"};
  EXPECT_TRUE(TextStream::ValidateStopStrings(fine.data(), fine.size()).ok());
}

}  // namespace
