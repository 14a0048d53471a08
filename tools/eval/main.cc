// kite-eval: teacher-forced evaluation of a .kite model (perplexity), optionally against a
// reference model run in lock-step (KL divergence, top-1 agreement, RMS delta-p). Uses only
// the public C API (and the tools' JSON reader and writer). See MakeSpec and kFooter for the
// options and the exact definitions.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "absl/status/statusor.h"
#include "tools/common/flags.h"
#include "tools/common/input_file.h"
#include "tools/common/json.h"
#include "tools/common/backend_flag.h"
#include "tools/common/kv_flag.h"

namespace {

constexpr int kExitFailure = kite::flags::kExitFailure;
constexpr int kExitUsage = kite::flags::kExitUsage;

// The kite-eval help text around the flag table (see MakeSpec).
constexpr const char* kHeader = R"(kite-eval: teacher-forced evaluation of a .kite model

usage: kite-eval -m MODEL.kite [--reference REF.kite] (--text FILE | --tokens FILE.json)
                 [--ctx N] [--kv f32|int8] [--ref-kv f32|int8] [--backend cpu|vulkan|auto]
                 [--ref-backend cpu|vulkan|auto] [--isa NAME] [--ref-isa NAME]
                 [--json] [-t THREADS]

)";

constexpr const char* kFooter = R"(
Method (teacher forcing): the tokens of a chunk are fed one at a time with
kite_session_feed; after token t the model's logits give a distribution P over the
vocabulary for token t+1 (softmax, computed in double with log-sum-exp). A chunk of n
tokens gives n-1 positions. Every figure is a mean over positions; the totals weight every
position equally (not every chunk).

  ppl      exp(mean over positions of -ln P_model(true next token))
  acc      fraction of positions where argmax P_model is the true next token
