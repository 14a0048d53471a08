// kite-generate: stream text from a .kite model. Uses only the public C API (kite/kite.h),
// plus the samples' shared options and chat loop (--chat) and the tools' flag parser and
// JSON writer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "samples/chat/chat.h"
#include "samples/common/run_options.h"
#include "tools/common/flags.h"
#include "tools/common/input_file.h"
#include "tools/common/json.h"

namespace {

// The kite-generate help text around the flag table (see MakeSpec).
constexpr const char* kHeader = R"(kite-generate: generate text with a .kite model

usage: kite-generate -m MODEL.kite [-p PROMPT | -f FILE] [options]

)";

constexpr const char* kFooter = R"(
The model is memory-mapped: replace a .kite file by writing a new one and renaming it
over the old one, never by rewriting it in place (a file truncated while mapped kills
the process with SIGBUS).
Exit status: 0 success, 1 failure (the model cannot be opened or run, the prompt does
not fit the context), 2 bad command line.

examples:
  kite-generate -m models/stories260K-q4.kite -p "Once upon a time" -n 128 --temp 0
  kite-generate -m qwen2.5-0.5b-instruct-q4.kite --chat --system "Be brief."
  kite-generate -m model.kite -f prompt.txt --repeat-penalty 1.1 --min-p 0.05 \
      --stop $'\nUser:' --logit-bias 13=-inf
)";

struct Options {
  kite::samples::RunOptions run;
  std::string prompt;
  bool json = false;
  bool chat = false;
  bool prompt_given = false;
  bool system_given = false;
  std::string system;
  std::string prompt_file;   // -f: the prompt is this file's text
  std::string prompt_cache;  // --prompt-cache: the session state file ("" when off)
};

// The kite-generate flag table, writing into *o.
kite::flags::FlagSpec MakeSpec(Options* o) {
  namespace flags = kite::flags;
  flags::FlagSpec spec;
  spec.program = "kite-generate";
  spec.help_column = 23;
  spec.header = kHeader;
  spec.footer = kFooter;
  const std::vector<flags::Flag> model = kite::samples::ModelFlags(&o->run);
  const std::vector<flags::Flag> sampling = kite::samples::SamplingFlags(&o->run);
  spec.flags = {model[0],
                flags::String('p', "prompt", "TEXT", &o->prompt,
                              "prompt text (default: empty, the model starts from BOS)")
                    .AllowEmpty(),
                flags::String('f', "file", "FILE", &o->prompt_file,
                              "read the prompt from FILE (a regular file; not with -p)")};
  spec.flags.insert(spec.flags.end(), model.begin() + 1, model.end());
  spec.flags.insert(spec.flags.end(), sampling.begin(), sampling.end());
  spec.flags.insert(
      spec.flags.end(),
      {flags::Switch(0, "json", &o->json,
                     "print one JSON object (prompt_token_ids, generated_token_ids,\n"
                     "text, timings, ...) instead of streaming text"),
       flags::Switch(0, "chat", &o->chat,
                     "chat with the model in its chat format, as kite-chat does\n"
                     "(its commands included): each line read from stdin is a\n"
                     "user turn (EOF ends); with -p, one turn with that text."),
       flags::String(0, "prompt-cache", "FILE", &o->prompt_cache,
                     "reuse the prompt's processing: when FILE holds the state\n"
                     "of a run of this model and options whose prompt begins\n"
                     "this one, restore it and process only the rest; otherwise\n"
                     "process the prompt and save its state to FILE"),
       flags::String(0, "system", "TEXT", &o->system,
                     "with --chat: a system message that starts the conversation")
           .AllowEmpty()});
  return spec;
}

