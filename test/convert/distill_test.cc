// Distillation: gradients of the KL with respect to norm weights, Q4 group scales and
// offsets and Q8_C row scales agree with central finite differences; tuning lowers the KL
// and writes values that the stored tensors then hold; training the codes (straight-through)
// moves them, lowers the KL even when they train alone, stores exactly the trained codes, and
// keeps the codes of pruned weights; codebook entries train towards the levels the teacher
// was made of and stay a valid codebook.
#include "tools/convert/compress/distill.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "sdk/format/blocks.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "sdk/format/tensor_names.h"
#include "tools/convert/write/convert_tensors.h"
#include "tools/convert/compress/llama_float.h"
#include "tools/convert/compress/prune.h"

namespace kite::convert {
namespace {

// A random Llama with 64-wide matrices (two Q4 groups per row) and 2 layers.
SourceModel TinySource(uint32_t seed) {
  SourceModel m;
  SourceConfig& c = m.config;
  c.dim = 64;
  c.hidden_dim = 96;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 32;
  c.max_seq_len = 64;
  c.tied_embeddings = true;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto add = [&](const std::string& name, std::vector<uint64_t> shape, float mean, float sd) {
    SourceTensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.data.resize(t.elements());
    for (float& x : t.data) x = mean + sd * normal(rng);
    m.tensors.push_back(std::move(t));
  };
  add(names::kTokEmbeddings, {32, 64}, 0.0f, 0.5f);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    add(p + names::kAttentionNorm, {64}, 1.0f, 0.2f);
    add(p + names::kWq, {64, 64}, 0.0f, 0.15f);
    add(p + names::kWk, {32, 64}, 0.0f, 0.15f);
    add(p + names::kWv, {32, 64}, 0.0f, 0.15f);
    add(p + names::kWo, {64, 64}, 0.0f, 0.15f);
    add(p + names::kFfnNorm, {64}, 1.0f, 0.2f);
    add(p + names::kW1, {96, 64}, 0.0f, 0.15f);
    add(p + names::kW2, {64, 96}, 0.0f, 0.12f);
    add(p + names::kW3, {96, 64}, 0.0f, 0.15f);
  }
  add(names::kNorm, {64}, 1.0f, 0.2f);
  return m;
}

std::vector<KiteTensor> Convert(const SourceModel& source, const ConvertOptions& options) {
  SourceModel copy = source;
  absl::StatusOr<std::vector<KiteTensor>> t = ConvertTensors(&copy, options, nullptr);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : std::vector<KiteTensor>{};
}

std::vector<std::vector<int32_t>> RandomSequences(size_t count, size_t length, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> token(0, 31);
  std::vector<std::vector<int32_t>> out(count, std::vector<int32_t>(length));
  for (auto& s : out) {
    for (int32_t& t : s) t = token(rng);
  }
  return out;
}

std::vector<float> TeacherLogits(const SourceModel& m, const std::vector<int32_t>& tokens) {
  std::vector<float> logits(tokens.size() * m.config.vocab_size);
  EXPECT_TRUE(ForwardFloat(m, tokens.data(), tokens.size(), logits.data(), nullptr).ok());
  return logits;
}

struct Layouts {
  const char* name;
  bool packed;
  bool asymmetric;
  bool sparse_24 = false;
  bool offset_free = false;
  bool codebook = false;  ///< Q4_R16_G32_CB: its scales and entries (codes fixed)
};

class DistillGradientTest : public ::testing::TestWithParam<Layouts> {};

TEST_P(DistillGradientTest, MatchesFiniteDifferences) {
  const SourceModel source = TinySource(3);
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_packed = GetParam().packed;
  options.q4_asymmetric = GetParam().asymmetric;
  options.sparse_24 = GetParam().sparse_24;
  options.q4_offset_free = GetParam().offset_free;
  options.q4_codebook = GetParam().codebook;
  const std::vector<KiteTensor> tensors = Convert(source, options);
  if (options.q4_codebook) {
    ASSERT_EQ(tensors[2].layout, Layout::Q4_R16_G32_CB);  // layers.0.attention.wq
  }
  if (options.q4_offset_free) {
    ASSERT_EQ(tensors[2].layout, Layout::Q4_R16_G32_SYM);  // layers.0.attention.wq
  }
  if (options.sparse_24) {
    ASSERT_EQ(tensors[2].dtype, DType::Q4_G_SP24);  // layers.0.attention.wq
  }
  ASSERT_FALSE(tensors.empty());
  DistillOptions precise;
  precise.double_precision = true;
  precise.train_codes = false;  // latent codes have a straight-through, not a true, gradient
  absl::StatusOr<DistillModel> model = DistillModel::Create(source.config, tensors, precise);
  ASSERT_TRUE(model.ok()) << model.status();

  const std::vector<int32_t> tokens = RandomSequences(1, 12, 5)[0];
  const std::vector<float> teacher = TeacherLogits(source, tokens);
  std::vector<double> values = model->initial_values();
  const std::vector<double>& units = model->units();
  std::vector<double> grad;
  absl::StatusOr<double> loss =
      model->LossAndGradient(values, tokens.data(), tokens.size(), teacher.data(), &grad);
  ASSERT_TRUE(loss.ok());
  EXPECT_GT(*loss, 1e-4);  // quantization changed the model
  ASSERT_EQ(grad.size(), values.size());
  // The float model (what the converter trains) agrees with the double one.
  DistillOptions single;
  single.train_codes = false;
  absl::StatusOr<DistillModel> fast = DistillModel::Create(source.config, tensors, single);
  ASSERT_TRUE(fast.ok());
  std::vector<double> fast_grad;
  const double fast_loss =
      *fast->LossAndGradient(values, tokens.data(), tokens.size(), teacher.data(), &fast_grad);
  EXPECT_NEAR(fast_loss, *loss, 1e-4 * *loss);
  double dot = 0.0, n1 = 0.0, n2 = 0.0;
  for (size_t i = 0; i < grad.size(); ++i) {
    dot += grad[i] * fast_grad[i];
    n1 += grad[i] * grad[i];
    n2 += fast_grad[i] * fast_grad[i];
  }
  EXPECT_GT(dot / std::sqrt(n1 * n2), 0.9999);

  // 64 + 2 * (64 + 64) * ... : count the kinds through their sizes: every value is checked
  // on a stride that visits norms, scales and offsets of every tensor.
  size_t checked = 0, nonzero = 0;
  for (size_t i = 0; i < values.size(); i += 7) {
    if (units[i] == 0.0) continue;
    const double h = 1e-6 * std::max(std::fabs(values[i]), 1e-2);
    const double saved = values[i];
    values[i] = saved + h;
    const double up = *model->LossAndGradient(values, tokens.data(), tokens.size(), teacher.data(), nullptr);
    values[i] = saved - h;
    const double down = *model->LossAndGradient(values, tokens.data(), tokens.size(), teacher.data(), nullptr);
    values[i] = saved;
    const double numeric = (up - down) / (2 * h);
    EXPECT_LE(std::fabs(numeric - grad[i]),
              1e-3 * std::max(std::fabs(numeric), std::fabs(grad[i])) + 1e-8)
        << "value " << i << ": numeric " << numeric << " analytic " << grad[i];
    ++checked;
    nonzero += std::fabs(grad[i]) > 1e-6;
  }
  EXPECT_GT(checked, 150u);
  EXPECT_GT(nonzero, checked / 2);
}

INSTANTIATE_TEST_SUITE_P(Layouts, DistillGradientTest,
                         ::testing::Values(Layouts{"packed_asym", true, true},
                                           Layouts{"rowgroups_asym", false, true},
                                           Layouts{"rowgroups_sym", false, false},
                                           Layouts{"sparse24", true, false, true},
                                           Layouts{"packed_offset_free", true, false, false, true},
                                           Layouts{"codebook", true, false, false, false, true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DistillTest, TuningLowersKlAndIsStored) {
  const SourceModel source = TinySource(4);
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_asymmetric = false;  // coarser, so there is more to recover
  std::vector<KiteTensor> tensors = Convert(source, options);
  const std::vector<KiteTensor> original = tensors;
  const auto sequences = RandomSequences(6, 16, 9);
  DistillOptions d;
  d.steps = 60;
  d.learning_rate = 5e-3;
  d.log_every = 20;
  d.train_codes = false;  // scales only: the codes must stay
  size_t calls = 0;
  absl::StatusOr<DistillReport> report = DistillStoredTensors(
      source, sequences, d, &tensors, [&](const DistillProgress& p) {
        if (p.kind != DistillProgress::kLog) return;
        ++calls;
        EXPECT_EQ(p.total, 60u);
        EXPECT_EQ(p.step % 20, 0u);
        EXPECT_GT(p.train_kl, 0.0);
      });
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(calls, 3u);
  EXPECT_EQ(report->positions, 6u * 16u);
  EXPECT_LT(report->kl_after, 0.8 * report->kl_before)
      << report->kl_before << " -> " << report->kl_after;

  // The stored tensors now hold the tuned values: rebuilding from them gives kl_after, and
  // the codes (nibbles outside the scales) are unchanged.
  absl::StatusOr<DistillModel> tuned = DistillModel::Create(source.config, tensors, DistillOptions{});
  ASSERT_TRUE(tuned.ok());
  double total = 0.0;
  for (const auto& s : sequences) {
    const std::vector<float> teacher = TeacherLogits(source, s);
    total += *tuned->LossAndGradient(tuned->initial_values(), s.data(), s.size(), teacher.data(),
                                     nullptr);
  }
  EXPECT_NEAR(total / sequences.size(), report->kl_after, 1e-9);
  ASSERT_EQ(tensors.size(), original.size());
  size_t changed = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    ASSERT_EQ(tensors[i].data.size(), original[i].data.size());
    changed += tensors[i].data != original[i].data || tensors[i].scales != original[i].scales;
    if (tensors[i].layout == Layout::Q4_R16_G32) {
      // Nibble bytes [0, 256) of every 320-byte block are untouched.
      for (size_t b = 0; b < tensors[i].data.size(); b += 320) {
        ASSERT_TRUE(std::equal(tensors[i].data.begin() + b, tensors[i].data.begin() + b + 256,
                               original[i].data.begin() + b))
            << tensors[i].name;
      }
    }
  }
  EXPECT_GT(changed, tensors.size() / 2);
}

// Distills `tensors` of `source` on fixed random sequences (60 steps); returns the report.
// `codes_only` trains the latent codes alone (no norms, scales or offsets).
DistillReport DistillFor(const SourceModel& source, bool train_codes,
                         std::vector<KiteTensor>* tensors, const SourceModel* frozen = nullptr,
                         bool codes_only = false) {
  DistillOptions d;
  d.steps = 60;
  d.learning_rate = 5e-3;
  d.train_codes = train_codes;
  d.code_learning_rate = 0.01;
  d.frozen_zeros = frozen;
  if (codes_only) d.train_norms = d.train_q4 = d.train_q8 = d.train_codebook = false;
  absl::StatusOr<DistillReport> report =
      DistillStoredTensors(source, RandomSequences(6, 16, 9), d, tensors, nullptr);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : DistillReport{};
}

// The number of codes that differ between two converted models of the same shapes.
size_t DifferentCodes(const SourceModel& source, const std::vector<KiteTensor>& a,
                      const std::vector<KiteTensor>& b) {
  DistillOptions codes;
  codes.train_codes = true;
  absl::StatusOr<DistillModel> ma = DistillModel::Create(source.config, a, codes);
  absl::StatusOr<DistillModel> mb = DistillModel::Create(source.config, b, codes);
  EXPECT_TRUE(ma.ok() && mb.ok());
  return ma.ok() && mb.ok() ? ma->ChangedCodes(mb->initial_values()) : 0;
}

struct CodeLayout {
  const char* name;
  bool asymmetric;
  bool offset_free;
  bool packed;
  bool sparse = false;  ///< the 2:4 layout (its kept values train; the other columns stay 0)
  bool codebook = false;  ///< Q4_R16_G32_CB (codes name entries of a learned codebook)
};

class DistillCodesTest : public ::testing::TestWithParam<CodeLayout> {};

// 4-bit conversion options for one CodeLayout.
ConvertOptions CodeLayoutOptions(const CodeLayout& layout) {
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_asymmetric = layout.asymmetric;
  options.q4_offset_free = layout.offset_free;
  options.q4_packed = layout.packed;
  options.sparse_24 = layout.sparse;
  options.q4_codebook = layout.codebook;
  return options;
}

TEST_P(DistillCodesTest, StraightThroughMovesCodesAndIsStored) {
  const SourceModel source = TinySource(4);
  const std::vector<KiteTensor> original = Convert(source, CodeLayoutOptions(GetParam()));
  std::vector<KiteTensor> scales_only = original, with_codes = original;
  const DistillReport s = DistillFor(source, false, &scales_only);
  const DistillReport c = DistillFor(source, true, &with_codes);
  EXPECT_EQ(s.codes_changed, 0u);
  EXPECT_EQ(DifferentCodes(source, original, scales_only), 0u);
  // Codes moved, and the stored bytes hold exactly the moved codes.
  EXPECT_GT(c.codes_changed, 50u);
  EXPECT_EQ(DifferentCodes(source, original, with_codes), c.codes_changed);
  EXPECT_GT(c.parameters, s.parameters + 10000);
  EXPECT_DOUBLE_EQ(c.kl_before, s.kl_before);
  EXPECT_LT(c.kl_after, 0.5 * c.kl_before) << c.kl_before << " -> " << c.kl_after;
  // The stored file gives kl_after.
  absl::StatusOr<DistillModel> tuned =
      DistillModel::Create(source.config, with_codes, DistillOptions{});
  ASSERT_TRUE(tuned.ok());
  double total = 0.0;
  for (const auto& seq : RandomSequences(6, 16, 9)) {
    const std::vector<float> teacher = TeacherLogits(source, seq);
    total += *tuned->LossAndGradient(tuned->initial_values(), seq.data(), seq.size(),
                                     teacher.data(), nullptr);
  }
  EXPECT_NEAR(total / 6, c.kl_after, 1e-9);
}

TEST_P(DistillCodesTest, CodesAloneLowerTheKl) {
  const SourceModel source = TinySource(4);
  const std::vector<KiteTensor> original = Convert(source, CodeLayoutOptions(GetParam()));
  std::vector<KiteTensor> tensors = original;
  const DistillReport c = DistillFor(source, true, &tensors, nullptr, /*codes_only=*/true);
  // Only the codes of the 4-bit matrices train: 2 layers of 64x64 (2), 32x64 (2), 96x64 (2)
  // and 64x96; the embedding is 8-bit. In the 2:4 layout, half of them: the kept ones.
  EXPECT_EQ(c.parameters,
            2u * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 96 * 64) / (GetParam().sparse ? 2 : 1));
  EXPECT_GT(c.codes_changed, 100u);
  EXPECT_EQ(DifferentCodes(source, original, tensors), c.codes_changed);
  // 2:4 starts from magnitude pruning, whose loss the codes cannot all win back.
  EXPECT_LT(c.kl_after, (GetParam().sparse ? 0.3 : 0.2) * c.kl_before)
      << c.kl_before << " -> " << c.kl_after;
}

INSTANTIATE_TEST_SUITE_P(Layouts, DistillCodesTest,
                         ::testing::Values(CodeLayout{"packed_asym", true, false, true},
                                           CodeLayout{"packed_offset_free", false, true, true},
                                           CodeLayout{"rowgroups_sym", false, false, false},
                                           CodeLayout{"sparse24", false, false, true, true},
                                           CodeLayout{"codebook", false, false, true, false,
                                                      true}),
                         [](const auto& info) { return std::string(info.param.name); });

// `model` with every matrix but the embedding pruned 2:4 by magnitude.
SourceModel PrunedTwoFour(SourceModel model) {
  for (SourceTensor& t : model.tensors) {
    if (t.shape.size() == 2 && t.name != names::kTokEmbeddings) {
      Prune24(t.data.data(), t.shape[0], t.shape[1], nullptr);
    }
  }
  return model;
}

// 3-bit matrices (Q3_R16_G32) beside 4-bit ones: their scales train, their code planes
// (bytes [0, 192) of every 224-byte block) stay even with code training on, and the stored
// result rebuilds to the reported KL.
TEST(DistillTest, ThreeBitScalesTrainAndCodesStay) {
  const SourceModel source = TinySource(4);
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_asymmetric = false;
  options.q4_offset_free = true;
  options.q3 = {"layers.0.feed_forward.w1", "layers.1.attention.wv", "layers.1.feed_forward.w2"};
  std::vector<KiteTensor> tensors = Convert(source, options);
  const std::vector<KiteTensor> original = tensors;
  size_t q3 = 0;
  for (const KiteTensor& t : tensors) q3 += t.layout == Layout::Q3_R16_G32;
  ASSERT_EQ(q3, 3u);
  const auto sequences = RandomSequences(6, 16, 9);
  DistillOptions d;
  d.steps = 60;
  d.learning_rate = 5e-3;
  d.train_codes = true;
  absl::StatusOr<DistillReport> report = DistillStoredTensors(source, sequences, d, &tensors, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_LT(report->kl_after, report->kl_before);
  absl::StatusOr<DistillModel> tuned = DistillModel::Create(source.config, tensors, DistillOptions{});
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  double total = 0.0;
  for (const auto& s : sequences) {
    const std::vector<float> teacher = TeacherLogits(source, s);
    total += *tuned->LossAndGradient(tuned->initial_values(), s.data(), s.size(), teacher.data(),
                                     nullptr);
  }
  EXPECT_NEAR(total / sequences.size(), report->kl_after, 1e-9);
  size_t scales_changed = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].layout != Layout::Q3_R16_G32) continue;
    ASSERT_EQ(tensors[i].data.size(), original[i].data.size());
    for (size_t b = 0; b < tensors[i].data.size(); b += kQ3R16BlockBytes) {
      ASSERT_TRUE(std::equal(tensors[i].data.begin() + b,
                             tensors[i].data.begin() + b + kQ3R16ScalesOffset,
                             original[i].data.begin() + b))
          << tensors[i].name;
    }
    scales_changed += tensors[i].data != original[i].data;
  }
  EXPECT_EQ(scales_changed, 3u);
}

