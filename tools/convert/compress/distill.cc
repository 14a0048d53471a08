#include "tools/convert/compress/distill.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "sdk/format/blocks.h"
#include "sdk/format/format.h"
#include "sdk/format/tensor_names.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "tools/convert/compress/llama_float.h"
#include "tools/convert/compress/parallel.h"
#include "tools/convert/compress/quantize.h"

namespace kite::convert {
namespace {

// Which weight of the model a tensor name is.
enum Slot {
  kAttentionNorm, kWq, kWk, kWv, kWo, kFfnNorm, kW1, kW2, kW3, kBq, kBk, kBv,  // per layer
  kTok, kFinalNorm, kOutput, kUnknown
};
constexpr int kLayerSlots = kBv + 1;

Slot SlotOf(const std::string& name, uint32_t n_layers, size_t* layer) {
  if (name == names::kTokEmbeddings) return kTok;
  if (name == names::kNorm) return kFinalNorm;
  if (name == names::kOutput) return kOutput;
  const std::vector<std::string> parts = absl::StrSplit(name, absl::MaxSplits('.', 2));
  uint32_t l = 0;
  if (parts.size() != 3 || parts[0] != "layers" || !absl::SimpleAtoi(parts[1], &l) ||
      l >= n_layers) {
    return kUnknown;
  }
  *layer = l;
  const char* suffixes[kLayerSlots] = {
      names::kAttentionNorm, names::kWq, names::kWk, names::kWv, names::kWo, names::kFfnNorm,
      names::kW1,            names::kW2, names::kW3, names::kBq, names::kBk, names::kBv};
  for (int s = 0; s < kLayerSlots; ++s) {
    if (parts[2] == suffixes[s]) return static_cast<Slot>(s);
  }
  return kUnknown;
}

// The gradient vector of the weight in `slot`.
template <typename Real>
std::vector<Real>* GradOf(LlamaGradsT<Real>* g, Slot slot, size_t layer) {
  if (slot == kTok) return &g->tok_embeddings;
  if (slot == kFinalNorm) return &g->norm;
  if (slot == kOutput) return &g->output;
  auto& L = g->layers[layer];
  std::vector<Real>* per_layer[kLayerSlots] = {&L.attention_norm, &L.wq, &L.wk, &L.wv,
                                                &L.wo, &L.ffn_norm, &L.w1, &L.w2, &L.w3,
                                                &L.bq, &L.bk, &L.bv};
  return per_layer[slot];
}

// The pointer of the view that holds the weight in `slot`.
template <typename Real>
const Real** ViewSlot(LlamaWeightsT<Real>* w, Slot slot, size_t layer) {
  if (slot == kTok) return &w->tok_embeddings;
  if (slot == kFinalNorm) return &w->norm;
  if (slot == kOutput) return &w->output;
  auto& L = w->layers[layer];
  const Real** per_layer[kLayerSlots] = {&L.attention_norm, &L.wq, &L.wk, &L.wv,
                                          &L.wo, &L.ffn_norm, &L.w1, &L.w2, &L.w3,
                                          &L.bq, &L.bk, &L.bv};
  return per_layer[slot];
}

template <typename T>
std::vector<T> BytesAs(const std::vector<uint8_t>& bytes) {
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

template <typename T>
void StoreAs(const std::vector<T>& values, std::vector<uint8_t>* bytes) {
  bytes->resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes->data(), values.data(), bytes->size());
}

constexpr double kPi = 3.14159265358979323846;

double RoundHalf(double v) { return HalfToFloat(FloatToHalf(static_cast<float>(v))); }

// Byte offset of the f16 scale of row r, column block g in Q4_SP24_R16_G64 (sdk/format/blocks.h).
size_t SP24ScaleOffset(size_t r, size_t g, size_t groups) {
  return ((r / kQ4SP24BlockRows) * groups + g) * kQ4SP24BlockBytes + kQ4SP24ScalesOffset +
         2 * (r % kQ4SP24BlockRows);
}

// Byte offset of the f16 scale of row r, group g in Q4_R16_G32_SYM (sdk/format/blocks.h).
size_t R16SymScaleOffset(size_t r, size_t g, size_t groups) {
  return ((r / kQ4R16BlockRows) * groups + g) * kQ4R16SymBlockBytes + kQ4R16ScalesOffset +
         2 * (r % kQ4R16BlockRows);
}

// Byte offset of the f16 scale of row r, group g in Q3_R16_G32 (kParts 1) or Q3_R16_G64
// (kParts 2; g counts 64-column groups) (sdk/format/blocks.h).
template <size_t kParts>
size_t R16Q3ScaleOffset(size_t r, size_t g, size_t groups) {
  return ((r / kQ4R16BlockRows) * groups + g) * Q3R16BlockBytes(kParts) +
         kParts * kQ3R16CodeBytes + 2 * (r % kQ4R16BlockRows);
}

// The scale offset function of the 3-bit layout with `group` columns per scale.
size_t (*R16Q3ScaleOffsetOf(size_t group))(size_t, size_t, size_t) {
  return group == kQ3R16G64BlockCols ? R16Q3ScaleOffset<2> : R16Q3ScaleOffset<1>;
}

// For layouts whose weights are exactly d * code per group (an f16 scale times a small
// integer: Q4_R16_G32_SYM with code = u - 8, Q4_R16_G32_CB with code = codebook[u],
// Q4_SP24_R16_G64 with zeros for pruned weights): appends every group's scale to `scales`
// and fills `code` (rows * cols), reading row r through dequantize_row(r, out) and the scale
// of row r, group g at data + scale_offset(r, g, groups). The division is exact.
template <class DequantizeRow>
void ReadScaledCodes(size_t rows, size_t cols, size_t group, const uint8_t* data,
                     DequantizeRow dequantize_row, size_t (*scale_offset)(size_t, size_t, size_t),
                     std::vector<double>* code, std::vector<double>* scales) {
  const size_t groups = (cols + group - 1) / group;
  code->resize(rows * cols);
  std::vector<float> row(cols);
  for (size_t r = 0; r < rows; ++r) {
    dequantize_row(r, row.data());
    for (size_t g = 0; g < groups; ++g) {
      uint16_t h;
      std::memcpy(&h, data + scale_offset(r, g, groups), sizeof(h));
      const float d = HalfToFloat(h);
      scales->push_back(d);
      for (size_t c = g * group; c < std::min(cols, g * group + group); ++c) {
        (*code)[r * cols + c] = d != 0.0f ? std::nearbyint(row[c] / d) : 0.0;
      }
    }
  }
}

// The f32 data of the tensor called `name` in `model`, or null (absent or released).
const std::vector<float>* DataOf(const SourceModel* model, const std::string& name,
                                 size_t elements) {
  if (model == nullptr) return nullptr;
  for (const SourceTensor& t : model->tensors) {
    if (t.name == name && t.data.size() == elements) return &t.data;
  }
  return nullptr;
}

}  // namespace

double DistillModel::Block::CodeAt(const double* values, size_t i) const {
  if (!has_latent && !train_entries) return code[i];
  if (entries.empty()) return std::clamp(std::nearbyint(values[latent + i]), code_min, code_max);
  const size_t k = EntryIndexAt(values, i);
  return train_entries ? values[entry_first + k] : entries[k];
}

size_t DistillModel::Block::EntryIndexAt(const double* values, size_t i) const {
  if (!has_latent) return entry_index[i];
  // The nearest of the stored entries (not the trained ones, so that moving an entry does
  // not move codes across its boundaries); a tie goes to the lower one.
  const double* e = entries.data();
  const size_t n = entries.size();
  const double z = values[latent + i];
  const size_t above = static_cast<size_t>(std::lower_bound(e, e + n, z) - e);
  if (above == 0) return 0;
  if (above == n) return n - 1;
  return z - e[above - 1] <= e[above] - z ? above - 1 : above;
}

absl::StatusOr<DistillModel> DistillModel::Create(const SourceConfig& config,
                                                  const std::vector<KiteTensor>& tensors,
                                                  const DistillOptions& options,
                                                  const SourceModel* teacher) {
  DistillModel m;
  m.config_ = config;
  m.double_ = options.double_precision;
  m.names_.resize(tensors.size());
  m.dense_.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const KiteTensor& t = tensors[i];
    auto fail = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat("distill: tensor \"", t.name, "\": ", what));
    };
    m.names_[i] = t.name;
    if (t.shape.empty() || t.shape.size() > 2) return fail("unsupported shape");
    const size_t rows = t.shape.size() == 2 ? t.shape[0] : 1;
    const size_t cols = t.shape.back();
    Block b;
    b.tensor = i;
    b.name = t.name;
    b.rows = rows;
    b.cols = cols;
    b.first = m.initial_.size();
    std::vector<double> scales, offsets;
    // Every extent must have the size the format's table gives its encoding.
    const Encoding* enc = FindEncoding(t.dtype, t.layout);
    if (enc == nullptr || !GroupSizeValid(*enc, t.group_size)) {
      return fail(absl::StrFormat("dtype %s with layout %s is not supported", DTypeName(t.dtype),
                                  LayoutName(t.layout)));
    }
    if (t.data.size() != PackedBytes(*enc, rows, cols, t.group_size) ||
        t.scales.size() != ScalesBytes(*enc, rows, cols, t.group_size) ||
        (!t.mins.empty() && (!enc->mins || t.mins.size() != t.scales.size()))) {
      return fail(absl::StrFormat("bad %s sizes", LayoutName(t.layout)));
    }
    if (t.dtype == DType::F32) {
      const std::vector<float> v = BytesAs<float>(t.data);
      const bool matrix = t.shape.size() == 2;
      size_t layer = 0;
      const Slot slot = SlotOf(t.name, config.n_layers, &layer);
      const bool bias = slot == kBq || slot == kBk || slot == kBv;  // applied, never tuned
      if (matrix ? !options.train_f32_matrices : (!options.train_norms || bias)) {
        m.dense_[i].assign(v.begin(), v.end());  // frozen
        continue;
      }
      if (matrix) {
        // Every weight is a value; zeros (pruned) stay frozen.
        double ss = 0.0;
        for (float x : v) ss += double{x} * x;
        const double rms = std::sqrt(ss / static_cast<double>(v.size()));
        b.kind = Block::kDense;
        b.first = m.initial_.size();
        for (float x : v) {
          m.initial_.push_back(x);
          m.units_.push_back(x != 0.0f ? rms : 0.0);
          m.precision_.push_back(Precision::kF32);
        }
        m.dense_[i].resize(rows * cols);
        m.blocks_.push_back(std::move(b));
        continue;
      }
      b.kind = Block::kNorm;
      b.group = cols;
      b.groups = 1;
      scales.assign(v.begin(), v.end());
    } else if (t.dtype == DType::Q8_C && t.layout == Layout::ROW_MAJOR && t.shape.size() == 2) {
      const std::vector<int8_t> q = BytesAs<int8_t>(t.data);
      const std::vector<float> s = BytesAs<float>(t.scales);
      b.kind = Block::kQ8;
      b.group = cols;
      b.groups = 1;
      b.code.assign(q.begin(), q.end());
      scales.assign(s.begin(), s.end());
    } else if (t.dtype == DType::Q4_G && t.shape.size() == 2 && t.layout == Layout::Q4_ROW_GROUPS) {
      const size_t gs = t.group_size, groups = (cols + gs - 1) / gs;
      b.kind = Block::kQ4RowGroups;
      b.group = gs;
      b.groups = groups;
      b.has_offset = !t.mins.empty();
      b.code.resize(rows * cols);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
          const size_t e = r * groups * gs + c;  // element index in the padded row
          const uint8_t byte = t.data[e / 2];
          b.code[r * cols + c] = static_cast<double>((e % 2 == 0 ? byte & 0x0F : byte >> 4)) - 8.0;
        }
      }
      for (uint16_t h : BytesAs<uint16_t>(t.scales)) scales.push_back(HalfToFloat(h));
      for (uint16_t h : BytesAs<uint16_t>(t.mins)) offsets.push_back(HalfToFloat(h));
    } else if (t.dtype == DType::Q4_G && t.shape.size() == 2 && t.layout == Layout::Q4_R16_G32) {
      const size_t groups = (cols + kQ4R16GroupSize - 1) / kQ4R16GroupSize;
      b.kind = Block::kQ4R16;
      b.group = kQ4R16GroupSize;
      b.groups = groups;
      b.has_offset = true;
      b.nibbles.resize(rows * groups * kQ4R16GroupSize);
      std::vector<uint16_t> d(rows * groups), o(rows * groups);
      kernels::UnpackQ4R16(rows, cols, t.data.data(), b.nibbles.data(), d.data(), o.data());
      b.code.resize(rows * cols);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c)
          b.code[r * cols + c] = b.nibbles[r * groups * kQ4R16GroupSize + c];
      }
      for (uint16_t h : d) scales.push_back(HalfToFloat(h));
      for (uint16_t h : o) offsets.push_back(HalfToFloat(h));
    } else if (t.dtype == DType::Q4_G && t.shape.size() == 2 &&
               t.layout == Layout::Q4_R16_G32_SYM) {
      const size_t groups = (cols + kQ4R16GroupSize - 1) / kQ4R16GroupSize;
      b.kind = Block::kQ4R16Sym;
      b.group = kQ4R16GroupSize;
      b.groups = groups;
      ReadScaledCodes(
          rows, cols, kQ4R16GroupSize, t.data.data(),
          [&](size_t r, float* out) { kernels::DequantizeQ4R16SymRow(cols, t.data.data(), r, out); },
          R16SymScaleOffset, &b.code, &scales);
    } else if (t.dtype == DType::Q4_G && t.shape.size() == 2 &&
               t.layout == Layout::Q4_R16_G32_CB) {
      // Scales train, and with train_codes the codes (below); the codebook stays.
      const size_t groups = (cols + kQ4R16GroupSize - 1) / kQ4R16GroupSize;
      b.kind = Block::kQ4R16Cb;
      b.group = kQ4R16GroupSize;
      b.groups = groups;
      ReadScaledCodes(rows, cols, kQ4R16GroupSize, t.data.data(),
                      [&](size_t r, float* out) {
                        kernels::DequantizeQ4R16CbRow(cols, t.data.data(), t.codebook.data(), r,
                                                      out);
                      },
                      R16SymScaleOffset, &b.code, &scales);
    } else if (t.dtype == DType::Q4_G && t.shape.size() == 2 &&
               (t.layout == Layout::Q3_R16_G32 || t.layout == Layout::Q3_R16_G64)) {
      // Scales train; the 3-bit codes stay (code = u - 4, no latent codes for these layouts).
      const size_t group =
          t.layout == Layout::Q3_R16_G64 ? kQ3R16G64BlockCols : kQ4R16GroupSize;
      const size_t groups = (cols + group - 1) / group;
      b.kind = Block::kQ3R16;
      b.group = group;
      b.groups = groups;
      ReadScaledCodes(
          rows, cols, group, t.data.data(),
          [&](size_t r, float* out) {
            kernels::DequantizeQ3R16Row(cols, group, t.data.data(), r, out);
          },
          R16Q3ScaleOffsetOf(group), &b.code, &scales);
    } else if (t.dtype == DType::Q4_G_SP24 && t.shape.size() == 2 &&
               t.layout == Layout::Q4_SP24_R16_G64) {
      const size_t groups = (cols + kQ4SP24BlockCols - 1) / kQ4SP24BlockCols;
      b.kind = Block::kQ4SP24;
      b.group = kQ4SP24BlockCols;
      b.groups = groups;
      ReadScaledCodes(
          rows, cols, kQ4SP24BlockCols, t.data.data(),
          [&](size_t r, float* out) { kernels::DequantizeQ4SP24Row(cols, t.data.data(), r, out); },
          SP24ScaleOffset, &b.code, &scales);
    } else {
      return fail(absl::StrFormat("dtype %s with layout %s is not supported", DTypeName(t.dtype),
                                  LayoutName(t.layout)));
    }
    const bool train = b.kind == Block::kNorm ? options.train_norms
                       : b.kind == Block::kQ8  ? options.train_q8
                                               : options.train_q4;
    const bool half = b.kind == Block::kQ4RowGroups || b.kind == Block::kQ4R16 ||
                      b.kind == Block::kQ4R16Sym || b.kind == Block::kQ4R16Cb ||
                      b.kind == Block::kQ4SP24 || b.kind == Block::kQ3R16;
    for (size_t j = 0; j < scales.size(); ++j) {
      m.initial_.push_back(scales[j]);
      m.units_.push_back(train ? scales[j] : 0.0);
      m.precision_.push_back(half ? Precision::kF16 : Precision::kF32);
    }
    for (size_t j = 0; j < offsets.size(); ++j) {
      m.initial_.push_back(offsets[j]);
      m.units_.push_back(train ? std::fabs(scales[j]) : 0.0);
      m.precision_.push_back(Precision::kF16);
    }
    if (b.kind == Block::kQ4R16Cb) {
      b.entries.assign(t.codebook.begin(), t.codebook.end());
      std::sort(b.entries.begin(), b.entries.end());
      b.entries.erase(std::unique(b.entries.begin(), b.entries.end()), b.entries.end());
      b.entry_index.resize(rows * cols);
      for (size_t j = 0; j < rows * cols; ++j) {
        b.entry_index[j] = static_cast<uint8_t>(
            std::lower_bound(b.entries.begin(), b.entries.end(), b.code[j]) - b.entries.begin());
      }
      // A one-entry codebook has no gap to scale its steps by: it stays.
      const double gap = (b.entries.back() - b.entries.front()) / 15.0;
      if (options.train_codebook && gap > 0.0) {
        b.train_entries = true;
        b.entry_first = m.initial_.size();
        for (double e : b.entries) {
          m.initial_.push_back(e);
          m.units_.push_back(options.codebook_learning_rate / options.learning_rate * gap);
          m.precision_.push_back(Precision::kInt8);
        }
      }
    }
    if (options.train_codes && half && b.kind != Block::kQ3R16) {
      // Latent codes, in code units. Fixed at their code: pruned weights (0 in
      // frozen_zeros) and, in the 2:4 layout, every column that holds no stored value.
      const std::vector<float>* pruned = DataOf(options.frozen_zeros, t.name, rows * cols);
      std::vector<uint8_t> stored;
      if (b.kind == Block::kQ4SP24) {
        stored.resize(rows * cols);
        for (size_t r = 0; r < rows; ++r) {
          kernels::Q4SP24StoredColumns(cols, t.data.data(), r, stored.data() + r * cols);
        }
      }
      b.has_latent = true;
      b.latent = m.initial_.size();
      b.code_min = b.kind == Block::kQ4R16 ? 0.0 : -8.0;
      b.code_max = b.code_min + 15.0;
      if (b.kind == Block::kQ4R16Cb) {
        b.code_min = b.entries.front();
        b.code_max = b.entries.back();
        // A one-entry codebook has no gap: its codes cannot change (frozen below).
        b.code_step = (b.code_max - b.code_min) / 15.0;
      }
      const double unit = options.code_learning_rate / options.learning_rate * b.code_step;
      // The weights that were quantized: after pruning the pruned (and tuned) ones.
      const std::vector<float>* reference =
          !options.latent_from_teacher ? nullptr
          : pruned != nullptr          ? pruned
                                       : DataOf(teacher, t.name, rows * cols);
      for (size_t j = 0; j < rows * cols; ++j) {
        const bool fixed =
            (pruned != nullptr && (*pruned)[j] == 0.0f) || (!stored.empty() && !stored[j]);
        double z = b.code[j];
        const size_t g = (j / cols) * b.groups + (j % cols) / b.group;
        if (!fixed && reference != nullptr && scales[g] != 0.0) {
          const double position =
              ((*reference)[j] - (offsets.empty() ? 0.0 : offsets[g])) / scales[g];
          // Within 0.49 of the way to the neighbouring codes, so z still rounds to its code.
          double down = 0.49, up = 0.49;
          if (!b.entries.empty()) {
            const auto at = std::lower_bound(b.entries.begin(), b.entries.end(), z);
            down = 0.49 * (at != b.entries.begin() ? z - *(at - 1) : b.code_step);
            up = 0.49 * (at + 1 != b.entries.end() ? *(at + 1) - z : b.code_step);
          }
          z += std::clamp(position - z, -down, up);
        }
        m.initial_.push_back(z);
        m.units_.push_back(fixed || b.code_step == 0.0 ? 0.0 : unit);
        m.precision_.push_back(Precision::kF32);
      }
    }
    m.dense_[i].resize(rows * cols);
    m.blocks_.push_back(std::move(b));
  }
  // Second-moment groups: one per value, one per matrix of latent codes.
  std::vector<size_t> run(m.initial_.size(), 1);  // values sharing a group, from here
  for (const Block& b : m.blocks_) {
    if (b.has_latent) run[b.latent] = b.rows * b.cols;
  }
  m.moment_group_.resize(m.initial_.size());
  for (size_t j = 0, group = 0; j < m.initial_.size(); j += run[j], ++group) {
    std::fill_n(m.moment_group_.begin() + j, run[j], group);
  }
  m.BuildWeights(m.initial_, 1, &m.dense_);
  if (!m.double_) {
    m.dense_f_.resize(m.dense_.size());
    for (size_t i = 0; i < m.dense_.size(); ++i) {
      m.dense_f_[i].assign(m.dense_[i].begin(), m.dense_[i].end());
    }
    m.dense_.clear();
  }
  // Every weight the forward pass needs must be present with its shape.
  SourceModel shapes;
  shapes.config = config;
  for (size_t i = 0; i < tensors.size(); ++i) {
    SourceTensor s;
    s.name = tensors[i].name;
    s.shape = tensors[i].shape;
    s.data.resize(s.elements());
    shapes.tensors.push_back(std::move(s));
  }
  if (absl::StatusOr<LlamaWeights> w = LlamaWeightsOf(shapes); !w.ok()) return w.status();
  return m;
}

