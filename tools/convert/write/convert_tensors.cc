#include "tools/convert/write/convert_tensors.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "sdk/format/format.h"
#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4r16-gemm/pack.h"
#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/compress/codebook.h"
#include "tools/convert/compress/compress_model.h"
#include "tools/convert/compress/gptq.h"
#include "tools/convert/compress/prune.h"
#include "tools/convert/compress/quantize.h"

namespace kite::convert {

const char* QuantModeName(QuantMode mode) {
  switch (mode) {
    case QuantMode::kF32: return "f32";
    case QuantMode::kQ4: return "q4";
    case QuantMode::kQ8: return "q8";
  }
  return "?";
}

DType StoredDType(const SourceTensor& source, const ConvertOptions& options) {
  if (options.quant == QuantMode::kF32 || source.shape.size() != 2) return DType::F32;
  if (options.quant == QuantMode::kQ4 &&
      std::find(options.keep_f32.begin(), options.keep_f32.end(), source.name) !=
          options.keep_f32.end()) {
    return DType::F32;
  }
  if (options.quant == QuantMode::kQ8) return DType::Q8_C;
  for (const std::string& name : options.keep_8bit) {
    if (name == source.name) return DType::Q8_C;
  }
  if (options.sparse_24 && IsPrunableWeight(source.name, source.shape)) return DType::Q4_G_SP24;
  return DType::Q4_G;
}

namespace {

// Repacks a row-group Q4 matrix (group 32) into Q4_R16_G32: unsigned nibbles u = q + 8,
// scale d, offset o = min - 8 d (so that w = d u + o), then the kernels' block order.
// With `offset_free`, symmetric matrices (no mins) go to Q4_R16_G32_SYM instead.
// Returns the packed bytes; *restored gets the weights the packed form holds.
std::vector<uint8_t> PackForKernels(const Q4Matrix& q, bool offset_free,
                                    std::vector<float>* restored) {
  const uint64_t groups = q.groups();
  const uint64_t padded = groups * kQ4R16GroupSize;
  std::vector<uint8_t> u(q.rows * padded);
  if (offset_free && q.mins.empty()) {
    // Symmetric groups: the offset-free Q4_R16_G32_SYM, w = d * u + (-8 d).
    for (uint64_t i = 0; i < q.rows * padded; ++i) {
      const uint8_t byte = q.data[i / 2];
      u[i] = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
    }
    std::vector<uint8_t> packed(
        PackedBytes(DType::Q4_G, Layout::Q4_R16_G32_SYM, q.rows, q.cols, kQ4R16GroupSize));
    kernels::PackQ4R16Sym(q.rows, q.cols, u.data(), q.scales.data(), packed.data());
    restored->resize(q.rows * q.cols);
    for (uint64_t r = 0; r < q.rows; ++r) {
      kernels::DequantizeQ4R16SymRow(q.cols, packed.data(), r, restored->data() + r * q.cols);
    }
    return packed;
  }
  std::vector<uint16_t> o(q.rows * groups);
  for (uint64_t r = 0; r < q.rows; ++r) {
    for (uint64_t c = 0; c < padded; ++c) {
      const uint8_t byte = q.data[(r * padded + c) / 2];
      u[r * padded + c] = (c % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
    }
    for (uint64_t g = 0; g < groups; ++g) {
      const float d = HalfToFloat(q.scales[r * groups + g]);
      const float m = q.mins.empty() ? 0.0f : HalfToFloat(q.mins[r * groups + g]);
      o[r * groups + g] = FloatToHalf(m - 8.0f * d);
    }
  }
  std::vector<uint8_t> packed(
      PackedBytes(DType::Q4_G, Layout::Q4_R16_G32, q.rows, q.cols, kQ4R16GroupSize));
  kernels::PackQ4R16(q.rows, q.cols, u.data(), q.scales.data(), o.data(), packed.data());
  restored->resize(q.rows * q.cols);
  for (uint64_t r = 0; r < q.rows; ++r) {
    for (uint64_t c = 0; c < q.cols; ++c) {
      const uint64_t g = c / kQ4R16GroupSize;
      (*restored)[r * q.cols + c] = HalfToFloat(q.scales[r * groups + g]) * u[r * padded + c] +
                                    HalfToFloat(o[r * groups + g]);
    }
  }
  return packed;
}

}  // namespace

absl::StatusOr<KiteTensor> ConvertTensor(const SourceTensor& source,
                                         const ConvertOptions& options,
                                         std::vector<float>* restored_out) {
  auto fail = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", source.name, "\": ", what));
  };
  if (source.shape.empty() || source.shape.size() > 2) {
    return fail(absl::StrFormat("%d-D tensors are not supported", source.shape.size()));
  }
  if (source.data.size() != source.elements()) {
    return fail(absl::StrFormat("has %d values for %d elements", source.data.size(),
                                source.elements()));
  }
  KiteTensor out;
  out.name = source.name;
  out.shape = source.shape;
  out.dtype = StoredDType(source, options);
  if (out.dtype == DType::F32) {
    for (size_t i = 0; i < source.data.size(); ++i) {
      if (!std::isfinite(source.data[i])) {
        return fail(absl::StrFormat("non-finite value %g at element %d", source.data[i], i));
      }
    }
    out.layout = Layout::ROW_MAJOR;
    out.data.resize(source.data.size() * sizeof(float));
    std::memcpy(out.data.data(), source.data.data(), out.data.size());
    if (restored_out != nullptr) *restored_out = source.data;
    return out;
  }

  if (out.dtype == DType::Q8_C) {
    absl::StatusOr<Q8Matrix> q = QuantizeQ8C(source.data.data(), source.shape[0], source.shape[1]);
    if (!q.ok()) return fail(q.status().message());
    const std::vector<float> restored = DequantizeQ8C(*q);
    out.layout = Layout::ROW_MAJOR;
    out.quant_rel_rms_error = static_cast<float>(
        RelativeRmsError(source.data.data(), restored.data(), restored.size()));
    out.data.resize(q->data.size());
    std::memcpy(out.data.data(), q->data.data(), out.data.size());
    out.scales.resize(q->scales.size() * sizeof(float));
    std::memcpy(out.scales.data(), q->scales.data(), out.scales.size());
    if (restored_out != nullptr) *restored_out = restored;
    return out;
  }

  if (out.dtype == DType::Q4_G_SP24) {
    const size_t rows = source.shape[0], cols = source.shape[1];
    std::vector<float> w = source.data;
    if (!kernels::IsTwoFourSparse(rows, cols, w.data())) {
      const LinearInputStats* s =
          options.calibration != nullptr ? options.calibration->Find(source.name) : nullptr;
      std::vector<float> norms;
      if (s != nullptr && s->cols == cols) norms = s->ColumnNorms();
      Prune24(w.data(), rows, cols, norms.empty() ? nullptr : norms.data());
    }
    out.data.resize(
        PackedBytes(DType::Q4_G_SP24, Layout::Q4_SP24_R16_G64, rows, cols, kQ4SP24BlockCols));
    if (!kernels::PackQ4SP24(rows, cols, w.data(), out.data.data())) {
      return fail("has a non-finite value");
    }
    out.layout = Layout::Q4_SP24_R16_G64;
    out.group_size = kQ4SP24BlockCols;
    std::vector<float> restored(rows * cols);
    for (size_t r = 0; r < rows; ++r) {
      kernels::DequantizeQ4SP24Row(cols, out.data.data(), r, restored.data() + r * cols);
    }
    // Against the source: the error counts pruning and quantization.
    out.quant_rel_rms_error = static_cast<float>(
        RelativeRmsError(source.data.data(), restored.data(), restored.size()));
    if (restored_out != nullptr) *restored_out = std::move(restored);
    return out;
  }

  const bool q3_g64 = std::find(options.q3_g64.begin(), options.q3_g64.end(), source.name) !=
                      options.q3_g64.end();
  if (q3_g64 ||
      std::find(options.q3.begin(), options.q3.end(), source.name) != options.q3.end()) {
    // 3-bit symmetric groups of 32 (Q3_R16_G32) or 64 (Q3_R16_G64), GPTQ when the layer has
    // statistics.
    const uint64_t rows = source.shape[0], cols = source.shape[1];
    const uint32_t group = q3_g64 ? kQ3R16G64BlockCols : kQ4R16GroupSize;
    const Layout layout = q3_g64 ? Layout::Q3_R16_G64 : Layout::Q3_R16_G32;
    const LinearInputStats* in =
        options.calibration != nullptr && options.gptq &&
                (source.name != "tok_embeddings" || options.gptq_tied_embedding)
            ? options.calibration->Find(source.name)
            : nullptr;
    absl::StatusOr<Q4Matrix> q;
    if (in != nullptr && in->cols == cols) {
      GptqOptions gptq;
      gptq.group_size = group;
      gptq.asymmetric = false;
      gptq.bits = 3;
      gptq.scale_rule = options.q4_scale_rule;
      gptq.keep_zeros = options.gptq_keep_zeros;
      gptq.act_order = options.gptq_act_order;
      q = QuantizeQ4GGptq(source.data.data(), rows, cols, in->xtx.data(), gptq);
    } else {
      q = QuantizeQ4G(source.data.data(), rows, cols, group, options.q4_scale_rule, /*bits=*/3);
    }
    if (!q.ok()) return fail(q.status().message());
    // Row-group nibbles hold q + 8 with q in [-4, 3]; the 3-bit codes are u = q + 4.
    const uint64_t padded = q->groups() * group;
    std::vector<uint8_t> u(rows * padded);
    for (uint64_t i = 0; i < rows * padded; ++i) {
      const uint8_t byte = q->data[i / 2];
      const int nibble = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
      u[i] = static_cast<uint8_t>(nibble - 8 + kQ3Zero);
    }
    out.layout = layout;
    out.group_size = group;
    out.data.resize(PackedBytes(DType::Q4_G, layout, rows, cols, group));
    kernels::PackQ3R16(rows, cols, group, u.data(), q->scales.data(), out.data.data());
    std::vector<float> restored(rows * cols);
    for (uint64_t r = 0; r < rows; ++r) {
      kernels::DequantizeQ3R16Row(cols, group, out.data.data(), r, restored.data() + r * cols);
    }
    out.quant_rel_rms_error = static_cast<float>(
        RelativeRmsError(source.data.data(), restored.data(), restored.size()));
    if (restored_out != nullptr) *restored_out = std::move(restored);
    return out;
  }

  // A group never spans more than the row needs: 64 columns with --group-size 128 use
  // groups of 64 (128 would store 64 padding codes per row).
  uint32_t gs = options.group_size;
  for (const auto& [name, size] : options.group_size_for) {
    if (name == source.name) gs = size;
  }
  if (absl::Status s = ValidateGroupSize(gs); !s.ok()) return fail(s.message());
  while (gs > 32 && gs / 2 >= source.shape[1]) gs /= 2;
  const LinearInputStats* stats =
      options.calibration != nullptr && options.gptq &&
                (source.name != "tok_embeddings" || options.gptq_tied_embedding)
          ? options.calibration->Find(source.name)
          : nullptr;
  if (options.q4_codebook && options.q4_packed && gs == kQ4R16GroupSize) {
    const uint64_t rows = source.shape[0], cols = source.shape[1];
    // The Hessian diagonal of the layer's least-squares objective: E[x_j^2] per input.
    const LinearInputStats* in =
        options.calibration != nullptr ? options.calibration->Find(source.name) : nullptr;
    std::vector<float> h;
    if (in != nullptr && in->cols == cols && in->tokens > 0) {
      h.resize(cols);
      for (uint64_t j = 0; j < cols; ++j) {
        h[j] = static_cast<float>(in->xtx[j * cols + j] / static_cast<double>(in->tokens));
      }
    }
    absl::StatusOr<Q4CodebookMatrix> cb =
        QuantizeQ4Codebook(source.data.data(), rows, cols, h.empty() ? nullptr : h.data());
    if (!cb.ok()) return fail(cb.status().message());
    if (in != nullptr && !h.empty() && options.gptq) {
      const absl::Status st = GptqCodebookCodes(source.data.data(), rows, cols, in->xtx.data(),
                                                GptqOptions().damp, &*cb);
      if (!st.ok()) return fail(st.message());
    }
    out.layout = Layout::Q4_R16_G32_CB;
    out.group_size = gs;
    out.data.resize(PackedBytes(DType::Q4_G, Layout::Q4_R16_G32_CB, rows, cols, gs));
    kernels::PackQ4R16Sym(rows, cols, cb->codes.data(), cb->scales.data(), out.data.data());
    out.codebook.assign(cb->codebook.begin(), cb->codebook.end());
    std::vector<float> restored(rows * cols);
    for (uint64_t r = 0; r < rows; ++r) {
      kernels::DequantizeQ4R16CbRow(cols, out.data.data(), out.codebook.data(), r,
                                    restored.data() + r * cols);
    }
    out.quant_rel_rms_error = static_cast<float>(
        RelativeRmsError(source.data.data(), restored.data(), restored.size()));
    if (restored_out != nullptr) *restored_out = std::move(restored);
    return out;
  }
  absl::StatusOr<Q4Matrix> q;
  if (stats != nullptr && stats->cols == source.shape[1]) {
    GptqOptions gptq;
    gptq.group_size = gs;
    gptq.asymmetric = options.q4_asymmetric;
    gptq.scale_rule = options.q4_scale_rule;
    gptq.keep_zeros = options.gptq_keep_zeros;
    gptq.act_order = options.gptq_act_order;
    q = QuantizeQ4GGptq(source.data.data(), source.shape[0], source.shape[1], stats->xtx.data(),
                        gptq);
  } else {
    q = options.q4_asymmetric
            ? QuantizeQ4GAsymmetric(source.data.data(), source.shape[0], source.shape[1],
                                    gs)
            : QuantizeQ4G(source.data.data(), source.shape[0], source.shape[1],
                          gs, options.q4_scale_rule);
  }
  if (!q.ok()) return fail(q.status().message());
  out.group_size = gs;
  if (options.q4_packed && gs == kQ4R16GroupSize) {
    std::vector<float> restored;
    const bool offset_free = options.q4_offset_free && q->mins.empty();
    out.data = PackForKernels(*q, offset_free, &restored);
    out.layout = offset_free ? Layout::Q4_R16_G32_SYM : Layout::Q4_R16_G32;
    out.quant_rel_rms_error = static_cast<float>(
        RelativeRmsError(source.data.data(), restored.data(), restored.size()));
    if (restored_out != nullptr) *restored_out = std::move(restored);
    return out;
  }
  const std::vector<float> restored = DequantizeQ4G(*q);
  if (restored_out != nullptr) *restored_out = restored;
  out.layout = Layout::Q4_ROW_GROUPS;
  out.quant_rel_rms_error = static_cast<float>(
      RelativeRmsError(source.data.data(), restored.data(), restored.size()));
  out.data = std::move(q->data);
  // Scales are stored as little-endian f16 (the hosts we build on are little-endian).
  out.scales.resize(q->scales.size() * sizeof(uint16_t));
  std::memcpy(out.scales.data(), q->scales.data(), out.scales.size());
  out.mins.resize(q->mins.size() * sizeof(uint16_t));
  if (!out.mins.empty()) std::memcpy(out.mins.data(), q->mins.data(), out.mins.size());
  return out;
}

