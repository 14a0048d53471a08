#include "tools/convert/pipeline.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/convert/compress/awq.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/compress/compress_model.h"
#include "tools/convert/compress/distill.h"
#include "tools/convert/recipes.h"
#include "tools/convert/tokenizer/chat_detect.h"
#include "tools/convert/write/convert_tensors.h"
#include "tools/convert/write/kite_writer.h"
#include "tools/convert/write/report.h"

#ifndef KITE_VERSION
#define KITE_VERSION "0.0.0"
#endif

namespace kite::convert {
namespace {

// Progress on stderr, one line per tensor; on a terminal each line overwrites the previous
// one. In order: "[ i/n] name shape dtype ... done" (the start, then "done" at the end).
// In completion order (parallel conversion): "[done/n] name shape dtype done" at the end.
class ProgressPrinter : public ConvertProgress {
 public:
  explicit ProgressPrinter(bool completion_order)
      : tty_(isatty(fileno(stderr)) == 1), completion_order_(completion_order) {}

  void Begin(size_t index, size_t total, const SourceTensor& source, DType dtype) override {
    if (completion_order_) return;
    std::fprintf(stderr, "%s[%*zu/%zu] %s %s %s ... ", tty_ ? "\r\033[K" : "", Width(total),
                 index + 1, total, source.name.c_str(), ShapeString(source.shape).c_str(),
                 DTypeName(dtype));
    std::fflush(stderr);
    open_ = true;
  }
  void End(size_t index, size_t total, const KiteTensor& stored) override {
    ++finished_;
    const bool last = completion_order_ ? finished_ == total : index + 1 == total;
    if (completion_order_) {
      std::fprintf(stderr, "%s[%*zu/%zu] %s %s %s done%s", tty_ ? "\r\033[K" : "",
                   Width(total), finished_, total, stored.name.c_str(),
                   ShapeString(stored.shape).c_str(), DTypeName(stored.dtype),
                   tty_ && !last ? "" : "\n");
    } else {
      std::fputs(tty_ && !last ? "done" : "done\n", stderr);
    }
    std::fflush(stderr);
    open_ = tty_ && !last;
  }
  // Ends an unfinished line (before an error message).
  void Break() {
    if (open_) std::fputs("\n", stderr);
    open_ = false;
  }

 private:
  static int Width(size_t total) { return static_cast<int>(absl::StrCat(total).size()); }

  bool tty_;
  bool completion_order_;
  bool open_ = false;
  size_t finished_ = 0;
};

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void PrintConfig(const SourceConfig& c) {
  std::fprintf(stderr,
               "config: dim %u, hidden %u, layers %u, heads %u, kv heads %u, vocab %u, "
               "seq_len %u, %s classifier\n",
               c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size,
               c.max_seq_len, c.tied_embeddings ? "shared" : "separate");
}

// The chat format: --chat-format, else from the template, else from the vocabulary.
ChatFormat ChooseChatFormat(const CliOptions& options, const std::string& chat_template,
                              const TokenizerTables& tokenizer) {
  if (!options.chat_format.empty()) {
    absl::StatusOr<ChatFormat> forced = ParseChatFormatName(options.chat_format);
    if (forced.ok()) return *forced;
  }
  if (!chat_template.empty()) {
    const ChatFormat from_template = DetectChatFormatFromTemplate(chat_template);
    if (from_template != ChatFormat::NONE) return from_template;
  }
  return DetectChatFormatFromVocabulary([&](const char* piece) {
    for (const std::string& p : tokenizer.pieces) {
      if (p == piece) return true;
    }
    return false;
  });
}

// True when `options` ask for calibration, pruning, mixed precision or distillation, all
// of which need the whole f32 model in memory.
bool Compresses(const CliOptions& options) {
  return !options.calib.empty() || options.prune != PruneMethod::kNone || options.bpw > 0.0 ||
         options.distill;
}

// Prints a distillation run's progress on stderr (the speed and, for a run longer than 10
// minutes, a note after its first steps; the KLs at every report) and, when `log` is not
// null, appends each KL report to it as a TSV row (the header is written by the caller).
class DistillPrinter {
 public:
  DistillPrinter(const char* stage, std::FILE* log) : stage_(stage), log_(log) {}

