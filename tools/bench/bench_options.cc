#include "tools/bench/bench_options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kite::bench {
namespace {

absl::Status Usage(const std::string& message) { return absl::InvalidArgumentError(message); }

// Parses `value` as an integer in [lo, hi] into *out.
absl::Status ParseCount(const std::string& name, const std::string& value, uint32_t lo,
                        uint32_t hi, uint32_t* out) {
  uint32_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < lo || v > hi) {
    return Usage(absl::StrCat(name, " must be an integer in [", lo, ", ", hi, "], not '", value,
                              "'"));
  }
  *out = v;
  return absl::OkStatus();
}

}  // namespace

std::string BenchHelpText() {
  return
      "Usage: kite-bench -m MODEL.kite [-p 128] [-n 64] [-t 2] [-b 64] [-r 5] [-c CTX]\n"
      "                  [--warmup 1] [--json] [--huge-pages] [--roofline [--bw-mib 1024]]\n"
      "\n"
      "Measures how fast a .kite model loads, reads a prompt (prefill) and generates\n"
      "(decode) on this machine, through the public C API.\n"
      "\n"
      "Options\n"
      "  -m, --model PATH    The .kite file (required).\n"
      "  -p, --prompt N      Prompt tokens, fed in one kite_session_feed call. The ids\n"
      "                      are pseudo-random in [3, vocab), the same every run.\n"
      "                      Default: 128.\n"
      "  -n, --gen N         Decode steps after the prompt. Default: 64.\n"
      "  -t, --threads N     Session threads (kite_session_options.threads). Default: 2.\n"
      "  -b, --batch N       Prefill chunk: the prompt runs as matrix products of N\n"
      "                      tokens (kite_session_options.prefill_chunk, 1..1024; the\n"
      "                      arena grows with it). Default: 64, the session default.\n"
      "  -r, --reps N        Measured repetitions. Default: 5.\n"
      "  --warmup N          Unmeasured runs first (they also page the weights in).\n"
      "                      Default: 1.\n"
      "  -c, --context N     Session max_context (sizes the KV cache). Default: the\n"
      "                      prompt plus the decode steps.\n"
      "  --json              Print one JSON object instead of the table.\n"
      "  --huge-pages        Read the model into huge pages instead of mapping it\n"
      "                      (kite_model_options.huge_pages): fewer TLB misses while\n"
      "                      decode streams the weights; load then reads the file.\n"
      "  --roofline          Also measure this machine's memory read bandwidth and int8\n"
      "                      dot-product peak with N threads, and show decode and\n"
      "                      prefill as fractions of those roofs.\n"
      "  --bw-mib N          Buffer the bandwidth test reads, in MiB (>= 1 GiB measures\n"
      "                      DRAM, smaller sizes may measure caches). Default: 1024.\n"
      "  -h, --help          Show this help.\n"
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
      "Exit status: 0 success, 1 the model could not be opened or run, 2 bad command line.\n"
      "\n"
      "Example\n"
      "  kite-bench -m tinyllama-q4.kite -p 128 -n 32 -t 2 -r 3 --roofline\n";
}

absl::StatusOr<BenchOptions> ParseBenchArgs(const std::vector<std::string>& args) {
  BenchOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return o;
    }
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg == "--roofline") {
      o.roofline = true;
      continue;
    }
    if (arg == "--huge-pages") {
      o.huge_pages = true;
      continue;
    }
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (absl::StartsWith(arg, "--")) {
      const size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_value = true;
      }
    }
    if (name.empty() || name[0] != '-') {
      return Usage(absl::StrCat("unexpected argument '", arg, "' (the model is given with -m)"));
    }
    const bool known = name == "-m" || name == "--model" || name == "-p" || name == "--prompt" ||
                       name == "-n" || name == "--gen" || name == "-t" || name == "--threads" ||
                       name == "-b" || name == "--batch" ||
                       name == "-r" || name == "--reps" || name == "-c" || name == "--context" ||
                       name == "--warmup" || name == "--bw-mib";
    if (!known) return Usage(absl::StrCat("unknown option '", name, "' (see --help)"));
    if (!has_value) {
      if (i + 1 >= args.size()) return Usage(absl::StrCat("option ", name, " needs a value"));
      value = args[++i];
    }
    if (value.empty()) return Usage(absl::StrCat("option ", name, " needs a non-empty value"));

    absl::Status s;
    if (name == "-m" || name == "--model") {
      o.model = value;
    } else if (name == "-p" || name == "--prompt") {
      s = ParseCount(name, value, 1, 1u << 20, &o.prompt);
    } else if (name == "-n" || name == "--gen") {
      s = ParseCount(name, value, 1, 1u << 20, &o.generate);
    } else if (name == "-t" || name == "--threads") {
      s = ParseCount(name, value, 1, 1024, &o.threads);
    } else if (name == "-b" || name == "--batch") {
      s = ParseCount(name, value, 1, 1024, &o.batch);
    } else if (name == "-r" || name == "--reps") {
      s = ParseCount(name, value, 1, 100000, &o.repetitions);
    } else if (name == "-c" || name == "--context") {
      s = ParseCount(name, value, 1, 1u << 22, &o.context);
    } else if (name == "--warmup") {
      s = ParseCount(name, value, 0, 100000, &o.warmup);
    } else {  // --bw-mib
      s = ParseCount(name, value, 1, 1u << 20, &o.bandwidth_mib);
    }
    if (!s.ok()) return s;
  }
  if (o.model.empty()) return Usage("no model given: add -m MODEL.kite");
  if (o.context != 0 && o.context < o.prompt + o.generate) {
    return Usage(absl::StrCat("-c ", o.context, " is too small for -p ", o.prompt, " + -n ",
                              o.generate, " = ", o.prompt + o.generate, " tokens"));
  }
  return o;
}

}  // namespace kite::bench
