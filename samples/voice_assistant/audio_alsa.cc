#include "samples/voice_assistant/audio_alsa.h"

#include <alsa/asoundlib.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kite::voice {
namespace {

// ALSA's library prints its own diagnostics on stderr; kite-voice's messages say it once.
void QuietAlsa(const char*, int, const char*, int, const char*, ...) {}

}  // namespace

absl::StatusOr<std::unique_ptr<AlsaDevice>> AlsaDevice::Open(const std::string& device,
                                                             bool capture, int sample_rate) {
  snd_lib_error_set_handler(QuietAlsa);
  std::unique_ptr<AlsaDevice> d(new AlsaDevice());
  d->name_ = device;
  d->rate_ = sample_rate;
  const char* what = capture ? "microphone (capture)" : "speaker (playback)";
  const char* hint = capture ? "arecord -l lists the capture devices" : "aplay -l lists the playback devices";
  int rc = snd_pcm_open(&d->pcm_, device.c_str(),
                        capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK, 0);
  if (rc < 0) {
    d->pcm_ = nullptr;
    return absl::UnavailableError(absl::StrCat("cannot open the ALSA ", what, " device '", device,
                                               "': ", snd_strerror(rc), " (", hint, ")"));
  }
  // Playback: a 100 ms buffer, short enough for barge-in to silence it soon. Capture: 2 s,
  // so that the audio keeps coming in while the capture thread recognises an utterance
  // (a buffer only adds delay when the reader falls behind).
  rc = snd_pcm_set_params(d->pcm_, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 1,
                          static_cast<unsigned>(sample_rate), 1, capture ? 2000000 : 100000);
  if (rc < 0) {
    return absl::UnavailableError(absl::StrCat("the ALSA ", what, " device '", device,
                                               "' refuses 16-bit mono at ", sample_rate, " Hz: ",
                                               snd_strerror(rc), " (try plughw:CARD,DEV; ", hint,
                                               ")"));
  }
  return d;
}

AlsaDevice::~AlsaDevice() {
  if (pcm_ != nullptr) snd_pcm_close(pcm_);
}

absl::Status AlsaDevice::Transfer(int16_t* data, size_t n, const std::atomic<bool>* abort) {
  const bool capture = snd_pcm_stream(pcm_) == SND_PCM_STREAM_CAPTURE;
  // Playback goes in 50 ms steps, so that an abort is seen soon.
  const size_t step = capture ? n : static_cast<size_t>(rate_) / 20;
  for (size_t at = 0; at < n;) {
    if (abort != nullptr && abort->load()) {
      snd_pcm_drop(pcm_);
      snd_pcm_prepare(pcm_);
      return absl::OkStatus();
    }
    const size_t len = std::min(step, n - at);
    const snd_pcm_sframes_t r =
        capture ? snd_pcm_readi(pcm_, data + at, len) : snd_pcm_writei(pcm_, data + at, len);
    if (r >= 0) {
      at += static_cast<size_t>(r);
    } else if (snd_pcm_recover(pcm_, static_cast<int>(r), 1) < 0) {
      // An overrun or underrun is recovered from; anything else ends the transfer.
      return absl::UnavailableError(absl::StrCat(capture ? "reading" : "playing on",
                                                 " the ALSA device '", name_, "' failed: ",
                                                 snd_strerror(static_cast<int>(r))));
    }
  }
  return absl::OkStatus();
}

absl::Status AlsaDevice::Read(int16_t* out, size_t n) { return Transfer(out, n, nullptr); }

absl::Status AlsaDevice::Play(const Pcm& pcm, const std::atomic<bool>* abort) {
  // Playback only reads the samples (snd_pcm_writei takes a const pointer).
  return Transfer(const_cast<int16_t*>(pcm.samples.data()), pcm.samples.size(), abort);
}

void AlsaDevice::Drain() {
  snd_pcm_drain(pcm_);
  snd_pcm_prepare(pcm_);
}

}  // namespace kite::voice
