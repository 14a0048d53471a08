// kite-bench: load time, prefill and decode speed, time to first token, memory, and the
// same against this machine's roofline. See BenchHelpText() for the options and metrics.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kite/kite.h"
#include "tools/bench/bench_options.h"
#include "tools/bench/model_costs.h"
#include "tools/bench/proc_memory.h"
#include "tools/bench/roofline.h"
#include "tools/common/flags.h"
#include "tools/common/json.h"
#include "tools/common/backend_flag.h"
#include "tools/common/kv_flag.h"

namespace kite::bench {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Median, min and max of a set of measurements.
// One GPU kernel's times in a profiled run, split into prefill and decode.
struct KernelTimes {
  std::string name;
  uint32_t decode_calls = 0, prefill_calls = 0;
  double decode_ms = 0, prefill_ms = 0;
};

struct Summary {
  double median = 0, min = 0, max = 0;
};

Summary Summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v.front();
  s.max = v.back();
  return s;
}

// The process's peak resident set in bytes: VmHWM, else ru_maxrss.
uint64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "VmHWM: %llu kB", &kib) == 1) return kib * 1024;
  }
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  return 0;
}

// Deterministic pseudo-random ids in [3, vocab) (past the usual control tokens).
std::vector<int32_t> PromptIds(uint32_t count, uint32_t vocab) {
  std::vector<int32_t> ids(count);
  uint64_t state = 0x2545F4914F6CDD1Dull;
  const uint32_t span = vocab > 3 ? vocab - 3 : 1;
  for (int32_t& id : ids) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    id = static_cast<int32_t>(3 + state % span);
  }
  if (vocab <= 3) std::fill(ids.begin(), ids.end(), 0);
  return ids;
}

