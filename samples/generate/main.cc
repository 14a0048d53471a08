// kite-generate: stream text from a .kite model. Uses only the public C API (kite/kite.h).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include "kite/kite.h"

namespace {

constexpr const char* kUsage = R"(kite-generate: generate text with a .kite model

usage: kite-generate -m MODEL.kite [-p PROMPT] [options]

  -m, --model PATH     model file (.kite), required
  -p, --prompt TEXT    prompt text (default: empty, the model starts from BOS)
  -n, --max-tokens N   tokens to generate, >= 0 (default 256)
  -c, --ctx N          context length in tokens, 1..the model's max (default: min(512, max))
  -t, --threads N      threads, the caller's included, 1..256 (default: the
                       online CPUs, at most 4). While another process keeps a
                       worker off its core, loops fall back to one thread.
      --prefill-chunk N prompt tokens processed together, 1..1024 (default 64)
      --isa NAME       highest instruction set to use: scalar, avx2, avxvnni,
                       avx512vnni, neon, neondot, i8mm or best (default best,
                       or $KITE_ISA)
      --temp T         sampling temperature, 0 = greedy (default 0.8)
      --top-k K        keep the K most likely tokens, 0 = off (default 0)
      --top-p P        nucleus sampling mass in (0, 1], 1 = off (default 0.9)
      --seed S         random seed (default: from the clock; printed with --json)
      --verify         check the model's segment checksums while opening
      --huge-pages     read the model into huge pages instead of mapping it
                       (faster decode on large models, slower open)
      --json           print one JSON object (prompt_token_ids, generated_token_ids,
                       text, timings, ...) instead of streaming text
      --chat           chat with the model in its chat format (see kite-convert
                       --chat-format): each line read from stdin is a user turn (EOF
                       ends); with -p, one turn with that text. The conversation stays
                       in the session: each turn feeds only its new tokens.
      --system TEXT    with --chat: a system message that starts the conversation
  -h, --help           this help

examples:
  kite-generate -m models/stories260K-q4.kite -p "Once upon a time" -n 128 --temp 0
  kite-generate -m qwen2.5-0.5b-instruct-q4.kite --chat --system "Be brief."
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
};

[[noreturn]] void UsageError(const char* fmt, const char* a, const char* b = "") {
  std::fprintf(stderr, "kite-generate: ");
  std::fprintf(stderr, fmt, a, b);
  std::fprintf(stderr, "\nrun 'kite-generate --help' for usage\n");
  std::exit(2);
}

long ParseLong(const char* flag, const char* v, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0') UsageError("%s expects an integer, got '%s'", flag, v);
  if (x < lo || x > hi) {
    std::fprintf(stderr, "kite-generate: %s %ld is out of range [%ld, %ld]\n", flag, x, lo, hi);
    std::exit(2);
  }
  return x;
}

double ParseDouble(const char* flag, const char* v, double lo, double hi, bool lo_open) {
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !std::isfinite(x)) {
    UsageError("%s expects a number, got '%s'", flag, v);
  }
  if ((lo_open ? x <= lo : x < lo) || x > hi) {
    std::fprintf(stderr, "kite-generate: %s %g is out of range %s%g, %g]\n", flag, x,
                 lo_open ? "(" : "[", lo, hi);
    std::exit(2);
  }
  return x;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const auto is = [&](const char* s, const char* l) {
      return std::strcmp(a, s) == 0 || (l != nullptr && std::strcmp(a, l) == 0);
    };
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) UsageError("%s needs a value", a);
      return argv[++i];
    };
    if (is("-h", "--help")) {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (is("-m", "--model")) {
      o.model = value();
    } else if (is("-p", "--prompt")) {
      o.prompt = value();
      o.prompt_given = true;
    } else if (is("--chat", nullptr)) {
      o.chat = true;
    } else if (is("--system", nullptr)) {
      o.system = value();
      o.system_given = true;
    } else if (is("-n", "--max-tokens")) {
      o.max_tokens = ParseLong(a, value(), 0, 1 << 24);
    } else if (is("-c", "--ctx")) {
      o.ctx = ParseLong(a, value(), 1, 1 << 24);
    } else if (is("-t", "--threads")) {
      o.threads = ParseLong(a, value(), 1, 256);
    } else if (is("--prefill-chunk", nullptr)) {
      o.prefill_chunk = ParseLong(a, value(), 1, 1024);
    } else if (is("--isa", nullptr)) {
      o.isa = value();
    } else if (is("--temp", nullptr)) {
      o.temp = ParseDouble(a, value(), 0.0, 100.0, false);
    } else if (is("--top-k", nullptr)) {
      o.top_k = ParseLong(a, value(), 0, 1 << 24);
    } else if (is("--top-p", nullptr)) {
      o.top_p = ParseDouble(a, value(), 0.0, 1.0, true);
    } else if (is("--seed", nullptr)) {
      const char* v = value();
      char* end = nullptr;
      errno = 0;
      o.seed = std::strtoull(v, &end, 10);
      if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
        UsageError("%s expects a non-negative integer, got '%s'", a, v);
      }
      o.seed_given = true;
    } else if (is("--huge-pages", nullptr)) {
      o.huge_pages = true;
    } else if (is("--verify", nullptr)) {
      o.verify = true;
    } else if (is("--json", nullptr)) {
      o.json = true;
    } else {
      UsageError("unknown option '%s'", a);
    }
  }
  if (o.model.empty()) UsageError("%s", "a model is required (-m MODEL.kite)");
  if (o.chat && o.json) UsageError("%s", "--chat and --json cannot be combined");
  if (o.system_given && !o.chat) UsageError("%s", "--system needs --chat");
  return o;
}

