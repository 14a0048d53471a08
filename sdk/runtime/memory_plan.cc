#include "sdk/runtime/memory_plan.h"

#include "sdk/base/arena.h"
#include "sdk/runtime/sampler.h"
#include "sdk/runtime/text_stream.h"

namespace kite {
namespace {

// Appends `bytes` to the plan (padded to whole aligned blocks) and returns the offset.
size_t Take(size_t* cursor, uint64_t bytes) {
  const size_t offset = *cursor;
  *cursor += AlignUp(static_cast<size_t>(bytes), kSessionArenaAlignment);
  return offset;
}

}  // namespace

uint32_t ActivationGroupSize(const TensorView& t) {
  // Q4_G_SP24 and Q3_R16_G64 activations are quantized in groups of 32 (their scale groups
  // are 64 wide).
  if (t.dtype == DType::Q4_G_SP24) return static_cast<uint32_t>(kQ4SP24GroupSize);
  if (t.layout == Layout::Q3_R16_G64) return static_cast<uint32_t>(kQ4R16GroupSize);
  return t.group_size;
}

uint64_t ActivationGroups(const TensorView& t) {
  const uint64_t size = ActivationGroupSize(t);
  const uint64_t groups = (t.cols + size - 1) / size;
  return t.layout == Layout::Q3_R16_G64 ? (groups + 1) / 2 * 2 : groups;
}

void QuantScratchSize(const Model& model, uint64_t* elements, uint64_t* groups) {
  *elements = 0;
  *groups = 0;
  const auto visit = [&](const TensorView& t) {
    if (t.dtype != DType::Q4_G && t.dtype != DType::Q4_G_SP24) return;
    const uint64_t size = ActivationGroupSize(t);
    const uint64_t g = ActivationGroups(t);
    if (g * size > *elements) *elements = g * size;
    if (g > *groups) *groups = g;
  };
  visit(model.output());
  for (uint32_t i = 0; i < model.config().n_layers; ++i) {
    const LayerWeights& l = model.layer(i);
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3}) visit(*t);
  }
}