template <typename Real>
void DistillModel::BuildWeights(const std::vector<double>& values, size_t threads,
                                std::vector<std::vector<Real>>* dense) const {
  ForEachParallel(blocks_.size(), threads, [&](size_t i, size_t) {
    const Block& b = blocks_[i];
    std::vector<Real>& w = (*dense)[b.tensor];
    const double* s = values.data() + b.first;
    const double* o = b.has_offset ? s + b.rows * b.groups : nullptr;
    if (b.kind == Block::kNorm || b.kind == Block::kDense) {
      std::copy(s, s + b.rows * b.cols, w.begin());
      return;
    }
    for (size_t r = 0; r < b.rows; ++r) {
      for (size_t c = 0; c < b.cols; ++c) {
        const size_t g = r * b.groups + c / b.group;
        w[r * b.cols + c] =
            static_cast<Real>(s[g] * b.CodeAt(values.data(), r * b.cols + c) + (o ? o[g] : 0.0));
      }
    }
  });
}

void DistillModel::BuildWorkspace(const std::vector<double>& values, size_t threads,
                                  Workspace* workspace) const {
  if (double_) {
    BuildWeights(values, threads, &workspace->dense);
  } else {
    BuildWeights(values, threads, &workspace->dense_f);
  }
}

absl::StatusOr<double> DistillModel::LossAndGradientBuilt(const std::vector<double>& values,
                                                          const int32_t* tokens, size_t T,
                                                          const float* teacher_logits,
                                                          std::vector<double>* grad,
                                                          const Workspace& built) const {
  return double_ ? Pass(values, tokens, T, teacher_logits, grad, built.dense)
                 : Pass(values, tokens, T, teacher_logits, grad, built.dense_f);
}

