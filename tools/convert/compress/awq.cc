#include "tools/convert/compress/awq.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "sdk/format/tensor_names.h"
#include "tools/convert/compress/gptq.h"
#include "tools/convert/compress/parallel.h"

namespace kite::convert {

std::vector<float> AwqScales(const std::vector<double>& mean_square, double alpha) {
  std::vector<float> scales(mean_square.size(), 1.0f);
  double lo = 0.0, hi = 0.0;
  bool any = false;
  for (double m : mean_square) {
    if (!(m > 0.0)) continue;
    const double v = std::pow(m, alpha / 2.0);
    lo = any ? std::min(lo, v) : v;
    hi = any ? std::max(hi, v) : v;
    any = true;
  }
  if (!any || alpha == 0.0) return scales;
  const double norm = std::sqrt(lo * hi);
  for (size_t c = 0; c < mean_square.size(); ++c) {
    if (mean_square[c] > 0.0) {
      scales[c] = static_cast<float>(std::pow(mean_square[c], alpha / 2.0) / norm);
    }
  }
  return scales;
}

namespace {

// Quantizes `w` ([rows, cols]) as `options` say and returns it dequantized.
absl::StatusOr<std::vector<float>> QuantizeRoundTrip(const float* w, uint64_t rows,
                                                     uint64_t cols, const AwqOptions& options) {
  absl::StatusOr<Q4Matrix> q = options.asymmetric
                                   ? QuantizeQ4GAsymmetric(w, rows, cols, options.group_size)
                                   : QuantizeQ4G(w, rows, cols, options.group_size,
                                                 options.scale_rule);
  if (!q.ok()) return q.status();
  return DequantizeQ4G(*q);
}

}  // namespace

absl::StatusOr<AwqSearchResult> SearchActivationScales(const std::vector<AwqMatrix>& matrices,
                                                       uint64_t cols, const double* xtx,
                                                       const std::vector<double>& mean_square,
                                                       const std::vector<size_t>& channel_of,
                                                       const AwqOptions& options) {
  if (xtx == nullptr || cols == 0 || options.grid < 2 ||
      (channel_of.empty() ? mean_square.size() != cols : channel_of.size() != cols)) {
    return absl::InvalidArgumentError("activation scale search: inconsistent sizes");
  }
  for (size_t c : channel_of) {
    if (c >= mean_square.size()) {
      return absl::InvalidArgumentError("activation scale search: channel out of range");
    }
  }
  AwqSearchResult best;
  std::vector<float> scaled;
  for (size_t i = 0; i < options.grid; ++i) {
    const double alpha = static_cast<double>(i) / static_cast<double>(options.grid - 1);
    std::vector<float> scales = AwqScales(mean_square, alpha);
    double error = 0.0;
    for (const AwqMatrix& m : matrices) {
      scaled.assign(m.w, m.w + m.rows * cols);
      for (uint64_t r = 0; r < m.rows; ++r) {
        for (uint64_t j = 0; j < cols; ++j) {
          scaled[r * cols + j] *= scales[channel_of.empty() ? j : channel_of[j]];
        }
      }
      absl::StatusOr<std::vector<float>> restored =
          QuantizeRoundTrip(scaled.data(), m.rows, cols, options);
      if (!restored.ok()) return restored.status();
      for (uint64_t r = 0; r < m.rows; ++r) {
        for (uint64_t j = 0; j < cols; ++j) {
          (*restored)[r * cols + j] /= scales[channel_of.empty() ? j : channel_of[j]];
        }
      }
      error += HessianWeightedError(m.w, restored->data(), m.rows, cols, xtx);
    }
    if (i == 0) best.error_at_zero = error;
    if (i == 0 || error < best.error) {
      best.alpha = alpha;
      best.scales = std::move(scales);
      best.error = error;
    }
  }
  return best;
}

namespace {

// The tensors of one layer that the scaling touches.
struct LayerTensors {
  SourceTensor* attention_norm = nullptr;
  SourceTensor* wq = nullptr;
  SourceTensor* wk = nullptr;
  SourceTensor* wv = nullptr;
  SourceTensor* wo = nullptr;
  SourceTensor* bv = nullptr;  // null without attention biases
  SourceTensor* ffn_norm = nullptr;
  SourceTensor* w1 = nullptr;
  SourceTensor* w2 = nullptr;
  SourceTensor* w3 = nullptr;
};

// The input statistics of `name` with `cols` columns, or an error naming the tensor.
absl::StatusOr<LinearInputStats*> StatsOf(CalibrationStats* stats, const std::string& name,
                                          size_t cols) {
  LinearInputStats* s = stats->FindMutable(name);
  if (s == nullptr || s->cols != cols || s->tokens == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("tensor \"", name, "\": no calibration statistics for --awq"));
  }
  return s;
}

// Mean square of each channel: the mean over its columns of xtx_jj / tokens.
std::vector<double> ChannelMeanSquares(const LinearInputStats& s,
                                       const std::vector<size_t>& channel_of, size_t channels) {
  std::vector<double> sum(channels, 0.0), count(channels, 0.0);
  for (size_t j = 0; j < s.cols; ++j) {
    const size_t c = channel_of.empty() ? j : channel_of[j];
    sum[c] += s.xtx[j * s.cols + j] / static_cast<double>(s.tokens);
    count[c] += 1.0;
  }
  for (size_t c = 0; c < channels; ++c) sum[c] = count[c] > 0.0 ? sum[c] / count[c] : 0.0;
  return sum;
}

// Multiplies column j of every matrix by scale[channel(j)], divides the statistics by the
// scales of both indices (the inputs become x / s), and divides each channel c of the
// producer: element c of the vectors in `divide_elements`, row c of the matrices in
// `divide_rows`.
void Fold(const std::vector<SourceTensor*>& matrices, LinearInputStats* stats,
          const std::vector<float>& scales, const std::vector<size_t>& channel_of,
          const std::vector<SourceTensor*>& divide_elements,
          const std::vector<SourceTensor*>& divide_rows) {
  const size_t cols = stats->cols;
  auto scale = [&](size_t j) { return scales[channel_of.empty() ? j : channel_of[j]]; };
  for (SourceTensor* m : matrices) {
    for (size_t r = 0; r < m->shape[0]; ++r) {
      for (size_t j = 0; j < cols; ++j) m->data[r * cols + j] *= scale(j);
    }
  }
  for (size_t j = 0; j < cols; ++j) {
    for (size_t k = 0; k < cols; ++k) {
      stats->xtx[j * cols + k] /= static_cast<double>(scale(j)) * static_cast<double>(scale(k));
    }
  }
  for (SourceTensor* v : divide_elements) {
    for (size_t c = 0; c < scales.size(); ++c) v->data[c] /= scales[c];
  }
  for (SourceTensor* m : divide_rows) {
    const size_t width = m->shape[1];
    for (size_t c = 0; c < scales.size(); ++c) {
      for (size_t k = 0; k < width; ++k) m->data[c * width + k] /= scales[c];
    }
  }
}

// Searches and folds one group; appends its report.
absl::Status ScaleGroup(const std::vector<SourceTensor*>& matrices, CalibrationStats* stats,
                        const std::vector<size_t>& channel_of, size_t channels,
                        const std::vector<SourceTensor*>& divide_elements,
                        const std::vector<SourceTensor*>& divide_rows, const AwqOptions& options,
                        std::vector<AwqGroupReport>* reports) {
  const size_t cols = matrices[0]->shape[1];
  absl::StatusOr<LinearInputStats*> s = StatsOf(stats, matrices[0]->name, cols);
  if (!s.ok()) return s.status();
  std::vector<AwqMatrix> ms;
  std::string label = matrices[0]->name;  // "layers.0.attention.wq+wk+wv"
  for (size_t i = 0; i < matrices.size(); ++i) {
    const std::string& name = matrices[i]->name;
    ms.push_back({matrices[i]->data.data(), matrices[i]->shape[0]});
    if (i > 0) absl::StrAppend(&label, "+", name.substr(name.rfind('.') + 1));
  }
  absl::StatusOr<AwqSearchResult> found = SearchActivationScales(
      ms, cols, (*s)->xtx.data(), ChannelMeanSquares(**s, channel_of, channels), channel_of,
      options);
  if (!found.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor \"", matrices[0]->name, "\": ", found.status().message()));
  }
  reports->push_back({label, found->alpha, found->error, found->error_at_zero});
  if (found->alpha == 0.0) return absl::OkStatus();
  Fold(matrices, *s, found->scales, channel_of, divide_elements, divide_rows);
  return absl::OkStatus();
}