int32_t Argmax(const float* logits, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

// Bytes in decimal units: "812.3 kB", "85.6 MB", "1.24 GB".
std::string Mb(double bytes) {
  if (bytes >= 1e9) return absl::StrFormat("%.2f GB", bytes / 1e9);
  if (bytes >= 1e6) return absl::StrFormat("%.1f MB", bytes / 1e6);
  return absl::StrFormat("%.1f kB", bytes / 1e3);
}

// Ops in decimal units: "455.2 kop", "213.4 Mop", "2.20 Gop".
std::string Ops(double ops) {
  if (ops >= 1e9) return absl::StrFormat("%.2f Gop", ops / 1e9);
  if (ops >= 1e6) return absl::StrFormat("%.1f Mop", ops / 1e6);
  return absl::StrFormat("%.1f kop", ops / 1e3);
}

// A machine's roofs measured with one thread count.
struct Roofs {
  Bandwidth bandwidth;
  Int8Peak int8;
};

// One measured point: the prefill of a `prompt`-token prompt into a reset session of
// `threads` threads, then `generate` greedy decode steps, over the repetitions.
struct Point {
  uint32_t prompt = 0, threads = 0;
  bool long_context = false;  // the --long-context point
  Summary prefill_tok_s, prefill_ms, decode_tok_s, decode_ms, ttft_ms;
  double decode_bytes_per_token = 0;  // DecodeBytesPerToken: weights + the KV read
  double prefill_ops_per_token = 0;
  double decode_roof_tok_s = 0, prefill_roof_tok_s = 0;  // 0 when not measured
};

// Fills the point's costs from `costs` and, with `roofs`, its roofs.
void SetCostsAndRoofs(const ModelCosts& costs, uint32_t generate, const Roofs* roofs,
                      Point* p) {
  p->decode_bytes_per_token = DecodeBytesPerToken(costs, p->prompt, generate);
  p->prefill_ops_per_token = PrefillOpsPerToken(costs, p->prompt);
  if (roofs != nullptr) {
    p->decode_roof_tok_s = roofs->bandwidth.gb_per_s * 1e9 / p->decode_bytes_per_token;
    p->prefill_roof_tok_s = roofs->int8.gops * 1e9 / p->prefill_ops_per_token;
  }
}

// Everything measured, for either output format.
struct Results {
  BenchOptions options;
  uint32_t context = 0;
  kite_model_info info{};
  uint64_t model_bytes = 0;
  uint64_t arena_bytes = 0;
  uint64_t peak_rss_bytes = 0;
  uint64_t huge_mapped_bytes = 0;
  uint32_t backend = 0;  // the kite_backend the session ran on (auto resolved)
  std::vector<KernelTimes> kernels;  // Vulkan: per-kernel GPU times of one profiled run
  ModelCosts costs;
  Summary load_ms;
  bool roofline = false;
  Roofs roofs;  // with --roofline, at -t (not --sweep)
  Point main;   // the -p / -n measurement (not --sweep)
  uint32_t long_context = 0;  // --long-context: the session context C; 0 without
  Point long_point;           // --long-context, not --sweep
  std::vector<Point> sweep;   // --sweep: rows in run order (long-context rows flagged)
  std::vector<std::pair<uint32_t, Roofs>> sweep_roofs;  // --sweep --roofline: per thread count
  double load_average = -1;  ///< the system's 1-minute load average at the start; -1 unknown
  unsigned cpus = 0;         ///< CPUs online
};

// measured / roof, or 0 when the roof is unknown.
double Fraction(double measured, double roof) { return roof > 0 ? measured / roof : 0; }

// Adds `key` (a median), `key`_min and `key`_max.
void AddSummary(json::Value* j, const std::string& key, const Summary& s) {
  j->Add(key, json::Value::Rounded(s.median, 6));
  j->Add(key + "_min", json::Value::Rounded(s.min, 6));
  j->Add(key + "_max", json::Value::Rounded(s.max, 6));
}

// The model and run fields every JSON output starts with.
json::Value JsonHeader(const Results& r) {
  using json::Value;
  const BenchOptions& o = r.options;
  Value j;
  auto u64 = [&j](const std::string& key, uint64_t v) {
    j.Add(key, Value::Int(static_cast<int64_t>(v)));
  };
  j.Add("model", Value::String(o.model));
  j.Add("kite_version", Value::String(kite_version()));
  if (!o.sweep) u64("prompt_tokens", o.prompt);
  u64("gen_tokens", o.generate);
  if (!o.sweep) u64("threads", o.threads);
  u64("prefill_chunk", o.batch);
  u64("huge_pages", o.huge_pages ? 1 : 0);
  u64("repetitions", o.repetitions);
  u64("warmup", o.warmup);
  u64("context", r.context);
  u64("dim", r.info.dim);
  u64("n_layers", r.info.n_layers);
  u64("vocab_size", r.info.vocab_size);
  u64("cpus", r.cpus);
  j.Add("load_average_1m", Value::Rounded(r.load_average, 6));
  return j;
}

// The cost and (with `roofline`) roof fields of one point.
void AddPointFields(json::Value* j, const Point& p, bool roofline) {
  using json::Value;
  j->Add("decode_bytes_per_token", Value::Rounded(p.decode_bytes_per_token, 6));
  j->Add("prefill_ops_per_token", Value::Rounded(p.prefill_ops_per_token, 6));
  if (!roofline) return;
  j->Add("decode_roof_tok_s", Value::Rounded(p.decode_roof_tok_s, 6));
  j->Add("decode_roof_fraction",
         Value::Rounded(Fraction(p.decode_tok_s.median, p.decode_roof_tok_s), 6));
  j->Add("prefill_roof_tok_s", Value::Rounded(p.prefill_roof_tok_s, 6));
  j->Add("prefill_roof_fraction",
         Value::Rounded(Fraction(p.prefill_tok_s.median, p.prefill_roof_tok_s), 6));
}

// The measured roofs' fields.
void AddRoofFields(json::Value* j, const Roofs& roofs) {
  using json::Value;
  j->Add("bandwidth_gb_s", Value::Rounded(roofs.bandwidth.gb_per_s, 6));
  j->Add("bandwidth_buffer_bytes", Value::Uint(roofs.bandwidth.buffer_bytes));
  j->Add("bandwidth_isa", Value::String(roofs.bandwidth.isa));
  j->Add("bandwidth_huge_bytes", Value::Uint(roofs.bandwidth.huge_bytes));
  j->Add("int8_gops", Value::Rounded(roofs.int8.gops, 6));
  j->Add("int8_isa", Value::String(roofs.int8.isa));
}

// One point as its own JSON object (a sweep row, the long-context figure).
json::Value PointJson(const Point& p, bool roofline) {
  using json::Value;
  Value j = Value::Object({});
  j.Add("prompt_tokens", Value::Uint(p.prompt));
  j.Add("threads", Value::Uint(p.threads));
  j.Add("long_context", Value::Bool(p.long_context));
  AddSummary(&j, "prefill_tok_s", p.prefill_tok_s);
  AddSummary(&j, "prefill_ms", p.prefill_ms);
  AddSummary(&j, "decode_tok_s", p.decode_tok_s);
  AddSummary(&j, "decode_ms", p.decode_ms);
  AddPointFields(&j, p, roofline);
  return j;
}

void PrintJson(const Results& r) {
  using json::Value;
  const BenchOptions& o = r.options;
  Value j = JsonHeader(r);
  auto u64 = [&j](const std::string& key, uint64_t v) {
    j.Add(key, Value::Int(static_cast<int64_t>(v)));
  };
  if (o.sweep) {
    u64("weight_bytes_per_token", r.costs.weight_bytes_per_token);
    u64("kv_bytes_per_position", r.costs.kv_bytes_per_position);
    j.Add("kv_type", Value::String(kite::flags::KvTypeName(o.kv)));
    j.Add("backend", Value::String(kite::flags::BackendName(r.backend)));
    if (r.long_context) u64("long_context", r.long_context);
    if (r.roofline) {
      std::vector<Value> roofs;
      for (const auto& [threads, roof] : r.sweep_roofs) {
        Value row = Value::Object({{"threads", Value::Uint(threads)}});
        AddRoofFields(&row, roof);
        roofs.push_back(std::move(row));
      }
      j.Add("roofs", Value::Array(std::move(roofs)));
    }
    std::vector<Value> rows;
    for (const Point& p : r.sweep) rows.push_back(PointJson(p, r.roofline));
    j.Add("sweep", Value::Array(std::move(rows)));
    std::printf("%s\n", json::Write(j).c_str());
    return;
  }
  AddSummary(&j, "load_ms", r.load_ms);
  AddSummary(&j, "prefill_tok_s", r.main.prefill_tok_s);
  AddSummary(&j, "decode_tok_s", r.main.decode_tok_s);
  AddSummary(&j, "ttft_ms", r.main.ttft_ms);
  AddSummary(&j, "prefill_ms", r.main.prefill_ms);
  AddSummary(&j, "decode_ms", r.main.decode_ms);
  u64("peak_rss_bytes", r.peak_rss_bytes);
  u64("huge_mapped_bytes", r.huge_mapped_bytes);
  u64("model_bytes", r.model_bytes);
  u64("arena_bytes", r.arena_bytes);
  u64("kv_cache_bytes", r.costs.kv_cache_bytes);
  j.Add("kv_type", Value::String(kite::flags::KvTypeName(o.kv)));
  j.Add("backend", Value::String(kite::flags::BackendName(r.backend)));
  u64("weight_bytes_per_token", r.costs.weight_bytes_per_token);
  u64("kv_bytes_per_position", r.costs.kv_bytes_per_position);
  u64("layer_matmul_params", r.costs.layer_matmul_params);
  if (r.roofline) AddRoofFields(&j, r.roofs);
  AddPointFields(&j, r.main, r.roofline);
  if (r.long_context) {
    Value lc = PointJson(r.long_point, r.roofline);
    lc.Add("context", Value::Uint(r.long_context));
    j.Add("long_context", std::move(lc));
  }
  if (!r.kernels.empty()) {
    std::vector<Value> kernels;
    for (const KernelTimes& k : r.kernels) {
      kernels.push_back(Value::Object({{"name", Value::String(k.name)},
                                       {"prefill_calls", Value::Uint(k.prefill_calls)},
                                       {"prefill_ms", Value::Rounded(k.prefill_ms, 4)},
                                       {"decode_calls", Value::Uint(k.decode_calls)},
                                       {"decode_ms", Value::Rounded(k.decode_ms, 4)}}));
    }
    j.Add("gpu_kernels", Value::Array(std::move(kernels)));
  }
  std::printf("%s\n", json::Write(j).c_str());
}

// The first lines of a table: the model, `run` (what was run, one line) and the system
// load (other processes competing for the CPUs make every figure noisy).
std::string TableHeader(const Results& r, const std::string& run) {
  std::string s;
  absl::StrAppendFormat(&s, "kite-bench %s  model %s (%s)\n", kite_version(), r.options.model,
                        Mb(static_cast<double>(r.model_bytes)));
  absl::StrAppendFormat(&s,
                        "  dim %u, %u layers, %u/%u heads, vocab %u, %s head\n  %s\n",
                        r.info.dim, r.info.n_layers, r.info.n_heads, r.info.n_kv_heads,
                        r.info.vocab_size, r.costs.tied_embeddings ? "tied" : "separate", run);
  if (r.load_average >= 0) {
    absl::StrAppendFormat(&s, "  system load average %.2f on %u CPUs at the start\n",
                          r.load_average, r.cpus);
  }
  return s;
}

// "12.3%", or "-" when the roof is unknown.
std::string Percent(double measured, double roof) {
  return roof > 0 ? absl::StrFormat("%.1f%%", 100 * measured / roof) : "-";
}

// The --sweep table.
void PrintSweepTable(const Results& r) {
  const BenchOptions& o = r.options;
  std::string s = TableHeader(
      r, absl::StrFormat("sweep: %u decode steps after each prompt, chunks of %u, context %u, "
                         "KV %s, %u repetitions (+%u warmup)",
                         o.generate, o.batch, r.context, kite::flags::KvTypeName(o.kv),
                         o.repetitions, o.warmup));
  if (r.roofline) {
    absl::StrAppendFormat(&s, "\nroofline (this run)\n  %7s %14s %14s\n", "threads",
                          "read GB/s", "int8 Gops/s");
    for (const auto& [threads, roof] : r.sweep_roofs) {
      absl::StrAppendFormat(&s, "  %7u %14.1f %14.1f\n", threads, roof.bandwidth.gb_per_s,
                            roof.int8.gops);
    }
  }
  absl::StrAppendFormat(&s, "\n  %7s %7s %13s %11s %9s %12s %9s\n", "prompt", "threads",
                        "prefill tok/s", "prefill ms", "int8 roof", "decode tok/s",
                        "bw roof");
  for (const Point& p : r.sweep) {
    absl::StrAppendFormat(&s, "  %6u%s %7u %13.2f %11.2f %9s %12.2f %9s\n", p.prompt,
                          p.long_context ? "*" : " ", p.threads, p.prefill_tok_s.median,
                          p.prefill_ms.median,
                          Percent(p.prefill_tok_s.median, p.prefill_roof_tok_s),
                          p.decode_tok_s.median,
                          Percent(p.decode_tok_s.median, p.decode_roof_tok_s));
  }
  s += "\n  medians; int8 roof / bw roof: the fraction of the prefill / decode roof with\n"
       "  the row's threads (decode bytes count the KV read at the mean decode position)\n";
  if (r.long_context) {
    absl::StrAppendFormat(&s, "  * long context: the decode attends to %u+ real KV entries "
                              "(position %u of %u)\n",
                          LongContextPosition(r.long_context),
                          LongContextPosition(r.long_context), r.long_context);
  }
  std::fputs(s.c_str(), stdout);
}

void PrintTable(const Results& r) {
  const BenchOptions& o = r.options;
  std::string s = TableHeader(
      r, absl::StrFormat("threads %u, prompt %u (chunks of %u), decode %u, context %u, "
                         "%u repetitions (+%u warmup)",
                         o.threads, o.prompt, o.batch, o.generate, r.context, o.repetitions,
                         o.warmup));
  s += "\n";
  absl::StrAppendFormat(&s, "  %-18s %12s %12s %12s\n", "metric", "median", "min", "max");
  auto row = [&s](const char* name, const Summary& v) {
    absl::StrAppendFormat(&s, "  %-18s %12.2f %12.2f %12.2f\n", name, v.median, v.min, v.max);
  };
  row("load (ms)", r.load_ms);
  row("prefill (tok/s)", r.main.prefill_tok_s);
  row("decode (tok/s)", r.main.decode_tok_s);
  row("ttft (ms)", r.main.ttft_ms);
  if (r.long_context) {
    absl::StrAppendFormat(&s, "  %-18s %12.2f %12.2f %12.2f   (after %u of %u positions)\n",
                          "long decode", r.long_point.decode_tok_s.median,
                          r.long_point.decode_tok_s.min, r.long_point.decode_tok_s.max,
                          r.long_point.prompt, r.long_context);
  }
  absl::StrAppendFormat(&s, "\n  peak RSS      %s\n  model file    %s (%s in 2 MiB pages)\n"
                            "  arena         %s (KV cache %s, %s)\n  backend       %s\n",
                        Mb(static_cast<double>(r.peak_rss_bytes)),
                        Mb(static_cast<double>(r.model_bytes)),
                        Mb(static_cast<double>(r.huge_mapped_bytes)),
                        Mb(static_cast<double>(r.arena_bytes)),
                        Mb(static_cast<double>(r.costs.kv_cache_bytes)),
                        kite::flags::KvTypeName(o.kv), kite::flags::BackendName(r.backend));
  if (r.roofline) {
    const Bandwidth& bw = r.roofs.bandwidth;
    const Int8Peak& int8 = r.roofs.int8;
    absl::StrAppendFormat(&s, "\nroofline (%u thread%s)\n", o.threads, o.threads == 1 ? "" : "s");
    absl::StrAppendFormat(&s,
                          "  read bandwidth  %8.1f GB/s   (%s loads, best of %u, %s buffer, "
                          "%s in 2 MiB pages)\n",
                          bw.gb_per_s, bw.isa, bw.runs, Mb(static_cast<double>(bw.buffer_bytes)),
                          Mb(static_cast<double>(bw.huge_bytes)));
    if (int8.gops > 0) {
      absl::StrAppendFormat(&s, "  int8 peak       %8.1f Gops/s (%s, best of %u)\n", int8.gops,
                            int8.isa, int8.runs);
    } else {
      absl::StrAppendFormat(&s, "  int8 peak       not measured (no int8 dot loop for this CPU)\n");
    }
    auto decode = [&](const char* label, const Point& p) {
      absl::StrAppendFormat(
          &s,
          "  %-8s %s/token (weights %s + KV %s at %.1f positions)\n"
          "           roof %.2f tok/s, measured %.2f tok/s = %.1f%% of roof\n",
          label, Mb(p.decode_bytes_per_token),
          Mb(static_cast<double>(r.costs.weight_bytes_per_token)),
          Mb(p.decode_bytes_per_token - static_cast<double>(r.costs.weight_bytes_per_token)),
          p.prompt + (o.generate + 1) / 2.0, p.decode_roof_tok_s, p.decode_tok_s.median,
          100 * Fraction(p.decode_tok_s.median, p.decode_roof_tok_s));
    };
    decode("decode", r.main);
    if (r.long_context) decode("long", r.long_point);
    if (int8.gops > 0) {
      absl::StrAppendFormat(
          &s,
          "  prefill  %s/token\n"
          "           roof %.1f tok/s, measured %.2f tok/s = %.1f%% of roof\n",
          Ops(r.main.prefill_ops_per_token), r.main.prefill_roof_tok_s,
          r.main.prefill_tok_s.median,
          100 * Fraction(r.main.prefill_tok_s.median, r.main.prefill_roof_tok_s));
    }
  }
  if (!r.kernels.empty()) {
    double prefill = 0, decode = 0;
    for (const KernelTimes& k : r.kernels) {
      prefill += k.prefill_ms;
      decode += k.decode_ms;
    }
    const double tokens = o.generate > 0 ? o.generate : 1;
    absl::StrAppendFormat(&s,
                          "\nGPU kernels (one profiled run; timestamps, summed per shader)\n"
                          "  %-16s %12s %7s %16s %7s\n",
                          "kernel", "prefill ms", "share", "decode ms/token", "share");
    for (const KernelTimes& k : r.kernels) {
      absl::StrAppendFormat(&s, "  %-16s %12.3f %6.1f%% %16.4f %6.1f%%\n", k.name, k.prefill_ms,
                            100 * Fraction(k.prefill_ms, prefill), k.decode_ms / tokens,
                            100 * Fraction(k.decode_ms, decode));
    }
    absl::StrAppendFormat(&s, "  %-16s %12.3f %7s %16.4f\n", "total", prefill, "",
                          decode / tokens);
  }
  std::fputs(s.c_str(), stdout);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "kite-bench: %s\n", message.c_str());
  return kExitFailure;
}

