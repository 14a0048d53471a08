// kite-generate: stream text from a .kite model. Uses only the public C API (kite/kite.h),
// plus the tools' flag parser and JSON writer.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include "kite/kite.h"
#include "tools/common/flags.h"
#include "tools/common/input_file.h"
#include "tools/common/json.h"
#include "tools/common/backend_flag.h"
#include "tools/common/kv_flag.h"
#include "tools/common/output_file.h"

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

// The online CPUs, at most 4 (the cores of a Raspberry Pi; beyond that, decode is bound
// by memory bandwidth, and phones' extra cores are slow ones).
long DefaultThreads() {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus < 1 ? 1 : cpus > 4 ? 4 : cpus;
}

struct Options {
  std::string model;
  std::string prompt;
  long max_tokens = 256;
  long ctx = 0;  // 0: pick from the model
  long threads = 0;  // 0: DefaultThreads()
  long prefill_chunk = 64;
  uint32_t kv = KITE_KV_F32;
  uint32_t backend = KITE_BACKEND_CPU;
  std::string isa;
  double temp = 0.8;
  long top_k = 0;
  double top_p = 0.9;
  unsigned long long seed = 0;
  bool seed_given = false;
  bool verify = false;
  bool huge_pages = false;
  bool json = false;
  bool chat = false;
  bool prompt_given = false;
  bool system_given = false;
  std::string system;
  std::string prompt_file;  // -f: the prompt is this file's text
  double min_p = 0.0;
  double repeat_penalty = 1.0;
  long repeat_last_n = 64;
  double frequency_penalty = 0.0;
  double presence_penalty = 0.0;
  std::vector<std::string> stop;
  std::vector<kite_logit_bias> logit_bias;
  bool raw_pieces = false;
  std::string prompt_cache;  // --prompt-cache: the session state file ("" when off)
  long n_keep = -1;          // --context-shift N_KEEP (-1: off)
};

// --stop STR: one more stop string (up to KITE_MAX_STOP_STRINGS, each at most
// KITE_MAX_STOP_STRING_BYTES; the library checks that it is valid UTF-8).
std::string AddStop(Options* o, const std::string& name, const std::string& value) {
  if (o->stop.size() >= KITE_MAX_STOP_STRINGS) {
    return name + " may be given at most " + std::to_string(KITE_MAX_STOP_STRINGS) + " times";
  }
  if (value.size() > KITE_MAX_STOP_STRING_BYTES) {
    return name + " must be at most " + std::to_string(KITE_MAX_STOP_STRING_BYTES) +
           " bytes long, not " + std::to_string(value.size());
  }
  o->stop.push_back(value);
  return "";
}

// --logit-bias ID=BIAS: a token id >= 0 and a finite number, or -inf to ban the token (the
// library checks the id against the vocabulary).
std::string AddLogitBias(Options* o, const std::string& name, const std::string& value) {
  const std::string bad = name + " must be ID=BIAS (a token id >= 0 and a number, or -inf " +
                          "to ban the token), not '" + value + "'";
  const size_t eq = value.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) return bad;
  const std::string id_text = value.substr(0, eq), bias_text = value.substr(eq + 1);
  char* end = nullptr;
  errno = 0;
  const long long id = std::strtoll(id_text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || id < 0 || id > INT32_MAX) return bad;
  const double bias = std::strtod(bias_text.c_str(), &end);
  const bool banned = bias_text == "-inf";
  if (*end != '\0' || (!banned && !std::isfinite(bias))) return bad;
  o->logit_bias.push_back({static_cast<int32_t>(id), banned ? -INFINITY : static_cast<float>(bias)});
  return "";
}

