// A plain host-side Llama forward and backward pass in floating point, for calibration
// (activation capture) and distillation. It computes what sdk/runtime/transformer.cc
// computes (RMSNorm, q/k/v biases when the config has them (Qwen2), interleaved-pair RoPE,
// causal GQA attention, SwiGLU, tied or untied head) over a whole sequence at once, with full attention and no KV cache. Simple and
// cache-friendly rather than fast; single-threaded. Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/convert/source/source_model.h"

namespace kite::convert {

/// Receives the input of every linear layer during ForwardFloat (calibration statistics).
class LinearCapture {
 public:
  virtual ~LinearCapture() = default;
  /// Called once per weight matrix per forward pass with that matrix's input: `tokens`
  /// rows of `cols` values, row-major (`x` is valid only during the call). `weight_name`
  /// is the Kite tensor name ("layers.0.attention.wq", ...). wq, wk and wv get the same
  /// `x` (three calls), as do w1 and w3. The output head's input is reported under the head
  /// matrix's name: "output", or "tok_embeddings" when the head is tied.
  virtual void OnLinearInput(const std::string& weight_name, const float* x, size_t tokens,
                             size_t cols) = 0;
};

/// Non-owning pointers to every weight of a Llama model, row-major, with the shapes of
/// sdk/format/tensor_names.h. `Real` is float for real use; double serves gradient checks.
template <typename Real>
struct LlamaWeightsT {
  /// Pointers to one layer's weights.
  struct Layer {
    const Real* attention_norm = nullptr;  ///< [dim]
    const Real* wq = nullptr;              ///< [n_heads * head_dim, dim]
    const Real* wk = nullptr;              ///< [n_kv_heads * head_dim, dim]
    const Real* wv = nullptr;              ///< [n_kv_heads * head_dim, dim]
    const Real* wo = nullptr;              ///< [dim, n_heads * head_dim]
    const Real* ffn_norm = nullptr;        ///< [dim]
    const Real* w1 = nullptr;              ///< [hidden_dim, dim]
    const Real* w2 = nullptr;              ///< [dim, hidden_dim]
    const Real* w3 = nullptr;              ///< [hidden_dim, dim]
    /// q/k/v biases, added before RoPE; set exactly when config.attention_bias.
    const Real* bq = nullptr;              ///< [n_heads * head_dim]
    const Real* bk = nullptr;              ///< [n_kv_heads * head_dim]
    const Real* bv = nullptr;              ///< [n_kv_heads * head_dim]
  };
  SourceConfig config;
  const Real* tok_embeddings = nullptr;  ///< [vocab, dim]
  std::vector<Layer> layers;             ///< config.n_layers entries
  const Real* norm = nullptr;            ///< [dim]
  /// [vocab, dim]; equal to tok_embeddings when config.tied_embeddings.
  const Real* output = nullptr;
};

/// The float instantiation, used by the converter.
using LlamaWeights = LlamaWeightsT<float>;

/// Points a LlamaWeights at the tensors of `model`, which must outlive it. Fails, naming
/// the tensor, when one is missing, has the wrong shape or lacks its data (for example
/// after ConvertTensors released it), or when the config is inconsistent
/// (n_heads * head_dim, n_heads divisible by n_kv_heads, odd head_dim). With
/// config.attention_bias the biases "layers.<i>.attention.b{q,k,v}" are required too.
absl::StatusOr<LlamaWeights> LlamaWeightsOf(const SourceModel& model);

/// Activations of one forward pass kept for BackwardFloat. Filled by ForwardFloat; the
/// caller only owns it. Memory: about T * (8 dim + 4 hidden + n_heads * T) values per layer.
template <typename Real>
struct LlamaTapeT {
  /// One layer's saved activations (all row-major, T rows).
  struct Layer {
    std::vector<Real> x_in;      ///< residual stream entering the layer [T, dim]
    std::vector<Real> inv_att;   ///< 1 / rms of x_in per token [T]
    std::vector<Real> xn_att;    ///< attention RMSNorm output [T, dim]
    std::vector<Real> q;         ///< queries after RoPE [T, q_dim]
    std::vector<Real> k;         ///< keys after RoPE [T, kv_dim]
    std::vector<Real> v;         ///< values [T, kv_dim]
    std::vector<Real> probs;     ///< attention weights [n_heads, T, T] (row t: s <= t)
    std::vector<Real> attn;      ///< attention output, input of wo [T, q_dim]
    std::vector<Real> x_mid;     ///< residual after attention [T, dim]
    std::vector<Real> inv_ffn;   ///< 1 / rms of x_mid per token [T]
    std::vector<Real> xn_ffn;    ///< ffn RMSNorm output [T, dim]
    std::vector<Real> h1;        ///< gate pre-activation w1 x [T, hidden]
    std::vector<Real> h3;        ///< up projection w3 x [T, hidden]
    std::vector<Real> hsw;       ///< silu(h1) * h3, input of w2 [T, hidden]
  };
  size_t tokens = 0;                ///< T
  std::vector<int32_t> token_ids;   ///< the T input ids
  std::vector<Layer> layers;
  std::vector<Real> x_final;        ///< residual stream after the last layer [T, dim]
  std::vector<Real> inv_final;      ///< [T]
  std::vector<Real> xn_final;       ///< final RMSNorm output, input of the head [T, dim]
};

/// Gradients of a scalar loss with respect to every weight, with the layout of the weights
/// (dense, row-major). BackwardFloat adds into these, so zero them (Reset) between passes.
template <typename Real>
struct LlamaGradsT {
  /// One layer's gradients.
  struct Layer {
    std::vector<Real> attention_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3;
    std::vector<Real> bq, bk, bv;  ///< empty unless config.attention_bias
  };
  std::vector<Real> tok_embeddings;  ///< embedding lookups, plus the head when tied
  std::vector<Layer> layers;
  std::vector<Real> norm;
  std::vector<Real> output;  ///< empty when the head is tied (its gradient is in tok_embeddings)

