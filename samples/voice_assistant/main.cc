// kite-voice: a voice assistant on Kite. Speech in (a microphone through ALSA, WAV files,
// or typed lines), recognised by pocketsphinx against a command grammar, answered by a
// Kite model with streaming, each sentence spoken by espeak-ng as soon as it is complete
// (to a speaker through ALSA, or WAV files). See docs/voice-assistant.md.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/kite.h"
#include "samples/common/run_options.h"
#include "samples/voice_assistant/answerer.h"
#include "samples/voice_assistant/audio_alsa.h"
#include "samples/voice_assistant/commands.h"
#include "samples/voice_assistant/recognizer.h"
#include "samples/voice_assistant/speaker.h"
#include "samples/voice_assistant/utterance_detector.h"
#include "samples/voice_assistant/wav.h"
#include "tools/common/flags.h"
#include "tools/common/json.h"
#include "tools/common/output_file.h"

namespace kite::voice {
namespace {

using Clock = std::chrono::steady_clock;
constexpr char kProgram[] = "kite-voice";
// Tokens the default context keeps for the prompt (a chat template with a system message
// and a spoken question), besides --max-tokens for the answer.
constexpr long kPromptBudget = 256;

constexpr const char* kHeader = R"(kite-voice: a voice assistant on a Kite model, offline

usage: kite-voice -m MODEL.kite INPUT [OUTPUT] [options]
  INPUT:  --mic DEVICE | --wav-in FILE [--wav-in FILE ...] | --text
  OUTPUT: --speaker DEVICE and/or --wav-out PATTERN (neither: speech is synthesised,
          timed and dropped)

Each utterance is recognised against a grammar of commands:
  "tell me a story [about a NOUN]"  the model tells a story (see --prompt-template)
  "stop"                            stops the answer being spoken (barge-in with --mic)
  "again" / "say that again"        generates the last answer again
  "help"                            says what the commands are
  "goodbye"                         ends kite-voice
With --free-speech (or --text), anything else is passed to the model as it is.
Each sentence of the answer is spoken as soon as the model completes it. Per utterance
kite-voice prints what it heard, the time to first audio (from the end of the input to
the first sentence's audio being ready) and each stage's real-time factor.

)";

constexpr const char* kFooter = R"(
Prompts: for a completion model (no chat format, e.g. stories260K) a story command
becomes the prompt "Once upon a time, there was {a_noun}", spoken with the model's
continuation; other text is the prompt as it is, not spoken. For a chat model (e.g.
Qwen2.5-0.5B-Instruct) a story command becomes the user message "Tell me a short story
about {a_noun}.", other text the user message as it is, in the model's chat format; each
answer starts a new conversation.
Exit status: 0 success, 1 failure (a file, device or model that cannot be used), 2 bad
command line.

examples:
  kite-voice -m stories260K-q4.kite --wav-in story.wav --wav-out answer.wav --temp 0
  kite-voice -m qwen2.5-0.5b-instruct-q4.kite --mic plughw:1,0 --speaker plughw:1,0
  echo "tell me a story about a robot" | kite-voice -m stories260K-q4.kite --text \
      --wav-out 'answer-{n}.wav' --json
)";

struct Options {
  std::string model;
  std::string mic;
  std::vector<std::string> wav_in;
  bool text = false;
  std::string speaker;
  std::string wav_out;
  bool free_speech = false;
  std::string asr_model = kDefaultAsrModelDir;
  std::string voice = "en-us";
  int wpm = 175;
  std::string espeak_data;
  std::string prompt_template;  // "" : DefaultStoryTemplate
  std::string system;
  long ctx = 0;
  long threads = 0;
  bool json = false;
  /// Sampling and length, set by the flags directly (-n, --temp, --top-p, --seed).
  kite_generate_options gen = DefaultGeneration();