// Opens the model and creates a session; on failure returns the message in *error.
// Times of one prefill + greedy decode run (Clock milliseconds).
struct RunTimes {
  double feed_ms = 0, first_ms = 0, step_ms = 0;
};

// Kernel times of a profiled session now (empty when it has none).
std::vector<KernelTimes> ReadKernelTimes(const kite_session* session, std::string* error) {
  size_t n = 0;
  if (kite_session_kernel_times(session, nullptr, 0, &n) != KITE_OK) {
    *error = absl::StrCat("cannot read the kernel times: ", kite_session_last_error(session));
    return {};
  }
  std::vector<kite_kernel_time> raw(n);
  kite_session_kernel_times(session, raw.data(), raw.size(), &n);
  std::vector<KernelTimes> out;
  for (const kite_kernel_time& t : raw) out.push_back({t.name, t.calls, 0, t.ms, 0});
  return out;
}

// Resets `session`, feeds `prompt` and decodes `generate` greedy tokens one feed at a
// time. With `kernels`, also reads the session's kernel times after the prefill and at
// the end (the session must be profiled). On failure *error says what failed.
RunTimes RunOnce(kite_session* session, const std::vector<int32_t>& prompt, uint32_t generate,
                 std::vector<KernelTimes>* kernels, std::string* error) {
  RunTimes t;
  kite_session_reset(session);
  const float* logits = nullptr;
  size_t n_logits = 0;
  const auto start = Clock::now();
  kite_status s = kite_session_feed(session, prompt.data(), prompt.size());
  t.feed_ms = MsSince(start);
  if (s == KITE_OK) s = kite_session_logits(session, &logits, &n_logits);
  if (s != KITE_OK) {
    *error = absl::StrCat("prefill failed: ", kite_session_last_error(session));
    return t;
  }
  std::vector<KernelTimes> after_prefill;
  if (kernels != nullptr) after_prefill = ReadKernelTimes(session, error);
  int32_t token = Argmax(logits, n_logits);
  t.first_ms = MsSince(start);

  const auto decode_start = Clock::now();
  for (uint32_t i = 0; i < generate && s == KITE_OK; ++i) {
    s = kite_session_feed(session, &token, 1);
    if (s == KITE_OK) s = kite_session_logits(session, &logits, &n_logits);
    if (s == KITE_OK) token = Argmax(logits, n_logits);
  }
  t.step_ms = MsSince(decode_start);
  if (s != KITE_OK) {
    *error = absl::StrCat("decode failed: ", kite_session_last_error(session));
    return t;
  }
  if (kernels != nullptr && error->empty()) {
    // Prefill's share by name; the decode's is the rest.
    *kernels = ReadKernelTimes(session, error);
    for (KernelTimes& k : *kernels) {
      for (const KernelTimes& p : after_prefill) {
        if (p.name == k.name) {
          k.prefill_ms = p.decode_ms;
          k.prefill_calls = p.decode_calls;
        }
      }
      k.decode_ms -= k.prefill_ms;
      k.decode_calls -= k.prefill_calls;
    }
  }
  return t;
}

