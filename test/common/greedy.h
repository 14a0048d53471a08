// Greedy generation through the C API, for tests that compare token ids.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kite/kite.h"

namespace kite::test {

/// The ids kite_generate produces for `prompt` with `options` (the final flush call with
/// token -1, if any, is not an id and is skipped). Adds a test failure, with the session's
/// last error, when the call does not return KITE_OK.
inline std::vector<int32_t> GenerateTokens(kite_session* s, const char* prompt,
                                           const kite_generate_options& options) {
  std::vector<int32_t> ids;
  EXPECT_EQ(kite_generate(s, prompt, &options,
                          [](const char*, int32_t t, void* u) {
                            if (t >= 0) static_cast<std::vector<int32_t>*>(u)->push_back(t);
                            return KITE_CONTINUE;
                          },
                          &ids, nullptr),
            KITE_OK)
      << kite_session_last_error(s);
  return ids;
}

/// GenerateTokens with temperature 0 and at most `n` tokens.
inline std::vector<int32_t> GreedyTokens(kite_session* s, const char* prompt, int n) {
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = n;
  o.temperature = 0;
  return GenerateTokens(s, prompt, o);
}

}  // namespace kite::test