With --reference (P_ref is the reference's distribution at the same position):
  kld      mean over positions of KL(P_ref || P_model) = sum_v P_ref(v) ln(P_ref(v)/P_model(v)),
           in nats
  top1     fraction of positions where argmax P_model == argmax P_ref (top-1 agreement)
  rms_dp   sqrt(mean over positions of mean over the V vocabulary entries of
           (P_model(v) - P_ref(v))^2)
  ref_ppl  the reference's own perplexity, ref_acc its own accuracy

Output: a summary with the totals and the worst chunk (highest kld with --reference,
otherwise highest ppl); --json prints one object with the totals ("ppl", "acc", "tokens"
= positions evaluated, and with --reference "kld", "top1", "rms_dp", "ref_ppl", "ref_acc")
and "chunks", one object per chunk with the same figures plus "story" (the story index,
or -1 for --text), "start" (offset of the chunk's first token in its story or text) and
"tokens". Progress goes to stderr.

Models are memory-mapped: replace a .kite file by writing a new one and renaming it over
the old one, never by rewriting it in place (a file truncated while mapped kills the
process with SIGBUS).

Exit status: 0 success, 1 failure (unreadable or invalid files, models that cannot be
compared), 2 usage error.

example:
  kite-eval -m stories260K-q4.kite --reference stories260K-f32.kite \
      --tokens ../shared/models/eval/stories260K-samples-dev.tokens.json
  # the int8 KV cache against the f32 one, same weights:
  kite-eval -m stories260K-q4.kite --kv int8 --reference stories260K-q4.kite \
      --tokens ../shared/models/eval/stories260K-samples-dev.tokens.json
)";

struct Options {
  std::string model;
  std::string reference;
  std::string text_path;
  std::string tokens_path;
  long ctx = 0;  // 0: pick from the models
  long threads = 1;
  uint32_t kv = KITE_KV_F32;      // the model's KV cache type
  uint32_t ref_kv = KITE_KV_F32;  // the reference's
  std::string isa, ref_isa;                 // highest instruction sets ("": best or $KITE_ISA)
  uint32_t backend = KITE_BACKEND_CPU;      // where the model's session runs
  uint32_t ref_backend = KITE_BACKEND_CPU;  // the reference's
  bool json = false;
};

[[noreturn]] void Fail(const char* fmt, const char* a, const char* b = "") {
  std::fprintf(stderr, "kite-eval: ");
  std::fprintf(stderr, fmt, a, b);
  std::fprintf(stderr, "\n");
  std::exit(kExitFailure);
}

// The kite-eval flag table, writing into *o.
kite::flags::FlagSpec MakeSpec(Options* o) {
  namespace flags = kite::flags;
  flags::FlagSpec spec;
  spec.program = "kite-eval";
  spec.header = kHeader;
  spec.footer = kFooter;
  spec.help_column = 25;
  spec.flags = {
      flags::String('m', "model", "PATH", &o->model, "model to evaluate (.kite), required"),
      flags::String('r', "reference", "PATH", &o->reference,
                    "reference model (.kite) run in lock-step on the same tokens; it\n"
                    "must have the same vocabulary size"),
      flags::String(0, "tokens", "FILE", &o->tokens_path,
                    "JSON token file: a top-level object whose \"stories\" array holds\n"
                    "objects with \"token_ids\": [...] (each story normally starts with\n"
                    "BOS). Each story is one chunk, evaluated from a fresh context."),
      flags::String(0, "text", "FILE", &o->text_path,
                    "UTF-8 text: encoded as a whole (BOS first), then cut into\n"
                    "consecutive windows of --ctx tokens; each window is one chunk,\n"
                    "evaluated from a fresh context."),
      flags::Int<long>('c', "ctx", "N", &o->ctx, 2, 1 << 24,
                       "context window in tokens, 2..the models' max_seq_len\n"
                       "(default: min(512, max_seq_len)). A story longer than N tokens is\n"
                       "cut into consecutive, non-overlapping windows of N tokens, each\n"
                       "from a fresh context; a window of one token predicts nothing."),
      flags::Int<long>('t', "threads", "N", &o->threads, 1, 256,
                       "worker threads per session, 1..256 (default 1); more than\n"
                       "the online CPUs are capped at their count, with a warning"),
      flags::KvTypeFlag(&o->kv, "KV cache type of the model's session (default f32); int8\n"
                                "keeps one scale per KV head per position"),
      flags::KvTypeFlag(&o->ref_kv, "KV cache type of the reference's session (default f32)",
                        "ref-kv"),
      flags::String(0, "isa", "NAME", &o->isa,
                    "highest instruction set of the model's kernels: scalar, avx2,\n"
                    "avxvnni, avx512vnni, neon, neondot, i8mm or best (default best,\n"
                    "or $KITE_ISA)"),
      flags::String(0, "ref-isa", "NAME", &o->ref_isa,
                    "the same for the reference; e.g. --ref-isa scalar measures the\n"
                    "SIMD kernels' divergence from the scalar reference"),
      flags::BackendFlag(&o->backend, std::string("where the model's session runs.\n") +
                                          flags::kBackendHelp),
      flags::BackendFlag(&o->ref_backend,
                         "where the reference's session runs (default cpu); e.g. the\n"
                         "same file with --backend vulkan --ref-backend cpu measures\n"
                         "the Vulkan path's divergence from the CPU's",
                         "ref-backend"),
      flags::Switch(0, "json", &o->json, "print one JSON object instead of the summary"),
  };
  return spec;
}

// Parses the command line into *o. Returns -1 to go on, or the exit status when done: 0
// after printing the help, kExitUsage after printing a bad command line's error.
int Parse(int argc, char** argv, Options* o) {
  const kite::flags::FlagSpec spec = MakeSpec(o);
  const kite::flags::ParsedArgs parsed =
      kite::flags::Parse(spec, std::vector<std::string>(argv + 1, argv + argc));
  std::string error = parsed.error;
  if (parsed.ok() && parsed.help) {
    std::fputs(kite::flags::HelpText(spec).c_str(), stdout);
    return 0;
  }
  if (error.empty() && !parsed.positionals.empty()) {
    error = "unexpected argument '" + parsed.positionals[0] + "' (the model is given with -m)";
  }
  if (error.empty() && o->model.empty()) error = "a model is required (-m MODEL.kite)";
  if (error.empty() && o->text_path.empty() == o->tokens_path.empty()) {
    error = "give exactly one input: --text FILE or --tokens FILE.json";
  }
  if (!error.empty()) {
    std::fputs(kite::flags::UsageError("kite-eval", error).c_str(), stderr);
    return kExitUsage;
  }
  const std::string capped = kite::flags::CapThreads("-t", &o->threads);
  if (!capped.empty()) std::fprintf(stderr, "kite-eval: warning: %s\n", capped.c_str());
  return -1;
}

// A contiguous run of tokens evaluated from a fresh context.
struct Chunk {
  long story = -1;   // index in the token file, -1 for --text
  size_t start = 0;  // offset of the first token in its story or text
  std::vector<int32_t> ids;
};

// Cuts `ids` into consecutive windows of at most `ctx` tokens; windows of one token
// predict nothing and are dropped.
void AppendWindows(const std::vector<int32_t>& ids, long story, size_t ctx,
                   std::vector<Chunk>* chunks) {
  for (size_t start = 0; start + 1 < ids.size(); start += ctx) {
    Chunk c;
    c.story = story;
    c.start = start;
    c.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(start),
                 ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), start + ctx)));
    if (c.ids.size() >= 2) chunks->push_back(std::move(c));
  }
}

