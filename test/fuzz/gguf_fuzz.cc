// Fuzz target: the input is a GGUF file. The reader must accept or reject it without
// crashing or reading out of bounds; when it parses, the model importer and the vocabulary
// importer run too, and a vocabulary that imports must encode and decode text with every id
// in range and byte-level vocabularies round-tripping it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/fuzz/fuzz_check.h"
#include "tools/convert/source/gguf_model.h"
#include "tools/convert/source/gguf_reader.h"

namespace {

void CheckTokenizer(const kite::convert::TokenizerTables& t) {
  const kite::Tokenizer tok(t.View());
  const std::string text = "Hello world! \xC3\xA9t\xC3\xA9 123\n\n  x \xF0\x9F\xA6\x99";
  std::vector<int32_t> ids(3 * kite::Tokenizer::MaxTokensFor(text.size()));
  size_t n = 0;
  const kite::Status s = tok.Encode(text.data(), text.size(), false, ids.data(), ids.size(), &n);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == kite::Error::kInvalidArgument);  // a byte with no token at all
    return;
  }
  FUZZ_CHECK(n <= ids.size());
  for (size_t i = 0; i < n; ++i)
    FUZZ_CHECK(ids[i] >= 0 && static_cast<size_t>(ids[i]) < t.pieces.size());
  std::vector<char> out(n * (t.max_piece_length + 8) + 1);
  size_t len = 0;
  FUZZ_CHECK(tok.Decode(ids.data(), n, out.data(), out.size(), &len).ok());
  if (t.kind == kite::TokenizerType::BYTE_BPE) {
    // Every byte starts as its single-byte piece and merges keep the bytes: exact.
    FUZZ_CHECK(std::string(out.data(), len) == text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<kite::convert::GgufFile> g =
      kite::convert::ParseGguf(std::vector<uint8_t>(data, data + size));
  if (!g.ok()) return 0;
  for (const kite::convert::GgufTensor& t : g->tensors()) {
    FUZZ_CHECK(t.data != nullptr && t.size <= size && t.offset <= size - t.size);
  }
  (void)kite::convert::SourceModelFromGguf(*g);
  absl::StatusOr<kite::convert::TokenizerTables> t = kite::convert::TokenizerFromGguf(*g);
  if (t.ok()) CheckTokenizer(*t);
  return 0;
}
