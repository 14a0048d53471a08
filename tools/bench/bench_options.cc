#include "tools/bench/bench_options.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/common/flags.h"
#include "tools/common/backend_flag.h"
#include "tools/common/kv_flag.h"

namespace kite::bench {
namespace {

absl::Status Usage(const std::string& message) { return absl::InvalidArgumentError(message); }

// A comma-separated list of integers in [lo, hi] stored in *target, sorted, repeats dropped.
flags::Flag IntList(std::string long_name, std::vector<uint32_t>* target, uint32_t lo,
                    uint32_t hi, std::string help) {
  return flags::Custom(
      0, std::move(long_name), "N,N,...",
      [target, lo, hi](const std::string& name, const std::string& value) -> std::string {
        std::vector<uint32_t> list;
        size_t start = 0;
        while (true) {
          const size_t comma = value.find(',', start);
          const std::string item = value.substr(start, comma - start);
          unsigned long long x = 0;
          if (!flags::internal::ParseUnsigned(item, &x) || x < lo || x > hi) {
            return absl::StrCat(name, " must be a comma-separated list of integers in [", lo,
                                ", ", hi, "], not '", value, "'");
          }
          list.push_back(static_cast<uint32_t>(x));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
        std::sort(list.begin(), list.end());
        list.erase(std::unique(list.begin(), list.end()), list.end());
        *target = std::move(list);
        return "";
      },
      std::move(help));
}

// The kite-bench flag table, writing into *o.
flags::FlagSpec MakeSpec(BenchOptions* o) {
  flags::FlagSpec spec;
  spec.program = "kite-bench";
  spec.help_column = 22;
  spec.header =
      "Usage: kite-bench -m MODEL.kite [-p 128] [-n 64] [-t 2] [-b 64] [-r 5] [-c CTX]\n"
      "                  [--kv f32|int8] [--backend cpu|vulkan|auto] [--warmup 1]\n"
      "                  [--json] [--huge-pages]\n"
      "                  [--roofline [--bw-mib 1024]] [--long-context]\n"
      "       kite-bench -m MODEL.kite --sweep [--sweep-prompts 1,8,32,128,512,2048]\n"
      "                  [--sweep-threads 1,2] [-n 64] [-r 5] [--roofline] [--json]\n"
      "       kite-bench --kernel q4|q4sym|q4cb|q3|q4sp24 [--kernel-shapes RxC,...]\n"
      "                  [-t 2] [-r 5] [--bw-mib 1024] [--huge-pages]\n"
      "\n"
      "Measures how fast a .kite model loads, reads a prompt (prefill) and generates\n"
      "(decode) on this machine, through the public C API.\n"
      "\n"
      "Options\n";
  spec.footer =
      "\n"
      "Metrics (each over the repetitions: median, min and max)\n"
      "  load        kite_model_open_file + kite_session_create on a fresh model, in ms.\n"
      "              The file is memory-mapped, so this does not read the weights;\n"
      "              with a warm page cache it is mostly validation.\n"
      "  prefill     prompt tokens / time of one kite_session_feed of the prompt into a\n"
      "              reset session (tok/s).\n"
      "  decode      decode steps / their time (tok/s). One step is the greedy pick\n"
      "              (argmax of the logits) plus kite_session_feed of that one token.\n"
      "  ttft        time to first token: from the start of the prompt feed to the\n"
      "              first generated id (prefill + its greedy pick), in ms.\n"
      "  peak RSS    the process's high-water resident set (VmHWM), including the\n"
      "              mapped weight pages it touched; measured before --roofline runs.\n"
      "  model       the file size, and how much of the process is mapped with 2 MiB\n"
      "              pages (FilePmdMapped + AnonHugePages): a mapped model gets them\n"
      "              when the page cache holds the file in 2 MiB folios (files that\n"
      "              kite-convert wrote, or read in through the runtime's mapping);\n"
      "              4 KiB pages make decode slower. arena: kite_session_memory_required\n"
      "              for -c and -t.\n"
      "\n"
      "Roofline (--roofline)\n"
      "  bandwidth   best of 5 runs of N threads summing a --bw-mib buffer with the\n"
      "              widest vector loads the CPU has (AVX-512 or AVX2), GB/s (1e9).\n"
      "              The buffer asks for 2 MiB pages (MADV_HUGEPAGE), as a mapped\n"
      "              model gets them; the line says how much the kernel granted.\n"
      "  int8 peak   best of 3 runs of N threads each running register-resident\n"
      "              int8 dot products: vpdpbusd (AVX512-VNNI), or vpmaddubsw +\n"
      "              vpmaddwd + vpaddd (AVX2); Gops/s, one multiply-add = 2 ops.\n"
      "  decode roof bandwidth / bytes read per decoded token, where bytes = every\n"
      "              tensor's bytes except the token embedding, plus one embedding row,\n"
      "              plus the embedding again when it is the (tied) output head,\n"
      "              plus the KV cache read at the mean decode position\n"
      "              (prompt + (gen + 1) / 2 positions of K and V, all layers).\n"
      "  prefill roof int8 peak / ops per prompt token, where ops = 2 x the layers'\n"
      "              matmul weights (wq wk wv wo w1 w2 w3) + 2 x vocab x dim / prompt\n"
      "              (logits are computed for the last prompt token only). Attention\n"
      "              score products are not counted.\n"
      "\n"
      "Sweep (--sweep)\n"
      "  For each thread count (a session each) and each prompt length: the prefill of\n"
      "  that prompt into a reset session, then -n decode steps after it, -r times\n"
      "  (+ --warmup); one table row per pair: prefill tok/s and ms, decode tok/s,\n"
      "  and with --roofline their fractions of the prefill and decode roofs above,\n"
      "  the roofs measured with that thread count in the same run. -p and load times\n"
      "  are not used. The session context is -c, else the longest prompt + -n (and\n"
      "  the long-context C below).\n"
      "\n"
      "Long context (--long-context)\n"
      "  Decode after a prompt of 1800/2048 of C positions (1800 when C is 2048; C is\n"
      "  -c, else min(2048, max_seq_len)): the prefill of that prompt fills the KV cache\n"
      "  with real entries, so every decode step's attention reads all of them; its\n"
      "  decode roof counts those KV bytes. A row of the sweep, or a section of the\n"
      "  table (\"long_context\" in --json).\n"
      "\n"
      "Kernel alone (--kernel LAYOUT)\n"
      "  No model: the layout's m = 1 kernel (the decode matrix-vector product, as\n"
      "  the dispatcher picks it; KITE_ISA=avx2 etc. caps the ISA) on random weights\n"
      "  of each --kernel-shapes matrix, with 1 thread and with -t threads (rows split\n"
      "  in 16-row blocks as the runtime splits a Linear). Each matrix is copied to\n"
      "  fill --bw-mib MiB (use >= 256 so the weights come from DRAM); -r passes walk\n"
      "  the copies, each kernel call alternating with the read loop of --roofline\n"
      "  over the same bytes of another copy. Every call is timed in thread CPU time\n"
      "  (the slowest thread), so waits for a busy CPU do not count. Columns: kernel\n"
      "  and read GB/s (medians), frac = median of the per-pair kernel / read ratios\n"
      "  and its 10th-90th percentile range; then the same on one copy called again\n"
      "  and again (in cache when it fits). Layouts: q4 (Q4_R16_G32), q4sym\n"
      "  (Q4_R16_G32_SYM), q4cb (Q4_R16_G32_CB), q3 (Q3_R16_G32), q4sp24\n"
      "  (Q4_SP24_R16_G64). Default shapes: tinyllama-1.1b's 2048x2048, 5632x2048,\n"
      "  2048x5632 and 256x2048. With --huge-pages the copies are madvise'd for\n"
      "  transparent huge pages (2 MiB) instead of 4 KiB pages.\n"
      "\n"
      "The model is memory-mapped: replace a .kite file by writing a new one and\n"
      "renaming it over the old one, never by rewriting it in place (a file truncated\n"
      "while mapped kills the process with SIGBUS).\n"
      "Exit status: 0 success, 1 the model could not be opened or run, 2 bad command line.\n"
      "\n"
      "Example\n"
      "  kite-bench -m tinyllama-q4.kite -p 128 -n 32 -t 2 -r 3 --roofline\n"
      "  kite-bench -m tinyllama-q4.kite --sweep --sweep-threads 1,2 --long-context \\\n"
      "             -r 3 --roofline --json > sweep.json\n"
      "  KITE_ISA=avx2 kite-bench --kernel q4sym -t 2 -r 5\n";
  spec.flags = {
      flags::String('m', "model", "PATH", &o->model, "The .kite file (required)."),
      flags::Int<uint32_t>('p', "prompt", "N", &o->prompt, 1, 1u << 20,
                           "Prompt tokens, fed in one kite_session_feed call. The ids\n"
                           "are pseudo-random in [3, vocab), the same every run.\n"
                           "Default: 128."),
      flags::Int<uint32_t>('n', "gen", "N", &o->generate, 1, 1u << 20,
                           "Decode steps after the prompt. Default: 64."),
      flags::Int<uint32_t>('t', "threads", "N", &o->threads, 1, 1024,
                           "Session threads (kite_session_options.threads). Default: 2.\n"
                           "More than the online CPUs: capped at their count, with\n"
                           "a warning."),
      flags::Int<uint32_t>('b', "batch", "N", &o->batch, 1, 1024,
                           "Prefill chunk: the prompt runs as matrix products of N\n"
                           "tokens (kite_session_options.prefill_chunk, 1..1024; the\n"
                           "arena grows with it). Default: 64, the session default."),
      flags::Int<uint32_t>('r', "reps", "N", &o->repetitions, 1, 100000,
                           "Measured repetitions. Default: 5."),
      flags::Int<uint32_t>(0, "warmup", "N", &o->warmup, 0, 100000,
                           "Unmeasured runs first (they also page the weights in).\n"
                           "Default: 1."),
      flags::Int<uint32_t>('c', "context", "N", &o->context, 1, 1u << 22,
                           "Session max_context (sizes the KV cache). Default: the\n"
                           "prompt plus the decode steps."),
      flags::KvTypeFlag(&o->kv, "KV cache element type (kite_session_options.kv_type):\n"
                                "f32, or int8 with one scale per KV head and\n"
                                "position. Default: f32."),
      flags::BackendFlag(&o->backend, std::string("Where the forward pass runs.\n") +
                                          flags::kBackendHelp),
      flags::Switch(0, "json", &o->json, "Print one JSON object instead of the table."),
      flags::Switch(0, "huge-pages", &o->huge_pages,
                    "Read the model into huge pages instead of mapping it\n"
                    "(kite_model_options.huge_pages): fewer TLB misses while\n"
                    "decode streams the weights; load then reads the file."),
      flags::Switch(0, "roofline", &o->roofline,
                    "Also measure this machine's memory read bandwidth and int8\n"
                    "dot-product peak with N threads, and show decode and\n"
                    "prefill as fractions of those roofs."),
      flags::Int<uint32_t>(0, "bw-mib", "N", &o->bandwidth_mib, 1, 1u << 20,
                           "Buffer the bandwidth test reads, in MiB (>= 1 GiB measures\n"
                           "DRAM, smaller sizes may measure caches). Default: 1024."),
      flags::Switch(0, "sweep", &o->sweep,
                    "Run the sweep (below) instead of the single measurement."),
      IntList("sweep-prompts", &o->sweep_prompts, 1, 1u << 20,
              "Prompt lengths of the sweep. Default: 1, 8, 32, 128, 512,\n"
              "2048 up to the context minus -n (and that length)."),
      IntList("sweep-threads", &o->sweep_threads, 1, 1024,
              "Thread counts of the sweep, each at most the online CPUs.\n"
              "Default: 1, 2, 4, ... and the online CPUs."),
      flags::Switch(0, "long-context", &o->long_context,
                    "Also measure decode at position 1800 of a 2048 context\n"
                    "(below)."),
      flags::Enum<KernelLayout>(0, "kernel", "LAYOUT", &o->kernel_layout,
                                {{"q4", KernelLayout::kQ4},
                                 {"q4sym", KernelLayout::kQ4Sym},
                                 {"q4cb", KernelLayout::kQ4Cb},
                                 {"q3", KernelLayout::kQ3},
                                 {"q4sp24", KernelLayout::kQ4Sp24}},
                                "Time this layout's m = 1 kernel alone against a\n"
                                "read loop over the same bytes (below); no model."),
      flags::Custom(
          0, "kernel-shapes", "RxC,...",
          [o](const std::string& name, const std::string& value) {
            return ParseKernelShapes(value, &o->kernel_shapes);
          },
          "The matrices of --kernel (rows x cols). Default:\n"
          "2048x2048,5632x2048,2048x5632,256x2048."),
  };
  return spec;
}

}  // namespace

std::string BenchHelpText() {
  BenchOptions o;
  return flags::HelpText(MakeSpec(&o));
}

absl::StatusOr<BenchOptions> ParseBenchArgs(const std::vector<std::string>& args) {
  BenchOptions o;
  const flags::ParsedArgs parsed = flags::Parse(MakeSpec(&o), args);
  if (!parsed.ok()) return Usage(parsed.error);
  if (parsed.help) {
    o.help = true;
    return o;
  }
  if (!parsed.positionals.empty()) {
    return Usage(absl::StrCat("unexpected argument '", parsed.positionals[0],
                              "' (the model is given with -m)"));
  }
  o.kernel = parsed.Given("kernel");
  if (parsed.Given("kernel-shapes") && !o.kernel) return Usage("--kernel-shapes needs --kernel");
  if (o.kernel) return o;
  if (o.model.empty()) return Usage("no model given: add -m MODEL.kite (or --kernel LAYOUT)");
  for (const char* list : {"sweep-prompts", "sweep-threads"}) {
    if (parsed.Given(list) && !o.sweep) {
      return Usage(absl::StrCat("--", list, " needs --sweep"));
    }
  }
  if (o.sweep) {
    if (o.context != 0 && !o.sweep_prompts.empty() &&
        o.context < o.sweep_prompts.back() + o.generate) {
      return Usage(absl::StrCat("-c ", o.context, " is too small for the sweep prompt ",
                                o.sweep_prompts.back(), " + -n ", o.generate, " = ",
                                o.sweep_prompts.back() + o.generate, " tokens"));
    }
  } else if (o.context != 0 && o.context < o.prompt + o.generate) {
    return Usage(absl::StrCat("-c ", o.context, " is too small for -p ", o.prompt, " + -n ",
                              o.generate, " = ", o.prompt + o.generate, " tokens"));
  }
  return o;
}

std::vector<uint32_t> DefaultSweepPrompts(uint32_t limit) {
  std::vector<uint32_t> prompts;
  for (uint32_t p : {1u, 8u, 32u, 128u, 512u, 2048u}) {
    if (p <= limit) prompts.push_back(p);
  }
  if (!prompts.empty() && prompts.back() < limit && limit < 2048) prompts.push_back(limit);
  return prompts;
}

std::vector<uint32_t> DefaultSweepThreads(unsigned cpus) {
  std::vector<uint32_t> threads;
  for (uint32_t t = 1; t < cpus; t *= 2) threads.push_back(t);
  threads.push_back(cpus > 0 ? cpus : 1);
  return threads;
}

uint32_t LongContextPosition(uint32_t context) {
  return static_cast<uint32_t>(uint64_t{context} * 1800 / 2048);
}

}  // namespace kite::bench
