// The kite-convert command line: parsing and help text. Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/convert_tensors.h"

namespace kite::convert {

/// Parsed kite-convert options.
struct CliOptions {
  bool help = false;        ///< --help / -h given: print HelpText() and exit 0
  std::string input;        ///< the checkpoint to convert
  std::string tokenizer;    ///< --tokenizer; empty: look beside the input
  std::string output;       ///< -o / --output
  ConvertOptions convert;   ///< --quant, --group-size
};

/// Parses the arguments after the program name. Accepts "--opt VALUE" and "--opt=VALUE".
/// Any problem (unknown option, missing or bad value, no input, no output, two inputs) is
/// an InvalidArgument error whose message is meant for the user; callers exit with 2.
absl::StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args);

/// The --help text: usage, every option with its default, and an example.
std::string HelpText();

/// The options as a canonical command-line fragment, recorded in the file's provenance
/// (e.g. "--quant q4 --group-size 32 --tokenizer tok512.bin").
std::string OptionsForProvenance(const CliOptions& options);

}  // namespace kite::convert
