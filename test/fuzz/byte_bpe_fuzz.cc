// Fuzz target: the input is text for the byte-level BPE encoder, with GPT-2's vocabulary
// (../shared/models/tokenizers/ggml-vocab-gpt-2.gguf, loaded once). The first byte picks
// the pre-tokenizer (GPT-2, Llama 3, Qwen2, SmolLM) and ignore_merges; the rest is the text, any
// bytes at all. Checks: no crash, both merge paths give the same ids, every id is in range,
// the pre-tokens tile the text, and decode(encode(text)) == text (every byte has a piece,
// so even invalid UTF-8 round-trips).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sdk/runtime/tokenizer/pretokenizer.h"
#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/fuzz/fuzz_check.h"
#include "tools/convert/source/gguf_model.h"
#include "tools/convert/source/gguf_reader.h"

namespace {

kite::convert::TokenizerTables* g_tables = nullptr;

// Rescanning merges are quadratic in a pre-token's length: keep inputs moderate.
constexpr size_t kMaxTextBytes = 4096;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  absl::StatusOr<kite::convert::GgufFile> g = kite::convert::ReadGgufFile(
      std::string(KITE_SHARED_MODELS) + "/tokenizers/ggml-vocab-gpt-2.gguf");
  FUZZ_CHECK(g.ok());
  absl::StatusOr<kite::convert::TokenizerTables> t = kite::convert::TokenizerFromGguf(*g);
  FUZZ_CHECK(t.ok());
  g_tables = new kite::convert::TokenizerTables(*std::move(t));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > kMaxTextBytes) return 0;
  kite::TokenizerView view = g_tables->View();
  view.pretokenizer = static_cast<kite::PreTokenizerType>(1 + data[0] % 4);
  view.ignore_merges = (data[0] & 0x80) != 0;
  const kite::Tokenizer tok(view);
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  for (size_t pos = 0; pos < text.size();) {
    const size_t end = kite::NextPreToken(view.pretokenizer, text.data(), text.size(), pos);
    FUZZ_CHECK(end > pos && end <= text.size());
    pos = end;
  }
  const size_t minimal = kite::Tokenizer::MaxTokensFor(text.size());
  std::vector<int32_t> slow(minimal), fast(3 * minimal);
  size_t n_slow = 0, n_fast = 0;
  FUZZ_CHECK(tok.Encode(text.data(), text.size(), false, slow.data(), slow.size(), &n_slow).ok());
  FUZZ_CHECK(tok.Encode(text.data(), text.size(), false, fast.data(), fast.size(), &n_fast).ok());
  FUZZ_CHECK(n_slow == n_fast && n_slow <= text.size());
  FUZZ_CHECK(std::memcmp(slow.data(), fast.data(), n_slow * sizeof(int32_t)) == 0);
  for (size_t i = 0; i < n_fast; ++i) {
    FUZZ_CHECK(fast[i] >= 0 && static_cast<uint32_t>(fast[i]) < view.vocab_size);
  }
  // Too little room is an error that names the need, never an overflow.
  size_t n = 0;
  if (!text.empty()) {
    FUZZ_CHECK(
        tok.Encode(text.data(), text.size(), false, slow.data(), text.size() - 1, &n).code() ==
        kite::Error::kOutOfMemory);
  }
  std::vector<char> out(text.size() + 1);
  size_t len = 0;
  FUZZ_CHECK(tok.Decode(fast.data(), n_fast, out.data(), out.size(), &len).ok());
  FUZZ_CHECK(len == text.size() && std::memcmp(out.data(), text.data(), len) == 0);
  return 0;
}
