// Energy-based end-of-utterance detection for kite-voice's microphone: cuts a stream of
// samples into utterances (speech between pauses). Pure; one object per stream, used by one
// thread at a time. Host only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kite::voice {

/// The detector. Audio is judged in 20 ms frames: a frame is speech when its RMS level is
/// above both `min_level` and `noise_ratio` times the noise floor (the quietest recent
/// frames, tracked slowly). An utterance starts after `start_frames` speech frames in a
/// row (with `preroll_ms` of audio before them kept) and ends after `end_ms` without
/// speech, or at `max_ms`.
class UtteranceDetector {
 public:
  /// Tuning; the defaults suit a USB microphone in a quiet room.
  struct Options {
    int sample_rate = 16000;   ///< samples per second of the stream
    double min_level = 300;    ///< RMS (of 32767) below which a frame is never speech
    double noise_ratio = 3.0;  ///< speech is this many times louder than the noise floor
    int start_frames = 3;      ///< speech frames in a row that start an utterance
    int preroll_ms = 200;      ///< audio kept from before the start
    int end_ms = 700;          ///< silence that ends an utterance
    int max_ms = 10000;        ///< longest utterance
  };

  explicit UtteranceDetector(const Options& options);

  /// Appends `n` samples. Returns true when they complete an utterance, which is moved to
  /// *utterance (later samples of this call start the next one); false otherwise.
  bool Push(const int16_t* samples, size_t n, std::vector<int16_t>* utterance);

  /// True while an utterance has started and not yet ended.
  bool in_speech() const { return in_speech_; }

 private:
  bool EndFrame(std::vector<int16_t>* utterance);

  Options o_;
  size_t frame_;         // samples per frame
  std::vector<int16_t> frame_buf_;
  std::vector<int16_t> audio_;  // pre-roll while waiting, the utterance while in speech
  double noise_ = -1;    // noise floor (RMS); < 0 until the first frame
  int speech_run_ = 0;   // speech frames in a row
  int silence_ms_ = 0;   // silence since the last speech frame, while in speech
  bool in_speech_ = false;
};

}  // namespace kite::voice
