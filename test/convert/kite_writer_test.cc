// .kite writer: the envelope (size prefix, identifier, KCRC record), the Verifier, alignment
// of the data offset and of every extent, segment checksums, round-tripped metadata, and
// that failures leave no file behind.
#include "tools/convert/write/kite_writer.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "flatbuffers/flatbuffers.h"
#include "gtest/gtest.h"
#include "platform/file_map.h"
#include "sdk/format/crc32c.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/schema/kite_generated.h"
#include "tools/convert/write/convert_tensors.h"

namespace kite::convert {
namespace {

namespace fb = ::kite::schema;

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/kite_writer_" + name;
}

TokenizerTables TinyTokenizer() {
  TokenizerTables t;
  t.pieces = {"<unk>", "\n<s>\n", "\n</s>\n", " ", "a", "b", "ab", " a", "<0x41>", "ba"};
  t.scores = {0, 0, 0, -1, -2, -3, -4, -5, 0, -6};
  t.types = {2, 3, 3, 1, 1, 1, 1, 1, 6, 1};
  t.bos_id = 1;
  t.eos_id = 2;
  t.unk_id = 0;
  t.stop_ids = {2, 1};
  t.Finalize();
  return t;
}

// A complete tiny Llama (dim 8, hidden 12, 2 layers, 2 heads, 1 KV head, vocab 10) with an
// untied output head; weights are a smooth deterministic pattern.
SourceModel TinySource() {
  SourceModel m;
  SourceConfig& c = m.config;
  c.dim = 8;
  c.hidden_dim = 12;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 4;
  c.vocab_size = 10;
  c.max_seq_len = 16;
  c.tied_embeddings = false;
  float seed = 0.0f;
  auto add = [&](const std::string& name, std::vector<uint64_t> shape) {
    SourceTensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.data.resize(t.elements());
    for (float& v : t.data) v = 0.1f * std::sin(seed += 0.7f);
    m.tensors.push_back(std::move(t));
  };
  add("tok_embeddings", {10, 8});
  for (int l = 0; l < 2; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    add(p + "attention_norm", {8});
    add(p + "attention.wq", {8, 8});
    add(p + "attention.wk", {4, 8});
    add(p + "attention.wv", {4, 8});
    add(p + "attention.wo", {8, 8});
    add(p + "ffn_norm", {8});
    add(p + "feed_forward.w1", {12, 8});
    add(p + "feed_forward.w2", {8, 12});
    add(p + "feed_forward.w3", {12, 8});
  }
  add("norm", {8});
  add("output", {10, 8});
  return m;
}

struct Written {
  TokenizerTables tokenizer;
  KiteModel model;
  KiteFileSummary summary;
  std::vector<uint8_t> bytes;
};

std::unique_ptr<Written> WriteTiny(QuantMode quant, const std::string& path) {
  auto w = std::make_unique<Written>();
  w->tokenizer = TinyTokenizer();
  SourceModel source = TinySource();
  ConvertOptions options;
  options.quant = quant;
  auto tensors = ConvertTensors(&source, options, nullptr);
  EXPECT_TRUE(tensors.ok()) << tensors.status();
  w->model.config = source.config;
  w->model.tensors = std::move(*tensors);
  w->model.tokenizer = &w->tokenizer;
  w->model.provenance = {"tiny.bin", "llama2c", "kite-convert test", "--quant x"};
  auto summary = WriteKiteFile(w->model, path);
  EXPECT_TRUE(summary.ok()) << summary.status();
  if (summary.ok()) w->summary = *summary;
  w->bytes = ReadAll(path);
  return w;
}

uint64_t RoundUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

void CheckFile(const Written& w) {
  const std::vector<uint8_t>& b = w.bytes;
  ASSERT_GT(b.size(), 16u);
  ASSERT_EQ(b.size(), w.summary.file_size);

  // Size prefix, identifier, Verifier.
  uint32_t fb_size = 0;
  std::memcpy(&fb_size, b.data(), 4);
  const uint64_t meta = uint64_t{fb_size} + 4;
  EXPECT_EQ(meta, w.summary.metadata_bytes);
  EXPECT_EQ(std::memcmp(b.data() + 8, "KITE", 4), 0);
  flatbuffers::Verifier verifier(b.data(), meta);
  ASSERT_TRUE(fb::VerifySizePrefixedModelBuffer(verifier));
  const fb::Model* m = fb::GetSizePrefixedModel(b.data());

  // KCRC record, then zeros up to the data offset.
  const uint64_t record = RoundUp(meta, 8);
  for (uint64_t i = meta; i < record; ++i) EXPECT_EQ(b[i], 0) << i;
  EXPECT_EQ(std::memcmp(b.data() + record, "KCRC", 4), 0);
  const uint32_t crc = static_cast<uint32_t>(b[record + 4]) | (uint32_t{b[record + 5]} << 8) |
                       (uint32_t{b[record + 6]} << 16) | (uint32_t{b[record + 7]} << 24);
  EXPECT_EQ(crc, Crc32c(b.data(), meta));
  EXPECT_EQ(m->data_offset(), w.summary.data_offset);
  EXPECT_EQ(m->data_offset() % 16384, 0u);
  EXPECT_GE(m->data_offset(), record + 8);
  for (uint64_t i = record + 8; i < m->data_offset(); ++i) ASSERT_EQ(b[i], 0) << i;
  EXPECT_EQ(m->file_size(), b.size());
  EXPECT_EQ(m->format_version(), kFormatVersion);

  // Segments: global first, one per layer, contiguous, aligned, checksummed.
  ASSERT_EQ(m->segments()->size(), 1u + w.model.config.n_layers);
  uint64_t expect_offset = m->data_offset();
  for (uint32_t i = 0; i < m->segments()->size(); ++i) {
    const fb::Segment* s = m->segments()->Get(i);
    EXPECT_EQ(s->offset(), expect_offset) << "segment " << i;
    EXPECT_EQ(s->offset() % 64, 0u) << "segment " << i;
    ASSERT_LE(s->offset() + s->size(), b.size());
    EXPECT_EQ(s->crc32c(), Crc32c(b.data() + s->offset(), s->size())) << "segment " << i;
    expect_offset = s->offset() + s->size();
  }
  EXPECT_EQ(expect_offset, b.size());

  // Tensors: order, segment, alignment, bytes.
  ASSERT_EQ(m->tensors()->size(), w.model.tensors.size());
  for (uint32_t i = 0; i < m->tensors()->size(); ++i) {
    const fb::Tensor* t = m->tensors()->Get(i);
    const KiteTensor& k = w.model.tensors[i];
    EXPECT_EQ(t->name()->str(), k.name);
    EXPECT_EQ(std::vector<uint64_t>(t->shape()->begin(), t->shape()->end()), k.shape);
    EXPECT_EQ(static_cast<int>(t->dtype()), static_cast<int>(k.dtype));
    EXPECT_EQ(static_cast<int>(t->layout()), static_cast<int>(k.layout));
    EXPECT_EQ(t->group_size(), k.group_size);
    EXPECT_FLOAT_EQ(t->quant_rel_rms_error(), k.quant_rel_rms_error);
    const uint32_t seg = t->data()->segment();
    const bool layer = k.name.rfind("layers.", 0) == 0;
    EXPECT_EQ(seg, layer ? 1u + static_cast<uint32_t>(k.name[7] - '0') : 0u) << k.name;
    const uint64_t at = m->segments()->Get(seg)->offset() + t->data()->offset();
    EXPECT_EQ(at % 64, 0u) << k.name;
    ASSERT_EQ(t->data()->size(), k.data.size());
    EXPECT_EQ(std::memcmp(b.data() + at, k.data.data(), k.data.size()), 0) << k.name;
    if (k.scales.empty()) {
      EXPECT_EQ(t->scales(), nullptr) << k.name;
    } else {
      ASSERT_NE(t->scales(), nullptr) << k.name;
      EXPECT_EQ(t->scales()->segment(), seg);
      const uint64_t s_at = m->segments()->Get(seg)->offset() + t->scales()->offset();
      EXPECT_EQ(s_at % 64, 0u) << k.name;
      EXPECT_GE(t->scales()->offset(), t->data()->offset() + t->data()->size());
      ASSERT_EQ(t->scales()->size(), k.scales.size());
      EXPECT_EQ(std::memcmp(b.data() + s_at, k.scales.data(), k.scales.size()), 0) << k.name;
    }
  }

  // Config, tokenizer, provenance.
  const fb::Config* c = m->config();
  EXPECT_EQ(c->architecture()->str(), "llama");
  EXPECT_EQ(c->dim(), 8u);
  EXPECT_EQ(c->hidden_dim(), 12u);
  EXPECT_EQ(c->n_layers(), 2u);
  EXPECT_EQ(c->n_heads(), 2u);
  EXPECT_EQ(c->n_kv_heads(), 1u);
  EXPECT_EQ(c->head_dim(), 4u);
  EXPECT_EQ(c->vocab_size(), 10u);
  EXPECT_EQ(c->max_seq_len(), 16u);
  EXPECT_FLOAT_EQ(c->rope_theta(), 10000.0f);
  EXPECT_FLOAT_EQ(c->norm_eps(), 1e-5f);
  EXPECT_FALSE(c->tied_embeddings());
  const fb::Tokenizer* t = m->tokenizer();
  ASSERT_NE(t, nullptr);
  const TokenizerTables& tok = w.tokenizer;
  EXPECT_EQ(t->type(), fb::TokenizerType::SCORE_BPE);
  EXPECT_EQ(std::string(t->pieces()->begin(), t->pieces()->end()), tok.blob);
  EXPECT_EQ(std::vector<uint32_t>(t->piece_offsets()->begin(), t->piece_offsets()->end()),
            tok.piece_offsets);
  EXPECT_EQ(std::vector<float>(t->scores()->begin(), t->scores()->end()), tok.scores);
  ASSERT_EQ(t->types()->size(), 10u);
  EXPECT_EQ(t->types()->Get(0), fb::TokenType::UNKNOWN);
  EXPECT_EQ(t->types()->Get(1), fb::TokenType::CONTROL);
  EXPECT_EQ(t->types()->Get(8), fb::TokenType::BYTE);
  EXPECT_EQ(std::vector<uint32_t>(t->sorted_ids()->begin(), t->sorted_ids()->end()),
            tok.sorted_ids);
  ASSERT_EQ(t->byte_ids()->size(), 256u);
  EXPECT_EQ(t->byte_ids()->Get(0x41), 8);
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->unk_id(), 0);
  EXPECT_EQ(std::vector<int32_t>(t->stop_ids()->begin(), t->stop_ids()->end()),
            (std::vector<int32_t>{2, 1}));
  EXPECT_TRUE(t->add_dummy_prefix());
  EXPECT_EQ(t->max_piece_length(), tok.max_piece_length);
  ASSERT_NE(m->provenance(), nullptr);
  EXPECT_EQ(m->provenance()->source()->str(), "tiny.bin");
  EXPECT_EQ(m->provenance()->source_format()->str(), "llama2c");
  EXPECT_EQ(m->provenance()->converter_version()->str(), "kite-convert test");
  EXPECT_EQ(m->provenance()->options()->str(), "--quant x");
}

