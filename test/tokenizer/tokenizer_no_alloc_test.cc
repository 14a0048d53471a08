// Encoding and decoding allocate nothing: every malloc and operator new while the byte-level
// (GPT-2) and SentencePiece (Llama 2) tokenizers encode and decode the oracle strings is
// counted, and the count must be 0. Buffers and models are set up before counting starts.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "platform/file_map.h"
#include "sdk/runtime/model.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* malloc(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t a, size_t b) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return __libc_realloc(p, n);
}
void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  void* p = __libc_malloc(n ? n : 1);
  if (p == nullptr) std::abort();
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace kite {
namespace {

std::vector<std::string> OracleTexts() {
  const std::string all = test::ReadText(test::SharedModel("tokenizers/ggml-vocab-gpt-2.gguf.inp"));
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

void ExpectNoAllocations(const char* file) {
  Result<FileMap> map = FileMap::OpenPath(test::TestModel(file).c_str());
  ASSERT_TRUE(map.ok()) << map.status().message();
  Result<std::unique_ptr<Model>> model = Model::Open(static_cast<FileMap&&>(map.value()), {});
  ASSERT_TRUE(model.ok()) << model.status().message();
  const Tokenizer& tok = model.value()->tokenizer();
  const std::vector<std::string> texts = OracleTexts();
  ASSERT_EQ(texts.size(), 46u);
  std::vector<int32_t> ids(4096);
  std::vector<char> text(1 << 16);
  size_t total_ids = 0;

  g_allocations.store(0);
  g_counting.store(true);
  for (const std::string& t : texts) {
    for (size_t capacity : {Tokenizer::MaxTokensFor(t.size()), ids.size()}) {  // both merge paths
      size_t n = 0;
      if (!tok.Encode(t.data(), t.size(), true, ids.data(), capacity, &n).ok()) break;
      size_t len = 0;
      if (!tok.Decode(ids.data(), n, text.data(), text.size(), &len).ok()) break;
      total_ids += n;
    }
  }
  g_counting.store(false);
  EXPECT_EQ(g_allocations.load(), 0) << file;
  EXPECT_GT(total_ids, 46u * 2);  // the calls did work
}

TEST(TokenizerNoAllocTest, ByteLevelBpe) { ExpectNoAllocations("vocab-gpt-2.kite"); }
TEST(TokenizerNoAllocTest, SentencePieceBpe) { ExpectNoAllocations("vocab-llama-spm.kite"); }

}  // namespace
}  // namespace kite
