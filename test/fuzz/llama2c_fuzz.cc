// Fuzz target: the input is a llama2.c checkpoint (kite-convert's .bin input). Each input
// is read twice through the reader's file path (an in-memory file, /proc/self/fd/N):
//   1. as given: nearly always rejected by the header checks or the exact-size check;
//   2. with its first 28 bytes as the header and the body repeated or cut to exactly the
//      size that header implies (when that is at most 1 MiB), so the weight reading is
//      reached as often as the header checks allow.
// Beyond "no crash": a rejected file has a message; an accepted one has a valid header, the
// exact implied size, and tensors holding exactly their shapes' elements.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test/fuzz/fuzz_check.h"
#include "tools/convert/source/llama2c_checkpoint.h"

namespace {

constexpr uint64_t kMaxResizedBytes = 1 << 20;

// One memfd reused for every input (opening one per input costs more than the parse).
int MemFd() {
  static const int fd = memfd_create("llama2c_fuzz", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  return fd;
}

void ReadAsFile(const std::vector<uint8_t>& bytes) {
  const int fd = MemFd();
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    FUZZ_CHECK(n > 0);
    done += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  absl::StatusOr<kite::convert::SourceModel> model = kite::convert::ReadLlama2cCheckpoint(path);
  if (!model.ok()) {
    FUZZ_CHECK(!model.status().message().empty());
    return;
  }
  FUZZ_CHECK(bytes.size() >= kite::convert::kLlama2cHeaderBytes);
  const kite::convert::Llama2cHeader header = kite::convert::DecodeLlama2cHeader(bytes.data());
  FUZZ_CHECK(kite::convert::ValidateLlama2cHeader(header).ok());
  absl::StatusOr<uint64_t> expected = kite::convert::Llama2cFileSize(header);
  FUZZ_CHECK(expected.ok() && *expected == bytes.size());
  FUZZ_CHECK(!model->tensors.empty());
  for (const auto& t : model->tensors) {
    uint64_t elements = 1;
    for (uint64_t d : t.shape) elements *= d;
    FUZZ_CHECK(elements == t.data.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> as_given(data, data + size);
  ReadAsFile(as_given);
  if (size < kite::convert::kLlama2cHeaderBytes) return 0;
  const kite::convert::Llama2cHeader header = kite::convert::DecodeLlama2cHeader(data);
  if (!kite::convert::ValidateLlama2cHeader(header).ok()) return 0;
  absl::StatusOr<uint64_t> expected = kite::convert::Llama2cFileSize(header);
  if (!expected.ok() || *expected > kMaxResizedBytes || *expected == size) return 0;
  std::vector<uint8_t> resized(static_cast<size_t>(*expected));
  for (size_t i = 0; i < resized.size(); ++i) resized[i] = data[i % size];
  ReadAsFile(resized);
  return 0;
}
