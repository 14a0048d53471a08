#include "samples/voice_assistant/speaker.h"

#include <espeak-ng/speak_lib.h>

#include "absl/strings/str_cat.h"

namespace kite::voice {
namespace {

// True while a Speaker lives (espeak-ng's state is global).
std::atomic<bool> g_open{false};

// Where one Synthesize call collects its samples (espeak-ng's user_data).
struct Collector {
  Pcm* pcm;
  const std::atomic<bool>* abort;
};

int OnSamples(short* wav, int n, espeak_EVENT* events) {
  Collector* c = events != nullptr ? static_cast<Collector*>(events->user_data) : nullptr;
  if (c == nullptr) return 0;
  if (wav != nullptr && n > 0) c->pcm->samples.insert(c->pcm->samples.end(), wav, wav + n);
  return c->abort != nullptr && c->abort->load() ? 1 : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Speaker>> Speaker::Open(const Options& options) {
  if (g_open.exchange(true)) {
    return absl::FailedPreconditionError("espeak-ng is already in use (one Speaker per process)");
  }
  std::unique_ptr<Speaker> s(new Speaker());  // its destructor ends espeak-ng on failure
  const int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                     options.data_dir.empty() ? nullptr : options.data_dir.c_str(),
                                     espeakINITIALIZE_DONT_EXIT);
  if (rate <= 0) {
    return absl::NotFoundError(absl::StrCat(
        "espeak-ng could not load its data from ",
        options.data_dir.empty() ? std::string("its default folder")
                                 : "'" + options.data_dir + "/espeak-ng-data'",
        " (Debian: the espeak-ng-data package)"));
  }
  s->sample_rate_ = rate;
  espeak_SetSynthCallback(OnSamples);
  if (espeak_SetVoiceByName(options.voice.c_str()) != EE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("espeak-ng has no voice '", options.voice, "' (espeak-ng --voices lists them)"));
  }
  espeak_SetParameter(espeakRATE, options.words_per_minute, 0);
  return s;
}

Speaker::~Speaker() {
  espeak_Terminate();
  g_open = false;
}

absl::StatusOr<Pcm> Speaker::Synthesize(const std::string& text, const std::atomic<bool>* abort) {
  Pcm pcm;
  pcm.sample_rate = sample_rate_;
  Collector c{&pcm, abort};
  const espeak_ERROR e = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0,
                                      espeakCHARS_UTF8, nullptr, &c);
  if (e != EE_OK) {
    return absl::InternalError(absl::StrCat("espeak-ng could not speak the text (error ", e, ")"));
  }
  return pcm;
}

}  // namespace kite::voice
