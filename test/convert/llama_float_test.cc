// The host float Llama forward reproduces llama2.c's goldens on stories260K, reports every
// linear layer's input, and its backward pass agrees with central finite differences.
#include "tools/convert/compress/llama_float.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"
#include "tools/convert/source/llama2c_checkpoint.h"

namespace kite::convert {
namespace {

const SourceModel& Stories260K() {
  static const SourceModel* model = [] {
    absl::StatusOr<SourceModel> m =
        ReadLlama2cCheckpoint(kite::test::SharedModel("stories260K.bin"));
    EXPECT_TRUE(m.ok()) << m.status();
    return new SourceModel(m.ok() ? std::move(*m) : SourceModel{});
  }();
  return *model;
}

class GoldenForwardTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenForwardTest, FirstLogitsAndGreedyIdsMatch) {
  const kite::json::Value json =
      kite::test::LoadJson(kite::test::SharedModel(std::string("goldens/") + GetParam()));
  std::vector<int64_t> prompt, generated;
  std::vector<double> first_logits;
  ASSERT_TRUE(kite::test::JsonIntArray(json, "prompt_token_ids", &prompt));
  ASSERT_TRUE(kite::test::JsonIntArray(json, "generated_token_ids", &generated));
  ASSERT_TRUE(kite::test::JsonNumberArray(json, "first_step_logits", &first_logits));
  const SourceModel& m = Stories260K();
  const size_t vocab = m.config.vocab_size;
  ASSERT_EQ(first_logits.size(), vocab);

  std::vector<int32_t> tokens(prompt.begin(), prompt.end());
  std::vector<float> logits(tokens.size() * vocab);
  ASSERT_TRUE(ForwardFloat(m, tokens.data(), tokens.size(), logits.data(), nullptr).ok());
  const float* last = logits.data() + (tokens.size() - 1) * vocab;
  double worst = 0.0;
  for (size_t i = 0; i < vocab; ++i) worst = std::max(worst, std::fabs(last[i] - first_logits[i]));
  EXPECT_LT(worst, 1e-4);

  // Greedy continuation, re-running the whole sequence each step.
  for (size_t k = 0; k < generated.size(); ++k) {
    logits.resize(tokens.size() * vocab);
    ASSERT_TRUE(ForwardFloat(m, tokens.data(), tokens.size(), logits.data(), nullptr).ok());
    const float* row = logits.data() + (tokens.size() - 1) * vocab;
    const int32_t next = static_cast<int32_t>(std::max_element(row, row + vocab) - row);
    ASSERT_EQ(next, generated[k]) << "step " << k;
    tokens.push_back(next);
  }
}

INSTANTIATE_TEST_SUITE_P(Goldens, GoldenForwardTest,
                         ::testing::Values("stories260K-greedy-once_upon_a_time.json",
                                           "stories260K-greedy-the_little_dog.json"));

// Records the shape of every captured input and a copy of the first one.
class Recorder : public LinearCapture {
 public:
  void OnLinearInput(const std::string& name, const float* x, size_t tokens,
                     size_t cols) override {
    order.push_back(name);
    shapes[name] = {tokens, cols};
    if (first.empty()) first.assign(x, x + tokens * cols);
  }
  std::vector<std::string> order;
  std::map<std::string, std::pair<size_t, size_t>> shapes;
  std::vector<float> first;
};

TEST(LlamaFloatTest, CaptureSeesEveryLinearInput) {
  const SourceModel& m = Stories260K();
  const SourceConfig& c = m.config;
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378};
  Recorder rec;
  ASSERT_TRUE(ForwardFloat(m, tokens.data(), tokens.size(), nullptr, &rec).ok());
  ASSERT_EQ(rec.order.size(), 7u * c.n_layers + 1);
  EXPECT_EQ(rec.order[0], "layers.0.attention.wq");
  EXPECT_EQ(rec.order[3], "layers.0.attention.wo");
  EXPECT_EQ(rec.order.back(), "tok_embeddings");  // tied head
  EXPECT_EQ(rec.shapes["layers.4.attention.wo"], std::make_pair(tokens.size(), size_t{c.dim}));
  EXPECT_EQ(rec.shapes["layers.2.feed_forward.w2"],
            std::make_pair(tokens.size(), size_t{c.hidden_dim}));
  EXPECT_EQ(rec.shapes["layers.2.feed_forward.w3"], std::make_pair(tokens.size(), size_t{c.dim}));

