// kite-voice end to end, offline: espeak-ng (the library, through kite-voice's Speaker)
// speaks three commands into WAV files; kite-voice --wav-in hears each exactly, answers with
// the stories260K 4-bit model and writes one WAV of speech per answer, whose duration must
// be plausible for the text spoken. Time to first audio is printed, not asserted. Also:
// bad input (a corrupt or wrong-format WAV, a missing recogniser model) gives one clear
// message and exit status 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "samples/voice_assistant/answerer.h"
#include "samples/voice_assistant/speaker.h"
#include "samples/voice_assistant/wav.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace kite::voice {
namespace {

const std::string& Scratch() {
  static const std::string dir = test::MakeScratchDir("voice_loop");
  return dir;
}

// The process's one espeak-ng synthesiser (default voice and rate), or null.
Speaker* TheSpeaker() {
  static std::unique_ptr<Speaker> speaker = [] {
    absl::StatusOr<std::unique_ptr<Speaker>> s = Speaker::Open(Speaker::Options{});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }();
  return speaker.get();
}

// Speaks `text` into `path` (22050 Hz mono).
void SpeakToWav(const std::string& text, const std::string& path) {
  Speaker* speaker = TheSpeaker();
  ASSERT_NE(speaker, nullptr);
  absl::StatusOr<Pcm> pcm = speaker->Synthesize(text);
  ASSERT_TRUE(pcm.ok()) << pcm.status();
  ASSERT_TRUE(WriteWavFile(path, *pcm).ok());
}

std::vector<json::Value> JsonLines(const std::string& out) {
  std::vector<json::Value> lines;
  size_t at = 0;
  while (at < out.size()) {
    size_t end = out.find('\n', at);
    if (end == std::string::npos) end = out.size();
    if (end > at) lines.push_back(test::ParseJson(out.substr(at, end - at)));
    at = end + 1;
  }
  return lines;
}

TEST(VoiceLoop, HearsThreeCommandsExactlyAndSpeaksTheAnswers) {
  const std::vector<std::string> commands = {"tell me a story about a robot",
                                             "tell me a story about an owl", "again"};
  std::vector<std::string> args = {"-m", test::TestModel("stories260K-q4.kite"), "--temp", "0",
                                   "-n", "48", "--json", "--wav-out",
                                   Scratch() + "/answer-{n}.wav"};
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string wav = Scratch() + "/command-" + std::to_string(i + 1) + ".wav";
    SpeakToWav(commands[i], wav);
    args.push_back("--wav-in");
    args.push_back(wav);
  }
  const test::ToolRun run = test::RunTool(KITE_VOICE_BIN, args, Scratch());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<json::Value> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), commands.size()) << run.out;
  for (size_t i = 0; i < commands.size(); ++i) {
    const json::Value& j = lines[i];
    std::string heard, answer, wav_out;
    ASSERT_TRUE(test::JsonString(j, "heard", &heard)) << run.out;
    EXPECT_EQ(heard, commands[i]);
    ASSERT_TRUE(test::JsonString(j, "answer", &answer)) << run.out;
    ASSERT_TRUE(test::JsonString(j, "wav_out", &wav_out)) << run.out;
    EXPECT_EQ(wav_out, Scratch() + "/answer-" + std::to_string(i + 1) + ".wav");
    absl::StatusOr<Pcm> speech = ReadWavFile(wav_out);
    ASSERT_TRUE(speech.ok()) << speech.status();
    ASSERT_FALSE(answer.empty());
    // espeak-ng at 175 words per minute says about 15 characters per second.
    const double per_char = speech->seconds() / answer.size();
    EXPECT_GT(per_char, 0.03) << answer << " in " << speech->seconds() << " s";
    EXPECT_LT(per_char, 0.2) << answer << " in " << speech->seconds() << " s";
    EXPECT_NEAR(speech->seconds(), test::JsonNumber(*j.Find("synthesis"), "audio_s"), 0.01);
    const json::Value* first = j.Find("time_to_first_audio_ms");
    ASSERT_NE(first, nullptr);
    EXPECT_TRUE(first->is_number());
    std::printf("[voice] \"%s\": time to first audio %.1f ms, recognition RTF %.3f, %.0f tok/s, "
                "synthesis RTF %.4f, %.2f s of speech\n",
                heard.c_str(), first->number(),
                test::JsonNumber(*j.Find("recognition"), "rtf"),
                test::JsonNumber(*j.Find("generation"), "tok_s"),
                test::JsonNumber(*j.Find("synthesis"), "rtf"), speech->seconds());
  }
  // The story starts with the prompt; "again" tells the owl's story again (greedy: the same).
  std::string first_answer, third_answer;
  test::JsonString(lines[0], "answer", &first_answer);
  test::JsonString(lines[2], "answer", &third_answer);
  EXPECT_EQ(first_answer.rfind("Once upon a time, there was a robot", 0), 0u) << first_answer;
  std::string second_answer;
  test::JsonString(lines[1], "answer", &second_answer);
  EXPECT_EQ(third_answer, second_answer);
}

