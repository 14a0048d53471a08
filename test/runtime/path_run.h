// What the kernel-path tests (isa_paths_test.cc, sparse24_test.cc) share: the ISA ceilings of
// this architecture, a greedy run of a test model on one path (ISA ceiling, threads, prefill
// chunk), the golden prompt, and the largest logit difference between two runs.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace kite::test {

/// Every ISA ceiling of this architecture, lowest first, then "best".
#if defined(__aarch64__) || defined(__arm__)
inline const char* const kIsas[] = {"scalar", "neon", "neondot", "i8mm", "best"};
#else
inline const char* const kIsas[] = {"scalar", "avx2", "avxvnni", "avx512vnni", "best"};
#endif

struct PathRun {
  std::vector<int32_t> generated;
  std::vector<float> first_logits;  // after the prompt
};

/// The session options of a path run: a 256-token context, `threads` threads, prefill
/// chunks of `chunk` tokens.
inline kite_session_options PathSessionOptions(uint32_t threads, uint32_t chunk) {
  kite_session_options so;
  kite_session_options_init(&so);
  so.max_context = 256;
  so.threads = threads;
  so.prefill_chunk = chunk;
  return so;
}

/// Loads the test model `model_name` with the ISA ceiling `isa`, feeds `prompt`, then
/// generates `n` greedy tokens with `threads` threads and prefill chunks of `chunk` tokens.
/// Failures are reported with EXPECT (an empty run if the model does not open).
inline PathRun Generate(const std::string& model_name, const char* isa, uint32_t threads,
                        uint32_t chunk, const std::vector<int32_t>& prompt, int n) {
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.max_isa = isa;
  kite_model* model = nullptr;
  PathRun run;
  EXPECT_EQ(kite_model_open_file(TestModel(model_name).c_str(), &mo, &model), KITE_OK)
      << kite_last_error();
  if (model == nullptr) return run;
  const kite_session_options so = PathSessionOptions(threads, chunk);
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(model, &so, nullptr, 0, &s), KITE_OK) << kite_last_error();
  EXPECT_EQ(kite_session_feed(s, prompt.data(), prompt.size()), KITE_OK)
      << kite_session_last_error(s);
  const float* logits = nullptr;
  size_t vocab = 0;
  kite_session_logits(s, &logits, &vocab);
  run.first_logits.assign(logits, logits + vocab);
  for (int i = 0; i < n; ++i) {
    kite_session_logits(s, &logits, &vocab);
    int32_t best = 0;
    for (size_t v = 1; v < vocab; ++v) {
      best = logits[v] > logits[best] ? static_cast<int32_t>(v) : best;
    }
    run.generated.push_back(best);
    EXPECT_EQ(kite_session_feed(s, &best, 1), KITE_OK);
  }
  kite_session_destroy(s);
  kite_model_close(model);
  return run;
}

/// The token ids under `key` ("prompt_token_ids", "generated_token_ids") of the stories260K
/// greedy golden.
inline std::vector<int32_t> GoldenIds(const char* key) {
  const json::Value json =
      LoadJson(SharedModel("goldens/stories260K-greedy-once_upon_a_time.json"));
  std::vector<int64_t> ids;
  EXPECT_TRUE(JsonIntArray(json, key, &ids));
  return std::vector<int32_t>(ids.begin(), ids.end());
}

/// max |a[v] - b[v]| over the first logits of two runs of the same model (over the shorter
/// one if their sizes differ).
inline double MaxLogitDifference(const PathRun& a, const PathRun& b) {
  double worst = 0;
  for (size_t v = 0; v < a.first_logits.size() && v < b.first_logits.size(); ++v) {
    worst = std::fmax(worst, std::fabs(a.first_logits[v] - b.first_logits[v]));
  }
  return worst;
}

}  // namespace kite::test
