// Fuzz target: split patterns (tools/convert/tokenizer/split_regex_compiler.h) and the
// program matcher (sdk/runtime/tokenizer/split_regex.h).
// Input: byte 0 picks the mode and the behaviour; then
//   - mode "pattern" (byte 0 even): a pattern up to the first NUL byte, then the text. A
//     pattern that compiles must give a program ValidateSplitProgram accepts.
//   - mode "program" (byte 0 odd): byte 1 = n, then n little-endian words taken as a
//     program (as a .kite file would hold one), then the text. Validation must refuse what the
//     matcher cannot run; a program it accepts must run.
// Either way the valid program splits the text (4 KiB at most) with the chosen behaviour and
// inversion, and the pieces must be non-empty, in order, inside the text, and (for every
// behaviour but REMOVED) tile it exactly.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sdk/runtime/tokenizer/split_regex.h"
#include "test/fuzz/fuzz_check.h"
#include "tools/convert/tokenizer/split_regex_compiler.h"

namespace {

constexpr size_t kMaxTextBytes = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  std::vector<uint32_t> words;
  size_t text_at = 0;
  if ((mode & 1) == 0) {
    const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data + 1, 0, size - 1));
    const size_t pattern_end = nul != nullptr ? static_cast<size_t>(nul - data) : size;
    const std::string pattern(reinterpret_cast<const char*>(data + 1), pattern_end - 1);
    absl::StatusOr<std::vector<uint32_t>> program = kite::convert::CompileSplitPattern(pattern);
    if (!program.ok()) {
      FUZZ_CHECK(!program.status().message().empty());
      return 0;
    }
    words = *std::move(program);
    FUZZ_CHECK(kite::ValidateSplitProgram(words.data(), static_cast<uint32_t>(words.size()),
                                          "fuzz pattern")
                   .ok());
    text_at = pattern_end < size ? pattern_end + 1 : size;
  } else {
    const size_t n = data[1];
    if (size < 2 + 4 * n) return 0;
    words.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* w = data + 2 + 4 * i;
      words[i] = uint32_t{w[0]} | uint32_t{w[1]} << 8 | uint32_t{w[2]} << 16 |
                 uint32_t{w[3]} << 24;
    }
    if (!kite::ValidateSplitProgram(words.data(), static_cast<uint32_t>(words.size()),
                                    "fuzz program")
             .ok()) {
      return 0;
    }
    text_at = 2 + 4 * n;
  }
  if (size - text_at > kMaxTextBytes) return 0;
  const std::string text(reinterpret_cast<const char*>(data + text_at), size - text_at);

  kite::SplitStage stage;
  stage.program.words = words.data();
  stage.program.n_words = static_cast<uint32_t>(words.size());
  stage.behavior = static_cast<kite::SplitBehavior>((mode >> 1) % 5);
  stage.invert = (mode & 0x80) != 0;
  static kite::SplitScratch scratch;
  size_t last_end = 0;
  bool tiles = true;
  auto emit = [&](size_t b, size_t e) -> kite::Status {
    FUZZ_CHECK(b < e && e <= text.size() && b >= last_end);
    if (b != last_end) tiles = false;
    last_end = e;
    return kite::Status::Ok();
  };
  FUZZ_CHECK(kite::SplitText(&stage, 1, text.data(), 0, text.size(), &scratch, emit).ok());
  if (stage.behavior != kite::SplitBehavior::REMOVED) {
    FUZZ_CHECK(tiles && last_end == text.size());
  }
  return 0;
}
