// The kite-convert command line: parsing and help text. Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/compress/distill.h"
#include "tools/convert/compress/compress_model.h"
#include "tools/convert/write/convert_tensors.h"

namespace kite::convert {

/// Parsed kite-convert options.
struct CliOptions {
  bool help = false;        ///< --help / -h given: print HelpText() and exit 0
  std::string input;        ///< the checkpoint to convert (empty with --synthetic)
  std::string tokenizer;    ///< --tokenizer; empty: look beside the input
  std::string output;       ///< -o / --output
  ConvertOptions convert;   ///< --quant, --group-size
  /// --synthetic NAME: generate random weights at this shape (see synthetic.h) instead of
  /// reading an input; empty otherwise.
  std::string synthetic;
  int64_t vocab = 0;        ///< --vocab N (with --synthetic); 0: the shape's own vocabulary
  uint64_t seed = 0;        ///< --seed S (with --synthetic)
  unsigned threads = 0;     ///< --threads N (--synthetic, --distill, --bpw, --awq); 0: one per CPU
  /// --chat-format NAME (none, llama2, llama3, chatml, phi3, gemma): overrides the format
  /// detected from the chat template; empty when not given.
  std::string chat_format;
  /// --vocab-only: write only the tokenizer of INPUT (a GGUF file, a tokenizer.json or a
  /// folder holding one) into a .kite file with no weights.
  bool vocab_only = false;
  /// --recipe NAME (recipes.h): the named pipeline whose options were applied before the
  /// user's own; empty when not given.
  std::string recipe;
  /// --calib FILE: calibration text (GPTQ, Wanda, --bpw); empty when not given.
  std::string calib;
  size_t calib_tokens = kDefaultCalibTokens;  ///< --calib-tokens N
  /// --awq on|off: with --quant q4 and --calib, search activation-aware input scales and
  /// fold them into the model before quantizing (awq.h). Default off.
  bool awq = false;
  PruneMethod prune = PruneMethod::kNone;     ///< --prune METHOD
  float sparsity = 0.0f;  ///< --sparsity S (unstructured pruning); 0.5 for 2:4
  double bpw = 0.0;       ///< --bpw B: mixed-precision budget; 0 when not given
  /// --distill: after quantization, tune norm weights, quantization scales and (by default)
  /// 4-bit codes towards the f32 model on the --calib text (distill.h).
  bool distill = false;
  /// --distill-steps N, --distill-lr X, --distill-codes on|off, --distill-code-lr X,
  /// --distill-codebook on|off, --distill-codebook-lr X,
  /// --distill-batch N, --distill-warmup N, --distill-heldout K, --distill-log-every N
  DistillOptions distill_options;
  /// --distill-log FILE: the KL curve as TSV (see pipeline.cc); empty when not given.
  std::string distill_log;
  /// --target NAME: the CPU the file is meant for (one of ConvertTargets()); empty when not
  /// given. Every target gets the same weight layout today (Q4_R16_G32 for q4 with group
  /// 32), which every kernel reads: it is recorded in the provenance only.
  std::string target;
};

/// --distill-log's default --distill-heldout: every 10th calibration window is held out.
inline constexpr size_t kDistillLogHeldoutEvery = 10;

/// The names --target accepts: x86-avx2, x86-avx512, aarch64, aarch64-dotprod,
/// aarch64-i8mm, armv7, generic. The array is static.
const std::vector<std::string>& ConvertTargets();

/// Parses the arguments after the program name with the shared parser (tools/common/flags.h:
/// "--opt VALUE", "--opt=VALUE", "-o VALUE", "--" before an input that starts with '-'), then
/// checks the options against each other (e.g. --sparsity only with --prune magnitude or
/// wanda). Any problem (unknown option, missing or bad value, no input, no output, two inputs, an
/// input together with --synthetic, an unknown synthetic shape) is an InvalidArgument error
/// whose message is meant for the user; callers exit with 2.
absl::StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args);

/// The --help text: usage, every option with its default, and an example.
std::string HelpText();

/// The options as a canonical command-line fragment, recorded in the file's provenance
/// (e.g. "--quant q4 --group-size 32 --tokenizer tok512.bin"; a synthetic model adds
/// " --synthetic NAME --seed S" and, when given, " --vocab N"; " --target NAME" when given;
/// " (recipe NAME)" after a --recipe).
std::string OptionsForProvenance(const CliOptions& options);

}  // namespace kite::convert