absl::StatusOr<double> DistillModel::LossAndGradient(const std::vector<double>& values,
                                                     const int32_t* tokens, size_t T,
                                                     const float* teacher_logits,
                                                     std::vector<double>* grad) {
  if (double_) {
    BuildWeights(values, 1, &dense_);
    return Pass(values, tokens, T, teacher_logits, grad, dense_);
  }
  BuildWeights(values, 1, &dense_f_);
  return Pass(values, tokens, T, teacher_logits, grad, dense_f_);
}

absl::StatusOr<double> DistillModel::LossAndGradient(const std::vector<double>& values,
                                                     const int32_t* tokens, size_t T,
                                                     const float* teacher_logits,
                                                     std::vector<double>* grad,
                                                     Workspace* workspace) const {
  BuildWorkspace(values, 1, workspace);
  return LossAndGradientBuilt(values, tokens, T, teacher_logits, grad, *workspace);
}

template <typename Real>
absl::StatusOr<double> DistillModel::Pass(const std::vector<double>& values,
                                          const int32_t* tokens, size_t T,
                                          const float* teacher_logits, std::vector<double>* grad,
                                          const std::vector<std::vector<Real>>& dense) const {
  LlamaWeightsT<Real> view;
  view.config = config_;
  view.layers.resize(config_.n_layers);
  for (size_t i = 0; i < names_.size(); ++i) {
    size_t layer = 0;
    const Slot slot = SlotOf(names_[i], config_.n_layers, &layer);
    if (slot != kUnknown) *ViewSlot(&view, slot, layer) = dense[i].data();
  }
  if (config_.tied_embeddings) view.output = view.tok_embeddings;

  const size_t V = config_.vocab_size;
  std::vector<Real> logits(T * V), teacher(teacher_logits, teacher_logits + T * V);
  LlamaTapeT<Real> tape;
  absl::Status s = ForwardFloat<Real>(view, tokens, T, logits.data(), nullptr,
                                      grad != nullptr ? &tape : nullptr);
  if (!s.ok()) return s;
  std::vector<Real> dlogits(grad != nullptr ? T * V : 0);
  const double kl = MeanKlDivergence<Real>(teacher.data(), logits.data(), T, V,
                                           grad != nullptr ? dlogits.data() : nullptr);
  if (grad == nullptr) return kl;

  LlamaGradsT<Real> g;
  g.Reset(config_);
  BackwardFloat<Real>(view, tape, dlogits.data(), &g);
  grad->assign(values.size(), 0.0);
  for (const Block& b : blocks_) {
    size_t layer = 0;
    const Slot slot = SlotOf(b.name, config_.n_layers, &layer);
    if (slot == kUnknown) continue;  // not read by the forward pass
    const std::vector<Real>& dw = *GradOf(&g, slot, layer);
    double* ds = grad->data() + b.first;
    double* dof = b.has_offset ? ds + b.rows * b.groups : nullptr;
    if (b.kind == Block::kNorm || b.kind == Block::kDense) {
      std::copy(dw.begin(), dw.end(), ds);
      continue;
    }
    // w = s code + o: dL/ds = sum dL/dw * code, dL/do = sum dL/dw over the group, and
    // (straight-through) dL/dz = dL/dw * s for a latent code z.
    const double* scale = values.data() + b.first;
    double* dz = b.has_latent ? grad->data() + b.latent : nullptr;
    if (b.train_entries) {
      // w = s e[k]: dL/de[k] adds dL/dw * s over the weights coded with entry k.
      double* de = grad->data() + b.entry_first;
      for (size_t r = 0; r < b.rows; ++r) {
        for (size_t c = 0; c < b.cols; ++c) {
          const size_t i = r * b.cols + c, gi = r * b.groups + c / b.group;
          const double d = dw[i];
          const size_t k = b.EntryIndexAt(values.data(), i);
          ds[gi] += d * values[b.entry_first + k];
          de[k] += d * scale[gi];
          if (dz) dz[i] = d * scale[gi];
        }
      }
      continue;
    }
    for (size_t r = 0; r < b.rows; ++r) {
      for (size_t c = 0; c < b.cols; ++c) {
        const size_t i = r * b.cols + c, gi = r * b.groups + c / b.group;
        const double d = dw[i];
        ds[gi] += d * b.CodeAt(values.data(), i);
        if (dof) dof[gi] += d;
        if (dz) dz[i] = d * scale[gi];
      }
    }
  }
  return kl;
}

