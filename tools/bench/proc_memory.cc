#include "tools/bench/proc_memory.h"

#include <cstdio>
#include <cstring>

namespace kite::bench {
namespace {

// The sum of the named kB fields of /proc/self/smaps_rollup, in bytes.
uint64_t SmapsRollupBytes(bool file_pmd, bool anon_huge) {
  std::FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t total = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long kib = 0;
    if ((file_pmd && std::sscanf(line, "FilePmdMapped: %llu kB", &kib) == 1) ||
        (anon_huge && std::sscanf(line, "AnonHugePages: %llu kB", &kib) == 1)) {
      total += kib * 1024;
    }
  }
  std::fclose(f);
  return total;
}

}  // namespace

uint64_t HugeMappedBytes() { return SmapsRollupBytes(true, true); }

uint64_t AnonHugeBytes() { return SmapsRollupBytes(false, true); }

}  // namespace kite::bench