  // Layer 0's wq input is the attention RMSNorm of the embeddings.
  const LlamaWeights w = *LlamaWeightsOf(m);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const float* e = w.tok_embeddings + static_cast<size_t>(tokens[t]) * c.dim;
    double ss = 0.0;
    for (size_t i = 0; i < c.dim; ++i) ss += double{e[i]} * e[i];
    const double inv = 1.0 / std::sqrt(ss / c.dim + 1e-5);
    for (size_t i = 0; i < c.dim; ++i) {
      EXPECT_NEAR(rec.first[t * c.dim + i], w.layers[0].attention_norm[i] * e[i] * inv, 1e-5);
    }
  }
}

TEST(LlamaFloatTest, RejectsBadInput) {
  const SourceModel& m = Stories260K();
  const int32_t bad[] = {1, 512};
  std::vector<float> logits(2 * 512);
  EXPECT_FALSE(ForwardFloat(m, bad, 2, logits.data(), nullptr).ok());
  EXPECT_FALSE(ForwardFloat(m, bad, 0, logits.data(), nullptr).ok());
  SourceModel missing = m;
  missing.tensors.pop_back();  // "norm"
  EXPECT_FALSE(LlamaWeightsOf(missing).ok());
}

// A tiny random model in double, owning its weights; with q/k/v biases when `bias`.
struct TinyModel {
  SourceConfig config;
  std::vector<double> emb, norm, output;
  struct Layer {
    std::vector<double> an, wq, wk, wv, wo, fn, w1, w2, w3, bq, bk, bv;
  };
  std::vector<Layer> layers;

  explicit TinyModel(bool tied, bool bias = false) {
    config.dim = 16;
    config.hidden_dim = 24;
    config.n_layers = 2;
    config.n_heads = 4;
    config.n_kv_heads = 2;
    config.head_dim = 4;
    config.vocab_size = 32;
    config.tied_embeddings = tied;
    config.attention_bias = bias;
    std::mt19937 rng(7);
    std::normal_distribution<double> normal(0.0, 0.4);
    auto fill = [&](std::vector<double>* v, size_t n, double mean) {
      v->resize(n);
      for (double& x : *v) x = mean + normal(rng);
    };
    const size_t d = 16, h = 24, q = 16, kv = 8, V = 32;
    fill(&emb, V * d, 0.0);
    fill(&norm, d, 1.0);
    if (!tied) fill(&output, V * d, 0.0);
    layers.resize(2);
    for (Layer& L : layers) {
      fill(&L.an, d, 1.0);
      fill(&L.wq, q * d, 0.0);
      fill(&L.wk, kv * d, 0.0);
      fill(&L.wv, kv * d, 0.0);
      fill(&L.wo, d * q, 0.0);
      fill(&L.fn, d, 1.0);
      fill(&L.w1, h * d, 0.0);
      fill(&L.w2, d * h, 0.0);
      fill(&L.w3, h * d, 0.0);
      if (bias) {
        fill(&L.bq, q, 0.0);
        fill(&L.bk, kv, 0.0);
        fill(&L.bv, kv, 0.0);
      }
    }
  }