TEST(DistillTest, CodeTrainingKeepsPrunedCodes) {
  const SourceModel teacher = TinySource(7);
  SourceModel pruned = PrunedTwoFour(teacher);
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_asymmetric = false;
  options.q4_offset_free = true;  // symmetric: a pruned weight is stored as exactly 0
  std::vector<KiteTensor> tensors = Convert(pruned, options);
  const DistillReport c = DistillFor(teacher, true, &tensors, &pruned);
  EXPECT_GT(c.codes_changed, 100u);
  size_t zeros = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].layout != Layout::Q4_R16_G32_SYM) continue;
    const SourceTensor& src = pruned.tensors[i];
    const size_t rows = src.shape[0], cols = src.shape[1];
    std::vector<float> row(cols);
    for (size_t r = 0; r < rows; ++r) {
      kernels::DequantizeQ4R16SymRow(cols, tensors[i].data.data(), r, row.data());
      for (size_t k = 0; k < cols; ++k) {
        if (src.data[r * cols + k] != 0.0f) continue;
        ++zeros;
        ASSERT_EQ(row[k], 0.0f) << src.name << " " << r << "," << k;
      }
    }
  }
  EXPECT_GT(zeros, 10000u);
}

// 2:4 layout: with scales only, zeros stay zeros and non-zeros stay non-zero; with code
// training, a value may become 0 or leave 0 only in a column that held a stored value.
// Either way the matrices keep the 2:4 pattern.
TEST(DistillTest, SparseTuningKeepsPrunedWeightsZero) {
  const SourceModel source = TinySource(5);
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.sparse_24 = true;
  const std::vector<KiteTensor> original = Convert(source, options);
  for (const bool codes : {false, true}) {
    SCOPED_TRACE(codes ? "with codes" : "scales only");
    std::vector<KiteTensor> tensors = original;
    DistillOptions d;
    d.steps = 40;
    d.learning_rate = 5e-3;
    d.train_codes = codes;
    d.code_learning_rate = 0.01;
    absl::StatusOr<DistillReport> report =
        DistillStoredTensors(source, RandomSequences(4, 16, 2), d, &tensors, nullptr);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_LT(report->kl_after, report->kl_before);
    EXPECT_EQ(report->codes_changed > 0, codes);
    size_t sparse = 0, flips = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].dtype != DType::Q4_G_SP24) continue;
      ++sparse;
      const size_t rows = tensors[i].shape[0], cols = tensors[i].shape[1];
      std::vector<float> before(cols), after(rows * cols);
      std::vector<uint8_t> stored(cols);
      size_t moved = 0;
      for (size_t r = 0; r < rows; ++r) {
        float* a = after.data() + r * cols;
        kernels::DequantizeQ4SP24Row(cols, original[i].data.data(), r, before.data());
        kernels::DequantizeQ4SP24Row(cols, tensors[i].data.data(), r, a);
        kernels::Q4SP24StoredColumns(cols, original[i].data.data(), r, stored.data());
        for (size_t c = 0; c < cols; ++c) {
          if (!codes) {
            ASSERT_EQ(before[c] == 0.0f, a[c] == 0.0f) << tensors[i].name << " " << r << "," << c;
          } else if (!stored[c]) {
            ASSERT_EQ(a[c], 0.0f) << tensors[i].name << " " << r << "," << c;
          }
          flips += (before[c] == 0.0f) != (a[c] == 0.0f);
          moved += before[c] != a[c];
        }
      }
      EXPECT_GT(moved, 0u) << tensors[i].name;
      EXPECT_TRUE(kernels::IsTwoFourSparse(rows, cols, after.data())) << tensors[i].name;
    }
    EXPECT_EQ(sparse, 14u);
    if (codes) EXPECT_GT(flips, 0u);  // some codes reached or left 0
  }
}