// Reads a token file: a JSON object whose "stories" array holds objects, each with a
// "token_ids" array of integer ids in [0, vocab); other members are ignored. Anything else
// (malformed JSON, another shape, an id outside the vocabulary) is fatal, naming the place.
std::vector<Chunk> LoadTokenFile(const std::string& path, uint32_t vocab, size_t ctx) {
  absl::StatusOr<kite::json::Value> doc = kite::json::ParseFile(path);
  if (!doc.ok()) Fail("%s", std::string(doc.status().message()).c_str());
  if (!doc->is_object()) Fail("%s: the document is not an object", path.c_str());
  const kite::json::Value* stories = doc->Find("stories");
  if (stories == nullptr || !stories->is_array()) {
    Fail("%s: no \"stories\" array at the top level", path.c_str());
  }
  if (stories->array().empty()) Fail("%s: no story in \"stories\"", path.c_str());
  std::vector<Chunk> chunks;
  for (size_t story = 0; story < stories->array().size(); ++story) {
    const kite::json::Value& s = stories->array()[story];
    const std::string name = "story " + std::to_string(story);
    if (!s.is_object()) Fail("%s: %s is not an object", path.c_str(), name.c_str());
    const kite::json::Value* token_ids = s.Find("token_ids");
    if (token_ids == nullptr || !token_ids->is_array()) {
      Fail("%s: %s has no \"token_ids\" array", path.c_str(), name.c_str());
    }
    std::vector<int32_t> ids(token_ids->array().size());
    for (size_t i = 0; i < ids.size(); ++i) {
      int64_t id;
      if (!token_ids->array()[i].is_integer() || !token_ids->array()[i].GetInt64(&id)) {
        Fail("%s: %s: \"token_ids\" is not an array of integers", path.c_str(), name.c_str());
      }
      if (id < 0 || id >= static_cast<int64_t>(vocab)) {
        const std::string what = name + ", token " + std::to_string(i) + ": id " +
                                 std::to_string(id) + " is outside the vocabulary [0, " +
                                 std::to_string(vocab) + ")";
        Fail("%s: %s", path.c_str(), what.c_str());
      }
      ids[i] = static_cast<int32_t>(id);
    }
    AppendWindows(ids, static_cast<long>(story), ctx, &chunks);
  }
  return chunks;
}

std::vector<Chunk> LoadTextFile(const std::string& path, const kite_model* model, size_t ctx) {
  absl::StatusOr<std::string> contents = kite::tools::ReadInputFile(path);
  if (!contents.ok()) Fail("%s", std::string(contents.status().message()).c_str());
  const std::string& text = *contents;
  // Three ids per byte lets the encoder take its fast merge path (see kite_tokenize).
  std::vector<int32_t> ids(3 * (text.size() + 2));
  size_t n = 0;
  if (kite_tokenize(model, text.data(), text.size(), 1, ids.data(), ids.size(), &n) != KITE_OK) {
    Fail("cannot encode %s: %s", path.c_str(), kite_last_error());
  }
  ids.resize(n);
  std::vector<Chunk> chunks;
  AppendWindows(ids, -1, ctx, &chunks);
  return chunks;
}

// Sums over positions; ToFigures() turns them into means.
struct Accumulator {
  size_t positions = 0;
  double nll = 0, ref_nll = 0, kld = 0, sq_dp = 0;
  size_t correct = 0, ref_correct = 0, agree = 0;