  LlamaWeightsT<double> View() const {
    LlamaWeightsT<double> w;
    w.config = config;
    w.tok_embeddings = emb.data();
    w.norm = norm.data();
    w.output = config.tied_embeddings ? emb.data() : output.data();
    for (const Layer& L : layers) {
      w.layers.push_back({L.an.data(), L.wq.data(), L.wk.data(), L.wv.data(), L.wo.data(),
                          L.fn.data(), L.w1.data(), L.w2.data(), L.w3.data()});
      if (config.attention_bias) {
        w.layers.back().bq = L.bq.data();
        w.layers.back().bk = L.bk.data();
        w.layers.back().bv = L.bv.data();
      }
    }
    return w;
  }
};

double Loss(const TinyModel& m, const std::vector<int32_t>& tokens,
            const std::vector<double>& teacher) {
  std::vector<double> logits(tokens.size() * m.config.vocab_size);
  EXPECT_TRUE(ForwardFloat<double>(m.View(), tokens.data(), tokens.size(), logits.data(), nullptr,
                                   nullptr)
                  .ok());
  return MeanKlDivergence<double>(teacher.data(), logits.data(), tokens.size(),
                                  m.config.vocab_size, nullptr);
}

void CheckGradients(bool tied, bool bias = false) {
  TinyModel m(tied, bias);
  const std::vector<int32_t> tokens = {3, 17, 0, 31, 17, 9, 22, 5, 3};
  const size_t T = tokens.size(), V = m.config.vocab_size;
  std::mt19937 rng(11);
  std::normal_distribution<double> normal(0.0, 2.0);
  std::vector<double> teacher(T * V);
  for (double& x : teacher) x = normal(rng);

  std::vector<double> logits(T * V), dlogits(T * V);
  LlamaTapeT<double> tape;
  const LlamaWeightsT<double> view = m.View();
  ASSERT_TRUE(ForwardFloat<double>(view, tokens.data(), T, logits.data(), nullptr, &tape).ok());
  const double loss = MeanKlDivergence<double>(teacher.data(), logits.data(), T, V, dlogits.data());
  EXPECT_NEAR(loss, Loss(m, tokens, teacher), 1e-12);
  LlamaGradsT<double> g;
  g.Reset(m.config);
  BackwardFloat<double>(view, tape, dlogits.data(), &g);

  // Every tensor, a few elements each (all of each norm vector).
  struct Param {
    std::string what;
    std::vector<double>* value;
    const std::vector<double>* grad;
  };
  std::vector<Param> params = {{"emb", &m.emb, &g.tok_embeddings}, {"norm", &m.norm, &g.norm}};
  if (!tied) params.push_back({"output", &m.output, &g.output});
  for (size_t l = 0; l < m.layers.size(); ++l) {
    TinyModel::Layer& L = m.layers[l];
    const auto& G = g.layers[l];
    const std::string p = "layer" + std::to_string(l) + ".";
    params.insert(params.end(), {{p + "attention_norm", &L.an, &G.attention_norm},
                                 {p + "wq", &L.wq, &G.wq},
                                 {p + "wk", &L.wk, &G.wk},
                                 {p + "wv", &L.wv, &G.wv},
                                 {p + "wo", &L.wo, &G.wo},
                                 {p + "ffn_norm", &L.fn, &G.ffn_norm},
                                 {p + "w1", &L.w1, &G.w1},
                                 {p + "w2", &L.w2, &G.w2},
                                 {p + "w3", &L.w3, &G.w3}});
    if (bias) {
      params.insert(params.end(), {{p + "bq", &L.bq, &G.bq},
                                   {p + "bk", &L.bk, &G.bk},
                                   {p + "bv", &L.bv, &G.bv}});
    }
  }
  const double h = 1e-5;
  size_t checked = 0;
  for (const Param& p : params) {
    ASSERT_EQ(p.value->size(), p.grad->size()) << p.what;
    const size_t n = p.value->size();
    const size_t step = n <= 16 ? 1 : n / 13;
    for (size_t i = 0; i < n; i += step) {
      const double saved = (*p.value)[i];
      (*p.value)[i] = saved + h;
      const double up = Loss(m, tokens, teacher);
      (*p.value)[i] = saved - h;
      const double down = Loss(m, tokens, teacher);
      (*p.value)[i] = saved;
      const double numeric = (up - down) / (2 * h);
      const double analytic = (*p.grad)[i];
      EXPECT_LE(std::fabs(numeric - analytic),
                1e-3 * std::max(std::fabs(numeric), std::fabs(analytic)) + 1e-9)
          << p.what << "[" << i << "]: numeric " << numeric << " analytic " << analytic;
      ++checked;
    }
  }
  EXPECT_GT(checked, 200u);
  // The gradient is not trivially zero.
  double norm2 = 0.0;
  for (double x : g.layers[0].wq) norm2 += x * x;
  EXPECT_GT(norm2, 1e-8);
}

