// kite-voice's pure pieces: WAV reading and writing (round trip, refusals), resampling, the
// sentence splitter on awkward text, the command grammar and parser, and the energy-based
// end-of-utterance detector.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "samples/voice_assistant/commands.h"
#include "samples/voice_assistant/sentences.h"
#include "samples/voice_assistant/utterance_detector.h"
#include "samples/voice_assistant/wav.h"

namespace kite::voice {
namespace {

Pcm Tone(int rate, double hz, double seconds, double amplitude = 8000) {
  Pcm p;
  p.sample_rate = rate;
  const size_t n = static_cast<size_t>(rate * seconds);
  for (size_t i = 0; i < n; ++i) {
    p.samples.push_back(static_cast<int16_t>(amplitude * std::sin(2 * M_PI * hz * i / rate)));
  }
  return p;
}

// Little-endian field writers for hand-made headers.
void Put16(std::string* s, size_t at, uint16_t v) {
  (*s)[at] = static_cast<char>(v & 0xFF);
  (*s)[at + 1] = static_cast<char>(v >> 8);
}

TEST(Wav, RoundTripKeepsEverySample) {
  Pcm p = Tone(22050, 440, 0.1);
  p.samples.push_back(-32768);
  p.samples.push_back(32767);
  absl::StatusOr<std::string> bytes = EncodeWav(p);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(bytes->size(), 44 + 2 * p.samples.size());
  absl::StatusOr<Pcm> back = DecodeWav(*bytes, "x.wav");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sample_rate, 22050);
  EXPECT_EQ(back->samples, p.samples);
}

TEST(Wav, WriteThenReadAFile) {
  const std::string path = ::testing::TempDir() + "/voice_wav_roundtrip.wav";
  const Pcm p = Tone(16000, 300, 0.05);
  ASSERT_TRUE(WriteWavFile(path, p).ok());
  absl::StatusOr<Pcm> back = ReadWavFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->samples, p.samples);
  EXPECT_NEAR(back->seconds(), 0.05, 1e-9);
}

TEST(Wav, StereoIsAveragedAndOtherChunksSkipped) {
  std::string b = *EncodeWav(Tone(8000, 100, 0.01));
  // Insert a LIST chunk (odd size, padded) before "data" and make it stereo: 2 frames.
  std::string list = std::string("LIST") + std::string("\x03\0\0\0", 4) + "abc" + '\0';
  std::string data = std::string("data") + std::string("\x08\0\0\0", 4);
  for (int16_t v : {100, 300, -50, -150}) data += std::string{static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF)};
  std::string head = b.substr(0, 36);
  Put16(&head, 22, 2);   // channels
  Put16(&head, 32, 4);   // bytes per frame
  const std::string file = head + list + data;
  absl::StatusOr<Pcm> p = DecodeWav(file, "s.wav");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->samples, (std::vector<int16_t>{200, -100}));
}

TEST(Wav, RefusalsNameTheFileAndTheProblem) {
  const std::string good = *EncodeWav(Tone(16000, 200, 0.01));
  struct Case {
    std::string bytes, want;
  };
  std::string eight = good, flt = good, six = good, nodata = good.substr(0, 36),
              short_fmt = good.substr(0, 30), rate0 = good;
  Put16(&eight, 34, 8);
  Put16(&flt, 20, 3);
  Put16(&six, 22, 6);
  Put16(&rate0, 24, 0);
  const std::vector<Case> cases = {
      {"", "bad.wav is not a WAV file"},
      {"hello world, no header", "bad.wav is not a WAV file"},
      {eight, "bad.wav is 8-bit PCM; kite-voice reads 16-bit PCM"},
      {flt, "bad.wav is 32-bit float; kite-voice reads 16-bit PCM"},
      {six, "bad.wav has 6 channels"},
      {rate0, "bad.wav has a sample rate of 0 Hz"},
      {nodata, "bad.wav has no data chunk"},
      {short_fmt, "bad.wav is truncated"},
      {good.substr(0, 12), "bad.wav has no fmt chunk"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Pcm> p = DecodeWav(c.bytes, "bad.wav");
    ASSERT_FALSE(p.ok()) << c.want;
    EXPECT_NE(std::string(p.status().message()).find(c.want), std::string::npos)
        << p.status().message();
  }
  absl::StatusOr<Pcm> missing = ReadWavFile(::testing::TempDir() + "/no-such.wav");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("no-such.wav"), std::string::npos);
}

TEST(Wav, TruncatedDataIsReadToTheEnd) {
  std::string b = *EncodeWav(Tone(16000, 200, 0.01));  // 160 samples
  b.resize(b.size() - 21);                               // 10.5 samples lost
  absl::StatusOr<Pcm> p = DecodeWav(b, "t.wav");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->samples.size(), 149u);
}

