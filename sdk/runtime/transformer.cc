#include "sdk/runtime/transformer.h"

#include <cassert>
#include <cmath>
#include <cstring>

#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/row-dequant/row-dequant.h"
#include "sdk/runtime/memory_plan.h"
#if KITE_WITH_XNNPACK
#include "sdk/backends/xnnpack/dense_linear.h"
#endif

namespace kite {
namespace {

// Tiles per thread in a parallel Linear loop (see RowTile).
constexpr size_t kTasksPerThread = 16;

// One matrix of a Linear call: y = W x, with its first work unit in the call's range.
struct LinearPart {
  const TensorView* w;
  float* y;
  size_t y_stride;
  size_t first_unit;
  size_t units;       // rows of blocks (Encoding::block_rows rows each; 1 for row layouts)
  size_t unit_rows;   // rows per unit
  size_t unit_bytes;  // bytes of one unit of w.data (RowBlockBytes)
};

// One Linear call (up to 3 matrices sharing the input x), split over threads by units.
struct LinearTask {
  const kernels::KernelTable* k;
  LinearPart parts[3];
  size_t n_parts;
  uint32_t n;  // tokens
  const float* x;
  size_t x_stride;
  const int8_t* xq;  // quantized x, `padded` values per token
  const float* xscale;
  const int32_t* xsum;
  size_t padded;
  size_t groups;
  // Fusions (Transformer::LinearFusion): with `swiglu`, parts[0] (gate) and parts[1] (up)
  // cover the same units and a task runs both; with `residual`, one part whose rows a task
  // adds into residual.
  bool swiglu;
  float* residual;
  size_t residual_stride;
};

// Units [begin, end) of one part, for every token.
void PartRange(const LinearTask& t, const LinearPart& part, size_t begin, size_t end) {
  const TensorView& w = *part.w;
  const size_t rows = end - begin;
  float* y = part.y;
  const size_t ys = part.y_stride;
  switch (w.dtype) {
    case DType::F32: {
      const float* wr = static_cast<const float*>(w.data) + begin * w.cols;
      for (uint32_t i = 0; i < t.n; ++i) {
        t.k->f32_matvec(rows, w.cols, wr, t.x + i * t.x_stride, y + i * ys + begin);
      }
      return;
    }
    case DType::Q8_C: {
      const int8_t* wr = static_cast<const int8_t*>(w.data) + begin * w.cols;
      const float* sr = static_cast<const float*>(w.scales) + begin;
      for (uint32_t i = 0; i < t.n; ++i) {
        t.k->q8c_matvec(rows, w.cols, wr, sr, t.x + i * t.x_stride, y + i * ys + begin);
      }
      return;
    }
    case DType::Q4_G:
      break;
    case DType::Q4_G_SP24: {
      const size_t row0 = begin * part.unit_rows;
      const size_t row_end = end * part.unit_rows < w.rows ? end * part.unit_rows : w.rows;
      t.k->qd8_q4sp24_gemm(t.n, row_end - row0, t.groups,
                           static_cast<const uint8_t*>(w.data) + begin * part.unit_bytes, t.xq,
                           t.xscale, y + row0, ys);
      return;
    }
    default:
      assert(false && "dtype rejected by the loader");
      return;
  }
  if (w.layout == Layout::Q4_R16_G32 || w.layout == Layout::Q4_R16_G32_SYM ||
      w.layout == Layout::Q4_R16_G32_CB || w.layout == Layout::Q3_R16_G32 ||
      w.layout == Layout::Q3_R16_G64) {
    const size_t row0 = begin * part.unit_rows;
    const size_t row_end = end * part.unit_rows < w.rows ? end * part.unit_rows : w.rows;
    if (w.layout == Layout::Q3_R16_G32 || w.layout == Layout::Q3_R16_G64) {
      t.k->qd8_q3r16_gemm(t.n, row_end - row0, t.groups, w.group_size / kQ4R16GroupSize,
                          static_cast<const uint8_t*>(w.data) + begin * part.unit_bytes, t.xq,
                          t.xscale, t.xsum, y + row0, ys);
      return;
    }
    if (w.layout == Layout::Q4_R16_G32_CB) {
      t.k->qd8_q4r16cb_gemm(t.n, row_end - row0, t.groups,
                            static_cast<const uint8_t*>(w.data) + begin * part.unit_bytes,
                            w.codebook, t.xq, t.xscale, t.xsum, y + row0, ys);
      return;
    }
    const auto gemm =
        w.layout == Layout::Q4_R16_G32 ? t.k->qd8_q4r16_gemm : t.k->qd8_q4r16sym_gemm;
    gemm(t.n, row_end - row0, t.groups,
         static_cast<const uint8_t*>(w.data) + begin * part.unit_bytes, t.xq, t.xscale, t.xsum,
         y + row0, ys);
    return;
  }
  const uint8_t* wr = static_cast<const uint8_t*>(w.data) + begin * part.unit_bytes;
  const uint16_t* sr = static_cast<const uint16_t*>(w.scales) + begin * t.groups;
  const uint16_t* mr = w.mins ? static_cast<const uint16_t*>(w.mins) + begin * t.groups : nullptr;
  for (uint32_t i = 0; i < t.n; ++i) {
    t.k->q4_matvec(rows, t.groups, w.group_size, wr, sr, mr, t.xq + i * t.padded,
                   t.xscale + i * t.groups, t.xsum + i * t.groups, y + i * ys + begin);
  }
}

// Output rows [row0, row_end) of a part's units [begin, end).
void UnitRows(const LinearPart& part, size_t begin, size_t end, size_t* row0, size_t* row_end) {
  const size_t rows = part.w->rows;
  *row0 = begin * part.unit_rows;
  *row_end = end * part.unit_rows < rows ? end * part.unit_rows : rows;
}

// Units [begin, end) of the whole call, across its parts, then the fused element-wise work
// on the rows they wrote.
void LinearRange(void* context, size_t begin, size_t end) {
  const LinearTask& t = *static_cast<const LinearTask*>(context);
  if (t.swiglu) {
    PartRange(t, t.parts[0], begin, end);
    PartRange(t, t.parts[1], begin, end);
    size_t row0, row_end;
    UnitRows(t.parts[0], begin, end, &row0, &row_end);
    for (uint32_t i = 0; i < t.n; ++i) {
      t.k->swiglu(row_end - row0, t.parts[0].y + i * t.parts[0].y_stride + row0,
                  t.parts[1].y + i * t.parts[1].y_stride + row0);
    }
    return;
  }
  if (t.residual != nullptr) {
    PartRange(t, t.parts[0], begin, end);
    size_t row0, row_end;
    UnitRows(t.parts[0], begin, end, &row0, &row_end);
    for (uint32_t i = 0; i < t.n; ++i) {
      float* x = t.residual + i * t.residual_stride;
      const float* d = t.parts[0].y + i * t.parts[0].y_stride;
      for (size_t r = row0; r < row_end; ++r) x[r] += d[r];
    }
    return;
  }
  for (size_t p = 0; p < t.n_parts; ++p) {
    const LinearPart& part = t.parts[p];
    const size_t lo = begin > part.first_unit ? begin : part.first_unit;
    const size_t hi = end < part.first_unit + part.units ? end : part.first_unit + part.units;
    if (lo < hi) PartRange(t, part, lo - part.first_unit, hi - part.first_unit);
  }
}

// One attention call, split into tasks of (head, range of the chunk's query tokens). Task
// h * ranges + r is head h's queries [bounds[r], bounds[r + 1]), with its own score row of
// att_stride floats. Every query's scores, softmax and weighted sum are one kernel call, so
// the split changes no value.
constexpr uint32_t kMaxAttentionRanges = 4;

struct AttentionTask {
  const kernels::KernelTable* k;
  const ModelConfig* c;
  const ForwardBuffers* b;
  uint32_t layer, n, pos;
  uint32_t ranges;
  size_t att_stride;
  uint32_t bounds[kMaxAttentionRanges + 1];
};

void AttentionRanges(void* context, size_t task_begin, size_t task_end) {
  const AttentionTask& t = *static_cast<const AttentionTask*>(context);
  const ModelConfig& c = *t.c;
  const ForwardBuffers& b = *t.b;
  const uint32_t hd = c.head_dim;
  const uint32_t kv_dim = c.kv_dim();
  const uint32_t q_per_kv = c.n_heads / c.n_kv_heads;
  const size_t xb_stride = c.dim > c.q_dim() ? c.dim : c.q_dim();
  const size_t layer_off = static_cast<size_t>(t.layer) * b.max_context * kv_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (size_t task = task_begin; task < task_end; ++task) {
    const size_t h = task / t.ranges;
    const size_t r = task % t.ranges;
    float* att = b.att + task * t.att_stride;
    const size_t kv_head = h / q_per_kv;
    const size_t kv_off = layer_off + kv_head * hd;
    // int8 KV: the head's scale and offset, 2 n_kv_heads apart per position.
    const size_t param_off =
        (static_cast<size_t>(t.layer) * b.max_context * c.n_kv_heads + kv_head) * 2;
    for (uint32_t i = t.bounds[r]; i < t.bounds[r + 1]; ++i) {
      // Causal: token i sees positions 0..pos + i.
      const float* q = b.q + static_cast<size_t>(i) * c.q_dim() + h * hd;
      float* out = b.xb + i * xb_stride + h * hd;
      if (b.key_cache_q8 != nullptr) {
        t.k->attention_q8kv(hd, t.pos + i + 1, q, b.key_cache_q8 + kv_off,
                            b.key_params + param_off, b.value_cache_q8 + kv_off,
                            b.value_params + param_off, kv_dim, 2 * c.n_kv_heads, scale, att,
                            out);
      } else {
        t.k->attention(hd, t.pos + i + 1, q, b.key_cache + kv_off, b.value_cache + kv_off, kv_dim,
                       scale, att, out);
      }
    }
  }
}

// True when the matrices can share one quantized input and one parallel loop.
bool SameInputFormat(const Transformer::LinearOutput* outs, size_t count) {
  for (size_t i = 1; i < count; ++i) {
    const TensorView& a = *outs[0].w;
    const TensorView& b = *outs[i].w;
    if (a.dtype != b.dtype || a.layout != b.layout || a.group_size != b.group_size ||
        (a.dense == nullptr) != (b.dense == nullptr)) {
      return false;
    }
  }
  return true;
}

// Tile of rows (or 16-row blocks) per task: the pool's finest split. Each thread claims
// half of what is left of its share at a time and single tiles at the end of a loop
// (platform/thread_pool.h), so fine tiles even out the end of a loop without a call per
// tile. Decode, and layouts of single rows, split into about kTasksPerThread tiles per
// thread. Prefill over 16-row blocks (`prefill_blocks`) uses pairs of blocks: the finest
// split that does not leave a kernel computing two blocks per pass (qd8-q4r16-gemm on
// AVX-512 VNNI) a lone block. A prefill tile is tens of microseconds of work, so the
// coarser split (up to 6 blocks at tinyllama-1.1b's widths) left one thread that much
// idle at the end of each loop.
size_t RowTile(size_t units, size_t threads, bool prefill_blocks) {
  if (prefill_blocks) return units >= 4 * threads ? 2 : 1;
  const size_t tasks = threads * kTasksPerThread;
  return units <= tasks ? 1 : (units + tasks - 1) / tasks;
}

// Quantizes token rows [begin, end) of a Linear call's input (one parallel loop over the
// tokens of a prefill chunk).
struct QuantizeTask {
  const kernels::KernelTable* k;
  const float* x;
  size_t x_stride, cols, act_group, padded, groups;
  int8_t* xq;
  float* xscale;
  int32_t* xsum;
};

void QuantizeRows(void* context, size_t begin, size_t end) {
  const QuantizeTask& q = *static_cast<const QuantizeTask*>(context);
  for (size_t i = begin; i < end; ++i) {
    q.k->q8_quantize(q.cols, q.act_group, q.x + i * q.x_stride, q.xq + i * q.padded,
                     q.xscale + i * q.groups, q.xsum + i * q.groups);
    // Groups past the columns (Q3_R16_G64 reads whole 64-column blocks) hold zeros.
    for (size_t g = (q.cols + q.act_group - 1) / q.act_group; g < q.groups; ++g) {
      std::memset(q.xq + i * q.padded + g * q.act_group, 0, q.act_group);
      q.xscale[i * q.groups + g] = 0.0f;
      q.xsum[i * q.groups + g] = 0;
    }
  }
}

// Token rows per task when a prefill chunk's activations are quantized in parallel; below
// 2 tasks' worth the caller quantizes alone.
constexpr size_t kQuantizeRowsPerTask = 4;

// y += bias (an f32 vector of y's length).
void AddBias(const TensorView& bias, float* y) {
  const float* b = static_cast<const float*>(bias.data);
  for (uint32_t j = 0; j < bias.cols; ++j) y[j] += b[j];
}

// The per-token work between the QKV products and attention, token rows [begin, end) of a
// chunk: biases, RoPE of q and k (each call computes its angles with libm: serial, it was
// ~5% of a smollm-135m prefill on one thread), and the int8 KV cache's quantization. Each
// token's rows are independent, so a parallel loop over tokens gives the same bits.
struct PositionTask {
  const kernels::KernelTable* k;
  const ModelConfig* c;
  const LayerWeights* w;
  const ForwardBuffers* b;
  float* k_rows;
  float* v_rows;
  size_t cache_row;  // the cache row of the chunk's first position (layer * max_context + pos)
  uint32_t pos;      // the chunk's first position
};

void PositionRows(void* context, size_t begin, size_t end) {
  const PositionTask& t = *static_cast<const PositionTask*>(context);
  const ModelConfig& c = *t.c;
  const ForwardBuffers& b = *t.b;
  const uint32_t kv_dim = c.kv_dim();
  for (size_t i = begin; i < end; ++i) {
    float* q = b.q + i * c.q_dim();
    float* k = t.k_rows + i * kv_dim;
    float* v = t.v_rows + i * kv_dim;
    if (c.attention_bias) {
      AddBias(t.w->bq, q);
      AddBias(t.w->bk, k);
      AddBias(t.w->bv, v);
    }
    const size_t p = t.pos + i;
    if (c.rope_inv_freq != nullptr) {
      t.k->rope_freqs(c.n_heads, c.head_dim, p, c.rope_inv_freq, q);
      t.k->rope_freqs(c.n_kv_heads, c.head_dim, p, c.rope_inv_freq, k);
    } else {
      t.k->rope(c.n_heads, c.head_dim, p, c.rope_theta, q);
      t.k->rope(c.n_kv_heads, c.head_dim, p, c.rope_theta, k);
    }
    if (b.key_cache_q8 != nullptr) {
      // Per head: int8 codes over the head's own [min, max], f16 scale and offset.
      const size_t row = t.cache_row + i;
      kernels::q8kv_quantize(kv_dim, c.head_dim, k, b.key_cache_q8 + row * kv_dim,
                             b.key_params + row * c.n_kv_heads * 2);
      kernels::q8kv_quantize(kv_dim, c.head_dim, v, b.value_cache_q8 + row * kv_dim,
                             b.value_params + row * c.n_kv_heads * 2);
    }
  }
}

// Token rows per task of PositionRows; below 2 tasks' worth the caller runs them alone.
constexpr size_t kPositionRowsPerTask = 4;

// Below this many multiply-adds a loop runs on the calling thread: waking the pool costs
// more than it saves.
constexpr size_t kMinParallelWork = 1 << 14;

// Fused SwiGLU runs on whole blocks of this many rows (a multiple of every SIMD width), so
// each element takes the same path (vector body or tail) as in one call over the vector.
constexpr size_t kSwigluRowMultiple = 16;

}  // namespace

void Transformer::Linear(const TensorView& w, uint32_t n, const float* x, size_t x_stride, float* y,
                         size_t y_stride, const LinearFusion& fusion) {
  const LinearOutput out{&w, y, y_stride};
  Linears(&out, 1, n, x, x_stride, fusion);
}

void Transformer::Linears(const LinearOutput* outs, size_t count, uint32_t n, const float* x,
                          size_t x_stride, const LinearFusion& fusion) {
  assert(count >= 1 && count <= 3);
  assert(!fusion.swiglu || count == 2);
  assert(fusion.residual == nullptr || count == 1);
#if KITE_WITH_XNNPACK
  if (outs[0].w->dense != nullptr) {
    for (size_t i = 0; i < count; ++i) {
      static_cast<xnnpack::DenseLinear*>(outs[i].w->dense)->Run(n, x, outs[i].y, pool_->native());
    }
    ApplyFusion(outs, n, fusion);
    return;
  }
#endif
  LinearTask t{};
  t.k = k_;
  t.n_parts = count;
  t.n = n;
  t.x = x;
  t.x_stride = x_stride;
  t.xq = b_.xq;
  t.xscale = b_.xq_scales;
  t.xsum = b_.xq_sums;
  const TensorView& first = *outs[0].w;
  if (first.dtype == DType::Q4_G || first.dtype == DType::Q4_G_SP24) {
    // Q4_G_SP24 and Q3_R16_G64 quantize activations in groups of 32 (their scales cover 64
    // columns).
    const size_t act_group = ActivationGroupSize(first);
    t.groups = static_cast<size_t>(ActivationGroups(first));
    t.padded = t.groups * act_group;
    // Activations are quantized once per call (the parts share x), each token row
    // `padded` values long.
    QuantizeTask q{k_, x, x_stride, first.cols, act_group, t.padded, t.groups,
                   b_.xq, b_.xq_scales, b_.xq_sums};
    if (n >= 2 * kQuantizeRowsPerTask) {
      pool_->ParallelFor(n, kQuantizeRowsPerTask, QuantizeRows, &q);
    } else {
      QuantizeRows(&q, 0, n);
    }
  }
  size_t units = 0, work = 0;
  for (size_t i = 0; i < count; ++i) {
    const TensorView& w = *outs[i].w;
    assert(w.dtype == first.dtype && w.cols == first.cols && w.group_size == first.group_size);
    // The loader accepted only encodings of the format's table.
    const Encoding& enc = *FindEncoding(w.dtype, w.layout);
    const size_t u = (w.rows + enc.block_rows - 1) / enc.block_rows;
    t.parts[i] = LinearPart{&w, outs[i].y, outs[i].y_stride, units, u, enc.block_rows,
                            static_cast<size_t>(RowBlockBytes(enc, w.cols, w.group_size))};
    units += u;
    work += static_cast<size_t>(n) * w.rows * w.cols;
  }
  // Fused SwiGLU: both matrices' block u in task unit u (a task needs its rows of both),
  // and its vector lanes must start where a whole-vector call's would (block rows: 16).
  const bool fuse_swiglu = fusion.swiglu && t.parts[0].units == t.parts[1].units &&
                           t.parts[0].unit_rows % kSwigluRowMultiple == 0;
  if (fuse_swiglu) {
    t.swiglu = true;
    units = t.parts[0].units;
    t.parts[1].first_unit = 0;
  }
  t.residual = fusion.residual;
  t.residual_stride = fusion.residual_stride;
  if (work < kMinParallelWork) {
    LinearRange(&t, 0, units);
  } else {
    pool_->ParallelFor(units, RowTile(units, pool_->threads(), n > 1 && t.parts[0].unit_rows > 1), LinearRange, &t);
  }
  if (fusion.swiglu && !fuse_swiglu) ApplyFusion(outs, n, fusion);
}

void Transformer::ApplyFusion(const LinearOutput* outs, uint32_t n, const LinearFusion& fusion) {
  for (uint32_t i = 0; i < n; ++i) {
    if (fusion.swiglu) {
      k_->swiglu(outs[0].w->rows, outs[0].y + i * outs[0].y_stride, outs[1].y + i * outs[1].y_stride);
    }
    if (fusion.residual != nullptr) {
      float* x = fusion.residual + i * fusion.residual_stride;
      const float* d = outs[0].y + i * outs[0].y_stride;
      for (uint32_t j = 0; j < outs[0].w->rows; ++j) x[j] += d[j];
    }
  }
}

void Transformer::EmbeddingRow(const TensorView& t, uint32_t row, float* out) {
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out, static_cast<const float*>(t.data) + static_cast<size_t>(row) * t.cols,
                  t.cols * sizeof(float));
      return;
    case DType::Q8_C:
      kernels::q8_row_dequant_ref(t.cols,
                                  static_cast<const int8_t*>(t.data) + static_cast<size_t>(row) * t.cols,
                                  static_cast<const float*>(t.scales)[row], out);
      return;
    case DType::Q4_G:
      if (t.layout == Layout::Q4_ROW_GROUPS) {
        const size_t groups = t.groups();
        const size_t row_bytes = static_cast<size_t>(
            RowBlockBytes(*FindEncoding(t.dtype, t.layout), t.cols, t.group_size));
        kernels::q4_row_dequant_ref(
            t.cols, groups, t.group_size,
            static_cast<const uint8_t*>(t.data) + static_cast<size_t>(row) * row_bytes,
            static_cast<const uint16_t*>(t.scales) + static_cast<size_t>(row) * groups,
            t.mins ? static_cast<const uint16_t*>(t.mins) + static_cast<size_t>(row) * groups : nullptr,
            out);
        return;
      }
      if (t.layout == Layout::Q4_R16_G32_SYM) {
        kernels::DequantizeQ4R16SymRow(t.cols, static_cast<const uint8_t*>(t.data), row, out);
        return;
      }
      if (t.layout == Layout::Q3_R16_G32 || t.layout == Layout::Q3_R16_G64) {
        kernels::DequantizeQ3R16Row(t.cols, t.group_size, static_cast<const uint8_t*>(t.data),
                                    row, out);
        return;
      }
      if (t.layout == Layout::Q4_R16_G32_CB) {
        kernels::DequantizeQ4R16CbRow(t.cols, static_cast<const uint8_t*>(t.data), t.codebook,
                                      row, out);
        return;
      }
      kernels::q4r16_row_dequant_ref(t.cols, t.groups(), static_cast<const uint8_t*>(t.data), row, out);
      return;
    case DType::Q4_G_SP24:
      kernels::DequantizeQ4SP24Row(t.cols, static_cast<const uint8_t*>(t.data), row, out);
      return;
    default:
      assert(false && "dtype rejected by the loader");
  }
}

