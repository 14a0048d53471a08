#include "tools/convert/compress/llama_float.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sdk/format/tensor_names.h"
#include "sdk/kernels/rope/rope.h"

namespace kite::convert {
namespace {

// Tokens per tile and output columns per chunk of the matrix products: a tile of y
// (kTokenTile x kRowChunk) stays in L1 while one transposed weight row streams past.
constexpr size_t kTokenTile = 8;
constexpr size_t kRowChunk = 512;

// y[T, rows] = x[T, cols] * W^T, W row-major [rows, cols]. W is transposed once so the
// inner loop is a vectorizable axpy over output columns.
template <typename Real>
void MatMulWt(const Real* x, size_t T, size_t cols, const Real* W, size_t rows, Real* y) {
  std::vector<Real> wt(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) wt[c * rows + r] = W[r * cols + c];
  }
  std::fill(y, y + T * rows, Real(0));
  for (size_t t0 = 0; t0 < T; t0 += kTokenTile) {
    const size_t t1 = std::min(T, t0 + kTokenTile);
    for (size_t r0 = 0; r0 < rows; r0 += kRowChunk) {
      const size_t n = std::min(rows, r0 + kRowChunk) - r0;
      for (size_t c = 0; c < cols; ++c) {
        const Real* wr = wt.data() + c * rows + r0;
        for (size_t t = t0; t < t1; ++t) {
          const Real a = x[t * cols + c];
          Real* yr = y + t * rows + r0;
          for (size_t r = 0; r < n; ++r) yr[r] += a * wr[r];
        }
      }
    }
  }
}

// dx[T, cols] += dy[T, rows] * W (the input gradient of MatMulWt).
template <typename Real>
void MatMulBackInput(const Real* dy, size_t T, size_t rows, const Real* W, size_t cols, Real* dx) {
  for (size_t t = 0; t < T; ++t) {
    Real* dxt = dx + t * cols;
    for (size_t r = 0; r < rows; ++r) {
      const Real a = dy[t * rows + r];
      if (a == Real(0)) continue;
      const Real* wr = W + r * cols;
      for (size_t c = 0; c < cols; ++c) dxt[c] += a * wr[c];
    }
  }
}

// dW[rows, cols] += dy[T, rows]^T * x[T, cols] (the weight gradient of MatMulWt).
// Rows are taken kBackRowTile at a time so that their gradient rows stay in L1 while x
// streams past; every element still adds its T terms in token order.
template <typename Real>
void MatMulBackWeight(const Real* dy, const Real* x, size_t T, size_t rows, size_t cols,
                      Real* dW) {
  constexpr size_t kBackRowTile = 8;
  for (size_t r0 = 0; r0 < rows; r0 += kBackRowTile) {
    const size_t r1 = std::min(rows, r0 + kBackRowTile);
    for (size_t t = 0; t < T; ++t) {
      const Real* xt = x + t * cols;
      for (size_t r = r0; r < r1; ++r) {
        const Real a = dy[t * rows + r];
        if (a == Real(0)) continue;
        Real* dwr = dW + r * cols;
        for (size_t c = 0; c < cols; ++c) dwr[c] += a * xt[c];
      }
    }
  }
}

// y[t, j] += bias[j] for every token row t of y[T, n].
template <typename Real>
void AddBias(const Real* bias, size_t T, size_t n, Real* y) {
  for (size_t t = 0; t < T; ++t) {
    for (size_t j = 0; j < n; ++j) y[t * n + j] += bias[j];
  }
}

// sum[j] += sum over t of dy[t, j] (the gradient of AddBias's bias).
template <typename Real>
void SumRows(const Real* dy, size_t T, size_t n, Real* sum) {
  for (size_t t = 0; t < T; ++t) {
    for (size_t j = 0; j < n; ++j) sum[j] += dy[t * n + j];
  }
}

// out = weight * x / rms(x) per token; inv[t] = 1 / rms. The sum of squares is in double.
template <typename Real>
void RmsNorm(const Real* x, size_t T, size_t n, const Real* weight, float eps, Real* out,
             Real* inv) {
  for (size_t t = 0; t < T; ++t) {
    const Real* xt = x + t * n;
    double ss = 0.0;
    for (size_t i = 0; i < n; ++i) ss += static_cast<double>(xt[i]) * xt[i];
    const Real s = static_cast<Real>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    if (inv != nullptr) inv[t] = s;
    for (size_t i = 0; i < n; ++i) out[t * n + i] = weight[i] * (s * xt[i]);
  }
}

// Backward of RmsNorm for one pass: adds to dx and dweight.
template <typename Real>
void RmsNormBack(const Real* x, const Real* inv, const Real* weight, const Real* dout, size_t T,
                 size_t n, Real* dx, Real* dweight) {
  for (size_t t = 0; t < T; ++t) {
    const Real* xt = x + t * n;
    const Real* dt = dout + t * n;
    const Real s = inv[t];
    double dot = 0.0;  // sum_i dout_i * weight_i * x_i
    for (size_t i = 0; i < n; ++i) {
      dweight[i] += dt[i] * xt[i] * s;
      dot += static_cast<double>(dt[i]) * weight[i] * xt[i];
    }
    // d/dx_j of w_i x_i s, with ds/dx_j = -s^3 x_j / n.
    const Real k = static_cast<Real>(dot * s * s * s / static_cast<double>(n));
    for (size_t i = 0; i < n; ++i) dx[t * n + i] += s * weight[i] * dt[i] - k * xt[i];
  }
}

// The head_dim / 2 inverse RoPE frequencies of `c`, computed as the runtime does (one
// definition, sdk/kernels/rope/rope.h): theta^(-2i / head_dim), rescaled for Llama 3.
std::vector<float> RopeInverseFrequencies(const SourceConfig& c) {
  std::vector<float> inv_freq(c.head_dim / 2);
  kernels::RopeInverseFrequencies(c.head_dim, c.rope_theta, inv_freq.data());
  if (c.rope_scaling == SourceConfig::RopeScaling::kLlama3) {
    kernels::ScaleRopeLlama3(inv_freq.data(), static_cast<uint32_t>(inv_freq.size()),
                             c.rope_scaling_factor, c.rope_low_freq_factor,
                             c.rope_high_freq_factor, c.rope_original_max_seq_len);
  }
  return inv_freq;
}

// Rotates each interleaved pair of every head of token rows x[T, heads * head_dim] by
// angle t * inv_freq[i / 2] (as sdk/kernels/rope/ref.cc); `inverse` applies the transposed
// rotation (the backward pass).
template <typename Real>
void Rope(Real* x, size_t T, size_t heads, size_t head_dim, const std::vector<float>& inv_freq,
          bool inverse) {
  for (size_t t = 0; t < T; ++t) {
    for (size_t i = 0; i < head_dim; i += 2) {
      const float angle = static_cast<float>(t) * inv_freq[i / 2];
      const Real c = std::cos(angle);
      const Real s = inverse ? -std::sin(angle) : std::sin(angle);
      for (size_t h = 0; h < heads; ++h) {
        Real* v = x + t * heads * head_dim + h * head_dim + i;
        const Real v0 = v[0], v1 = v[1];
        v[0] = v0 * c - v1 * s;
        v[1] = v0 * s + v1 * c;
      }
    }
  }
}

std::string LayerName(size_t layer, const char* suffix) {
  return absl::StrCat("layers.", layer, ".", suffix);
}

template <typename Real>
void Capture(LinearCapture* capture, const std::string& name, const Real* x, size_t T,
             size_t cols) {
  if constexpr (std::is_same_v<Real, float>) {
    if (capture != nullptr) capture->OnLinearInput(name, x, T, cols);
  }
}

absl::Status CheckConfig(const SourceConfig& c) {
  if (c.dim == 0 || c.hidden_dim == 0 || c.n_layers == 0 || c.n_heads == 0 ||
      c.n_kv_heads == 0 || c.head_dim == 0 || c.vocab_size == 0) {
    return absl::InvalidArgumentError("model config has a zero dimension");
  }
  if (c.n_heads % c.n_kv_heads != 0 || c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unsupported attention shape: %u heads, %u kv heads, head_dim %u", c.n_heads,
        c.n_kv_heads, c.head_dim));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LlamaWeights> LlamaWeightsOf(const SourceModel& model) {
  const SourceConfig& c = model.config;
  if (absl::Status s = CheckConfig(c); !s.ok()) return s;
  auto find = [&](const std::string& name, uint64_t rows,
                  uint64_t cols) -> absl::StatusOr<const float*> {
    for (const SourceTensor& t : model.tensors) {
      if (t.name != name) continue;
      const std::vector<uint64_t> want =
          cols == 0 ? std::vector<uint64_t>{rows} : std::vector<uint64_t>{rows, cols};
      if (t.shape != want) {
        return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" has the wrong shape"));
      }
      if (t.data.size() != t.elements()) {
        return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" has no data"));
      }
      return t.data.data();
    }
    return absl::NotFoundError(absl::StrCat("tensor \"", name, "\" is missing"));
  };
  const uint64_t q_dim = uint64_t{c.n_heads} * c.head_dim;
  const uint64_t kv_dim = uint64_t{c.n_kv_heads} * c.head_dim;
  LlamaWeights w;
  w.config = c;
  absl::Status status;
  auto get = [&](const std::string& name, uint64_t rows, uint64_t cols, const float** out) {
    if (!status.ok()) return;
    absl::StatusOr<const float*> p = find(name, rows, cols);
    if (p.ok()) {
      *out = *p;
    } else {
      status = p.status();
    }
  };
  get(names::kTokEmbeddings, c.vocab_size, c.dim, &w.tok_embeddings);
  w.layers.resize(c.n_layers);
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    LlamaWeights::Layer& L = w.layers[l];
    get(LayerName(l, names::kAttentionNorm), c.dim, 0, &L.attention_norm);
    get(LayerName(l, names::kWq), q_dim, c.dim, &L.wq);
    get(LayerName(l, names::kWk), kv_dim, c.dim, &L.wk);
    get(LayerName(l, names::kWv), kv_dim, c.dim, &L.wv);
    get(LayerName(l, names::kWo), c.dim, q_dim, &L.wo);
    get(LayerName(l, names::kFfnNorm), c.dim, 0, &L.ffn_norm);
    get(LayerName(l, names::kW1), c.hidden_dim, c.dim, &L.w1);
    get(LayerName(l, names::kW2), c.dim, c.hidden_dim, &L.w2);
    get(LayerName(l, names::kW3), c.hidden_dim, c.dim, &L.w3);
    if (c.attention_bias) {
      get(LayerName(l, names::kBq), q_dim, 0, &L.bq);
      get(LayerName(l, names::kBk), kv_dim, 0, &L.bk);
      get(LayerName(l, names::kBv), kv_dim, 0, &L.bv);
    }
  }
  get(names::kNorm, c.dim, 0, &w.norm);
  if (c.tied_embeddings) {
    w.output = w.tok_embeddings;
  } else {
    get(names::kOutput, c.vocab_size, c.dim, &w.output);
  }
  if (!status.ok()) return status;
  return w;
}

