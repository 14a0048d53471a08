// The C API's contract: open paths (file, fd, memory), info, tokenize round trip, sessions
// sharing one model, callback stop, cancel, reset, version.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_lite.h"
#include "test/common/test_paths.h"

namespace {

const std::string kModel = kite::test::TestModel("stories260K-q4.kite");

std::vector<int32_t> GenerateGreedy(kite_session* s, const char* prompt, int n) {
  struct Sink {
    std::vector<int32_t> ids;
  } sink;
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = n;
  o.temperature = 0;
  EXPECT_EQ(kite_generate(s, prompt, &o,
                          [](const char*, int32_t t, void* u) {
                            static_cast<Sink*>(u)->ids.push_back(t);
                            return KITE_CONTINUE;
                          },
                          &sink, nullptr),
            KITE_OK)
      << kite_session_last_error(s);
  return sink.ids;
}

kite_session* NewSession(kite_model* m, uint32_t ctx = 128) {
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = ctx;
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(m, &o, nullptr, 0, &s), KITE_OK) << kite_last_error();
  return s;
}

TEST(CApi, VersionAndStatusStrings) {
  EXPECT_STREQ(kite_version(), "0.1.0");
  EXPECT_STREQ(kite_status_string(KITE_OK), "ok");
  EXPECT_STREQ(kite_status_string(KITE_ERR_INVALID_MODEL), "invalid model file");
  EXPECT_STRNE(kite_status_string(static_cast<kite_status>(99)), "");
}

TEST(CApi, OpenFromPathFdMemoryAndHugePagesGiveTheSameTokens) {
  kite_model* by_path = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &by_path), KITE_OK);
  const int fd = open(kModel.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  kite_model* by_fd = nullptr;
  ASSERT_EQ(kite_model_open_fd(fd, nullptr, &by_fd), KITE_OK) << kite_last_error();
  close(fd);  // the mapping outlives the descriptor
  std::string bytes;
  ASSERT_TRUE(kite::test::ReadWholeFile(kModel, &bytes));
  void* mem = ::operator new(bytes.size(), std::align_val_t(64));
  std::memcpy(mem, bytes.data(), bytes.size());
  kite_model* by_mem = nullptr;
  ASSERT_EQ(kite_model_open_memory(mem, bytes.size(), nullptr, &by_mem), KITE_OK) << kite_last_error();
  kite_model_options huge_options;
  kite_model_options_init(&huge_options);
  huge_options.huge_pages = 1;
  kite_model* by_huge = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), &huge_options, &by_huge), KITE_OK) << kite_last_error();
  kite_model* missing = nullptr;
  EXPECT_EQ(kite_model_open_file("/nonexistent.kite", &huge_options, &missing), KITE_ERR_IO);
  EXPECT_EQ(kite_model_open_file(::testing::TempDir().c_str(), &huge_options, &missing), KITE_ERR_IO);

  kite_model_info info;
  info.struct_size = sizeof(info);
  ASSERT_EQ(kite_model_get_info(by_mem, &info), KITE_OK);
  EXPECT_EQ(info.dim, 64u);
  EXPECT_EQ(info.n_layers, 5u);
  EXPECT_EQ(info.n_kv_heads, 4u);
  EXPECT_EQ(info.vocab_size, 512u);
  EXPECT_EQ(info.max_seq_len, 512u);
  EXPECT_EQ(info.bos_id, 1);
  EXPECT_EQ(info.file_bytes, bytes.size());

  std::vector<int32_t> reference;
  for (kite_model* m : {by_path, by_fd, by_mem, by_huge}) {
    kite_session* s = NewSession(m);
    const auto ids = GenerateGreedy(s, "Once upon a time", 20);
    EXPECT_EQ(ids.size(), 20u);
    if (reference.empty()) reference = ids;
    EXPECT_EQ(ids, reference);
    kite_session_destroy(s);
  }
  kite_model_close(by_path);
  kite_model_close(by_fd);
  kite_model_close(by_mem);
  kite_model_close(by_huge);
  ::operator delete(mem, std::align_val_t(64));
}