std::vector<double> DistillModel::Round(const std::vector<double>& values) const {
  std::vector<double> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    switch (precision_[i]) {
      case Precision::kF32:
        out[i] = static_cast<double>(static_cast<float>(values[i]));
        break;
      case Precision::kF16:
        out[i] = RoundHalf(values[i]);
        break;
      case Precision::kInt8:
        out[i] = std::clamp(std::nearbyint(values[i]), -1.0 * kQ4CodebookMax, 1.0 * kQ4CodebookMax);
        break;
    }
  }
  return out;
}

namespace {

// The unsigned nibbles (code + `bias`) of a 32-column-group block under `values`, row-major
// over rows x padded columns, padding columns as stored (or 8 when nothing is stored).
std::vector<uint8_t> Nibbles(const DistillModel::Block& b, const std::vector<double>& values,
                             double bias) {
  const size_t padded = b.groups * kQ4R16GroupSize;
  std::vector<uint8_t> u = b.nibbles;
  if (u.empty()) u.assign(b.rows * padded, 8);
  for (size_t r = 0; r < b.rows; ++r) {
    for (size_t c = 0; c < b.cols; ++c) {
      u[r * padded + c] = static_cast<uint8_t>(b.CodeAt(values.data(), r * b.cols + c) + bias);
    }
  }
  return u;
}

}  // namespace

