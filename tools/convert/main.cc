// kite-convert: converts a model checkpoint into a .kite file. See HelpText() for usage.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/tokenizer/chat_detect.h"
#include "tools/convert/cli_options.h"
#include "tools/convert/compress/compress_model.h"
#include "tools/convert/write/convert_tensors.h"
#include "tools/convert/compress/distill.h"
#include "tools/convert/source/gguf_model.h"
#include "tools/convert/source/gguf_reader.h"
#include "tools/convert/source/hf_model.h"
#include "tools/convert/tokenizer/hf_tokenizer.h"
#include "tools/convert/source/input_files.h"
#include "tools/convert/write/kite_writer.h"
#include "tools/convert/write/output_file.h"
#include "tools/convert/source/llama2c_checkpoint.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"
#include "tools/convert/write/report.h"
#include "tools/convert/source/synthetic.h"

#ifndef KITE_VERSION
#define KITE_VERSION "0.0.0"
#endif

namespace kite::convert {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Prints "[ i/n] name shape dtype ... done" per tensor on stderr; on a terminal each line
// overwrites the previous one.
class ProgressPrinter : public ConvertProgress {
 public:
  ProgressPrinter() : tty_(isatty(fileno(stderr)) == 1) {}

  void Begin(size_t index, size_t total, const SourceTensor& source, DType dtype) override {
    const int width = static_cast<int>(absl::StrCat(total).size());
    std::fprintf(stderr, "%s[%*zu/%zu] %s %s %s ... ", tty_ ? "\r\033[K" : "", width, index + 1,
                 total, source.name.c_str(), ShapeString(source.shape).c_str(), DTypeName(dtype));
    std::fflush(stderr);
    open_ = true;
  }
  void End(size_t index, size_t total, const KiteTensor& stored) override {
    std::fputs(tty_ && index + 1 < total ? "done" : "done\n", stderr);
    std::fflush(stderr);
    open_ = tty_ && index + 1 < total;
  }
  // Ends an unfinished line (before an error message).
  void Break() {
    if (open_) std::fputs("\n", stderr);
    open_ = false;
  }

 private:
  bool tty_;
  bool open_ = false;
};

// Progress of a parallel conversion: one line per finished tensor, "[done/total] name shape
// dtype", in completion order (on a terminal each line overwrites the previous one).
class CompletionPrinter : public ConvertProgress {
 public:
  CompletionPrinter() : tty_(isatty(fileno(stderr)) == 1) {}

  void End(size_t index, size_t total, const KiteTensor& stored) override {
    ++finished_;
    const int width = static_cast<int>(absl::StrCat(total).size());
    const bool last = finished_ == total;
    std::fprintf(stderr, "%s[%*zu/%zu] %s %s %s done%s", tty_ ? "\r\033[K" : "", width,
                 finished_, total, stored.name.c_str(), ShapeString(stored.shape).c_str(),
                 DTypeName(stored.dtype), tty_ && !last ? "" : "\n");
    std::fflush(stderr);
    open_ = tty_ && !last;
  }
  void Break() {
    if (open_) std::fputs("\n", stderr);
    open_ = false;
  }