// Parses the command line into *o. Returns -1 to go on, or the exit status when done: 0
// after printing the help, 2 after printing a bad command line's error.
int Parse(int argc, char** argv, Options* o) {
  const kite::flags::FlagSpec spec = MakeSpec(o);
  const kite::flags::ParsedArgs parsed =
      kite::flags::Parse(spec, std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.ok() && parsed.help) {
    std::fputs(kite::flags::HelpText(spec).c_str(), stdout);
    return kite::flags::kExitOk;
  }
  o->prompt_given = parsed.Given("prompt");
  o->run.seed_given = parsed.Given("seed");
  o->system_given = parsed.Given("system");
  std::string error = parsed.error;
  if (error.empty() && !parsed.positionals.empty()) {
    error = "unexpected argument '" + parsed.positionals[0] + "' (the prompt is given with -p)";
  }
  if (error.empty() && o->run.model.empty()) error = "a model is required (-m MODEL.kite)";
  if (error.empty() && o->chat && o->json) error = "--chat and --json cannot be combined";
  if (error.empty() && o->system_given && !o->chat) error = "--system needs --chat";
  if (error.empty() && o->chat && parsed.Given("prompt-cache")) {
    error = "--prompt-cache and --chat cannot be combined";
  }
  if (error.empty() && o->prompt_given && parsed.Given("file")) {
    error = "-p and -f cannot be combined (give the prompt one way)";
  }
  if (!error.empty()) {
    std::fputs(kite::flags::UsageError("kite-generate", error).c_str(), stderr);
    return kite::flags::kExitUsage;
  }
  const std::string capped = kite::flags::CapThreads("-t", &o->run.threads);
  if (!capped.empty()) std::fprintf(stderr, "kite-generate: warning: %s\n", capped.c_str());
  if (parsed.Given("file")) {
    const absl::StatusOr<std::string> text = kite::tools::ReadInputFile(o->prompt_file);
    if (!text.ok()) {
      std::fprintf(stderr, "kite-generate: cannot read the prompt: %s\n",
                   std::string(text.status().message()).c_str());
      return kite::flags::kExitFailure;
    }
    o->prompt = *text;
    o->prompt_given = true;
  }
  return -1;
}

// The ids as a JSON array.
kite::json::Value IdArray(const std::vector<int32_t>& ids) {
  kite::json::Value out = kite::json::Value::Array({});
  for (int32_t id : ids) out.Push(kite::json::Value::Int(id));
  return out;
}

const char* StopReasonName(kite_stop_reason r) {
  switch (r) {
    case KITE_STOP_MAX_TOKENS: return "max_tokens";
    case KITE_STOP_END_TOKEN: return "end_token";
    case KITE_STOP_CALLBACK: return "callback";
    case KITE_STOP_CONTEXT_FULL: return "context_full";
    case KITE_STOP_CANCELLED: return "cancelled";
    case KITE_STOP_STRING: return "stop_string";
  }
  return "unknown";
}

struct Collected {
  bool stream = false;
  // Streaming: printed before the first piece, so a prompt the session refuses is never
  // echoed (null: nothing to echo).
  const std::string* echo = nullptr;
  bool echoed = false;
  std::string text;
  std::vector<int32_t> ids;

  // Prints the echo once.
  void Echo() {
    if (echo == nullptr || echoed) return;
    std::fputs(echo->c_str(), stdout);
    echoed = true;
  }
};

int OnToken(const char* piece, int32_t token, void* user) {
  Collected* c = static_cast<Collected*>(user);
  if (token >= 0) c->ids.push_back(token);  // -1: the text held back at the end
  c->text += piece;
  if (c->stream) {
    c->Echo();
    std::fputs(piece, stdout);
    std::fflush(stdout);
  }
  return KITE_CONTINUE;
}

int Fail(const char* what, kite_status s, const char* message) {
  return kite::samples::Fail("kite-generate", what, s, message);
}

