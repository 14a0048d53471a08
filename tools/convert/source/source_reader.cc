#include "tools/convert/source/source_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/convert/source/gguf_model.h"
#include "tools/convert/source/gguf_reader.h"
#include "tools/convert/source/hf_model.h"
#include "tools/convert/source/input_files.h"
#include "tools/convert/source/llama2c_checkpoint.h"
#include "tools/convert/source/synthetic.h"
#include "tools/convert/tokenizer/hf_tokenizer.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"

namespace kite::convert {

absl::StatusOr<SourceModel> SourceReader::TakeModel() {
  SourceModel model;
  model.config = description_.config;
  for (size_t i = 0; i < tensors().size(); ++i) {
    SourceTensor t;
    if (absl::Status s = Load(i, &t); !s.ok()) return s;
    model.tensors.push_back(std::move(t));
  }
  return model;
}

namespace {

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

// The chat template a GGUF file carries (tokenizer.chat_template), or "".
std::string GgufChatTemplate(const GgufFile& gguf) {
  absl::StatusOr<std::string> t = gguf.GetString("tokenizer.chat_template");
  return t.ok() ? *t : std::string();
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
  t->types.resize(first_pad, static_cast<uint8_t>(TokenType::NORMAL));
  for (size_t i = first_pad; i < vocab_size; ++i) {
    t->pieces.push_back(absl::StrCat("<|kite_unused_", i, "|>"));
    t->scores.push_back(0.0f);
    t->types.push_back(static_cast<uint8_t>(TokenType::UNUSED));
  }
  return absl::OkStatus();
}

// A format read whole when opened (llama2.c, GGUF): the tensors are in memory already.
class InMemoryReader : public SourceReader {
 public:
  const std::vector<SourceTensor>& tensors() const override { return model_.tensors; }
  absl::Status Load(size_t index, SourceTensor* out) const override {
    *out = model_.tensors[index];
    return absl::OkStatus();
  }
  bool HoldsWholeModel() const override { return true; }
  absl::StatusOr<SourceModel> TakeModel() override { return std::move(model_); }

 protected:
  SourceModel model_;
};

// A llama2.c legacy checkpoint and its tokenizer.bin (given, or found beside it).
class Llama2cReader : public InMemoryReader {
 public:
  static absl::StatusOr<std::unique_ptr<SourceReader>> Open(const CliOptions& options) {
    std::unique_ptr<Llama2cReader> r(new Llama2cReader);
    SourceDescription& d = r->description_;
    absl::StatusOr<Llama2cHeader> header = ReadLlama2cHeader(options.input);
    if (!header.ok()) return header.status();
    d.tokenizer_path = options.tokenizer;
    if (d.tokenizer_path.empty()) {
      absl::StatusOr<std::string> found = FindTokenizerBeside(options.input, header->vocab());
      if (!found.ok()) return found.status();
      d.tokenizer_path = *found;
      std::fprintf(stderr, "using tokenizer %s (found beside the input; --tokenizer overrides)\n",
                   d.tokenizer_path.c_str());
    }
    absl::StatusOr<TokenizerTables> tokenizer =
        ReadLlama2cTokenizer(d.tokenizer_path, static_cast<int32_t>(header->vocab()));
    if (!tokenizer.ok()) return tokenizer.status();
    d.tokenizer = std::move(*tokenizer);
    d.tokenizer.Finalize();

    std::fprintf(stderr, "reading %s (llama2.c checkpoint)\n", options.input.c_str());
    absl::StatusOr<SourceModel> model = ReadLlama2cCheckpoint(options.input);
    if (!model.ok()) return model.status();
    r->model_ = std::move(*model);
    d.config = r->model_.config;
    // llama2.c files carry no template: only --chat-format (or the vocabulary) decides.
    d.source = BaseName(options.input);
    d.source_format = "llama2c";
    d.input_files = {options.input, d.tokenizer_path};
    return std::unique_ptr<SourceReader>(std::move(r));
  }

