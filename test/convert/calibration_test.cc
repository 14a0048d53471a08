// Calibration statistics, calibration text tokenization, whole-model pruning and the
// mixed-precision choice, on hand-made inputs and on stories260K.
#include "tools/convert/compress/calibration.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "test/common/test_paths.h"
#include "tools/convert/compress/compress_model.h"
#include "tools/convert/source/llama2c_checkpoint.h"
#include "tools/convert/tokenizer/llama2c_tokenizer.h"
#include "tools/convert/compress/prune.h"

namespace kite::convert {
namespace {

SourceModel Stories260K() {
  absl::StatusOr<SourceModel> m = ReadLlama2cCheckpoint(kite::test::SharedModel("stories260K.bin"));
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : SourceModel{};
}

TokenizerTables Tok512() {
  absl::StatusOr<TokenizerTables> t = ReadLlama2cTokenizer(kite::test::SharedModel("tok512.bin"), 512);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return {};
  t->Finalize();
  return std::move(*t);
}

const SourceTensor* Find(const SourceModel& m, const std::string& name) {
  for (const SourceTensor& t : m.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST(CalibrationStats, AccumulatesXtXAndSharesRepeatedInputs) {
  CalibrationStats stats;
  const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};  // 2 tokens x 2 columns
  const float other[4] = {1.0f, 0.0f, 0.0f, 1.0f};
  stats.OnLinearInput("a", x, 2, 2);
  stats.OnLinearInput("b", x, 2, 2);  // same input as "a": shares its accumulator
  stats.OnLinearInput("c", other, 2, 2);
  const LinearInputStats* a = stats.Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(stats.Find("b"), a);
  EXPECT_EQ(stats.Find("missing"), nullptr);
  EXPECT_EQ(a->tokens, 2u);
  EXPECT_EQ(a->xtx, (std::vector<double>{10.0, 14.0, 14.0, 20.0}));
  const std::vector<float> norms = a->ColumnNorms();
  EXPECT_FLOAT_EQ(norms[0], std::sqrt(10.0f));
  EXPECT_FLOAT_EQ(norms[1], std::sqrt(20.0f));
  EXPECT_EQ(stats.Find("c")->xtx, (std::vector<double>{1.0, 0.0, 0.0, 1.0}));
  // A second pass counts every input once more.
  stats.OnLinearInput("a", x, 2, 2);
  stats.OnLinearInput("b", x, 2, 2);
  EXPECT_EQ(a->tokens, 4u);
  EXPECT_EQ(a->xtx, (std::vector<double>{20.0, 28.0, 28.0, 40.0}));
  EXPECT_EQ(stats.size(), 3u);
}

TEST(TokenizeCalibrationText, DocumentsWindowsAndCap) {
  const TokenizerTables tok = Tok512();
  const std::string text = "Once upon a time, there was a cat.\n\n\nThe dog ran home.\n";
  auto all = TokenizeCalibrationText(text, tok, 512, 1000);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0][0], tok.bos_id);
  EXPECT_EQ((*all)[1][0], tok.bos_id);
  const size_t first = (*all)[0].size();
  ASSERT_GT(first, 4u);

  auto windows = TokenizeCalibrationText(text, tok, 4, 1000);
  ASSERT_TRUE(windows.ok());
  for (const auto& seq : *windows) EXPECT_LE(seq.size(), 4u);
  EXPECT_EQ((*windows)[0], std::vector<int32_t>((*all)[0].begin(), (*all)[0].begin() + 4));

  auto capped = TokenizeCalibrationText(text, tok, 512, first + 3);
  ASSERT_TRUE(capped.ok());
  ASSERT_EQ(capped->size(), 2u);
  EXPECT_EQ((*capped)[1].size(), 3u);

