// Bad input gets a clear error and never a crash: damaged and hostile model files, missing
// paths, absurd options, prompts longer than the context.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kite/kite.h"
#include "sdk/format/crc32c.h"
#include "sdk/schema/kite_generated.h"
#include "test/common/kite_file_edit.h"
#include "test/common/read_file.h"
#include "test/common/test_paths.h"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes ReadModel(const char* name) {
  std::string s;
  EXPECT_TRUE(kite::test::ReadWholeFile(kite::test::TestModel(name), &s)) << name;
  return Bytes(s.begin(), s.end());
}

// Opens `bytes` from memory (copied into a 64-byte aligned buffer); returns the status and
// the error message in *message.
kite_status OpenBytes(const Bytes& bytes, bool verify, std::string* message) {
  void* buf = ::operator new(bytes.size() + 1, std::align_val_t(64));
  if (!bytes.empty()) std::memcpy(buf, bytes.data(), bytes.size());
  kite_model_options o;
  kite_model_options_init(&o);
  o.verify_checksums = verify ? 1 : 0;
  kite_model* model = nullptr;
  const kite_status s = kite_model_open_memory(buf, bytes.size(), &o, &model);
  *message = kite_last_error();
  kite_model_close(model);
  ::operator delete(buf, std::align_val_t(64));
  return s;
}

// Metadata edits re-seal the checksum (test/common/kite_file_edit.h).
using kite::test::EditMetadata;

kite::schema::Tensor* FindTensor(kite::schema::Model* m, const char* name) {
  auto* tensors = m->mutable_tensors();
  for (uint32_t i = 0; i < tensors->size(); ++i) {
    if (std::strcmp(tensors->Get(i)->name()->c_str(), name) == 0) return tensors->GetMutableObject(i);
  }
  ADD_FAILURE() << "no tensor " << name;
  return nullptr;
}

#define EXPECT_OPEN_FAILS(bytes, code, substring)                                  \
  do {                                                                             \
    std::string msg_;                                                              \
    EXPECT_EQ(OpenBytes((bytes), false, &msg_), (code)) << msg_;                   \
    EXPECT_NE(msg_.find(substring), std::string::npos) << "message: " << msg_;     \
  } while (0)

class BadModelFile : public ::testing::Test {
 protected:
  void SetUp() override { good_ = ReadModel("stories260K-q4.kite"); }
  Bytes good_;
};

TEST_F(BadModelFile, GoodFileOpens) {
  std::string msg;
  EXPECT_EQ(OpenBytes(good_, true, &msg), KITE_OK) << msg;
}

TEST_F(BadModelFile, EmptyFile) {
  EXPECT_OPEN_FAILS(Bytes(), KITE_ERR_INVALID_MODEL, "too small");
  const std::string path = ::testing::TempDir() + "/empty.kite";
  std::fclose(std::fopen(path.c_str(), "wb"));
  kite_model* m = nullptr;
  EXPECT_EQ(kite_model_open_file(path.c_str(), nullptr, &m), KITE_ERR_INVALID_MODEL);
  EXPECT_NE(std::string(kite_last_error()).find("empty"), std::string::npos) << kite_last_error();
  EXPECT_EQ(m, nullptr);
}

TEST_F(BadModelFile, DirectoryAndMissingFile) {
  kite_model* m = nullptr;
  EXPECT_EQ(kite_model_open_file(::testing::TempDir().c_str(), nullptr, &m), KITE_ERR_IO);
  EXPECT_NE(std::string(kite_last_error()).find("directory"), std::string::npos) << kite_last_error();
  EXPECT_EQ(kite_model_open_file("/nonexistent/model.kite", nullptr, &m), KITE_ERR_IO);
  EXPECT_NE(std::string(kite_last_error()).find("/nonexistent/model.kite"), std::string::npos);
  EXPECT_EQ(kite_model_open_file(nullptr, nullptr, &m), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kite_model_open_memory(nullptr, 10, nullptr, &m), KITE_ERR_INVALID_ARGUMENT);
}