TEST(LlamaFloatTest, GradientsMatchFiniteDifferencesTied) { CheckGradients(true); }
TEST(LlamaFloatTest, GradientsMatchFiniteDifferencesUntied) { CheckGradients(false); }
TEST(LlamaFloatTest, GradientsMatchFiniteDifferencesWithBiases) { CheckGradients(false, true); }

// The q/k/v biases change the logits, and weights that disagree with the config about
// them are refused.
TEST(LlamaFloatTest, BiasesAreAppliedAndChecked) {
  const TinyModel m(/*tied=*/true, /*bias=*/true);
  const std::vector<int32_t> tokens = {3, 17, 0, 31, 17};
  const size_t V = m.config.vocab_size;
  std::vector<double> with(tokens.size() * V), without(tokens.size() * V);
  ASSERT_TRUE(ForwardFloat<double>(m.View(), tokens.data(), tokens.size(), with.data(), nullptr,
                                   nullptr)
                  .ok());
  TinyModel zero = m;
  for (TinyModel::Layer& L : zero.layers) {
    for (auto* b : {&L.bq, &L.bk, &L.bv}) std::fill(b->begin(), b->end(), 0.0);
  }
  ASSERT_TRUE(ForwardFloat<double>(zero.View(), tokens.data(), tokens.size(), without.data(),
                                   nullptr, nullptr)
                  .ok());
  double worst = 0.0;
  for (size_t i = 0; i < with.size(); ++i) worst = std::max(worst, std::fabs(with[i] - without[i]));
  EXPECT_GT(worst, 1e-2);

  LlamaWeightsT<double> missing = m.View();
  missing.layers[1].bk = nullptr;
  EXPECT_FALSE(ForwardFloat<double>(missing, tokens.data(), tokens.size(), with.data(), nullptr,
                                    nullptr)
                   .ok());
  LlamaWeightsT<double> extra = TinyModel(true).View();
  extra.layers[0].bq = m.layers[0].bq.data();
  EXPECT_FALSE(ForwardFloat<double>(extra, tokens.data(), tokens.size(), with.data(), nullptr,
                                    nullptr)
                   .ok());
}

TEST(LlamaFloatTest, KlOfEqualLogitsIsZeroAndKnownOtherwise) {
  const std::vector<double> a = {0.0, 0.0};
  const std::vector<double> b = {std::log(3.0), 0.0};  // Q = (3/4, 1/4), P = (1/2, 1/2)
  std::vector<double> d(2);
  EXPECT_NEAR(MeanKlDivergence<double>(a.data(), a.data(), 1, 2, d.data()), 0.0, 1e-15);
  const double kl = MeanKlDivergence<double>(a.data(), b.data(), 1, 2, d.data());
  EXPECT_NEAR(kl, 0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(0.5 / 0.25), 1e-12);
  EXPECT_NEAR(d[0], 0.25, 1e-12);
  EXPECT_NEAR(d[1], -0.25, 1e-12);
}

}  // namespace
}  // namespace kite::convert
