// Fuzz target: the input is a safetensors file. Beyond "no crash": a rejected file has a
// message naming it; an accepted header's tensors all lie inside the data section, hold
// exactly shape x dtype bytes, do not overlap, and are found by name.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test/fuzz/fuzz_check.h"
#include "tools/convert/source/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kite::convert::SafetensorsEntry;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto header = kite::convert::ParseSafetensorsHeader(bytes, size, "fuzz.safetensors");
  if (!header.ok()) {
    FUZZ_CHECK(std::string(header.status().message()).rfind("fuzz.safetensors", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(header->data_start >= 8 && header->data_start <= size);
  const uint64_t data_bytes = size - header->data_start;
  std::vector<const SafetensorsEntry*> sorted;
  for (const SafetensorsEntry& e : header->tensors) {
    FUZZ_CHECK(e.begin <= e.end && e.end <= data_bytes);
    uint64_t n = 1;
    for (uint64_t d : e.shape) n *= d;  // cannot overflow: the parser checked
    FUZZ_CHECK(n * kite::convert::SafetensorsDTypeBytes(e.dtype) == e.end - e.begin);
    FUZZ_CHECK(header->Find(e.name) == &e);
    if (e.end > e.begin) sorted.push_back(&e);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i) FUZZ_CHECK(sorted[i - 1]->end <= sorted[i]->begin);
  return 0;
}