TEST(Resample, KeepsDurationAndToneAndDropsWhatTheNewRateCannotHold) {
  const Pcm low = Resample(Tone(22050, 500, 1.0), 16000);
  EXPECT_EQ(low.sample_rate, 16000);
  EXPECT_NEAR(low.seconds(), 1.0, 0.001);
  double energy = 0;
  for (int16_t s : low.samples) energy += double(s) * s;
  EXPECT_NEAR(std::sqrt(energy / low.samples.size()), 8000 / std::sqrt(2.0), 200);
  // 10 kHz is above 16 kHz's Nyquist frequency: it must not fold into the band.
  const Pcm high = Resample(Tone(22050, 10000, 1.0), 16000);
  energy = 0;
  for (int16_t s : high.samples) energy += double(s) * s;
  EXPECT_LT(std::sqrt(energy / high.samples.size()), 300);
  EXPECT_EQ(Resample(low, 16000).samples, low.samples);
}

std::vector<std::string> Split(const std::vector<std::string>& pieces, std::string* rest,
                               size_t max_bytes = 300) {
  SentenceSplitter s(max_bytes);
  std::vector<std::string> out;
  for (const std::string& p : pieces) s.Push(p, &out);
  *rest = s.Flush();
  return out;
}

// Feeds `text` one byte at a time (the worst streaming case).
std::vector<std::string> SplitBytes(const std::string& text, std::string* rest) {
  std::vector<std::string> pieces;
  for (char c : text) pieces.push_back(std::string(1, c));
  return Split(pieces, rest);
}

TEST(Sentences, EndAtPunctuationFollowedBySpace) {
  std::string rest;
  EXPECT_EQ(SplitBytes("Hello there. How are you? Fine! Bye", &rest),
            (std::vector<std::string>{"Hello there.", "How are you?", "Fine!"}));
  EXPECT_EQ(rest, "Bye");
}

TEST(Sentences, NoTerminalPunctuationIsFlushedAtTheEnd) {
  std::string rest;
  EXPECT_TRUE(SplitBytes("once upon a time there was a cat", &rest).empty());
  EXPECT_EQ(rest, "once upon a time there was a cat");
  SentenceSplitter s;
  EXPECT_EQ(s.Flush(), "");
  // A period at the very end waits for the next character, then the flush returns it.
  EXPECT_TRUE(SplitBytes("The end.", &rest).empty());
  EXPECT_EQ(rest, "The end.");
}

TEST(Sentences, AbbreviationsInitialsAndNumbers) {
  std::string rest;
  EXPECT_EQ(SplitBytes("Mr. Smith met Dr. Jones at 3.30 pm. J. R. R. Tolkien wrote e.g. this. "
                       "It was 1999. Then",
                       &rest),
            (std::vector<std::string>{"Mr. Smith met Dr. Jones at 3.30 pm.",
                                      "J. R. R. Tolkien wrote e.g. this.", "It was 1999."}));
  EXPECT_EQ(rest, "Then");
}

TEST(Sentences, QuotesEllipsesAndBlankLines) {
  std::string rest;
  EXPECT_EQ(SplitBytes("He said, \"Stop!\" Then... nothing?! \"Yes.\"\n\nNew part\n", &rest),
            (std::vector<std::string>{"He said, \"Stop!\"", "Then...", "nothing?!", "\"Yes.\""}));
  EXPECT_EQ(rest, "New part");
}

TEST(Sentences, CurlyClosingQuotesStayWithTheirSentence) {
  std::string rest;
  EXPECT_EQ(SplitBytes("\xE2\x80\x9CHello, Cat!\xE2\x80\x9D Cat said \xC2\xABno.\xC2\xBB Then",
                       &rest),
            (std::vector<std::string>{"\xE2\x80\x9CHello, Cat!\xE2\x80\x9D",
                                      "Cat said \xC2\xABno.\xC2\xBB"}));
  EXPECT_EQ(rest, "Then");
}

TEST(Sentences, Utf8IsNeverSplitAndWideStopsEndAtOnce) {
  std::string rest;
  // "Café. Ünïcode!" byte by byte, then Japanese with full-width stops (no spaces).
  EXPECT_EQ(SplitBytes("Caf\xC3\xA9. \xC3\x9Cn\xC3\xAF" "code! \xE7\x8C\xAB\xE3\x80\x82\xE7\x8A\xAC\xEF\xBC\x81",
                       &rest),
            (std::vector<std::string>{"Caf\xC3\xA9.", "\xC3\x9Cn\xC3\xAF" "code!",
                                      "\xE7\x8C\xAB\xE3\x80\x82", "\xE7\x8A\xAC\xEF\xBC\x81"}));
  EXPECT_EQ(rest, "");
}