 private:
  Llama2cReader() = default;
};

// A llama.cpp GGUF model file with its vocabulary (gguf_model.h).
class GgufReader : public InMemoryReader {
 public:
  static absl::StatusOr<std::unique_ptr<SourceReader>> Open(const CliOptions& options) {
    std::unique_ptr<GgufReader> r(new GgufReader);
    SourceDescription& d = r->description_;
    std::fprintf(stderr, "reading %s (GGUF)\n", options.input.c_str());
    absl::StatusOr<GgufFile> gguf = ReadGgufFile(options.input);
    if (!gguf.ok()) return gguf.status();
    if (gguf->tensors().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          options.input, " holds no tensors (a vocabulary-only GGUF); use --vocab-only to "
          "convert its tokenizer"));
    }
    absl::StatusOr<SourceModel> model = SourceModelFromGguf(*gguf);
    if (!model.ok()) return model.status();
    absl::StatusOr<TokenizerTables> tokenizer = TokenizerFromGguf(*gguf);
    if (!tokenizer.ok()) return tokenizer.status();
    r->model_ = std::move(*model);
    d.config = r->model_.config;
    d.tokenizer = std::move(*tokenizer);
    d.chat_template = GgufChatTemplate(*gguf);
    d.source = BaseName(options.input);
    d.source_format = "gguf";
    d.input_files = {options.input};
    return std::unique_ptr<SourceReader>(std::move(r));
  }

 private:
  GgufReader() = default;
};

// A Hugging Face model folder (hf_model.h), read one tensor at a time.
class HuggingFaceReader : public SourceReader {
 public:
  static absl::StatusOr<std::unique_ptr<SourceReader>> Open(const CliOptions& options) {
    const std::string& folder = options.input;
    const std::string tokenizer_json = JoinPath(folder, "tokenizer.json");
    struct stat st;
    const bool has_tokenizer_json = stat(tokenizer_json.c_str(), &st) == 0;
    if (options.tokenizer.empty() && !has_tokenizer_json) {
      return absl::NotFoundError(absl::StrCat(
          folder, " has no tokenizer.json; pass the tokenizer with --tokenizer FILE "
                  "(a llama2.c tokenizer.bin)"));
    }
    std::fprintf(stderr, "reading %s (Hugging Face folder)\n", folder.c_str());
    absl::StatusOr<HfWeights> hf = HfWeights::Open(folder);
    if (!hf.ok()) return hf.status();
    std::unique_ptr<HuggingFaceReader> r(new HuggingFaceReader(std::move(*hf)));
    SourceDescription& d = r->description_;
    d.config = r->hf_.hf().config;

    absl::StatusOr<TokenizerTables> tokenizer = absl::UnknownError("");
    if (!options.tokenizer.empty()) {
      d.tokenizer_path = options.tokenizer;
      tokenizer =
          ReadLlama2cTokenizer(options.tokenizer, static_cast<int32_t>(d.config.vocab_size));
    } else {
      std::fprintf(stderr, "reading %s\n", tokenizer_json.c_str());
      tokenizer = LoadHfTokenizerFromPath(folder);
      if (tokenizer.ok()) {
        absl::Status padded = PadVocabulary(d.config.vocab_size, &*tokenizer);
        if (!padded.ok()) return padded;
      }
    }
    if (!tokenizer.ok()) return tokenizer.status();
    d.tokenizer = std::move(*tokenizer);
    d.tokenizer.Finalize();
    std::vector<std::string> warnings;
    ApplyTokenHints(r->hf_.hf().hints, &d.tokenizer, &warnings);
    for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());

    d.chat_template = r->hf_.hf().hints.chat_template;
    d.architecture_name = r->hf_.hf().architecture_name;
    d.source = BaseName(folder.back() == '/' ? folder.substr(0, folder.size() - 1) : folder);
    d.source_format = "huggingface";
    if (!d.tokenizer_path.empty()) d.input_files.push_back(d.tokenizer_path);
    for (const std::string& f : r->hf_.weight_files()) {
      d.input_files.push_back(JoinPath(folder, f));
    }
    return std::unique_ptr<SourceReader>(std::move(r));
  }

  const std::vector<SourceTensor>& tensors() const override { return hf_.tensors(); }
  absl::Status Load(size_t index, SourceTensor* out) const override {
    return hf_.Load(index, out);
  }

 private:
  explicit HuggingFaceReader(HfWeights hf) : hf_(std::move(hf)) {}
  HfWeights hf_;
};