void DistillModel::ClampLatents(std::vector<double>* values) const {
  for (const Block& b : blocks_) {
    if (b.train_entries) {
      double* e = values->data() + b.entry_first;
      for (size_t k = 0; k < b.entries.size(); ++k) {
        e[k] = std::clamp(e[k], -1.0 * kQ4CodebookMax, 1.0 * kQ4CodebookMax);
        if (k > 0) e[k] = std::max(e[k], e[k - 1]);
      }
    }
    if (!b.has_latent) continue;
    double* z = values->data() + b.latent;
    for (size_t i = 0; i < b.rows * b.cols; ++i) {
      z[i] = std::clamp(z[i], b.code_min - 0.5 * b.code_step, b.code_max + 0.5 * b.code_step);
    }
  }
}

size_t DistillModel::ChangedCodes(const std::vector<double>& values) const {
  size_t changed = 0;
  for (const Block& b : blocks_) {
    if (!b.has_latent) continue;
    for (size_t i = 0; i < b.rows * b.cols; ++i) {
      changed += b.entries.empty() ? b.CodeAt(values.data(), i) != b.code[i]
                                   : b.EntryIndexAt(values.data(), i) != b.entry_index[i];
    }
  }
  return changed;
}

void DistillModel::WriteBack(const std::vector<double>& values, const SourceModel* reference,
                             std::vector<KiteTensor>* tensors) const {
  const std::vector<double> v = Round(values);
  for (const Block& b : blocks_) {
    KiteTensor& t = (*tensors)[b.tensor];
    const double* s = v.data() + b.first;
    const size_t n = b.rows * b.groups;
    switch (b.kind) {
      case Block::kNorm:
      case Block::kDense:
        StoreAs(std::vector<float>(s, s + b.rows * b.cols), &t.data);
        break;
      case Block::kQ8:
        StoreAs(std::vector<float>(s, s + b.rows), &t.scales);
        break;
      case Block::kQ4RowGroups: {
        if (b.has_latent) {  // the trained codes, q + 8 in each nibble
          for (size_t r = 0; r < b.rows; ++r) {
            for (size_t c = 0; c < b.cols; ++c) {
              const size_t e = r * b.groups * b.group + c;
              const uint8_t u = static_cast<uint8_t>(b.CodeAt(v.data(), r * b.cols + c) + 8.0);
              uint8_t& byte = t.data[e / 2];
              byte = e % 2 == 0 ? static_cast<uint8_t>((byte & 0xF0) | u)
                                : static_cast<uint8_t>((byte & 0x0F) | (u << 4));
            }
          }
        }
        std::vector<uint16_t> h(n);
        for (size_t j = 0; j < n; ++j) h[j] = FloatToHalf(static_cast<float>(s[j]));
        StoreAs(h, &t.scales);
        if (b.has_offset) {
          for (size_t j = 0; j < n; ++j) h[j] = FloatToHalf(static_cast<float>(s[n + j]));
          StoreAs(h, &t.mins);
        }
        break;
      }
      case Block::kQ4R16: {
        std::vector<uint16_t> d(n), o(n);
        for (size_t j = 0; j < n; ++j) {
          d[j] = FloatToHalf(static_cast<float>(s[j]));
          o[j] = FloatToHalf(static_cast<float>(s[n + j]));
        }
        const std::vector<uint8_t> u = b.has_latent ? Nibbles(b, v, 0.0) : b.nibbles;
        kernels::PackQ4R16(b.rows, b.cols, u.data(), d.data(), o.data(), t.data.data());
        break;
      }
      case Block::kQ4R16Sym: {
        std::vector<uint16_t> d(n);
        for (size_t j = 0; j < n; ++j) d[j] = FloatToHalf(static_cast<float>(s[j]));
        const std::vector<uint8_t> u = Nibbles(b, v, 8.0);
        kernels::PackQ4R16Sym(b.rows, b.cols, u.data(), d.data(), t.data.data());
        break;
      }
      case Block::kQ4R16Cb: {
        if (b.train_entries) {
          // Each stored entry takes its distinct entry's trained (rounded) value: the codebook
          // stays ascending, and codes without latents keep naming the same entries.
          for (int8_t& c : t.codebook) {
            const size_t k = static_cast<size_t>(
                std::lower_bound(b.entries.begin(), b.entries.end(), static_cast<double>(c)) -
                b.entries.begin());
            c = static_cast<int8_t>(v[b.entry_first + k]);
          }
        }
        if (b.has_latent) {
          // Repack with the trained codes: each entry's index in the codebook (the first
          // when entries repeat); padding columns 8, as the converter writes them.
          std::vector<uint16_t> d(n);
          for (size_t j = 0; j < n; ++j) d[j] = FloatToHalf(static_cast<float>(s[j]));
          const size_t padded = b.groups * kQ4R16GroupSize;
          std::vector<uint8_t> u(b.rows * padded, 8);
          for (size_t r = 0; r < b.rows; ++r) {
            for (size_t c = 0; c < b.cols; ++c) {
              const double e = b.CodeAt(v.data(), r * b.cols + c);
              const auto at = std::find(t.codebook.begin(), t.codebook.end(), e);
              assert(at != t.codebook.end());
              u[r * padded + c] = static_cast<uint8_t>(at - t.codebook.begin());
            }
          }
          kernels::PackQ4R16Sym(b.rows, b.cols, u.data(), d.data(), t.data.data());
          break;
        }
        // Only the scales changed: rewrite them in place.
        for (size_t r = 0; r < b.rows; ++r) {
          for (size_t g = 0; g < b.groups; ++g) {
            const uint16_t h = FloatToHalf(static_cast<float>(s[r * b.groups + g]));
            std::memcpy(t.data.data() + R16SymScaleOffset(r, g, b.groups), &h, sizeof(h));
          }
        }
        break;
      }
      case Block::kQ3R16: {
        // Only the scales changed: rewrite them in place.
        for (size_t r = 0; r < b.rows; ++r) {
          for (size_t g = 0; g < b.groups; ++g) {
            const uint16_t h = FloatToHalf(static_cast<float>(s[r * b.groups + g]));
            std::memcpy(t.data.data() + R16Q3ScaleOffsetOf(b.group)(r, g, b.groups), &h,
                        sizeof(h));
          }
        }
        break;
      }
      case Block::kQ4SP24: {
        std::vector<uint16_t> d(n);
        for (size_t j = 0; j < n; ++j) d[j] = FloatToHalf(static_cast<float>(s[j]));
        if (b.has_latent) {
          // Repack d * code with the given scales: the codes are stored exactly, and a
          // column whose code is 0 is a zero wherever the packer puts it.
          std::vector<float> w(b.rows * b.cols);
          for (size_t r = 0; r < b.rows; ++r) {
            for (size_t c = 0; c < b.cols; ++c) {
              w[r * b.cols + c] = HalfToFloat(d[r * b.groups + c / b.group]) *
                                  static_cast<float>(b.CodeAt(v.data(), r * b.cols + c));
            }
          }
          const bool packed =
              kernels::PackQ4SP24(b.rows, b.cols, w.data(), t.data.data(), d.data());
          assert(packed);  // the stored columns keep the 2:4 pattern
          (void)packed;
          break;
        }
        for (size_t r = 0; r < b.rows; ++r) {
          for (size_t g = 0; g < b.groups; ++g) {
            std::memcpy(t.data.data() + SP24ScaleOffset(r, g, b.groups), &d[r * b.groups + g],
                        sizeof(uint16_t));
          }
        }
        break;
      }
    }
    if (reference == nullptr || b.kind == Block::kNorm || b.kind == Block::kDense) continue;
    for (const SourceTensor& src : reference->tensors) {
      if (src.name != b.name || src.data.size() != b.rows * b.cols) continue;
      std::vector<float> restored(b.rows * b.cols);
      const double* o = b.has_offset ? s + n : nullptr;
      for (size_t r = 0; r < b.rows; ++r) {
        for (size_t c = 0; c < b.cols; ++c) {
          const size_t g = r * b.groups + c / b.group;
          restored[r * b.cols + c] =
              static_cast<float>(s[g] * b.CodeAt(v.data(), r * b.cols + c) + (o ? o[g] : 0.0));
        }
      }
      t.quant_rel_rms_error =
          static_cast<float>(RelativeRmsError(src.data.data(), restored.data(), restored.size()));
    }
  }
}

