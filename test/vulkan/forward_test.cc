// The forward pass on Vulkan (sdk/runtime/vulkan/) against the CPU Transformer on the
// converted stories260K models: the weights on the device byte for byte (direct and through
// a staging buffer, whole and split by row blocks), refusals of encodings the shaders do not
// run, and (below) the forward pass itself.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "platform/file_map.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/runtime/session.h"
#include "sdk/runtime/vulkan/forward.h"
#include "sdk/runtime/vulkan/model_state.h"
#include "test/common/json_fixture.h"
#include "test/common/test_paths.h"

namespace {

using kite::vk_runtime::DeviceTensor;

// The model with the default options: the CPU runs its best kernels for this machine, what
// a user runs (on an AVX-512 machine the variants whose float order the shaders follow).
std::unique_ptr<kite::Model> OpenModel(const std::string& name) {
  kite::Result<kite::FileMap> bytes = kite::FileMap::OpenPath(kite::test::TestModel(name).c_str());
  EXPECT_TRUE(bytes.ok()) << name << ": " << bytes.status().message();
  if (!bytes.ok()) return nullptr;
  auto model = kite::Model::Open(static_cast<kite::FileMap&&>(bytes.value()), kite::ModelOptions{});
  EXPECT_TRUE(model.ok()) << name << ": " << model.status().message();
  if (!model.ok()) return nullptr;
  return std::move(model.value());
}

kite::VulkanModelOptions Options(uint64_t max_binding_bytes = 0, bool force_staging = false) {
  setenv(kite::vulkan::kAllowCpuEnv, "1", 1);
  kite::VulkanModelOptions o;
  o.device = kite::vulkan::DeviceOptionsFromEnvironment();
  o.max_binding_bytes = max_binding_bytes;
  o.force_staging = force_staging;
  return o;
}

// The parts of `t` cover its rows in order and hold the file's bytes (data and scales).
void ExpectTensorOnDevice(const DeviceTensor& t, uint64_t max_binding_bytes) {
  ASSERT_NE(t.view, nullptr);
  SCOPED_TRACE(t.view->name);
  ASSERT_GE(t.part_count, 1u);
  const kite::Encoding& enc = *kite::FindEncoding(t.view->dtype, t.view->layout);
  const uint64_t block_bytes = kite::RowBlockBytes(enc, t.view->cols, t.view->group_size);
  uint32_t row = 0;
  for (uint32_t i = 0; i < t.part_count; ++i) {
    const kite::vk_runtime::TensorPart& p = t.parts[i];
    EXPECT_EQ(p.row_begin, row);
    EXPECT_EQ(p.row_begin % enc.block_rows, 0u);
    ASSERT_NE(p.data, nullptr);
    if (max_binding_bytes != 0) EXPECT_LE(p.data->size(), max_binding_bytes);
    // Device-local memory that is mappable (lavapipe, unified memory) is read back; on a
    // discrete GPU only the layout is checked (the forward tests check the products).
    if (p.data->data() == nullptr) {
      row += p.row_count;
      continue;
    }
    const uint64_t offset = p.row_begin / enc.block_rows * block_bytes;
    uint64_t bytes = (p.row_count + enc.block_rows - 1) / enc.block_rows * block_bytes;
    if (offset + bytes > t.view->data_size) bytes = t.view->data_size - offset;
    EXPECT_EQ(std::memcmp(p.data->data(), static_cast<const char*>(t.view->data) + offset, bytes),
              0);
    if (t.view->dtype == kite::DType::Q8_C) {
      ASSERT_NE(p.scales, nullptr);
      EXPECT_EQ(std::memcmp(p.scales->data(),
                            static_cast<const float*>(t.view->scales) + p.row_begin,
                            p.row_count * 4),
                0);
    }
    if (t.view->layout == kite::Layout::Q4_ROW_GROUPS) {  // scales, then mins
      ASSERT_NE(p.scales, nullptr);
      const uint64_t cells = uint64_t{p.row_count} * t.view->groups();
      const uint64_t first = uint64_t{p.row_begin} * t.view->groups();
      const bool mins = t.view->mins != nullptr;
      ASSERT_EQ(p.scales->size(), cells * 2 * (mins ? 2 : 1));
      const uint16_t* got = static_cast<const uint16_t*>(p.scales->data());
      EXPECT_EQ(std::memcmp(got, static_cast<const uint16_t*>(t.view->scales) + first, cells * 2),
                0);
      if (mins) {
        EXPECT_EQ(std::memcmp(got + cells, static_cast<const uint16_t*>(t.view->mins) + first,
                              cells * 2),
                  0);
      }
    }
    row += p.row_count;
  }
  EXPECT_EQ(row, t.view->rows);
}

void ExpectWeightsOnDevice(const char* file, uint64_t max_binding_bytes, bool force_staging) {
  SCOPED_TRACE(file);
  auto model = OpenModel(file);
  ASSERT_NE(model, nullptr);
  auto vm = kite::VulkanModel::Create(*model, Options(max_binding_bytes, force_staging));
  ASSERT_TRUE(vm.ok()) << vm.status().message();
  const kite::vk_runtime::DeviceWeights& w = *(*vm)->state().weights;
  // Mappable device-local memory is written directly unless staging is forced.
  const bool mappable = w.embedding().parts[0].data->data() != nullptr;
  EXPECT_EQ(w.staged(), force_staging || !mappable);
  ExpectTensorOnDevice(w.embedding(), max_binding_bytes);
  ExpectTensorOnDevice(w.norm(), max_binding_bytes);
  ExpectTensorOnDevice(w.output(), max_binding_bytes);
  if (max_binding_bytes != 0) EXPECT_GT(w.embedding().part_count, 1u);
  for (uint32_t l = 0; l < model->config().n_layers; ++l) {
    const kite::vk_runtime::LayerTensors& t = w.layer(l);
    for (const DeviceTensor* d : {&t.attention_norm, &t.wq, &t.wk, &t.wv, &t.wo, &t.ffn_norm,
                                  &t.w1, &t.w2, &t.w3}) {
      ExpectTensorOnDevice(*d, max_binding_bytes);
    }
  }
}

TEST(VulkanWeights, UploadedDirectly) {
  ExpectWeightsOnDevice("stories260K-f32.kite", 0, false);
  ExpectWeightsOnDevice("stories260K-q4.kite", 0, false);
  ExpectWeightsOnDevice("stories260K-q4sp24.kite", 0, false);
  ExpectWeightsOnDevice("stories260K-q4g64.kite", 0, false);
}

TEST(VulkanWeights, UploadedThroughStaging) {
  ExpectWeightsOnDevice("stories260K-f32.kite", 0, true);
  ExpectWeightsOnDevice("stories260K-q4s.kite", 0, true);
  ExpectWeightsOnDevice("stories260K-q4g128s.kite", 0, true);
}

TEST(VulkanWeights, SplitByRowBlocks) {
  ExpectWeightsOnDevice("stories260K-f32.kite", 1024, true);
  ExpectWeightsOnDevice("stories260K-q4.kite", 2048, false);
  ExpectWeightsOnDevice("stories260K-q4g64.kite", 1024, true);
  ExpectWeightsOnDevice("stories260K-q3emb.kite", 2048, true);
  ExpectWeightsOnDevice("stories260K-q3g64emb.kite", 2048, false);
}

TEST(VulkanWeights, RowBlockAboveTheLimitIsRefused) {
  auto model = OpenModel("stories260K-q4.kite");
  ASSERT_NE(model, nullptr);
  // A 16-row block of a 4-bit matrix 64 wide takes 640 bytes.
  auto vm = kite::VulkanModel::Create(*model, Options(256));
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.status().code(), kite::Error::kUnsupported);
  EXPECT_NE(std::strstr(vm.status().message(), "binding limit"), nullptr) << vm.status().message();
}

