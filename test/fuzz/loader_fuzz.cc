// Fuzz target for the model loader: any bytes either open as a model or fail with a
// message; an opened model must then run a short generation without crashing. Mutated
// metadata is also re-sealed with a valid checksum, so the structural checks behind the
// CRC are reached too.
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "kite/kite.h"
#include "sdk/format/crc32c.h"

namespace {

void OpenAndRun(const uint8_t* data, size_t size) {
  // 64-byte aligned copy, as a caller keeping a model in memory would provide.
  void* buf = ::operator new(size == 0 ? 1 : size, std::align_val_t(64));
  if (size != 0) std::memcpy(buf, data, size);
  kite_model* model = nullptr;
  if (kite_model_open_memory(buf, size, nullptr, &model) == KITE_OK) {
    kite_session_options so;
    kite_session_options_init(&so);
    so.max_context = 16;
    kite_session* session = nullptr;
    if (kite_session_create(model, &so, nullptr, 0, &session) == KITE_OK) {
      kite_generate_options go;
      kite_generate_options_init(&go);
      go.max_tokens = 4;
      kite_generate(session, "Once", &go, nullptr, nullptr, nullptr);
      kite_session_destroy(session);
    }
    kite_model_close(model);
  } else if (kite_last_error()[0] == '\0') {
    __builtin_trap();  // every failure must say why
  }
  ::operator delete(buf, std::align_val_t(64));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  OpenAndRun(data, size);
  // Re-seal the metadata checksum (see docs/file-format.md) when the record fits.
  if (size >= 16) {
    uint32_t fb_size = 0;
    std::memcpy(&fb_size, data, 4);
    const uint64_t total = static_cast<uint64_t>(fb_size) + 4;
    const uint64_t record = (total + 7) / 8 * 8;
    if (record + 8 <= size) {
      std::vector<uint8_t> sealed(data, data + size);
      std::memcpy(sealed.data() + record, "KCRC", 4);
      const uint32_t crc = kite::Crc32c(sealed.data(), total);
      std::memcpy(sealed.data() + record + 4, &crc, 4);
      OpenAndRun(sealed.data(), sealed.size());
    }
  }
  return 0;
}