TEST_F(BadModelFile, TruncatedAnywhere) {
  for (size_t len : {size_t{1}, size_t{15}, size_t{16}, size_t{100}, good_.size() / 2,
                     good_.size() - 1}) {
    SCOPED_TRACE(len);
    const Bytes cut(good_.begin(), good_.begin() + static_cast<long>(len));
    std::string msg;
    EXPECT_EQ(OpenBytes(cut, false, &msg), KITE_ERR_INVALID_MODEL) << msg;
    EXPECT_FALSE(msg.empty());
  }
  // Cut inside the weights: the size recorded in the header no longer matches.
  const Bytes cut(good_.begin(), good_.end() - 100);
  EXPECT_OPEN_FAILS(cut, KITE_ERR_INVALID_MODEL, "truncated");
}

TEST_F(BadModelFile, AppendedBytes) {
  Bytes longer = good_;
  longer.resize(longer.size() + 10, 0);
  EXPECT_OPEN_FAILS(longer, KITE_ERR_INVALID_MODEL, "header says");
}

TEST_F(BadModelFile, WrongIdentifier) {
  Bytes b = good_;
  std::memcpy(b.data() + 8, "GGUF", 4);
  EXPECT_OPEN_FAILS(b, KITE_ERR_INVALID_MODEL, "identifier");
}

TEST_F(BadModelFile, FlippedMetadataBytesAreCaught) {
  uint32_t fb_size = 0;
  std::memcpy(&fb_size, good_.data(), 4);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    Bytes b = good_;
    const size_t at = 12 + rng() % (fb_size - 8);
    b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    std::string msg;
    EXPECT_EQ(OpenBytes(b, false, &msg), KITE_ERR_INVALID_MODEL) << "byte " << at;
  }
}

TEST_F(BadModelFile, FlippedWeightBytesCaughtByChecksums) {
  const auto* root = kite::schema::GetSizePrefixedModel(good_.data());
  const auto* seg = root->segments()->Get(1);
  Bytes b = good_;
  b[seg->offset() + seg->size() / 2] ^= 0x10;
  std::string msg;
  EXPECT_EQ(OpenBytes(b, false, &msg), KITE_OK) << "weights are not checked without verify";
  EXPECT_EQ(OpenBytes(b, true, &msg), KITE_ERR_INVALID_MODEL);
  EXPECT_NE(msg.find("segment 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupted"), std::string::npos) << msg;
}

TEST_F(BadModelFile, HostileTensorExtents) {
  const char* wq = "layers.2.attention.wq";
  EXPECT_OPEN_FAILS(EditMetadata(good_, [&](kite::schema::Model* m) {
                      FindTensor(m, wq)->mutable_data()->mutate_offset(UINT64_MAX - 8);
                    }),
                    KITE_ERR_INVALID_MODEL, wq);
  EXPECT_OPEN_FAILS(EditMetadata(good_, [&](kite::schema::Model* m) {
                      FindTensor(m, wq)->mutable_data()->mutate_size(UINT64_MAX);
                    }),
                    KITE_ERR_INVALID_MODEL, "outside segment");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [&](kite::schema::Model* m) {
                      FindTensor(m, wq)->mutable_data()->mutate_segment(9999);
                    }),
                    KITE_ERR_INVALID_MODEL, "segment 9999");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [&](kite::schema::Model* m) {
                      FindTensor(m, wq)->mutable_data()->mutate_offset(4);
                    }),
                    KITE_ERR_INVALID_MODEL, wq);
  EXPECT_OPEN_FAILS(EditMetadata(good_, [&](kite::schema::Model* m) {
                      FindTensor(m, "tok_embeddings")->mutable_scales()->mutate_size(2);
                    }),
                    KITE_ERR_INVALID_MODEL, "scales");
}