  void Add(const Accumulator& o) {
    positions += o.positions;
    nll += o.nll;
    ref_nll += o.ref_nll;
    kld += o.kld;
    sq_dp += o.sq_dp;
    correct += o.correct;
    ref_correct += o.ref_correct;
    agree += o.agree;
  }
};

// The figures of kFooter for one chunk or for all.
struct Figures {
  size_t tokens = 0;
  double ppl = 0, acc = 0, kld = 0, top1 = 0, rms_dp = 0, ref_ppl = 0, ref_acc = 0;
};

Figures ToFigures(const Accumulator& a) {
  Figures f;
  f.tokens = a.positions;
  if (a.positions == 0) return f;
  const double n = static_cast<double>(a.positions);
  f.ppl = std::exp(a.nll / n);
  f.acc = static_cast<double>(a.correct) / n;
  f.kld = a.kld / n;
  f.top1 = static_cast<double>(a.agree) / n;
  f.rms_dp = std::sqrt(a.sq_dp / n);
  f.ref_ppl = std::exp(a.ref_nll / n);
  f.ref_acc = static_cast<double>(a.ref_correct) / n;
  return f;
}

// Log-probabilities of `logits` (log-sum-exp in double) into *logp; returns the argmax.
size_t LogSoftmax(const float* logits, size_t n, std::vector<double>* logp) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  const double max = logits[best];
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_z = max + std::log(sum);
  for (size_t i = 0; i < n; ++i) (*logp)[i] = static_cast<double>(logits[i]) - log_z;
  return best;
}

// A model opened with one session of `ctx` tokens.
struct Runner {
  std::string path;
  kite_model* model = nullptr;
  kite_session* session = nullptr;
  kite_model_info info{};

  ~Runner() {
    kite_session_destroy(session);
    kite_model_close(model);
  }

  // `isa`: kite_model_options.max_isa ("" for the default: best, or $KITE_ISA).
  void Open(const std::string& file, const std::string& isa) {
    path = file;
    kite_model_options mo;
    kite_model_options_init(&mo);
    if (!isa.empty()) mo.max_isa = isa.c_str();
    if (kite_model_open_file(path.c_str(), &mo, &model) != KITE_OK) {
      Fail("cannot open model %s: %s", path.c_str(), kite_last_error());
    }
    info.struct_size = sizeof(info);
    if (kite_model_get_info(model, &info) != KITE_OK)
      Fail("%s: cannot read the model info", path.c_str());
  }

  void CreateSession(uint32_t ctx, uint32_t threads, uint32_t kv_type, uint32_t backend) {
    kite_session_options so;
    kite_session_options_init(&so);
    so.max_context = ctx;
    so.threads = threads;
    so.kv_type = kv_type;
    so.backend = backend;
    if (kite_session_create(model, &so, nullptr, 0, &session) != KITE_OK) {
      Fail("%s: cannot create a session: %s", path.c_str(), kite_last_error());
    }
    kite::flags::PrintBackendNotice("kite-eval", session);
  }

  void Reset() {
    if (kite_session_reset(session) != KITE_OK)
      Fail("%s: reset failed: %s", path.c_str(), kite_session_last_error(session));
  }

  // Feeds one token and returns the next-token logits (vocab_size floats).
  const float* Feed(int32_t id) {
    if (kite_session_feed(session, &id, 1) != KITE_OK)
      Fail("%s: feed failed: %s", path.c_str(), kite_session_last_error(session));
    const float* logits = nullptr;
    size_t n = 0;
    if (kite_session_logits(session, &logits, &n) != KITE_OK || n != info.vocab_size) {
      Fail("%s: cannot read the logits: %s", path.c_str(), kite_session_last_error(session));
    }
    return logits;
  }
};

// Progress on stderr: rewritten in place on a terminal, else one line per 10%.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO) != 0) {}

  void Update(size_t done) {
    if (total_ == 0) return;
    const int tenth = static_cast<int>(10 * done / total_);
    if (tty_) {
      if (done != total_ && done % 256 != 0) return;
      std::fprintf(stderr, "\rkite-eval: %zu/%zu positions (%.0f%%)", done, total_,
                   100.0 * static_cast<double>(done) / static_cast<double>(total_));
      if (done == total_) std::fputc('\n', stderr);
    } else if (tenth > last_tenth_) {
      last_tenth_ = tenth;
      std::fprintf(stderr, "kite-eval: %zu/%zu positions (%d%%)\n", done, total_, tenth * 10);
    }
  }

 private:
  size_t total_;
  bool tty_;
  int last_tenth_ = 0;
};