 private:
  bool tty_;
  bool open_ = false;
  size_t finished_ = 0;
};

void PrintConfig(const SourceConfig& c) {
  std::fprintf(stderr,
               "config: dim %u, hidden %u, layers %u, heads %u, kv heads %u, vocab %u, "
               "seq_len %u, %s classifier\n",
               c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size,
               c.max_seq_len, c.tied_embeddings ? "shared" : "separate");
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// Why `path`, recognized as `format`, cannot be converted (yet).
absl::Status UnsupportedInput(const std::string& path, InputFormat format) {
  constexpr const char* kSupported =
      "supported: llama2.c legacy checkpoints, GGUF files, Hugging Face folders with "
      "config.json";
  switch (format) {
    case InputFormat::kDirectory:
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is a directory, not a checkpoint file (", kSupported, ")"));
    case InputFormat::kKite:
      return absl::InvalidArgumentError(absl::StrCat(path, " is already a .kite file"));
    case InputFormat::kLlama2cExport:
      return absl::UnimplementedError(absl::StrCat(
          path, " is a llama2.c version 1/2 export (magic \"ak42\"), which is not supported "
          "yet; export the legacy format (llama2.c export.py --version 0)"));
    default:
      return absl::UnimplementedError(absl::StrCat(path, " is a ", InputFormatName(format),
                                                   "; converting it is not supported yet (",
                                                   kSupported, ")"));
  }
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "kite-convert: error: %s\n", std::string(status.message()).c_str());
  return kExitFailure;
}

// kite-convert --synthetic NAME: generates the weights tensor by tensor on worker threads,
// converting and freeing each one, so the f32 model never exists in memory as a whole.
int RunSynthetic(const CliOptions& options) {
  absl::StatusOr<SourceConfig> config = SyntheticConfig(options.synthetic, options.vocab);
  if (!config.ok()) return Fail(config.status());
  const unsigned threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::fprintf(stderr, "generating synthetic %s (seed %llu, %u threads)\n",
               options.synthetic.c_str(), static_cast<unsigned long long>(options.seed),
               threads);
  PrintConfig(*config);

  const TokenizerTables tokenizer = MakeSyntheticTokenizer(config->vocab_size);
  KiteModel model;
  model.config = *config;
  model.tokenizer = &tokenizer;
  model.provenance.source = absl::StrCat("synthetic:", options.synthetic);
  model.provenance.source_format = "synthetic";
  model.provenance.converter_version = "kite-convert " KITE_VERSION;
  model.provenance.options = OptionsForProvenance(options);

  const auto start = std::chrono::steady_clock::now();
  CompletionPrinter progress;
  absl::StatusOr<std::vector<KiteTensor>> tensors = ConvertSyntheticTensors(
      SyntheticTensorShapes(*config), options.seed, options.convert, &progress, threads);
  if (!tensors.ok()) {
    progress.Break();
    return Fail(tensors.status());
  }
  model.tensors = std::move(*tensors);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "generated and converted %zu tensors in %.1f s\n", model.tensors.size(),
               seconds);

  std::fprintf(stderr, "writing %s\n", options.output.c_str());
  absl::StatusOr<KiteFileSummary> written = WriteKiteFile(model, options.output);
  if (!written.ok()) return Fail(written.status());
  std::fputs(FormatReport(model.tensors, *written, options.output).c_str(), stdout);
  return 0;
}