  EXPECT_FALSE(TokenizeCalibrationText("\n\n\n", tok, 512, 100).ok());
  EXPECT_FALSE(TokenizeCalibrationText(text, tok, 0, 100).ok());
  EXPECT_FALSE(TokenizeCalibrationText(text, tok, 512, 0).ok());
}

TEST(Calibrate, Stories260KHasEveryLinearInput) {
  const SourceModel model = Stories260K();
  const TokenizerTables tok = Tok512();
  auto seqs = TokenizeCalibrationText("Once upon a time, there was a girl.\n\nTom saw a dog.",
                                      tok, 512, 1000);
  ASSERT_TRUE(seqs.ok());
  size_t tokens = 0;
  for (const auto& s : *seqs) tokens += s.size();
  auto stats = Calibrate(model, *seqs);
  ASSERT_TRUE(stats.ok()) << stats.status();
  // 5 layers x 7 matrices, plus the (tied) head under "tok_embeddings".
  EXPECT_EQ(stats->size(), 36u);
  const LinearInputStats* wq = stats->Find("layers.2.attention.wq");
  ASSERT_NE(wq, nullptr);
  EXPECT_EQ(stats->Find("layers.2.attention.wv"), wq);
  EXPECT_NE(stats->Find("layers.2.attention.wo"), wq);
  EXPECT_EQ(stats->Find("layers.2.feed_forward.w1"), stats->Find("layers.2.feed_forward.w3"));
  EXPECT_EQ(wq->tokens, tokens);
  EXPECT_EQ(stats->Find("layers.0.feed_forward.w2")->cols, model.config.hidden_dim);
  for (size_t j = 0; j < wq->cols; ++j) {
    EXPECT_GT(wq->xtx[j * wq->cols + j], 0.0);
    for (size_t k = 0; k < j; ++k) EXPECT_EQ(wq->xtx[j * wq->cols + k], wq->xtx[k * wq->cols + j]);
  }
}

TEST(PruneModel, MethodsOnStories260K) {
  SourceModel magnitude = Stories260K();
  const std::vector<float> embedding = Find(magnitude, "tok_embeddings")->data;
  auto zeros = PruneModel(&magnitude, PruneMethod::kMagnitude, 0.5f, nullptr);
  ASSERT_TRUE(zeros.ok()) << zeros.status();
  EXPECT_DOUBLE_EQ(*zeros, 0.5);  // every row has an even width
  EXPECT_EQ(Find(magnitude, "tok_embeddings")->data, embedding);

  SourceModel two_four = Stories260K();
  ASSERT_TRUE(PruneModel(&two_four, PruneMethod::k24, 0.5f, nullptr).ok());
  for (const SourceTensor& t : two_four.tensors) {
    if (IsPrunableWeight(t.name, t.shape)) {
      EXPECT_TRUE(Is24Sparse(t.data.data(), t.shape[0], t.shape[1])) << t.name;
    }
  }

  SourceModel wanda = Stories260K();
  EXPECT_FALSE(PruneModel(&wanda, PruneMethod::kWanda, 0.5f, nullptr).ok());
  const TokenizerTables tok = Tok512();
  auto seqs = TokenizeCalibrationText("Once upon a time, there was a girl named Lily.", tok, 512, 100);
  ASSERT_TRUE(seqs.ok());
  auto stats = Calibrate(wanda, *seqs);
  ASSERT_TRUE(stats.ok());
  SourceModel compensated = wanda;
  ASSERT_TRUE(PruneModel(&wanda, PruneMethod::kWanda, 0.5f, &*stats).ok());
  ASSERT_TRUE(PruneModel(&compensated, PruneMethod::kWanda, 0.5f, &*stats, true).ok());
  // Same mask; the compensated model's kept weights moved.
  SourceModel sparsegpt = Stories260K();
  EXPECT_FALSE(PruneModel(&sparsegpt, PruneMethod::k24SparseGpt, 0.5f, nullptr).ok());
  ASSERT_TRUE(PruneModel(&sparsegpt, PruneMethod::k24SparseGpt, 0.5f, &*stats).ok());
  for (const SourceTensor& t : sparsegpt.tensors) {
    if (IsPrunableWeight(t.name, t.shape)) {
      EXPECT_TRUE(Is24Sparse(t.data.data(), t.shape[0], t.shape[1])) << t.name;
    }
  }
  const SourceTensor* a = Find(wanda, "layers.1.feed_forward.w2");
  const SourceTensor* b = Find(compensated, "layers.1.feed_forward.w2");
  size_t moved = 0;
  for (size_t i = 0; i < a->data.size(); ++i) {
    EXPECT_EQ(a->data[i] == 0.0f, b->data[i] == 0.0f) << i;
    moved += a->data[i] != b->data[i];
  }
  EXPECT_GT(moved, a->data.size() / 4);
}

// A short calibration text for the budget tests.
absl::StatusOr<std::vector<std::vector<int32_t>>> BudgetSequences() {
  return TokenizeCalibrationText("Once upon a time, there was a girl named Lily. She liked "
                                 "to play in the park with her dog.", Tok512(), 512, 100);
}

// q4 options with nothing kept at 8 bits.
ConvertOptions AllFourBit() {
  ConvertOptions options;
  options.quant = QuantMode::kQ4;
  options.keep_8bit.clear();
  return options;
}

TEST(ChooseMixedPrecision, RespectsTheBudget) {
  const SourceModel model = Stories260K();
  const auto seqs = BudgetSequences();
  ASSERT_TRUE(seqs.ok());
  ConvertOptions options = AllFourBit();
  uint64_t parameters = 0;
  for (const SourceTensor& t : model.tensors) parameters += t.elements();

  EXPECT_FALSE(ChooseMixedPrecision(model, options, *seqs, 4.0).ok());  // below all-4-bit
  auto rows = ChooseMixedPrecision(model, options, *seqs, 5.6);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 36u);
  uint64_t bytes = 0;
  size_t chosen = 0;
  for (const SourceTensor& t : model.tensors) {
    if (t.shape.size() != 2) bytes += 4 * t.elements();
  }
  for (const TensorSensitivity& r : *rows) {
    EXPECT_GT(r.kl_q4, r.kl_q8) << r.name;
    EXPECT_GT(r.bytes_q8, r.bytes_q4) << r.name;
    bytes += r.bytes(r.chosen);
    chosen += r.chosen == Precision::kQ8;
  }
  EXPECT_LE(8.0 * static_cast<double>(bytes) / static_cast<double>(parameters), 5.6);
  EXPECT_GT(chosen, 0u);
  EXPECT_LT(chosen, rows->size());