TEST_F(BadModelFile, HostileShapesAndDtypes) {
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "layers.0.feed_forward.w2")->mutable_shape()->Mutate(1, 1u << 31);
                    }),
                    KITE_ERR_INVALID_MODEL, "layers.0.feed_forward.w2");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "tok_embeddings")->mutable_shape()->Mutate(0, 511);
                    }),
                    KITE_ERR_INVALID_MODEL, "tok_embeddings");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "layers.4.attention.wo")->mutate_dtype(kite::schema::DType::F32);
                    }),
                    KITE_ERR_INVALID_MODEL, "layers.4.attention.wo");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "layers.1.attention.wk")->mutate_group_size(7);
                    }),
                    KITE_ERR_INVALID_MODEL, "group_size");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "layers.1.attention.wk")->mutate_group_size(64);
                    }),
                    KITE_ERR_INVALID_MODEL, "group_size 32");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "layers.3.feed_forward.w1")->mutate_layout(kite::schema::Layout::Q4_ROW_GROUPS);
                    }),
                    KITE_ERR_INVALID_MODEL, "layers.3.feed_forward.w1");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "layers.3.feed_forward.w1")->mutate_layout(static_cast<kite::schema::Layout>(9));
                    }),
                    KITE_ERR_UNSUPPORTED, "layout 9");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      FindTensor(m, "layers.1.attention.wk")->mutate_dtype(static_cast<kite::schema::DType>(77));
                    }),
                    KITE_ERR_UNSUPPORTED, "layers.1.attention.wk");
}

// The 2:4 sparse layout (Q4_G_SP24 / Q4_SP24_R16_G64): its group size, layout and data size
// are checked, and a dense tensor relabelled as sparse is refused.
TEST(BadSparseModelFile, HostileQ4SP24Tensors) {
  const Bytes good = ReadModel("stories260K-q4sp24.kite");
  std::string msg;
  ASSERT_EQ(OpenBytes(good, true, &msg), KITE_OK) << msg;
  const char* w1 = "layers.2.feed_forward.w1";
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, w1)->mutate_group_size(32);
                    }),
                    KITE_ERR_INVALID_MODEL, "group_size 64");
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, w1)->mutate_layout(kite::schema::Layout::Q4_R16_G32);
                    }),
                    KITE_ERR_UNSUPPORTED, w1);
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      auto* data = FindTensor(m, w1)->mutable_data();
                      data->mutate_size(data->size() - 416);
                    }),
                    KITE_ERR_INVALID_MODEL, w1);
  // A sparse tensor's extent read as dense Q4_R16_G32 is too short.
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      kite::schema::Tensor* t = FindTensor(m, w1);
                      t->mutate_dtype(kite::schema::DType::Q4_G);
                      t->mutate_layout(kite::schema::Layout::Q4_R16_G32);
                      t->mutate_group_size(32);
                    }),
                    KITE_ERR_INVALID_MODEL, w1);
  // A dense tensor relabelled as sparse: the layout does not match the dtype.
  const Bytes dense = ReadModel("stories260K-q4.kite");
  EXPECT_OPEN_FAILS(EditMetadata(dense, [&](kite::schema::Model* m) {
                      FindTensor(m, w1)->mutate_dtype(kite::schema::DType::Q4_G_SP24);
                    }),
                    KITE_ERR_UNSUPPORTED, w1);
}

// The offset-free layout (Q4_R16_G32_SYM): its group size and data size are checked, and
// its extent relabelled as Q4_R16_G32 (320-byte blocks) is too short.
TEST(BadCompactModelFile, HostileQ4R16SymTensors) {
  const Bytes good = ReadModel("stories260K-q4s.kite");
  std::string msg;
  ASSERT_EQ(OpenBytes(good, true, &msg), KITE_OK) << msg;
  const char* w2 = "layers.1.feed_forward.w2";
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, w2)->mutate_group_size(64);
                    }),
                    KITE_ERR_INVALID_MODEL, "group_size 32");
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      auto* data = FindTensor(m, w2)->mutable_data();
                      data->mutate_size(data->size() - 288);
                    }),
                    KITE_ERR_INVALID_MODEL, w2);
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, w2)->mutate_layout(kite::schema::Layout::Q4_R16_G32);
                    }),
                    KITE_ERR_INVALID_MODEL, w2);
}