// Adds the figures to the JSON object *out: NaN and infinities become null.
void AddFigures(kite::json::Value* out, const Figures& f, bool with_ref) {
  using kite::json::Value;
  out->Add("tokens", Value::Int(static_cast<int64_t>(f.tokens)));
  out->Add("ppl", Value::Rounded(f.ppl, 10));
  out->Add("acc", Value::Rounded(f.acc, 10));
  if (with_ref) {
    out->Add("kld", Value::Rounded(f.kld, 10));
    out->Add("top1", Value::Rounded(f.top1, 10));
    out->Add("rms_dp", Value::Rounded(f.rms_dp, 10));
    out->Add("ref_ppl", Value::Rounded(f.ref_ppl, 10));
    out->Add("ref_acc", Value::Rounded(f.ref_acc, 10));
  }
}

std::string ChunkName(const Chunk& c) {
  const std::string range =
      "tokens " + std::to_string(c.start) + "-" + std::to_string(c.start + c.ids.size() - 1);
  if (c.story < 0) return "window at " + range;
  return "story " + std::to_string(c.story) + " (" + range + ")";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const int parse_status = Parse(argc, argv, &o);
  if (parse_status >= 0) return parse_status;
  const bool with_ref = !o.reference.empty();

  Runner model, ref;
  model.Open(o.model, o.isa);
  uint32_t max_seq = model.info.max_seq_len;
  if (with_ref) {
    ref.Open(o.reference, o.ref_isa);
    if (ref.info.vocab_size != model.info.vocab_size) {
      const std::string sizes =
          std::to_string(model.info.vocab_size) + " vs " + std::to_string(ref.info.vocab_size);
      Fail("the model and the reference have different vocabulary sizes (%s)", sizes.c_str());
    }
    max_seq = std::min(max_seq, ref.info.max_seq_len);
  }
  if (max_seq < 2) Fail("%s: max_seq_len is below 2 tokens", o.model.c_str());
  if (o.ctx > static_cast<long>(max_seq)) {
    std::fprintf(stderr, "kite-eval: --ctx %ld exceeds the max_seq_len of the model%s (%u)\n",
                 o.ctx, with_ref ? "s" : "", max_seq);
    std::exit(kExitUsage);
  }
  const uint32_t ctx = o.ctx > 0 ? static_cast<uint32_t>(o.ctx) : std::min<uint32_t>(512, max_seq);

  const std::vector<Chunk> chunks = o.tokens_path.empty()
                                        ? LoadTextFile(o.text_path, model.model, ctx)
                                        : LoadTokenFile(o.tokens_path, model.info.vocab_size, ctx);
  size_t total = 0;
  for (const Chunk& c : chunks) total += c.ids.size() - 1;
  if (total == 0)
    Fail("%s: nothing to evaluate (no chunk has two tokens)",
         (o.tokens_path.empty() ? o.text_path : o.tokens_path).c_str());

  // A session holds one window; the last token of a window is never fed (nothing to predict).
  model.CreateSession(ctx, static_cast<uint32_t>(o.threads), o.kv, o.backend);
  if (with_ref) ref.CreateSession(ctx, static_cast<uint32_t>(o.threads), o.ref_kv, o.ref_backend);

  const size_t vocab = model.info.vocab_size;
  std::vector<double> logp(vocab), ref_logp(vocab);
  std::vector<Accumulator> per_chunk(chunks.size());
  Progress progress(total);
  size_t done = 0;
  const auto start_time = std::chrono::steady_clock::now();
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const std::vector<int32_t>& ids = chunks[ci].ids;
    Accumulator& acc = per_chunk[ci];
    model.Reset();
    if (with_ref) ref.Reset();
    for (size_t t = 0; t + 1 < ids.size(); ++t) {
      const size_t next = static_cast<size_t>(ids[t + 1]);
      const size_t best = LogSoftmax(model.Feed(ids[t]), vocab, &logp);
      acc.nll -= logp[next];
      acc.correct += best == next;
      if (with_ref) {
        const size_t ref_best = LogSoftmax(ref.Feed(ids[t]), vocab, &ref_logp);
        acc.ref_nll -= ref_logp[next];
        acc.ref_correct += ref_best == next;
        acc.agree += ref_best == best;
        double kl = 0, sq = 0;
        for (size_t v = 0; v < vocab; ++v) {
          const double p_ref = std::exp(ref_logp[v]);
          const double p = std::exp(logp[v]);
          kl += p_ref * (ref_logp[v] - logp[v]);
          sq += (p - p_ref) * (p - p_ref);
        }
        acc.kld += kl;
        acc.sq_dp += sq / static_cast<double>(vocab);
      }
      ++acc.positions;
      progress.Update(++done);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();

  Accumulator sum;
  for (const Accumulator& a : per_chunk) sum.Add(a);
  const Figures all = ToFigures(sum);
  std::vector<Figures> figures;
  figures.reserve(chunks.size());
  size_t worst = 0;
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    figures.push_back(ToFigures(per_chunk[ci]));
    const double score = with_ref ? figures[ci].kld : figures[ci].ppl;
    const double worst_score = with_ref ? figures[worst].kld : figures[worst].ppl;
    if (score > worst_score || std::isnan(score)) worst = ci;
  }

  if (o.json) {
    using kite::json::Value;
    Value j;
    j.Add("model", Value::String(o.model));
    if (with_ref) j.Add("reference", Value::String(o.reference));
    if (o.tokens_path.empty()) {
      j.Add("text", Value::String(o.text_path));
    } else {
      j.Add("token_file", Value::String(o.tokens_path));
    }
    j.Add("ctx", Value::Int(ctx)).Add("vocab_size", Value::Int(vocab));
    j.Add("seconds", Value::Rounded(seconds, 10));
    AddFigures(&j, all, with_ref);
    j.Add("worst_chunk", Value::Int(static_cast<int64_t>(worst)));
    Value list = Value::Array({});
    for (size_t ci = 0; ci < chunks.size(); ++ci) {
      Value chunk;
      chunk.Add("story", Value::Int(chunks[ci].story))
          .Add("start", Value::Int(static_cast<int64_t>(chunks[ci].start)));
      AddFigures(&chunk, figures[ci], with_ref);
      list.Push(std::move(chunk));
    }
    j.Add("chunks", std::move(list));
    std::printf("%s\n", kite::json::Write(j).c_str());
    return 0;
  }

  std::printf("kite-eval: %s", o.model.c_str());
  if (with_ref) std::printf(" against %s", o.reference.c_str());
  std::printf("\n  %zu chunks, %zu positions, ctx %u, %.2f s (%.0f positions/s)\n", chunks.size(),
              all.tokens, ctx, seconds, static_cast<double>(all.tokens) / std::max(seconds, 1e-9));
  if (with_ref) {
    std::printf("  ppl      %.4f   (reference %.4f)\n", all.ppl, all.ref_ppl);
    std::printf("  acc      %.2f%%   (reference %.2f%%)   next-token accuracy\n", 100 * all.acc,
                100 * all.ref_acc);
    std::printf("  kld      %.6f nats   KL(P_ref || P_model)\n", all.kld);
    std::printf("  top1     %.2f%%   top-1 agreement with the reference\n", 100 * all.top1);
    std::printf("  rms_dp   %.6f\n", all.rms_dp);
    const Figures& w = figures[worst];
    std::printf(
        "  worst chunk: %s: kld %.6f, top1 %.2f%%, ppl %.4f (reference %.4f), %zu positions\n",
        ChunkName(chunks[worst]).c_str(), w.kld, 100 * w.top1, w.ppl, w.ref_ppl, w.tokens);
  } else {
    std::printf("  ppl      %.4f\n", all.ppl);
    std::printf("  acc      %.2f%%   next-token accuracy\n", 100 * all.acc);
    const Figures& w = figures[worst];
    std::printf("  worst chunk: %s: ppl %.4f, acc %.2f%%, %zu positions\n",
                ChunkName(chunks[worst]).c_str(), w.ppl, 100 * w.acc, w.tokens);
  }
  return 0;
}