// The codebook layout (Q4_R16_G32_CB, --q4-groups codebook) runs on the GPU: the fixture
// has codebook layers (each its own codebook), and the model is placed on the device with
// its codebook ops (its forward pass is a VulkanForwardTest case below).
TEST(VulkanWeights, CodebookLayoutRuns) {
  auto model = OpenModel("stories260K-q4cb.kite");
  ASSERT_NE(model, nullptr);
  const kite::TensorView& wq = model->layer(0).wq;
  const kite::TensorView& wk = model->layer(0).wk;
  ASSERT_EQ(wq.layout, kite::Layout::Q4_R16_G32_CB);
  ASSERT_TRUE(wq.codebook != nullptr && wk.codebook != nullptr);
  EXPECT_NE(std::memcmp(wq.codebook, wk.codebook, kite::kQ4CodebookEntries), 0);
  EXPECT_TRUE(kite::vk_runtime::MatrixEncodingSupported(wq));
  auto vm = kite::VulkanModel::Create(*model, Options());
  ASSERT_TRUE(vm.ok()) << vm.status().message();
  const kite::VulkanModel::State& st = (*vm)->state();
  EXPECT_TRUE(st.q4r16cb_matvec->codebook());
  EXPECT_TRUE(st.q4r16cb_gemm->codebook());
  // kAuto: the integer-dot shader only where the device accelerates it (not lavapipe).
  const kite::vulkan::DeviceFacts& f = st.device->facts();
  EXPECT_EQ(st.q4r16cb_matvec->integer_dot(), f.integer_dot_product && f.integer_dot_accelerated);
}

// A codebook embedding table (--q4-groups codebook --keep-8bit none: the tied table and head
// stored as Q4_R16_G32_CB) is placed on the device, whole and split by row blocks (its
// forward pass is a VulkanForwardTest case below).
TEST(VulkanWeights, CodebookEmbeddingTableRuns) {
  auto model = OpenModel("stories260K-q4cbemb.kite");
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(model->tok_embeddings().layout, kite::Layout::Q4_R16_G32_CB);
  ASSERT_NE(model->tok_embeddings().codebook, nullptr);
  EXPECT_EQ(model->output().layout, kite::Layout::Q4_R16_G32_CB);
  ExpectWeightsOnDevice("stories260K-q4cbemb.kite", 0, false);
  ExpectWeightsOnDevice("stories260K-q4cbemb.kite", 2048, true);
}

// Weights whose import would exceed the largest allocation (a synthetic limit of 4 pages
// here; maxMemoryAllocationSize on a device) are imported in several parts, none above the
// limit (their logits: ImportedAndCopiedWeightsGiveIdenticalLogits). Below one page nothing
// can be imported: kImport fails naming both sizes, kAuto copies.
TEST(VulkanWeights, ImportAboveTheAllocationLimitIsSplitCopiedOrRefused) {
  auto model = OpenModel("stories260K-q4.kite");
  ASSERT_NE(model, nullptr);
  auto probe = kite::VulkanModel::Create(*model, Options());
  ASSERT_TRUE(probe.ok()) << probe.status().message();
  const kite::vulkan::DeviceFacts& facts = (*probe)->state().device->facts();
  if (!facts.external_memory_host) GTEST_SKIP() << "the device cannot import host memory";
  EXPECT_GT(facts.max_memory_allocation_size, 0u);
  kite::VulkanModelOptions o = Options();
  o.max_import_bytes = 4 * facts.min_imported_host_pointer_alignment;  // the weights span more
  o.weights = kite::vk_runtime::WeightPlacement::kImport;
  auto split = kite::VulkanModel::Create(*model, o);
  ASSERT_TRUE(split.ok()) << split.status().message();
  EXPECT_TRUE((*split)->weights_imported());
  const kite::vk_runtime::DeviceWeights& w = *(*split)->state().weights;
  EXPECT_GT(w.import_count(), 1u);
  EXPECT_GT(w.imported_bytes(), w.bytes());
  o.max_import_bytes = 64;  // below one page
  auto refused = kite::VulkanModel::Create(*model, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), kite::Error::kUnsupported);
  const std::string limit = "exceed the largest allocation of " +
                            std::to_string(o.max_import_bytes) + " bytes";
  EXPECT_NE(std::strstr(refused.status().message(), limit.c_str()), nullptr)
      << refused.status().message();
  // kAuto, whatever KITE_VULKAN_IMPORT_WEIGHTS says for the rest of this process.
  const char* env = std::getenv(kite::vk_runtime::kWeightImportEnv);
  const std::string saved = env != nullptr ? env : "";
  unsetenv(kite::vk_runtime::kWeightImportEnv);
  o.weights = kite::vk_runtime::WeightPlacement::kAuto;
  auto copied = kite::VulkanModel::Create(*model, o);
  if (env != nullptr) setenv(kite::vk_runtime::kWeightImportEnv, saved.c_str(), 1);
  ASSERT_TRUE(copied.ok()) << copied.status().message();
  EXPECT_FALSE((*copied)->weights_imported());
  EXPECT_EQ((*copied)->state().weights->imported_bytes(), 0u);
}

// The Q4_ROW_GROUPS fixtures cover what the forward tests below rely on: mins (the
// asymmetric default) in groups of 64, and no mins with groups of 64 and 128 in one model.
TEST(VulkanWeights, RowGroupFixturesHaveMinsAndMixedGroups) {
  auto asym = OpenModel("stories260K-q4g64.kite");
  auto sym = OpenModel("stories260K-q4g128s.kite");
  ASSERT_TRUE(asym != nullptr && sym != nullptr);
  const kite::LayerWeights& a = asym->layer(0);
  EXPECT_EQ(a.wq.layout, kite::Layout::Q4_ROW_GROUPS);
  EXPECT_NE(a.wq.mins, nullptr);
  EXPECT_EQ(a.w2.group_size, 64u);
  const kite::LayerWeights& b = sym->layer(0);
  EXPECT_EQ(b.wq.mins, nullptr);
  EXPECT_EQ(b.wq.group_size, 64u);
  EXPECT_EQ(b.w2.group_size, 128u);
}