// The codebook layout (Q4_R16_G32_CB): a tensor without its codebook, with one it must not
// have, or with an entry outside [-127, 127] is refused, naming the tensor.
TEST(BadCodebookModelFile, HostileQ4R16CbTensors) {
  const Bytes cb = ReadModel("stories260K-q4cb.kite");
  std::string msg;
  ASSERT_EQ(OpenBytes(cb, true, &msg), KITE_OK) << msg;
  const char* w2 = "layers.1.feed_forward.w2";
  // Relabelled as the offset-free layout: the same bytes, but a codebook it must not have.
  EXPECT_OPEN_FAILS(EditMetadata(cb, [&](kite::schema::Model* m) {
                      FindTensor(m, w2)->mutate_layout(kite::schema::Layout::Q4_R16_G32_SYM);
                    }),
                    KITE_ERR_INVALID_MODEL, w2);
  EXPECT_OPEN_FAILS(EditMetadata(cb, [&](kite::schema::Model* m) {
                      FindTensor(m, w2)->mutable_codebook()->Mutate(3, -128);
                    }),
                    KITE_ERR_INVALID_MODEL, "codebook entry 3 is -128");
  // An offset-free tensor relabelled as the codebook layout has no codebook.
  const Bytes sym = ReadModel("stories260K-q4s.kite");
  EXPECT_OPEN_FAILS(EditMetadata(sym, [&](kite::schema::Model* m) {
                      FindTensor(m, w2)->mutate_layout(kite::schema::Layout::Q4_R16_G32_CB);
                    }),
                    KITE_ERR_INVALID_MODEL, "needs a codebook of 16 entries, not 0");
}

// The 3-bit layout (Q3_R16_G32): its group size and data size are checked, and a 4-bit
// tensor relabelled as 3-bit (or the reverse) has an extent of the wrong size.
TEST(BadQ3ModelFile, HostileQ3R16Tensors) {
  const Bytes good = ReadModel("stories260K-q3mix.kite");
  std::string msg;
  ASSERT_EQ(OpenBytes(good, true, &msg), KITE_OK) << msg;
  const char* q3 = "layers.3.feed_forward.w2";
  const char* q4 = "layers.1.feed_forward.w2";
  EditMetadata(good, [&](kite::schema::Model* m) {
    EXPECT_EQ(FindTensor(m, q3)->layout(), kite::schema::Layout::Q3_R16_G32);
    EXPECT_EQ(FindTensor(m, q4)->layout(), kite::schema::Layout::Q4_R16_G32_SYM);
  });
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, q3)->mutate_group_size(64);
                    }),
                    KITE_ERR_INVALID_MODEL, "group_size 32");
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      auto* data = FindTensor(m, q3)->mutable_data();
                      data->mutate_size(data->size() - 224);
                    }),
                    KITE_ERR_INVALID_MODEL, q3);
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, q3)->mutate_layout(kite::schema::Layout::Q4_R16_G32_SYM);
                    }),
                    KITE_ERR_INVALID_MODEL, q3);
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, q4)->mutate_layout(kite::schema::Layout::Q3_R16_G32);
                    }),
                    KITE_ERR_INVALID_MODEL, q4);
  // Shape: one row more than the extent holds (the rows pad to 16: 2 blocks more).
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      auto* shape = FindTensor(m, q3)->mutable_shape();
                      shape->Mutate(1, shape->Get(1) + 32);
                    }),
                    KITE_ERR_INVALID_MODEL, q3);
}