absl::StatusOr<DistillReport> DistillStoredTensors(
    const SourceModel& teacher, const std::vector<std::vector<int32_t>>& sequences,
    const DistillOptions& options, std::vector<KiteTensor>* tensors,
    const DistillProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<LlamaWeights> tw = LlamaWeightsOf(teacher);
  if (!tw.ok()) return tw.status();
  absl::StatusOr<DistillModel> model =
      DistillModel::Create(teacher.config, *tensors, options, &teacher);
  if (!model.ok()) return model.status();

  // The teacher's logits, computed once.
  const size_t V = teacher.config.vocab_size;
  std::vector<std::vector<int32_t>> windows;
  const size_t window = std::max<size_t>(2, options.window);
  for (const std::vector<int32_t>& s : sequences) {
    for (size_t begin = 0; begin < s.size(); begin += window) {
      const size_t end = std::min(s.size(), begin + window);
      if (end - begin >= 2) windows.emplace_back(s.begin() + begin, s.begin() + end);
    }
  }
  std::vector<const std::vector<int32_t>*> seqs;
  std::vector<std::vector<float>> teacher_logits;
  DistillReport report;
  for (const std::vector<int32_t>& s : windows) {
    teacher_logits.emplace_back(s.size() * V);
    absl::Status st =
        ForwardFloat<float>(*tw, s.data(), s.size(), teacher_logits.back().data(), nullptr, nullptr);
    if (!st.ok()) return st;
    seqs.push_back(&s);
    report.positions += s.size();
  }
  if (seqs.empty()) return absl::InvalidArgumentError("distill: no calibration sequence of 2+ tokens");

  // Held-out windows (options.heldout_every) are evaluated, never trained on.
  std::vector<size_t> train, heldout;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const size_t every = options.heldout_every;
    (every > 0 && i % every == every - 1 ? heldout : train).push_back(i);
  }
  if (train.empty()) return absl::InvalidArgumentError("distill: every calibration window is held out");

  // The dense weights are built once per pass from the values and shared by the threads,
  // which run the sequences; results are gathered per item and summed in item order, so
  // the thread count does not change them.
  const size_t threads = ThreadsOrCpus(options.threads);
  DistillModel::Workspace built = model->NewWorkspace();
  std::vector<absl::StatusOr<double>> item_kl;
  // item_kl[i] = the KL (and grads[i] its gradient, when grads is not null) of sequence
  // index(i), for i in [0, n).
  auto run = [&](size_t n, const std::vector<double>& values, const auto& index,
                 std::vector<std::vector<double>>* grads) {
    model->BuildWorkspace(values, threads, &built);
    item_kl.assign(n, absl::StatusOr<double>(0.0));
    ForEachParallel(n, threads, [&](size_t i, size_t) {
      const size_t q = index(i);
      item_kl[i] = model->LossAndGradientBuilt(values, seqs[q]->data(), seqs[q]->size(),
                                               teacher_logits[q].data(),
                                               grads != nullptr ? &(*grads)[i] : nullptr, built);
    });
  };
  // Mean KL over the positions of the sequences `which` (sequences weighted by length),
  // from item_kl after a run over every sequence.
  auto mean_kl = [&](const std::vector<size_t>& which) {
    double total = 0.0;
    size_t positions = 0;
    for (size_t i : which) {
      total += *item_kl[i] * static_cast<double>(seqs[i]->size());
      positions += seqs[i]->size();
    }
    return positions > 0 ? total / static_cast<double>(positions) : 0.0;
  };
  // Runs every sequence (only `which` when not null) under `values`; fails on a bad pass.
  auto evaluate = [&](const std::vector<double>& values,
                      const std::vector<size_t>* which) -> absl::Status {
    if (which != nullptr) {
      run(which->size(), values, [&](size_t i) { return (*which)[i]; }, nullptr);
    } else {
      run(seqs.size(), values, [](size_t i) { return i; }, nullptr);
    }
    for (const absl::StatusOr<double>& kl : item_kl) {
      if (!kl.ok()) return kl.status();
    }
    return absl::OkStatus();
  };
  std::vector<size_t> all(seqs.size()), first_n(heldout.size());
  std::iota(all.begin(), all.end(), 0);
  std::iota(first_n.begin(), first_n.end(), 0);
  const std::vector<double>& units = model->units();
  std::vector<double> values = model->initial_values();
  if (absl::Status st = evaluate(values, nullptr); !st.ok()) return st;
  report.kl_before = mean_kl(all);
  report.heldout_kl_before = mean_kl(heldout);
  for (double u : units) report.parameters += u != 0.0;
  report.heldout_positions = 0;
  for (size_t i : heldout) report.heldout_positions += seqs[i]->size();

  const size_t per_step = std::max<size_t>(1, options.sequences_per_step);
  const size_t window_tokens = report.positions / seqs.size();  // mean, for the estimate
  const auto train_start = std::chrono::steady_clock::now();
  auto emit = [&](DistillProgress::Kind kind, size_t step, double train_kl, double heldout_kl) {
    if (!progress) return;
    DistillProgress p;
    p.kind = kind;
    p.step = step;
    p.total = options.steps;
    p.train_kl = train_kl;
    p.heldout_kl = heldout_kl;
    p.tokens = step * per_step * window_tokens;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();
    p.steps_per_second = p.seconds > 0.0 ? static_cast<double>(step) / p.seconds : 0.0;
    p.eta_seconds = p.steps_per_second > 0.0
                        ? static_cast<double>(options.steps - step) / p.steps_per_second
                        : 0.0;
    progress(p);
  };
  emit(DistillProgress::kStart, 0, mean_kl(train), report.heldout_kl_before);

  // Adam on theta = (value - initial) / unit. A step divides by the larger of the value's
  // second moment and its moment group's mean one (a matrix of latent codes; a value alone
  // otherwise): no value steps more than the learning rate, and codes whose gradient is
  // small against their matrix's move proportionally less.
  const size_t n = values.size();
  const std::vector<size_t>& group_of = model->moment_groups();
  const size_t moment_groups = group_of.empty() ? 0 : group_of.back() + 1;
  std::vector<double> group_size(moment_groups, 0.0), group_sq(moment_groups);
  for (size_t j = 0; j < n; ++j) group_size[group_of[j]] += units[j] != 0.0;
  std::vector<double> m1(n, 0.0), m2(n, 0.0), m2_group(moment_groups, 0.0);
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-12;
  // The update runs on chunks of whole moment groups, one chunk per item of a parallel
  // loop: every value's arithmetic is the same in any chunking, and a group's sum of
  // squares still adds its values in index order.
  std::vector<size_t> chunk{0};
  const size_t chunk_target = n / (4 * threads) + 1;
  for (size_t j = 1; j < n; ++j) {
    if (group_of[j] != group_of[j - 1] && j - chunk.back() >= chunk_target) chunk.push_back(j);
  }
  chunk.push_back(n);
  const size_t chunks = chunk.size() - 1;
  std::vector<size_t> order = train;
  std::mt19937 rng(1234);
  std::shuffle(order.begin(), order.end(), rng);
  size_t next = 0;
  double logged_kl = 0.0;
  size_t logged = 0;
  const size_t estimate_at = std::min<size_t>(options.steps, kDistillEstimateSteps);
  std::vector<size_t> picked(per_step);
  std::vector<std::vector<double>> grads(per_step);
  for (size_t step = 1; step <= options.steps; ++step) {
    for (size_t k = 0; k < per_step; ++k) {
      if (next == order.size()) {
        std::shuffle(order.begin(), order.end(), rng);
        next = 0;
      }
      picked[k] = order[next++];
    }
    run(per_step, values, [&](size_t k) { return picked[k]; }, &grads);
    for (size_t k = 0; k < per_step; ++k) {
      if (!item_kl[k].ok()) return item_kl[k].status();
      logged_kl += *item_kl[k];
      ++logged;
    }
    const double progress_frac = static_cast<double>(step - 1) / static_cast<double>(options.steps);
    double lr = options.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(kPi * progress_frac)));
    if (step <= options.warmup_steps) {
      lr *= static_cast<double>(step) / static_cast<double>(options.warmup_steps + 1);
    }
    const double c1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double c2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    std::fill(group_sq.begin(), group_sq.end(), 0.0);
    ForEachParallel(chunks, threads, [&](size_t c, size_t) {
      for (size_t j = chunk[c]; j < chunk[c + 1]; ++j) {
        double sum = 0.0;
        for (size_t k = 0; k < per_step; ++k) sum += grads[k][j] / static_cast<double>(per_step);
        if (units[j] == 0.0) continue;
        const double g = sum * units[j];  // gradient with respect to theta
        m1[j] = beta1 * m1[j] + (1 - beta1) * g;
        m2[j] = beta2 * m2[j] + (1 - beta2) * g * g;
        group_sq[group_of[j]] += g * g;
      }
    });
    for (size_t k = 0; k < moment_groups; ++k) {
      if (group_size[k] > 0.0) {
        m2_group[k] = beta2 * m2_group[k] + (1 - beta2) * group_sq[k] / group_size[k];
      }
    }
    ForEachParallel(chunks, threads, [&](size_t c, size_t) {
      for (size_t j = chunk[c]; j < chunk[c + 1]; ++j) {
        if (units[j] == 0.0) continue;
        const double v = std::max(m2[j], m2_group[group_of[j]]);
        values[j] -= lr * (m1[j] / c1) / (std::sqrt(v / c2) + eps) * units[j];
      }
    });
    model->ClampLatents(&values);
    if (step == estimate_at) emit(DistillProgress::kEstimate, step, 0.0, 0.0);
    if (options.log_every > 0 && step % options.log_every == 0) {
      double heldout_kl = 0.0;
      if (progress && !heldout.empty()) {
        if (absl::Status st = evaluate(values, &heldout); !st.ok()) return st;
        heldout_kl = mean_kl(first_n);
      }
      emit(DistillProgress::kLog, step, logged_kl / static_cast<double>(logged), heldout_kl);
      logged_kl = 0.0;
      logged = 0;
    }
  }
  report.steps = options.steps;

  const std::vector<double> rounded = model->Round(values);
  if (absl::Status st = evaluate(rounded, nullptr); !st.ok()) return st;
  const double after = mean_kl(all);
  if (after < report.kl_before) {
    report.kl_after = after;
    report.heldout_kl_after = mean_kl(heldout);
    report.codes_changed = model->ChangedCodes(rounded);
    model->WriteBack(rounded, &teacher, tensors);
  } else {
    report.kl_after = report.kl_before;
    report.heldout_kl_after = report.heldout_kl_before;
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

absl::StatusOr<DistillReport> DistillSourceWeights(
    const SourceModel& teacher, const std::vector<std::vector<int32_t>>& sequences,
    const DistillOptions& options, SourceModel* student, const DistillProgressFn& progress) {
  // The student as F32 tensors, tuned as a "stored" model with trainable matrices.
  std::vector<KiteTensor> tensors;
  for (const SourceTensor& t : student->tensors) {
    if (t.data.size() != t.elements()) {
      return absl::InvalidArgumentError(absl::StrCat("distill: tensor \"", t.name, "\" has no data"));
    }
    KiteTensor k;
    k.name = t.name;
    k.shape = t.shape;
    StoreAs(t.data, &k.data);
    tensors.push_back(std::move(k));
  }
  DistillOptions o = options;
  o.train_f32_matrices = true;
  absl::StatusOr<DistillReport> report = DistillStoredTensors(teacher, sequences, o, &tensors, progress);
  if (!report.ok()) return report.status();
  for (size_t i = 0; i < tensors.size(); ++i) student->tensors[i].data = BytesAs<float>(tensors[i].data);
  return report;
}

}  // namespace kite::convert