// The 3-bit fixtures hold what the forward tests below count on: 3-bit layer matrices next
// to 4-bit ones (q3mix, Q8_C table), and a 3-bit tied embedding table and head (q3emb).
TEST(VulkanWeights, ThreeBitFixturesMixLayouts) {
  auto mix = OpenModel("stories260K-q3mix.kite");
  auto emb = OpenModel("stories260K-q3emb.kite");
  ASSERT_TRUE(mix != nullptr && emb != nullptr);
  EXPECT_EQ(mix->layer(0).w1.layout, kite::Layout::Q3_R16_G32);
  EXPECT_EQ(mix->layer(0).w2.layout, kite::Layout::Q4_R16_G32_SYM);
  EXPECT_EQ(mix->layer(3).w2.layout, kite::Layout::Q3_R16_G32);  // 172 columns: a partial group
  EXPECT_EQ(mix->tok_embeddings().dtype, kite::DType::Q8_C);
  EXPECT_EQ(emb->tok_embeddings().layout, kite::Layout::Q3_R16_G32);
  EXPECT_EQ(emb->output().layout, kite::Layout::Q3_R16_G32);
  EXPECT_EQ(emb->layer(0).wq.layout, kite::Layout::Q3_R16_G32);
  EXPECT_EQ(emb->layer(0).wk.layout, kite::Layout::Q4_R16_G32_SYM);
}

// The 3-bit groups-of-64 fixtures hold what the forward tests below count on: Q3_R16_G64
// layer matrices next to Q3_R16_G32 and 4-bit ones, one of 172 columns (an odd number of
// activation groups: half a column block) and a qkv call mixing both 3-bit layouts
// (q3g64mix), and a Q3_R16_G64 tied embedding table and head (q3g64emb).
TEST(VulkanWeights, ThreeBitGroupsOf64FixturesMixLayouts) {
  auto mix = OpenModel("stories260K-q3g64mix.kite");
  auto emb = OpenModel("stories260K-q3g64emb.kite");
  ASSERT_TRUE(mix != nullptr && emb != nullptr);
  EXPECT_EQ(mix->layer(0).w1.layout, kite::Layout::Q3_R16_G64);
  EXPECT_EQ(mix->layer(3).w2.layout, kite::Layout::Q3_R16_G64);
  EXPECT_EQ(mix->layer(3).w2.cols, 172u);
  EXPECT_EQ(mix->layer(2).wq.layout, kite::Layout::Q3_R16_G64);
  EXPECT_EQ(mix->layer(2).wv.layout, kite::Layout::Q3_R16_G32);
  EXPECT_EQ(mix->layer(2).wk.layout, kite::Layout::Q4_R16_G32_SYM);
  EXPECT_EQ(emb->tok_embeddings().layout, kite::Layout::Q3_R16_G64);
  EXPECT_EQ(emb->output().layout, kite::Layout::Q3_R16_G64);
  EXPECT_EQ(emb->layer(2).wo.layout, kite::Layout::Q3_R16_G32);
  EXPECT_EQ(emb->layer(0).wq.layout, kite::Layout::Q4_R16_G32_SYM);
}

// ---------------------------------------------------------------------------------------
// The forward pass against the CPU.

constexpr uint32_t kMaxContext = 128;
constexpr uint32_t kMaxBatch = 16;
// Greedy tokens after the prompt: the goldens' 64 for the comparison with the CPU, fewer
// where runs are compared with each other (lavapipe takes milliseconds per call).
constexpr int kGenerated = 64;
constexpr int kShortRun = 12;

const char* const kGoldens[] = {"stories260K-greedy-once_upon_a_time.json",
                                "stories260K-greedy-the_little_dog.json"};

struct Golden {
  std::vector<int32_t> prompt, generated;
};

Golden LoadGolden(const char* file) {
  const kite::json::Value json = kite::test::LoadJson(kite::test::SharedModel(std::string("goldens/") + file));
  std::vector<int64_t> prompt, generated;
  EXPECT_TRUE(kite::test::JsonIntArray(json, "prompt_token_ids", &prompt));
  EXPECT_TRUE(kite::test::JsonIntArray(json, "generated_token_ids", &generated));
  Golden g;
  g.prompt.assign(prompt.begin(), prompt.end());
  g.generated.assign(generated.begin(), generated.end());
  return g;
}

// Greedy choice: the largest logit, ties to the lowest id (the goldens' rule).
int32_t Argmax(const float* logits, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

// A greedy run: the generated tokens and the logits before each of them.
struct Greedy {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
};

// Greedy decoding on Vulkan: the prompt in chunks of `chunk` tokens, then one token a call.
// `follow`: feed these tokens instead of the argmax (to compare logits step by step).
Greedy RunVulkan(kite::VulkanForward& f, uint32_t vocab, const std::vector<int32_t>& prompt,
                 uint32_t chunk, int steps, const std::vector<int32_t>* follow = nullptr) {
  Greedy r;
  uint32_t pos = 0;
  for (size_t i = 0; i < prompt.size(); i += chunk) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(chunk, prompt.size() - i));
    const kite::Status s = f.Forward(prompt.data() + i, n, pos, i + n == prompt.size());
    EXPECT_TRUE(s.ok()) << s.message();
    if (!s.ok()) return r;
    pos += n;
  }
  for (int step = 0; step < steps; ++step) {
    r.logits.emplace_back(f.logits(), f.logits() + vocab);
    int32_t next = Argmax(f.logits(), vocab);
    r.tokens.push_back(next);
    if (follow != nullptr) next = (*follow)[step];
    if (step + 1 == steps) break;
    const kite::Status s = f.Forward(&next, 1, pos++, true);
    EXPECT_TRUE(s.ok()) << s.message();
    if (!s.ok()) return r;
  }
  return r;
}

// Greedy decoding on the CPU (a Session with one thread), kGenerated tokens.
Greedy RunCpu(const kite::Model& model, const std::vector<int32_t>& prompt,
              kite::KvType kv_type = kite::KvType::kF32) {
  kite::SessionOptions o;
  o.max_context = kMaxContext;
  o.kv_type = kv_type;
  auto session = kite::Session::Create(&model, o, nullptr, 0);
  EXPECT_TRUE(session.ok()) << session.status().message();
  Greedy r;
  if (!session.ok()) return r;
  kite::Session& s = **session;
  EXPECT_TRUE(s.Feed(prompt.data(), prompt.size(), true).ok());
  const uint32_t vocab = model.config().vocab_size;
  for (int step = 0; step < kGenerated; ++step) {
    r.logits.emplace_back(s.logits(), s.logits() + vocab);
    const int32_t next = Argmax(s.logits(), vocab);
    r.tokens.push_back(next);
    if (step + 1 == kGenerated) break;
    EXPECT_TRUE(s.Feed(&next, 1, true).ok());
  }
  return r;
}

float MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

// The largest MaxDiff of two runs' logits over their common steps.
float WorstStep(const Greedy& a, const Greedy& b) {
  float worst = 0.0f;
  for (size_t i = 0; i < a.logits.size() && i < b.logits.size(); ++i) {
    worst = std::max(worst, MaxDiff(a.logits[i], b.logits[i]));
  }
  return worst;
}