// kite-generate --prompt-cache: tries to restore the state saved in `path` and continue
// it with the rest of `prompt`. True when the session now holds the whole prompt (with its
// logits); *note says what happened. False leaves the session empty: the caller runs the
// prompt and saves it (SavePromptCache).
bool RestorePromptCache(const std::string& path, const kite_model* model,
                        const kite_model_info& info, kite_session* session,
                        const std::string& prompt, std::string* note) {
  const absl::StatusOr<std::string> state = kite::tools::ReadInputFile(path);
  if (!state.ok()) {
    *note = absl::IsNotFound(state.status())
                ? std::string("no saved state yet")
                : "not used (" + std::string(state.status().message()) + ")";
    return false;
  }
  if (kite_session_restore_state(session, state->data(), state->size()) != KITE_OK) {
    *note = std::string("not used (") + kite_session_last_error(session) + ")";
    return false;
  }
  std::vector<int32_t> cached(kite_session_position(session));
  size_t n = 0;
  kite_session_tokens(session, cached.data(), cached.size(), &n);
  // The ids kite_generate would feed for the prompt: BOS first exactly when the model's
  // tokenizer adds one, which the cached run shows.
  const bool bos = !cached.empty() && info.bos_id >= 0 && cached[0] == info.bos_id;
  std::vector<int32_t> ids(prompt.size() + 2);
  if (kite_tokenize(model, prompt.data(), prompt.size(), bos ? 1 : 0, ids.data(), ids.size(),
                    &n) != KITE_OK) {
    n = 0;
  }
  ids.resize(n);
  if (cached.empty() || cached.size() > ids.size() ||
      !std::equal(cached.begin(), cached.end(), ids.begin())) {
    kite_session_reset(session);
    *note = "not used (its " + std::to_string(cached.size()) +
            " tokens do not begin this prompt)";
    return false;
  }
  const size_t rest = ids.size() - cached.size();
  if (kite_session_feed(session, ids.data() + cached.size(), rest) != KITE_OK) {
    *note = std::string("not used (") + kite_session_last_error(session) + ")";
    kite_session_reset(session);
    return false;
  }
  *note = "used: restored " + std::to_string(cached.size()) + " tokens, processed " +
          std::to_string(rest) + " more";
  return true;
}