bool OpenAndCreate(const BenchOptions& o, const kite_session_options& so, kite_model** model,
                   kite_session** session, std::string* error) {
  *model = nullptr;
  *session = nullptr;
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.huge_pages = o.huge_pages ? 1 : 0;
  if (kite_model_open_file(o.model.c_str(), &mo, model) != KITE_OK) {
    *error = absl::StrCat("cannot open ", o.model, ": ", kite_last_error());
    return false;
  }
  if (kite_session_create(*model, &so, nullptr, 0, session) != KITE_OK) {
    *error = absl::StrCat("cannot create a session: ", kite_last_error());
    kite_model_close(*model);
    *model = nullptr;
    return false;
  }
  return true;
}

// Runs the prefill of a `prompt`-token prompt then o.generate decode steps on `session`
// (of `threads` threads), o.warmup + o.repetitions times, and returns the point's times.
// On failure *error says what failed.
Point MeasurePoint(kite_session* session, uint32_t prompt, uint32_t threads, uint32_t vocab,
                   const BenchOptions& o, const std::function<void(const std::string&)>& progress,
                   std::string* error) {
  Point p;
  p.prompt = prompt;
  p.threads = threads;
  const std::vector<int32_t> ids = PromptIds(prompt, vocab);
  std::vector<double> prefill_tok_s, decode_tok_s, ttft_ms, prefill_ms, decode_ms;
  for (uint32_t run = 0; run < o.warmup + o.repetitions; ++run) {
    progress(absl::StrFormat("prompt %u, %u thread%s: run %u/%u", prompt, threads,
                             threads == 1 ? "" : "s", run + 1, o.warmup + o.repetitions));
    const RunTimes t = RunOnce(session, ids, o.generate, nullptr, error);
    if (!error->empty()) break;
    if (run < o.warmup) continue;
    prefill_ms.push_back(t.feed_ms);
    decode_ms.push_back(t.step_ms);
    prefill_tok_s.push_back(prompt / (t.feed_ms / 1e3));
    decode_tok_s.push_back(o.generate / (t.step_ms / 1e3));
    ttft_ms.push_back(t.first_ms);
  }
  p.prefill_tok_s = Summarize(prefill_tok_s);
  p.decode_tok_s = Summarize(decode_tok_s);
  p.ttft_ms = Summarize(ttft_ms);
  p.prefill_ms = Summarize(prefill_ms);
  p.decode_ms = Summarize(decode_ms);
  return p;
}