struct ForwardCase {
  const char* file;
  float logit_tolerance;  // max |vulkan - cpu| over every logit of every step
  float int8_kv_tolerance;  // the same with int8 KV caches
  bool matches_golden;    // the f32 model reproduces llama2.c's tokens
  // With int8 KV caches a token may differ from the CPU's where the CPU's own margin
  // between the two tokens is within that step's logit difference (a near-tie resolved the
  // other way; the run then follows the CPU's tokens, so later steps are compared too).
  bool int8_kv_near_ties = false;
  // The same with the f32 cache, on the golden prompts.
  bool golden_near_ties = false;
};

// The Vulkan run (fed the CPU's tokens) picks the CPU's token at every step; with
// `near_ties`, a step may pick another where the CPU's own margin between the two tokens is
// within that step's logit difference (a near-tie resolved the other way).
void ExpectCpuTokens(const Greedy& cpu, const Greedy& gpu, bool near_ties) {
  if (!near_ties) {
    EXPECT_EQ(gpu.tokens, cpu.tokens);
    return;
  }
  ASSERT_EQ(gpu.tokens.size(), cpu.tokens.size());
  for (size_t i = 0; i < cpu.tokens.size(); ++i) {
    if (gpu.tokens[i] == cpu.tokens[i]) continue;
    const float margin = cpu.logits[i][cpu.tokens[i]] - cpu.logits[i][gpu.tokens[i]];
    EXPECT_LE(margin, MaxDiff(cpu.logits[i], gpu.logits[i])) << "step " << i;
  }
}

// Each test's model (the CPU on its best kernels) and its weights on the device.
class VulkanForwardTest : public ::testing::TestWithParam<ForwardCase> {
 protected:
  void SetUp() override {
    model_ = OpenModel(GetParam().file);
    ASSERT_NE(model_, nullptr);
    vocab_ = model_->config().vocab_size;
    auto vm = kite::VulkanModel::Create(*model_, Options());
    ASSERT_TRUE(vm.ok()) << vm.status().message();
    vm_ = std::move(vm.value());
  }
  // A new session of vm_.
  std::unique_ptr<kite::VulkanForward> Session(bool profile = false,
                                               kite::KvType kv_type = kite::KvType::kF32) {
    auto f = kite::VulkanForward::Create(*vm_, kMaxBatch, kMaxContext, profile, kv_type);
    EXPECT_TRUE(f.ok()) << f.status().message();
    return f.ok() ? std::move(f.value()) : nullptr;
  }
  std::unique_ptr<kite::Model> model_;
  std::unique_ptr<kite::VulkanModel> vm_;
  uint32_t vocab_ = 0;
};

// Greedy tokens equal the CPU's best kernels' (and llama2.c's for f32); logits within
// the tolerance at every step. The Vulkan run is fed the CPU's tokens and must pick the
// same one at every step, so its own greedy run would give the same tokens.
TEST_P(VulkanForwardTest, GoldenPromptsMatchTheCpu) {
  const ForwardCase& fc = GetParam();
  for (const char* file : kGoldens) {
    SCOPED_TRACE(file);
    const Golden g = LoadGolden(file);
    const Greedy cpu = RunCpu(*model_, g.prompt);
    if (fc.matches_golden) {
      EXPECT_EQ(cpu.tokens, std::vector<int32_t>(g.generated.begin(), g.generated.begin() + kGenerated));
    }
    auto f = Session();
    ASSERT_NE(f, nullptr);
    const Greedy gpu = RunVulkan(*f, vocab_, g.prompt, kMaxBatch, kGenerated, &cpu.tokens);
    ExpectCpuTokens(cpu, gpu, fc.golden_near_ties);
    const float worst = WorstStep(gpu, cpu);
    EXPECT_LE(worst, fc.logit_tolerance);
    std::printf("%s %s: max |logit diff| %.3g over %zu steps\n", fc.file, file, worst,
                cpu.logits.size());
  }
}

// The int8 KV cache (the CPU's layout and quantization on the device): the CPU's greedy
// tokens with its int8 cache, logits within the model's tolerance (a K or V code rounding
// the other way has the effect of an activation's, see below).
TEST_P(VulkanForwardTest, Int8KvCacheMatchesTheCpu) {
  const Golden g = LoadGolden(kGoldens[0]);
  const Greedy cpu = RunCpu(*model_, g.prompt, kite::KvType::kInt8);
  auto f = Session(false, kite::KvType::kInt8);
  ASSERT_NE(f, nullptr);
  const Greedy gpu = RunVulkan(*f, vocab_, g.prompt, kMaxBatch, kGenerated, &cpu.tokens);
  ExpectCpuTokens(cpu, gpu, GetParam().int8_kv_near_ties);
  const float worst = WorstStep(gpu, cpu);
  EXPECT_LE(worst, GetParam().int8_kv_tolerance);
  std::printf("%s int8 KV: max |logit diff| %.3g over %zu steps\n", GetParam().file, worst,
              cpu.logits.size());
}

// Prefill in chunks (of 3 and of the whole prompt) gives the logits of token-by-token.
TEST_P(VulkanForwardTest, ChunkedPrefillEqualsTokenByToken) {
  const Golden g = LoadGolden(kGoldens[0]);
  std::vector<Greedy> runs;
  for (uint32_t chunk : {1u, 3u, kMaxBatch}) {
    auto f = Session();
    ASSERT_NE(f, nullptr);
    runs.push_back(RunVulkan(*f, vocab_, g.prompt, chunk, kShortRun));
  }
  for (size_t i = 1; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].tokens, runs[0].tokens);
    EXPECT_LE(MaxDiff(runs[i].logits[0], runs[0].logits[0]), 1e-5f);
  }
}

// Every tensor split into parts of at most 1-2 KiB, uploaded through a staging buffer:
// the same tokens and logits.
TEST_P(VulkanForwardTest, SplitTensorsGiveTheSameTokens) {
  const Golden g = LoadGolden(kGoldens[1]);
  // 2 KiB: a 16-row block of the 4-bit w2 (172 wide) takes 1920 bytes.
  auto split = kite::VulkanModel::Create(*model_, Options(2048, true));
  ASSERT_TRUE(split.ok()) << split.status().message();
  EXPECT_GT((*split)->state().weights->layer(0).w1.part_count, 1u);
  auto fw = Session();
  auto fs = kite::VulkanForward::Create(**split, kMaxBatch, kMaxContext, false);
  ASSERT_TRUE(fw != nullptr && fs.ok());
  const Greedy a = RunVulkan(*fw, vocab_, g.prompt, kMaxBatch, kShortRun);
  const Greedy b = RunVulkan(**fs, vocab_, g.prompt, kMaxBatch, kShortRun);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_LE(MaxDiff(a.logits.back(), b.logits.back()), 1e-5f);
}