TEST(CApi, TokenizeDetokenizeRoundTrip) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  const std::string text = "The little dog ran to the park.";
  std::vector<int32_t> ids(text.size() + 2);
  size_t n = 0;
  ASSERT_EQ(kite_tokenize(m, text.data(), text.size(), 1, ids.data(), ids.size(), &n), KITE_OK);
  ASSERT_GT(n, 2u);
  EXPECT_EQ(ids[0], 1);
  char out[256];
  size_t len = 0;
  ASSERT_EQ(kite_detokenize(m, ids.data(), n, out, sizeof(out), &len), KITE_OK);
  EXPECT_EQ(std::string(out, len), text);
  EXPECT_EQ(kite_detokenize(m, ids.data(), n, out, 5, &len), KITE_ERR_OUT_OF_MEMORY);
  kite_model_close(m);
}

TEST(CApi, SessionsShareAModelIndependently) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  kite_session* a = NewSession(m);
  kite_session* b = NewSession(m);
  const auto first = GenerateGreedy(a, "The little dog", 16);
  GenerateGreedy(b, "Once upon a time", 30);  // must not disturb session a
  kite_session_reset(a);
  EXPECT_EQ(kite_session_position(a), 0u);
  EXPECT_EQ(GenerateGreedy(a, "The little dog", 16), first);
  kite_session_destroy(a);
  kite_session_destroy(b);
  kite_model_close(m);
}

TEST(CApi, CallbackStopAndCancel) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  kite_session* s = NewSession(m);
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = 50;
  kite_generate_stats st;
  st.struct_size = sizeof(st);
  int seen = 0;
  ASSERT_EQ(kite_generate(s, "Once", &o,
                          [](const char*, int32_t, void* u) {
                            return ++*static_cast<int*>(u) == 3 ? KITE_STOP : KITE_CONTINUE;
                          },
                          &seen, &st),
            KITE_OK);
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(st.generated_tokens, 3u);
  EXPECT_EQ(st.stop_reason, KITE_STOP_CALLBACK);

  kite_session_reset(s);
  struct CancelAfter {
    kite_session* s;
    int n;
  } c{s, 0};
  ASSERT_EQ(kite_generate(s, "Once", &o,
                          [](const char*, int32_t, void* u) {
                            auto* c = static_cast<CancelAfter*>(u);
                            if (++c->n == 5) kite_session_cancel(c->s);
                            return KITE_CONTINUE;
                          },
                          &c, &st),
            KITE_OK);
  EXPECT_EQ(st.stop_reason, KITE_STOP_CANCELLED);
  EXPECT_EQ(st.generated_tokens, 5u);
  kite_session_destroy(s);
  kite_model_close(m);
}

TEST(CApi, SeededSamplingIsReproducible) {
  kite_model* m = nullptr;
  ASSERT_EQ(kite_model_open_file(kModel.c_str(), nullptr, &m), KITE_OK);
  kite_session* s = NewSession(m, 256);
  kite_generate_options o;
  kite_generate_options_init(&o);
  o.max_tokens = 40;
  o.temperature = 1.0f;
  o.top_p = 0.9f;
  std::vector<int32_t> runs[3];
  for (int r = 0; r < 3; ++r) {
    o.seed = r < 2 ? 1234 : 99;
    kite_session_reset(s);
    ASSERT_EQ(kite_generate(s, "", &o,
                            [](const char*, int32_t t, void* u) {
                              static_cast<std::vector<int32_t>*>(u)->push_back(t);
                              return KITE_CONTINUE;
                            },
                            &runs[r], nullptr),
              KITE_OK);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_NE(runs[0], runs[2]);
  kite_session_destroy(s);
  kite_model_close(m);
}

}  // namespace
