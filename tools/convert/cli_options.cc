#include "tools/convert/cli_options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/convert/quantize.h"

namespace kite::convert {
namespace {

absl::Status Usage(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

}  // namespace

std::string HelpText() {
  return absl::StrCat(
      "Usage: kite-convert INPUT [options] -o OUT.kite\n"
      "\n"
      "Converts a model checkpoint into a .kite file for the Kite runtime.\n"
      "\n"
      "INPUT\n"
      "  A llama2.c legacy checkpoint (.bin with the 7-integer header). GGUF files,\n"
      "  Hugging Face folders and llama2.c v1/v2 exports are recognized but not\n"
      "  supported yet.\n"
      "\n"
      "Options\n"
      "  -o, --output PATH     The .kite file to write (required). It is written to\n"
      "                        PATH.tmp first and renamed when complete.\n"
      "  --tokenizer PATH      The llama2.c tokenizer file. Default: tok<vocab>.bin or\n"
      "                        tokenizer.bin in the folder of INPUT.\n"
      "  --quant f32|q4        How to store the weights. Default: f32.\n"
      "                          f32  every tensor as 32-bit float\n"
      "                          q4   2-D weights as 4-bit groups with an f16 scale\n"
      "                               (Q4_G), norm vectors as f32\n"
      "  --group-size N        Q4_G group size along the input dimension: 32, 64 or\n"
      "                        128. Default: ",
      kDefaultGroupSize,
      ". Only with --quant q4.\n"
      "  --q4-groups asym|sym  With --quant q4: 'asym' stores an f16 scale and an f16\n"
      "                        offset per group (5 bits/weight, lower error; default),\n"
      "                        'sym' a scale only (4.5 bits/weight).\n"
      "  --keep-8bit LIST      With --quant q4: comma-separated tensor names stored as\n"
      "                        8-bit (int8, one f32 scale per row) instead of 4-bit, or\n"
      "                        'none'. Default: tok_embeddings,output (the embedding is\n"
      "                        also the classifier when tied; both are the most\n"
      "                        sensitive weights).\n"
      "  -h, --help            Show this help.\n"
      "\n"
      "Progress goes to stderr; a per-tensor table (shape, dtype, bytes, relative RMS\n"
      "error) and totals go to stdout.\n"
      "Exit status: 0 success, 1 conversion failed, 2 bad command line.\n"
      "\n"
      "Example\n"
      "  kite-convert stories260K.bin --tokenizer tok512.bin --quant q4 -o stories260K-q4.kite\n");
}

absl::StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args) {
  CliOptions o;
  bool quant_set = false;
  bool group_size_set = false;
  bool keep_set = false;
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
                       name == "--q4-groups";
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
      } else if (value == "q4" || value == "q4_g") {
        o.convert.quant = QuantMode::kQ4;
      } else {
        return Usage(absl::StrCat("--quant must be f32 or q4, not '", value, "'"));
      }
      quant_set = true;
    } else if (name == "--q4-groups") {
      if (value != "asym" && value != "sym") {
        return Usage(absl::StrCat("--q4-groups must be asym or sym, not '", value, "'"));
      }
      o.convert.q4_asymmetric = value == "asym";
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
  if (o.input.empty()) return Usage("no input checkpoint given (see --help)");
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
                    o.convert.q4_asymmetric ? "asym" : "sym", " --keep-8bit ",
                    o.convert.keep_8bit.empty() ? "none" : absl::StrJoin(o.convert.keep_8bit, ","));
  }
  if (!o.tokenizer.empty()) absl::StrAppend(&s, " --tokenizer ", o.tokenizer);
  return s;
}

}  // namespace kite::convert
