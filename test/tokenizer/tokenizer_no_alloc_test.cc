// Encoding and decoding allocate nothing: every malloc and operator new while the byte-level
// (GPT-2; DeepSeek LLM and Falcon through compiled split patterns) and SentencePiece
// (Llama 2) tokenizers encode and decode the oracle strings is
// counted, and the count must be 0. Buffers and models are set up before counting starts.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "platform/file_map.h"
#include "sdk/runtime/loader/model.h"
#include "test/common/alloc_counter.h"
#include "test/common/test_paths.h"
#include "test/common/tool_run.h"
#include "test/common/vocab_tests.h"

namespace {
std::atomic<bool>& g_counting = kite::test::CountingAllocations();
std::atomic<long>& g_allocations = kite::test::AllocationCount();
}  // namespace

namespace kite {
namespace {

void ExpectNoAllocations(const char* file) {
  Result<FileMap> map = FileMap::OpenPath(test::TestModel(file).c_str());
  ASSERT_TRUE(map.ok()) << map.status().message();
  Result<std::unique_ptr<Model>> model = Model::Open(static_cast<FileMap&&>(map.value()), {});
  ASSERT_TRUE(model.ok()) << model.status().message();
  const Tokenizer& tok = model.value()->tokenizer();
  const std::vector<std::string> texts = test::ReadVocabTests("ggml-vocab-gpt-2.gguf.inp");
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
// Compiled split stages (SPLIT) and USER_DEFINED tokens matched before the split.
TEST(TokenizerNoAllocTest, SplitPatternBpe) { ExpectNoAllocations("vocab-deepseek-llm.kite"); }
TEST(TokenizerNoAllocTest, SplitPatternBpeFalcon) { ExpectNoAllocations("vocab-falcon.kite"); }
TEST(TokenizerNoAllocTest, SentencePieceBpe) { ExpectNoAllocations("vocab-llama-spm.kite"); }

}  // namespace
}  // namespace kite
