#include "samples/voice_assistant/answerer.h"

#include <vector>

#include "samples/voice_assistant/sentences.h"

namespace kite::voice {
namespace {

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// kite_generate's token callback state.
struct Stream {
  Answerer* answerer;
  SentenceSplitter splitter;
  std::vector<std::string> ready;
  std::function<bool(const std::string&)> speak;  // false: stop generating
  bool failed = false;
};

int OnToken(const char* piece, int32_t, void* user) {
  Stream* s = static_cast<Stream*>(user);
  s->splitter.Push(piece, &s->ready);
  for (const std::string& sentence : s->ready) {
    if (!s->speak(sentence)) {
      s->failed = true;
      break;
    }
  }
  s->ready.clear();
  return s->failed ? KITE_STOP : KITE_CONTINUE;
}

}  // namespace

Answerer::Answerer(const kite_model* model, kite_session* session, Speaker* speaker,
                   const kite_generate_options& options, AudioSink sink)
    : model_(model), session_(session), speaker_(speaker), options_(options),
      sink_(std::move(sink)) {}

void Answerer::Cancel() {
  if (!busy_.load()) return;
  cancel_ = true;
  kite_session_cancel(session_);
}

bool Answerer::Speak(const std::string& sentence, AnswerReport* report, std::string* error) {
  if (cancel_.load()) return true;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Pcm> pcm = speaker_->Synthesize(sentence, &cancel_);
  report->synth_ms += MsSince(start);
  if (!pcm.ok()) {
    *error = std::string(pcm.status().message());
    return false;
  }
  if (cancel_.load()) return true;
  if (report->first_audio_ms < 0) report->first_audio_ms = MsSince(input_end_);
  report->text += (report->text.empty() ? "" : " ") + sentence;
  ++report->sentences;
  report->audio.sample_rate = pcm->sample_rate;
  report->audio.samples.insert(report->audio.samples.end(), pcm->samples.begin(),
                               pcm->samples.end());
  if (sink_) sink_(*pcm);
  return true;
}

bool Answerer::Answer(const Request& request, std::chrono::steady_clock::time_point input_end,
                      AnswerReport* report, std::string* error) {
  *report = AnswerReport();
  report->audio.sample_rate = speaker_->sample_rate();
  report->stats.struct_size = sizeof(report->stats);
  input_end_ = input_end;
  cancel_ = false;
  busy_ = true;
  struct Done {
    std::atomic<bool>* busy;
    ~Done() { *busy = false; }
  } done{&busy_};

  Stream stream;
  stream.answerer = this;
  stream.speak = [this, report, error](const std::string& s) { return Speak(s, report, error); };
  if (!request.fixed_text.empty()) {
    std::vector<std::string> sentences;
    stream.splitter.Push(request.fixed_text, &sentences);
    sentences.push_back(stream.splitter.Flush());
    for (const std::string& s : sentences) {
      if (!s.empty() && !Speak(s, report, error)) return false;
    }
    report->cancelled = cancel_.load();
    return true;
  }

  // A reset withdraws a cancel from before this answer began.
  if (kite_session_reset(session_) != KITE_OK) {
    *error = kite_session_last_error(session_);
    return false;
  }
  kite_generate_options go = options_;
  kite_status s;
  if (request.chat) {
    std::vector<kite_chat_message> messages;
    if (!request.system.empty()) messages.push_back({"system", request.system.c_str()});
    messages.push_back({"user", request.prompt.c_str()});
    size_t need = 0;
    kite_chat_tokenize(model_, messages.data(), messages.size(), 1, 1, nullptr, 0, &need);
    std::vector<int32_t> ids(need);
    size_t n = 0;
    s = kite_chat_tokenize(model_, messages.data(), messages.size(), 1, 1, ids.data(), ids.size(),
                           &n);
    const auto feed_start = std::chrono::steady_clock::now();
    if (s == KITE_OK) s = kite_session_feed(session_, ids.data(), n);
    const double feed_ms = MsSince(feed_start);
    if (s != KITE_OK && s != KITE_ERR_CANCELLED) {
      *error = std::string("cannot prepare the chat prompt: ") + kite_last_error();
      return false;
    }
    go.add_bos = 0;
    if (s == KITE_OK) {
      s = kite_generate(session_, "", &go, OnToken, &stream, &report->stats);
      // The prompt was fed before kite_generate: count it as its prefill.
      report->stats.prompt_tokens = static_cast<uint32_t>(n);
      report->stats.prefill_ms = feed_ms;
    }
  } else {
    // The prompt starts the spoken story; the model continues it.
    if (request.speak_prompt) stream.splitter.Push(request.prompt, &stream.ready);
    for (const std::string& sentence : stream.ready) {
      if (!Speak(sentence, report, error)) return false;
    }
    stream.ready.clear();
    s = kite_generate(session_, request.prompt.c_str(), &go, OnToken, &stream, &report->stats);
  }
  if (stream.failed) return false;
  if (s == KITE_ERR_CANCELLED || cancel_.load()) {
    report->cancelled = true;
    return true;
  }
  if (s != KITE_OK) {
    *error = std::string("generation failed: ") + kite_session_last_error(session_);
    return false;
  }
  // The unfinished sentence max_tokens cut off ("The bo") is dropped, unless it is all
  // there is; text the model ended itself is spoken whole.
  const std::string rest = stream.splitter.Flush();
  const bool cut_off = report->stats.stop_reason == KITE_STOP_MAX_TOKENS && report->sentences > 0;
  if (!rest.empty() && !cut_off && !Speak(rest, report, error)) return false;
  report->cancelled = cancel_.load();
  return true;
}

}  // namespace kite::voice