// The 3-bit layout with groups of 64 (Q3_R16_G64): its group size and data size are
// checked (416-byte blocks of 64 columns), and relabelling it as Q3_R16_G32 (or the
// reverse) gives an extent of the wrong size.
TEST(BadQ3ModelFile, HostileQ3R16G64Tensors) {
  const Bytes good = ReadModel("stories260K-q3g64mix.kite");
  std::string msg;
  ASSERT_EQ(OpenBytes(good, true, &msg), KITE_OK) << msg;
  const char* g64 = "layers.3.feed_forward.w2";  // 172 columns: 3 blocks of 64
  const char* g32 = "layers.2.attention.wv";
  EditMetadata(good, [&](kite::schema::Model* m) {
    EXPECT_EQ(FindTensor(m, g64)->layout(), kite::schema::Layout::Q3_R16_G64);
    EXPECT_EQ(FindTensor(m, g32)->layout(), kite::schema::Layout::Q3_R16_G32);
  });
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, g64)->mutate_group_size(32);
                    }),
                    KITE_ERR_INVALID_MODEL, "group_size 64");
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      auto* data = FindTensor(m, g64)->mutable_data();
                      data->mutate_size(data->size() - 416);
                    }),
                    KITE_ERR_INVALID_MODEL, g64);
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, g64)->mutate_layout(kite::schema::Layout::Q3_R16_G32);
                      FindTensor(m, g64)->mutate_group_size(32);
                    }),
                    KITE_ERR_INVALID_MODEL, g64);
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      FindTensor(m, g32)->mutate_layout(kite::schema::Layout::Q3_R16_G64);
                      FindTensor(m, g32)->mutate_group_size(64);
                    }),
                    KITE_ERR_INVALID_MODEL, g32);
  // Columns: 172 + 32 is 204, 4 blocks of 64 instead of 3.
  EXPECT_OPEN_FAILS(EditMetadata(good, [&](kite::schema::Model* m) {
                      auto* shape = FindTensor(m, g64)->mutable_shape();
                      shape->Mutate(1, shape->Get(1) + 32);
                    }),
                    KITE_ERR_INVALID_MODEL, g64);
}

TEST_F(BadModelFile, HostileSegmentsAndHeader) {
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      m->mutable_segments()->GetMutableObject(0)->mutate_size(UINT64_MAX - 1);
                    }),
                    KITE_ERR_INVALID_MODEL, "segment 0");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      m->mutable_segments()->GetMutableObject(1)->mutate_offset(1ull << 40);
                    }),
                    KITE_ERR_INVALID_MODEL, "segment 1");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) { m->mutate_data_offset(100); }),
                    KITE_ERR_INVALID_MODEL, "data_offset");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) { m->mutate_file_size(1); }),
                    KITE_ERR_INVALID_MODEL, "truncated");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) { m->mutate_format_version(2000); }),
                    KITE_ERR_UNSUPPORTED, "version");
}

TEST_F(BadModelFile, HostileConfig) {
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) { m->mutable_config()->mutate_dim(0); }),
                    KITE_ERR_INVALID_MODEL, "config.dim");
  EXPECT_OPEN_FAILS(
      EditMetadata(good_, [](kite::schema::Model* m) { m->mutable_config()->mutate_n_layers(1u << 30); }),
      KITE_ERR_INVALID_MODEL, "config.n_layers");
  EXPECT_OPEN_FAILS(
      EditMetadata(good_, [](kite::schema::Model* m) { m->mutable_config()->mutate_n_kv_heads(3); }),
      KITE_ERR_INVALID_MODEL, "n_kv_heads");
  EXPECT_OPEN_FAILS(
      EditMetadata(good_, [](kite::schema::Model* m) { m->mutable_config()->mutate_n_layers(6); }),
      KITE_ERR_INVALID_MODEL, "config.n_layers = 6");
  EXPECT_OPEN_FAILS(
      EditMetadata(good_, [](kite::schema::Model* m) { m->mutable_config()->mutate_vocab_size(600); }),
      KITE_ERR_INVALID_MODEL, "tok_embeddings");
}

TEST_F(BadModelFile, HostileTokenizerTables) {
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      m->mutable_tokenizer()->mutable_piece_offsets()->Mutate(10, 1u << 30);
                    }),
                    KITE_ERR_INVALID_MODEL, "tokenizer");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      m->mutable_tokenizer()->mutable_sorted_ids()->Mutate(3, 100000);
                    }),
                    KITE_ERR_INVALID_MODEL, "sorted_ids");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      auto* ids = m->mutable_tokenizer()->mutable_sorted_ids();
                      const uint32_t a = ids->Get(100);
                      ids->Mutate(100, ids->Get(200));
                      ids->Mutate(200, a);
                    }),
                    KITE_ERR_INVALID_MODEL, "not sorted");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      m->mutable_tokenizer()->mutable_byte_ids()->Mutate(65, 512);
                    }),
                    KITE_ERR_INVALID_MODEL, "byte_ids");
  EXPECT_OPEN_FAILS(EditMetadata(good_, [](kite::schema::Model* m) {
                      m->mutable_tokenizer()->mutable_stop_ids()->Mutate(0, -5);
                    }),
                    KITE_ERR_INVALID_MODEL, "stop id");
}