template <typename Real>
void LlamaGradsT<Real>::Reset(const SourceConfig& c) {
  const size_t dim = c.dim, hidden = c.hidden_dim;
  const size_t q_dim = size_t{c.n_heads} * c.head_dim;
  const size_t kv_dim = size_t{c.n_kv_heads} * c.head_dim;
  auto zero = [](std::vector<Real>* v, size_t n) { v->assign(n, Real(0)); };
  zero(&tok_embeddings, size_t{c.vocab_size} * dim);
  layers.resize(c.n_layers);
  for (Layer& L : layers) {
    zero(&L.attention_norm, dim);
    zero(&L.wq, q_dim * dim);
    zero(&L.wk, kv_dim * dim);
    zero(&L.wv, kv_dim * dim);
    zero(&L.wo, dim * q_dim);
    zero(&L.ffn_norm, dim);
    zero(&L.w1, hidden * dim);
    zero(&L.w2, dim * hidden);
    zero(&L.w3, hidden * dim);
    zero(&L.bq, c.attention_bias ? q_dim : 0);
    zero(&L.bk, c.attention_bias ? kv_dim : 0);
    zero(&L.bv, c.attention_bias ? kv_dim : 0);
  }
  zero(&norm, dim);
  zero(&output, c.tied_embeddings ? 0 : size_t{c.vocab_size} * dim);
}