absl::Status ScaleLayer(const SourceConfig& config, const LayerTensors& t,
                        CalibrationStats* stats, const AwqOptions& options,
                        std::vector<AwqGroupReport>* reports) {
  const size_t head_dim = config.head_dim;
  const size_t q_dim = static_cast<size_t>(config.n_heads) * head_dim;
  const size_t kv_dim = static_cast<size_t>(config.n_kv_heads) * head_dim;
  const size_t heads_per_kv = config.n_heads / config.n_kv_heads;
  // wo's column h * head_dim + d reads value row (h / heads_per_kv) * head_dim + d.
  std::vector<size_t> value_row(q_dim);
  for (size_t c = 0; c < q_dim; ++c) {
    value_row[c] = (c / head_dim / heads_per_kv) * head_dim + c % head_dim;
  }
  std::vector<SourceTensor*> value_bias;
  if (t.bv != nullptr) value_bias.push_back(t.bv);
  const size_t dim = config.dim, hidden = config.hidden_dim;
  // wo and w2 first: their folding changes wv and w3, which the later searches then see.
  if (absl::Status s =
          ScaleGroup({t.wo}, stats, value_row, kv_dim, value_bias, {t.wv}, options, reports);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ScaleGroup({t.wq, t.wk, t.wv}, stats, {}, dim, {t.attention_norm}, {},
                                  options, reports);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ScaleGroup({t.w2}, stats, {}, hidden, {}, {t.w3}, options, reports);
      !s.ok()) {
    return s;
  }
  return ScaleGroup({t.w1, t.w3}, stats, {}, dim, {t.ffn_norm}, {}, options, reports);
}

}  // namespace

