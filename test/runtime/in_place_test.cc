// The heap-free C API (kite_model_open_memory_in, kite_session_create_in): from open to
// close nothing is allocated (every malloc and operator new is counted), the tokens equal
// the heap path's, the f32 model still matches llama2.c's goldens, and bad storage fails
// with a clear error.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "test/common/json_fixture.h"
#include "test/common/alloc_counter.h"
#include "test/common/kite_file_edit.h"
#include "test/common/test_paths.h"

namespace {
std::atomic<bool>& g_counting = kite::test::CountingAllocations();
std::atomic<long>& g_allocations = kite::test::AllocationCount();
}  // namespace

namespace {

// A file's bytes at a 64-byte aligned address (as firmware would link it into flash).
struct AlignedFile {
  std::vector<uint8_t> buffer;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

AlignedFile FromBytes(const std::string& bytes) {
  AlignedFile f;
  f.buffer.resize(bytes.size() + 64);
  uint8_t* p = f.buffer.data();
  p += (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64;
  std::memcpy(p, bytes.data(), bytes.size());
  f.data = p;
  f.size = bytes.size();
  return f;
}

AlignedFile Load(const std::string& path) {
  std::string bytes;
  EXPECT_TRUE(kite::test::ReadWholeFile(path, &bytes)) << path;
  return FromBytes(bytes);
}

// Caller storage with room to spare, handed out at a chosen alignment.
struct Storage {
  std::vector<uint8_t> buffer;
  uint8_t* Aligned(size_t bytes, size_t align) {
    buffer.assign(bytes + 2 * align, 0);
    uint8_t* p = buffer.data();
    return p + (align - reinterpret_cast<uintptr_t>(p) % align) % align;
  }
};

kite_session_options SessionOptions() {
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 128;
  o.prefill_chunk = 16;
  return o;
}

struct Collected {
  std::vector<int64_t> ids;
  std::string text;
};

int Collect(const char* piece, int32_t token, void* user) {
  auto* c = static_cast<Collected*>(user);
  if (c->ids.size() < c->ids.capacity()) {  // never grows: reserved before counting starts
    c->ids.push_back(token);
  }
  return KITE_CONTINUE;
}

// Generates `n` greedy tokens with both objects in caller storage, counting allocations
// from before the open to after the close.
Collected GenerateInPlace(const AlignedFile& file, const char* isa, int n, long* allocations) {
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.max_isa = isa;
  size_t model_bytes = 0;
  EXPECT_EQ(kite_model_storage_required(file.data, file.size, &model_bytes), KITE_OK)
      << kite_last_error();
  Storage model_storage, session_storage, arena;
  uint8_t* ms = model_storage.Aligned(model_bytes, 16);
  uint8_t* ss = session_storage.Aligned(kite_session_storage_required(), 16);
  // The arena size needs an open model: ask a heap-opened one (outside the count).
  kite_model* probe = nullptr;
  EXPECT_EQ(kite_model_open_memory(file.data, file.size, nullptr, &probe), KITE_OK);
  const kite_session_options so = SessionOptions();
  size_t arena_bytes = 0;
  EXPECT_EQ(kite_session_memory_required(probe, &so, &arena_bytes), KITE_OK);
  kite_model_close(probe);
  uint8_t* a = arena.Aligned(arena_bytes, 64);

  Collected out;
  out.ids.reserve(static_cast<size_t>(n));
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = n;
  go.temperature = 0;

  g_allocations.store(0);
  g_counting.store(true);
  kite_model* model = nullptr;
  kite_session* session = nullptr;
  kite_status s = kite_model_open_memory_in(file.data, file.size, &mo, ms, model_bytes, &model);
  if (s == KITE_OK) {
    s = kite_session_create_in(model, &so, a, arena_bytes, ss, kite_session_storage_required(),
                               &session);
  }
  if (s == KITE_OK) s = kite_generate(session, "Once upon a time", &go, Collect, &out, nullptr);
  kite_session_destroy(session);
  kite_model_close(model);
  g_counting.store(false);
  *allocations = g_allocations.load();
  EXPECT_EQ(s, KITE_OK) << kite_last_error();
  return out;
}

std::vector<int64_t> GenerateOnHeap(const AlignedFile& file, const char* isa, int n) {
  kite_model_options mo;
  kite_model_options_init(&mo);
  mo.max_isa = isa;
  kite_model* model = nullptr;
  EXPECT_EQ(kite_model_open_memory(file.data, file.size, &mo, &model), KITE_OK);
  const kite_session_options so = SessionOptions();
  kite_session* session = nullptr;
  EXPECT_EQ(kite_session_create(model, &so, nullptr, 0, &session), KITE_OK);
  Collected out;
  out.ids.reserve(static_cast<size_t>(n));
  kite_generate_options go;
  kite_generate_options_init(&go);
  go.max_tokens = n;
  go.temperature = 0;
  EXPECT_EQ(kite_generate(session, "Once upon a time", &go, Collect, &out, nullptr), KITE_OK);
  kite_session_destroy(session);
  kite_model_close(model);
  return out.ids;
}

TEST(InPlace, Q4OpenGenerateCloseAllocatesNothingAndMatchesTheHeapPath) {
  const AlignedFile file = Load(kite::test::TestModel("stories260K-q4.kite"));
  for (const char* isa : {"scalar", "best"}) {
    long allocations = -1;
    const Collected in_place = GenerateInPlace(file, isa, 64, &allocations);
    EXPECT_EQ(allocations, 0) << isa;
    ASSERT_EQ(in_place.ids.size(), 64u) << isa;
    EXPECT_EQ(in_place.ids, GenerateOnHeap(file, isa, 64)) << isa;
  }
}

// Issue 12 item 10: a Llama 3 RoPE-scaling model (stories260K-q4 with llama3 scaling set
// in its config) keeps its frequency table in the caller storage too: the storage size
// counts it, and opening in place allocates nothing.
TEST(InPlace, Llama3RopeTableLivesInTheCallerStorage) {
  std::string plain_bytes;
  ASSERT_TRUE(
      kite::test::ReadWholeFile(kite::test::TestModel("stories260K-q4.kite"), &plain_bytes));
  const kite::test::KiteBytes plain(plain_bytes.begin(), plain_bytes.end());
  std::string json = kite::test::MetadataJson(plain);
  json = kite::test::SetJsonField(json, "config", "rope_scaling", "LLAMA3");
  json = kite::test::SetJsonField(json, "config", "rope_scaling_factor", "8.0");
  json = kite::test::SetJsonField(json, "config", "rope_original_max_seq_len", "64");
  const kite::test::KiteBytes llama3 = kite::test::WithMetadataJson(plain, json);
  const AlignedFile file = FromBytes(std::string(llama3.begin(), llama3.end()));
  const AlignedFile plain_file = FromBytes(plain_bytes);

  size_t need = 0, plain_need = 0;
  ASSERT_EQ(kite_model_storage_required(file.data, file.size, &need), KITE_OK) << kite_last_error();
  ASSERT_EQ(kite_model_storage_required(plain_file.data, plain_file.size, &plain_need), KITE_OK);
  const size_t table_bytes = 8 / 2 * sizeof(float);  // head_dim 8: 4 inverse frequencies
  EXPECT_GE(need, plain_need + table_bytes);

  Storage storage;
  uint8_t* ms = storage.Aligned(need, 16);
  kite_model* model = nullptr;
  EXPECT_EQ(kite_model_open_memory_in(file.data, file.size, nullptr, ms, need - 1, &model),
            KITE_ERR_OUT_OF_MEMORY);
  EXPECT_NE(std::strstr(kite_last_error(), std::to_string(need).c_str()), nullptr)
      << kite_last_error();

  for (const char* isa : {"scalar", "best"}) {
    long allocations = -1;
    const Collected in_place = GenerateInPlace(file, isa, 32, &allocations);
    EXPECT_EQ(allocations, 0) << isa;
    ASSERT_EQ(in_place.ids.size(), 32u) << isa;
    EXPECT_EQ(in_place.ids, GenerateOnHeap(file, isa, 32)) << isa;
  }
}

TEST(InPlace, F32MatchesTheReferenceGoldens) {
  const kite::json::Value json = kite::test::LoadJson(
      kite::test::SharedModel("goldens/stories260K-greedy-once_upon_a_time.json"));
  std::vector<int64_t> golden;
  ASSERT_TRUE(kite::test::JsonIntArray(json, "generated_token_ids", &golden));
  const AlignedFile file = Load(kite::test::TestModel("stories260K-f32.kite"));
  long allocations = -1;
  const Collected out = GenerateInPlace(file, "scalar", static_cast<int>(golden.size()), &allocations);
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(out.ids, golden);
}

TEST(InPlace, StorageThatIsTooSmallOrMisalignedFailsClearly) {
  const AlignedFile file = Load(kite::test::TestModel("stories260K-q4.kite"));
  size_t need = 0;
  ASSERT_EQ(kite_model_storage_required(file.data, file.size, &need), KITE_OK);
  Storage storage;
  uint8_t* ms = storage.Aligned(need + 16, 16);
  kite_model* model = nullptr;
  EXPECT_EQ(kite_model_open_memory_in(file.data, file.size, nullptr, ms, need - 1, &model),
            KITE_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::strstr(kite_last_error(), std::to_string(need).c_str()), nullptr)
      << kite_last_error();
  EXPECT_EQ(kite_model_open_memory_in(file.data, file.size, nullptr, ms + 8, need, &model),
            KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(kite_last_error(), "aligned"), nullptr) << kite_last_error();
  ASSERT_EQ(kite_model_open_memory_in(file.data, file.size, nullptr, ms, need, &model), KITE_OK)
      << kite_last_error();

  const kite_session_options so = SessionOptions();
  size_t arena_bytes = 0;
  ASSERT_EQ(kite_session_memory_required(model, &so, &arena_bytes), KITE_OK);
  Storage arena, session_storage;
  uint8_t* a = arena.Aligned(arena_bytes, 64);
  const size_t session_need = kite_session_storage_required();
  uint8_t* ss = session_storage.Aligned(session_need, 16);
  kite_session* session = nullptr;
  EXPECT_EQ(kite_session_create_in(model, &so, a, arena_bytes, ss, session_need - 1, &session),
            KITE_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(kite_session_create_in(model, &so, nullptr, arena_bytes, ss, session_need, &session),
            KITE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kite_session_create_in(model, &so, a, arena_bytes - 1, ss, session_need, &session),
            KITE_ERR_OUT_OF_MEMORY);
  EXPECT_NE(std::strstr(kite_last_error(), std::to_string(arena_bytes).c_str()), nullptr)
      << kite_last_error();
  EXPECT_EQ(session, nullptr);
  ASSERT_EQ(kite_session_create_in(model, &so, a, arena_bytes, ss, session_need, &session), KITE_OK)
      << kite_last_error();
  kite_session_destroy(session);
  kite_model_close(model);
}

TEST(InPlace, StorageRequiredRejectsAFileThatIsNotAModel) {
  std::vector<uint8_t> junk(4096, 0x5a);
  size_t bytes = 123;
  EXPECT_EQ(kite_model_storage_required(junk.data(), junk.size(), &bytes), KITE_ERR_INVALID_MODEL);
  EXPECT_EQ(bytes, 123u);
  EXPECT_EQ(kite_model_storage_required(nullptr, 0, &bytes), KITE_ERR_INVALID_ARGUMENT);
}

}  // namespace