template <typename Real>
absl::Status ForwardFloat(const LlamaWeightsT<Real>& w, const int32_t* tokens, size_t T,
                          Real* logits, LinearCapture* capture, LlamaTapeT<Real>* tape) {
  const SourceConfig& c = w.config;
  if (absl::Status s = CheckConfig(c); !s.ok()) return s;
  if (T == 0) return absl::InvalidArgumentError("no tokens to run");
  if (w.layers.size() != c.n_layers) {
    return absl::InvalidArgumentError("weights have the wrong number of layers");
  }
  for (const typename LlamaWeightsT<Real>::Layer& L : w.layers) {
    const bool has = L.bq != nullptr && L.bk != nullptr && L.bv != nullptr;
    const bool none = L.bq == nullptr && L.bk == nullptr && L.bv == nullptr;
    if (c.attention_bias ? !has : !none) {
      return absl::InvalidArgumentError(c.attention_bias
                                            ? "the config has q/k/v biases but the weights lack them"
                                            : "the weights have q/k/v biases the config does not");
    }
  }
  for (size_t t = 0; t < T; ++t) {
    if (tokens[t] < 0 || static_cast<uint32_t>(tokens[t]) >= c.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrFormat("token %d at position %d is outside the vocabulary", tokens[t], t));
    }
  }
  const size_t dim = c.dim, hidden = c.hidden_dim, hd = c.head_dim;
  const size_t n_heads = c.n_heads, q_per_kv = c.n_heads / c.n_kv_heads;
  const size_t q_dim = n_heads * hd, kv_dim = size_t{c.n_kv_heads} * hd;
  const Real scale = static_cast<Real>(1.0 / std::sqrt(static_cast<double>(hd)));
  const std::vector<float> inv_freq = RopeInverseFrequencies(c);

  std::vector<Real> x(T * dim), xn(T * dim), inv(T), q(T * q_dim), k(T * kv_dim),
      v(T * kv_dim), attn(T * q_dim), tmp(T * dim), h1(T * hidden), h3(T * hidden), row(T),
      kt(hd * T);
  for (size_t t = 0; t < T; ++t) {
    std::copy_n(w.tok_embeddings + static_cast<size_t>(tokens[t]) * dim, dim, x.data() + t * dim);
  }
  if (tape != nullptr) {
    tape->tokens = T;
    tape->token_ids.assign(tokens, tokens + T);
    tape->layers.resize(c.n_layers);
  }

  for (size_t l = 0; l < c.n_layers; ++l) {
    const typename LlamaWeightsT<Real>::Layer& L = w.layers[l];
    typename LlamaTapeT<Real>::Layer* tl = tape ? &tape->layers[l] : nullptr;
    if (tl) tl->x_in = x;
    RmsNorm(x.data(), T, dim, L.attention_norm, c.norm_eps, xn.data(), inv.data());
    if (tl) {
      tl->inv_att = inv;
      tl->xn_att = xn;
    }
    Capture(capture, LayerName(l, names::kWq), xn.data(), T, dim);
    Capture(capture, LayerName(l, names::kWk), xn.data(), T, dim);
    Capture(capture, LayerName(l, names::kWv), xn.data(), T, dim);
    MatMulWt(xn.data(), T, dim, L.wq, q_dim, q.data());
    MatMulWt(xn.data(), T, dim, L.wk, kv_dim, k.data());
    MatMulWt(xn.data(), T, dim, L.wv, kv_dim, v.data());
    if (c.attention_bias) {
      AddBias(L.bq, T, q_dim, q.data());
      AddBias(L.bk, T, kv_dim, k.data());
      AddBias(L.bv, T, kv_dim, v.data());
    }
    Rope(q.data(), T, n_heads, hd, inv_freq, false);
    Rope(k.data(), T, c.n_kv_heads, hd, inv_freq, false);
    if (tl) {
      tl->q = q;
      tl->k = k;
      tl->v = v;
      tl->probs.assign(n_heads * T * T, Real(0));
    }
    for (size_t h = 0; h < n_heads; ++h) {
      const size_t g = h / q_per_kv;
      if (h % q_per_kv == 0) {  // this group's keys, transposed: kt[j * T + s]
        for (size_t s = 0; s < T; ++s) {
          for (size_t j = 0; j < hd; ++j) kt[j * T + s] = k[s * kv_dim + g * hd + j];
        }
      }
      for (size_t t = 0; t < T; ++t) {
        Real* p = tl ? tl->probs.data() + (h * T + t) * T : row.data();
        const Real* qt = q.data() + t * q_dim + h * hd;
        // Every score adds its hd products in order j = 0, 1, ..., as a plain dot product
        // would; the loop over s vectorizes.
        std::fill(p, p + t + 1, Real(0));
        for (size_t j = 0; j < hd; ++j) {
          const Real a = qt[j];
          const Real* kj = kt.data() + j * T;
          for (size_t s = 0; s <= t; ++s) p[s] += a * kj[s];
        }
        Real max = -INFINITY;
        for (size_t s = 0; s <= t; ++s) {
          p[s] *= scale;
          max = std::max(max, p[s]);
        }
        double sum = 0.0;
        for (size_t s = 0; s <= t; ++s) {
          p[s] = std::exp(p[s] - max);
          sum += p[s];
        }
        const Real inv_sum = static_cast<Real>(1.0 / sum);
        Real* out = attn.data() + t * q_dim + h * hd;
        std::fill(out, out + hd, Real(0));
        for (size_t s = 0; s <= t; ++s) {
          p[s] *= inv_sum;
          const Real* vs = v.data() + s * kv_dim + g * hd;
          for (size_t j = 0; j < hd; ++j) out[j] += p[s] * vs[j];
        }
      }
    }
    if (tl) tl->attn = attn;
    Capture(capture, LayerName(l, names::kWo), attn.data(), T, q_dim);
    MatMulWt(attn.data(), T, q_dim, L.wo, dim, tmp.data());
    for (size_t i = 0; i < T * dim; ++i) x[i] += tmp[i];
    if (tl) tl->x_mid = x;

    RmsNorm(x.data(), T, dim, L.ffn_norm, c.norm_eps, xn.data(), inv.data());
    if (tl) {
      tl->inv_ffn = inv;
      tl->xn_ffn = xn;
    }
    Capture(capture, LayerName(l, names::kW1), xn.data(), T, dim);
    Capture(capture, LayerName(l, names::kW3), xn.data(), T, dim);
    MatMulWt(xn.data(), T, dim, L.w1, hidden, h1.data());
    MatMulWt(xn.data(), T, dim, L.w3, hidden, h3.data());
    if (tl) {
      tl->h1 = h1;
      tl->h3 = h3;
    }
    for (size_t i = 0; i < T * hidden; ++i) {
      const Real g = h1[i];
      h3[i] = g / (Real(1) + std::exp(-g)) * h3[i];  // h3 now holds silu(h1) * h3
    }
    if (tl) tl->hsw = h3;
    Capture(capture, LayerName(l, names::kW2), h3.data(), T, hidden);
    MatMulWt(h3.data(), T, hidden, L.w2, dim, tmp.data());
    for (size_t i = 0; i < T * dim; ++i) x[i] += tmp[i];
  }

  RmsNorm(x.data(), T, dim, w.norm, c.norm_eps, xn.data(), inv.data());
  if (tape != nullptr) {
    tape->x_final = x;
    tape->inv_final = inv;
    tape->xn_final = xn;
  }
  Capture(capture, c.tied_embeddings ? names::kTokEmbeddings : names::kOutput, xn.data(), T, dim);
  if (logits != nullptr) MatMulWt(xn.data(), T, dim, w.output, c.vocab_size, logits);
  return absl::OkStatus();
}