absl::StatusOr<std::vector<KiteTensor>> ConvertTensors(SourceModel* source,
                                                       const ConvertOptions& options,
                                                       ConvertProgress* progress) {
  if (options.quant == QuantMode::kQ4) {
    if (absl::Status s = ValidateGroupSize(options.group_size); !s.ok()) return s;
  }
  if (options.sparse_24 && options.quant != QuantMode::kQ4) {
    return absl::InvalidArgumentError("2:4 sparse storage needs q4 mode");
  }
  std::vector<KiteTensor> out;
  const size_t total = source->tensors.size();
  out.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    SourceTensor& t = source->tensors[i];
    if (progress != nullptr) progress->Begin(i, total, t, StoredDType(t, options));
    absl::StatusOr<KiteTensor> converted = ConvertTensor(t, options);
    if (!converted.ok()) return converted.status();
    std::vector<float>().swap(t.data);
    out.push_back(std::move(*converted));
    if (progress != nullptr) progress->End(i, total, out.back());
  }
  return out;
}

absl::StatusOr<std::vector<KiteTensor>> ConvertTensorsInParallel(
    const std::vector<SourceTensor>& shapes, const TensorLoader& load,
    const ConvertOptions& options, ConvertProgress* progress, unsigned threads) {
  const size_t total = shapes.size();
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(total, 1)));

  std::vector<std::optional<KiteTensor>> done(total);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;  // guards `error` and the progress callbacks
  absl::Status error;

  auto work = [&] {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      const size_t i = next.fetch_add(1);
      if (i >= total) return;
      if (progress != nullptr) {
        std::lock_guard<std::mutex> lock(mu);
        progress->Begin(i, total, shapes[i], StoredDType(shapes[i], options));
      }
      SourceTensor t;
      const absl::Status loaded = load(i, &t);
      absl::StatusOr<KiteTensor> converted =
          loaded.ok() ? ConvertTensor(t, options) : absl::StatusOr<KiteTensor>(loaded);
      std::vector<float>().swap(t.data);
      std::lock_guard<std::mutex> lock(mu);
      if (!converted.ok()) {
        if (error.ok()) error = converted.status();
        failed.store(true);
        return;
      }
      done[i] = std::move(*converted);
      if (progress != nullptr) progress->End(i, total, *done[i]);
    }
  };

  std::vector<std::thread> pool;
  for (unsigned w = 1; w < threads; ++w) pool.emplace_back(work);
  work();
  for (std::thread& th : pool) th.join();
  if (!error.ok()) return error;

  std::vector<KiteTensor> out;
  out.reserve(total);
  for (std::optional<KiteTensor>& t : done) out.push_back(std::move(*t));
  return out;
}

}  // namespace kite::convert