TEST(KiteWriter, F32FileLayout) {
  const std::string path = TempPath("f32.kite");
  auto w = WriteTiny(QuantMode::kF32, path);
  CheckFile(*w);
  EXPECT_FALSE(Exists(path + ".tmp"));
  std::remove(path.c_str());
}

TEST(KiteWriter, Q4FileLayout) {
  const std::string path = TempPath("q4.kite");
  auto w = WriteTiny(QuantMode::kQ4, path);
  CheckFile(*w);
  // Matrices are Q4_G with scales and mins (asymmetric by default), the embedding and
  // output head Q8_C with per-row scales, norms f32.
  for (const KiteTensor& t : w->model.tensors) {
    const bool keep8 = t.name == "tok_embeddings" || t.name == "output";
    EXPECT_EQ(t.dtype, t.shape.size() != 2 ? DType::F32
                       : keep8             ? DType::Q8_C
                                           : DType::Q4_G)
        << t.name;
    if (t.dtype == DType::Q4_G) EXPECT_EQ(t.mins.size(), t.scales.size()) << t.name;
  }
  std::remove(path.c_str());
}

TEST(KiteWriter, TheRuntimeLoaderAcceptsTheFile) {
  for (QuantMode quant : {QuantMode::kF32, QuantMode::kQ4}) {
    const std::string path = TempPath("load.kite");
    auto w = WriteTiny(quant, path);
    auto map = FileMap::OpenPath(path.c_str());
    ASSERT_TRUE(map.ok()) << map.status().message();
    ModelOptions options;
    options.verify_checksums = true;
    auto model = Model::Open(std::move(map.value()), options);
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_EQ(model.value()->config().dim, 8u);
    EXPECT_EQ(model.value()->tokenizer().vocab_size(), 10u);
    EXPECT_TRUE(model.value()->VerifyChecksums().ok());
    std::remove(path.c_str());
  }
}