TEST_F(BadModelFile, RandomMetadataDamageNeverCrashes) {
  // Structural damage behind a valid checksum: every outcome is allowed except a crash
  // (ASan/UBSan run this too).
  uint32_t fb_size = 0;
  std::memcpy(&fb_size, good_.data(), 4);
  std::mt19937 rng(11);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const Bytes b = EditMetadata(good_, [&](kite::schema::Model*) {});
    Bytes d = b;
    for (int k = 0; k < 4; ++k) d[4 + rng() % fb_size] = static_cast<uint8_t>(rng());
    const Bytes sealed = EditMetadata(d, [](kite::schema::Model*) {});
    std::string msg;
    if (OpenBytes(sealed, false, &msg) != KITE_OK) {
      ++refused;
      EXPECT_FALSE(msg.empty());
    }
  }
  std::printf("%d of 300 damaged files refused\n", refused);
}

class BadOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(kite_model_open_file(kite::test::TestModel("stories260K-q4.kite").c_str(), nullptr, &model_),
              KITE_OK)
        << kite_last_error();
  }
  void TearDown() override { kite_model_close(model_); }

  kite_status Create(uint32_t ctx, uint32_t threads, std::string* msg, kite_session** out = nullptr) {
    kite_session_options o;
    kite_session_options_init(&o);
    o.max_context = ctx;
    o.threads = threads;
    kite_session* s = nullptr;
    const kite_status st = kite_session_create(model_, &o, nullptr, 0, &s);
    *msg = kite_last_error();
    if (out != nullptr) {
      *out = s;
    } else {
      kite_session_destroy(s);
    }
    return st;
  }
  kite_model* model_ = nullptr;
};

