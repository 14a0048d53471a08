#include "samples/voice_assistant/utterance_detector.h"

#include <algorithm>
#include <cmath>

namespace kite::voice {
namespace {
constexpr int kFrameMs = 20;
}  // namespace

UtteranceDetector::UtteranceDetector(const Options& options)
    : o_(options), frame_(static_cast<size_t>(std::max(1, options.sample_rate * kFrameMs / 1000))) {}

bool UtteranceDetector::Push(const int16_t* samples, size_t n, std::vector<int16_t>* utterance) {
  bool done = false;
  for (size_t i = 0; i < n; ++i) {
    frame_buf_.push_back(samples[i]);
    if (frame_buf_.size() == frame_) done = EndFrame(utterance) || done;
  }
  return done;
}

bool UtteranceDetector::EndFrame(std::vector<int16_t>* utterance) {
  double sum = 0;
  for (int16_t s : frame_buf_) sum += static_cast<double>(s) * s;
  const double rms = std::sqrt(sum / frame_buf_.size());
  // The floor follows quieter frames at once and louder ones slowly (about 1%/frame).
  noise_ = noise_ < 0 ? rms : rms < noise_ ? rms : noise_ * 1.01;
  const bool speech = rms > o_.min_level && rms > o_.noise_ratio * noise_;
  audio_.insert(audio_.end(), frame_buf_.begin(), frame_buf_.end());
  frame_buf_.clear();
  if (!in_speech_) {
    speech_run_ = speech ? speech_run_ + 1 : 0;
    const size_t keep = static_cast<size_t>(o_.sample_rate) *
                            (o_.preroll_ms + speech_run_ * kFrameMs) / 1000;
    if (audio_.size() > keep) audio_.erase(audio_.begin(), audio_.end() - keep);
    if (speech_run_ >= o_.start_frames) {
      in_speech_ = true;
      silence_ms_ = 0;
    }
    return false;
  }
  silence_ms_ = speech ? 0 : silence_ms_ + kFrameMs;
  const bool too_long =
      audio_.size() >= static_cast<size_t>(o_.sample_rate) * o_.max_ms / 1000;
  if (silence_ms_ < o_.end_ms && !too_long) return false;
  utterance->swap(audio_);
  audio_.clear();
  in_speech_ = false;
  speech_run_ = 0;
  return true;
}

}  // namespace kite::voice
