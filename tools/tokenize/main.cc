// kite-tokenize: encodes text into token ids, or decodes ids into text, with the tokenizer
// stored in a .kite file (a full model or a `kite-convert --vocab-only` file). Uses only the
// public C API. See MakeSpec for usage.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kite/kite.h"
#include "tools/common/flags.h"
#include "tools/common/input_file.h"
#include "tools/common/json.h"

namespace {

constexpr int kExitFailure = kite::flags::kExitFailure;
constexpr int kExitUsage = kite::flags::kExitUsage;

// The parsed command line.
struct Options {
  std::string model_path, text, file, decode;
  bool bos = false, json = false;
  int bench = 0;
};

// The kite-tokenize flag table, writing into *o.
kite::flags::FlagSpec MakeSpec(Options* o) {
  namespace flags = kite::flags;
  flags::FlagSpec spec;
  spec.program = "kite-tokenize";
  spec.help_column = 22;
  spec.header =
      "Usage: kite-tokenize -m FILE.kite (--text STR | --file PATH) [--bos] [--json] [--bench N]\n"
      "       kite-tokenize -m FILE.kite --decode IDS\n"
      "\n"
      "Encodes text into token ids, or decodes token ids into text, with the tokenizer of a\n"
      "Kite file (a converted model, or a tokenizer-only file from kite-convert --vocab-only).\n"
      "\n"
      "Options\n";
  spec.footer =
      "\n"
      "Output: the ids on one line (\"15496 995\"), or with --decode the text.\n"
      "The file is memory-mapped: replace a .kite file by writing a new one and renaming\n"
      "it over the old one, never by rewriting it in place (a file truncated while\n"
      "mapped kills the process with SIGBUS).\n"
      "Exit status: 0 success, 1 failure (bad file, id out of range), 2 bad command line.\n"
      "\n"
      "Examples\n"
      "  kite-tokenize -m gpt2-vocab.kite --text \"Hello world\"      # 15496 995\n"
      "  kite-tokenize -m gpt2-vocab.kite --decode 15496,995        # Hello world\n";
  spec.flags = {
      flags::String('m', "model", "FILE", &o->model_path,
                    "The .kite file whose tokenizer to use (required)."),
      flags::String(0, "text", "STR", &o->text, "Encode STR (its bytes exactly as given).")
          .AllowEmpty(),
      flags::String(0, "file", "PATH", &o->file,
                    "Encode the whole file at PATH (bytes as they are; '-'\n"
                    "reads stdin)."),
      flags::Switch(0, "bos", &o->bos,
                    "Put the model's BOS token first. Default: no BOS.\n"
                    "Special-token text such as <|endoftext|> is always\n"
                    "encoded as plain text."),
      flags::Switch(0, "json", &o->json, "Print {\"ids\": [...]} instead of space-separated ids."),
      flags::Int(0, "bench", "N", &o->bench, 1, 1000,
                 "Encode N times and print to stderr the median time of\n"
                 "one encoding and its tokens per second."),
      flags::String(0, "decode", "IDS", &o->decode,
                    "Decode token ids, separated by commas and/or spaces\n"
                    "(e.g. \"15496,995\" or \"15496 995\"), and print the text\n"
                    "exactly (no newline is added).")
          .AllowEmpty(),
  };
  return spec;
}

int Usage(const std::string& message) {
  std::fputs(kite::flags::UsageError("kite-tokenize", message).c_str(), stderr);
  return kExitUsage;
}

bool ReadAll(const std::string& path, std::string* out) {
  if (path != "-") {
    absl::StatusOr<std::string> contents = kite::tools::ReadInputFile(path);
    if (!contents.ok()) {
      std::fprintf(stderr, "kite-tokenize: %s\n", std::string(contents.status().message()).c_str());
      return false;
    }
    *out = std::move(*contents);
    return true;
  }
  std::FILE* f = stdin;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  const bool ok = std::ferror(f) == 0;
  if (f != stdin) std::fclose(f);
  return ok;
}

int Run(int argc, char** argv) {
  Options o;
  const kite::flags::FlagSpec spec = MakeSpec(&o);
  const kite::flags::ParsedArgs parsed =
      kite::flags::Parse(spec, std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) return Usage(parsed.error);
  if (parsed.help) {
    std::fputs(kite::flags::HelpText(spec).c_str(), stdout);
    return 0;
  }
  if (!parsed.positionals.empty()) {
    return Usage(absl::StrCat("unexpected argument '", parsed.positionals[0], "'"));
  }
  const std::string& model_path = o.model_path;
  const std::string& decode = o.decode;
  const std::string& file = o.file;
  std::string text = o.text;
  const bool have_text = parsed.Given("text"), have_file = parsed.Given("file"),
             have_decode = parsed.Given("decode"), bos = o.bos, json = o.json;
  if (model_path.empty()) return Usage("no model given: add -m FILE.kite");
  if (have_text + have_file + have_decode != 1) {
    return Usage("give exactly one of --text, --file and --decode");
  }
  if (have_decode && (bos || json || parsed.Given("bench"))) {
    return Usage("--bos, --json and --bench only apply to encoding");
  }

  std::vector<int32_t> ids;
  if (have_decode) {
    for (absl::string_view part :
         absl::StrSplit(decode, absl::ByAnyChar(", \t\n"), absl::SkipEmpty())) {
      int32_t id = 0;
      if (!absl::SimpleAtoi(part, &id)) {
        return Usage(absl::StrCat("--decode: '", part, "' is not a token id"));
      }
      ids.push_back(id);
    }
  }
  if (have_file && !ReadAll(file, &text)) {
    std::fprintf(stderr, "kite-tokenize: cannot read %s: %s\n", file.c_str(), std::strerror(errno));
    return kExitFailure;
  }

  kite_model* model = nullptr;
  if (kite_model_open_file(model_path.c_str(), nullptr, &model) != KITE_OK) {
    std::fprintf(stderr, "kite-tokenize: %s: %s\n", model_path.c_str(), kite_last_error());
    return kExitFailure;
  }
  int rc = 0;
  if (have_decode) {
    // Pieces are short; grow once if the first guess is too small.
    std::vector<char> out(ids.size() * 16 + 1);
    size_t len = 0;
    kite_status s = kite_detokenize(model, ids.data(), ids.size(), out.data(), out.size(), &len);
    if (s == KITE_ERR_OUT_OF_MEMORY) {
      out.resize(ids.size() * 4096 + 1);
      s = kite_detokenize(model, ids.data(), ids.size(), out.data(), out.size(), &len);
    }
    if (s != KITE_OK) {
      std::fprintf(stderr, "kite-tokenize: %s\n", kite_last_error());
      rc = kExitFailure;
    } else {
      std::fwrite(out.data(), 1, len, stdout);
    }
  } else {
    // One id per byte plus BOS always suffices; three times that takes the fast merge path.
    std::vector<int32_t> out(3 * (text.size() + 2));
    size_t n = 0;
    std::vector<double> seconds;
    kite_status s = KITE_OK;
    for (int run = 0; run < std::max(o.bench, 1) && s == KITE_OK; ++run) {
      const auto start = std::chrono::steady_clock::now();
      s = kite_tokenize(model, text.data(), text.size(), bos ? 1 : 0, out.data(), out.size(), &n);
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (s == KITE_OK && o.bench > 0) {
      std::sort(seconds.begin(), seconds.end());
      const double median = seconds[seconds.size() / 2];
      std::fprintf(stderr,
                   "kite-tokenize: %zu bytes -> %zu tokens, median %.3f ms over %d runs, "
                   "%.0f tokens/s\n",
                   text.size(), n, median * 1e3, o.bench, static_cast<double>(n) / median);
    }
    if (s != KITE_OK) {
      std::fprintf(stderr, "kite-tokenize: %s\n", kite_last_error());
      rc = kExitFailure;
    } else if (json) {
      kite::json::Value ids = kite::json::Value::Array({});
      for (size_t i = 0; i < n; ++i) ids.Push(kite::json::Value::Int(out[i]));
      kite::json::Value doc;
      doc.Add("ids", std::move(ids));
      std::printf("%s\n", kite::json::Write(doc).c_str());
    } else {
      std::string line;
      for (size_t i = 0; i < n; ++i) absl::StrAppend(&line, i == 0 ? "" : " ", out[i]);
      line += "\n";
      std::fputs(line.c_str(), stdout);
    }
  }
  kite_model_close(model);
  return rc;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