  void operator()(const DistillProgress& p) const {
    if (p.kind == DistillProgress::kEstimate) {
      const double total = p.seconds + p.eta_seconds;
      std::fprintf(stderr, "  %.2f steps/s, %.0f tokens/s: about %.0f s for %zu steps%s\n",
                   p.steps_per_second, p.seconds > 0.0 ? p.tokens / p.seconds : 0.0, total,
                   p.total, total > 600.0 ? " (longer than 10 minutes)" : "");
      return;
    }
    if (p.kind == DistillProgress::kLog) {
      std::fprintf(stderr, "  step %zu/%zu  KL %.5f", p.step, p.total, p.train_kl);
      if (p.heldout_kl > 0.0) std::fprintf(stderr, "  held-out KL %.5f", p.heldout_kl);
      std::fprintf(stderr, "  %.2f steps/s  ETA %.0f s\n", p.steps_per_second, p.eta_seconds);
    } else if (p.heldout_kl > 0.0) {
      std::fprintf(stderr, "  step 0/%zu  KL %.5f  held-out KL %.5f\n", p.total, p.train_kl,
                   p.heldout_kl);
    }
    if (log_ != nullptr) {
      std::fprintf(log_, "%s\t%zu\t%.3f\t%zu\t%.6f\t%.6f\n", stage_, p.step, p.seconds, p.tokens,
                   p.train_kl, p.heldout_kl);
      std::fflush(log_);
    }
  }