  static kite_generate_options DefaultGeneration() {
    kite_generate_options g;
    kite_generate_options_init(&g);
    g.max_tokens = 96;
    g.temperature = 0.8f;
    g.top_p = 0.9f;
    // --seed replaces it; by default each run samples differently.
    g.seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    return g;
  }
};

flags::FlagSpec MakeSpec(Options* o) {
  flags::FlagSpec spec;
  spec.program = kProgram;
  spec.help_column = 24;
  spec.header = kHeader;
  spec.footer = kFooter;
  spec.flags = {
      flags::String('m', "model", "PATH", &o->model, "model file (.kite), required"),
      flags::Heading("\ninput (exactly one):\n"),
      flags::String(0, "mic", "DEVICE", &o->mic,
                    "listen on an ALSA capture device (\"default\",\n"
                    "\"plughw:1,0\"; arecord -l lists them); \"stop\" said\n"
                    "while an answer is spoken cancels it"),
      flags::Custom(0, "wav-in", "FILE",
                    [o](const std::string&, const std::string& v) {
                      o->wav_in.push_back(v);
                      return std::string();
                    },
                    "a WAV file (16-bit PCM, mono or stereo, any rate) holding\n"
                    "one utterance; repeatable, taken in order"),
      flags::Switch(0, "text", &o->text,
                    "read utterances as text lines from stdin (no recognition)"),
      flags::Heading("\noutput:\n"),
      flags::String(0, "speaker", "DEVICE", &o->speaker,
                    "play on an ALSA playback device (\"default\", \"plughw:1,0\";\n"
                    "aplay -l lists them)"),
      flags::String(0, "wav-out", "PATTERN", &o->wav_out,
                    "write each answer's speech to a WAV file (22050 Hz mono):\n"
                    "\"{n}\" in PATTERN becomes the answer's number (1, 2, ...);\n"
                    "without it, answer 1 is PATTERN and answer n >= 2 gets\n"
                    "\"-n\" before the extension (answer.wav, answer-2.wav)"),
      flags::Switch(0, "json", &o->json,
                    "print one JSON object per utterance (heard, answer, timings)\n"
                    "instead of the text report"),
      flags::Heading("\nrecognition and speech:\n"),
      flags::Switch(0, "free-speech", &o->free_speech,
                    "recognise any English with the language model instead of\n"
                    "the command grammar (slower, often wrong)"),
      flags::String(0, "asr-model", "DIR", &o->asr_model,
                    std::string("pocketsphinx model folder (default ") + kDefaultAsrModelDir +
                        ")"),
      flags::String(0, "voice", "NAME", &o->voice, "espeak-ng voice (default en-us)"),
      flags::Int<int>(0, "rate", "WPM", &o->wpm, 80, 450,
                      "speaking rate in words per minute, 80..450 (default 175)"),
      flags::String(0, "espeak-data", "DIR", &o->espeak_data,
                    "folder holding espeak-ng-data/ (default: the library's)"),
      flags::Heading("\ngeneration:\n"),
      flags::String(0, "prompt-template", "TEXT", &o->prompt_template,
                    "the prompt of a story command; {a_noun} becomes \"a robot\",\n"
                    "{noun} \"robot\" (default: see below)"),
      flags::String(0, "system", "TEXT", &o->system,
                    "chat models: a system message before each question"),
      flags::Int<int32_t>('n', "max-tokens", "N", &o->gen.max_tokens, 1, 1 << 20,
                       "most tokens per answer (default 96)"),
      flags::Int<long>('c', "ctx", "N", &o->ctx, 16, 1 << 24,
                       "context length in tokens (default: 256 for the prompt plus\n"
                       "--max-tokens, at most the model's)"),
      flags::Int<long>('t', "threads", "N", &o->threads, 1, 256,
                       "threads (default: the online CPUs, at most 4)"),
      flags::Number<float>(0, "temp", "T", &o->gen.temperature, 0.0, 100.0, flags::Ends::kClosed,
                            "sampling temperature, 0 = greedy (default 0.8)"),
      flags::Number<float>(0, "top-p", "P", &o->gen.top_p, 0.0, 1.0, flags::Ends::kOpenLow,
                            "nucleus sampling mass in (0, 1] (default 0.9)"),
      flags::Int<uint64_t>(0, "seed", "S", &o->gen.seed, 0, ~uint64_t{0},
                                     "random seed (default: from the clock)"),
  };
  return spec;
}

// Parses the command line. Returns -1 to go on, else the exit status.
int Parse(int argc, char** argv, Options* o) {
  const flags::FlagSpec spec = MakeSpec(o);
  const flags::ParsedArgs parsed =
      flags::Parse(spec, std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.ok() && parsed.help) {
    std::fputs(flags::HelpText(spec).c_str(), stdout);
    return flags::kExitOk;
  }
  std::string error = parsed.error;
  const int inputs = (parsed.Given("mic") ? 1 : 0) + (o->wav_in.empty() ? 0 : 1) + (o->text ? 1 : 0);
  if (error.empty() && !parsed.positionals.empty()) {
    error = "unexpected argument '" + parsed.positionals[0] + "'";
  }
  if (error.empty() && o->model.empty()) error = "a model is required (-m MODEL.kite)";
  if (error.empty() && inputs != 1) {
    error = inputs == 0 ? "no input: give --mic DEVICE, --wav-in FILE or --text"
                        : "give one input: --mic, --wav-in or --text";
  }
  if (error.empty() && o->text && o->free_speech) {
    error = "--free-speech needs spoken input (--mic or --wav-in), not --text";
  }
  if (!error.empty()) {
    std::fputs(flags::UsageError(kProgram, error).c_str(), stderr);
    return flags::kExitUsage;
  }
  const std::string capped = flags::CapThreads("-t", &o->threads);
  if (!capped.empty()) std::fprintf(stderr, "%s: warning: %s\n", kProgram, capped.c_str());
  return -1;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", kProgram, message.c_str());
  return flags::kExitFailure;
}

// The file answer `n` (1-based) is written to (see --wav-out).
std::string OutputPath(const std::string& pattern, int n) {
  std::string out = pattern;
  const size_t at = out.find("{n}");
  if (at != std::string::npos) return out.replace(at, 3, std::to_string(n));
  if (n == 1) return out;
  const size_t slash = out.rfind('/');
  size_t dot = out.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) dot = out.size();
  return out.insert(dot, "-" + std::to_string(n));
}

