// kite-voice's answer pipeline: a prompt goes to Kite (kite_generate, streaming), the text
// is split into sentences as it arrives, and each sentence is synthesised and handed to the
// audio outputs as soon as it is complete. Host only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "kite/kite.h"
#include "samples/voice_assistant/speaker.h"
#include "samples/voice_assistant/wav.h"

namespace kite::voice {

/// What to say: a prompt for the model, or fixed text spoken without the model.
struct Request {
  /// The model's input. For a chat model (`chat`), the user's message, formatted with the
  /// model's chat template (after `system` when not empty); otherwise the prompt text.
  std::string prompt;
  bool chat = false;
  std::string system;
  /// Completion models: speak the prompt before the model's continuation (a story's first
  /// words, which the continuation completes).
  bool speak_prompt = false;
  /// Nonzero-length: speak this text and skip the model (kite-voice's "help").
  std::string fixed_text;
};

/// Figures and results of one answer.
struct AnswerReport {
  std::string text;         ///< everything spoken
  int sentences = 0;        ///< sentences spoken
  bool cancelled = false;   ///< "stop" cut it short
  /// ms from `input_end` to the first sentence's audio being ready (handed to the outputs);
  /// < 0 when nothing was spoken.
  double first_audio_ms = -1;
  kite_generate_stats stats{};  ///< kite_generate's figures (zero for fixed text)
  double synth_ms = 0;      ///< time spent synthesising
  Pcm audio;                ///< all the speech, at the speaker's rate
};

/// Runs answers on one session. Used by one thread at a time, except Cancel().
class Answerer {
 public:
  /// Receives each sentence's audio as soon as it is synthesised (on the answering thread).
  using AudioSink = std::function<void(const Pcm&)>;

  /// `session` (of `model`) and `speaker` are borrowed and must outlive the Answerer.
  /// `options` are used for every generation (add_bos is managed here).
  Answerer(const kite_model* model, kite_session* session, Speaker* speaker,
           const kite_generate_options& options, AudioSink sink);

  /// Answers `request`: resets the session, generates and speaks. When generation stops
  /// at max_tokens, the unfinished last sentence is not spoken (unless nothing else was). `input_end` is when the
  /// user's input ended (for first_audio_ms). Returns false with *error set when Kite or
  /// the synthesiser fails (a cancel is no failure).
  bool Answer(const Request& request, std::chrono::steady_clock::time_point input_end,
              AnswerReport* report, std::string* error);

  /// Cancels the answer in progress (kite_session_cancel and the synthesis); a no-op when
  /// none runs. Thread-safe: kite-voice's capture thread calls it on "stop".
  void Cancel();

  /// True while Answer() runs. Thread-safe.
  bool busy() const { return busy_.load(); }

 private:
  // Synthesises one sentence and passes it on. False on a synthesis error.
  bool Speak(const std::string& sentence, AnswerReport* report, std::string* error);

  const kite_model* model_;
  kite_session* session_;
  Speaker* speaker_;
  kite_generate_options options_;
  AudioSink sink_;
  std::chrono::steady_clock::time_point input_end_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> cancel_{false};
};

}  // namespace kite::voice
