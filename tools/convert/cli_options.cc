#include "tools/convert/cli_options.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/convert/quantize.h"
#include "tools/convert/synthetic.h"

namespace kite::convert {
namespace {

absl::Status Usage(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

}  // namespace

const std::vector<std::string>& ConvertTargets() {
  static const std::vector<std::string> targets = {
      "x86-avx2", "x86-avx512", "aarch64", "aarch64-dotprod", "aarch64-i8mm", "armv7", "generic"};
  return targets;
}

std::string HelpText() {
  return absl::StrCat(
      "Usage: kite-convert INPUT [options] -o OUT.kite\n"
      "       kite-convert --synthetic NAME [--vocab N] [--seed S] [options] -o OUT.kite\n"
      "\n"
      "Converts a model checkpoint into a .kite file for the Kite runtime, or makes a\n"
      "model with random weights at a real model's shape (for benchmarks).\n"
      "\n"
      "INPUT\n"
      "  A llama2.c legacy checkpoint (.bin with the 7-integer header). GGUF files,\n"
      "  Hugging Face folders and llama2.c v1/v2 exports are recognized but not\n"
      "  supported yet.\n"
      "\n"
      "Synthetic models (no INPUT, nothing downloaded)\n"
      "  --synthetic NAME      Generate deterministic pseudo-random weights (roughly\n"
      "                        normal, std 0.02; norms 1.0) and a synthetic tokenizer\n"
      "                        (<unk> <s> </s>, 256 byte tokens, then printable filler\n"
      "                        pieces) at the shape NAME. The text it generates is\n"
      "                        gibberish: these files measure speed and memory only.\n"
      "                        Shapes:\n",
      SyntheticModelTable(),
      "  --vocab N             Vocabulary size instead of the shape's own (",
      kSyntheticMinVocab, "..", kSyntheticMaxVocab, "),\n"
      "                        e.g. smollm-135m --vocab 32000.\n"
      "  --seed S              Seed of the weights (an unsigned integer). Default: 0.\n"
      "                        The same NAME, --vocab, --seed and options always give\n"
      "                        the same file.\n"
      "  --threads N           Tensors generated and quantized at once. Default: one\n"
      "                        per CPU.\n"
      "\n"
      "Options\n"
      "  -o, --output PATH     The .kite file to write (required). It is written to\n"
      "                        PATH.tmp first and renamed when complete.\n"
      "  --tokenizer PATH      The llama2.c tokenizer file. Default: tok<vocab>.bin or\n"
      "                        tokenizer.bin in the folder of INPUT.\n"
      "  --quant f32|q8|q4     How to store the weights. Default: f32.\n"
      "                          f32  every tensor as 32-bit float\n"
      "                          q8   2-D weights as int8 with one f32 scale per row\n"
      "                               (Q8_C), norm vectors as f32\n"
      "                          q4   2-D weights as 4-bit groups with an f16 scale\n"
      "                               (Q4_G), norm vectors as f32\n"
      "  --group-size N        Q4_G group size along the input dimension: 32, 64 or\n"
      "                        128. Default: ",
      kDefaultGroupSize,
      ". Only with --quant q4.\n"
      "  --q4-groups asym|sym|sym-maxabs\n"
      "                        With --quant q4: 'asym' stores an f16 scale and an f16\n"
      "                        offset per group (5 bits/weight, lower error; default),\n"
      "                        'sym' a scale only (4.5 bits/weight), both with a\n"
      "                        searched scale; 'sym-maxabs' the plain max-abs scale\n"
      "                        (the naive baseline, for comparisons).\n"
      "  --keep-8bit LIST      With --quant q4: comma-separated tensor names stored as\n"
      "                        8-bit (int8, one f32 scale per row) instead of 4-bit, or\n"
      "                        'none'. Default: tok_embeddings,output (the embedding is\n"
      "                        also the classifier when tied; both are the most\n"
      "                        sensitive weights).\n"
      "  --target NAME         The CPU the file is meant for: x86-avx2, x86-avx512,\n"
      "                        aarch64, aarch64-dotprod, aarch64-i8mm, armv7 or\n"
      "                        generic. Today every target gets the same layout\n"
      "                        (q4: Q4_R16_G32), which the kernels of every CPU read,\n"
      "                        so any file runs anywhere; the name is recorded in the\n"
      "                        file's provenance. Default: not recorded.\n"
      "  -h, --help            Show this help.\n"
      "\n"
      "Progress goes to stderr; a per-tensor table (shape, dtype, bytes, relative RMS\n"
      "error) and totals go to stdout.\n"
      "Exit status: 0 success, 1 conversion failed, 2 bad command line.\n"
      "\n"
      "Example\n"
      "  kite-convert stories260K.bin --tokenizer tok512.bin --quant q4 -o stories260K-q4.kite\n"
      "  kite-convert --synthetic tinyllama-1.1b --quant q4 -o tinyllama-q4.kite\n");
}

absl::StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args) {
  CliOptions o;
  bool quant_set = false;
  bool group_size_set = false;
  bool keep_set = false;
  bool vocab_set = false;
  bool seed_set = false;
  bool threads_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return o;
    }
    if (arg.empty() || arg[0] != '-' || arg == "-") {
      if (!o.input.empty()) {
        return Usage(absl::StrCat("more than one input given: '", o.input, "' and '", arg,
                                  "' (kite-convert converts one model at a time)"));
      }
      o.input = arg;
      continue;
    }
    // The option's value: after '=' or the next argument.
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
    const bool known = name == "-o" || name == "--output" || name == "--tokenizer" ||
                       name == "--quant" || name == "--group-size" || name == "--keep-8bit" ||
                       name == "--q4-groups" || name == "--synthetic" || name == "--vocab" ||
                       name == "--seed" || name == "--threads" || name == "--target";
    if (!known) return Usage(absl::StrCat("unknown option '", name, "' (see --help)"));
    if (!has_value) {
      if (i + 1 >= args.size()) return Usage(absl::StrCat("option ", name, " needs a value"));
      value = args[++i];
    }
    if (value.empty()) return Usage(absl::StrCat("option ", name, " needs a non-empty value"));