// One utterance to handle: from a WAV file, the microphone or a text line.
struct Utterance {
  std::string source;        // the file, "mic" or "text"
  Clock::time_point end;     // when the input ended
  std::string heard;         // recognised (or typed) text
  double audio_s = -1;       // input audio duration (< 0: text)
  double recognize_ms = 0;
};

// Plays sentences on a speaker in order, on its own thread, so that generation goes on
// while earlier sentences are heard.
class Player {
 public:
  explicit Player(AlsaDevice* device) : device_(device), thread_([this] { Run(); }) {}
  ~Player() {
    {
      std::lock_guard<std::mutex> l(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Enqueue(const Pcm& pcm) {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back(pcm);
    idle_ = false;
    cv_.notify_all();
  }
  // Drops what is queued and stops what plays.
  void Abort() {
    std::lock_guard<std::mutex> l(mu_);
    queue_.clear();
    abort_ = true;
    // Sentences queued but not yet taken by the player thread are gone: nothing will set
    // idle_ after them (WaitIdle would wait forever).
    if (!playing_) idle_ = true;
    cv_.notify_all();
  }
  // True while sentences are queued or playing.
  bool Busy() {
    std::lock_guard<std::mutex> l(mu_);
    return !idle_;
  }
  // Waits until everything queued has been heard.
  void WaitIdle() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return idle_; });
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [this] { return quit_ || !queue_.empty(); });
      if (quit_) return;
      Pcm pcm = std::move(queue_.front());
      queue_.pop_front();
      abort_ = false;
      playing_ = true;
      l.unlock();
      absl::Status s = device_->Play(pcm, &abort_);
      if (!s.ok()) std::fprintf(stderr, "%s: %s\n", kProgram, std::string(s.message()).c_str());
      l.lock();
      playing_ = false;
      if (queue_.empty()) {
        l.unlock();
        if (!abort_.load()) device_->Drain();
        l.lock();
        if (queue_.empty()) {
          idle_ = true;
          cv_.notify_all();
        }
      }
    }
  }
  AlsaDevice* device_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pcm> queue_;
  std::atomic<bool> abort_{false};
  bool idle_ = true;
  bool playing_ = false;  // the player thread has taken a sentence and plays it
  bool quit_ = false;
  std::thread thread_;
};