  options.keep_8bit = {"tok_embeddings"};
  rows = ChooseMixedPrecision(model, options, *seqs, 5.8);
  ASSERT_TRUE(rows.ok()) << rows.status();
  for (const TensorSensitivity& r : *rows) {
    if (r.name == "tok_embeddings") EXPECT_TRUE(r.forced_8bit && r.chosen == Precision::kQ8);
  }
}

// Below the all-4-bit size (4.73 bits/weight offset-free on this model, whose 172-wide rows
// pad) the budget stores the least sensitive tensors in groups of 64 and keeps the rest.
TEST(ChooseMixedPrecision, CoarseGroupsFitABudgetBelowAllFourBit) {
  const SourceModel model = Stories260K();
  const auto seqs = BudgetSequences();
  ASSERT_TRUE(seqs.ok());
  ConvertOptions options = AllFourBit();
  options.q4_asymmetric = false;
  options.q4_offset_free = true;
  uint64_t parameters = 0, fixed = 0;
  for (const SourceTensor& t : model.tensors) {
    parameters += t.elements();
    if (t.shape.size() != 2) fixed += 4 * t.elements();
  }
  const absl::StatusOr<std::vector<TensorSensitivity>> too_small =
      ChooseMixedPrecision(model, options, *seqs, 4.0);
  ASSERT_FALSE(too_small.ok());
  EXPECT_TRUE(absl::StrContains(too_small.status().message(), "in groups of 64"))
      << too_small.status();
  auto rows = ChooseMixedPrecision(model, options, *seqs, 4.5, {}, /*threads=*/2);
  ASSERT_TRUE(rows.ok()) << rows.status();
  // One thread measures the same.
  size_t calls = 0;
  auto serial = ChooseMixedPrecision(
      model, options, *seqs, 4.5, [&](const std::string&, size_t, size_t) { ++calls; }, 1);
  ASSERT_TRUE(serial.ok()) << serial.status();
  EXPECT_EQ(calls, 3 * rows->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].kl_q4, (*serial)[i].kl_q4) << (*rows)[i].name;
    EXPECT_EQ((*rows)[i].kl_coarse, (*serial)[i].kl_coarse) << (*rows)[i].name;
    EXPECT_EQ((*rows)[i].chosen, (*serial)[i].chosen) << (*rows)[i].name;
  }
  uint64_t bytes = fixed;
  size_t coarse = 0, q4 = 0;
  for (const TensorSensitivity& r : *rows) {
    EXPECT_EQ(r.coarse_group_size, 64u) << r.name;
    EXPECT_LT(r.bytes_coarse, r.bytes_q4) << r.name;
    bytes += r.bytes(r.chosen);
    coarse += r.chosen == Precision::kQ4Coarse;
    q4 += r.chosen == Precision::kQ4;
  }
  EXPECT_LE(8.0 * static_cast<double>(bytes) / static_cast<double>(parameters), 4.5);
  EXPECT_GT(coarse, 0u);
  EXPECT_GT(q4, 0u);
  // The choice converts to that many bytes.
  for (const TensorSensitivity& r : *rows) {
    if (r.chosen == Precision::kQ4Coarse) {
      options.group_size_for.emplace_back(r.name, r.coarse_group_size);
    }
  }
  SourceModel copy = model;
  absl::StatusOr<std::vector<KiteTensor>> tensors = ConvertTensors(&copy, options, nullptr);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  uint64_t converted = 0;
  for (const KiteTensor& t : *tensors) converted += t.data.size() + t.scales.size() + t.mins.size();
  EXPECT_EQ(converted, bytes);
}