// The roofs with `threads` threads.
Roofs MeasureRoofs(const BenchOptions& o, uint32_t threads,
                   const std::function<void(const std::string&)>& progress) {
  Roofs roofs;
  progress(absl::StrFormat("measuring read bandwidth (%u threads)", threads));
  roofs.bandwidth = MeasureReadBandwidth(threads, uint64_t{o.bandwidth_mib} << 20, 5);
  progress(absl::StrFormat("measuring int8 peak (%u threads)", threads));
  roofs.int8 = MeasureInt8Peak(threads, 3);
  return roofs;
}

// ComputeModelCosts for a context made of `what` ("-p 500 + -n 100"); a problem with the
// options is reported as a usage error (exit 2) naming `what`, others as failures.
absl::StatusOr<ModelCosts> CostsFor(const BenchOptions& o, uint32_t context, uint32_t threads,
                                    const std::string& what) {
  absl::StatusOr<ModelCosts> costs = ComputeModelCosts(o.model, context, threads, o.batch, o.kv);
  if (!costs.ok() && absl::IsInvalidArgument(costs.status())) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", costs.status().message()));
  }
  return costs;
}

// Prints a CostsFor / usage failure and returns the exit status.
int CostsFailure(const absl::Status& status) {
  if (absl::IsInvalidArgument(status)) {
    std::fprintf(stderr, "kite-bench: %s\n", std::string(status.message()).c_str());
    return kExitUsage;
  }
  return Fail(std::string(status.message()));
}

