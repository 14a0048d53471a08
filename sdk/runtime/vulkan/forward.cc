#include "sdk/runtime/vulkan/forward.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "sdk/backends/vulkan/command_stream.h"
#include "sdk/backends/vulkan/pipeline.h"
#include "sdk/backends/vulkan/rows.h"
#include "sdk/backends/vulkan/vk_status.h"
#include "sdk/format/format.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/runtime/memory_plan.h"
#include "sdk/runtime/vulkan/model_state.h"

namespace kite {

using vk_runtime::DeviceTensor;
using vk_runtime::TensorPart;
using vulkan::Buffer;
using vulkan::Dispatch;
using vulkan::RowAddress;

namespace {

// Largest piece ReadKv/WriteKv move at once (the session's staging buffer, host-visible).
constexpr uint64_t kStateStagingBytes = 256 * 1024;

// Makes `*slot` hold the op `Op::Create(args...)` returns.
template <class Op, class... Args>
Status Build(std::optional<Op>* slot, Args... args) {
  KITE_ASSIGN_OR_RETURN(Op op, Op::Create(args...));
  slot->emplace(std::move(op));
  return Status::Ok();
}

bool IsQ4(const TensorView& t) {
  return t.dtype == DType::Q4_G || t.dtype == DType::Q4_G_SP24;
}

// Workgroup size of the shaders whose invocations share one row of `width` floats (dense
// matvecs, RMSNorm): the largest power of two not above the width (at least 32), within the
// device's limit. Small models waste most of a 256-wide workgroup otherwise.
uint32_t RowWorkgroup(const vulkan::Device& d, uint32_t width) {
  uint32_t wg = 32;
  while (wg * 2 <= width && wg * 2 <= d.max_workgroup_size()) wg *= 2;
  return wg < d.max_workgroup_size() ? wg : d.max_workgroup_size();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// VulkanModel

VulkanModel::VulkanModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
VulkanModel::~VulkanModel() = default;

Result<std::unique_ptr<VulkanModel>> VulkanModel::Create(const Model& model,
                                                         const VulkanModelOptions& options) {
  KITE_CHECK_OR_RETURN(!model.vocab_only(), Error::kInvalidArgument,
                       "a tokenizer-only model has no weights to run on Vulkan");
  const ModelConfig& c = model.config();
  std::unique_ptr<State> s(new State);
  s->model = &model;
  KITE_ASSIGN_OR_RETURN(vulkan::Device device, vulkan::Device::Create(options.device));
  s->device.reset(new vulkan::Device(std::move(device)));
  const vulkan::Device& d = *s->device;
  vk_runtime::WeightOptions wo;
  wo.max_binding_bytes = options.max_binding_bytes;
  wo.force_staging = options.force_staging;
  wo.max_import_bytes = options.max_import_bytes;
  const vk_runtime::F16Matrices f16 =
      options.f16_matrices == vk_runtime::F16Matrices::kAuto
          ? vk_runtime::F16MatricesFromEnvironment(options.f16_matrices)
          : options.f16_matrices;
  KITE_ASSIGN_OR_RETURN(wo.f16_matrices, vk_runtime::ChooseF16Matrices(d.facts(), f16));
  wo.placement = options.weights == vk_runtime::WeightPlacement::kAuto
                     ? vk_runtime::WeightPlacementFromEnvironment(options.weights)
                     : options.weights;
  KITE_ASSIGN_OR_RETURN(vk_runtime::DeviceWeights weights,
                        vk_runtime::DeviceWeights::Upload(d, model, wo));
  s->weights.emplace(std::move(weights));

  s->rope_inv_freq.resize(c.head_dim / 2);
  if (c.rope_inv_freq != nullptr) {
    std::memcpy(s->rope_inv_freq.data(), c.rope_inv_freq, c.head_dim / 2 * sizeof(float));
  } else {
    kernels::RopeInverseFrequencies(c.head_dim, c.rope_theta, s->rope_inv_freq.data());
  }

  const TensorView& emb = model.tok_embeddings();
  KITE_RETURN_IF_ERROR(Build(&s->embedding, std::cref(d), emb.dtype, emb.layout, 0u));
  const uint32_t row_wg = RowWorkgroup(d, c.dim);
  KITE_RETURN_IF_ERROR(Build(&s->rmsnorm, std::cref(d), row_wg));
  // kAuto (integer dot where accelerated) unless KITE_VULKAN_INTEGER_DOT=1 forces it.
  const vulkan::Q4R16MatvecVariant variant = vulkan::Q4R16MatvecVariantFromEnvironment();
  // Every 4-bit product, decode matvec and prefill GEMM, runs small workgroups, from the
  // subgroup size (Q4WorkgroupSize: 64 on lavapipe, 4 invocations per row). With the
  // device's largest (256) most of the 16 invocations per row have no group to take on
  // narrow models: on lavapipe prefill was about twice as slow (docs/vulkan.md, "Figures").
  // The ops with one invocation per activation group, KV head or RoPE pair (a few dozen per
  // token on small models) take the same size.
  const uint32_t q4_wg = vulkan::Q4WorkgroupSize(d.facts());
  KITE_RETURN_IF_ERROR(Build(&s->q8_quantize, std::cref(d), q4_wg));
  KITE_RETURN_IF_ERROR(Build(&s->q4r16_matvec, std::cref(d), false, q4_wg, 1u, variant));
  KITE_RETURN_IF_ERROR(Build(&s->q4r16sym_matvec, std::cref(d), true, q4_wg, 1u, variant));
  KITE_RETURN_IF_ERROR(
      Build(&s->q4r16_gemm, std::cref(d), false, q4_wg, vulkan::kQ4R16MaxTileTokens, variant));
  KITE_RETURN_IF_ERROR(
      Build(&s->q4r16sym_gemm, std::cref(d), true, q4_wg, vulkan::kQ4R16MaxTileTokens, variant));
  KITE_RETURN_IF_ERROR(Build(&s->q4r16cb_matvec, std::cref(d), true, q4_wg, 1u, variant, true));
  KITE_RETURN_IF_ERROR(Build(&s->q4r16cb_gemm, std::cref(d), true, q4_wg,
                             vulkan::kQ4R16MaxTileTokens, variant, true));
  KITE_RETURN_IF_ERROR(Build(&s->q4sp24_matvec, std::cref(d), q4_wg, 1u));
  KITE_RETURN_IF_ERROR(Build(&s->q4sp24_gemm, std::cref(d), q4_wg, vulkan::kQ4MaxTileTokens));
  KITE_RETURN_IF_ERROR(Build(&s->q4g_matvec, std::cref(d), q4_wg, 1u));
  KITE_RETURN_IF_ERROR(Build(&s->q4g_gemm, std::cref(d), q4_wg, vulkan::kQ4MaxTileTokens));
  KITE_RETURN_IF_ERROR(Build(&s->q3r16_matvec, std::cref(d), q4_wg, 1u, variant));
  KITE_RETURN_IF_ERROR(
      Build(&s->q3r16_gemm, std::cref(d), q4_wg, vulkan::kQ4MaxTileTokens, variant));
  KITE_RETURN_IF_ERROR(Build(&s->f32_matvec, std::cref(d), DType::F32, row_wg));
  KITE_RETURN_IF_ERROR(Build(&s->q8c_matvec, std::cref(d), DType::Q8_C, row_wg));
  if (wo.f16_matrices) {
    KITE_RETURN_IF_ERROR(Build(&s->f16_matvec, std::cref(d), DType::F16, row_wg));
  }
  KITE_RETURN_IF_ERROR(Build(&s->add, std::cref(d), vulkan::ElementwiseOp::kAdd, 0u));
  KITE_RETURN_IF_ERROR(Build(&s->swiglu, std::cref(d), vulkan::ElementwiseOp::kSwiGlu, 0u));
  KITE_RETURN_IF_ERROR(Build(&s->rope, std::cref(d), q4_wg));
  KITE_RETURN_IF_ERROR(Build(&s->attention, std::cref(d), vulkan::KvCacheType::kF32, 0u));
  KITE_RETURN_IF_ERROR(Build(&s->attention_q8, std::cref(d), vulkan::KvCacheType::kInt8, 0u));
  KITE_RETURN_IF_ERROR(Build(&s->q8kv_quantize, std::cref(d), q4_wg));
  return std::unique_ptr<VulkanModel>(new VulkanModel(std::move(s)));
}

const Model& VulkanModel::model() const { return *state_->model; }
const char* VulkanModel::device_name() const {
  return state_->device->properties().deviceName;
}
bool VulkanModel::is_cpu_device() const {
  return vulkan::IsCpuDevice(state_->device->properties().deviceType);
}
bool VulkanModel::integer_dot() const { return state_->q4r16_matvec->integer_dot(); }
bool VulkanModel::weights_imported() const { return state_->weights->imported(); }
bool VulkanModel::f16_matrices() const { return state_->f16_matvec.has_value(); }

// ---------------------------------------------------------------------------------------
// VulkanForward

namespace {

// When a prepared dispatch is recorded, and with which (n_tokens, pos).
enum class When : uint8_t {
  kChunk,      // every call: (n, pos)
  kLogitsLast  // calls that want logits, on the chunk's last token only: (1, n - 1)
};

// Which calls record a dispatch, by their token count (decode and prefill variants).
enum class Tokens : uint8_t { kAny, kOne, kSeveral };

struct Step {
  Dispatch dispatch;
  When when;
  Tokens tokens;
  uint32_t kernel;  // index into State::kernel_times
  // Its group of independent dispatches (Planner::BeginGroup), 0 for none: no barrier
  // between dispatches of one group, whichever of them a call records.
  uint32_t group;
};

}  // namespace

struct VulkanForward::State {
  const VulkanModel::State* m = nullptr;
  uint32_t max_batch = 0, max_context = 0;
  std::optional<vulkan::CommandStream> stream;
  std::optional<vulkan::DescriptorPool> pool;
  std::vector<Buffer> buffers;  // reserved once: the pointers below point into it
  const Buffer *tokens = nullptr, *logits = nullptr, *x = nullptr, *xb = nullptr,
               *xb2 = nullptr, *q = nullptr, *hb = nullptr, *hb2 = nullptr, *xq = nullptr,
               *xscale = nullptr, *xsum = nullptr;
  // RoPE's (cos, sin) pairs for positions 0 .. max_context + max_batch - 2 (the positions a
  // dispatch is checked for), host-visible, filled once at Create.
  const Buffer* rope_cos_sin = nullptr;
  // Per layer: the K and V caches (f32 rows, or int8 codes), and for int8 the f16
  // (scale, offset) pairs, keys' then values' (kv_params_values words in).
  std::vector<const Buffer*> key_cache, value_cache, kv_params;
  bool int8_kv = false;
  const Buffer *k_rows = nullptr, *v_rows = nullptr;  // int8: a chunk's f32 K and V rows
  const Buffer* staging = nullptr;                    // host-visible: ReadKv/WriteKv's pieces
  uint32_t kv_params_values = 0;
  std::vector<Step> steps;
  // Profiling: one timestamp before the first dispatch and one after each.
  const vulkan::Functions* vk = nullptr;  // the device's entry points
  VkDevice device = VK_NULL_HANDLE;
  VkQueryPool queries = VK_NULL_HANDLE;
  double ns_per_tick = 0;
  uint64_t tick_mask = 0;
  std::vector<VulkanKernelTime> kernel_times;  // one per shader name
  std::vector<uint64_t> stamps;
  std::vector<uint32_t> recorded;  // kernel of each dispatch of the last call
  uint32_t profiled_kernels = 0;   // entries of kernel_times valid after the last call
  uint32_t barriers = 0;           // barriers the last Forward recorded
  Status failed;

  // Returns `status`, first marking the session failed when the stream failed (a lost
  // device or a timeout: every later call returns it).
  Status Note(const Status& status) {
    if (!status.ok() && !stream->failed().ok()) failed = status;
    return status;
  }

  ~State() {
    stream.reset();  // first: waits for work still using the buffers (after a timeout)
    if (queries != VK_NULL_HANDLE) vk->DestroyQueryPool(device, queries, nullptr);
  }
};

namespace {

// Prepares the dispatches of a forward pass in order (or, when counting, only counts the
// descriptor sets they need).
class Planner {
 public:
  Planner(VulkanForward::State* s, bool counting) : s_(s), counting_(counting) {}

  template <class Op, class Args>
  Status Add(const Op& op, const Args& args, When when, Tokens tokens = Tokens::kAny) {
    ++sets_;
    if (counting_) return Status::Ok();
    KITE_ASSIGN_OR_RETURN(Dispatch d, op.Prepare(*s_->pool, args));
    uint32_t kernel = 0;
    while (kernel < s_->kernel_times.size() &&
           std::strcmp(s_->kernel_times[kernel].name, d.name()) != 0) {
      ++kernel;
    }
    if (kernel == s_->kernel_times.size()) s_->kernel_times.push_back({d.name(), 0, 0.0});
    s_->steps.push_back({d, when, tokens, kernel, group_});
    return Status::Ok();
  }

  // The dispatches added until EndGroup() neither read nor write what another of them
  // writes (e.g. the q, k and v products of one layer): one barrier after the group instead
  // of one after each.
  void BeginGroup() { group_ = ++groups_; }
  void EndGroup() { group_ = 0; }

  uint32_t sets() const { return sets_; }
  // Most tokens and largest position of a dispatch recorded `when`.
  uint32_t MaxTokens(When when) const { return when == When::kLogitsLast ? 1 : s_->max_batch; }
  uint32_t MaxPos(When when) const {
    return when == When::kLogitsLast ? s_->max_batch - 1 : s_->max_context - 1;
  }

 private:
  VulkanForward::State* s_;
  bool counting_;
  uint32_t sets_ = 0;
  uint32_t group_ = 0;   // the open group, 0 for none
  uint32_t groups_ = 0;  // groups begun
};

// Where one matrix's output rows go.
struct Output {
  const DeviceTensor* w;
  const Buffer* y;
  RowAddress y_at;
};

// The product of one part of 4-bit (or 3-bit) matrix `t` (its layout's op), with
// arguments `a`.
Status AddQ4Matvec(Planner& p, const VulkanModel::State& m, const TensorView& t,
                   const vulkan::Q4MatvecArgs& a, When when) {
  // Decode calls run the matvec; prefill calls the tiled GEMM (same sums).
  if (t.dtype == DType::Q4_G_SP24) {
    if (a.max_tokens == 1) return p.Add(*m.q4sp24_matvec, a, when);
    KITE_RETURN_IF_ERROR(p.Add(*m.q4sp24_matvec, a, when, Tokens::kOne));
    return p.Add(*m.q4sp24_gemm, a, when, Tokens::kSeveral);
  }
  if (t.layout == Layout::Q4_ROW_GROUPS) {
    if (a.max_tokens == 1) return p.Add(*m.q4g_matvec, a, when);
    KITE_RETURN_IF_ERROR(p.Add(*m.q4g_matvec, a, when, Tokens::kOne));
    return p.Add(*m.q4g_gemm, a, when, Tokens::kSeveral);
  }
  if (t.layout == Layout::Q3_R16_G32 || t.layout == Layout::Q3_R16_G64) {
    vulkan::Q4MatvecArgs q3 = a;
    q3.groups_per_scale = t.group_size / static_cast<uint32_t>(kQ4R16GroupSize);
    if (a.max_tokens == 1) return p.Add(*m.q3r16_matvec, q3, when);
    KITE_RETURN_IF_ERROR(p.Add(*m.q3r16_matvec, q3, when, Tokens::kOne));
    return p.Add(*m.q3r16_gemm, q3, when, Tokens::kSeveral);
  }
  if (t.layout == Layout::Q4_R16_G32_CB) {
    vulkan::Q4MatvecArgs cb = a;
    cb.codebook = t.codebook;
    if (a.max_tokens == 1) return p.Add(*m.q4r16cb_matvec, cb, when);
    KITE_RETURN_IF_ERROR(p.Add(*m.q4r16cb_matvec, cb, when, Tokens::kOne));
    return p.Add(*m.q4r16cb_gemm, cb, when, Tokens::kSeveral);
  }
  const bool sym = t.layout == Layout::Q4_R16_G32_SYM;
  const vulkan::Q4R16Matvec& matvec = sym ? *m.q4r16sym_matvec : *m.q4r16_matvec;
  if (a.max_tokens == 1) return p.Add(matvec, a, when);
  KITE_RETURN_IF_ERROR(p.Add(matvec, a, when, Tokens::kOne));
  return p.Add(sym ? *m.q4r16sym_gemm : *m.q4r16_gemm, a, when, Tokens::kSeveral);
}

// The group of the int8 activations matrix `t` reads (0: f32 activations).
uint32_t QuantGroup(const TensorView& t) { return IsQ4(t) ? ActivationGroupSize(t) : 0; }

// The outputs of AddLinears whose QuantGroup is `group`: x quantized with it (when 4-bit),
// then their products.
Status AddLinearsOfGroup(Planner& p, const VulkanModel::State& m, const VulkanForward::State& s,
                         const Output* outs, size_t count, uint32_t group, const Buffer* x,
                         RowAddress x_at, uint32_t cols, When when) {
  const uint32_t max_tokens = p.MaxTokens(when), max_pos = p.MaxPos(when);
  const uint32_t groups = group != 0 ? (cols + group - 1) / group : 0;
  if (group != 0) {
    vulkan::Q8QuantizeArgs a;
    a.max_tokens = max_tokens;
    a.max_pos = max_pos;
    a.cols = cols;
    a.group = group;
    a.x_at = x_at;
    a.x = x;
    a.xq = s.xq;
    a.xscale = s.xscale;
    a.xsum = s.xsum;
    KITE_RETURN_IF_ERROR(p.Add(*m.q8_quantize, a, when));
  }
  // The products (each matrix's parts, every matrix) write disjoint rows.
  p.BeginGroup();
  for (size_t i = 0; i < count; ++i) {
    const DeviceTensor& w = *outs[i].w;
    if (QuantGroup(*w.view) != group) continue;
    for (uint32_t k = 0; k < w.part_count; ++k) {
      const TensorPart& part = w.parts[k];
      RowAddress y_at = outs[i].y_at;
      y_at.offset += part.row_begin;
      if (group != 0) {
        vulkan::Q4MatvecArgs a;
        a.max_tokens = max_tokens;
        a.max_pos = max_pos;
        a.rows = part.row_count;
        a.groups = groups;
        a.group = group;
        a.mins = w.view->mins != nullptr;
        a.y_at = y_at;
        a.w = part.data;
        a.params = part.scales;  // Q4_ROW_GROUPS only
        a.xq = s.xq;
        a.xscale = s.xscale;
        a.xsum = s.xsum;
        a.y = outs[i].y;
        KITE_RETURN_IF_ERROR(AddQ4Matvec(p, m, *w.view, a, when));
        continue;
      }
      // F32 (stored as f32 or f16) or Q8_C (DeviceWeights accepted nothing else).
      vulkan::DenseMatvecArgs a;
      a.max_tokens = max_tokens;
      a.max_pos = max_pos;
      a.rows = part.row_count;
      a.cols = cols;
      a.x_at = x_at;
      a.y_at = y_at;
      a.w = part.data;
      a.scales = part.scales;  // null for F32
      a.x = x;
      a.y = outs[i].y;
      const bool q8 = w.view->dtype == DType::Q8_C;
      const vulkan::DenseMatvec& op = q8 ? *m.q8c_matvec : w.f16 ? *m.f16_matvec : *m.f32_matvec;
      KITE_RETURN_IF_ERROR(p.Add(op, a, when));
    }
  }
  p.EndGroup();
  return Status::Ok();
}

// y = W x for each output (all reading the same `cols` floats of x at x_at): one dispatch
// per part of each matrix. The outputs are taken by activation group, in the order each
// group first appears: the f32 ones, or one quantization of x shared by the 4-bit matrices
// of one group (Q4_ROW_GROUPS matrices may differ), then their products.
Status AddLinears(Planner& p, const VulkanModel::State& m, const VulkanForward::State& s,
                  const Output* outs, size_t count, const Buffer* x, RowAddress x_at,
                  uint32_t cols, When when) {
  for (size_t first = 0; first < count; ++first) {
    const uint32_t group = QuantGroup(*outs[first].w->view);
    bool seen = false;
    for (size_t i = 0; i < first; ++i) seen = seen || QuantGroup(*outs[i].w->view) == group;
    if (!seen) {
      KITE_RETURN_IF_ERROR(AddLinearsOfGroup(p, m, s, outs, count, group, x, x_at, cols, when));
    }
  }
  return Status::Ok();
}

// xb rows = RMSNorm(x rows) with `weight`.
Status AddRmsNorm(Planner& p, const VulkanModel::State& m, const VulkanForward::State& s,
                  const DeviceTensor& weight, RowAddress x_at, RowAddress out_at, When when) {
  vulkan::RmsNormArgs a;
  a.max_tokens = p.MaxTokens(when);
  a.max_pos = p.MaxPos(when);
  a.n = m.model->config().dim;
  a.x_at = x_at;
  a.out_at = out_at;
  a.eps = m.model->config().norm_eps;
  a.x = s.x;
  a.weight = weight.parts[0].data;
  a.out = s.xb;
  return p.Add(*m.rmsnorm, a, when);
}

// a += b over n floats per token (b_at all zero: one vector for every token).
Status AddAdd(Planner& p, const vulkan::Elementwise& op, uint32_t n, const Buffer* a,
              RowAddress a_at, const Buffer* b, RowAddress b_at) {
  vulkan::ElementwiseArgs e;
  e.max_tokens = p.MaxTokens(When::kChunk);
  e.max_pos = p.MaxPos(When::kChunk);
  e.n = n;
  e.a_at = a_at;
  e.b_at = b_at;
  e.a = a;
  e.b = b;
  return p.Add(op, e, When::kChunk);
}

Status AddRope(Planner& p, const VulkanModel::State& m, const VulkanForward::State& s,
               uint32_t heads, const Buffer* x, RowAddress x_at) {
  vulkan::RopeArgs a;
  a.max_tokens = p.MaxTokens(When::kChunk);
  a.max_pos = p.MaxPos(When::kChunk);
  a.heads = heads;
  a.head_dim = m.model->config().head_dim;
  a.x_at = x_at;
  a.x = x;
  a.cos_sin = s.rope_cos_sin;
  return p.Add(*m.rope, a, When::kChunk);
}

// The whole forward pass, in order.
Status PlanForward(Planner& p, const VulkanModel::State& m, const VulkanForward::State& s) {
  const ModelConfig& c = m.model->config();
  const vk_runtime::DeviceWeights& w = *m.weights;
  const uint32_t dim = c.dim, kv_dim = c.kv_dim(), q_dim = c.q_dim(), hidden = c.hidden_dim;
  const uint32_t xb_stride = dim > q_dim ? dim : q_dim;
  const RowAddress x_rows{0, 0, dim}, xb_rows{0, 0, xb_stride}, q_rows{0, 0, q_dim},
      hb_rows{0, 0, hidden}, cache_rows{0, kv_dim, kv_dim}, vector{0, 0, 0};

  for (uint32_t k = 0; k < w.embedding().part_count; ++k) {
    const TensorPart& part = w.embedding().parts[k];
    vulkan::EmbeddingArgs a;
    a.max_tokens = p.MaxTokens(When::kChunk);
    a.max_pos = p.MaxPos(When::kChunk);
    a.cols = dim;
    a.row_begin = part.row_begin;
    a.row_count = part.row_count;
    a.group = w.embedding().view->group_size;
    a.mins = w.embedding().view->mins != nullptr;
    a.out_at = x_rows;
    a.tokens = s.tokens;
    a.table = part.data;
    a.scales = part.scales;
    a.out = s.x;
    a.codebook = w.embedding().view->codebook;  // Q4_R16_G32_CB only
    KITE_RETURN_IF_ERROR(p.Add(*m.embedding, a, When::kChunk));
  }

  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const vk_runtime::LayerTensors& t = w.layer(l);
    // K and V rows go straight into an f32 cache; for an int8 cache they are staged in f32
    // and quantized after RoPE.
    const Buffer* k_cache = s.key_cache[l];
    const Buffer* v_cache = s.value_cache[l];
    const Buffer* k_dst = s.int8_kv ? s.k_rows : k_cache;
    const Buffer* v_dst = s.int8_kv ? s.v_rows : v_cache;
    const RowAddress kv_at = s.int8_kv ? RowAddress{0, 0, kv_dim} : cache_rows;
    KITE_RETURN_IF_ERROR(AddRmsNorm(p, m, s, t.attention_norm, x_rows, xb_rows, When::kChunk));
    const Output qkv[] = {{&t.wq, s.q, q_rows}, {&t.wk, k_dst, kv_at}, {&t.wv, v_dst, kv_at}};
    KITE_RETURN_IF_ERROR(AddLinears(p, m, s, qkv, 3, s.xb, xb_rows, dim, When::kChunk));
    // Each group below works on q, k and v apart.
    if (c.attention_bias) {
      p.BeginGroup();
      KITE_RETURN_IF_ERROR(AddAdd(p, *m.add, q_dim, s.q, q_rows, t.bq.parts[0].data, vector));
      KITE_RETURN_IF_ERROR(AddAdd(p, *m.add, kv_dim, k_dst, kv_at, t.bk.parts[0].data, vector));
      KITE_RETURN_IF_ERROR(AddAdd(p, *m.add, kv_dim, v_dst, kv_at, t.bv.parts[0].data, vector));
      p.EndGroup();
    }
    p.BeginGroup();
    KITE_RETURN_IF_ERROR(AddRope(p, m, s, c.n_heads, s.q, q_rows));
    KITE_RETURN_IF_ERROR(AddRope(p, m, s, c.n_kv_heads, k_dst, kv_at));
    p.EndGroup();
    if (s.int8_kv) {
      // K and V: their own rows, codes and (scale, offset) words.
      p.BeginGroup();
      for (int v = 0; v < 2; ++v) {
        vulkan::Q8kvQuantizeArgs a;
        a.max_tokens = p.MaxTokens(When::kChunk);
        a.max_pos = p.MaxPos(When::kChunk);
        a.n_kv_heads = c.n_kv_heads;
        a.head_dim = c.head_dim;
        a.x_at = kv_at;
        a.codes_at = cache_rows;
        a.params_at = RowAddress{v ? s.kv_params_values : 0, c.n_kv_heads, c.n_kv_heads};
        a.x = v ? v_dst : k_dst;
        a.codes = v ? v_cache : k_cache;
        a.params = s.kv_params[l];
        KITE_RETURN_IF_ERROR(p.Add(*m.q8kv_quantize, a, When::kChunk));
      }
      p.EndGroup();
    }

    vulkan::AttentionArgs att;
    att.max_tokens = p.MaxTokens(When::kChunk);
    att.max_pos = p.MaxPos(When::kChunk);
    att.n_heads = c.n_heads;
    att.n_kv_heads = c.n_kv_heads;
    att.head_dim = c.head_dim;
    att.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    att.q_at = q_rows;
    att.out_at = xb_rows;
    att.q = s.q;
    att.keys = k_cache;
    att.values = v_cache;
    att.out = s.xb;
    if (s.int8_kv) {
      att.value_param_offset = s.kv_params_values;
      att.params = s.kv_params[l];
    }
    KITE_RETURN_IF_ERROR(p.Add(s.int8_kv ? *m.attention_q8 : *m.attention, att, When::kChunk));

    const Output wo[] = {{&t.wo, s.xb2, x_rows}};
    KITE_RETURN_IF_ERROR(AddLinears(p, m, s, wo, 1, s.xb, xb_rows, q_dim, When::kChunk));
    KITE_RETURN_IF_ERROR(AddAdd(p, *m.add, dim, s.x, x_rows, s.xb2, x_rows));

    KITE_RETURN_IF_ERROR(AddRmsNorm(p, m, s, t.ffn_norm, x_rows, xb_rows, When::kChunk));
    const Output gate_up[] = {{&t.w1, s.hb, hb_rows}, {&t.w3, s.hb2, hb_rows}};
    KITE_RETURN_IF_ERROR(AddLinears(p, m, s, gate_up, 2, s.xb, xb_rows, dim, When::kChunk));
    KITE_RETURN_IF_ERROR(AddAdd(p, *m.swiglu, hidden, s.hb, hb_rows, s.hb2, hb_rows));
    const Output down[] = {{&t.w2, s.xb, xb_rows}};
    KITE_RETURN_IF_ERROR(AddLinears(p, m, s, down, 1, s.hb, hb_rows, hidden, When::kChunk));
    KITE_RETURN_IF_ERROR(AddAdd(p, *m.add, dim, s.x, x_rows, s.xb, xb_rows));
  }

  // The final norm and the head on the chunk's last token only: recorded with n_tokens = 1
  // at pos = n - 1, x's row at n - 1 (pos_stride = its row), into xb's first row.
  const RowAddress last_x{0, dim, 0}, first_xb{0, 0, 0};
  KITE_RETURN_IF_ERROR(AddRmsNorm(p, m, s, w.norm(), last_x, first_xb, When::kLogitsLast));
  const Output head[] = {{&w.output(), s.logits, RowAddress{0, 0, c.vocab_size}}};
  return AddLinears(p, m, s, head, 1, s.xb, first_xb, dim, When::kLogitsLast);
}

// Records a global memory barrier from (src_stage, src_access) to (dst_stage, dst_access).
void RecordBarrier(const vulkan::Functions& vk, VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                   VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                   VkAccessFlags dst_access) {
  VkMemoryBarrier barrier = {};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = src_access;
  barrier.dstAccessMask = dst_access;
  vk.CmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

// Timestamp queries when the device's queue supports them; else leaves s.queries null.
Status SetUpProfiling(const vulkan::Device& d, VulkanForward::State& s) {
  VkQueueFamilyProperties families[32];
  uint32_t count = 32;
  d.vk().GetPhysicalDeviceQueueFamilyProperties(d.physical(), &count, families);
  const uint32_t family = d.queue().family;
  const uint32_t bits = family < count ? families[family].timestampValidBits : 0;
  const float period = d.properties().limits.timestampPeriod;
  if (bits == 0 || !(period > 0.0f)) return Status::Ok();  // kernel_times() stays empty
  s.ns_per_tick = period;
  s.tick_mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
  VkQueryPoolCreateInfo info = {};
  info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
  info.queryType = VK_QUERY_TYPE_TIMESTAMP;
  info.queryCount = static_cast<uint32_t>(s.steps.size() + 1);
  KITE_RETURN_IF_ERROR(vulkan::VkCheck(
      d.vk().CreateQueryPool(d.handle(), &info, nullptr, &s.queries), "vkCreateQueryPool"));
  s.stamps.resize(s.steps.size() + 1);
  s.recorded.resize(s.steps.size());
  return Status::Ok();
}

}  // namespace

VulkanForward::VulkanForward(std::unique_ptr<State> state) : state_(std::move(state)) {}
VulkanForward::~VulkanForward() = default;

Result<std::unique_ptr<VulkanForward>> VulkanForward::Create(const VulkanModel& model,
                                                             uint32_t max_batch,
                                                             uint32_t max_context,
                                                             bool profile, KvType kv_type,
                                                             uint64_t state_staging_bytes) {
  const VulkanModel::State& m = model.state();
  const ModelConfig& c = m.model->config();
  KITE_CHECK_OR_RETURN(max_batch >= 1 && max_context >= 1 && max_batch <= max_context,
                       Error::kInvalidArgument,
                       "Vulkan forward pass: max_batch %u and max_context %u (need 1 <= "
                       "max_batch <= max_context)",
                       max_batch, max_context);
  const vulkan::Device& d = *m.device;
  std::unique_ptr<State> s(new State);
  s->m = &m;
  s->vk = &d.vk();
  s->device = d.handle();
  s->max_batch = max_batch;
  s->max_context = max_context;
  KITE_ASSIGN_OR_RETURN(vulkan::CommandStream stream, vulkan::CommandStream::Create(d));
  s->stream.emplace(std::move(stream));

  // Buffers (memory formula in docs/vulkan.md). The KV caches have max_batch - 1 rows of
  // slack: a dispatch is checked for max_batch tokens at any position up to max_context - 1.
  const uint64_t batch = max_batch;
  const uint32_t dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hidden = c.hidden_dim;
  const uint32_t xb_stride = dim > q_dim ? dim : q_dim;
  uint32_t widest = dim > q_dim ? dim : q_dim;
  widest = widest > hidden ? widest : hidden;
  // The int8 activations: groups of 32 over the widest row, or what the model's 4-bit
  // matrices need if more (Q4_ROW_GROUPS groups other than 32).
  uint64_t q_elements = 0, q_groups = 0;
  QuantScratchSize(*m.model, &q_elements, &q_groups);
  uint64_t groups = (widest + kQ4R16GroupSize - 1) / kQ4R16GroupSize;
  q_elements = q_elements > groups * kQ4R16GroupSize ? q_elements : groups * kQ4R16GroupSize;
  groups = q_groups > groups ? q_groups : groups;
  const uint64_t cache_rows = static_cast<uint64_t>(max_context) + max_batch - 1;
  s->int8_kv = kv_type == KvType::kInt8;
  KITE_CHECK_OR_RETURN(!s->int8_kv || c.head_dim % 4 == 0, Error::kUnsupported,
                       "an int8 KV cache on Vulkan needs head_dim a multiple of 4 (it is %u)",
                       c.head_dim);
  const uint64_t cache_bytes = cache_rows * kv_dim * (s->int8_kv ? 1 : 4);
  s->kv_params_values = static_cast<uint32_t>(cache_rows * c.n_kv_heads);
  s->buffers.reserve(15 + 3 * c.n_layers);
  auto make = [&](uint64_t bytes, const char* what, vulkan::Memory memory,
                  const Buffer** out) -> Status {
    KITE_ASSIGN_OR_RETURN(Buffer b, Buffer::Create(d, bytes, what, memory));
    s->buffers.push_back(std::move(b));
    *out = &s->buffers.back();
    return Status::Ok();
  };
  constexpr vulkan::Memory kHost = vulkan::Memory::kHostVisible;
  constexpr vulkan::Memory kDevice = vulkan::Memory::kDeviceLocal;
  KITE_RETURN_IF_ERROR(make(batch * 4, "tokens", kHost, &s->tokens));
  KITE_RETURN_IF_ERROR(make(c.vocab_size * 4ull, "logits", kHost, &s->logits));
  KITE_RETURN_IF_ERROR(make(batch * dim * 4, "x", kDevice, &s->x));
  KITE_RETURN_IF_ERROR(make(batch * xb_stride * 4, "xb", kDevice, &s->xb));
  KITE_RETURN_IF_ERROR(make(batch * dim * 4, "xb2", kDevice, &s->xb2));
  KITE_RETURN_IF_ERROR(make(batch * q_dim * 4, "q", kDevice, &s->q));
  KITE_RETURN_IF_ERROR(make(batch * hidden * 4, "hb", kDevice, &s->hb));
  KITE_RETURN_IF_ERROR(make(batch * hidden * 4, "hb2", kDevice, &s->hb2));
  KITE_RETURN_IF_ERROR(make(batch * q_elements, "xq", kDevice, &s->xq));
  KITE_RETURN_IF_ERROR(make(batch * groups * 4, "xscale", kDevice, &s->xscale));
  KITE_RETURN_IF_ERROR(make(batch * groups * 4, "xsum", kDevice, &s->xsum));
  s->key_cache.resize(c.n_layers);
  s->value_cache.resize(c.n_layers);
  s->kv_params.resize(c.n_layers);
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    KITE_RETURN_IF_ERROR(make(cache_bytes, "key cache", kDevice, &s->key_cache[l]));
    KITE_RETURN_IF_ERROR(make(cache_bytes, "value cache", kDevice, &s->value_cache[l]));
    if (s->int8_kv) {
      KITE_RETURN_IF_ERROR(make(2ull * s->kv_params_values * 4, "KV cache scales and offsets",
                                kDevice, &s->kv_params[l]));
    }
  }
  if (s->int8_kv) {
    KITE_RETURN_IF_ERROR(make(batch * kv_dim * 4, "k rows", kDevice, &s->k_rows));
    KITE_RETURN_IF_ERROR(make(batch * kv_dim * 4, "v rows", kDevice, &s->v_rows));
  }
  // The session state's transfers (ReadKv/WriteKv): pieces of at most kStateStagingBytes
  // (or what the caller asked), and no more than one layer's keys.
  uint64_t staging = state_staging_bytes > 0 ? state_staging_bytes : kStateStagingBytes;
  const uint64_t keys_bytes = static_cast<uint64_t>(max_context) * kv_dim * (s->int8_kv ? 1 : 4);
  staging = staging < keys_bytes ? staging : keys_bytes;
  KITE_RETURN_IF_ERROR(make(staging, "session state staging", kHost, &s->staging));
  // RoPE's cosines and sines, the CPU's values (the shader cannot call libm): written here,
  // read only by the shader, so not zeroed below.
  const size_t pairs = c.head_dim / 2;
  KITE_RETURN_IF_ERROR(make(cache_rows * pairs * 8, "RoPE cos/sin table", kHost,
                            &s->rope_cos_sin));
  kernels::RopeCosSinTable(pairs, m.rope_inv_freq.data(), static_cast<size_t>(cache_rows),
                           static_cast<float*>(s->rope_cos_sin->data()));

  // Zero every device buffer once (no stale bits in padding that a shader might read).
  KITE_ASSIGN_OR_RETURN(VkCommandBuffer cmd, s->stream->Begin());
  for (const Buffer& b : s->buffers) {
    if (&b != s->rope_cos_sin) s->vk->CmdFillBuffer(cmd, b.handle(), 0, VK_WHOLE_SIZE, 0);
  }
  RecordBarrier(d.vk(), cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  KITE_RETURN_IF_ERROR(s->stream->SubmitAndWait(vk_runtime::kSubmitTimeoutNs));

  // Count the descriptor sets, make the pool, then prepare every dispatch.
  Planner counter(s.get(), true);
  KITE_RETURN_IF_ERROR(PlanForward(counter, m, *s));
  KITE_ASSIGN_OR_RETURN(vulkan::DescriptorPool pool,
                        vulkan::DescriptorPool::Create(d, counter.sets(),
                                                       counter.sets() * vulkan::kMaxBindings));
  s->pool.emplace(std::move(pool));
  s->steps.reserve(counter.sets());
  Planner planner(s.get(), false);
  KITE_RETURN_IF_ERROR(PlanForward(planner, m, *s));
  if (profile) KITE_RETURN_IF_ERROR(SetUpProfiling(d, *s));
  return std::unique_ptr<VulkanForward>(new VulkanForward(std::move(s)));
}

Status VulkanForward::Forward(const int32_t* tokens, uint32_t n, uint32_t pos,
                              bool want_logits) {
  State& s = *state_;
  if (!s.failed.ok()) return s.failed;
  assert(n >= 1 && n <= s.max_batch && pos + n <= s.max_context);
  std::memcpy(s.tokens->data(), tokens, n * sizeof(int32_t));
  Result<VkCommandBuffer> begun = s.stream->Begin();
  if (!begun.ok()) return s.Note(begun.status());
  const VkCommandBuffer cmd = *begun;
  if (s.queries != VK_NULL_HANDLE) {
    s.vk->CmdResetQueryPool(cmd, s.queries, 0, static_cast<uint32_t>(s.stamps.size()));
    s.vk->CmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, s.queries, 0);
  }
  uint32_t recorded = 0;
  s.barriers = 0;
  const Dispatch* unfenced = nullptr;  // the last dispatch, when no barrier follows it yet
  uint32_t group = 0;                  // the last dispatch's group
  for (const Step& step : s.steps) {
    if (step.when != When::kChunk && !want_logits) continue;
    if (step.tokens != Tokens::kAny && (step.tokens == Tokens::kOne) != (n == 1)) continue;
    if (unfenced != nullptr && (step.group == 0 || step.group != group)) {
      step.dispatch.RecordBarrier(cmd);
      ++s.barriers;
    }
    if (step.when == When::kLogitsLast) {
      step.dispatch.Record(cmd, 1, n - 1, false);
    } else {
      step.dispatch.Record(cmd, n, pos, false);
    }
    unfenced = &step.dispatch;
    group = step.group;
    if (s.queries != VK_NULL_HANDLE) {
      s.vk->CmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s.queries, recorded + 1);
      s.recorded[recorded] = step.kernel;
    }
    ++recorded;
  }
  if (unfenced != nullptr) {  // the last writes, visible to the host
    unfenced->RecordBarrier(cmd);
    ++s.barriers;
  }
  KITE_RETURN_IF_ERROR(s.Note(s.stream->SubmitAndWait(vk_runtime::kSubmitTimeoutNs)));
  if (s.queries != VK_NULL_HANDLE) {
    s.profiled_kernels = 0;
    for (VulkanKernelTime& k : s.kernel_times) k.calls = 0, k.ms = 0.0;
    const VkResult r = s.vk->GetQueryPoolResults(
        s.device, s.queries, 0, recorded + 1, (recorded + 1) * sizeof(uint64_t), s.stamps.data(),
        sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    KITE_RETURN_IF_ERROR(vulkan::VkCheck(r, "vkGetQueryPoolResults"));
    for (uint32_t i = 0; i < recorded; ++i) {
      const uint64_t ticks = (s.stamps[i + 1] - s.stamps[i]) & s.tick_mask;
      VulkanKernelTime& k = s.kernel_times[s.recorded[i]];
      k.calls += 1;
      k.ms += static_cast<double>(ticks) * s.ns_per_tick * 1e-6;
    }
    s.profiled_kernels = static_cast<uint32_t>(s.kernel_times.size());
  }
  return Status::Ok();
}

const float* VulkanForward::logits() const {
  return static_cast<const float*>(state_->logits->data());
}

const VulkanKernelTime* VulkanForward::kernel_times(uint32_t* count) const {
  *count = state_->profiled_kernels;
  return state_->kernel_times.data();
}

bool VulkanForward::profiling() const { return state_->queries != VK_NULL_HANDLE; }

uint32_t VulkanForward::barriers() const { return state_->barriers; }

Status VulkanForward::ReadKv(VulkanKvPart part, uint32_t layer, uint64_t bytes, void* dst) {
  return CopyKv(part, layer, bytes, dst, true);
}

Status VulkanForward::WriteKv(VulkanKvPart part, uint32_t layer, uint64_t bytes, const void* src) {
  return CopyKv(part, layer, bytes, const_cast<void*>(src), false);
}

Status VulkanForward::CopyKv(VulkanKvPart part, uint32_t layer, uint64_t bytes, void* host,
                             bool to_host) {
  State& s = *state_;
  if (!s.failed.ok()) return s.failed;
  KITE_CHECK_OR_RETURN(layer < s.key_cache.size(), Error::kInvalidArgument,
                       "Vulkan KV cache: layer %u of %zu", layer, s.key_cache.size());
  const Buffer* buffer = nullptr;
  uint64_t first = 0;
  uint64_t capacity = 0;
  switch (part) {
    case VulkanKvPart::kKeys:
    case VulkanKvPart::kValues:
      buffer = part == VulkanKvPart::kKeys ? s.key_cache[layer] : s.value_cache[layer];
      capacity = buffer->size();
      break;
    case VulkanKvPart::kKeyParams:
    case VulkanKvPart::kValueParams:
      buffer = s.kv_params[layer];
      capacity = s.kv_params_values * 4ull;
      first = part == VulkanKvPart::kKeyParams ? 0 : capacity;
      break;
  }
  KITE_CHECK_OR_RETURN(buffer != nullptr, Error::kInvalidArgument,
                       "Vulkan KV cache: an f32 cache has no scales and offsets");
  KITE_CHECK_OR_RETURN(bytes <= capacity, Error::kInvalidArgument,
                       "Vulkan KV cache: %llu bytes of layer %u asked, the part holds %llu",
                       static_cast<unsigned long long>(bytes), layer,
                       static_cast<unsigned long long>(capacity));
  uint8_t* bytes_host = static_cast<uint8_t*>(host);
  void* staging = s.staging->data();
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t left = bytes - done;
    const uint64_t n = left < s.staging->size() ? left : s.staging->size();
    if (!to_host) std::memcpy(staging, bytes_host + done, n);
    Result<VkCommandBuffer> begun = s.stream->Begin();
    if (!begun.ok()) return s.Note(begun.status());
    const VkCommandBuffer cmd = *begun;
    // After the forward passes' shader accesses (earlier submissions), before the next ones.
    RecordBarrier(*s.vk, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                  VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                  VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    VkBufferCopy region = {};
    region.srcOffset = to_host ? first + done : 0;
    region.dstOffset = to_host ? 0 : first + done;
    region.size = n;
    s.vk->CmdCopyBuffer(cmd, to_host ? buffer->handle() : s.staging->handle(),
                        to_host ? s.staging->handle() : buffer->handle(), 1, &region);
    if (to_host) {
      RecordBarrier(*s.vk, cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    } else {
      RecordBarrier(*s.vk, cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    }
    KITE_RETURN_IF_ERROR(s.Note(s.stream->SubmitAndWait(vk_runtime::kSubmitTimeoutNs)));
    if (to_host) std::memcpy(bytes_host + done, staging, n);
    done += n;
  }
  return Status::Ok();
}

}  // namespace kite
