// The one conversion pipeline behind kite-convert: from an opened input (source_reader.h)
// to a written .kite file and the report. read -> compress (calibration, pruning, mixed
// precision, f32 distillation; only when asked for) -> quantize and pack (ConvertTensor)
// -> distill the stored tensors (when asked for) -> write -> report. Host tools only.
#pragma once

#include "tools/convert/cli_options.h"
#include "tools/convert/source/source_reader.h"

namespace kite::convert {

/// Process exit statuses of kite-convert.
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitFailure = 1;  ///< the conversion failed
inline constexpr int kExitUsage = 2;    ///< the command line is wrong

/// Converts `source` as `options` say and writes options.output, logging progress on
/// stderr and printing the report (or, for a vocabulary alone, one line) on stdout.
/// How the tensors are read:
/// - ParallelLoads() (synthetic weights): loaded and converted on options.threads threads;
/// - HoldsWholeModel(), or any whole-model step asked for (--calib, --prune, --bpw,
///   --distill): the whole f32 model (TakeModel), then ConvertTensors;
/// - otherwise one tensor at a time (read, convert, free), so a model never has to fit
///   in memory in f32.
/// Returns the exit status (kExitSuccess or kExitFailure, the error on stderr).
int RunConversion(const CliOptions& options, SourceReader* source);

}  // namespace kite::convert