 private:
  const char* stage_;
  std::FILE* log_;
};

// Closes a FILE* when it goes out of scope.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// The whole-model path: calibration, pruning, the mixed-precision choice and f32
// distillation on `source` (each only when asked for), conversion, then distillation of
// the stored tensors. Fills `tensors`.
absl::Status CompressAndConvert(CliOptions options, SourceModel* source,
                                const TokenizerTables& tokenizer, ProgressPrinter* progress,
                                std::vector<KiteTensor>* tensors) {
  CalibrationStats calibration;
  std::vector<std::vector<int32_t>> calib_sequences;
  if (!options.calib.empty()) {
    absl::StatusOr<std::string> text = ReadTextFile(options.calib);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<std::vector<int32_t>>> sequences = TokenizeCalibrationText(
        *text, tokenizer, source->config.max_seq_len, options.calib_tokens);
    if (!sequences.ok()) return sequences.status();
    calib_sequences = std::move(*sequences);
    size_t tokens = 0;
    for (const auto& seq : calib_sequences) tokens += seq.size();
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<CalibrationStats> stats = Calibrate(*source, calib_sequences);
    if (!stats.ok()) return stats.status();
    calibration = std::move(*stats);
    std::fprintf(stderr, "calibration: %zu tokens in %zu sequences from %s (%.1f s)\n", tokens,
                 calib_sequences.size(), options.calib.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (options.convert.quant == QuantMode::kQ4 && options.convert.gptq) {
      options.convert.calibration = &calibration;
    }
  }
  // --distill's teacher: the f32 weights before pruning and quantization.
  SourceModel teacher;
  if (options.distill) teacher = *source;
  if (options.awq) {
    AwqOptions awq;
    awq.group_size = options.convert.group_size;
    awq.asymmetric = options.convert.q4_asymmetric;
    awq.scale_rule = options.convert.q4_scale_rule;
    awq.threads = options.threads;
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<AwqGroupReport>> scaled =
        ApplyActivationScaling(source, &calibration, awq);
    if (!scaled.ok()) return scaled.status();
    size_t changed = 0;
    double before = 0.0, after = 0.0;
    for (const AwqGroupReport& g : *scaled) {
      std::fprintf(stderr, "  %-40s alpha %.3f  output error %.4g -> %.4g\n", g.name.c_str(),
                   g.alpha, g.error_at_zero, g.error);
      changed += g.alpha > 0.0;
      before += g.error_at_zero;
      after += g.error;
    }
    std::fprintf(stderr,
                 "activation-aware scaling: %zu of %zu groups scaled; 4-bit output "
                 "error on the calibration text, summed, %.4g -> %.4g (%.1f s)\n",
                 changed, scaled->size(), before, after,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (options.prune != PruneMethod::kNone) {
    const bool compensate = !options.calib.empty() && options.convert.gptq;
    absl::StatusOr<double> zeros =
        PruneModel(source, options.prune, options.sparsity,
                   options.calib.empty() ? nullptr : &calibration, compensate);
    if (!zeros.ok()) return zeros.status();
    std::fprintf(stderr, "pruned (%s%s): %.2f%% of the layers' weights are zero\n",
                 PruneMethodName(options.prune),
                 compensate || options.prune == PruneMethod::k24SparseGpt ? ", compensated" : "",
                 100.0 * *zeros);
    options.convert.gptq_keep_zeros = true;
  }
  if (options.bpw > 0.0) {
    std::fprintf(stderr, "measuring sensitivities for --bpw %g ...\n", options.bpw);
    absl::StatusOr<std::vector<TensorSensitivity>> chosen =
        ChooseMixedPrecision(*source, options.convert, calib_sequences, options.bpw,
                             [](const std::string& name, size_t done, size_t planned) {
                               std::fprintf(stderr, "  [%zu/%zu] %s\n", done, planned,
                                            name.c_str());
                             },
                             options.threads);
    if (!chosen.ok()) return chosen.status();
    std::fputs(FormatSensitivities(*chosen).c_str(), stdout);
    options.convert.keep_8bit.clear();
    for (const TensorSensitivity& t : *chosen) {
      if (t.chosen == Precision::kQ8) options.convert.keep_8bit.push_back(t.name);
      if (t.chosen == Precision::kQ3) options.convert.q3.push_back(t.name);
      if (t.chosen == Precision::kQ3G64) options.convert.q3_g64.push_back(t.name);
      if (t.chosen == Precision::kQ4Coarse) {
        options.convert.group_size_for.emplace_back(t.name, t.coarse_group_size);
      }
    }
  }
  // --distill-log: one TSV for both stages.
  std::unique_ptr<std::FILE, FileCloser> distill_log;
  if (options.distill && !options.distill_log.empty()) {
    distill_log.reset(std::fopen(options.distill_log.c_str(), "w"));
    if (distill_log == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write the --distill-log file \"", options.distill_log, "\""));
    }
    std::fputs("stage\tstep\tseconds\ttokens\ttrain_kl\theldout_kl\n", distill_log.get());
  }
  if (options.distill && options.prune != PruneMethod::kNone) {
    // Pruning removed weights: first let the kept f32 weights make up for them.
    const DistillOptions& d = options.distill_options;
    std::fprintf(stderr, "distilling the pruned f32 weights: %zu steps, lr %g\n", d.steps,
                 d.learning_rate);
    absl::StatusOr<DistillReport> tuned =
        DistillSourceWeights(teacher, calib_sequences, d, source,
                             DistillPrinter("f32", distill_log.get()));
    if (!tuned.ok()) return tuned.status();
    std::fprintf(stderr, "tuned %zu weights in %.1f s: KL on the calibration text %.5f -> %.5f\n",
                 tuned->parameters, tuned->seconds, tuned->kl_before, tuned->kl_after);
  }

  // --distill-codes after pruning: the pruned weights (exact zeros) keep their codes.
  SourceModel pruned;
  if (options.distill && options.distill_options.train_codes &&
      options.prune != PruneMethod::kNone) {
    pruned = *source;
    options.distill_options.frozen_zeros = &pruned;
  }
  absl::StatusOr<std::vector<KiteTensor>> converted =
      ConvertTensors(source, options.convert, progress);
  if (!converted.ok()) return converted.status();
  *tensors = std::move(*converted);
  if (options.distill) {
    const DistillOptions& d = options.distill_options;
    std::fprintf(stderr, "distilling: %zu steps, lr %g, against the f32 model on %s\n", d.steps,
                 d.learning_rate, options.calib.c_str());
    absl::StatusOr<DistillReport> distilled =
        DistillStoredTensors(teacher, calib_sequences, d, tensors,
                             DistillPrinter("stored", distill_log.get()));
    if (!distilled.ok()) return distilled.status();
    std::fprintf(stderr,
                 "distilled %zu values in %.1f s: KL on the calibration text %.5f -> %.5f%s\n",
                 distilled->parameters, distilled->seconds, distilled->kl_before,
                 distilled->kl_after,
                 distilled->kl_after < distilled->kl_before ? "" : " (no gain: kept as quantized)");
    if (distilled->heldout_positions > 0) {
      std::fprintf(stderr, "  held-out KL (%zu positions not trained on) %.5f -> %.5f\n",
                   distilled->heldout_positions, distilled->heldout_kl_before,
                   distilled->heldout_kl_after);
    }
    if (d.train_codes && options.convert.quant == QuantMode::kQ4) {
      std::fprintf(stderr, "  %zu 4-bit codes changed\n", distilled->codes_changed);
    }
  }
  return absl::OkStatus();
}

// Reads, converts and frees one tensor at a time, in order.
absl::Status ConvertStreaming(const SourceReader& source, const ConvertOptions& options,
                              ProgressPrinter* progress, std::vector<KiteTensor>* tensors) {
  if (options.quant == QuantMode::kQ4) {
    if (absl::Status s = ValidateGroupSize(options.group_size); !s.ok()) return s;
  }
  const size_t total = source.tensors().size();
  for (size_t i = 0; i < total; ++i) {
    SourceTensor t;
    if (absl::Status s = source.Load(i, &t); !s.ok()) return s;
    progress->Begin(i, total, t, StoredDType(t, options));
    absl::StatusOr<KiteTensor> converted = ConvertTensor(t, options);
    if (!converted.ok()) return converted.status();
    tensors->push_back(*std::move(converted));
    progress->End(i, total, tensors->back());
  }
  return absl::OkStatus();
}

// Reads and converts the tensors of `source` by the path RunConversion documents.
absl::Status ReadAndConvert(const CliOptions& options, SourceReader* source,
                            std::vector<KiteTensor>* tensors) {
  if (source->ParallelLoads()) {
    const auto start = std::chrono::steady_clock::now();
    ProgressPrinter progress(/*completion_order=*/true);
    absl::StatusOr<std::vector<KiteTensor>> converted = ConvertTensorsInParallel(
        source->tensors(),
        [source](size_t i, SourceTensor* t) { return source->Load(i, t); }, options.convert,
        &progress, options.threads);
    progress.Break();
    if (!converted.ok()) return converted.status();
    *tensors = std::move(*converted);
    std::fprintf(stderr, "generated and converted %zu tensors in %.1f s\n", tensors->size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return absl::OkStatus();
  }
  ProgressPrinter progress(/*completion_order=*/false);
  absl::Status status;
  if (source->HoldsWholeModel() || Compresses(options)) {
    // Calibration and distillation run the whole f32 model: read every tensor first.
    absl::StatusOr<SourceModel> model = source->TakeModel();
    status = model.ok() ? CompressAndConvert(options, &*model, source->description().tokenizer,
                                             &progress, tensors)
                        : model.status();
  } else {
    // One tensor in f32 at a time: read, convert, free (a 1B model would need 5 GB at once).
    status = ConvertStreaming(*source, options.convert, &progress, tensors);
  }
  progress.Break();
  return status;
}

}  // namespace

int RunConversion(const CliOptions& options, SourceReader* source) {
  const SourceDescription& d = source->description();
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "kite-convert: error: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  };
  KiteModel model;
  model.vocab_only = d.vocab_only;
  model.config = d.config;
  model.tokenizer = &d.tokenizer;
  model.chat_template = d.chat_template;
  if (d.detect_chat_format) {
    const ChatFormat chat = ChooseChatFormat(options, d.chat_template, d.tokenizer);
    model.chat_format = chat;
    if (!d.architecture_name.empty()) {
      std::fprintf(stderr, "architecture %s, chat format %s\n", d.architecture_name.c_str(),
                   ChatFormatName(chat));
    }
  }
  model.provenance.source = d.source;
  model.provenance.source_format = d.source_format;
  model.provenance.converter_version = "kite-convert " KITE_VERSION;
  CliOptions recorded = options;
  recorded.tokenizer = BaseName(d.tokenizer_path);
  model.provenance.options = OptionsForProvenance(recorded);

  if (!d.vocab_only) {
    PrintConfig(d.config);
    if (const Recipe* r = FindRecipe(options.recipe); r != nullptr) {
      std::fprintf(stderr, "%s\n", RecipeStartLine(*r).c_str());
    }
    if (absl::Status s = ReadAndConvert(options, source, &model.tensors); !s.ok()) return fail(s);
    std::fprintf(stderr, "writing %s\n", options.output.c_str());
  }
  absl::StatusOr<KiteFileSummary> written = WriteKiteFile(model, options.output);
  if (!written.ok()) return fail(written.status());
  if (d.vocab_only) {
    std::printf("wrote %s: vocabulary only, %u tokens (%s), %llu bytes\n",
                options.output.c_str(), model.config.vocab_size,
                d.tokenizer.kind == TokenizerType::BYTE_BPE ? "byte-level BPE"
                                                            : "SentencePiece BPE",
                static_cast<unsigned long long>(written->file_size));
  } else {
    std::fputs(FormatReport(model.tensors, *written, options.output).c_str(), stdout);
  }
  return kExitSuccess;
}

}  // namespace kite::convert
