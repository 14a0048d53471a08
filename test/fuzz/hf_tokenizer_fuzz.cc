// Fuzz target: the input is a tokenizer.json. Parsing and importing must accept or reject
// it without crashing; a tokenizer that imports must encode text with every id in range into
// a buffer of Tokenizer::CapacityFor ids (never short of room), and byte-level ones must
// round-trip text whose bytes all have pieces (but for the spaces add_prefix_space puts in
// front of pieces; the text is already NFC and NFKC; with a normalizer pipeline, the decoded
// text is the pipeline's output, unless RAW added tokens cut the text).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/runtime/tokenizer/tokenizer.h"
#include "test/fuzz/fuzz_check.h"
#include "tools/common/json.h"
#include "tools/convert/tokenizer/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<kite::json::Value> doc =
      kite::json::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!doc.ok()) return 0;
  absl::StatusOr<kite::convert::TokenizerTables> t =
      kite::convert::HfTokenizerFromJson(*doc, nullptr, "fuzz");
  if (!t.ok()) return 0;
  const kite::Tokenizer tok(t->View());
  const std::string text = "hello world\n\n  he said: \xC3\xA9l\xC3\xA8ve 42";
  std::vector<int32_t> ids(tok.CapacityFor(text.size()));
  size_t n = 0;
  const kite::Status s = tok.Encode(text.data(), text.size(), false, ids.data(), ids.size(), &n);
  if (!s.ok()) {
    // A byte with no piece.
    FUZZ_CHECK(s.code() == kite::Error::kInvalidArgument);
    return 0;
  }
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(ids[i] >= 0 && static_cast<size_t>(ids[i]) < t->pieces.size());
  }
  std::vector<char> out(n * (t->max_piece_length + 8) + 1);
  size_t len = 0;
  FUZZ_CHECK(tok.Decode(ids.data(), n, out.data(), out.size(), &len).ok());
  if (t->kind == kite::TokenizerType::BYTE_BPE) {
    std::string decoded(out.data(), len);
    std::string expected = text;
    const kite::TokenizerView& v = tok.view();
    if (v.n_normalizer_steps > 0) {
      if (v.max_raw_length > 0) return 0;
      std::vector<char> scratch(
          2 * kite::NormalizerPipelineBound(v.normalizer_steps, v.n_normalizer_steps,
                                            text.size()));
      kite::NormalizedText r;
      FUZZ_CHECK(kite::ApplyNormalizerPipeline(v.normalizer_steps, v.n_normalizer_steps,
                                               text.data(), text.size(), scratch.data(),
                                               scratch.size(), &r));
      expected.assign(r.text, r.size);
    }
    if (t->prefix_space_stage >= 0) {
      for (std::string* str : {&decoded, &expected}) {
        std::string kept;
        for (char c : *str) {
          if (c != ' ') kept.push_back(c);
        }
        *str = kept;
      }
    }
    FUZZ_CHECK(decoded == expected);
  }
  return 0;
}