// The weights read from the imported model file and copied into device memory give the
// same logits bit for bit (the same shaders on the same bytes), whole and split into 2 KiB
// parts (parts at odd offsets of the file: those whose offset misses the buffer alignment
// are copied), and imported in several parts of at most 4 pages (a synthetic allocation
// limit: a part starting in the page where the previous import ends, or larger than the
// limit, is copied). The fixture's model follows the automatic choice: imported on lavapipe (a
// CPU device with VK_EXT_external_memory_host) unless KITE_VULKAN_IMPORT_WEIGHTS forces it.
TEST_P(VulkanForwardTest, ImportedAndCopiedWeightsGiveIdenticalLogits) {
  using kite::vk_runtime::WeightPlacement;
  const kite::vulkan::DeviceFacts& facts = vm_->state().device->facts();
  const WeightPlacement forced = kite::vk_runtime::WeightPlacementFromEnvironment(
      WeightPlacement::kAuto);
  EXPECT_EQ(vm_->weights_imported(),
            forced == WeightPlacement::kAuto ? kite::vulkan::PreferHostImport(facts)
                                             : forced == WeightPlacement::kImport);
  if (!facts.external_memory_host) GTEST_SKIP() << "the device cannot import host memory";
  const Golden g = LoadGolden(kGoldens[0]);
  std::vector<Greedy> runs;
  for (uint64_t limit : {uint64_t{0}, uint64_t{2048}}) {
    for (WeightPlacement placement : {WeightPlacement::kCopy, WeightPlacement::kImport}) {
      SCOPED_TRACE(limit);
      kite::VulkanModelOptions o = Options(limit);
      o.weights = placement;
      auto vm = kite::VulkanModel::Create(*model_, o);
      ASSERT_TRUE(vm.ok()) << vm.status().message();
      const kite::vk_runtime::DeviceWeights& w = *(*vm)->state().weights;
      if (placement == WeightPlacement::kImport) {
        EXPECT_TRUE((*vm)->weights_imported());
        EXPECT_GT(w.imported_bytes(), w.bytes());
      } else {
        EXPECT_FALSE((*vm)->weights_imported());
        EXPECT_EQ(w.imported_bytes(), 0u);
      }
      std::printf("%s limit %llu %s: %llu bytes imported, %llu copied\n", GetParam().file,
                  static_cast<unsigned long long>(limit),
                  placement == WeightPlacement::kImport ? "import" : "copy",
                  static_cast<unsigned long long>(w.imported_bytes()),
                  static_cast<unsigned long long>(w.bytes()));
      auto f = kite::VulkanForward::Create(**vm, kMaxBatch, kMaxContext, false);
      ASSERT_TRUE(f.ok()) << f.status().message();
      runs.push_back(RunVulkan(**f, vocab_, g.prompt, kMaxBatch, kShortRun));
    }
  }
  kite::VulkanModelOptions o = Options();
  o.weights = WeightPlacement::kImport;
  o.max_import_bytes = 4 * facts.min_imported_host_pointer_alignment;
  auto vm = kite::VulkanModel::Create(*model_, o);
  ASSERT_TRUE(vm.ok()) << vm.status().message();
  const kite::vk_runtime::DeviceWeights& w = *(*vm)->state().weights;
  EXPECT_GT(w.import_count(), 1u);
  std::printf("%s imports of <= %llu bytes: %zu imports, %llu bytes imported, %llu copied\n",
              GetParam().file, static_cast<unsigned long long>(o.max_import_bytes),
              w.import_count(), static_cast<unsigned long long>(w.imported_bytes()),
              static_cast<unsigned long long>(w.bytes()));
  auto f = kite::VulkanForward::Create(**vm, kMaxBatch, kMaxContext, false);
  ASSERT_TRUE(f.ok()) << f.status().message();
  const Greedy split = RunVulkan(**f, vocab_, g.prompt, kMaxBatch, kShortRun);
  ASSERT_EQ(split.logits.size(), runs[0].logits.size());
  for (size_t i = 0; i < split.logits.size(); ++i) {
    EXPECT_EQ(std::memcmp(split.logits[i].data(), runs[0].logits[i].data(), vocab_ * 4), 0)
        << "split import, step " << i;
  }
  // Copied and imported, at each limit.
  for (size_t r = 0; r + 1 < runs.size(); r += 2) {
    ASSERT_EQ(runs[r + 1].logits.size(), runs[r].logits.size());
    for (size_t i = 0; i < runs[r].logits.size(); ++i) {
      EXPECT_EQ(std::memcmp(runs[r + 1].logits[i].data(), runs[r].logits[i].data(), vocab_ * 4),
                0)
          << "runs " << r << ", " << r + 1 << " step " << i;
    }
  }
}

// Every 4-bit product (decode matvec and prefill GEMM, each layout), the activation and KV
// quantization and RoPE run workgroups of Q4WorkgroupSize (64 on lavapipe), not the
// device's largest.
TEST_P(VulkanForwardTest, Q4ProductsRunSubgroupSizedWorkgroups) {
  const kite::VulkanModel::State& st = vm_->state();
  const uint32_t wg = kite::vulkan::Q4WorkgroupSize(st.device->facts());
  EXPECT_LE(wg, st.device->max_workgroup_size());
  for (const auto* op : {&*st.q4r16_matvec, &*st.q4r16sym_matvec, &*st.q4r16_gemm,
                         &*st.q4r16sym_gemm, &*st.q4r16cb_matvec, &*st.q4r16cb_gemm}) {
    EXPECT_EQ(op->workgroup_size(), wg);
  }
  EXPECT_EQ(st.q4sp24_matvec->workgroup_size(), wg);
  EXPECT_EQ(st.q4sp24_gemm->workgroup_size(), wg);
  EXPECT_EQ(st.q4g_matvec->workgroup_size(), wg);
  EXPECT_EQ(st.q4g_gemm->workgroup_size(), wg);
  EXPECT_EQ(st.q3r16_matvec->workgroup_size(), wg);
  EXPECT_EQ(st.q3r16_gemm->workgroup_size(), wg);
  // One invocation per activation group, KV head or RoPE pair: the same small size.
  EXPECT_EQ(st.q8_quantize->workgroup_size(), wg);
  EXPECT_EQ(st.q8kv_quantize->workgroup_size(), wg);
  EXPECT_EQ(st.rope->workgroup_size(), wg);
}

// Two sessions of one model on two threads: each gives the single-threaded result.
TEST_P(VulkanForwardTest, TwoSessionsOnTwoThreads) {
  const Golden g[2] = {LoadGolden(kGoldens[0]), LoadGolden(kGoldens[1])};
  Greedy alone[2], together[2];
  std::unique_ptr<kite::VulkanForward> f[2];
  for (int i = 0; i < 2; ++i) {
    auto single = Session();
    ASSERT_NE(single, nullptr);
    alone[i] = RunVulkan(*single, vocab_, g[i].prompt, kMaxBatch, kShortRun);
    f[i] = Session();
    ASSERT_NE(f[i], nullptr);
  }
  std::thread t0([&] { together[0] = RunVulkan(*f[0], vocab_, g[0].prompt, 4, kShortRun); });
  std::thread t1([&] { together[1] = RunVulkan(*f[1], vocab_, g[1].prompt, 4, kShortRun); });
  t0.join();
  t1.join();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(together[i].tokens, alone[i].tokens);
    EXPECT_LE(MaxDiff(together[i].logits.back(), alone[i].logits.back()), 1e-5f);
  }
}