// Barge-in without a microphone: another thread cancels (as kite-voice's capture thread does
// on "stop") once the first sentence is spoken; generation ends at once, nothing more is
// spoken, and the next answer runs normally.
TEST(VoiceLoop, CancelFromAnotherThreadStopsTheAnswer) {
  kite_model* model = nullptr;
  ASSERT_EQ(kite_model_open_file(test::TestModel("stories260K-q4.kite").c_str(), nullptr, &model),
            KITE_OK);
  kite_session* session = nullptr;
  ASSERT_EQ(kite_session_create(model, nullptr, nullptr, 0, &session), KITE_OK);
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = 200;
  Answerer* self = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  int heard = 0;
  bool cancelled = false;
  bool cancel_on_first = true;
  std::thread canceller;
  Answerer answerer(model, session, TheSpeaker(), go, [&](const Pcm&) {
    std::unique_lock<std::mutex> l(mu);
    if (++heard == 1 && cancel_on_first) {
      canceller = std::thread([&] {
        self->Cancel();
        std::lock_guard<std::mutex> g(mu);
        cancelled = true;
        cv.notify_all();
      });
      cv.wait(l, [&] { return cancelled; });
    }
  });
  self = &answerer;
  Request request;
  request.prompt = "Once upon a time, there was a robot";
  request.speak_prompt = true;
  AnswerReport report;
  std::string error;
  ASSERT_TRUE(answerer.Answer(request, std::chrono::steady_clock::now(), &report, &error)) << error;
  canceller.join();
  EXPECT_TRUE(report.cancelled);
  EXPECT_EQ(report.sentences, 1);
  EXPECT_EQ(heard, 1);
  EXPECT_EQ(report.stats.stop_reason, KITE_STOP_CANCELLED);
  EXPECT_LT(report.stats.generated_tokens, 200u);
  EXPECT_FALSE(answerer.busy());

  cancel_on_first = false;
  heard = 0;
  ASSERT_TRUE(answerer.Answer(request, std::chrono::steady_clock::now(), &report, &error)) << error;
  EXPECT_FALSE(report.cancelled);
  EXPECT_GT(report.sentences, 1);
  EXPECT_EQ(heard, report.sentences);
  kite_session_destroy(session);
  kite_model_close(model);
}