// The kite-generate flag table, writing into *o.
kite::flags::FlagSpec MakeSpec(Options* o) {
  namespace flags = kite::flags;
  flags::FlagSpec spec;
  spec.program = "kite-generate";
  spec.help_column = 23;
  spec.header = kHeader;
  spec.footer = kFooter;
  spec.flags = {
      flags::String('m', "model", "PATH", &o->model, "model file (.kite), required"),
      flags::String('p', "prompt", "TEXT", &o->prompt,
                    "prompt text (default: empty, the model starts from BOS)")
          .AllowEmpty(),
      flags::String('f', "file", "FILE", &o->prompt_file,
                    "read the prompt from FILE (a regular file; not with -p)"),
      flags::Int<long>('n', "max-tokens", "N", &o->max_tokens, 0, 1 << 24,
                       "tokens to generate, >= 0 (default 256)"),
      flags::Int<long>('c', "ctx", "N", &o->ctx, 1, 1 << 24,
                       "context length in tokens, 1..the model's max (default: min(512, max))"),
      flags::Int<long>('t', "threads", "N", &o->threads, 1, 256,
                       "threads, the caller's included, 1..256 (default: the\n"
                       "online CPUs, at most 4; more than the online CPUs are\n"
                       "capped at their count, with a warning). While another\n"
                       "process keeps a worker off its core, loops fall back to\n"
                       "one thread."),
      flags::Int<long>(0, "prefill-chunk", "N", &o->prefill_chunk, 1, 1024,
                       "prompt tokens processed together, 1..1024 (default 64)"),
      flags::KvTypeFlag(&o->kv, "KV cache type: f32 (default) or int8 (one scale per KV\n"
                                "head and position; about 1/4 to 3/8 of the memory)"),
      flags::BackendFlag(&o->backend, std::string("where the forward pass runs.\n") +
                                          flags::kBackendHelp),
      flags::String(0, "isa", "NAME", &o->isa,
                    "highest instruction set to use: scalar, avx2, avxvnni,\n"
                    "avx512vnni, neon, neondot, i8mm or best (default best,\n"
                    "or $KITE_ISA)"),
      flags::Number<double>(0, "temp", "T", &o->temp, 0.0, 100.0, flags::Ends::kClosed,
                            "sampling temperature, 0 = greedy (default 0.8)"),
      flags::Int<long>(0, "top-k", "K", &o->top_k, 0, 1 << 24,
                       "keep the K most likely tokens, 0 = off (default 0)"),
      flags::Number<double>(0, "top-p", "P", &o->top_p, 0.0, 1.0, flags::Ends::kOpenLow,
                            "nucleus sampling mass in (0, 1], 1 = off (default 0.9)"),
      flags::Int<unsigned long long>(0, "seed", "S", &o->seed, 0, ULLONG_MAX,
                                     "random seed (default: from the clock; printed with --json)"),
      flags::Number<double>(0, "min-p", "P", &o->min_p, 0.0, 1.0, flags::Ends::kClosed,
                            "keep tokens at least P times as likely as the most\n"
                            "likely one, in [0, 1], 0 = off (default 0)"),
      flags::Number<double>(0, "repeat-penalty", "R", &o->repeat_penalty, 0.0, 100.0,
                            flags::Ends::kOpenLow,
                            "divide the positive logits (multiply the negative ones)\n"
                            "of tokens in the last --repeat-last-n by R, in (0, 100],\n"
                            "1 = off (default 1)"),
      flags::Int<long>(0, "repeat-last-n", "N", &o->repeat_last_n, 0, KITE_MAX_PENALTY_LAST_N,
                       "context tokens the penalties look back over, 0.." +
                           std::to_string(KITE_MAX_PENALTY_LAST_N) + ",\n0 = off (default 64)"),
      flags::Number<double>(0, "frequency-penalty", "F", &o->frequency_penalty, 0.0, 100.0,
                            flags::Ends::kClosed,
                            "subtract F per occurrence in that window, in [0, 100],\n"
                            "0 = off (default 0)"),
      flags::Number<double>(0, "presence-penalty", "F", &o->presence_penalty, 0.0, 100.0,
                            flags::Ends::kClosed,
                            "subtract F once from tokens in that window, in [0, 100],\n"
                            "0 = off (default 0)"),
      flags::Custom(0, "stop", "STR",
                    [o](const std::string& name, const std::string& value) {
                      return AddStop(o, name, value);
                    },
                    "stop when the text contains STR, which is not printed\n"
                    "(repeatable: up to " + std::to_string(KITE_MAX_STOP_STRINGS) +
                        ", each 1.." + std::to_string(KITE_MAX_STOP_STRING_BYTES) +
                        " bytes; default none)"),
      flags::Custom(0, "logit-bias", "ID=BIAS",
                    [o](const std::string& name, const std::string& value) {
                      return AddLogitBias(o, name, value);
                    },
                    "add BIAS to token ID's logit; -inf bans the token\n"
                    "(repeatable; default none)"),
      flags::Switch(0, "raw-pieces", &o->raw_pieces,
                    "print each token's bytes as they come, even part of a\n"
                    "character (default: whole UTF-8 characters only)"),
      flags::Switch(0, "verify", &o->verify, "check the model's segment checksums while opening"),
      flags::Switch(0, "huge-pages", &o->huge_pages,
                    "read the model into huge pages instead of mapping it\n"
                    "(faster decode on large models, slower open)"),
      flags::Switch(0, "json", &o->json,
                    "print one JSON object (prompt_token_ids, generated_token_ids,\n"
                    "text, timings, ...) instead of streaming text"),
      flags::Switch(0, "chat", &o->chat,
                    "chat with the model in its chat format (see kite-convert\n"
                    "--chat-format): each line read from stdin is a user turn (EOF\n"
                    "ends); with -p, one turn with that text. The conversation stays\n"
                    "in the session: each turn feeds only its new tokens."),
      flags::Int<long>(0, "context-shift", "N_KEEP", &o->n_keep, 0, 1 << 24,
                       "when generation fills the context, keep its first N_KEEP\n"
                       "tokens, drop the older half of the rest and go on\n"
                       "(default: a full context ends generation)"),
      flags::String(0, "prompt-cache", "FILE", &o->prompt_cache,
                    "reuse the prompt's processing: when FILE holds the state\n"
                    "of a run of this model and options whose prompt begins\n"
                    "this one, restore it and process only the rest; otherwise\n"
                    "process the prompt and save its state to FILE"),
      flags::String(0, "system", "TEXT", &o->system,
                    "with --chat: a system message that starts the conversation")
          .AllowEmpty(),
  };
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
  o->seed_given = parsed.Given("seed");
  o->system_given = parsed.Given("system");
  std::string error = parsed.error;
  if (error.empty() && !parsed.positionals.empty()) {
    error = "unexpected argument '" + parsed.positionals[0] + "' (the prompt is given with -p)";
  }
  if (error.empty() && o->model.empty()) error = "a model is required (-m MODEL.kite)";
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
  const std::string capped = kite::flags::CapThreads("-t", &o->threads);
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
  std::fprintf(stderr, "kite-generate: %s: %s: %s\n", what, kite_status_string(s), message);
  return 1;
}

