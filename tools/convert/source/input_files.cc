#include "tools/convert/source/input_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/common/input_file.h"

namespace kite::convert {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The folder part of `path` with a trailing '/', or "" for a bare file name.
std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

}  // namespace

const char* InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kLlama2c: return "llama2.c legacy checkpoint";
    case InputFormat::kLlama2cExport: return "llama2.c version 1/2 export";
    case InputFormat::kGguf: return "GGUF file";
    case InputFormat::kKite: return ".kite file";
    case InputFormat::kSafetensors: return "safetensors file";
    case InputFormat::kHuggingFaceDir: return "Hugging Face model folder";
    case InputFormat::kDirectory: return "directory";
  }
  return "unknown";
}

absl::StatusOr<InputFormat> DetectInputFormat(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("input ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    const std::string sep = path.empty() || path.back() == '/' ? "" : "/";
    return IsRegularFile(path + sep + "config.json") ? InputFormat::kHuggingFaceDir
                                                      : InputFormat::kDirectory;
  }
  uint64_t size = 0;
  absl::StatusOr<int> fd = tools::OpenInputFile(path, &size);
  if (!fd.ok()) return fd.status();
  uint8_t head[12] = {};
  const ssize_t got = pread(*fd, head, sizeof(head), 0);
  close(*fd);
  const size_t n = got > 0 ? static_cast<size_t>(got) : 0;

  if (n >= 4 && std::memcmp(head, "GGUF", 4) == 0) return InputFormat::kGguf;
  if (n >= 12 && std::memcmp(head + 8, "KITE", 4) == 0) return InputFormat::kKite;
  // llama2.c's export writes the magic 0x616b3432 as a little-endian uint32.
  if (n >= 4 && std::memcmp(head, "24ka", 4) == 0) return InputFormat::kLlama2cExport;
  // safetensors: uint64 JSON header length, then the JSON object ({"...). As a llama2.c
  // header that would mean n_layers >= 0x227B, which the reader rejects anyway.
  if (n >= 10 && head[6] == 0 && head[7] == 0 && head[8] == '{' && head[9] == '"') {
    return InputFormat::kSafetensors;
  }
  return InputFormat::kLlama2c;
}

absl::StatusOr<std::string> FindTokenizerBeside(const std::string& checkpoint,
                                                uint32_t vocab_size) {
  const std::string dir = DirectoryOf(checkpoint);
  const std::vector<std::string> candidates = {
      absl::StrCat(dir, "tok", vocab_size, ".bin"),
      absl::StrCat(dir, "tokenizer.bin"),
  };
  for (const std::string& c : candidates) {
    if (IsRegularFile(c)) return c;
  }
  return absl::NotFoundError(absl::StrCat(
      "no tokenizer found beside ", checkpoint, " (looked for ", absl::StrJoin(candidates, " and "),
      "); pass the llama2.c tokenizer file with --tokenizer PATH"));
}

}  // namespace kite::convert
