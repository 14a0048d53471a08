// kite-tokenize: encodes text into token ids, or decodes ids into text, with the tokenizer
// stored in a .kite file (a full model or a `kite-convert --vocab-only` file). Uses only the
// public C API. See kHelp for usage.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kite/kite.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kHelp =
    "Usage: kite-tokenize -m FILE.kite (--text STR | --file PATH) [--bos] [--json]\n"
    "       kite-tokenize -m FILE.kite --decode IDS\n"
    "\n"
    "Encodes text into token ids, or decodes token ids into text, with the tokenizer of a\n"
    "Kite file (a converted model, or a tokenizer-only file from kite-convert --vocab-only).\n"
    "\n"
    "Options\n"
    "  -m, --model FILE  The .kite file whose tokenizer to use (required).\n"
    "  --text STR        Encode STR (its bytes exactly as given).\n"
    "  --file PATH       Encode the whole file at PATH (bytes as they are; '-' reads stdin).\n"
    "  --bos             Put the model's BOS token first. Default: no BOS. Special-token\n"
    "                    text such as <|endoftext|> is always encoded as plain text.\n"
    "  --json            Print {\"ids\": [...]} instead of space-separated ids.\n"
    "  --decode IDS      Decode token ids, separated by commas and/or spaces (e.g.\n"
    "                    \"15496,995\" or \"15496 995\"), and print the text exactly (no\n"
    "                    newline is added).\n"
    "  -h, --help        Show this help.\n"
    "\n"
    "Output: the ids on one line (\"15496 995\"), or with --decode the text.\n"
    "Exit status: 0 success, 1 failure (bad file, id out of range), 2 bad command line.\n"
    "\n"
    "Examples\n"
    "  kite-tokenize -m gpt2-vocab.kite --text \"Hello world\"      # 15496 995\n"
    "  kite-tokenize -m gpt2-vocab.kite --decode 15496,995        # Hello world\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "kite-tokenize: %s\nRun 'kite-tokenize --help' for usage.\n",
               message.c_str());
  return kExitUsage;
}

bool ReadAll(const std::string& path, std::string* out) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  const bool ok = std::ferror(f) == 0;
  if (f != stdin) std::fclose(f);
  return ok;
}

int Run(int argc, char** argv) {
  std::string model_path, text, file, decode;
  bool have_text = false, have_file = false, have_decode = false, bos = false, json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "-m" || arg == "--model") {
      if (!value(&model_path)) return Usage(arg + " needs a file");
    } else if (arg == "--text") {
      if (!value(&text)) return Usage("--text needs a string");
      have_text = true;
    } else if (arg == "--file") {
      if (!value(&file)) return Usage("--file needs a path");
      have_file = true;
    } else if (arg == "--decode") {
      if (!value(&decode)) return Usage("--decode needs token ids");
      have_decode = true;
    } else if (arg == "--bos") {
      bos = true;
    } else if (arg == "--json") {
      json = true;
    } else {
      return Usage(absl::StrCat("unknown argument '", arg, "'"));
    }
  }
  if (model_path.empty()) return Usage("no model given: add -m FILE.kite");
  if (have_text + have_file + have_decode != 1) {
    return Usage("give exactly one of --text, --file and --decode");
  }
  if (have_decode && (bos || json)) return Usage("--bos and --json only apply to encoding");

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
    if (kite_tokenize(model, text.data(), text.size(), bos ? 1 : 0, out.data(), out.size(), &n) !=
        KITE_OK) {
      std::fprintf(stderr, "kite-tokenize: %s\n", kite_last_error());
      rc = kExitFailure;
    } else {
      std::string line = json ? "{\"ids\": [" : "";
      for (size_t i = 0; i < n; ++i) {
        absl::StrAppend(&line, i == 0 ? "" : (json ? ", " : " "), out[i]);
      }
      line += json ? "]}\n" : "\n";
      std::fputs(line.c_str(), stdout);
    }
  }
  kite_model_close(model);
  return rc;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
