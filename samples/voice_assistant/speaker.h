// kite-voice's speech synthesis: libespeak-ng speaking text into a PCM buffer (its
// synchronous mode: no audio device is touched). Host only.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "samples/voice_assistant/wav.h"

namespace kite::voice {

/// The synthesiser. espeak-ng keeps global state, so a process has at most one Speaker
/// (Open fails for a second one while the first lives); it is used by one thread at a time.
class Speaker {
 public:
  /// What to load.
  struct Options {
    std::string voice = "en-us";  ///< an espeak-ng voice name ("en-us", "en-gb", "de", ...)
    int words_per_minute = 175;   ///< speaking rate, 80..450
    /// The folder that holds espeak-ng-data/, or "" for the library's default
    /// (/usr/lib/x86_64-linux-gnu/espeak-ng-data on Debian, from espeak-ng-data).
    std::string data_dir;
  };

  /// Initialises espeak-ng. Missing data fails with NotFound naming the folder and the
  /// package; an unknown voice with InvalidArgument naming it.
  static absl::StatusOr<std::unique_ptr<Speaker>> Open(const Options& options);
  ~Speaker();
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  /// Output sample rate in Hz (22050 for espeak-ng's voices).
  int sample_rate() const { return sample_rate_; }

  /// Speaks `text` (UTF-8) into a new buffer at sample_rate(). When `abort` is not null and
  /// becomes true while speaking, synthesis stops early and the buffer holds what was made.
  absl::StatusOr<Pcm> Synthesize(const std::string& text, const std::atomic<bool>* abort = nullptr);

 private:
  Speaker() = default;
  int sample_rate_ = 0;
};

}  // namespace kite::voice