void Transformer::Attention(uint32_t layer, uint32_t n, uint32_t pos) {
  const ModelConfig& c = model_->config();
  AttentionTask t{k_, &c, &b_, layer, n, pos, 1, b_.max_context, {0, n}};
  const size_t work = static_cast<size_t>(n) * (pos + n) * c.q_dim();
  if (work < kMinParallelWork) {
    AttentionRanges(&t, 0, c.n_heads);
    return;
  }
  // Several query ranges per head when their score rows (pos + n floats, rounded up to 16)
  // fit in att's n_heads rows of max_context: a prefill chunk then splits into finer tasks
  // than its heads (smollm's 9 heads on 2 threads were a 5/4 split).
  const size_t row = (static_cast<size_t>(pos) + n + 15) / 16 * 16;
  size_t ranges = b_.max_context / row;
  if (ranges > kMaxAttentionRanges) ranges = kMaxAttentionRanges;
  if (ranges > n) ranges = n;
  if (ranges > 1) {
    // Bounds that give each range about the same number of scores: query i has pos + i + 1.
    t.ranges = static_cast<uint32_t>(ranges);
    t.att_stride = row;
    const uint64_t total = static_cast<uint64_t>(n) * pos + static_cast<uint64_t>(n) * (n + 1) / 2;
    uint64_t done = 0;
    uint32_t i = 0;
    for (uint32_t r = 1; r < t.ranges; ++r) {
      // Each range keeps at least one query.
      while (i < n - (t.ranges - r) && (done + pos + i + 1) * t.ranges <= total * r) {
        done += pos + i + 1;
        ++i;
      }
      if (i <= t.bounds[r - 1]) {
        done += pos + i + 1;
        ++i;
      }
      t.bounds[r] = i;
    }
    t.bounds[t.ranges] = n;
  }
  pool_->ParallelFor(static_cast<size_t>(c.n_heads) * t.ranges, 1, AttentionRanges, &t);
}