TEST_F(BadOptions, AbsurdContextAndThreads) {
  std::string msg;
  EXPECT_EQ(Create(0, 1, &msg), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("max_context"), std::string::npos) << msg;
  EXPECT_EQ(Create(1u << 30, 1, &msg), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("max_seq_len 512"), std::string::npos) << msg;
  EXPECT_EQ(Create(513, 1, &msg), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(Create(64, 0, &msg), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("threads"), std::string::npos) << msg;
  EXPECT_EQ(Create(64, 100000, &msg), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(Create(1, 1, &msg), KITE_OK) << msg;
  size_t bytes = 0;
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 0;
  EXPECT_EQ(kite_session_memory_required(model_, &o, &bytes), KITE_ERR_INVALID_ARGUMENT);
  o.struct_size = 3;
  EXPECT_EQ(kite_session_memory_required(model_, &o, &bytes), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kite_last_error()).find("struct_size"), std::string::npos);
}

TEST_F(BadOptions, ArenaTooSmallOrMisaligned) {
  kite_session_options o;
  kite_session_options_init(&o);
  o.max_context = 64;
  size_t need = 0;
  ASSERT_EQ(kite_session_memory_required(model_, &o, &need), KITE_OK);
  std::vector<uint8_t> storage(need + 128);
  uint8_t* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t{63});
  kite_session* s = nullptr;
  EXPECT_EQ(kite_session_create(model_, &o, aligned, need - 1, &s), KITE_ERR_OUT_OF_MEMORY);
  EXPECT_NE(std::string(kite_last_error()).find("arena"), std::string::npos);
  EXPECT_EQ(kite_session_create(model_, &o, aligned + 1, need, &s), KITE_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(kite_session_create(model_, &o, aligned, need, &s), KITE_OK) << kite_last_error();
  kite_session_destroy(s);
}

TEST_F(BadOptions, PromptLongerThanContextLosesNothing) {
  std::string msg;
  kite_session* s = nullptr;
  ASSERT_EQ(Create(16, 1, &msg, &s), KITE_OK) << msg;
  kite_generate_options g;
  kite_generate_options_init(&g);
  g.max_tokens = 4;
  g.temperature = 0;
  const std::string long_prompt(2000, 'a');
  EXPECT_EQ(kite_generate(s, long_prompt.c_str(), &g, nullptr, nullptr, nullptr), KITE_ERR_CONTEXT_FULL);
  EXPECT_NE(std::string(kite_session_last_error(s)).find("too long"), std::string::npos)
      << kite_session_last_error(s);
  const std::string medium = "Once upon a time, there was a little girl named Lily. She loved to play.";
  EXPECT_EQ(kite_generate(s, medium.c_str(), &g, nullptr, nullptr, nullptr), KITE_ERR_CONTEXT_FULL);
  EXPECT_NE(std::string(kite_session_last_error(s)).find("positions are free"), std::string::npos)
      << kite_session_last_error(s);
  EXPECT_EQ(kite_session_position(s), 0u);
  // The session still works after the refusals.
  kite_generate_stats st;
  st.struct_size = sizeof(st);
  EXPECT_EQ(kite_generate(s, "Once", &g, nullptr, nullptr, &st), KITE_OK) << kite_session_last_error(s);
  EXPECT_EQ(st.generated_tokens, 4u);
  // Generation that reaches the end of the context stops cleanly.
  g.max_tokens = 1000;
  EXPECT_EQ(kite_generate(s, " and", &g, nullptr, nullptr, &st), KITE_OK) << kite_session_last_error(s);
  EXPECT_EQ(st.stop_reason, KITE_STOP_CONTEXT_FULL);
  EXPECT_EQ(kite_session_position(s), 16u);
  EXPECT_EQ(kite_generate(s, " more", &g, nullptr, nullptr, &st), KITE_ERR_CONTEXT_FULL);
  kite_session_destroy(s);
}

TEST_F(BadOptions, AbsurdGenerateOptionsAndTokens) {
  std::string msg;
  kite_session* s = nullptr;
  ASSERT_EQ(Create(64, 1, &msg, &s), KITE_OK) << msg;
  kite_generate_options g;
  const auto expect_bad = [&](const char* field) {
    EXPECT_EQ(kite_generate(s, "Hi", &g, nullptr, nullptr, nullptr), KITE_ERR_INVALID_ARGUMENT) << field;
    EXPECT_NE(std::string(kite_session_last_error(s)).find(field), std::string::npos)
        << kite_session_last_error(s);
    kite_generate_options_init(&g);
  };
  kite_generate_options_init(&g);
  g.temperature = -1;
  expect_bad("temperature");
  g.top_p = 0;
  expect_bad("top_p");
  g.top_p = 1.5f;
  expect_bad("top_p");
  g.max_tokens = -3;
  expect_bad("max_tokens");
  g.top_k = -1;
  expect_bad("top_k");
  EXPECT_EQ(kite_generate(s, nullptr, &g, nullptr, nullptr, nullptr), KITE_ERR_INVALID_ARGUMENT);
  const int32_t bad_tokens[] = {1, 512};
  EXPECT_EQ(kite_session_feed(s, bad_tokens, 2), KITE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kite_session_last_error(s)).find("token 512"), std::string::npos);
  EXPECT_EQ(kite_session_position(s), 0u);
  const int32_t negative[] = {-1};
  EXPECT_EQ(kite_session_feed(s, negative, 1), KITE_ERR_INVALID_ARGUMENT);
  int32_t ids[4];
  size_t n = 0;
  EXPECT_EQ(kite_tokenize(model_, "hello world", 11, 1, ids, 4, &n), KITE_ERR_OUT_OF_MEMORY);
  char text[4];
  const int32_t out_of_range[] = {100000};
  EXPECT_EQ(kite_detokenize(model_, out_of_range, 1, text, sizeof(text), &n), KITE_ERR_INVALID_ARGUMENT);
  kite_session_destroy(s);
}

}  // namespace