absl::StatusOr<std::vector<AwqGroupReport>> ApplyActivationScaling(SourceModel* model,
                                                                   CalibrationStats* stats,
                                                                   const AwqOptions& options) {
  const SourceConfig& config = model->config;
  if (config.n_kv_heads == 0 || config.n_heads % config.n_kv_heads != 0 ||
      config.head_dim == 0) {
    return absl::InvalidArgumentError("--awq: inconsistent attention heads in the config");
  }
  std::map<std::string, SourceTensor*> by_name;
  for (SourceTensor& t : model->tensors) by_name[t.name] = &t;
  const size_t dim = config.dim, hidden = config.hidden_dim;
  const size_t q_dim = static_cast<size_t>(config.n_heads) * config.head_dim;
  const size_t kv_dim = static_cast<size_t>(config.n_kv_heads) * config.head_dim;
  std::vector<LayerTensors> layers(config.n_layers);
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string prefix = absl::StrCat("layers.", i, ".");
    auto get = [&](const char* suffix, std::vector<uint64_t> shape,
                   SourceTensor** out) -> absl::Status {
      const std::string name = prefix + suffix;
      auto found = by_name.find(name);
      if (found == by_name.end() || found->second->shape != shape ||
          found->second->data.size() != found->second->elements()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--awq: tensor \"", name, "\" is missing or has the wrong shape"));
      }
      *out = found->second;
      return absl::OkStatus();
    };
    LayerTensors& l = layers[i];
    for (absl::Status s : {get(names::kAttentionNorm, {dim}, &l.attention_norm),
                           get(names::kWq, {q_dim, dim}, &l.wq),
                           get(names::kWk, {kv_dim, dim}, &l.wk),
                           get(names::kWv, {kv_dim, dim}, &l.wv),
                           get(names::kWo, {dim, q_dim}, &l.wo),
                           get(names::kFfnNorm, {dim}, &l.ffn_norm),
                           get(names::kW1, {hidden, dim}, &l.w1),
                           get(names::kW2, {dim, hidden}, &l.w2),
                           get(names::kW3, {hidden, dim}, &l.w3)}) {
      if (!s.ok()) return s;
    }
    if (config.attention_bias) {
      if (absl::Status s = get(names::kBv, {kv_dim}, &l.bv); !s.ok()) return s;
    }
  }
  // Layers touch disjoint tensors and statistics: search them in parallel, report in order.
  std::vector<std::vector<AwqGroupReport>> per_layer(layers.size());
  std::vector<absl::Status> status(layers.size());
  ForEachParallel(layers.size(), ThreadsOrCpus(options.threads), [&](size_t i, size_t) {
    status[i] = ScaleLayer(config, layers[i], stats, options, &per_layer[i]);
  });
  std::vector<AwqGroupReport> reports;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!status[i].ok()) return status[i];
    reports.insert(reports.end(), per_layer[i].begin(), per_layer[i].end());
  }
  return reports;
}

}  // namespace kite::convert