// One conversation message (owned strings).
struct Turn {
  std::string role, content;
};

// The ids of the whole conversation in the model's chat format (BOS first, ending with
// the assistant header). kite_chat_tokenize keeps the messages plain text: a line holding
// "<|end|>" or "<|im_start|>" cannot forge a turn.
bool TokenizeConversation(const kite_model* model, const std::vector<Turn>& turns,
                          std::vector<int32_t>* ids) {
  std::vector<kite_chat_message> messages;
  for (const Turn& t : turns) messages.push_back({t.role.c_str(), t.content.c_str()});
  size_t n = 0;
  ids->resize(4096);
  kite_status s = kite_chat_tokenize(model, messages.data(), messages.size(), 1, 1, ids->data(),
                                     ids->size(), &n);
  if (s == KITE_ERR_OUT_OF_MEMORY) {
    ids->resize(n);
    s = kite_chat_tokenize(model, messages.data(), messages.size(), 1, 1, ids->data(),
                           ids->size(), &n);
  }
  if (s != KITE_OK) {
    Fail("cannot tokenize the conversation", s, kite_last_error());
    return false;
  }
  ids->resize(n);
  return true;
}

// kite-generate --chat: one turn per stdin line (or the -p text), feeding each turn's new
// tokens to the session and streaming the answer.
int RunChat(const Options& o, kite_model* model, kite_session* session,
            const kite_generate_options& base, uint32_t max_context) {
  int turn = 0;
  kite_generate_options go = base;
  go.add_bos = 0;  // the turn's tokens (BOS included on the first) are fed before generating
  std::vector<Turn> turns;
  if (o.system_given) turns.push_back({"system", o.system});
  // The ids the session's context holds.
  std::vector<int32_t> in_context;
  const bool interactive = !o.prompt_given;
  std::string line;
  while (true) {
    if (o.prompt_given) {
      line = o.prompt;
    } else {
      std::fputs("> ", stderr);
      std::fflush(stderr);
      line.clear();
      int c;
      while ((c = std::fgetc(stdin)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
      if (c == EOF && line.empty()) break;
    }
    turns.push_back({"user", line});
    std::vector<int32_t> ids;
    if (!TokenizeConversation(model, turns, &ids)) return 1;
    // Earlier turns tokenize the same way, so only the new ids need feeding; if they
    // differ (the formatter trimmed an answer, or its text tokenizes differently from the
    // ids generated), start the context over.
    size_t start = in_context.size();
    if (ids.size() < start || !std::equal(in_context.begin(), in_context.end(), ids.begin())) {
      kite_session_reset(session);
      start = 0;
    }
    const size_t n = ids.size() - start;
    kite_status s = kite_session_feed(session, ids.data() + start, n);
    if (s != KITE_OK) return Fail("cannot feed the turn", s, kite_session_last_error(session));
    Collected answer;
    answer.stream = true;
    kite_generate_stats stats;
    stats.struct_size = sizeof(stats);
    s = kite_generate(session, "", &go, OnToken, &answer, &stats);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    if (s != KITE_OK) return Fail("generation failed", s, kite_session_last_error(session));
    ++turn;
    std::fprintf(stderr, "[turn %d: fed %zu new tokens, generated %u, context %u of %u]\n",
                 turn, n, stats.generated_tokens, kite_session_position(session), max_context);
    turns.push_back({"assistant", answer.text});
    in_context = ids;
    in_context.insert(in_context.end(), answer.ids.begin(), answer.ids.end());
    if (stats.stop_reason == KITE_STOP_CONTEXT_FULL) {
      std::fprintf(stderr, "kite-generate: the context is full; ending the chat\n");
      break;
    }
    if (!interactive) break;
  }
  return 0;
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
  size_t size = 0;
  if (kite_session_state_size(session, &size) != KITE_OK) {
    *note = std::string("not saved (") + kite_session_last_error(session) + ")";
    return false;
  }
  std::vector<uint8_t> state(size);
  size_t written = 0;
  if (kite_session_save_state(session, state.data(), state.size(), &written) != KITE_OK) {
    *note = std::string("not saved (") + kite_session_last_error(session) + ")";
    return false;
  }
  kite::tools::PendingOutputFile out(path);
  absl::Status s = out.Open();
  if (s.ok()) {
    out.Write(state.data(), written);
    s = out.Commit();
  }
  if (!s.ok()) {
    *note = "not saved (" + std::string(s.message()) + ")";
    return false;
  }
  *note = "saved " + std::to_string(kite_session_position(session)) + " tokens (" +
          std::to_string(written) + " bytes)";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const int parse_status = Parse(argc, argv, &o);
  if (parse_status >= 0) return parse_status;

  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.verify_checksums = o.verify ? 1 : 0;
  mo.huge_pages = o.huge_pages ? 1 : 0;
  mo.max_isa = o.isa.empty() ? nullptr : o.isa.c_str();
  kite_model* model = nullptr;
  kite_status s = kite_model_open_file(o.model.c_str(), &mo, &model);
  if (s != KITE_OK) return Fail("cannot open model", s, kite_last_error());

  kite_model_info info;
  info.struct_size = sizeof(info);
  kite_model_get_info(model, &info);

  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = o.ctx > 0 ? static_cast<uint32_t>(o.ctx)
                             : (info.max_seq_len < 512 ? info.max_seq_len : 512);
  so.threads = static_cast<uint32_t>(o.threads > 0 ? o.threads : DefaultThreads());
  so.prefill_chunk = static_cast<uint32_t>(o.prefill_chunk);
  so.kv_type = o.kv;
  so.backend = o.backend;
  so.context_shift = o.n_keep >= 0 ? 1 : 0;
  so.n_keep = o.n_keep >= 0 ? static_cast<uint32_t>(o.n_keep) : 0;
  kite_session* session = nullptr;
  s = kite_session_create(model, &so, nullptr, 0, &session);
  if (s != KITE_OK) {
    const int rc = Fail("cannot create session", s, kite_last_error());
    kite_model_close(model);
    return rc;
  }
  kite::flags::PrintBackendNotice("kite-generate", session);

  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = static_cast<int32_t>(o.max_tokens);
  go.temperature = static_cast<float>(o.temp);
  go.top_k = static_cast<int32_t>(o.top_k);
  go.top_p = static_cast<float>(o.top_p);
  go.seed = o.seed_given ? o.seed
                         : static_cast<unsigned long long>(
                               std::chrono::steady_clock::now().time_since_epoch().count());
  go.min_p = static_cast<float>(o.min_p);
  go.repetition_penalty = static_cast<float>(o.repeat_penalty);
  go.penalty_last_n = static_cast<int32_t>(o.repeat_last_n);
  go.frequency_penalty = static_cast<float>(o.frequency_penalty);
  go.presence_penalty = static_cast<float>(o.presence_penalty);
  go.logit_bias = o.logit_bias.data();
  go.n_logit_bias = o.logit_bias.size();
  std::vector<const char*> stop;
  for (const std::string& st : o.stop) stop.push_back(st.c_str());
  go.stop = stop.data();
  go.n_stop = stop.size();
  go.raw_pieces = o.raw_pieces ? 1 : 0;

  if (o.chat) {
    const int rc = RunChat(o, model, session, go, so.max_context);
    kite_session_destroy(session);
    kite_model_close(model);
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
      kite_session_destroy(session);
      kite_model_close(model);
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
    kite_session_destroy(session);
    kite_model_close(model);
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
    j.Add("model", Value::String(o.model))
        .Add("prompt", Value::String(o.prompt))
        .Add("prompt_token_ids", IdArray(prompt_ids))
        .Add("generated_token_ids", IdArray(collected.ids))
        .Add("text", Value::String(collected.text))
        .Add("stop_reason", Value::String(StopReasonName(stats.stop_reason)))
        .Add("seed", Value::Uint(go.seed))
        .Add("temperature", Value::Rounded(o.temp, 6))
        .Add("top_k", Value::Int(o.top_k))
        .Add("top_p", Value::Rounded(o.top_p, 6))
        .Add("min_p", Value::Rounded(o.min_p, 6))
        .Add("repeat_penalty", Value::Rounded(o.repeat_penalty, 6))
        .Add("repeat_last_n", Value::Int(o.repeat_last_n))
        .Add("frequency_penalty", Value::Rounded(o.frequency_penalty, 6))
        .Add("presence_penalty", Value::Rounded(o.presence_penalty, 6))
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
  kite_session_destroy(session);
  kite_model_close(model);
  return 0;
}