TEST(DistillTest, SourceWeightsRecoverPruningAndKeepTheMask) {
  const SourceModel teacher = TinySource(6);
  SourceModel student = PrunedTwoFour(teacher);
  const SourceModel pruned = student;
  DistillOptions d;
  d.steps = 40;
  d.learning_rate = 5e-3;
  absl::StatusOr<DistillReport> report =
      DistillSourceWeights(teacher, RandomSequences(4, 16, 8), d, &student, nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_LT(report->kl_after, 0.8 * report->kl_before)
      << report->kl_before << " -> " << report->kl_after;
  size_t moved = 0;
  for (size_t i = 0; i < student.tensors.size(); ++i) {
    const std::vector<float>& a = pruned.tensors[i].data;
    const std::vector<float>& b = student.tensors[i].data;
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); ++j) {
      if (a[j] == 0.0f) ASSERT_EQ(b[j], 0.0f) << student.tensors[i].name << "[" << j << "]";
      moved += a[j] != b[j];
    }
    if (student.tensors[i].shape.size() == 2 && student.tensors[i].name != names::kTokEmbeddings) {
      EXPECT_TRUE(Is24Sparse(b.data(), student.tensors[i].shape[0], student.tensors[i].shape[1]));
    }
  }
  EXPECT_GT(moved, 1000u);
}

