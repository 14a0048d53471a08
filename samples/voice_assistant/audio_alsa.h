// kite-voice's sound card: microphone capture and speaker playback through ALSA, 16-bit
// mono. Host only (Linux).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "samples/voice_assistant/wav.h"

// ALSA's PCM handle (its header stays out of kite-voice's headers).
struct _snd_pcm;

namespace kite::voice {

/// One open ALSA PCM device, for capture or playback. Used by one thread at a time.
class AlsaDevice {
 public:
  /// Opens `device` ("default", "plughw:1,0", ...) for capture (`capture`) or playback, as
  /// 16-bit mono at `sample_rate` Hz (ALSA's plug layer converts when the card cannot).
  /// Fails with Unavailable naming the device, ALSA's reason and how to list devices.
  static absl::StatusOr<std::unique_ptr<AlsaDevice>> Open(const std::string& device,
                                                          bool capture, int sample_rate);
  ~AlsaDevice();
  AlsaDevice(const AlsaDevice&) = delete;
  AlsaDevice& operator=(const AlsaDevice&) = delete;

  /// Capture: reads exactly `n` samples into `out` (blocking), recovering from overruns.
  absl::Status Read(int16_t* out, size_t n);

  /// Playback: queues `pcm` (at the device's rate) on the card, blocking while the card's
  /// 100 ms buffer is full (capture devices buffer 2 s). When `abort` is not null and
  /// becomes true, stops within about 50 ms and drops what the card still holds.
  absl::Status Play(const Pcm& pcm, const std::atomic<bool>* abort = nullptr);

  /// Playback: waits until everything queued has been heard.
  void Drain();

  /// The device's sample rate in Hz.
  int sample_rate() const { return rate_; }

 private:
  AlsaDevice() = default;
  // Reads (capture) or writes (playback) `n` samples at `data`, recovering from overruns
  // and underruns; stops early, dropping what the card holds, when *abort becomes true.
  absl::Status Transfer(int16_t* data, size_t n, const std::atomic<bool>* abort);

  _snd_pcm* pcm_ = nullptr;
  std::string name_;
  int rate_ = 0;
};

}  // namespace kite::voice