// The chat format: --chat-format, else from the template, else from the vocabulary.
ChatFormatId ChooseChatFormat(const CliOptions& options, const std::string& chat_template,
                              const TokenizerTables& tokenizer) {
  if (!options.chat_format.empty()) {
    absl::StatusOr<ChatFormatId> forced = ParseChatFormatName(options.chat_format);
    if (forced.ok()) return *forced;
  }
  if (!chat_template.empty()) {
    const ChatFormatId from_template = DetectChatFormatFromTemplate(chat_template);
    if (from_template != ChatFormatId::kNone) return from_template;
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

// The common end of every whole-model conversion: calibration, pruning and the
// mixed-precision choice on the f32 `source` (each only when asked for), conversion,
// distillation, and writing `options.output`. `model` already holds the config, tokenizer
// and provenance. Returns the process exit status.
int CompressAndWrite(CliOptions options, SourceModel* source, const TokenizerTables& tokenizer,
                     KiteModel* model_out) {
  KiteModel& model = *model_out;
  // Calibration, pruning and the mixed-precision choice, all on the f32 source.
  CalibrationStats calibration;
  std::vector<std::vector<int32_t>> calib_sequences;
  if (!options.calib.empty()) {
    absl::StatusOr<std::string> text = ReadTextFile(options.calib);
    if (!text.ok()) return Fail(text.status());
    absl::StatusOr<std::vector<std::vector<int32_t>>> sequences = TokenizeCalibrationText(
        *text, tokenizer, source->config.max_seq_len, options.calib_tokens);
    if (!sequences.ok()) return Fail(sequences.status());
    calib_sequences = std::move(*sequences);
    size_t tokens = 0;
    for (const auto& seq : calib_sequences) tokens += seq.size();
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<CalibrationStats> stats = Calibrate(*source, calib_sequences);
    if (!stats.ok()) return Fail(stats.status());
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
  if (options.prune != PruneMethod::kNone) {
    const bool compensate = !options.calib.empty() && options.convert.gptq;
    absl::StatusOr<double> zeros =
        PruneModel(&*source, options.prune, options.sparsity,
                   options.calib.empty() ? nullptr : &calibration, compensate);
    if (!zeros.ok()) return Fail(zeros.status());
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
    if (!chosen.ok()) return Fail(chosen.status());
    std::fputs(FormatSensitivities(*chosen).c_str(), stdout);
    options.convert.keep_8bit.clear();
    for (const TensorSensitivity& t : *chosen) {
      if (t.chosen == Precision::kQ8) options.convert.keep_8bit.push_back(t.name);
      if (t.chosen == Precision::kQ4Coarse) {
        options.convert.group_size_for.emplace_back(t.name, t.coarse_group_size);
      }
    }
  }
  if (options.distill && options.prune != PruneMethod::kNone) {
    // Pruning removed weights: first let the kept f32 weights make up for them.
    const DistillOptions& d = options.distill_options;
    std::fprintf(stderr, "distilling the pruned f32 weights: %zu steps, lr %g\n", d.steps,
                 d.learning_rate);
    absl::StatusOr<DistillReport> tuned = DistillSourceWeights(
        teacher, calib_sequences, d, &*source, [](size_t step, size_t total, double kl) {
          std::fprintf(stderr, "  step %zu/%zu  KL %.5f\n", step, total, kl);
        });
    if (!tuned.ok()) return Fail(tuned.status());
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
  ProgressPrinter progress;
  absl::StatusOr<std::vector<KiteTensor>> tensors =
      ConvertTensors(&*source, options.convert, &progress);
  if (!tensors.ok()) {
    progress.Break();
    return Fail(tensors.status());
  }
  model.tensors = std::move(*tensors);
  if (options.distill) {
    const DistillOptions& d = options.distill_options;
    std::fprintf(stderr, "distilling: %zu steps, lr %g, against the f32 model on %s\n", d.steps,
                 d.learning_rate, options.calib.c_str());
    absl::StatusOr<DistillReport> distilled = DistillStoredTensors(
        teacher, calib_sequences, d, &model.tensors, [](size_t step, size_t total, double kl) {
          std::fprintf(stderr, "  step %zu/%zu  KL %.5f\n", step, total, kl);
        });
    if (!distilled.ok()) return Fail(distilled.status());
    std::fprintf(stderr,
                 "distilled %zu values in %.1f s: KL on the calibration text %.5f -> %.5f%s\n",
                 distilled->parameters, distilled->seconds, distilled->kl_before,
                 distilled->kl_after,
                 distilled->kl_after < distilled->kl_before ? "" : " (no gain: kept as quantized)");
    if (d.train_codes && options.convert.quant == QuantMode::kQ4) {
      std::fprintf(stderr, "  %zu 4-bit codes changed\n", distilled->codes_changed);
    }
  }

  std::fprintf(stderr, "writing %s\n", options.output.c_str());
  absl::StatusOr<KiteFileSummary> written = WriteKiteFile(model, options.output);
  if (!written.ok()) return Fail(written.status());
  std::fputs(FormatReport(model.tensors, *written, options.output).c_str(), stdout);
  return 0;
}

// Embedding matrices often have more rows than the tokenizer has tokens (Qwen2.5: 151936
// rows, 151665 tokens): the runtime wants one table entry per row, so the extra rows get
// UNUSED placeholder pieces that text never produces.
absl::Status PadVocabulary(uint32_t vocab_size, TokenizerTables* t) {
  if (t->pieces.size() > vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer.json has ", t->pieces.size(), " tokens but config.json's vocab_size is ",
        vocab_size, " (the embedding has too few rows)"));
  }
  const size_t first_pad = t->pieces.size();
  if (first_pad < vocab_size) {
    std::fprintf(stderr, "padding the vocabulary from %zu to %u tokens (unused embedding rows)\n",
                 first_pad, vocab_size);
  }
  t->scores.resize(first_pad, 0.0f);
  t->types.resize(first_pad, static_cast<uint8_t>(TokenKind::kNormal));
  for (size_t i = first_pad; i < vocab_size; ++i) {
    t->pieces.push_back(absl::StrCat("<|kite_unused_", i, "|>"));
    t->scores.push_back(0.0f);
    t->types.push_back(static_cast<uint8_t>(TokenKind::kUnused));
  }
  return absl::OkStatus();
}

// kite-convert FOLDER: a Hugging Face model folder (see tools/convert/source/hf_model.h).
int RunHuggingFace(CliOptions options) {
  const std::string& folder = options.input;
  const std::string tokenizer_json = JoinPath(folder, "tokenizer.json");
  struct stat st;
  const bool has_tokenizer_json = stat(tokenizer_json.c_str(), &st) == 0;
  if (options.tokenizer.empty() && !has_tokenizer_json) {
    return Fail(absl::NotFoundError(absl::StrCat(
        folder, " has no tokenizer.json; pass the tokenizer with --tokenizer FILE "
                "(a llama2.c tokenizer.bin)")));
  }
  if (!options.tokenizer.empty() && SameFile(options.tokenizer, options.output)) {
    std::fprintf(stderr, "kite-convert: the output %s would overwrite an input file\n",
                 options.output.c_str());
    return kExitUsage;
  }

  std::fprintf(stderr, "reading %s (Hugging Face folder)\n", folder.c_str());
  absl::StatusOr<HfWeights> hf = HfWeights::Open(folder);
  if (!hf.ok()) return Fail(hf.status());
  const SourceConfig& config = hf->hf().config;
  PrintConfig(config);

  absl::StatusOr<TokenizerTables> tokenizer = absl::UnknownError("");
  if (!options.tokenizer.empty()) {
    tokenizer = ReadLlama2cTokenizer(options.tokenizer, static_cast<int32_t>(config.vocab_size));
  } else {
    std::fprintf(stderr, "reading %s\n", tokenizer_json.c_str());
    tokenizer = LoadHfTokenizerFromPath(folder);
    if (tokenizer.ok()) {
      absl::Status padded = PadVocabulary(config.vocab_size, &*tokenizer);
      if (!padded.ok()) return Fail(padded);
    }
  }
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  tokenizer->Finalize();
  std::vector<std::string> warnings;
  ApplyTokenHints(hf->hf().hints, &*tokenizer, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());

  KiteModel model;
  model.config = config;
  model.tokenizer = &*tokenizer;
  model.chat_template = hf->hf().hints.chat_template;
  const ChatFormatId chat = ChooseChatFormat(options, model.chat_template, *tokenizer);
  model.chat_format = static_cast<uint8_t>(chat);
  std::fprintf(stderr, "architecture %s, chat format %s\n", hf->hf().architecture_name.c_str(),
               ChatFormatName(chat));
  model.provenance.source = BaseName(folder.back() == '/' ? folder.substr(0, folder.size() - 1)
                                                          : folder);
  model.provenance.source_format = "huggingface";
  model.provenance.converter_version = "kite-convert " KITE_VERSION;
  CliOptions recorded = options;
  recorded.tokenizer = BaseName(options.tokenizer);
  model.provenance.options = OptionsForProvenance(recorded);

  if (Compresses(options)) {
    // Calibration and distillation run the whole f32 model: read every tensor first.
    SourceModel source;
    source.config = config;
    for (size_t i = 0; i < hf->tensors().size(); ++i) {
      SourceTensor t;
      if (absl::Status s = hf->Load(i, &t); !s.ok()) return Fail(s);
      source.tensors.push_back(std::move(t));
    }
    return CompressAndWrite(options, &source, *tokenizer, &model);
  }
  // One tensor in f32 at a time: read, convert, free (a 1B model would need 5 GB at once).
  if (options.convert.quant == QuantMode::kQ4) {
    if (absl::Status s = ValidateGroupSize(options.convert.group_size); !s.ok()) return Fail(s);
  }
  ProgressPrinter progress;
  const size_t total = hf->tensors().size();
  for (size_t i = 0; i < total; ++i) {
    SourceTensor t;
    absl::Status loaded = hf->Load(i, &t);
    if (loaded.ok()) progress.Begin(i, total, t, StoredDType(t, options.convert));
    absl::StatusOr<KiteTensor> converted =
        loaded.ok() ? ConvertTensor(t, options.convert) : absl::StatusOr<KiteTensor>(loaded);
    if (!converted.ok()) {
      progress.Break();
      return Fail(converted.status());
    }
    model.tensors.push_back(*std::move(converted));
    progress.End(i, total, model.tensors.back());
  }

  std::fprintf(stderr, "writing %s\n", options.output.c_str());
  absl::StatusOr<KiteFileSummary> written = WriteKiteFile(model, options.output);
  if (!written.ok()) return Fail(written.status());
  std::fputs(FormatReport(model.tensors, *written, options.output).c_str(), stdout);
  return 0;
}

// The chat template a GGUF file carries (tokenizer.chat_template), or "".
std::string GgufChatTemplate(const GgufFile& gguf) {
  absl::StatusOr<std::string> t = gguf.GetString("tokenizer.chat_template");
  return t.ok() ? *t : std::string();
}

// kite-convert MODEL.gguf: a llama.cpp model file with its vocabulary (gguf_model.h).
int RunGguf(const CliOptions& options) {
  if (!options.tokenizer.empty()) {
    std::fprintf(stderr, "kite-convert: --tokenizer does not apply to GGUF input (the file "
                         "carries its own vocabulary)\n");
    return kExitUsage;
  }
  if (SameFile(options.input, options.output)) {
    std::fprintf(stderr, "kite-convert: the output %s would overwrite an input file\n",
                 options.output.c_str());
    return kExitUsage;
  }
  std::fprintf(stderr, "reading %s (GGUF)\n", options.input.c_str());
  absl::StatusOr<GgufFile> gguf = ReadGgufFile(options.input);
  if (!gguf.ok()) return Fail(gguf.status());
  if (gguf->tensors().empty()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        options.input, " holds no tensors (a vocabulary-only GGUF); use --vocab-only to "
        "convert its tokenizer")));
  }
  absl::StatusOr<SourceModel> source = SourceModelFromGguf(*gguf);
  if (!source.ok()) return Fail(source.status());
  absl::StatusOr<TokenizerTables> tokenizer = TokenizerFromGguf(*gguf);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  PrintConfig(source->config);

  KiteModel model;
  model.config = source->config;
  model.tokenizer = &*tokenizer;
  model.chat_template = GgufChatTemplate(*gguf);
  model.chat_format =
      static_cast<uint8_t>(ChooseChatFormat(options, model.chat_template, *tokenizer));
  model.provenance.source = BaseName(options.input);
  model.provenance.source_format = "gguf";
  model.provenance.converter_version = "kite-convert " KITE_VERSION;
  model.provenance.options = OptionsForProvenance(options);
  return CompressAndWrite(options, &*source, *tokenizer, &model);
}