absl::Status ForwardFloat(const SourceModel& model, const int32_t* tokens, size_t T,
                          float* logits, LinearCapture* capture) {
  absl::StatusOr<LlamaWeights> w = LlamaWeightsOf(model);
  if (!w.ok()) return w.status();
  return ForwardFloat<float>(*w, tokens, T, logits, capture, nullptr);
}

template <typename Real>
void BackwardFloat(const LlamaWeightsT<Real>& w, const LlamaTapeT<Real>& tape,
                   const Real* dlogits, LlamaGradsT<Real>* grads) {
  const SourceConfig& c = w.config;
  const size_t T = tape.tokens;
  const size_t dim = c.dim, hidden = c.hidden_dim, hd = c.head_dim, vocab = c.vocab_size;
  const size_t n_heads = c.n_heads, q_per_kv = c.n_heads / c.n_kv_heads;
  const size_t q_dim = n_heads * hd, kv_dim = size_t{c.n_kv_heads} * hd;
  const Real scale = static_cast<Real>(1.0 / std::sqrt(static_cast<double>(hd)));

  // Head: logits = xn_final * output^T.
  std::vector<Real> dxn(T * dim, Real(0));
  MatMulBackInput(dlogits, T, vocab, w.output, dim, dxn.data());
  Real* dout_w = c.tied_embeddings ? grads->tok_embeddings.data() : grads->output.data();
  MatMulBackWeight(dlogits, tape.xn_final.data(), T, vocab, dim, dout_w);
  std::vector<Real> dx(T * dim, Real(0));  // gradient of the residual stream
  RmsNormBack(tape.x_final.data(), tape.inv_final.data(), w.norm, dxn.data(), T, dim, dx.data(),
              grads->norm.data());

  const std::vector<float> inv_freq = RopeInverseFrequencies(c);
  std::vector<Real> dh(T * hidden), dh1(T * hidden), dh3(T * hidden), dattn(T * q_dim),
      dq(T * q_dim), dk(T * kv_dim), dv(T * kv_dim), dp(T);
  for (size_t l = c.n_layers; l-- > 0;) {
    const typename LlamaWeightsT<Real>::Layer& L = w.layers[l];
    const typename LlamaTapeT<Real>::Layer& tl = tape.layers[l];
    typename LlamaGradsT<Real>::Layer& gl = grads->layers[l];

    // Feed-forward: x_out = x_mid + w2 (silu(w1 xn) * (w3 xn)).
    std::fill(dh.begin(), dh.end(), Real(0));
    MatMulBackInput(dx.data(), T, dim, L.w2, hidden, dh.data());
    MatMulBackWeight(dx.data(), tl.hsw.data(), T, dim, hidden, gl.w2.data());
    for (size_t i = 0; i < T * hidden; ++i) {
      const Real a = tl.h1[i];
      const Real sig = Real(1) / (Real(1) + std::exp(-a));
      dh3[i] = dh[i] * a * sig;
      dh1[i] = dh[i] * tl.h3[i] * sig * (Real(1) + a * (Real(1) - sig));
    }
    std::fill(dxn.begin(), dxn.end(), Real(0));
    MatMulBackInput(dh1.data(), T, hidden, L.w1, dim, dxn.data());
    MatMulBackInput(dh3.data(), T, hidden, L.w3, dim, dxn.data());
    MatMulBackWeight(dh1.data(), tl.xn_ffn.data(), T, hidden, dim, gl.w1.data());
    MatMulBackWeight(dh3.data(), tl.xn_ffn.data(), T, hidden, dim, gl.w3.data());
    RmsNormBack(tl.x_mid.data(), tl.inv_ffn.data(), L.ffn_norm, dxn.data(), T, dim, dx.data(),
                gl.ffn_norm.data());

    // Attention output projection: x_mid = x_in + wo attn.
    std::fill(dattn.begin(), dattn.end(), Real(0));
    MatMulBackInput(dx.data(), T, dim, L.wo, q_dim, dattn.data());
    MatMulBackWeight(dx.data(), tl.attn.data(), T, dim, q_dim, gl.wo.data());

    // Softmax attention, per head.
    std::fill(dq.begin(), dq.end(), Real(0));
    std::fill(dk.begin(), dk.end(), Real(0));
    std::fill(dv.begin(), dv.end(), Real(0));
    for (size_t h = 0; h < n_heads; ++h) {
      const size_t g = h / q_per_kv;
      for (size_t t = 0; t < T; ++t) {
        const Real* p = tl.probs.data() + (h * T + t) * T;
        const Real* dout = dattn.data() + t * q_dim + h * hd;
        double pdp = 0.0;
        for (size_t s = 0; s <= t; ++s) {
          const Real* vs = tl.v.data() + s * kv_dim + g * hd;
          Real* dvs = dv.data() + s * kv_dim + g * hd;
          Real d = 0;
          for (size_t j = 0; j < hd; ++j) {
            d += dout[j] * vs[j];
            dvs[j] += p[s] * dout[j];
          }
          dp[s] = d;
          pdp += static_cast<double>(p[s]) * d;
        }
        const Real* qt = tl.q.data() + t * q_dim + h * hd;
        Real* dqt = dq.data() + t * q_dim + h * hd;
        for (size_t s = 0; s <= t; ++s) {
          const Real ds = p[s] * (dp[s] - static_cast<Real>(pdp)) * scale;
          const Real* ks = tl.k.data() + s * kv_dim + g * hd;
          Real* dks = dk.data() + s * kv_dim + g * hd;
          for (size_t j = 0; j < hd; ++j) {
            dqt[j] += ds * ks[j];
            dks[j] += ds * qt[j];
          }
        }
      }
    }
    Rope(dq.data(), T, n_heads, hd, inv_freq, true);
    Rope(dk.data(), T, c.n_kv_heads, hd, inv_freq, true);
    if (c.attention_bias) {
      SumRows(dq.data(), T, q_dim, gl.bq.data());
      SumRows(dk.data(), T, kv_dim, gl.bk.data());
      SumRows(dv.data(), T, kv_dim, gl.bv.data());
    }
    std::fill(dxn.begin(), dxn.end(), Real(0));
    MatMulBackInput(dq.data(), T, q_dim, L.wq, dim, dxn.data());
    MatMulBackInput(dk.data(), T, kv_dim, L.wk, dim, dxn.data());
    MatMulBackInput(dv.data(), T, kv_dim, L.wv, dim, dxn.data());
    MatMulBackWeight(dq.data(), tl.xn_att.data(), T, q_dim, dim, gl.wq.data());
    MatMulBackWeight(dk.data(), tl.xn_att.data(), T, kv_dim, dim, gl.wk.data());
    MatMulBackWeight(dv.data(), tl.xn_att.data(), T, kv_dim, dim, gl.wv.data());
    RmsNormBack(tl.x_in.data(), tl.inv_att.data(), L.attention_norm, dxn.data(), T, dim,
                dx.data(), gl.attention_norm.data());
  }
  // Embedding lookups.
  for (size_t t = 0; t < T; ++t) {
    Real* row = grads->tok_embeddings.data() + static_cast<size_t>(tape.token_ids[t]) * dim;
    for (size_t i = 0; i < dim; ++i) row[i] += dx[t * dim + i];
  }
}