// Microphone mode without a sound card: ALSA's "file" plugin (over the "null" device) reads
// the capture stream from a raw file, as fast as kite-voice asks. The stream holds a
// command, "stop" (which arrives while the long answer is still being generated: barge-in
// cancels it) and "goodbye" (which ends kite-voice with status 0).
TEST(VoiceLoop, MicrophoneModeHearsACommandAndStopCancelsIt) {
  const std::string dir = Scratch() + "/mic";
  ASSERT_EQ(system(("mkdir -p " + test::ShellQuote(dir)).c_str()), 0);
  Speaker* speaker = TheSpeaker();
  ASSERT_NE(speaker, nullptr);
  std::string raw;
  auto append = [&raw](const Pcm& pcm) {
    const Pcm p = Resample(pcm, 16000);
    raw.append(reinterpret_cast<const char*>(p.samples.data()), p.samples.size() * 2);
  };
  auto silence = [&append](double seconds) {
    Pcm p;
    p.samples.assign(static_cast<size_t>(seconds * p.sample_rate), 0);
    append(p);
  };
  silence(1);
  for (const char* said : {"tell me a story about a robot", "stop", "goodbye"}) {
    absl::StatusOr<Pcm> pcm = speaker->Synthesize(said);
    ASSERT_TRUE(pcm.ok()) << pcm.status();
    append(*pcm);
    silence(3);
  }
  silence(6);
  {
    std::FILE* f = std::fopen((dir + "/mic.raw").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(raw.data(), 1, raw.size(), f);
    std::fclose(f);
    f = std::fopen((dir + "/.asoundrc").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "pcm.kitevoicetest {\n  type file\n  slave.pcm \"null\"\n  file \"/dev/null\"\n"
                    "  infile \"%s/mic.raw\"\n  format \"raw\"\n}\n", dir.c_str());
    std::fclose(f);
  }
  // ALSA reads ~/.asoundrc: the child gets this folder as its HOME.
  const char* home = std::getenv("HOME");
  const std::string saved = home != nullptr ? home : "";
  setenv("HOME", dir.c_str(), 1);
  const test::ToolRun run = test::RunTool(
      "timeout", {"60", KITE_VOICE_BIN, "-m", test::TestModel("stories260K-q4.kite"), "--mic",
                  "kitevoicetest", "--speaker", "null", "--temp", "0", "-n", "400", "--json"},
      dir);
  if (home != nullptr) setenv("HOME", saved.c_str(), 1);
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const std::vector<json::Value> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 2u) << run.out;
  std::string heard;
  ASSERT_TRUE(test::JsonString(lines[0], "heard", &heard));
  EXPECT_EQ(heard, "tell me a story about a robot");
  ASSERT_NE(lines[0].Find("cancelled"), nullptr) << run.out;
  EXPECT_TRUE(lines[0].Find("cancelled")->boolean()) << run.out;
  EXPECT_LT(test::JsonNumber(*lines[0].Find("generation"), "tokens"), 400) << run.out;
  EXPECT_NE(run.err.find("heard \"stop\" while speaking: cancelled"), std::string::npos) << run.err;
  ASSERT_TRUE(test::JsonString(lines[1], "heard", &heard));
  EXPECT_EQ(heard, "goodbye");
}

TEST(VoiceLoop, BadInputGivesOneClearMessage) {
  const std::string model = test::TestModel("stories260K-q4.kite");
  const std::string corrupt = Scratch() + "/corrupt.wav";
  const std::string eight_bit = Scratch() + "/eight-bit.wav";
  const std::string good = Scratch() + "/good.wav";
  SpeakToWav("stop", good);
  std::string bytes = test::ReadText(good);
  {
    std::FILE* f = std::fopen(corrupt.c_str(), "wb");
    std::fwrite("RIFF\x10\0\0\0WAVEjunk", 1, 16, f);
    std::fclose(f);
    bytes[34] = 8;  // bits per sample
    f = std::fopen(eight_bit.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"--wav-in", corrupt}, "corrupt.wav' has no fmt chunk"},
      {{"--wav-in", eight_bit}, "eight-bit.wav' is 8-bit PCM; kite-voice reads 16-bit PCM"},
      {{"--wav-in", Scratch() + "/missing.wav"}, "missing.wav"},
      {{"--wav-in", good, "--asr-model", Scratch() + "/no-model"},
       "the speech recognition model folder '" + Scratch() + "/no-model' does not exist"},
      {{"--wav-in", good, "--mic", "hw:99,0"}, "give one input"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"-m", model};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const test::ToolRun run = test::RunTool(KITE_VOICE_BIN, args, Scratch());
    EXPECT_NE(run.exit_code, 0) << c.want;
    EXPECT_NE(run.exit_code, -1) << "crashed: " << run.err;
    EXPECT_NE(run.err.find(c.want), std::string::npos) << run.err;
    // One message (plus the usage hint for a bad command line), never a stack of them.
    EXPECT_LE(std::count(run.err.begin(), run.err.end(), '\n'), 2) << run.err;
  }
  // No sound card here (or a card without that device): a clear message naming it.
  const test::ToolRun mic = test::RunTool(KITE_VOICE_BIN, {"-m", model, "--mic", "hw:99,0"},
                                          Scratch());
  EXPECT_EQ(mic.exit_code, 1);
  EXPECT_NE(mic.err.find("cannot open the ALSA microphone (capture) device 'hw:99,0'"),
            std::string::npos)
      << mic.err;
}

}  // namespace
}  // namespace kite::voice