// With bpw_q3, a budget below every 4-bit file (4.0 bits/weight) fits: the least sensitive
// matrices go to 3 bits, the choice stays within the budget and converts to that many bytes;
// without it the same budget is refused.
TEST(ChooseMixedPrecision, ThreeBitGroupsFitBelowEveryFourBitFile) {
  const SourceModel model = Stories260K();
  const auto seqs = BudgetSequences();
  ASSERT_TRUE(seqs.ok());
  ConvertOptions options = AllFourBit();
  options.q4_asymmetric = false;
  options.q4_offset_free = true;
  options.bpw_q3 = true;
  uint64_t parameters = 0, fixed = 0;
  for (const SourceTensor& t : model.tensors) {
    parameters += t.elements();
    if (t.shape.size() != 2) fixed += 4 * t.elements();
  }
  EXPECT_FALSE(ChooseMixedPrecision(model, options, *seqs, 3.0).ok());  // below all-3-bit
  auto rows = ChooseMixedPrecision(model, options, *seqs, 4.0, {}, /*threads=*/2);
  ASSERT_TRUE(rows.ok()) << rows.status();
  uint64_t bytes = fixed;
  size_t q3 = 0;
  double kl_q3 = 0.0, kl_q4 = 0.0;
  for (const TensorSensitivity& r : *rows) {
    EXPECT_LT(r.bytes_q3, r.bytes_q4) << r.name;
    kl_q3 += r.kl_q3;
    kl_q4 += r.kl_q4;
    bytes += r.bytes(r.chosen);
    q3 += r.chosen == Precision::kQ3;
    if (r.chosen == Precision::kQ3) options.q3.push_back(r.name);
    if (r.chosen == Precision::kQ8) options.keep_8bit.push_back(r.name);
    if (r.chosen == Precision::kQ4Coarse) {
      options.group_size_for.emplace_back(r.name, r.coarse_group_size);
    }
  }
  EXPECT_GT(kl_q3, kl_q4);  // 3 bits cost more than 4, summed over the matrices
  EXPECT_LE(8.0 * static_cast<double>(bytes) / static_cast<double>(parameters), 4.0);
  EXPECT_GT(q3, 0u);
  EXPECT_LT(q3, rows->size());
  EXPECT_GT((*rows)[0].kl_choice_q3_per_byte, 0.0);
  EXPECT_EQ((*rows)[0].kl_choice_per_byte, 0.0);  // no 4-bit start fits
  EXPECT_NE(FormatSensitivities(*rows).find("q3"), std::string::npos);
  SourceModel copy = model;
  absl::StatusOr<std::vector<KiteTensor>> tensors = ConvertTensors(&copy, options, nullptr);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  uint64_t converted = 0;
  size_t q3_layout = 0;
  for (const KiteTensor& t : *tensors) {
    converted += t.data.size() + t.scales.size() + t.mins.size();
    q3_layout += t.layout == Layout::Q3_R16_G32;
  }
  EXPECT_EQ(converted, bytes);
  EXPECT_EQ(q3_layout, q3);
}

}  // namespace
}  // namespace kite::convert