    if (name == "-o" || name == "--output") {
      o.output = value;
    } else if (name == "--tokenizer") {
      o.tokenizer = value;
    } else if (name == "--quant") {
      if (value == "f32") {
        o.convert.quant = QuantMode::kF32;
      } else if (value == "q8" || value == "q8_c") {
        o.convert.quant = QuantMode::kQ8;
      } else if (value == "q4" || value == "q4_g") {
        o.convert.quant = QuantMode::kQ4;
      } else {
        return Usage(absl::StrCat("--quant must be f32, q8 or q4, not '", value, "'"));
      }
      quant_set = true;
    } else if (name == "--target") {
      const std::vector<std::string>& targets = ConvertTargets();
      if (std::find(targets.begin(), targets.end(), value) == targets.end()) {
        return Usage(absl::StrCat("unknown --target '", value,
                                  "' (valid targets: ", absl::StrJoin(targets, ", "), ")"));
      }
      o.target = value;
    } else if (name == "--synthetic") {
      o.synthetic = value;
    } else if (name == "--vocab") {
      if (!absl::SimpleAtoi(value, &o.vocab) || o.vocab < kSyntheticMinVocab ||
          o.vocab > kSyntheticMaxVocab) {
        return Usage(absl::StrCat("--vocab must be an integer in [", kSyntheticMinVocab, ", ",
                                  kSyntheticMaxVocab, "], not '", value, "'"));
      }
      vocab_set = true;
    } else if (name == "--seed") {
      if (!absl::SimpleAtoi(value, &o.seed)) {
        return Usage(absl::StrCat("--seed must be an unsigned integer, not '", value, "'"));
      }
      seed_set = true;
    } else if (name == "--threads") {
      if (!absl::SimpleAtoi(value, &o.threads) || o.threads < 1 || o.threads > 1024) {
        return Usage(absl::StrCat("--threads must be an integer in [1, 1024], not '", value, "'"));
      }
      threads_set = true;
    } else if (name == "--q4-groups") {
      if (value != "asym" && value != "sym" && value != "sym-maxabs") {
        return Usage(absl::StrCat("--q4-groups must be asym, sym or sym-maxabs, not '", value, "'"));
      }
      o.convert.q4_asymmetric = value == "asym";
      o.convert.q4_scale_rule = value == "sym-maxabs" ? ScaleRule::kMaxAbs : ScaleRule::kSearch;
      keep_set = true;
    } else if (name == "--keep-8bit") {
      o.convert.keep_8bit.clear();
      if (value != "none") {
        for (absl::string_view part : absl::StrSplit(value, ',')) {
          if (part.empty()) return Usage(absl::StrCat("--keep-8bit has an empty name in '", value, "'"));
          o.convert.keep_8bit.emplace_back(part);
        }
      }
      keep_set = true;
    } else {  // --group-size
      uint32_t g = 0;
      if (!absl::SimpleAtoi(value, &g) || !ValidateGroupSize(g).ok()) {
        return Usage(absl::StrCat("--group-size must be 32, 64 or 128, not '", value, "'"));
      }
      o.convert.group_size = g;
      group_size_set = true;
    }
  }
  if (!o.synthetic.empty()) {
    if (!o.input.empty()) {
      return Usage(absl::StrCat("give either an input checkpoint or --synthetic, not both ('",
                                o.input, "' and --synthetic ", o.synthetic, ")"));
    }
    if (!o.tokenizer.empty()) {
      return Usage("--tokenizer does not apply to --synthetic (it makes its own tokenizer)");
    }
    absl::StatusOr<SourceConfig> config = SyntheticConfig(o.synthetic, o.vocab);
    if (!config.ok()) return Usage(std::string(config.status().message()));
  } else if (vocab_set || seed_set || threads_set) {
    return Usage("--vocab, --seed and --threads only apply to --synthetic NAME");
  }
  if (o.input.empty() && o.synthetic.empty()) {
    return Usage("no input checkpoint given (or --synthetic NAME; see --help)");
  }
  if (o.output.empty()) return Usage("no output file given: add -o OUT.kite");
  if (group_size_set && o.convert.quant != QuantMode::kQ4) {
    return Usage(quant_set ? "--group-size only applies to --quant q4"
                           : "--group-size only applies to --quant q4 (the default is f32)");
  }
  if (keep_set && o.convert.quant != QuantMode::kQ4) {
    return Usage("--keep-8bit and --q4-groups only apply to --quant q4");
  }
  return o;
}

std::string OptionsForProvenance(const CliOptions& o) {
  std::string s = absl::StrCat("--quant ", QuantModeName(o.convert.quant));
  if (o.convert.quant == QuantMode::kQ4) {
    absl::StrAppend(&s, " --group-size ", o.convert.group_size, " --q4-groups ",
                    o.convert.q4_asymmetric                          ? "asym"
                    : o.convert.q4_scale_rule == ScaleRule::kMaxAbs ? "sym-maxabs"
                                                                      : "sym",
                    " --keep-8bit ",
                    o.convert.keep_8bit.empty() ? "none" : absl::StrJoin(o.convert.keep_8bit, ","));
  }
  if (!o.tokenizer.empty()) absl::StrAppend(&s, " --tokenizer ", o.tokenizer);
  if (!o.synthetic.empty()) {
    absl::StrAppend(&s, " --synthetic ", o.synthetic, " --seed ", o.seed);
    if (o.vocab > 0) absl::StrAppend(&s, " --vocab ", o.vocab);
  }
  if (!o.target.empty()) absl::StrAppend(&s, " --target ", o.target);
  return s;
}

}  // namespace kite::convert