// Utterances heard by the microphone thread, for the main thread.
class MicListener {
 public:
  MicListener(std::unique_ptr<AlsaDevice> mic, Recognizer* recognizer, Answerer* answerer,
              Player* player)
      : mic_(std::move(mic)), recognizer_(recognizer), answerer_(answerer), player_(player),
        thread_([this] { Run(); }) {}
  ~MicListener() {
    quit_ = true;
    thread_.join();
  }
  // True when reading the microphone failed (the reason was printed).
  bool failed() {
    std::lock_guard<std::mutex> l(mu_);
    return failed_;
  }
  // The next utterance (blocking); false when the microphone failed.
  bool Next(Utterance* u) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return !queue_.empty() || failed_; });
    if (queue_.empty()) return false;
    *u = std::move(queue_.front());
    queue_.pop_front();
    // The main thread acts on this utterance: a new answer may start, to which "stop"
    // applies again.
    stopped_ = false;
    return true;
  }

 private:
  void Run() {
    UtteranceDetector::Options dopt;
    dopt.sample_rate = Recognizer::kSampleRate;
    UtteranceDetector detector(dopt);
    std::vector<int16_t> frame(Recognizer::kSampleRate / 50), utterance;
    while (!quit_.load()) {
      absl::Status s = mic_->Read(frame.data(), frame.size());
      if (!s.ok()) {
        std::fprintf(stderr, "%s: %s\n", kProgram, std::string(s.message()).c_str());
        std::lock_guard<std::mutex> l(mu_);
        failed_ = true;
        cv_.notify_all();
        return;
      }
      if (!detector.Push(frame.data(), frame.size(), &utterance)) continue;
      Utterance u;
      u.source = "mic";
      u.end = Clock::now();
      Pcm pcm;
      pcm.sample_rate = Recognizer::kSampleRate;
      pcm.samples.swap(utterance);
      u.audio_s = pcm.seconds();
      absl::StatusOr<std::string> heard = recognizer_->Recognize(pcm);
      u.recognize_ms = std::chrono::duration<double, std::milli>(Clock::now() - u.end).count();
      if (!heard.ok()) continue;
      u.heard = *heard;
      // After a "stop" the answer is winding down (the main thread may not have run yet):
      // what is heard next is for the next turn, however long the old answer takes to end.
      const bool speaking = !stopped_.load() && (answerer_->busy() ||
                                                 (player_ != nullptr && player_->Busy()));
      if (speaking) {
        // While an answer is spoken only "stop" counts (the rest may be our own voice).
        if (ParseCommand(u.heard).kind == CommandKind::kStop) {
          stopped_ = true;
          answerer_->Cancel();
          if (player_ != nullptr) player_->Abort();
          std::fprintf(stderr, "[heard \"stop\" while speaking: cancelled]\n");
        }
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(u));
      cv_.notify_all();
    }
  }
  std::unique_ptr<AlsaDevice> mic_;
  Recognizer* recognizer_;
  Answerer* answerer_;
  Player* player_;
  std::atomic<bool> quit_{false};
  std::atomic<bool> stopped_{false};  // "stop" cancelled the answer being spoken
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Utterance> queue_;
  bool failed_ = false;
  std::thread thread_;
};

