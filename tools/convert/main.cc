// kite-convert: converts a model checkpoint into a .kite file. See HelpText() for usage.
// Parses the command line, opens the input (source/source_reader.h) and runs the one
// conversion pipeline (pipeline.h).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/convert/cli_options.h"
#include "tools/convert/pipeline.h"
#include "tools/convert/source/source_reader.h"
#include "tools/common/output_file.h"

namespace kite::convert {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "kite-convert: error: %s\n", std::string(status.message()).c_str());
  return kExitFailure;
}

int Run(const std::vector<std::string>& args) {
  absl::StatusOr<CliOptions> parsed = ParseCommandLine(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "kite-convert: %s\nRun 'kite-convert --help' for usage.\n",
                 std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  const CliOptions& options = *parsed;
  if (options.help) {
    std::fputs(HelpText().c_str(), stdout);
    return kExitSuccess;
  }
  tools::InstallTemporaryCleanupHandlers();
  if (absl::Status s = tools::CheckOutputReplaceable(options.output); !s.ok()) return Fail(s);
  // The --distill-log TSV is written as training goes: never through a link, FIFO or device.
  if (!options.distill_log.empty()) {
    if (absl::Status s = tools::CheckOutputReplaceable(options.distill_log); !s.ok()) {
      return Fail(s);
    }
  }
  if (const std::string problem = InputUsageProblem(options); !problem.empty()) {
    std::fprintf(stderr, "kite-convert: %s\n", problem.c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<SourceReader>> source = OpenSource(options);
  if (!source.ok()) return Fail(source.status());
  // Files found while opening (a tokenizer beside the input, safetensors shards).
  if (IsInputFile((*source)->description(), options.output)) {
    std::fprintf(stderr, "kite-convert: the output %s would overwrite an input file\n",
                 options.output.c_str());
    return kExitUsage;
  }
  return RunConversion(options, source->get());
}

}  // namespace
}  // namespace kite::convert

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return kite::convert::Run(args);
}