void Transformer::Forward(const int32_t* tokens, uint32_t n, uint32_t pos, bool want_logits) {
  const ModelConfig& c = model_->config();
  assert(n >= 1 && n <= b_.max_batch && pos + n <= b_.max_context);
  const uint32_t dim = c.dim;
  const uint32_t kv_dim = c.kv_dim();
  const size_t xb_stride = dim > c.q_dim() ? dim : c.q_dim();
  for (uint32_t i = 0; i < n; ++i) {
    assert(tokens[i] >= 0 && static_cast<uint32_t>(tokens[i]) < c.vocab_size);
    EmbeddingRow(model_->tok_embeddings(), static_cast<uint32_t>(tokens[i]), b_.x + i * dim);
  }

  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model_->layer(l);
    for (uint32_t i = 0; i < n; ++i) {
      k_->rmsnorm(dim, b_.x + i * dim, static_cast<const float*>(w.attention_norm.data), c.norm_eps,
                  b_.xb + i * xb_stride);
    }
    // K and V rows go straight into an f32 cache (consecutive positions are kv_dim apart);
    // for an int8 cache they are staged in f32 and quantized after RoPE.
    const bool int8_kv = b_.key_cache_q8 != nullptr;
    const size_t cache_row = static_cast<size_t>(l) * b_.max_context + pos;
    float* k_rows = int8_kv ? b_.k_rows : b_.key_cache + cache_row * kv_dim;
    float* v_rows = int8_kv ? b_.v_rows : b_.value_cache + cache_row * kv_dim;
    const LinearOutput qkv[] = {{&w.wq, b_.q, c.q_dim()}, {&w.wk, k_rows, kv_dim}, {&w.wv, v_rows, kv_dim}};
    Linears(qkv, SameInputFormat(qkv, 3) ? 3 : 1, n, b_.xb, xb_stride);
    if (!SameInputFormat(qkv, 3)) {
      Linear(w.wk, n, b_.xb, xb_stride, k_rows, kv_dim);
      Linear(w.wv, n, b_.xb, xb_stride, v_rows, kv_dim);
    }
    PositionTask pt{k_, &c, &w, &b_, k_rows, v_rows, cache_row, pos};
    if (n >= 2 * kPositionRowsPerTask) {
      pool_->ParallelFor(n, kPositionRowsPerTask, PositionRows, &pt);
    } else {
      PositionRows(&pt, 0, n);
    }
    Attention(l, n, pos);
    Linear(w.wo, n, b_.xb, xb_stride, b_.xb2, dim, LinearFusion{false, b_.x, dim});

    for (uint32_t i = 0; i < n; ++i) {
      k_->rmsnorm(dim, b_.x + i * dim, static_cast<const float*>(w.ffn_norm.data), c.norm_eps,
                  b_.xb + i * xb_stride);
    }
    const LinearOutput gate_up[] = {{&w.w1, b_.hb, c.hidden_dim}, {&w.w3, b_.hb2, c.hidden_dim}};
    if (SameInputFormat(gate_up, 2)) {
      Linears(gate_up, 2, n, b_.xb, xb_stride, LinearFusion{true, nullptr, 0});
    } else {
      Linear(w.w1, n, b_.xb, xb_stride, b_.hb, c.hidden_dim);
      Linear(w.w3, n, b_.xb, xb_stride, b_.hb2, c.hidden_dim);
      ApplyFusion(gate_up, n, LinearFusion{true, nullptr, 0});
    }
    Linear(w.w2, n, b_.hb, c.hidden_dim, b_.xb, xb_stride, LinearFusion{false, b_.x, dim});
  }
  if (!want_logits) return;
  float* last = b_.x + (n - 1) * dim;
  k_->rmsnorm(dim, last, static_cast<const float*>(model_->norm().data), c.norm_eps, last);
  Linear(model_->output(), 1, last, dim, b_.logits, c.vocab_size);
}

}  // namespace kite