TEST(Sentences, OverlongTextIsCutAtASpaceOrACharacterBoundary) {
  std::string rest;
  std::vector<std::string> out = Split({"aaaa bbbb cccc dddd eeee ffff gggg"}, &rest, 16);
  EXPECT_EQ(out, (std::vector<std::string>{"aaaa bbbb cccc", "dddd eeee ffff"}));
  EXPECT_EQ(rest, "gggg");
  // One 40-byte word of 2-byte characters: cut at or before 16 bytes, on a boundary.
  std::string word;
  for (int i = 0; i < 20; ++i) word += "\xC3\xA9";
  out = Split({word}, &rest, 16);
  ASSERT_EQ(out.size(), 2u);
  for (const std::string& s : out) {
    EXPECT_EQ(s.size() % 2, 0u);
    EXPECT_LE(s.size(), 16u);
  }
  EXPECT_EQ(out[0].size() + out[1].size() + rest.size(), word.size());
}

TEST(Sentences, WhitespaceOnlyGivesNothing) {
  std::string rest;
  EXPECT_TRUE(SplitBytes("  \n\n \n  ", &rest).empty());
  EXPECT_EQ(rest, "");
  EXPECT_TRUE(Split({"...", " ", "!"}, &rest).size() <= 1u);
}

TEST(Commands, GrammarNamesEveryNoun) {
  const std::string g = CommandGrammar();
  EXPECT_EQ(g.rfind("#JSGF V1.0;", 0), 0u);
  EXPECT_NE(g.find("tell me a story"), std::string::npos);
  EXPECT_NE(g.find("stop"), std::string::npos);
  EXPECT_NE(NounList().find("robot"), std::string::npos);
  EXPECT_NE(g.find("owl"), std::string::npos);
}

TEST(Commands, ParseWhatIsHeardOrTyped) {
  Command c = ParseCommand("tell me a story about a robot");
  EXPECT_EQ(c.kind, CommandKind::kStory);
  EXPECT_EQ(c.a_noun, "a robot");
  c = ParseCommand("  Tell me a story about an owl!  ");
  EXPECT_EQ(c.kind, CommandKind::kStory);
  EXPECT_EQ(c.a_noun, "an owl");
  c = ParseCommand("tell me a story");
  EXPECT_EQ(c.kind, CommandKind::kStory);
  EXPECT_EQ(c.a_noun, kDefaultStoryNoun);
  EXPECT_EQ(ParseCommand("Stop.").kind, CommandKind::kStop);
  EXPECT_EQ(ParseCommand("again").kind, CommandKind::kAgain);
  EXPECT_EQ(ParseCommand("say that again").kind, CommandKind::kAgain);
  EXPECT_EQ(ParseCommand("help").kind, CommandKind::kHelp);
  EXPECT_EQ(ParseCommand("goodbye").kind, CommandKind::kGoodbye);
  EXPECT_EQ(ParseCommand("   ").kind, CommandKind::kNothing);
  c = ParseCommand(" What is the capital of France? ");
  EXPECT_EQ(c.kind, CommandKind::kText);
  EXPECT_EQ(c.text, "What is the capital of France?");
}

TEST(Commands, StoryPrompts) {
  EXPECT_EQ(StoryPrompt(DefaultStoryTemplate(false), "a robot"),
            "Once upon a time, there was a robot");
  EXPECT_EQ(StoryPrompt(DefaultStoryTemplate(true), "an owl"),
            "Tell me a short story about an owl.");
  EXPECT_EQ(StoryPrompt("The {noun} and {a_noun}", "an owl"), "The owl and an owl");
}

TEST(UtteranceDetector, CutsSpeechBetweenPauses) {
  UtteranceDetector::Options o;
  UtteranceDetector d(o);
  std::vector<int16_t> stream, utterance;
  const Pcm quiet = Tone(16000, 100, 0.5, 30), loud = Tone(16000, 300, 0.8, 6000);
  for (const Pcm* p : {&quiet, &loud, &quiet, &quiet, &loud, &quiet, &quiet}) {
    stream.insert(stream.end(), p->samples.begin(), p->samples.end());
  }
  std::vector<size_t> lengths;
  for (size_t at = 0; at < stream.size(); at += 320) {
    if (d.Push(stream.data() + at, std::min<size_t>(320, stream.size() - at), &utterance)) {
      lengths.push_back(utterance.size());
    }
  }
  ASSERT_EQ(lengths.size(), 2u);
  for (size_t n : lengths) {
    // 0.8 s of speech, up to 0.2 s before it and 0.7 s of trailing silence.
    EXPECT_GE(n, 16000 * 0.8);
    EXPECT_LE(n, 16000 * 1.8);
  }
  EXPECT_FALSE(d.in_speech());
}

TEST(UtteranceDetector, SilenceAloneIsNoUtterance) {
  UtteranceDetector d(UtteranceDetector::Options{});
  const Pcm quiet = Tone(16000, 100, 3.0, 200);
  std::vector<int16_t> u;
  EXPECT_FALSE(d.Push(quiet.samples.data(), quiet.samples.size(), &u));
}

}  // namespace
}  // namespace kite::voice
