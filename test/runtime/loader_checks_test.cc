// Issue 18 defect 6: hostile metadata that used to load (and compute garbage) is refused
// with a message naming the field; defect 8: untrusted names in loader messages are quoted.
// Each file is a converted test model edited with test/common/kite_file_edit.h.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "kite/kite.h"
#include "test/common/read_file.h"
#include "test/common/kite_file_edit.h"
#include "test/common/test_paths.h"

namespace kite::test {
namespace {

// Opens `bytes` from a 64-byte aligned copy; returns the status, the message in *message.
kite_status OpenBytes(const KiteBytes& bytes, std::string* message) {
  void* buf = ::operator new(bytes.size() + 1, std::align_val_t(64));
  std::memcpy(buf, bytes.data(), bytes.size());
  kite_model* model = nullptr;
  const kite_status s = kite_model_open_memory(buf, bytes.size(), nullptr, &model);
  *message = kite_last_error();
  kite_model_close(model);
  ::operator delete(buf, std::align_val_t(64));
  return s;
}

class LoaderChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string s;
    ASSERT_TRUE(ReadWholeFile(TestModel("stories260K-q4.kite"), &s));
    good_.assign(s.begin(), s.end());
  }

  void ExpectRefused(const KiteBytes& bytes, const std::string& names) {
    std::string msg;
    EXPECT_EQ(OpenBytes(bytes, &msg), KITE_ERR_INVALID_MODEL) << msg;
    EXPECT_NE(msg.find(names), std::string::npos) << "message: " << msg;
  }

  KiteBytes good_;
};

TEST_F(LoaderChecksTest, RoundTripOfTheGoodFileStillOpens) {
  // The JSON round trip itself must not damage anything the loader checks.
  std::string msg;
  EXPECT_EQ(OpenBytes(WithMetadataJson(good_, MetadataJson(good_)), &msg), KITE_OK) << msg;
}

TEST_F(LoaderChecksTest, NonFiniteConfigFloats) {
  for (const char* field : {"rope_theta", "norm_eps", "rope_scaling_factor", "rope_low_freq_factor",
                            "rope_high_freq_factor"}) {
    for (const char* value : {"nan", "inf", "-inf"}) {
      SCOPED_TRACE(std::string(field) + " = " + value);
      ExpectRefused(WithField(good_, "config", field, value), std::string("config.") + field);
    }
  }
  // With Llama 3 scaling on, a NaN factor used to slip through the range check.
  const std::string llama3 = SetJsonField(MetadataJson(good_), "config", "rope_scaling", "LLAMA3");
  ExpectRefused(
      WithMetadataJson(good_, SetJsonField(llama3, "config", "rope_scaling_factor", "nan")),
      "config.rope_scaling_factor");
}

TEST_F(LoaderChecksTest, NanTokenizerScore) {
  ExpectRefused(EditMetadata(good_,
                             [](schema::Model* m) {
                               m->mutable_tokenizer()->mutable_scores()->Mutate(300, NAN);
                             }),
                "scores[300]");
  ExpectRefused(EditMetadata(good_,
                             [](schema::Model* m) {
                               m->mutable_tokenizer()->mutable_scores()->Mutate(7, INFINITY);
                             }),
                "scores[7]");
}

TEST_F(LoaderChecksTest, DuplicateSortedIds) {
  ExpectRefused(EditMetadata(good_,
                             [](schema::Model* m) {
                               auto* ids = m->mutable_tokenizer()->mutable_sorted_ids();
                               ids->Mutate(101, ids->Get(100));
                             }),
                "sorted_ids holds token id");
}

TEST_F(LoaderChecksTest, DuplicateTensorName) {
  // Rename layers.1.ffn_norm to layers.0.ffn_norm (same length, edited in place).
  ExpectRefused(EditMetadata(good_,
                             [](schema::Model* m) {
                               auto* tensors = m->mutable_tensors();
                               for (uint32_t i = 0; i < tensors->size(); ++i) {
                                 auto* name = tensors->GetMutableObject(i)->mutable_name();
                                 if (std::strcmp(name->c_str(), "layers.1.ffn_norm") == 0) {
                                   reinterpret_cast<char*>(name->Data())[7] = '0';
                                 }
                               }
                             }),
                "tensor name 'layers.0.ffn_norm' appears twice");
}

TEST_F(LoaderChecksTest, LayerCountDisagreesWithTensors) {
  // Fewer layers than the tensors describe: the extra layer's tensors are named.
  ExpectRefused(
      EditMetadata(good_, [](schema::Model* m) { m->mutable_config()->mutate_n_layers(4); }),
      "config.n_layers = 4 but tensor 'layers.4.");
  // More layers than the tensors hold.
  ExpectRefused(
      EditMetadata(good_, [](schema::Model* m) { m->mutable_config()->mutate_n_layers(6); }),
      "config.n_layers = 6");
}

TEST_F(LoaderChecksTest, OverlappingSegments) {
  ExpectRefused(
      EditMetadata(good_,
                   [](schema::Model* m) {
                     auto* segments = m->mutable_segments();
                     ASSERT_GE(segments->size(), 2u);
                     segments->GetMutableObject(1)->mutate_offset(segments->Get(0)->offset());
                   }),
      "segment 1");
  ExpectRefused(
      EditMetadata(good_,
                   [](schema::Model* m) {
                     auto* segments = m->mutable_segments();
                     segments->GetMutableObject(1)->mutate_offset(segments->Get(0)->offset());
                   }),
      "overlaps segment 0");
}

TEST_F(LoaderChecksTest, UntrustedNamesAreQuoted) {
  // An ANSI escape sequence as the architecture: shown escaped, never raw.
  std::string msg;
  const KiteBytes hostile = EditMetadata(good_, [](schema::Model* m) {
    auto* arch = m->mutable_config()->mutable_architecture();
    ASSERT_EQ(arch->size(), 5u);
    std::memcpy(arch->Data(), "\x1b[2J\0", 5);
  });
  EXPECT_EQ(OpenBytes(hostile, &msg), KITE_ERR_UNSUPPORTED) << msg;
  EXPECT_NE(msg.find("architecture '\\x1b[2J\\x00' is not supported"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\x1b'), std::string::npos) << msg;
}

}  // namespace
}  // namespace kite::test