// The threads run a step's sequences at once; the result is the same whatever their number.
TEST(DistillTest, ThreadsDoNotChangeTheResult) {
  for (bool codebook : {false, true}) {  // with codebook: its latent codes and entries train too
    SCOPED_TRACE(codebook ? "codebook" : "Q4_R16_G32");
    const SourceModel source = TinySource(8);
    ConvertOptions options;
    options.quant = QuantMode::kQ4;
    options.q4_codebook = codebook;
    const std::vector<KiteTensor> original = Convert(source, options);
    std::vector<std::vector<KiteTensor>> results;
    std::vector<double> kl;
    for (size_t threads : {1, 2, 3}) {
      std::vector<KiteTensor> tensors = original;
      DistillOptions d;
      d.steps = 20;
      d.sequences_per_step = 3;
      d.threads = threads;
      d.train_codebook = codebook;
      absl::StatusOr<DistillReport> report =
          DistillStoredTensors(source, RandomSequences(5, 16, 4), d, &tensors, nullptr);
      ASSERT_TRUE(report.ok()) << report.status();
      EXPECT_LT(report->kl_after, report->kl_before);
      kl.push_back(report->kl_after);
      results.push_back(std::move(tensors));
    }
    for (size_t r = 1; r < results.size(); ++r) {
      EXPECT_EQ(kl[r], kl[0]);
      for (size_t i = 0; i < original.size(); ++i) {
        EXPECT_TRUE(results[r][i].data == results[0][i].data) << original[i].name;
        EXPECT_TRUE(results[r][i].codebook == results[0][i].codebook) << original[i].name;
        EXPECT_TRUE(results[r][i].scales == results[0][i].scales) << original[i].name;
      }
    }
  }
}