// With profiling: per-kernel GPU times of the last call, one entry per shader.
TEST_P(VulkanForwardTest, ProfilingSumsTimesPerShader) {
  auto f = Session(true);
  ASSERT_NE(f, nullptr);
  const int32_t tokens[] = {1, 2, 3};
  ASSERT_TRUE(f->Forward(tokens, 3, 0, true).ok());
  uint32_t count = 0;
  const kite::VulkanKernelTime* times = f->kernel_times(&count);
  if (!f->profiling()) {
    EXPECT_EQ(count, 0u);
    GTEST_SKIP() << "the device's queue has no timestamps";
  }
  ASSERT_GT(count, 0u);
  uint32_t attention_calls = 0;
  for (uint32_t i = 0; i < count; ++i) {
    std::printf("%-16s %3u calls %8.3f ms\n", times[i].name, times[i].calls, times[i].ms);
    EXPECT_GE(times[i].ms, 0.0) << times[i].name;
    if (std::strcmp(times[i].name, "attention") == 0) attention_calls = times[i].calls;
  }
  EXPECT_EQ(attention_calls, model_->config().n_layers);
  // Not profiled: nothing.
  auto plain = Session();
  ASSERT_NE(plain, nullptr);
  ASSERT_TRUE(plain->Forward(tokens, 3, 0, true).ok());
  plain->kernel_times(&count);
  EXPECT_EQ(count, 0u);
}

// The session state's KV transfers (ReadKv/WriteKv) through a 90-byte staging buffer:
// pieces that split rows, every part of f32 and int8 caches, whole parts read back as
// written; the first rows after a Forward as the device computed them either way; bad
// requests refused by message.
TEST_P(VulkanForwardTest, KvCacheMovesThroughStagingInPieces) {
  using kite::VulkanKvPart;
  const kite::ModelConfig& c = model_->config();
  for (kite::KvType kv : {kite::KvType::kF32, kite::KvType::kInt8}) {
    const bool q8 = kv == kite::KvType::kInt8;
    SCOPED_TRACE(q8 ? "int8" : "f32");
    auto tiny = kite::VulkanForward::Create(*vm_, kMaxBatch, kMaxContext, false, kv, 90);
    auto whole = kite::VulkanForward::Create(*vm_, kMaxBatch, kMaxContext, false, kv);
    ASSERT_TRUE(tiny.ok() && whole.ok());
    const int32_t prompt[] = {1, 2, 3};
    ASSERT_TRUE((*tiny)->Forward(prompt, 3, 0, false).ok());
    ASSERT_TRUE((*whole)->Forward(prompt, 3, 0, false).ok());
    std::vector<VulkanKvPart> parts = {VulkanKvPart::kKeys, VulkanKvPart::kValues};
    if (q8) parts.insert(parts.end(), {VulkanKvPart::kKeyParams, VulkanKvPart::kValueParams});
    for (VulkanKvPart part : parts) {
      const bool params = part == VulkanKvPart::kKeyParams || part == VulkanKvPart::kValueParams;
      const uint64_t row = params ? c.n_kv_heads * 4ull : c.kv_dim() * (q8 ? 1ull : 4ull);
      // The 3 rows written: the same through 90-byte pieces as in one piece.
      std::vector<uint8_t> a(3 * row), b(3 * row);
      ASSERT_TRUE((*tiny)->ReadKv(part, 1, a.size(), a.data()).ok());
      ASSERT_TRUE((*whole)->ReadKv(part, 1, b.size(), b.data()).ok());
      EXPECT_EQ(a, b);
      EXPECT_NE(a, std::vector<uint8_t>(a.size(), 0));
      // A whole part written and read back.
      std::vector<uint8_t> pattern(kMaxContext * row), back(pattern.size());
      for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i * 7 + 3);
      ASSERT_TRUE((*tiny)->WriteKv(part, c.n_layers - 1, pattern.size(), pattern.data()).ok());
      ASSERT_TRUE((*tiny)->ReadKv(part, c.n_layers - 1, back.size(), back.data()).ok());
      EXPECT_EQ(back, pattern);
    }
    std::vector<uint8_t> buf(1 << 20);
    kite::Status s = (*tiny)->ReadKv(VulkanKvPart::kKeys, c.n_layers, 4, buf.data());
    EXPECT_NE(std::string(s.message()).find("layer"), std::string::npos) << s.message();
    s = (*tiny)->ReadKv(VulkanKvPart::kKeys, 0, buf.size(), buf.data());
    EXPECT_NE(std::string(s.message()).find("the part holds"), std::string::npos) << s.message();
    if (!q8) {
      s = (*tiny)->ReadKv(VulkanKvPart::kKeyParams, 0, 4, buf.data());
      EXPECT_NE(std::string(s.message()).find("an f32 cache has no scales"), std::string::npos)
          << s.message();
    }
  }
}

// Barriers follow groups of independent dispatches, not every dispatch: per layer the q, k
// and v products share one, the two RoPEs one, the gate and up products one (no attention
// bias, no split tensors here), and one ends the call. The tokens stay the CPU's (the
// golden-prompt tests above run with the same recording).
TEST_P(VulkanForwardTest, IndependentDispatchesShareABarrier) {
  auto f = Session(true);
  ASSERT_NE(f, nullptr);
  if (!f->profiling()) GTEST_SKIP() << "the device's queue has no timestamps (dispatch count)";
  const int32_t prompt[] = {1, 2, 3};
  for (uint32_t n : {3u, 1u}) {
    ASSERT_TRUE(f->Forward(prompt, n, n == 3 ? 0 : 3, true).ok());
    uint32_t count = 0;
    const kite::VulkanKernelTime* times = f->kernel_times(&count);
    uint32_t dispatches = 0;
    for (uint32_t i = 0; i < count; ++i) dispatches += times[i].calls;
    const uint32_t layers = model_->config().n_layers;
    std::printf("%u-token call: %u dispatches, %u barriers\n", n, dispatches, f->barriers());
    EXPECT_EQ(f->barriers(), dispatches - 4 * layers) << n << " tokens";
  }
}