template <typename Real>
double MeanKlDivergence(const Real* teacher_logits, const Real* student_logits, size_t T,
                        size_t vocab, Real* dstudent) {
  double total = 0.0;
  std::vector<double> p(vocab), q(vocab);
  for (size_t t = 0; t < T; ++t) {
    const Real* a = teacher_logits + t * vocab;
    const Real* b = student_logits + t * vocab;
    const double ma = *std::max_element(a, a + vocab);
    const double mb = *std::max_element(b, b + vocab);
    double sa = 0.0, sb = 0.0;
    for (size_t i = 0; i < vocab; ++i) {
      sa += std::exp(a[i] - ma);
      sb += std::exp(b[i] - mb);
    }
    const double la = ma + std::log(sa), lb = mb + std::log(sb);  // log-sum-exp
    double kl = 0.0;
    for (size_t i = 0; i < vocab; ++i) {
      const double lp = a[i] - la, lq = b[i] - lb;
      p[i] = std::exp(lp);
      q[i] = std::exp(lq);
      kl += p[i] * (lp - lq);
    }
    total += kl;
    if (dstudent != nullptr) {
      for (size_t i = 0; i < vocab; ++i) {
        dstudent[t * vocab + i] = static_cast<Real>((q[i] - p[i]) / static_cast<double>(T));
      }
    }
  }
  return total / static_cast<double>(T);
}

template struct LlamaGradsT<float>;
template struct LlamaGradsT<double>;
template absl::Status ForwardFloat<float>(const LlamaWeightsT<float>&, const int32_t*, size_t,
                                          float*, LinearCapture*, LlamaTapeT<float>*);
template absl::Status ForwardFloat<double>(const LlamaWeightsT<double>&, const int32_t*, size_t,
                                           double*, LinearCapture*, LlamaTapeT<double>*);
template void BackwardFloat<float>(const LlamaWeightsT<float>&, const LlamaTapeT<float>&,
                                   const float*, LlamaGradsT<float>*);
template void BackwardFloat<double>(const LlamaWeightsT<double>&, const LlamaTapeT<double>&,
                                    const double*, LlamaGradsT<double>*);
template double MeanKlDivergence<float>(const float*, const float*, size_t, size_t, float*);
template double MeanKlDivergence<double>(const double*, const double*, size_t, size_t, double*);

}  // namespace kite::convert