// Every matrix of the teacher (all 4-bit) is exactly d * kLevels[u]; the student stores the same
// scales d and codes u with each entry of its codebook off by 2 or 3. Training the entries
// alone moves them towards kLevels and lowers the KL; the codes stay, and the codebooks
// stay ascending int8 in [-127, 127]. With code training too, the result stays valid.
TEST(DistillTest, CodebookEntriesMoveTowardsTheBestLevels) {
  static constexpr int8_t kLevels[kQ4CodebookEntries] = {-120, -90, -66, -47, -32, -20, -10, -3,
                                                         3,    10,  20,  32,  47,  66,  90,  120};
  SourceModel teacher = TinySource(11);
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.q4_codebook = true;
  options.keep_8bit.clear();  // an 8-bit embedding's error would pull the entries off
  std::vector<KiteTensor> tensors = Convert(teacher, options);
  ASSERT_EQ(tensors.size(), teacher.tensors.size());
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> code(0, 15);
  std::uniform_real_distribution<float> spread(1.0f, 1.5f);
  size_t matrices = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    KiteTensor& t = tensors[i];
    if (t.layout != Layout::Q4_R16_G32_CB) continue;
    SourceTensor& src = teacher.tensors[i];
    ASSERT_EQ(src.name, t.name);
    const size_t rows = src.shape[0], cols = src.shape[1];
    const size_t groups = (cols + kQ4R16GroupSize - 1) / kQ4R16GroupSize;
    std::vector<uint8_t> u(rows * groups * kQ4R16GroupSize, 8);
    std::vector<uint16_t> d(rows * groups);
    for (uint16_t& h : d) h = FloatToHalf(0.0012f * spread(rng));
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < cols; ++c) {
        const uint8_t k = static_cast<uint8_t>(code(rng));
        u[r * groups * kQ4R16GroupSize + c] = k;
        src.data[r * cols + c] = HalfToFloat(d[r * groups + c / kQ4R16GroupSize]) * kLevels[k];
      }
    }
    kernels::PackQ4R16Sym(rows, cols, u.data(), d.data(), t.data.data());
    for (size_t k = 0; k < kQ4CodebookEntries; ++k) {
      t.codebook[k] = static_cast<int8_t>(kLevels[k] + (k % 2 == 0 ? 3 : -2));
    }
    ++matrices;
  }
  ASSERT_EQ(matrices, 15u);
  // Sum over the codebooks of |entry - level|.
  auto distance = [&](const std::vector<KiteTensor>& ts) {
    double sum = 0.0;
    for (const KiteTensor& t : ts) {
      if (t.layout != Layout::Q4_R16_G32_CB) continue;
      for (size_t k = 0; k < kQ4CodebookEntries; ++k) sum += std::abs(t.codebook[k] - kLevels[k]);
    }
    return sum;
  };
  const double before = distance(tensors);
  EXPECT_EQ(before, 15.0 * 8 * (3 + 2));
  const auto sequences = RandomSequences(6, 16, 9);
  for (const bool codes : {false, true}) {
    SCOPED_TRACE(codes ? "entries and codes" : "entries only");
    std::vector<KiteTensor> trained = tensors;
    DistillOptions d;
    d.steps = 60;
    d.learning_rate = 5e-3;
    d.sequences_per_step = sequences.size();  // the full gradient: no noise to follow
    d.train_norms = d.train_q4 = d.train_q8 = false;
    d.train_codes = codes;
    d.train_codebook = true;
    d.codebook_learning_rate = 0.03;
    absl::StatusOr<DistillReport> report = DistillStoredTensors(teacher, sequences, d, &trained, {});
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_LT(report->kl_after, 0.5 * report->kl_before)
        << report->kl_before << " -> " << report->kl_after;
    for (size_t i = 0; i < trained.size(); ++i) {
      if (trained[i].layout != Layout::Q4_R16_G32_CB) continue;
      ASSERT_EQ(trained[i].codebook.size(), kQ4CodebookEntries);
      for (size_t k = 0; k < kQ4CodebookEntries; ++k) {
        EXPECT_GE(trained[i].codebook[k], -kQ4CodebookMax) << trained[i].name;
        if (k > 0) EXPECT_LE(trained[i].codebook[k - 1], trained[i].codebook[k]) << trained[i].name;
      }
      if (codes) continue;
      // Without code training the nibbles (bytes [0, 256) of every 288-byte block) stay.
      for (size_t b = 0; b < trained[i].data.size(); b += kQ4R16SymBlockBytes) {
        ASSERT_TRUE(std::equal(trained[i].data.begin() + b,
                               trained[i].data.begin() + b + kQ4R16ScalesOffset,
                               tensors[i].data.begin() + b))
            << trained[i].name;
      }
    }
    if (!codes) {
      EXPECT_EQ(report->parameters, 15u * kQ4CodebookEntries);
      EXPECT_LT(distance(trained), 0.1 * before) << distance(trained);
    }
    // The stored file gives kl_after.
    absl::StatusOr<DistillModel> tuned = DistillModel::Create(teacher.config, trained, DistillOptions{});
    ASSERT_TRUE(tuned.ok()) << tuned.status();
    double total = 0.0;
    for (const auto& s : sequences) {
      const std::vector<float> logits = TeacherLogits(teacher, s);
      total += *tuned->LossAndGradient(tuned->initial_values(), s.data(), s.size(), logits.data(),
                                       nullptr);
    }
    EXPECT_NEAR(total / sequences.size(), report->kl_after, 1e-9);
  }
}