Result<MemoryPlan> PlanSessionMemory(const Model& model, const SessionOptions& options) {
  const ModelConfig& c = model.config();
  KITE_CHECK_OR_RETURN(!model.vocab_only(), Error::kUnsupported,
                       "this model file holds only a tokenizer (converted with --vocab-only): "
                       "it can tokenize but has no weights to run a session");
  KITE_CHECK_OR_RETURN(options.max_context >= 1 && options.max_context <= c.max_seq_len,
                       Error::kInvalidArgument,
                       "max_context %u is out of range: it must be between 1 and the model's "
                       "max_seq_len %u",
                       options.max_context, c.max_seq_len);
  KITE_CHECK_OR_RETURN(options.threads >= 1 && options.threads <= kMaxThreads,
                       Error::kInvalidArgument, "threads %u is out of range [1, %u]",
                       options.threads, kMaxThreads);
  KITE_CHECK_OR_RETURN(options.prefill_chunk >= 1 && options.prefill_chunk <= kMaxPrefillChunk,
                       Error::kInvalidArgument, "prefill_chunk %u is out of range [1, %u]",
                       options.prefill_chunk, kMaxPrefillChunk);
  KITE_CHECK_OR_RETURN(options.kv_type == KvType::kF32 || options.kv_type == KvType::kInt8,
                       Error::kInvalidArgument, "kv_type %u is unknown (0: f32, 1: int8)",
                       static_cast<uint32_t>(options.kv_type));
  KITE_CHECK_OR_RETURN(options.backend == Backend::kCpu || options.backend == Backend::kVulkan ||
                           options.backend == Backend::kAuto,
                       Error::kInvalidArgument, "backend %u is unknown (0: cpu, 1: vulkan, 2: auto)",
                       static_cast<uint32_t>(options.backend));
  KITE_CHECK_OR_RETURN(!options.context_shift || options.n_keep + 2 <= options.max_context,
                       Error::kInvalidArgument,
                       "n_keep %u is too large: a context shift needs n_keep + 2 <= max_context "
                       "(%u)",
                       options.n_keep, options.max_context);
  const uint64_t ctx = options.max_context;
  const uint64_t chunk = options.prefill_chunk;
  MemoryPlan p;
  size_t cursor = 0;
  const uint64_t f = sizeof(float);
  p.x = Take(&cursor, chunk * c.dim * f);
  p.xb = Take(&cursor, chunk * (c.dim > c.q_dim() ? c.dim : c.q_dim()) * f);
  p.xb2 = Take(&cursor, chunk * c.dim * f);
  p.hb = Take(&cursor, chunk * c.hidden_dim * f);
  p.hb2 = Take(&cursor, chunk * c.hidden_dim * f);
  p.q = Take(&cursor, chunk * c.q_dim() * f);
  p.att = Take(&cursor, c.n_heads * ctx * f);
  p.logits = Take(&cursor, c.vocab_size * f);
  p.activation_bytes = cursor;
  // Config limits (model.cc) keep these products far below 2^63.
  const bool int8_kv = options.kv_type == KvType::kInt8;
  const uint64_t kv_rows = static_cast<uint64_t>(c.n_layers) * ctx;
  const uint64_t kv = kv_rows * c.kv_dim() * (int8_kv ? 1 : f);
  p.key_cache = Take(&cursor, kv);
  p.value_cache = Take(&cursor, kv);
  if (int8_kv) {
    // An f16 scale and offset per KV head per row (kernels::q8kv_quantize).
    p.key_params = Take(&cursor, kv_rows * c.n_kv_heads * 2 * sizeof(uint16_t));
    p.value_params = Take(&cursor, kv_rows * c.n_kv_heads * 2 * sizeof(uint16_t));
  }
  p.kv_cache_bytes = cursor - p.activation_bytes;
  if (int8_kv) {
    // The chunk's f32 K and V rows wait in hb / hb2 (free until the feed-forward) when those
    // hold them, in buffers of their own otherwise.
    const bool reuse = c.hidden_dim >= c.kv_dim();
    p.k_rows = reuse ? p.hb : Take(&cursor, chunk * c.kv_dim() * f);
    p.v_rows = reuse ? p.hb2 : Take(&cursor, chunk * c.kv_dim() * f);
  }
  uint64_t q_elements = 0, q_groups = 0;
  QuantScratchSize(model, &q_elements, &q_groups);
  p.xq_stride = q_elements;
  p.xq_groups = q_groups;
  p.xq = Take(&cursor, chunk * q_elements);
  p.xq_scales = Take(&cursor, chunk * q_groups * f);
  p.xq_sums = Take(&cursor, chunk * q_groups * sizeof(int32_t));
  p.sampler = Take(&cursor, static_cast<uint64_t>(c.vocab_size) * sizeof(ProbIndex));
  // Prompt encoding needs one id per byte before merging, and its fast merge path three
  // times that: 12 ids per context position covers any prompt of up to 4 bytes per token,
  // more than a prompt that fits the context needs.
  p.token_capacity = static_cast<uint32_t>(12 * ctx + 16);
  p.tokens = Take(&cursor, static_cast<uint64_t>(p.token_capacity) * sizeof(int32_t));
  // The context never holds more than max_context tokens, so a shorter ring sees them all.
  p.recent_capacity = static_cast<uint32_t>(ctx < kMaxPenaltyLastN ? ctx : kMaxPenaltyLastN);
  p.recent_tokens = Take(&cursor, static_cast<uint64_t>(p.recent_capacity) * sizeof(int32_t));
  p.penalty_window = Take(&cursor, static_cast<uint64_t>(p.recent_capacity) * sizeof(int32_t));
  p.context_tokens = Take(&cursor, ctx * sizeof(int32_t));
  p.text_capacity = TextStream::BufferBytes(model.tokenizer().view().max_piece_length);
  p.text = Take(&cursor, p.text_capacity);
  p.total_bytes = cursor;
  return p;
}

}  // namespace kite