// The integer-dot shaders, forced by KITE_VULKAN_INTEGER_DOT=1 (kAuto keeps lavapipe, where
// they are not accelerated, on the plain ones): Q4_R16 (q4), Q3_R16 (q3mix, with
// Q4_R16_G32_SYM; q3g64mix, groups of 64 and 32) and the codebook layout (q4cb). The CPU's
// greedy tokens on a golden prompt, and the plain shaders' logits (the integer sums are
// exact either way).
TEST(VulkanForward, IntegerDotVariantMatchesTheCpu) {
  for (const char* file :
       {"stories260K-q4.kite", "stories260K-q3mix.kite", "stories260K-q3g64mix.kite",
        "stories260K-q4cb.kite"}) {
    SCOPED_TRACE(file);
    auto model = OpenModel(file);
    ASSERT_NE(model, nullptr);
    const uint32_t vocab = model->config().vocab_size;
    unsetenv(kite::vulkan::kIntegerDotEnv);
    auto plain = kite::VulkanModel::Create(*model, Options());
    ASSERT_TRUE(plain.ok()) << plain.status().message();
    const kite::vulkan::DeviceFacts& facts = (*plain)->state().device->facts();
    EXPECT_EQ((*plain)->integer_dot(), facts.integer_dot_product && facts.integer_dot_accelerated);
    if (!facts.integer_dot_product) GTEST_SKIP() << "no VK_KHR_shader_integer_dot_product";
    setenv(kite::vulkan::kIntegerDotEnv, "1", 1);
    auto dot = kite::VulkanModel::Create(*model, Options());
    unsetenv(kite::vulkan::kIntegerDotEnv);
    ASSERT_TRUE(dot.ok()) << dot.status().message();
    EXPECT_TRUE((*dot)->integer_dot());
    const kite::VulkanModel::State& st = (*dot)->state();
    EXPECT_TRUE(st.q3r16_matvec->integer_dot() && st.q3r16_gemm->integer_dot());
    EXPECT_TRUE(st.q4r16cb_matvec->integer_dot() && st.q4r16cb_gemm->integer_dot());

    const Golden g = LoadGolden(kGoldens[0]);
    const Greedy cpu = RunCpu(*model, g.prompt);
    auto fd = kite::VulkanForward::Create(**dot, kMaxBatch, kMaxContext, false);
    auto fp = kite::VulkanForward::Create(**plain, kMaxBatch, kMaxContext, false);
    ASSERT_TRUE(fd.ok() && fp.ok());
    const Greedy gdot = RunVulkan(**fd, vocab, g.prompt, kMaxBatch, kGenerated, &cpu.tokens);
    const Greedy gplain = RunVulkan(**fp, vocab, g.prompt, kMaxBatch, kGenerated, &cpu.tokens);
    EXPECT_EQ(gdot.tokens, cpu.tokens);
    EXPECT_LE(WorstStep(gdot, cpu), 0.5f);  // the 4-bit models' tolerance, below
    EXPECT_LE(WorstStep(gdot, gplain), 1e-5f);
  }
}

// FmaExact as GLSL's fma() (KITE_VULKAN_FMA=native; the probe's choice on a device that
// fuses it). Where fma() is fused the results are the emulation's bit for bit; on
// lavapipe it rounds twice, so the logits are held to a tolerance instead: the model's own
// (f32: 1e-4, seen 1.6e-5; 4-bit: 0.5, an activation code may flip: seen 0.33 and 0.056)
// and the CPU's greedy tokens, near-ties allowed as in GoldenPromptsMatchTheCpu for the
// 4-bit model. The auto
// mode's device agrees with the probe (not native on lavapipe).
TEST(VulkanForward, NativeFmaWithinToleranceOfTheCpu) {
  struct Case {
    const char* file;
    float tolerance;
    bool near_ties;
  };
  for (const Case& c : {Case{"stories260K-f32.kite", 1e-4f, false},
                        Case{"stories260K-q4.kite", 0.5f, true}}) {
    SCOPED_TRACE(c.file);
    auto model = OpenModel(c.file);
    ASSERT_NE(model, nullptr);
    kite::VulkanModelOptions o = Options();
    o.device.fma = kite::vulkan::FmaMode::kNative;
    auto native = kite::VulkanModel::Create(*model, o);
    ASSERT_TRUE(native.ok()) << native.status().message();
    EXPECT_TRUE((*native)->state().device->fma_native());
    for (const char* file : kGoldens) {
      SCOPED_TRACE(file);
      const Golden g = LoadGolden(file);
      const Greedy cpu = RunCpu(*model, g.prompt);
      auto f = kite::VulkanForward::Create(**native, kMaxBatch, kMaxContext, false);
      ASSERT_TRUE(f.ok()) << f.status().message();
      const Greedy gpu =
          RunVulkan(**f, model->config().vocab_size, g.prompt, kMaxBatch, kGenerated, &cpu.tokens);
      ExpectCpuTokens(cpu, gpu, c.near_ties);
      const float worst = WorstStep(gpu, cpu);
      EXPECT_LE(worst, c.tolerance);
      std::printf("%s %s, native fma(): max |logit diff| %.3g\n", c.file, file, worst);
    }
  }
}

// The choice of f16 matrices: f16 on a GPU that reads f16 from storage buffers, f32 on
// CPU devices and on GPUs without it (the Pi 5's V3DV); forcing it there is refused.
TEST(VulkanF16Matrices, ChosenByTheDevice) {
  kite::vulkan::DeviceFacts gpu;
  gpu.name = "test GPU";
  gpu.type = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
  gpu.storage_buffer_16bit = true;
  kite::vulkan::DeviceFacts cpu = gpu;
  cpu.type = VK_PHYSICAL_DEVICE_TYPE_CPU;
  kite::vulkan::DeviceFacts v3d = gpu;
  v3d.storage_buffer_16bit = false;
  using kite::vk_runtime::ChooseF16Matrices;
  using kite::vk_runtime::F16Matrices;
  EXPECT_TRUE(*ChooseF16Matrices(gpu, F16Matrices::kAuto));
  EXPECT_FALSE(*ChooseF16Matrices(cpu, F16Matrices::kAuto));
  EXPECT_FALSE(*ChooseF16Matrices(v3d, F16Matrices::kAuto));
  EXPECT_FALSE(*ChooseF16Matrices(gpu, F16Matrices::kOff));
  EXPECT_TRUE(*ChooseF16Matrices(cpu, F16Matrices::kOn));
  kite::Result<bool> refused = ChooseF16Matrices(v3d, F16Matrices::kOn);
  ASSERT_FALSE(refused.ok());
  EXPECT_STREQ(refused.status().message(),
               "f16 weights: Vulkan device 'test GPU' lacks storageBuffer16BitAccess");
  setenv(kite::vk_runtime::kF16WeightsEnv, "1", 1);
  EXPECT_EQ(kite::vk_runtime::F16MatricesFromEnvironment(F16Matrices::kAuto), F16Matrices::kOn);
  setenv(kite::vk_runtime::kF16WeightsEnv, "0", 1);
  EXPECT_EQ(kite::vk_runtime::F16MatricesFromEnvironment(F16Matrices::kAuto), F16Matrices::kOff);
  unsetenv(kite::vk_runtime::kF16WeightsEnv);
  EXPECT_EQ(kite::vk_runtime::F16MatricesFromEnvironment(F16Matrices::kAuto), F16Matrices::kAuto);
}