const char* KindName(CommandKind k) {
  switch (k) {
    case CommandKind::kNothing: return "nothing";
    case CommandKind::kStory: return "story";
    case CommandKind::kStop: return "stop";
    case CommandKind::kAgain: return "again";
    case CommandKind::kHelp: return "help";
    case CommandKind::kGoodbye: return "goodbye";
    case CommandKind::kText: return "text";
  }
  return "unknown";
}

// Prints one utterance's report (text, or one JSON line).
void Report(const Options& o, const Utterance& u, const Command& c, const Request* request,
            const AnswerReport* a, const std::string& wav_path, const std::string& note) {
  const double rec_rtf = u.audio_s > 0 ? u.recognize_ms / 1000.0 / u.audio_s : 0.0;
  const double tok_s = a != nullptr && a->stats.decode_ms > 0
                           ? a->stats.generated_tokens / (a->stats.decode_ms / 1000.0)
                           : 0.0;
  const double speech_s = a != nullptr ? a->audio.seconds() : 0.0;
  const double synth_rtf = speech_s > 0 ? a->synth_ms / 1000.0 / speech_s : 0.0;
  if (o.json) {
    using json::Value;
    Value j;
    j.Add("input", Value::String(u.source))
        .Add("heard", Value::String(u.heard))
        .Add("command", Value::String(KindName(c.kind)));
    if (u.audio_s >= 0) {
      Value r;
      r.Add("audio_s", Value::Decimals(u.audio_s, 3))
          .Add("ms", Value::Decimals(u.recognize_ms, 1))
          .Add("rtf", Value::Decimals(rec_rtf, 3));
      j.Add("recognition", std::move(r));
    }
    if (request != nullptr) j.Add("prompt", Value::String(request->prompt));
    if (a != nullptr) {
      Value g;
      g.Add("prompt_tokens", Value::Int(a->stats.prompt_tokens))
          .Add("tokens", Value::Int(a->stats.generated_tokens))
          .Add("prefill_ms", Value::Decimals(a->stats.prefill_ms, 1))
          .Add("decode_ms", Value::Decimals(a->stats.decode_ms, 1))
          .Add("tok_s", Value::Decimals(tok_s, 1))
          .Add("max_tokens_reached", Value::Bool(a->stats.stop_reason == KITE_STOP_MAX_TOKENS));
      Value s;
      s.Add("audio_s", Value::Decimals(speech_s, 3))
          .Add("ms", Value::Decimals(a->synth_ms, 1))
          .Add("rtf", Value::Decimals(synth_rtf, 3));
      j.Add("answer", Value::String(a->text))
          .Add("sentences", Value::Int(a->sentences))
          .Add("cancelled", Value::Bool(a->cancelled))
          .Add("time_to_first_audio_ms", a->first_audio_ms >= 0
                                             ? Value::Decimals(a->first_audio_ms, 1)
                                             : Value::Null())
          .Add("generation", std::move(g))
          .Add("synthesis", std::move(s));
      if (!wav_path.empty()) j.Add("wav_out", Value::String(wav_path));
    }
    if (!note.empty()) j.Add("note", Value::String(note));
    std::printf("%s\n", json::Write(j).c_str());
  } else {
    std::printf("heard: \"%s\"", u.heard.c_str());
    if (u.audio_s >= 0) {
      std::printf(" (%.2f s of audio, recognised in %.0f ms, RTF %.3f)", u.audio_s,
                  u.recognize_ms, rec_rtf);
    }
    std::printf("\n");
    if (!note.empty()) std::printf("  %s\n", note.c_str());
    if (a != nullptr) {
      std::printf("  answer: %s%s\n", a->text.c_str(), a->cancelled ? " [stopped]" : "");
      if (a->first_audio_ms >= 0) {
        std::printf("  time to first audio: %.0f ms\n", a->first_audio_ms);
      }
      if (request != nullptr && request->fixed_text.empty()) {
        std::printf("  generation: %u tokens at %.1f tok/s (prefill %u tokens in %.1f ms)\n",
                    a->stats.generated_tokens, tok_s, a->stats.prompt_tokens, a->stats.prefill_ms);
      }
      std::printf("  synthesis: %.2f s of speech in %.0f ms, RTF %.3f\n", speech_s, a->synth_ms,
                  synth_rtf);
      if (!wav_path.empty()) std::printf("  wrote %s\n", wav_path.c_str());
    }
  }
  std::fflush(stdout);
}