void AppendJsonString(std::string* out, const std::string& s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendIds(std::string* out, const std::vector<int32_t>& ids) {
  out->push_back('[');
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) *out += ", ";
    *out += std::to_string(ids[i]);
  }
  out->push_back(']');
}

const char* StopReasonName(kite_stop_reason r) {
  switch (r) {
    case KITE_STOP_MAX_TOKENS: return "max_tokens";
    case KITE_STOP_END_TOKEN: return "end_token";
    case KITE_STOP_CALLBACK: return "callback";
    case KITE_STOP_CONTEXT_FULL: return "context_full";
    case KITE_STOP_CANCELLED: return "cancelled";
  }
  return "unknown";
}

struct Collected {
  bool stream = false;
  std::string text;
  std::vector<int32_t> ids;
};

int OnToken(const char* piece, int32_t token, void* user) {
  Collected* c = static_cast<Collected*>(user);
  c->ids.push_back(token);
  c->text += piece;
  if (c->stream) {
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

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);

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
  kite_session* session = nullptr;
  s = kite_session_create(model, &so, nullptr, 0, &session);
  if (s != KITE_OK) {
    const int rc = Fail("cannot create session", s, kite_last_error());
    kite_model_close(model);
    return rc;
  }

  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = static_cast<int32_t>(o.max_tokens);
  go.temperature = static_cast<float>(o.temp);
  go.top_k = static_cast<int32_t>(o.top_k);
  go.top_p = static_cast<float>(o.top_p);
  go.seed = o.seed_given ? o.seed
                         : static_cast<unsigned long long>(
                               std::chrono::steady_clock::now().time_since_epoch().count());

  if (o.chat) {
    const int rc = RunChat(o, model, session, go, so.max_context);
    kite_session_destroy(session);
    kite_model_close(model);
    return rc;
  }

  Collected collected;
  collected.stream = !o.json;
  if (!o.json) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  kite_generate_stats stats;
  stats.struct_size = sizeof(stats);
  s = kite_generate(session, o.prompt.c_str(), &go, OnToken, &collected, &stats);
  if (s != KITE_OK) {
    if (!o.json) std::fputs("\n", stdout);
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
    std::string j = "{\"model\": ";
    AppendJsonString(&j, o.model);
    j += ", \"prompt\": ";
    AppendJsonString(&j, o.prompt);
    j += ", \"prompt_token_ids\": ";
    AppendIds(&j, prompt_ids);
    j += ", \"generated_token_ids\": ";
    AppendIds(&j, collected.ids);
    j += ", \"text\": ";
    AppendJsonString(&j, collected.text);
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  ", \"stop_reason\": \"%s\", \"seed\": %llu, \"temperature\": %g, \"top_k\": %ld, "
                  "\"top_p\": %g, \"context\": %u, \"threads\": %u, \"timings\": {\"prefill_ms\": "
                  "%.3f, \"decode_ms\": %.3f, \"first_token_ms\": %.3f, \"prefill_tok_s\": %.1f, "
                  "\"decode_tok_s\": %.1f}}",
                  StopReasonName(stats.stop_reason), static_cast<unsigned long long>(go.seed),
                  o.temp, o.top_k, o.top_p, so.max_context, so.threads, stats.prefill_ms,
                  stats.decode_ms, stats.first_token_ms, prefill_tok_s, decode_tok_s);
    j += buf;
    std::puts(j.c_str());
  } else {
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
