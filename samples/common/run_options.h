// What kite-generate and kite-chat share: the options that open a model and a session and
// shape generation (their flags, one table), and opening the model and session from them.
// Uses only the public C API and the tools' flag parser. Host samples only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kite/kite.h"
#include "tools/common/flags.h"

namespace kite::samples {

/// The model, session and sampling options of a generating sample (defaults as their
/// --help states). Filled by the flags of ModelFlags() and SamplingFlags().
struct RunOptions {
  std::string model;         ///< the .kite file
  long max_tokens = 256;     ///< tokens to generate per kite_generate call
  long ctx = 0;              ///< context length in tokens; 0: min(512, the model's max)
  long threads = 0;          ///< threads; 0: DefaultThreads()
  long prefill_chunk = 64;   ///< prompt tokens processed together
  uint32_t kv = KITE_KV_F32; ///< a kite_kv_type
  uint32_t backend = KITE_BACKEND_CPU;  ///< a kite_backend
  std::string isa;           ///< highest ISA ("" = best or $KITE_ISA)
  bool verify = false;       ///< check the segment checksums while opening
  bool huge_pages = false;   ///< read the model into huge pages
  long n_keep = -1;          ///< --context-shift N_KEEP (-1: off)
  double temp = 0.8;
  long top_k = 0;
  double top_p = 0.9;
  unsigned long long seed = 0;
  bool seed_given = false;   ///< set by the caller from ParsedArgs::Given("seed")
  double min_p = 0.0;
  double repeat_penalty = 1.0;
  long repeat_last_n = 64;
  double frequency_penalty = 0.0;
  double presence_penalty = 0.0;
  std::vector<std::string> stop;
  std::vector<kite_logit_bias> logit_bias;
  bool raw_pieces = false;
};

/// The online CPUs, at most 4 (the cores of a Raspberry Pi; beyond that, decode is bound
/// by memory bandwidth, and phones' extra cores are slow ones).
long DefaultThreads();

/// -m, -c, -t, --prefill-chunk, --kv, --backend, --isa, --context-shift, --verify,
/// --huge-pages, writing into *o (which must outlive the flags).
std::vector<kite::flags::Flag> ModelFlags(RunOptions* o);

/// -n, --temp, --top-k, --top-p, --seed, --min-p, the penalties, --stop, --logit-bias,
/// --raw-pieces, writing into *o (which must outlive the flags).
std::vector<kite::flags::Flag> SamplingFlags(RunOptions* o);

/// Prints "PROGRAM: WHAT: STATUS: MESSAGE" on stderr; returns 1 (the failure exit status).
int Fail(const char* program, const char* what, kite_status s, const char* message);

/// An open model and a session on it (both owned; Close() releases them).
struct Opened {
  kite_model* model = nullptr;
  kite_session* session = nullptr;
  kite_model_info info{};
  kite_session_options session_options{};

  /// Destroys the session and closes the model (either may be null).
  void Close();
};

/// Opens o.model and creates a session with o's options, printing the backend notice.
/// Returns -1 on success, else the exit status after printing why on stderr (nothing is
/// left open then). `program` names the tool in messages.
int OpenModelAndSession(const char* program, const RunOptions& o, Opened* out);

/// The kite_generate options o describes. The stop strings point into o.stop through
/// *stop_storage, which must outlive the options (as o must). The seed is o.seed when
/// given, else taken from the clock.
kite_generate_options GenerateOptions(const RunOptions& o, std::vector<const char*>* stop_storage);

/// The session's state (kite_session_state_size, then kite_session_save_state) in
/// *state. False with *error (the library's message) when it cannot be saved (e.g. a
/// Vulkan session).
bool SaveSessionState(const kite_session* session, std::string* state, std::string* error);

/// Writes `bytes` to `path` through a temporary renamed over it (tools/common/output_file.h:
/// only a regular file or nothing may be replaced; on failure `path` is left as it was).
/// Errors name the path.
absl::Status ReplaceFile(const std::string& path, const std::string& bytes);

}  // namespace kite::samples