int Run(int argc, char** argv) {
  Options o;
  const int parse_status = Parse(argc, argv, &o);
  if (parse_status >= 0) return parse_status;
  tools::InstallTemporaryCleanupHandlers();

  // Inputs first: a bad file fails before anything is loaded.
  std::vector<Pcm> wavs;
  for (const std::string& path : o.wav_in) {
    absl::StatusOr<Pcm> pcm = ReadWavFile(path);
    if (!pcm.ok()) return Fail(std::string(pcm.status().message()));
    wavs.push_back(std::move(*pcm));
  }
  if (!o.wav_out.empty()) {
    const absl::Status s = tools::CheckOutputReplaceable(OutputPath(o.wav_out, 1));
    if (!s.ok()) return Fail(std::string(s.message()));
  }

  std::unique_ptr<Recognizer> recognizer;
  if (!o.text) {
    Recognizer::Options ro;
    ro.model_dir = o.asr_model;
    ro.grammar = CommandGrammar();
    ro.free_speech = o.free_speech;
    absl::StatusOr<std::unique_ptr<Recognizer>> r = Recognizer::Open(ro);
    if (!r.ok()) return Fail(std::string(r.status().message()));
    recognizer = std::move(*r);
  }
  Speaker::Options so;
  so.voice = o.voice;
  so.words_per_minute = o.wpm;
  so.data_dir = o.espeak_data;
  absl::StatusOr<std::unique_ptr<Speaker>> speaker = Speaker::Open(so);
  if (!speaker.ok()) return Fail(std::string(speaker.status().message()));

  std::unique_ptr<AlsaDevice> playback, mic;
  if (!o.speaker.empty()) {
    auto d = AlsaDevice::Open(o.speaker, false, (*speaker)->sample_rate());
    if (!d.ok()) return Fail(std::string(d.status().message()));
    playback = std::move(*d);
  }
  if (!o.mic.empty()) {
    auto d = AlsaDevice::Open(o.mic, true, Recognizer::kSampleRate);
    if (!d.ok()) return Fail(std::string(d.status().message()));
    mic = std::move(*d);
  }

  kite_model* model = nullptr;
  if (kite_model_open_file(o.model.c_str(), nullptr, &model) != KITE_OK) {
    return Fail(std::string("cannot open the model: ") + kite_last_error());
  }
  std::unique_ptr<kite_model, void (*)(kite_model*)> model_guard(model, kite_model_close);
  kite_model_info info;
  info.struct_size = sizeof(info);
  kite_model_get_info(model, &info);
  kite_session_options sopt;
  kite_session_options_init(&sopt);
  // Each answer starts a fresh context: room for the prompt and the answer is enough (a
  // smaller KV cache, which matters on a Pi).
  const uint32_t wanted = o.ctx > 0 ? static_cast<uint32_t>(o.ctx)
                                    : static_cast<uint32_t>(kPromptBudget + o.gen.max_tokens);
  sopt.max_context = std::min(wanted, info.max_seq_len);
  sopt.threads = static_cast<uint32_t>(o.threads > 0 ? o.threads : samples::DefaultThreads());
  kite_session* session = nullptr;
  if (kite_session_create(model, &sopt, nullptr, 0, &session) != KITE_OK) {
    return Fail(std::string("cannot create a session: ") + kite_last_error());
  }
  std::unique_ptr<kite_session, void (*)(kite_session*)> session_guard(session,
                                                                      kite_session_destroy);
  const bool chat = kite_model_chat_format(model) != KITE_CHAT_FORMAT_NONE;
  const std::string story_template =
      o.prompt_template.empty() ? DefaultStoryTemplate(chat) : o.prompt_template;

  std::unique_ptr<Player> player;
  if (playback) player = std::make_unique<Player>(playback.get());
  Answerer answerer(model, session, speaker->get(), o.gen, [&player](const Pcm& pcm) {
    if (player) player->Enqueue(pcm);
  });
  std::unique_ptr<MicListener> listener;
  if (mic) {
    listener = std::make_unique<MicListener>(std::move(mic), recognizer.get(), &answerer,
                                             player.get());
    std::fprintf(stderr, "[listening on %s; say \"tell me a story about a robot\", \"help\" "
                         "or \"goodbye\"]\n", o.mic.c_str());
  }

  // The next utterance, from whichever input is in use; false at the end of the input.
  size_t next_wav = 0;
  auto next = [&](Utterance* u) -> bool {
    *u = Utterance();
    if (listener) return listener->Next(u);
    if (o.text) {
      std::string line;
      int ch;
      while ((ch = std::getchar()) != EOF && ch != '\n') line.push_back(static_cast<char>(ch));
      if (ch == EOF && line.empty()) return false;
      u->source = "text";
      u->end = Clock::now();
      u->heard = line;
      return true;
    }
    if (next_wav == wavs.size()) return false;
    u->source = o.wav_in[next_wav];
    u->end = Clock::now();
    const Pcm pcm = Resample(wavs[next_wav++], Recognizer::kSampleRate);
    u->audio_s = pcm.seconds();
    absl::StatusOr<std::string> heard = recognizer->Recognize(pcm);
    u->recognize_ms = std::chrono::duration<double, std::milli>(Clock::now() - u->end).count();
    if (!heard.ok()) {
      std::fprintf(stderr, "%s: %s: %s\n", kProgram, u->source.c_str(),
                   std::string(heard.status().message()).c_str());
    } else {
      u->heard = *heard;
    }
    return true;
  };

  int answers = 0;
  bool have_last = false;
  Request last;
  Utterance u;
  while (next(&u)) {
    const Command c = ParseCommand(u.heard);
    Request request;
    switch (c.kind) {
      case CommandKind::kNothing:
        Report(o, u, c, nullptr, nullptr, "", "nothing recognised");
        continue;
      case CommandKind::kStop:
        Report(o, u, c, nullptr, nullptr, "", "nothing to stop");
        continue;
      case CommandKind::kGoodbye:
        Report(o, u, c, nullptr, nullptr, "", "goodbye");
        if (player) player->WaitIdle();
        return flags::kExitOk;
      case CommandKind::kAgain:
        if (!have_last) {
          Report(o, u, c, nullptr, nullptr, "", "nothing to say again yet");
          continue;
        }
        request = last;
        break;
      case CommandKind::kHelp:
        request.fixed_text = "Say: tell me a story about a robot, or a tiger, or a princess. "
                             "Say stop to stop me, again to hear a new telling, and goodbye "
                             "to end.";
        break;
      case CommandKind::kStory:
        request.prompt = StoryPrompt(story_template, c.a_noun);
        request.chat = chat;
        request.speak_prompt = !chat;
        request.system = o.system;
        break;
      case CommandKind::kText:
        request.prompt = c.text;
        request.chat = chat;
        request.system = o.system;
        break;
    }
    if (request.fixed_text.empty()) {
      last = request;
      have_last = true;
    }
    AnswerReport a;
    std::string error;
    if (!answerer.Answer(request, u.end, &a, &error)) return Fail(error);
    std::string wav_path;
    ++answers;
    if (!o.wav_out.empty()) {
      wav_path = OutputPath(o.wav_out, answers);
      const absl::Status s = WriteWavFile(wav_path, a.audio);
      if (!s.ok()) return Fail(std::string(s.message()));
    }
    Report(o, u, c, &request, &a, wav_path, "");
    if (player) player->WaitIdle();
  }
  return listener && listener->failed() ? flags::kExitFailure : flags::kExitOk;
}

}  // namespace
}  // namespace kite::voice

int main(int argc, char** argv) { return kite::voice::Run(argc, argv); }
