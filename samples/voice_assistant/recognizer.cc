#include "samples/voice_assistant/recognizer.h"

#include <sys/stat.h>

#include <pocketsphinx.h>
#include <sphinxbase/fsg_model.h>
#include <sphinxbase/jsgf.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kite::voice {
namespace {

// Silence added before and after each utterance: the decoder needs a little on both sides
// to place the word boundaries (without it, first and last words are often lost).
constexpr double kPadSeconds = 0.3;
// The search names the decoder knows.
constexpr char kGrammarSearch[] = "commands";
constexpr char kLmSearch[] = "free";

bool Exists(const std::string& path, bool directory) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  return directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Recognizer>> Recognizer::Open(const Options& options) {
  const std::string hmm = options.model_dir + "/en-us";
  const std::string dict = options.model_dir + "/cmudict-en-us.dict";
  const std::string lm = options.model_dir + "/en-us.lm.bin";
  const char* package = " (Debian: the pocketsphinx-en-us package; or pass --asr-model DIR)";
  if (!Exists(options.model_dir, true)) {
    return absl::NotFoundError(absl::StrCat("the speech recognition model folder '",
                                            options.model_dir, "' does not exist", package));
  }
  if (!Exists(hmm + "/mdef", false)) {
    return absl::NotFoundError(
        absl::StrCat("the acoustic model '", hmm, "/mdef' does not exist", package));
  }
  if (!Exists(dict, false)) {
    return absl::NotFoundError(
        absl::StrCat("the pronouncing dictionary '", dict, "' does not exist", package));
  }
  if (options.free_speech && !Exists(lm, false)) {
    return absl::NotFoundError(
        absl::StrCat("the language model '", lm, "' (for --free-speech) does not exist", package));
  }
  std::unique_ptr<Recognizer> r(new Recognizer());
  r->config_ = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-dict", dict.c_str(),
                           "-logfn", "/dev/null",
                           // Normalise each utterance on its own (live CMN carries the
                           // previous utterances' means over: results would depend on them).
                           "-cmn", "current", nullptr);
  if (r->config_ == nullptr) {
    return absl::InternalError("pocketsphinx refused its configuration");
  }
  r->decoder_ = ps_init(r->config_);
  if (r->decoder_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pocketsphinx could not load the model in '", options.model_dir, "'", package));
  }
  if (options.free_speech) {
    if (ps_set_lm_file(r->decoder_, kLmSearch, lm.c_str()) != 0 ||
        ps_set_search(r->decoder_, kLmSearch) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("pocketsphinx could not load the language model '", lm, "'"));
    }
  } else {
    // What ps_set_jsgf_string does, but freeing the parsed grammar, which this version of
    // it leaks.
    jsgf_t* jsgf = jsgf_parse_string(options.grammar.c_str(), nullptr);
    jsgf_rule_t* rule = jsgf != nullptr ? jsgf_get_public_rule(jsgf) : nullptr;
    fsg_model_t* fsg =
        rule != nullptr ? jsgf_build_fsg(jsgf, rule, ps_get_logmath(r->decoder_),
                                         static_cast<float32>(cmd_ln_float_r(r->config_, "-lw")))
                        : nullptr;
    const bool set = fsg != nullptr && ps_set_fsg(r->decoder_, kGrammarSearch, fsg) == 0 &&
                     ps_set_search(r->decoder_, kGrammarSearch) == 0;
    if (fsg != nullptr) fsg_model_free(fsg);
    if (jsgf != nullptr) jsgf_grammar_free(jsgf);
    if (!set) {
      return absl::InvalidArgumentError(
          "pocketsphinx refused the command grammar (a word missing from the dictionary?)");
    }
  }
  return r;
}

Recognizer::~Recognizer() {
  if (decoder_ != nullptr) ps_free(decoder_);
  if (config_ != nullptr) cmd_ln_free_r(config_);
}

absl::StatusOr<std::string> Recognizer::Recognize(const Pcm& audio) {
  if (audio.sample_rate != kSampleRate) {
    return absl::InternalError(absl::StrCat("the recogniser takes ", kSampleRate,
                                            " Hz audio, not ", audio.sample_rate, " Hz"));
  }
  const size_t pad = static_cast<size_t>(kPadSeconds * kSampleRate);
  std::vector<int16_t> padded(pad + audio.samples.size() + pad, 0);
  std::copy(audio.samples.begin(), audio.samples.end(), padded.begin() + pad);
  // Digital silence (the padding, and a synthesiser's pauses) has no energy at all, which
  // throws the per-utterance normalisation off: the words come back wrong. A fixed
  // +-1 LSB dither (a fixed sequence, so results stay reproducible) gives it a floor.
  uint32_t noise = 12345;
  for (int16_t& s : padded) {
    noise = noise * 1664525u + 1013904223u;
    const int d = static_cast<int>(noise >> 30) - 1;  // -1, 0, 1 or 2
    s = static_cast<int16_t>(std::clamp(s + (d > 1 ? 0 : d), -32768, 32767));
  }
  if (ps_start_utt(decoder_) < 0) return absl::InternalError("pocketsphinx: cannot start");
  // The whole utterance at once (full_utt): per-utterance normalisation needs all of it.
  const bool ok = ps_process_raw(decoder_, padded.data(), padded.size(), FALSE, TRUE) >= 0;
  ps_end_utt(decoder_);
  if (!ok) return absl::InternalError("pocketsphinx could not process the audio");
  int32 score = 0;
  const char* hyp = ps_get_hyp(decoder_, &score);
  // Collapse the hypothesis' spacing into single spaces.
  std::string text;
  for (const char* p = hyp != nullptr ? hyp : ""; *p != '\0'; ++p) {
    if (*p == ' ') {
      if (!text.empty() && text.back() != ' ') text.push_back(' ');
    } else {
      text.push_back(*p);
    }
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace kite::voice