TEST(KiteWriter, FailureKeepsTheExistingFileAndLeavesNoTemporary) {
  const std::string path = TempPath("keep.kite");
  auto good = WriteTiny(QuantMode::kF32, path);
  ASSERT_FALSE(good->bytes.empty());

  KiteModel bad = good->model;
  bad.tensors.push_back(bad.tensors.front());  // duplicate name
  auto result = WriteKiteFile(bad, path);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("duplicate tensor \"tok_embeddings\""),
            std::string::npos)
      << result.status();
  EXPECT_EQ(ReadAll(path), good->bytes);
  EXPECT_FALSE(Exists(path + ".tmp"));

  // An unwritable destination fails cleanly.
  auto unwritable = WriteKiteFile(good->model, TempPath("no-such-dir/x.kite"));
  EXPECT_FALSE(unwritable.ok());
  std::remove(path.c_str());
}

TEST(KiteWriter, RejectsInconsistentModels) {
  auto w = std::make_unique<Written>();
  w->tokenizer = TinyTokenizer();
  SourceModel source = TinySource();
  auto tensors = ConvertTensors(&source, ConvertOptions{}, nullptr);
  ASSERT_TRUE(tensors.ok());
  KiteModel base;
  base.config = source.config;
  base.tensors = *tensors;
  base.tokenizer = &w->tokenizer;
  const std::string path = TempPath("reject.kite");

  KiteModel m = base;
  m.tensors[1].name = "layers.7.attention_norm";
  auto r = WriteKiteFile(m, path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layer 7 is out of range"), std::string::npos) << r.status();

  m = base;
  m.tensors[2].data.pop_back();
  r = WriteKiteFile(m, path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layers.0.attention.wq"), std::string::npos) << r.status();

  m = base;
  m.config.vocab_size = 11;
  r = WriteKiteFile(m, path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("vocab_size"), std::string::npos) << r.status();
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(path + ".tmp"));
}

TEST(KiteWriter, SegmentForTensor) {
  EXPECT_EQ(*SegmentForTensor("tok_embeddings", 5), 0u);
  EXPECT_EQ(*SegmentForTensor("norm", 5), 0u);
  EXPECT_EQ(*SegmentForTensor("output", 5), 0u);
  EXPECT_EQ(*SegmentForTensor("layers.0.attention.wq", 5), 1u);
  EXPECT_EQ(*SegmentForTensor("layers.4.ffn_norm", 5), 5u);
  EXPECT_FALSE(SegmentForTensor("layers.5.ffn_norm", 5).ok());
  EXPECT_FALSE(SegmentForTensor("layers.x.ffn_norm", 5).ok());
  EXPECT_FALSE(SegmentForTensor("layers.1", 5).ok());
}

TEST(KiteWriter, LargeMetadataMovesTheDataOffset) {
  // A tokenizer big enough that the metadata passes 16 KiB: the data offset must move to
  // the next multiple of 16384 and everything must still check out.
  TokenizerTables tok;
  for (int i = 0; i < 3000; ++i) tok.pieces.push_back("piece" + std::to_string(i));
  tok.Finalize();
  KiteModel model;
  model.config.dim = 8;
  model.config.n_layers = 0;
  model.config.vocab_size = 3000;
  KiteTensor t;
  t.name = "norm";
  t.shape = {8};
  t.data.assign(32, 1);
  model.tensors.push_back(t);
  model.tokenizer = &tok;
  const std::string path = TempPath("big-meta.kite");
  auto s = WriteKiteFile(model, path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_GT(s->metadata_bytes, 16384u);
  EXPECT_EQ(s->data_offset, RoundUp(RoundUp(s->metadata_bytes, 8) + 8, 16384));
  const std::vector<uint8_t> b = ReadAll(path);
  const fb::Model* m = fb::GetSizePrefixedModel(b.data());
  EXPECT_EQ(m->data_offset(), s->data_offset);
  EXPECT_EQ(m->segments()->Get(0)->offset(), s->data_offset);
  EXPECT_EQ(m->file_size(), b.size());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kite::convert
