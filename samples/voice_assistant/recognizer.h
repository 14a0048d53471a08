// kite-voice's speech recogniser: pocketsphinx (the 5prealpha API of Debian 12) decoding one
// utterance at a time, with a JSGF command grammar (exact on clear speech) or, in
// free-speech mode, the model's n-gram language model (often wrong). Host only.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "samples/voice_assistant/wav.h"

// pocketsphinx's decoder (its own header stays out of kite-voice's headers).
struct ps_decoder_s;
// sphinxbase's configuration.
struct cmd_ln_s;

namespace kite::voice {

/// Where Debian's pocketsphinx-en-us package puts the English model.
inline constexpr char kDefaultAsrModelDir[] = "/usr/share/pocketsphinx/model/en-us";

/// A pocketsphinx decoder. Not thread-safe: one thread at a time uses an object (kite-voice's
/// capture thread owns it in microphone mode).
class Recognizer {
 public:
  /// The recogniser's sample rate: audio given to Recognize() must be at this rate.
  static constexpr int kSampleRate = 16000;

  /// What to load.
  struct Options {
    /// Folder of the model: an acoustic model folder "en-us/", a pronouncing dictionary
    /// "cmudict-en-us.dict" and (free speech only) a language model "en-us.lm.bin".
    std::string model_dir = kDefaultAsrModelDir;
    /// The command grammar (JSGF text), used unless `free_speech`.
    std::string grammar;
    /// Decode with the language model instead of the grammar.
    bool free_speech = false;
  };

  /// Loads the model. A missing model file fails with NotFound naming it and the package
  /// that installs it; a grammar pocketsphinx refuses fails with InvalidArgument. The
  /// decoder logs nothing.
  static absl::StatusOr<std::unique_ptr<Recognizer>> Open(const Options& options);
  ~Recognizer();
  Recognizer(const Recognizer&) = delete;
  Recognizer& operator=(const Recognizer&) = delete;

  /// Decodes one utterance (`audio` at kSampleRate; Internal error otherwise), padded with
  /// 0.3 s of silence at both ends, and returns the words heard, lower-case, separated by
  /// single spaces ("" when nothing matched).
  absl::StatusOr<std::string> Recognize(const Pcm& audio);

 private:
  Recognizer() = default;
  ps_decoder_s* decoder_ = nullptr;
  cmd_ln_s* config_ = nullptr;
};

}  // namespace kite::voice