// The f32 model with its matrices stored as f16 (forced: lavapipe's default is f32): the
// layer matrices' buffers are f16 (half the bytes), the tied embedding table stays f32, and
// the run keeps the CPU's greedy tokens on the golden prompts with logits within 0.05 of
// the CPU's f32 run (the weights rounded to f16, a relative 2^-11 each; seen: 0.011 and
// 0.0079).
TEST(VulkanForward, F16MatricesWithinToleranceOfTheCpu) {
  auto model = OpenModel("stories260K-f32.kite");
  ASSERT_NE(model, nullptr);
  kite::VulkanModelOptions o = Options();
  auto plain = kite::VulkanModel::Create(*model, o);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  const kite::vulkan::DeviceFacts& facts = (*plain)->state().device->facts();
  EXPECT_EQ((*plain)->f16_matrices(), !kite::vulkan::IsCpuDevice(facts.type) &&
                                          facts.storage_buffer_16bit);
  if (!facts.storage_buffer_16bit) GTEST_SKIP() << "no storageBuffer16BitAccess";
  o.f16_matrices = kite::vk_runtime::F16Matrices::kOn;
  auto half = kite::VulkanModel::Create(*model, o);
  ASSERT_TRUE(half.ok()) << half.status().message();
  EXPECT_TRUE((*half)->f16_matrices());
  const kite::VulkanModel::State& st = (*half)->state();
  const kite::vk_runtime::DeviceTensor& wq = st.weights->layer(0).wq;
  EXPECT_TRUE(wq.f16);
  EXPECT_EQ(wq.parts[0].data->size(), (wq.view->data_size / 2 + 3) / 4 * 4);
  EXPECT_FALSE(st.weights->embedding().f16);
  o.f16_matrices = kite::vk_runtime::F16Matrices::kOff;
  auto off = kite::VulkanModel::Create(*model, o);
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_FALSE((*off)->f16_matrices());
  EXPECT_FALSE((*off)->state().weights->layer(0).wq.f16);

  const uint32_t vocab = model->config().vocab_size;
  for (const char* file : kGoldens) {
    SCOPED_TRACE(file);
    const Golden g = LoadGolden(file);
    const Greedy cpu = RunCpu(*model, g.prompt);
    auto f = kite::VulkanForward::Create(**half, kMaxBatch, kMaxContext, false);
    ASSERT_TRUE(f.ok()) << f.status().message();
    const Greedy gpu = RunVulkan(**f, vocab, g.prompt, kMaxBatch, kGenerated, &cpu.tokens);
    EXPECT_EQ(gpu.tokens, cpu.tokens);
    const float worst = WorstStep(gpu, cpu);
    EXPECT_LE(worst, 0.05f);
    std::printf("stories260K-f32.kite %s, f16 matrices: max |logit diff| %.3g\n", file, worst);
  }
}

// f32: llama2.c's tokens; 4-bit (Q4_R16_G32 layers, Q8_C embedding and head; and the
// symmetric, the 2:4 sparse and the Q4_ROW_GROUPS layouts: groups of 64 with mins, groups
// of 64 and 128 without, and groups of 64 for every matrix including the tied embedding
// table, q4g64all): the CPU's tokens. Logit tolerances: f32 sums run in another order
// (seen: 2e-5). The 4-bit models agree to ~1e-5 until an activation's int8 code rounds
// the other way (its f32 input differed by a float rounding, putting it on the other side
// of a .5): the step's logits then move by up to ~0.3 on this tiny model and, the K/V rows
// being cached, stay that far apart (seen: 0.29 on one golden prompt, 1e-5 on the other).
// With int8 KV caches a K/V code may flip the same way, on f32 models too (seen: 0.009
// f32, 0.73 q4, 0.04 q4s, 0.42 q4sp24, 0.6 q4g64, 0.06 q4g128s). The 2:4 sparse model
// (Q4_SP24_R16_G64 layers) has a near-tie on the first golden prompt: at step 3 the CPU's
// int8-cache run prefers its token by 0.24 while the logits differ by 0.34, so its int8
// test allows near-ties; so does q4g64all's (a flip at step 23, logits 0.5 apart). The
// mixed 3/4/8-bit models (q3mix: five layer matrices Q3_R16_G32, the rest Q4_R16_G32_SYM,
// Q8_C embedding and head; q3emb: the tied embedding table and head Q3_R16_G32 too; q3g64mix
// and q3g64emb the same with Q3_R16_G64, above) and the
// codebook models (q4cb: Q4_R16_G32_CB layers, Q8_C embedding and head; q4cbemb: the tied
// embedding table and head Q4_R16_G32_CB too) take the 4-bit tolerances. q4cbemb has a
// near-tie on the second golden prompt: at step 28 the CPU prefers its token by 0.051 while
// the logits differ by 0.30 (an activation code flipped earlier), so it allows near-ties
// there; q3emb with the int8 cache had one against the AVX-512 CPU (logits 0.475 apart,
// before its 3-bit GEMM followed the AVX-512 order), so it allows them there. Since the
// shaders follow the AVX-512 variants and RoPE rotates by the CPU's cos/sin
// (docs/vulkan.md, "Agreement with the CPU"), the Q4_R16 (with offsets, offset-free,
// codebook) and 3-bit cases agree with an AVX-512 CPU to <= 4e-6 on both golden prompts,
// int8 caches included (no int8 code flips; seen 0 for the 3-bit and codebook embedding
// models); Q4_ROW_GROUPS and 2:4, whose products do not follow the AVX-512 order yet, may
// still flip (q4sp24, q4g64, q4g64all: seen 0.04 to 0.39). The tolerances stay for those
// and for CPUs without AVX-512.
INSTANTIATE_TEST_SUITE_P(Models, VulkanForwardTest,
                         ::testing::Values(ForwardCase{"stories260K-f32.kite", 1e-4f, 0.05f, true},
                                           ForwardCase{"stories260K-q4.kite", 0.5f, 1.0f, false,
                                                       true},
                                           ForwardCase{"stories260K-q4s.kite", 0.5f, 1.0f, false},
                                           ForwardCase{"stories260K-q4sp24.kite", 0.5f, 1.0f, false,
                                                       true},
                                           ForwardCase{"stories260K-q4g64.kite", 0.5f, 1.0f, false},
                                           ForwardCase{"stories260K-q4g128s.kite", 0.5f, 1.0f, false},
                                           ForwardCase{"stories260K-q4g64all.kite", 0.5f, 1.0f, false,
                                                       true},
                                           ForwardCase{"stories260K-q3mix.kite", 0.5f, 1.0f, false},
                                           ForwardCase{"stories260K-q3emb.kite", 0.5f, 1.0f, false,
                                                       true},
                                           ForwardCase{"stories260K-q3g64mix.kite", 0.5f, 1.0f,
                                                       false},
                                           ForwardCase{"stories260K-q3g64emb.kite", 0.5f, 1.0f,
                                                       false, true},
                                           ForwardCase{"stories260K-q4cb.kite", 0.5f, 1.0f, false},
                                           ForwardCase{"stories260K-q4cbemb.kite", 0.5f, 1.0f,
                                                       false, false, true}),
                         [](const ::testing::TestParamInfo<ForwardCase>& info) {
                           std::string name = info.param.file;
                           name = name.substr(12, name.size() - 12 - 5);  // "f32", "q4", ...
                           return name;
                         });

}  // namespace
