// The kite-bench command line: options, parsing and help text. Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bench/kernel_bench.h"

namespace kite::bench {

/// Parsed kite-bench options. Defaults are the values --help shows.
struct BenchOptions {
  bool help = false;         ///< -h / --help: print BenchHelpText() and exit 0
  std::string model;         ///< -m / --model: the .kite file (required)
  uint32_t prompt = 128;     ///< -p: prompt tokens fed in one prefill call (>= 1)
  uint32_t generate = 64;    ///< -n: single-token decode steps after the prompt (>= 1)
  /// -t: session threads (1..1024; Run() caps it at the online CPUs, with a warning)
  uint32_t threads = 2;
  uint32_t batch = 64;       ///< -b: prefill chunk, kite_session_options.prefill_chunk (>= 1)
  uint32_t repetitions = 5;  ///< -r: measured runs (>= 1)
  uint32_t warmup = 1;       ///< --warmup: unmeasured runs before them (>= 0)
  /// -c: the session's max_context; 0 means prompt + generate (the least that fits).
  uint32_t context = 0;
  bool json = false;         ///< --json: one JSON object on stdout instead of the table
  bool huge_pages = false;   ///< --huge-pages: load the model into huge pages (kite_model_options)
  bool roofline = false;     ///< --roofline: measure bandwidth and int8 peak, compare
  uint32_t bandwidth_mib = 1024;  ///< --bw-mib: buffer read by the bandwidth test (>= 1)
  uint32_t kv = 0;  ///< --kv: kite_session_options.kv_type (KITE_KV_F32 or KITE_KV_INT8)
  uint32_t backend = 0;  ///< --backend: kite_session_options.backend (a kite_backend)
  /// --sweep: prefill + decode at each sweep prompt length and thread count, as a table.
  bool sweep = false;
  /// --sweep-prompts: prompt lengths of the sweep, ascending and distinct (each >= 1);
  /// empty means DefaultSweepPrompts() for the model.
  std::vector<uint32_t> sweep_prompts;
  /// --sweep-threads: thread counts of the sweep, ascending and distinct (each >= 1);
  /// empty means DefaultSweepThreads(the online CPUs).
  std::vector<uint32_t> sweep_threads;
  /// --long-context: also decode after a prompt of LongContextPosition(C) tokens in a
  /// session of C positions (C: -c, else min(2048, max_seq_len)), so that attention reads
  /// that many real KV entries.
  bool long_context = false;
  /// --kernel LAYOUT: time that layout's m = 1 kernel alone against a read loop over the
  /// same bytes (RunKernelBench) instead of a model; -m is then not needed.
  bool kernel = false;
  KernelLayout kernel_layout = KernelLayout::kQ4Sym;  ///< the --kernel LAYOUT
  /// --kernel-shapes: the matrices of --kernel; empty means DefaultKernelShapes().
  std::vector<KernelShape> kernel_shapes;

  /// The context the session is created with.
  uint32_t effective_context() const { return context ? context : prompt + generate; }
};

/// The prompt lengths a sweep runs by default: 1, 8, 32, 128, 512 and 2048 up to `limit`
/// (the longest prompt that leaves room for the decode steps), then `limit` itself when it
/// lies between two of them. Empty when `limit` is 0.
std::vector<uint32_t> DefaultSweepPrompts(uint32_t limit);

/// The thread counts a sweep runs by default: 1, 2, 4, ... below `cpus`, then `cpus`.
std::vector<uint32_t> DefaultSweepThreads(unsigned cpus);

/// The long-context decode position in a session of `context` positions: 1800 of 2048,
/// scaled (context * 1800 / 2048, rounded down).
uint32_t LongContextPosition(uint32_t context);

/// Parses the arguments after the program name with the shared parser (tools/common/flags.h:
/// "--opt VALUE", "--opt=VALUE", "-x VALUE"). Any problem (unknown option, missing or bad
/// value, no model and no --kernel, a context smaller than prompt + generate or, with
/// --sweep, than the longest sweep prompt + generate;
/// --sweep-prompts / --sweep-threads without --sweep; --kernel-shapes without --kernel) is
/// an InvalidArgument error meant for the user; callers exit with 2.
absl::StatusOr<BenchOptions> ParseBenchArgs(const std::vector<std::string>& args);

/// The --help text: usage, each option with its default, and what each metric means.
std::string BenchHelpText();

}  // namespace kite::bench
