#include "samples/common/run_options.h"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include "tools/common/backend_flag.h"
#include "tools/common/kv_flag.h"
#include "tools/common/output_file.h"

namespace kite::samples {
namespace {

// --stop STR: one more stop string (up to KITE_MAX_STOP_STRINGS, each at most
// KITE_MAX_STOP_STRING_BYTES; the library checks that it is valid UTF-8).
std::string AddStop(RunOptions* o, const std::string& name, const std::string& value) {
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
std::string AddLogitBias(RunOptions* o, const std::string& name, const std::string& value) {
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

}  // namespace

long DefaultThreads() {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus < 1 ? 1 : cpus > 4 ? 4 : cpus;
}

std::vector<kite::flags::Flag> ModelFlags(RunOptions* o) {
  namespace flags = kite::flags;
  return {
      flags::String('m', "model", "PATH", &o->model, "model file (.kite), required"),
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
      flags::Int<long>(0, "context-shift", "N_KEEP", &o->n_keep, 0, 1 << 24,
                       "when generation fills the context, keep its first N_KEEP\n"
                       "tokens, drop the older half of the rest and go on\n"
                       "(default: a full context ends generation)"),
      flags::Switch(0, "verify", &o->verify, "check the model's segment checksums while opening"),
      flags::Switch(0, "huge-pages", &o->huge_pages,
                    "read the model into huge pages instead of mapping it\n"
                    "(faster decode on large models, slower open)"),
  };
}

std::vector<kite::flags::Flag> SamplingFlags(RunOptions* o) {
  namespace flags = kite::flags;
  return {
      flags::Int<long>('n', "max-tokens", "N", &o->max_tokens, 0, 1 << 24,
                       "tokens to generate, >= 0 (default 256)"),
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
  };
}

int Fail(const char* program, const char* what, kite_status s, const char* message) {
  std::fprintf(stderr, "%s: %s: %s: %s\n", program, what, kite_status_string(s), message);
  return 1;
}

void Opened::Close() {
  kite_session_destroy(session);
  kite_model_close(model);
  session = nullptr;
  model = nullptr;
}

int OpenModelAndSession(const char* program, const RunOptions& o, Opened* out) {
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.verify_checksums = o.verify ? 1 : 0;
  mo.huge_pages = o.huge_pages ? 1 : 0;
  mo.max_isa = o.isa.empty() ? nullptr : o.isa.c_str();
  kite_status s = kite_model_open_file(o.model.c_str(), &mo, &out->model);
  if (s != KITE_OK) return Fail(program, "cannot open model", s, kite_last_error());

  out->info.struct_size = sizeof(out->info);
  kite_model_get_info(out->model, &out->info);

  kite_session_options& so = out->session_options;
  kite_session_options_init(&so);
  so.max_context = o.ctx > 0 ? static_cast<uint32_t>(o.ctx)
                             : (out->info.max_seq_len < 512 ? out->info.max_seq_len : 512);
  so.threads = static_cast<uint32_t>(o.threads > 0 ? o.threads : DefaultThreads());
  so.prefill_chunk = static_cast<uint32_t>(o.prefill_chunk);
  so.kv_type = o.kv;
  so.backend = o.backend;
  so.context_shift = o.n_keep >= 0 ? 1 : 0;
  so.n_keep = o.n_keep >= 0 ? static_cast<uint32_t>(o.n_keep) : 0;
  s = kite_session_create(out->model, &so, nullptr, 0, &out->session);
  if (s != KITE_OK) {
    const int rc = Fail(program, "cannot create session", s, kite_last_error());
    out->Close();
    return rc;
  }
  kite::flags::PrintBackendNotice(program, out->session);
  return -1;
}

kite_generate_options GenerateOptions(const RunOptions& o, std::vector<const char*>* stop_storage) {
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
  stop_storage->clear();
  for (const std::string& st : o.stop) stop_storage->push_back(st.c_str());
  go.stop = stop_storage->data();
  go.n_stop = stop_storage->size();
  go.raw_pieces = o.raw_pieces ? 1 : 0;
  return go;
}

bool SaveSessionState(const kite_session* session, std::string* state, std::string* error) {
  size_t size = 0, written = 0;
  if (kite_session_state_size(session, &size) != KITE_OK) {
    *error = kite_session_last_error(session);
    return false;
  }
  state->resize(size);
  if (kite_session_save_state(session, &(*state)[0], state->size(), &written) != KITE_OK) {
    *error = kite_session_last_error(session);
    return false;
  }
  state->resize(written);
  return true;
}

absl::Status ReplaceFile(const std::string& path, const std::string& bytes) {
  kite::tools::PendingOutputFile out(path);
  absl::Status s = out.Open();
  if (s.ok()) {
    out.Write(bytes.data(), bytes.size());
    s = out.Commit();
  }
  return s;
}

}  // namespace kite::samples