  /// Sizes every vector for `config` and sets all values to zero.
  void Reset(const SourceConfig& config);
};

/// Runs the model on tokens[0..T) (positions 0..T-1, causal) and writes the logits of
/// every position to `logits` ([T, vocab] row-major) unless it is null. Calls `capture`
/// (when not null, float only) with every linear layer's input; fills `tape` (when not
/// null) for BackwardFloat. Fails on T = 0, a token outside [0, vocab) or inconsistent
/// weights (biases missing with config.attention_bias, or present without it).
template <typename Real>
absl::Status ForwardFloat(const LlamaWeightsT<Real>& w, const int32_t* tokens, size_t T,
                          Real* logits, LinearCapture* capture, LlamaTapeT<Real>* tape);

/// ForwardFloat on the tensors of a SourceModel (see LlamaWeightsOf).
absl::Status ForwardFloat(const SourceModel& model, const int32_t* tokens, size_t T,
                          float* logits, LinearCapture* capture);

/// Back-propagates `dlogits` ([T, vocab], the loss gradient with respect to each logit of
/// the pass recorded in `tape`) through the model and adds the weight gradients to
/// `grads` (sized with Reset). `w` must be the weights the tape was recorded with.
template <typename Real>
void BackwardFloat(const LlamaWeightsT<Real>& w, const LlamaTapeT<Real>& tape,
                   const Real* dlogits, LlamaGradsT<Real>* grads);

/// Mean over `T` positions of KL(P || Q), where P = softmax of teacher_logits and
/// Q = softmax of student_logits (both [T, vocab]), in nats, accumulated in double. When
/// `dstudent` is not null it receives d(mean KL) / d(student logit) = (Q - P) / T.
template <typename Real>
double MeanKlDivergence(const Real* teacher_logits, const Real* student_logits, size_t T,
                        size_t vocab, Real* dstudent);

}  // namespace kite::convert
