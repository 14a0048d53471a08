// Fuzz target: NFC / NFKC normalization (sdk/runtime/tokenizer/normalize.h).
// Input: byte 0 picks the form (even NFC, odd NFKC); the rest (4 KiB at most) is the text,
// any bytes. Properties: the measured length equals the written length; a short output
// buffer is never overrun and holds a prefix of the full result; normalizing the result
// again changes nothing (idempotence; for NFKC, NFC changes nothing either); text the quick
// check calls normalized comes out unchanged.
#include <cstdint>
#include <cstring>
#include <string>

#include "sdk/runtime/tokenizer/normalize.h"
#include "test/fuzz/fuzz_check.h"

namespace {

constexpr size_t kMaxTextBytes = 4096;

std::string Normalize(kite::NormalizerType form, const std::string& text) {
  const size_t n = kite::NormalizedLength(form, text.data(), text.size());
  std::string out(n, '\0');
  FUZZ_CHECK(kite::NormalizeText(form, text.data(), text.size(), &out[0], out.size()) == n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size - 1 > kMaxTextBytes) return 0;
  const kite::NormalizerType form =
      (data[0] & 1) == 0 ? kite::NormalizerType::NFC : kite::NormalizerType::NFKC;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string out = Normalize(form, text);
  FUZZ_CHECK(Normalize(form, out) == out);
  if (form == kite::NormalizerType::NFKC) {
    FUZZ_CHECK(Normalize(kite::NormalizerType::NFC, out) == out);
  }
  if (kite::IsNormalizedQuick(form, text.data(), text.size())) FUZZ_CHECK(out == text);
  // Half the room, with a guard byte after it.
  std::string part(out.size() / 2 + 1, '\x5A');
  const size_t room = out.size() / 2;
  FUZZ_CHECK(kite::NormalizeText(form, text.data(), text.size(), &part[0], room) == out.size());
  FUZZ_CHECK(part[room] == '\x5A');
  FUZZ_CHECK(std::memcmp(part.data(), out.data(), room) == 0);
  return 0;
}