// The long-context session context C: -c, else min(2048, max_seq_len). Checks that the
// position and the decode steps fit in it.
absl::StatusOr<uint32_t> LongContext(const BenchOptions& o, uint32_t max_seq_len) {
  const uint32_t context = o.context ? o.context : std::min<uint32_t>(2048, max_seq_len);
  const uint32_t position = LongContextPosition(context);
  if (position < 1 || position + o.generate > context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--long-context: position ", position, " + -n ", o.generate,
        " does not fit in the context ", context, " (-c, else min(2048, max_seq_len))"));
  }
  return context;
}

int Run(const std::vector<std::string>& args) {
  absl::StatusOr<BenchOptions> parsed = ParseBenchArgs(args);
  if (!parsed.ok()) {
    std::fputs(flags::UsageError("kite-bench", std::string(parsed.status().message())).c_str(),
               stderr);
    return kExitUsage;
  }
  BenchOptions o = *parsed;
  if (o.help) {
    std::fputs(BenchHelpText().c_str(), stdout);
    return 0;
  }
  const std::string capped = flags::CapThreads("-t", &o.threads);
  if (!capped.empty() && !o.sweep) {
    std::fprintf(stderr, "kite-bench: warning: %s\n", capped.c_str());
  }
  if (o.kernel) {
    KernelBenchOptions k;
    k.layout = o.kernel_layout;
    k.shapes = o.kernel_shapes;
    k.threads = {1};
    if (o.threads > 1) k.threads.push_back(o.threads);
    k.pool_bytes = uint64_t{o.bandwidth_mib} << 20;
    k.passes = o.repetitions;
    k.huge_pages = o.huge_pages;
    return RunKernelBench(k);
  }

  Results r;
  double load[1];
  if (getloadavg(load, 1) == 1) r.load_average = load[0];
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  r.cpus = cpus > 0 ? static_cast<unsigned>(cpus) : 0;

  // The per-token costs (a C++ open of the model, closed again) also check the options
  // against the model before anything is timed.
  absl::StatusOr<ModelCosts> costs;
  if (o.sweep) {
    // A first look at the model for max_seq_len, which the defaults depend on.
    costs = CostsFor(o, o.context ? o.context : 1, 1, absl::StrCat("-c ", o.context));
    if (!costs.ok()) return CostsFailure(costs.status());
    const uint32_t cap = o.context ? o.context : costs->max_seq_len;
    if (o.sweep_prompts.empty()) {
      const uint32_t longest = std::min<uint32_t>(2048, cap);
      o.sweep_prompts = DefaultSweepPrompts(longest > o.generate ? longest - o.generate : 0);
      if (o.sweep_prompts.empty()) {
        return CostsFailure(absl::InvalidArgumentError(absl::StrCat(
            "--sweep: the context ", cap, " leaves no room for a prompt and -n ", o.generate)));
      }
    }
    if (o.sweep_threads.empty()) o.sweep_threads = DefaultSweepThreads(r.cpus);
    if (o.sweep_threads.back() > std::max(r.cpus, 1u)) {
      return CostsFailure(absl::InvalidArgumentError(
          absl::StrCat("--sweep-threads ", o.sweep_threads.back(), " is more than the ",
                       r.cpus, " online CPUs")));
    }
    r.context = o.sweep_prompts.back() + o.generate;
    if (o.long_context) {
      absl::StatusOr<uint32_t> c = LongContext(o, costs->max_seq_len);
      if (!c.ok()) return CostsFailure(c.status());
      r.long_context = *c;
      r.context = std::max(r.context, r.long_context);
    }
    if (o.context) r.context = o.context;
    costs = CostsFor(o, r.context, o.sweep_threads.back(),
                     absl::StrCat("the sweep (longest prompt ", o.sweep_prompts.back(), " + -n ",
                                  o.generate, ")"));
  } else {
    r.context = o.effective_context();
    costs = CostsFor(o, r.context, o.threads,
                     o.context ? absl::StrCat("-c ", o.context)
                               : absl::StrCat("-p ", o.prompt, " + -n ", o.generate));
    if (costs.ok() && o.long_context) {
      absl::StatusOr<uint32_t> c = LongContext(o, costs->max_seq_len);
      if (!c.ok()) return CostsFailure(c.status());
      r.long_context = *c;
    }
  }
  if (!costs.ok()) return CostsFailure(costs.status());
  r.costs = *costs;
  r.options = o;
  r.roofline = o.roofline;
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = r.context;
  so.threads = o.threads;
  so.prefill_chunk = o.batch;
  so.kv_type = o.kv;
  so.backend = o.backend;
  kite_model* model = nullptr;

  const bool tty = isatty(fileno(stderr)) == 1;
  const std::function<void(const std::string&)> progress = [tty](const std::string& what) {
    if (tty) std::fprintf(stderr, "\r\033[K%s", what.c_str());
  };

  if (o.sweep) {
    kite_session* session = nullptr;
    std::string error;
    so.threads = o.sweep_threads.front();
    if (!OpenAndCreate(o, so, &model, &session, &error)) return Fail(error);
    kite_session_destroy(session);
    r.info.struct_size = sizeof(r.info);
    kite_model_get_info(model, &r.info);
    r.model_bytes = r.info.file_bytes;
    for (uint32_t threads : o.sweep_threads) {
      so.threads = threads;
      if (kite_session_create(model, &so, nullptr, 0, &session) != KITE_OK) {
        error = absl::StrCat("cannot create a session of ", threads,
                             " threads: ", kite_last_error());
        break;
      }
      if (threads == o.sweep_threads.front()) {
        kite::flags::PrintBackendNotice("kite-bench", session);
        r.backend = static_cast<uint32_t>(kite_session_backend(session));
      }
      std::vector<Point> points;
      for (uint32_t prompt : o.sweep_prompts) {
        points.push_back(
            MeasurePoint(session, prompt, threads, r.info.vocab_size, o, progress, &error));
        if (!error.empty()) break;
      }
      if (error.empty() && r.long_context) {
        points.push_back(MeasurePoint(session, LongContextPosition(r.long_context), threads,
                                      r.info.vocab_size, o, progress, &error));
        points.back().long_context = true;
      }
      kite_session_destroy(session);
      if (!error.empty()) break;
      Roofs roofs;
      if (o.roofline) {
        roofs = MeasureRoofs(o, threads, progress);
        r.sweep_roofs.emplace_back(threads, roofs);
      }
      for (Point& p : points) {
        SetCostsAndRoofs(r.costs, o.generate, o.roofline ? &roofs : nullptr, &p);
        r.sweep.push_back(p);
      }
    }
    if (tty) std::fputs("\r\033[K", stderr);
    kite_model_close(model);
    if (!error.empty()) return Fail(error);
    if (o.json) {
      PrintJson(r);
    } else {
      PrintSweepTable(r);
    }
    return 0;
  }

  // Load: a fresh model and session each time.
  std::vector<double> load_ms;
  for (uint32_t run = 0; run < o.warmup + o.repetitions; ++run) {
    progress(absl::StrFormat("load %u/%u", run + 1, o.warmup + o.repetitions));
    kite_session* session = nullptr;
    std::string error;
    const auto start = Clock::now();
    if (!OpenAndCreate(o, so, &model, &session, &error)) return Fail(error);
    const double ms = MsSince(start);
    kite_session_destroy(session);
    kite_model_close(model);
    if (run >= o.warmup) load_ms.push_back(ms);
  }

  // Prefill and decode on one model and session, reset before each run.
  kite_session* session = nullptr;
  std::string error;
  if (!OpenAndCreate(o, so, &model, &session, &error)) return Fail(error);
  kite::flags::PrintBackendNotice("kite-bench", session);
  r.backend = static_cast<uint32_t>(kite_session_backend(session));
  r.info.struct_size = sizeof(r.info);
  kite_model_get_info(model, &r.info);
  r.model_bytes = r.info.file_bytes;
  size_t arena = 0;
  if (kite_session_memory_required(model, &so, &arena) == KITE_OK) r.arena_bytes = arena;
  r.main = MeasurePoint(session, o.prompt, o.threads, r.info.vocab_size, o, progress, &error);
  if (error.empty() && r.backend == KITE_BACKEND_VULKAN) {
    // One more run in a profiled session: per-kernel GPU times (timestamps cost a little
    // speed, so the measured runs above are not profiled).
    progress("profiling the GPU kernels");
    kite_session_options po = so;
    po.profile = 1;
    kite_session* profiled = nullptr;
    if (kite_session_create(model, &po, nullptr, 0, &profiled) != KITE_OK) {
      error = absl::StrCat("cannot create the profiled session: ", kite_last_error());
    } else {
      RunOnce(profiled, PromptIds(o.prompt, r.info.vocab_size), o.generate, &r.kernels, &error);
      kite_session_destroy(profiled);
    }
  }
  if (tty) std::fputs("\r\033[K", stderr);
  r.huge_mapped_bytes = HugeMappedBytes();
  kite_session_destroy(session);
  // Peak RSS before the long-context session, whose KV cache is not the -c one's.
  r.peak_rss_bytes = PeakRssBytes();
  if (error.empty() && r.long_context) {
    kite_session_options lo = so;
    lo.max_context = r.long_context;
    kite_session* long_session = nullptr;
    if (kite_session_create(model, &lo, nullptr, 0, &long_session) != KITE_OK) {
      error = absl::StrCat("cannot create the long-context session: ", kite_last_error());
    } else {
      r.long_point = MeasurePoint(long_session, LongContextPosition(r.long_context), o.threads,
                                  r.info.vocab_size, o, progress, &error);
      r.long_point.long_context = true;
      kite_session_destroy(long_session);
    }
    if (tty) std::fputs("\r\033[K", stderr);
  }
  kite_model_close(model);
  if (!error.empty()) return Fail(error);

  r.load_ms = Summarize(load_ms);
  if (o.roofline) {
    r.roofs = MeasureRoofs(o, o.threads, progress);
    if (tty) std::fputs("\r\033[K", stderr);
  }
  const Roofs* roofs = o.roofline ? &r.roofs : nullptr;
  SetCostsAndRoofs(r.costs, o.generate, roofs, &r.main);
  if (r.long_context) SetCostsAndRoofs(r.costs, o.generate, roofs, &r.long_point);

  if (o.json) {
    PrintJson(r);
  } else {
    PrintTable(r);
  }
  return 0;
}

}  // namespace
}  // namespace kite::bench

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return kite::bench::Run(args);
}
