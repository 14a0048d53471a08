// A deterministic stand-in for libFuzzer, so every fuzz target also runs in the default
// (gcc) build and in ctest. It feeds LLVMFuzzerTestOneInput:
//   - the empty input,
//   - every seed file named on the command line (a directory: every regular file in it,
//     in name order),
//   - pseudo-random mutations of the seeds (bit flips, byte overwrites, 32-bit boundary
//     values, truncations, insertions, deletions, splices), or random bytes when there are
//     no seeds, until --mutations=N inputs (default 5000) or --max-seconds=S (default 5)
//     of run time, whichever comes first.
// Each input sits in its own exactly-sized heap block, so AddressSanitizer catches reads
// past its end. The PRNG seed (--seed=N, default 1) fixes the whole sequence.
// A crash or sanitizer report fails the run; the driver then names the input it was running
// and writes it to ./fuzz-crash-input.bin, to replay with `<target> fuzz-crash-input.bin
// --mutations=0`.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));
// Present only when a sanitizer runtime is linked in.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

using Bytes = std::vector<uint8_t>;

// splitmix64: small, fast, and identical on every platform.
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n); n must be > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// The input being run, for the crash report.
const char* g_current_label = "";
const uint8_t* g_current_data = nullptr;
size_t g_current_size = 0;

