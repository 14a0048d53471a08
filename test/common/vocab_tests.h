// The test strings of llama.cpp's tokenizer oracles (../shared/models/tokenizers/*.inp): each
// string followed by "\n__ggml_vocab_test__\n" (see that folder's README).
#pragma once

#include <string>
#include <vector>

#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace kite::test {

/// The strings of the shared oracle file `inp_name` (e.g. "ggml-vocab-gpt-2.gguf.inp"), in
/// order; an unterminated tail is dropped.
inline std::vector<std::string> ReadVocabTests(const std::string& inp_name) {
  const std::string all = ReadText(SharedModel("tokenizers/" + inp_name));
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> tests;
  for (size_t pos = 0; pos < all.size();) {
    const size_t end = all.find(separator, pos);
    if (end == std::string::npos) break;
    tests.push_back(all.substr(pos, end - pos));
    pos = end + separator.size();
  }
  return tests;
}

}  // namespace kite::test