// Saves the session's state to `path` through a temporary renamed over it. True on success;
// *note says what happened.
bool SavePromptCache(const std::string& path, const kite_session* session, std::string* note) {
  std::string state, error;
  if (!kite::samples::SaveSessionState(session, &state, &error)) {
    *note = "not saved (" + error + ")";
    return false;
  }
  const absl::Status s = kite::samples::ReplaceFile(path, state);
  if (!s.ok()) {
    *note = "not saved (" + std::string(s.message()) + ")";
    return false;
  }
  *note = "saved " + std::to_string(kite_session_position(session)) + " tokens (" +
          std::to_string(state.size()) + " bytes)";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const int parse_status = Parse(argc, argv, &o);
  if (parse_status >= 0) return parse_status;

  kite::samples::Opened opened;
  const int open_status = kite::samples::OpenModelAndSession("kite-generate", o.run, &opened);
  if (open_status >= 0) return open_status;
  kite_model* model = opened.model;
  kite_session* session = opened.session;
  const kite_model_info& info = opened.info;
  const kite_session_options& so = opened.session_options;
  std::vector<const char*> stop;
  const kite_generate_options go = kite::samples::GenerateOptions(o.run, &stop);
  kite_status s = KITE_OK;

  if (o.chat) {
    kite::chat::ChatConfig config;
    config.program = "kite-generate";
    config.has_system = o.system_given;
    config.system = o.system;
    config.one_turn = o.prompt_given;
    config.prompt = o.prompt;
    config.generate = go;
    config.max_context = so.max_context;
    const int rc = kite::chat::RunChat(config, model, session);
    opened.Close();
    return rc;
  }

  // Check the prompt before printing any of it: one longer than the context fails here,
  // with the sizes, and nothing of it is echoed (kite_generate checks again, BOS included).
  {
    std::vector<int32_t> ids(o.prompt.size() + 2);
    size_t n = 0;
    s = kite_tokenize(model, o.prompt.data(), o.prompt.size(), 0, ids.data(), ids.size(), &n);
    const bool fits = s == KITE_OK && n <= so.max_context;
    if (s != KITE_OK) {
      Fail("cannot tokenize the prompt", s, kite_last_error());
    } else if (!fits) {
      std::fprintf(stderr,
                   "kite-generate: the prompt is %zu tokens, more than the context of %u tokens "
                   "(-c; this model allows up to %u)\n",
                   n, so.max_context, info.max_seq_len);
    }
    if (!fits) {
      opened.Close();
      return 1;
    }
  }

  Collected collected;
  collected.stream = !o.json;
  collected.echo = &o.prompt;
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  if (o.prompt_cache.empty()) {
    s = kite_generate(session, o.prompt.c_str(), &go, OnToken, &collected, &stats);
  } else {
    // The prompt is processed first (restored, or run and saved), then generation
    // continues the context: the same tokens as one kite_generate call.
    const auto start = std::chrono::steady_clock::now();
    std::string note;
    bool ok = true;
    size_t prompt_tokens = 0;
    if (RestorePromptCache(o.prompt_cache, model, info, session, o.prompt, &note)) {
      std::fprintf(stderr, "[prompt cache %s: %s]\n", o.prompt_cache.c_str(), note.c_str());
      prompt_tokens = kite_session_position(session);
    } else {
      std::fprintf(stderr, "[prompt cache %s: %s]\n", o.prompt_cache.c_str(), note.c_str());
      kite_generate_options prompt_only = go;
      prompt_only.max_tokens = 0;
      s = kite_generate(session, o.prompt.c_str(), &prompt_only, nullptr, nullptr, nullptr);
      ok = s == KITE_OK;
      if (ok) {
        prompt_tokens = kite_session_position(session);
        SavePromptCache(o.prompt_cache, session, &note);
        std::fprintf(stderr, "[prompt cache %s: %s]\n", o.prompt_cache.c_str(), note.c_str());
      }
    }
    const double prompt_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count();
    if (ok) {
      kite_generate_options rest = go;
      rest.add_bos = 0;
      s = kite_generate(session, "", &rest, OnToken, &collected, &stats);
      stats.prompt_tokens = static_cast<uint32_t>(prompt_tokens);
      stats.prefill_ms = prompt_ms;
    }
  }
  if (s != KITE_OK) {
    if (collected.echoed) std::fputs("\n", stdout);
    const int rc = Fail("generation failed", s, kite_session_last_error(session));
    opened.Close();
    return rc;
  }

  const double prefill_tok_s =
      stats.prefill_ms > 0 ? stats.prompt_tokens / (stats.prefill_ms / 1000.0) : 0.0;
  const double decode_tok_s =
      stats.decode_ms > 0 ? stats.generated_tokens / (stats.decode_ms / 1000.0) : 0.0;
  if (o.json) {
    std::vector<int32_t> prompt_ids(o.prompt.size() + 2);
    size_t n = 0;
    kite_tokenize(model, o.prompt.data(), o.prompt.size(), go.add_bos, prompt_ids.data(),
                  prompt_ids.size(), &n);
    prompt_ids.resize(n);
    using kite::json::Value;
    Value timings;
    timings.Add("prefill_ms", Value::Decimals(stats.prefill_ms, 3))
        .Add("decode_ms", Value::Decimals(stats.decode_ms, 3))
        .Add("first_token_ms", Value::Decimals(stats.first_token_ms, 3))
        .Add("prefill_tok_s", Value::Decimals(prefill_tok_s, 1))
        .Add("decode_tok_s", Value::Decimals(decode_tok_s, 1));
    Value j;
    j.Add("model", Value::String(o.run.model))
        .Add("prompt", Value::String(o.prompt))
        .Add("prompt_token_ids", IdArray(prompt_ids))
        .Add("generated_token_ids", IdArray(collected.ids))
        .Add("text", Value::String(collected.text))
        .Add("stop_reason", Value::String(StopReasonName(stats.stop_reason)))
        .Add("seed", Value::Uint(go.seed))
        .Add("temperature", Value::Rounded(o.run.temp, 6))
        .Add("top_k", Value::Int(o.run.top_k))
        .Add("top_p", Value::Rounded(o.run.top_p, 6))
        .Add("min_p", Value::Rounded(o.run.min_p, 6))
        .Add("repeat_penalty", Value::Rounded(o.run.repeat_penalty, 6))
        .Add("repeat_last_n", Value::Int(o.run.repeat_last_n))
        .Add("frequency_penalty", Value::Rounded(o.run.frequency_penalty, 6))
        .Add("presence_penalty", Value::Rounded(o.run.presence_penalty, 6))
        .Add("context", Value::Int(so.max_context))
        .Add("threads", Value::Int(so.threads))
        .Add("timings", std::move(timings));
    std::puts(kite::json::Write(j).c_str());
  } else {
    collected.Echo();  // no token was generated
    std::fputs("\n", stdout);
    std::fflush(stdout);
    std::fprintf(stderr,
                 "[%u prompt tokens in %.2f ms, %u tokens generated at %.1f tok/s, first token "
                 "%.2f ms, stop: %s]\n",
                 stats.prompt_tokens, stats.prefill_ms, stats.generated_tokens, decode_tok_s,
                 stats.first_token_ms, StopReasonName(stats.stop_reason));
  }
  opened.Close();
  return 0;
}