// kite-convert --vocab-only INPUT: a .kite file holding only INPUT's tokenizer.
int RunVocabOnly(const CliOptions& options, InputFormat format) {
  if (SameFile(options.input, options.output)) {
    std::fprintf(stderr, "kite-convert: the output %s would overwrite an input file\n",
                 options.output.c_str());
    return kExitUsage;
  }
  absl::StatusOr<TokenizerTables> tokenizer = absl::UnknownError("");
  std::string chat_template;
  std::string source_format;
  if (format == InputFormat::kGguf) {
    absl::StatusOr<GgufFile> gguf = ReadGgufFile(options.input);
    if (!gguf.ok()) return Fail(gguf.status());
    tokenizer = TokenizerFromGguf(*gguf);
    chat_template = GgufChatTemplate(*gguf);
    source_format = "gguf";
  } else {
    tokenizer = LoadHfTokenizerFromPath(options.input);
    source_format = "tokenizer.json";
  }
  if (!tokenizer.ok()) return Fail(tokenizer.status());

  KiteModel model;
  model.vocab_only = true;
  model.config.architecture = "";
  model.config.vocab_size = static_cast<uint32_t>(tokenizer->pieces.size());
  model.tokenizer = &*tokenizer;
  model.chat_template = chat_template;
  model.chat_format = static_cast<uint8_t>(ChooseChatFormat(options, chat_template, *tokenizer));
  model.provenance.source = BaseName(options.input);
  model.provenance.source_format = source_format;
  model.provenance.converter_version = "kite-convert " KITE_VERSION;
  model.provenance.options = OptionsForProvenance(options);
  absl::StatusOr<KiteFileSummary> written = WriteKiteFile(model, options.output);
  if (!written.ok()) return Fail(written.status());
  std::printf("wrote %s: vocabulary only, %u tokens (%s), %llu bytes\n", options.output.c_str(),
              model.config.vocab_size,
              tokenizer->kind == TokenizerKind::kByteBpe ? "byte-level BPE" : "SentencePiece BPE",
              static_cast<unsigned long long>(written->file_size));
  return 0;
}