// --synthetic NAME: weights generated tensor by tensor (synthetic.h), so the f32 model
// never exists in memory as a whole.
class SyntheticReader : public SourceReader {
 public:
  static absl::StatusOr<std::unique_ptr<SourceReader>> Open(const CliOptions& options) {
    absl::StatusOr<SourceConfig> config = SyntheticConfig(options.synthetic, options.vocab);
    if (!config.ok()) return config.status();
    const unsigned threads =
        options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    std::fprintf(stderr, "generating synthetic %s (seed %llu, %u threads)\n",
                 options.synthetic.c_str(), static_cast<unsigned long long>(options.seed),
                 threads);
    std::unique_ptr<SyntheticReader> r(new SyntheticReader(options.seed));
    SourceDescription& d = r->description_;
    d.config = *config;
    d.tokenizer = MakeSyntheticTokenizer(config->vocab_size);
    d.detect_chat_format = false;
    d.source = absl::StrCat("synthetic:", options.synthetic);
    d.source_format = "synthetic";
    r->shapes_ = SyntheticTensorShapes(*config);
    return std::unique_ptr<SourceReader>(std::move(r));
  }

  const std::vector<SourceTensor>& tensors() const override { return shapes_; }
  absl::Status Load(size_t index, SourceTensor* out) const override {
    out->name = shapes_[index].name;
    out->shape = shapes_[index].shape;
    FillSyntheticTensor(seed_, out);
    return absl::OkStatus();
  }
  bool ParallelLoads() const override { return true; }

 private:
  explicit SyntheticReader(uint64_t seed) : seed_(seed) {}
  uint64_t seed_;
  std::vector<SourceTensor> shapes_;
};

// --vocab-only: the tokenizer of a GGUF file, a tokenizer.json or a folder holding one.
class VocabularyReader : public SourceReader {
 public:
  static absl::StatusOr<std::unique_ptr<SourceReader>> Open(const CliOptions& options,
                                                            InputFormat format) {
    std::unique_ptr<VocabularyReader> r(new VocabularyReader);
    SourceDescription& d = r->description_;
    absl::StatusOr<TokenizerTables> tokenizer = absl::UnknownError("");
    if (format == InputFormat::kGguf) {
      absl::StatusOr<GgufFile> gguf = ReadGgufFile(options.input);
      if (!gguf.ok()) return gguf.status();
      tokenizer = TokenizerFromGguf(*gguf);
      d.chat_template = GgufChatTemplate(*gguf);
      d.source_format = "gguf";
    } else {
      tokenizer = LoadHfTokenizerFromPath(options.input);
      d.source_format = "tokenizer.json";
    }
    if (!tokenizer.ok()) return tokenizer.status();
    d.tokenizer = std::move(*tokenizer);
    d.vocab_only = true;
    d.config.architecture = "";
    d.config.vocab_size = static_cast<uint32_t>(d.tokenizer.pieces.size());
    d.source = BaseName(options.input);
    d.input_files = {options.input};
    return std::unique_ptr<SourceReader>(std::move(r));
  }

  const std::vector<SourceTensor>& tensors() const override { return none_; }
  absl::Status Load(size_t index, SourceTensor* out) const override {
    return absl::OutOfRangeError("a vocabulary has no tensors");
  }

 private:
  VocabularyReader() = default;
  std::vector<SourceTensor> none_;
};

}  // namespace

std::string InputUsageProblem(const CliOptions& options) {
  if (!options.synthetic.empty()) return "";
  absl::StatusOr<InputFormat> format = DetectInputFormat(options.input);
  if (!options.vocab_only && format.ok() && *format == InputFormat::kGguf &&
      !options.tokenizer.empty()) {
    return "--tokenizer does not apply to GGUF input (the file carries its own vocabulary)";
  }
  if (SameFile(options.input, options.output) ||
      (!options.tokenizer.empty() && SameFile(options.tokenizer, options.output))) {
    return absl::StrCat("the output ", options.output, " would overwrite an input file");
  }
  return "";
}

bool IsInputFile(const SourceDescription& description, const std::string& path) {
  for (const std::string& f : description.input_files) {
    if (SameFile(f, path)) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<SourceReader>> OpenSource(const CliOptions& options) {
  if (!options.synthetic.empty()) return SyntheticReader::Open(options);
  absl::StatusOr<InputFormat> format = DetectInputFormat(options.input);
  if (!format.ok()) return format.status();
  if (options.vocab_only) return VocabularyReader::Open(options, *format);
  switch (*format) {
    case InputFormat::kGguf:
      return GgufReader::Open(options);
    case InputFormat::kHuggingFaceDir:
      return HuggingFaceReader::Open(options);
    case InputFormat::kLlama2c:
      return Llama2cReader::Open(options);
    default:
      return UnsupportedInput(options.input, *format);
  }
}

}  // namespace kite::convert