// Qwen2's q/k/v biases are applied in every pass (the model equals its f32 teacher: KL 0)
// and never tuned (only the norm weights are values).
TEST(DistillTest, Qwen2BiasesAreAppliedAndFrozen) {
  SourceModel source = TinySource(5);
  source.config.attention_bias = true;
  std::mt19937 rng(6);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    for (const auto& [name, n] : {std::make_pair(names::kBq, 64), std::make_pair(names::kBk, 32),
                                  std::make_pair(names::kBv, 32)}) {
      SourceTensor t;
      t.name = p + name;
      t.shape = {static_cast<uint64_t>(n)};
      for (int i = 0; i < n; ++i) t.data.push_back(normal(rng));
      source.tensors.push_back(std::move(t));
    }
  }
  const std::vector<KiteTensor> tensors = Convert(source, ConvertOptions{});  // all f32
  DistillOptions d;
  absl::StatusOr<DistillModel> model = DistillModel::Create(source.config, tensors, d, &source);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->initial_values().size(), 2u * 2 * 64 + 64);  // the norms only
  const std::vector<int32_t> tokens = RandomSequences(1, 12, 3)[0];
  const std::vector<float> teacher = TeacherLogits(source, tokens);
  std::vector<double> grad;
  absl::StatusOr<double> kl =
      model->LossAndGradient(model->initial_values(), tokens.data(), tokens.size(),
                             teacher.data(), &grad);
  ASSERT_TRUE(kl.ok()) << kl.status();
  EXPECT_LT(*kl, 1e-6);
  // Without the biases the teacher is far from the model.
  SourceModel plain = source;
  for (SourceTensor& t : plain.tensors) {
    if (t.shape.size() == 1 && t.name.find("attention.b") != std::string::npos) {
      std::fill(t.data.begin(), t.data.end(), 0.0f);
    }
  }
  const std::vector<float> plain_teacher = TeacherLogits(plain, tokens);
  kl = model->LossAndGradient(model->initial_values(), tokens.data(), tokens.size(),
                              plain_teacher.data(), nullptr);
  ASSERT_TRUE(kl.ok()) << kl.status();
  EXPECT_GT(*kl, 1e-3);
}

TEST(DistillTest, RejectsUnusableInput) {
  const SourceModel source = TinySource(4);
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  std::vector<KiteTensor> tensors = Convert(source, options);
  const std::vector<std::vector<int32_t>> too_short = {{1}};
  EXPECT_FALSE(DistillStoredTensors(source, too_short, DistillOptions{}, &tensors, nullptr).ok());
  const std::vector<std::vector<int32_t>> bad_token = {{1, 32}};
  EXPECT_FALSE(DistillStoredTensors(source, bad_token, DistillOptions{}, &tensors, nullptr).ok());
  std::vector<KiteTensor> missing = tensors;
  missing.pop_back();
  EXPECT_FALSE(DistillModel::Create(source.config, missing, DistillOptions{}).ok());
}

}  // namespace
}  // namespace kite::convert