int Run(const std::vector<std::string>& args) {
  absl::StatusOr<CliOptions> parsed = ParseCommandLine(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "kite-convert: %s\nRun 'kite-convert --help' for usage.\n",
                 std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  CliOptions options = *parsed;
  if (options.help) {
    std::fputs(HelpText().c_str(), stdout);
    return 0;
  }
  InstallTemporaryCleanupHandlers();
  if (absl::Status s = CheckOutputReplaceable(options.output); !s.ok()) return Fail(s);
  if (!options.synthetic.empty()) return RunSynthetic(options);

  absl::StatusOr<InputFormat> format = DetectInputFormat(options.input);
  if (!format.ok()) return Fail(format.status());
  if (options.vocab_only) return RunVocabOnly(options, *format);
  if (*format == InputFormat::kGguf) return RunGguf(options);
  if (*format == InputFormat::kHuggingFaceDir) return RunHuggingFace(options);
  if (*format != InputFormat::kLlama2c) return Fail(UnsupportedInput(options.input, *format));
  if (SameFile(options.input, options.output) ||
      (!options.tokenizer.empty() && SameFile(options.tokenizer, options.output))) {
    std::fprintf(stderr, "kite-convert: the output %s would overwrite an input file\n",
                 options.output.c_str());
    return kExitUsage;
  }

  absl::StatusOr<Llama2cHeader> header = ReadLlama2cHeader(options.input);
  if (!header.ok()) return Fail(header.status());
  if (options.tokenizer.empty()) {
    absl::StatusOr<std::string> found = FindTokenizerBeside(options.input, header->vocab());
    if (!found.ok()) return Fail(found.status());
    options.tokenizer = *found;
    std::fprintf(stderr, "using tokenizer %s (found beside the input; --tokenizer overrides)\n",
                 options.tokenizer.c_str());
  }
  absl::StatusOr<TokenizerTables> tokenizer =
      ReadLlama2cTokenizer(options.tokenizer, static_cast<int32_t>(header->vocab()));
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  tokenizer->Finalize();

  std::fprintf(stderr, "reading %s (llama2.c checkpoint)\n", options.input.c_str());
  absl::StatusOr<SourceModel> source = ReadLlama2cCheckpoint(options.input);
  if (!source.ok()) return Fail(source.status());
  PrintConfig(source->config);

  KiteModel model;
  model.config = source->config;
  model.tokenizer = &*tokenizer;
  // llama2.c files carry no template: only --chat-format (or the vocabulary) decides.
  model.chat_format = static_cast<uint8_t>(ChooseChatFormat(options, "", *tokenizer));
  model.provenance.source = BaseName(options.input);
  model.provenance.source_format = "llama2c";
  model.provenance.converter_version = "kite-convert " KITE_VERSION;
  CliOptions recorded = options;
  recorded.tokenizer = BaseName(options.tokenizer);
  model.provenance.options = OptionsForProvenance(recorded);

  return CompressAndWrite(options, &*source, *tokenizer, &model);
}

}  // namespace
}  // namespace kite::convert

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return kite::convert::Run(args);
}