void WriteString(const char* text) {
  ssize_t ignored = write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

// Runs from a signal handler or a sanitizer's death callback: async-signal-safe calls only.
void ReportCurrentInput() {
  WriteString("\nfuzz_driver: crashed on ");
  WriteString(g_current_label);
  const int fd = open("fuzz-crash-input.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    ssize_t ignored = write(fd, g_current_data, g_current_size);
    (void)ignored;
    close(fd);
    WriteString("; input saved to ./fuzz-crash-input.bin");
  }
  WriteString("\n");
}

void OnFatalSignal(int signal_number) {
  ReportCurrentInput();
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void InstallCrashReporters() {
  for (int signal_number : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) {
    std::signal(signal_number, OnFatalSignal);
  }
  if (__sanitizer_set_death_callback != nullptr) {
    __sanitizer_set_death_callback(ReportCurrentInput);
  }
}

void RunOne(const Bytes& input, const char* label) {
  // An exact-size copy: reading data[size] is a heap overflow under ASan.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[input.size() == 0 ? 1 : input.size()]);
  if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
  g_current_label = label;
  g_current_data = copy.get();
  g_current_size = input.size();
  LLVMFuzzerTestOneInput(copy.get(), input.size());
}

bool ReadFile(const std::filesystem::path& path, Bytes* out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  out->assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return true;
}

void PutU32(Bytes* data, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4 && at + i < data->size(); ++i) {
    (*data)[at + i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

// Applies one random edit to `data`. `other` is another seed for splicing.
void Mutate(Prng* rng, const Bytes& other, Bytes* data) {
  static const uint32_t kBoundaries[] = {0u,          1u,          0x7Fu,      0x80u,
                                         0xFFu,       0x100u,      0x7FFFu,    0xFFFFu,
                                         0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFFEu};
  const size_t kind = rng->Below(8);
  if (data->empty() && kind != 5) {  // only insertion makes sense on nothing
    data->push_back(static_cast<uint8_t>(rng->Next()));
    return;
  }
  switch (kind) {
    case 0: {  // flip one bit
      (*data)[rng->Below(data->size())] ^= static_cast<uint8_t>(1u << rng->Below(8));
      break;
    }
    case 1: {  // overwrite a byte
      (*data)[rng->Below(data->size())] = static_cast<uint8_t>(rng->Next());
      break;
    }
    case 2:
    case 3: {  // a boundary value as a little-endian u32, often on a 4-byte boundary
      size_t at = rng->Below(data->size());
      if (kind == 2) at &= ~size_t{3};
      PutU32(data, at, kBoundaries[rng->Below(sizeof(kBoundaries) / sizeof(kBoundaries[0]))]);
      break;
    }
    case 4: {  // truncate
      data->resize(rng->Below(data->size()));
      break;
    }
    case 5: {  // insert random bytes
      const size_t at = data->empty() ? 0 : rng->Below(data->size() + 1);
      const size_t n = 1 + rng->Below(16);
      Bytes bytes(n);
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng->Next());
      data->insert(data->begin() + static_cast<std::ptrdiff_t>(at), bytes.begin(), bytes.end());
      break;
    }
    case 6: {  // delete a range
      const size_t at = rng->Below(data->size());
      const size_t n = 1 + rng->Below(std::min<size_t>(64, data->size() - at));
      data->erase(data->begin() + static_cast<std::ptrdiff_t>(at),
                  data->begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    }
    case 7: {  // splice: keep a prefix, continue with the other seed's tail
      if (other.empty()) break;
      const size_t keep = rng->Below(data->size() + 1);
      const size_t from = rng->Below(other.size());
      data->resize(keep);
      data->insert(data->end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
      break;
    }
  }
}

bool ParseFlag(const char* arg, const char* name, uint64_t* value) {
  const size_t len = std::strlen(name);
  if (std::strncmp(arg, name, len) != 0 || arg[len] != '=') return false;
  *value = std::strtoull(arg + len + 1, nullptr, 10);
  return true;
}

void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--mutations=N] [--max-seconds=S] [--seed=N] [SEED_FILE|SEED_DIR]...\n",
               argv0);
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  uint64_t mutations = 5000;
  uint64_t max_seconds = 5;
  uint64_t seed = 1;
  std::vector<std::filesystem::path> seed_files;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (ParseFlag(arg, "--mutations", &mutations) || ParseFlag(arg, "--max-seconds", &max_seconds) ||
        ParseFlag(arg, "--seed", &seed)) {
      continue;
    }
    if (arg[0] == '-') {
      Usage(argv[0]);
      return 2;
    }
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      std::vector<std::filesystem::path> in_dir;
      for (const auto& entry : std::filesystem::directory_iterator(arg, error)) {
        if (entry.is_regular_file()) in_dir.push_back(entry.path());
      }
      std::sort(in_dir.begin(), in_dir.end());
      seed_files.insert(seed_files.end(), in_dir.begin(), in_dir.end());
    } else {
      seed_files.emplace_back(arg);
    }
  }

  std::vector<Bytes> seeds;
  for (const auto& path : seed_files) {
    Bytes data;
    if (!ReadFile(path, &data)) {
      std::fprintf(stderr, "fuzz_driver: cannot read seed %s\n", path.string().c_str());
      return 2;
    }
    seeds.push_back(std::move(data));
  }

  InstallCrashReporters();
  const auto start = std::chrono::steady_clock::now();
  RunOne(Bytes(), "empty input");
  for (size_t i = 0; i < seeds.size(); ++i) RunOne(seeds[i], seed_files[i].string().c_str());

  Prng rng(seed);
  char label[96];
  uint64_t done = 0;
  for (; done < mutations; ++done) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(max_seconds)) break;
    Bytes data;
    if (seeds.empty()) {
      data.resize(rng.Below(256));
      for (uint8_t& b : data) b = static_cast<uint8_t>(rng.Next());
    } else {
      data = seeds[rng.Below(seeds.size())];
      const Bytes& other = seeds[rng.Below(seeds.size())];
      const size_t edits = 1 + rng.Below(4);
      for (size_t e = 0; e < edits; ++e) Mutate(&rng, other, &data);
    }
    std::snprintf(label, sizeof(label), "mutation %llu (--seed=%llu)",
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(seed));
    RunOne(data, label);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("fuzz_driver: %zu seed(s), %llu mutation(s), %.2f s%s\n", seeds.size(),
              static_cast<unsigned long long>(done), seconds,
              done < mutations ? " (time limit reached)" : "");
  return 0;
}
