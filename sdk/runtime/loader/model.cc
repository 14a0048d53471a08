#include "sdk/runtime/loader/model.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>

#include "sdk/base/quote.h"
#include "sdk/format/crc32c.h"
#include "sdk/format/tensor_names.h"
#include "sdk/kernels/rope/rope.h"
#include "sdk/runtime/loader/model_checks.h"
#include "sdk/runtime/tokenizer/tokenizer_loader.h"
#if KITE_WITH_XNNPACK
#include "sdk/backends/xnnpack/dense_linear.h"
#endif
#include "sdk/schema/kite_generated.h"

namespace kite {
namespace {

// Upper limits that keep every derived size far from overflow and reject absurd configs.
constexpr uint32_t kMaxDim = 1u << 16;
constexpr uint32_t kMaxLayers = 1024;
constexpr uint32_t kMaxHeads = 1024;
constexpr uint32_t kMaxVocab = 1u << 22;
constexpr uint32_t kMaxSeqLen = 1u << 22;

bool AddOverflows(uint64_t a, uint64_t b, uint64_t* sum) {
  *sum = a + b;
  return *sum < a;
}

uint64_t RoundUp(uint64_t x, uint64_t to) { return (x + to - 1) / to * to; }

// Resolves an extent to file bytes after checking it lies inside its segment and the file.
Status ResolveExtent(const Model& model, const char* tensor, const char* what,
                     const schema::Extent& e, uint64_t expected_size, const void** out) {
  const auto* segments = model.schema_root()->segments();
  KITE_CHECK_OR_RETURN(e.segment() < segments->size(), Error::kInvalidFormat,
                       "tensor '%s': %s extent names segment %u but the file has %u segments",
                       tensor, what, e.segment(), segments->size());
  const schema::Segment* seg = segments->Get(e.segment());
  uint64_t end = 0;
  KITE_CHECK_OR_RETURN(!AddOverflows(e.offset(), e.size(), &end) && end <= seg->size(),
                       Error::kInvalidFormat,
                       "tensor '%s': %s extent [%llu, +%llu) lies outside segment %u (%llu bytes)",
                       tensor, what, static_cast<unsigned long long>(e.offset()),
                       static_cast<unsigned long long>(e.size()), e.segment(),
                       static_cast<unsigned long long>(seg->size()));
  KITE_CHECK_OR_RETURN(e.size() == expected_size, Error::kInvalidFormat,
                       "tensor '%s': %s has %llu bytes but its shape and dtype need %llu", tensor,
                       what, static_cast<unsigned long long>(e.size()),
                       static_cast<unsigned long long>(expected_size));
  KITE_CHECK_OR_RETURN((seg->offset() + e.offset()) % kTensorAlignment == 0, Error::kInvalidFormat,
                       "tensor '%s': %s is not %llu-byte aligned", tensor, what,
                       static_cast<unsigned long long>(kTensorAlignment));
  *out = model.bytes().data() + seg->offset() + e.offset();
  return Status::Ok();
}

}  // namespace

#if KITE_WITH_XNNPACK
struct Model::DenseOps {
  std::unique_ptr<xnnpack::DenseLinear[]> ops;
};

Status Model::CreateDenseOperators() {
  const ModelConfig& c = config_;
  const uint32_t xb = c.dim > c.q_dim() ? c.dim : c.q_dim();
  struct Role {
    TensorView* t;
    uint32_t x_stride, y_stride;
  };
  const size_t max_ops = static_cast<size_t>(c.n_layers) * 7 + 1;
  dense_.reset(new (std::nothrow) DenseOps());
  KITE_CHECK_OR_RETURN(dense_ != nullptr, Error::kOutOfMemory, "cannot allocate XNNPACK tables");
  dense_->ops.reset(new (std::nothrow) xnnpack::DenseLinear[max_ops]);
  KITE_CHECK_OR_RETURN(dense_->ops != nullptr, Error::kOutOfMemory, "cannot allocate XNNPACK tables");
  size_t next = 0;
  const auto create = [&](const Role& r) -> Status {
    if (r.t->dtype != DType::F32 || r.t->rows < 1) return Status::Ok();
    KITE_ASSIGN_OR_RETURN(dense_->ops[next],
                          xnnpack::DenseLinear::Create(r.t->rows, r.t->cols, r.x_stride, r.y_stride,
                                                       static_cast<const float*>(r.t->data)));
    r.t->dense = &dense_->ops[next++];
    return Status::Ok();
  };
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    LayerWeights& l = layers_[i];
    const Role roles[] = {{&l.wq, xb, c.q_dim()},     {&l.wk, xb, c.kv_dim()},
                          {&l.wv, xb, c.kv_dim()},     {&l.wo, xb, c.dim},
                          {&l.w1, xb, c.hidden_dim},   {&l.w3, xb, c.hidden_dim},
                          {&l.w2, c.hidden_dim, xb}};
    for (const Role& r : roles) KITE_RETURN_IF_ERROR(create(r));
  }
  KITE_RETURN_IF_ERROR(create(Role{&output_, c.dim, c.vocab_size}));
  return Status::Ok();
}
#else
struct Model::DenseOps {};
Status Model::CreateDenseOperators() { return Status::Ok(); }
#endif

// The arena never runs destructors of what it holds.
static_assert(std::is_trivially_destructible<LayerWeights>::value,
              "LayerWeights lives in the model's arena");

Model::~Model() = default;

// Floats of the RoPE frequency table a config needs: head_dim / 2 with Llama 3 scaling.
static uint32_t RopeTableFloats(const schema::Config& c) {
  return c.rope_scaling() == schema::RopeScaling::LLAMA3 ? c.head_dim() / 2 : 0;
}

Result<std::unique_ptr<Model>> Model::Open(FileMap bytes, const ModelOptions& options) {
  std::unique_ptr<Model> model(new (std::nothrow) Model());
  if (!model) return Status::Make(Error::kOutOfMemory, "cannot allocate the model object");
  model->bytes_ = static_cast<FileMap&&>(bytes);
  KITE_RETURN_IF_ERROR(model->Load(options));
  return Result<std::unique_ptr<Model>>(static_cast<std::unique_ptr<Model>&&>(model));
}

Status Model::VerifyChecksums() const {
  const auto* segments = root_->segments();
  for (uint32_t i = 0; i < segments->size(); ++i) {
    const schema::Segment* s = segments->Get(i);
    const uint32_t crc = Crc32c(bytes_.data() + s->offset(), s->size());
    KITE_CHECK_OR_RETURN(crc == s->crc32c(), Error::kInvalidFormat,
                         "segment %u (file bytes %llu..%llu) is corrupted: CRC-32C is %08x, the "
                         "file records %08x",
                         i, static_cast<unsigned long long>(s->offset()),
                         static_cast<unsigned long long>(s->offset() + s->size()), crc,
                         s->crc32c());
  }
  return Status::Ok();
}

namespace {

// Checks the envelope: size prefix, identifier, metadata checksum, FlatBuffers Verifier.
// *metadata_crc (when not null) receives the metadata's CRC-32C.
Status CheckEnvelope(const uint8_t* data, size_t size, const schema::Model** root,
                     uint32_t* metadata_crc = nullptr) {
  KITE_CHECK_OR_RETURN(size >= 16, Error::kInvalidFormat,
                       "file is too small to be a .kite model (%zu bytes)", size);
  KITE_CHECK_OR_RETURN(flatbuffers::BufferHasIdentifier(data, schema::ModelIdentifier(), true),
                       Error::kInvalidFormat,
                       "not a .kite model: file identifier is %02x %02x %02x %02x, expected 'KITE'",
                       data[8], data[9], data[10], data[11]);
  uint32_t fb_size = 0;
  std::memcpy(&fb_size, data, 4);
  const uint64_t fb_total = static_cast<uint64_t>(fb_size) + 4;
  const uint64_t record = RoundUp(fb_total, 8);
  KITE_CHECK_OR_RETURN(record + 8 <= size, Error::kInvalidFormat,
                       "file is truncated: metadata needs %llu bytes but the file has %zu",
                       static_cast<unsigned long long>(record + 8), size);
  KITE_CHECK_OR_RETURN(std::memcmp(data + record, kChecksumMagic, 4) == 0, Error::kInvalidFormat,
                       "metadata checksum record is missing at byte %llu",
                       static_cast<unsigned long long>(record));
  uint32_t stored = 0;
  std::memcpy(&stored, data + record + 4, 4);
  const uint32_t crc = Crc32c(data, fb_total);
  KITE_CHECK_OR_RETURN(crc == stored, Error::kInvalidFormat,
                       "metadata is corrupted: CRC-32C is %08x, the file records %08x", crc,
                       stored);
  flatbuffers::Verifier verifier(data, fb_total, /*max_depth=*/64, /*max_tables=*/1u << 22);
  KITE_CHECK_OR_RETURN(schema::VerifySizePrefixedModelBuffer(verifier), Error::kInvalidFormat,
                       "metadata fails FlatBuffers verification (malformed tables)");
  *root = schema::GetSizePrefixedModel(data);
  if (metadata_crc != nullptr) *metadata_crc = crc;
  return Status::Ok();
}

Status CheckConfig(const schema::Config& c, ModelConfig* out) {
  const char* arch = c.architecture() ? c.architecture()->c_str() : "";
  KITE_CHECK_OR_RETURN(std::strcmp(arch, "llama") == 0, Error::kUnsupported,
                       "architecture %s is not supported (supported: llama)",
                       Quoted(c.architecture() ? c.architecture()->data() : "",
                              c.architecture() ? c.architecture()->size() : 0)
                           .c_str());
  struct Field {
    const char* name;
    uint32_t value;
    uint32_t max;
  } fields[] = {
      {"dim", c.dim(), kMaxDim},           {"hidden_dim", c.hidden_dim(), kMaxDim * 8},
      {"n_layers", c.n_layers(), kMaxLayers}, {"n_heads", c.n_heads(), kMaxHeads},
      {"n_kv_heads", c.n_kv_heads(), kMaxHeads}, {"head_dim", c.head_dim(), 1024},
      {"vocab_size", c.vocab_size(), kMaxVocab}, {"max_seq_len", c.max_seq_len(), kMaxSeqLen},
  };
  for (const Field& f : fields) {
    KITE_CHECK_OR_RETURN(f.value >= 1 && f.value <= f.max, Error::kInvalidFormat,
                         "config.%s = %u is out of range [1, %u]", f.name, f.value, f.max);
  }
  KITE_CHECK_OR_RETURN(c.n_heads() % c.n_kv_heads() == 0, Error::kInvalidFormat,
                       "config.n_heads = %u is not a multiple of n_kv_heads = %u", c.n_heads(),
                       c.n_kv_heads());
  KITE_CHECK_OR_RETURN(c.head_dim() % 2 == 0, Error::kInvalidFormat,
                       "config.head_dim = %u is odd (RoPE rotates pairs)", c.head_dim());
  KITE_CHECK_OR_RETURN(c.n_heads() * c.head_dim() <= kMaxDim, Error::kInvalidFormat,
                       "config: n_heads * head_dim = %u is too large",
                       c.n_heads() * c.head_dim());
  KITE_CHECK_OR_RETURN(c.rope_theta() > 0.0f && c.norm_eps() >= 0.0f && c.norm_eps() < 1.0f,
                       Error::kInvalidFormat, "config: rope_theta %g or norm_eps %g out of range",
                       static_cast<double>(c.rope_theta()), static_cast<double>(c.norm_eps()));
  KITE_CHECK_OR_RETURN(c.rope_style() == schema::RopeStyle::INTERLEAVED &&
                           c.activation() == schema::Activation::SILU,
                       Error::kUnsupported, "config: unsupported rope_style or activation");
  out->dim = c.dim();
  out->hidden_dim = c.hidden_dim();
  out->n_layers = c.n_layers();
  out->n_heads = c.n_heads();
  out->n_kv_heads = c.n_kv_heads();
  out->head_dim = c.head_dim();
  out->vocab_size = c.vocab_size();
  out->max_seq_len = c.max_seq_len();
  out->rope_theta = c.rope_theta();
  out->norm_eps = c.norm_eps();
  out->tied_embeddings = c.tied_embeddings();
  out->attention_bias = c.attention_bias();
  KITE_CHECK_OR_RETURN(c.rope_scaling() == schema::RopeScaling::NONE ||
                           c.rope_scaling() == schema::RopeScaling::LLAMA3,
                       Error::kUnsupported, "config: rope_scaling %u is not supported by this build",
                       static_cast<unsigned>(c.rope_scaling()));
  if (c.rope_scaling() == schema::RopeScaling::LLAMA3) {
    // Negated comparisons also reject NaN.
    KITE_CHECK_OR_RETURN(!(c.rope_scaling_factor() <= 0.0f || c.rope_scaling_factor() > 1e6f) &&
                             !(c.rope_low_freq_factor() <= 0.0f) &&
                             !(c.rope_high_freq_factor() <= c.rope_low_freq_factor()) &&
                             !(c.rope_high_freq_factor() > 1e6f) &&
                             c.rope_original_max_seq_len() >= 1 &&
                             c.rope_original_max_seq_len() <= kMaxSeqLen,
                         Error::kInvalidFormat,
                         "config: llama3 rope scaling (factor %g, low %g, high %g, original "
                         "context %u) is out of range",
                         static_cast<double>(c.rope_scaling_factor()),
                         static_cast<double>(c.rope_low_freq_factor()),
                         static_cast<double>(c.rope_high_freq_factor()),
                         c.rope_original_max_seq_len());
  }
  return Status::Ok();
}

Status CheckSegments(const schema::Model& root, uint64_t file_size) {
  KITE_CHECK_OR_RETURN(root.file_size() == file_size, Error::kInvalidFormat,
                       "file is %llu bytes but its header says %llu (truncated or appended to)",
                       static_cast<unsigned long long>(file_size),
                       static_cast<unsigned long long>(root.file_size()));
  KITE_CHECK_OR_RETURN(root.data_offset() % kDataAlignment == 0 && root.data_offset() <= file_size,
                       Error::kInvalidFormat, "data_offset %llu is not a multiple of %llu inside the file",
                       static_cast<unsigned long long>(root.data_offset()),
                       static_cast<unsigned long long>(kDataAlignment));
  const auto* segments = root.segments();
  for (uint32_t i = 0; i < segments->size(); ++i) {
    const schema::Segment* s = segments->Get(i);
    uint64_t end = 0;
    KITE_CHECK_OR_RETURN(s->offset() >= root.data_offset() && s->offset() % kTensorAlignment == 0,
                         Error::kInvalidFormat,
                         "segment %u starts at %llu: before the data or not %llu-byte aligned", i,
                         static_cast<unsigned long long>(s->offset()),
                         static_cast<unsigned long long>(kTensorAlignment));
    KITE_CHECK_OR_RETURN(!AddOverflows(s->offset(), s->size(), &end) && end <= file_size,
                         Error::kInvalidFormat,
                         "segment %u [%llu, +%llu) runs past the end of the file (%llu bytes)", i,
                         static_cast<unsigned long long>(s->offset()),
                         static_cast<unsigned long long>(s->size()),
                         static_cast<unsigned long long>(file_size));
  }
  return Status::Ok();
}

const schema::Tensor* FindTensor(const schema::Model& root, const char* name) {
  const auto* tensors = root.tensors();
  for (uint32_t i = 0; i < tensors->size(); ++i) {
    if (std::strcmp(tensors->Get(i)->name()->c_str(), name) == 0) return tensors->Get(i);
  }
  return nullptr;
}

}  // namespace

// Looks up `name`, checks it against the expected shape (cols == 0: a vector of `rows`),
// its dtype/layout against what the kernels accept, and resolves its bytes.
static Status BindTensor(const Model& model, const char* name, uint32_t rows, uint32_t cols,
                         TensorView* out) {
  const schema::Tensor* t = FindTensor(*model.schema_root(), name);
  KITE_CHECK_OR_RETURN(t != nullptr, Error::kInvalidFormat, "tensor '%s' is missing", name);
  const auto* shape = t->shape();
  const bool vector = cols == 0;
  if (vector) {
    KITE_CHECK_OR_RETURN(shape->size() == 1 && shape->Get(0) == rows, Error::kInvalidFormat,
                         "tensor '%s': shape must be [%u]", name, rows);
  } else {
    KITE_CHECK_OR_RETURN(shape->size() == 2 && shape->Get(0) == rows && shape->Get(1) == cols,
                         Error::kInvalidFormat, "tensor '%s': shape must be [%u, %u] for this config",
                         name, rows, cols);
  }
  out->name = t->name()->c_str();
  out->rows = vector ? 1 : rows;
  out->cols = vector ? rows : cols;
  out->dtype = t->dtype();
  out->layout = t->layout();
  out->group_size = 0;
  out->scales = nullptr;
  out->scales_size = 0;
  out->mins = nullptr;
  out->codebook = nullptr;
  // Which dtypes this build computes with; the sizes come from the format's table.
  switch (out->dtype) {
    case DType::F32:
    case DType::Q8_C:
    case DType::Q4_G:
    case DType::Q4_G_SP24:
      break;
    default:
      return Status::Make(Error::kUnsupported, "tensor '%s': dtype %s is not supported by this build",
                          name, DTypeName(out->dtype));
  }
  KITE_CHECK_OR_RETURN(!vector || out->dtype == DType::F32, Error::kUnsupported,
                       "tensor '%s': %s vectors are not supported", name, DTypeName(out->dtype));
  const Encoding* enc = FindEncoding(out->dtype, out->layout);
  if (enc == nullptr) {
    KITE_CHECK_OR_RETURN(out->dtype != DType::F32 && out->dtype != DType::Q8_C,
                         Error::kInvalidFormat,
                         "tensor '%s': %s data must use the row-major layout", name,
                         DTypeName(out->dtype));
    return Status::Make(Error::kUnsupported,
                        "tensor '%s': %s layout %u is not supported by this build", name,
                        DTypeName(out->dtype), static_cast<unsigned>(out->layout));
  }
  if (enc->group_size != 0) {
    const uint32_t g = t->group_size();
    KITE_CHECK_OR_RETURN(enc->group_size != kAnyEvenGroup || GroupSizeValid(*enc, g),
                         Error::kInvalidFormat,
                         "tensor '%s': group_size %u must be even and in [2, %u]", name, g,
                         kMaxGroupSize);
    KITE_CHECK_OR_RETURN(GroupSizeValid(*enc, g), Error::kInvalidFormat,
                         "tensor '%s': layout %s needs group_size %u, not %u", name,
                         LayoutName(out->layout), enc->group_size, g);
    out->group_size = g;
  }
  const uint64_t data_bytes = PackedBytes(*enc, out->rows, out->cols, out->group_size);
  const uint64_t scale_bytes = ScalesBytes(*enc, out->rows, out->cols, out->group_size);
  KITE_RETURN_IF_ERROR(ResolveExtent(model, name, "data", *t->data(), data_bytes, &out->data));
  out->data_size = data_bytes;
  if (scale_bytes != 0) {
    KITE_CHECK_OR_RETURN(t->scales() != nullptr, Error::kInvalidFormat,
                         "tensor '%s': scales are missing", name);
    KITE_RETURN_IF_ERROR(ResolveExtent(model, name, "scales", *t->scales(), scale_bytes, &out->scales));
    out->scales_size = scale_bytes;
  }
  if (t->mins() != nullptr) {
    KITE_CHECK_OR_RETURN(enc->mins, Error::kInvalidFormat,
                         "tensor '%s': only q4_g row-group tensors may have mins", name);
    KITE_RETURN_IF_ERROR(ResolveExtent(model, name, "mins", *t->mins(), scale_bytes, &out->mins));
  }
  const auto* codebook = t->codebook();
  if (enc->codebook_entries == 0) {
    KITE_CHECK_OR_RETURN(codebook == nullptr, Error::kInvalidFormat,
                         "tensor '%s': layout %s has no codebook, but one is stored", name,
                         LayoutName(out->layout));
  } else {
    KITE_CHECK_OR_RETURN(codebook != nullptr && codebook->size() == enc->codebook_entries,
                         Error::kInvalidFormat,
                         "tensor '%s': layout %s needs a codebook of %u entries, not %u", name,
                         LayoutName(out->layout), enc->codebook_entries,
                         codebook == nullptr ? 0u : static_cast<unsigned>(codebook->size()));
    for (uint32_t i = 0; i < enc->codebook_entries; ++i) {
      KITE_CHECK_OR_RETURN(codebook->Get(i) >= -kQ4CodebookMax, Error::kInvalidFormat,
                           "tensor '%s': codebook entry %u is %d, outside [-%d, %d]", name, i,
                           codebook->Get(i), kQ4CodebookMax, kQ4CodebookMax);
    }
    out->codebook = codebook->data();
  }
  return Status::Ok();
}

// A tokenizer-only file: no tensors or segments, a config with just vocab_size.
static Status LoadVocabOnly(const schema::Model& root, ModelConfig* config, Tokenizer* tokenizer) {
  const uint32_t vocab = root.config()->vocab_size();
  KITE_CHECK_OR_RETURN(vocab >= 1 && vocab <= kMaxVocab, Error::kInvalidFormat,
                       "config.vocab_size = %u is out of range [1, %u]", vocab, kMaxVocab);
  KITE_CHECK_OR_RETURN(root.tensors()->size() == 0 && root.segments()->size() == 0,
                       Error::kInvalidFormat,
                       "a vocabulary-only file must not have tensors or segments");
  KITE_CHECK_OR_RETURN(root.tokenizer() != nullptr &&
                           root.tokenizer()->type() != schema::TokenizerType::NONE,
                       Error::kInvalidFormat, "a vocabulary-only file has no tokenizer");
  *config = ModelConfig();
  config->vocab_size = vocab;
  TokenizerView view;
  KITE_RETURN_IF_ERROR(BuildTokenizer(root.tokenizer(), vocab, &view));
  *tokenizer = Tokenizer(view);
  return Status::Ok();
}

Status Model::Load(const ModelOptions& options) {
  KITE_RETURN_IF_ERROR(CheckEnvelope(bytes_.data(), bytes_.size(), &root_, &metadata_crc_));
  const uint32_t version = root_->format_version();
  KITE_CHECK_OR_RETURN(version / 1000 == kFormatVersion / 1000, Error::kUnsupported,
                       "file format version %u.%u is not supported (this build reads %u.x)",
                       version / 1000, version % 1000, kFormatVersion / 1000);
  {
    // An unknown (newer) chat format loads as NONE.
    const ChatFormat format = root_->chat_format();
    const auto* tmpl = root_->chat_template();
    chat_style_ = ChatStyleFor(format <= ChatFormat::MAX ? format : ChatFormat::NONE,
                               tmpl ? tmpl->c_str() : nullptr, tmpl ? tmpl->size() : 0);
  }
  if (root_->vocab_only()) {
    KITE_RETURN_IF_ERROR(CheckSegments(*root_, bytes_.size()));
    vocab_only_ = true;
    kernels_ = &kernels::SelectKernels(options.max_isa);
    return LoadVocabOnly(*root_, &config_, &tokenizer_);
  }
  KITE_RETURN_IF_ERROR(CheckConfigFloats(*root_->config()));
  KITE_RETURN_IF_ERROR(CheckConfig(*root_->config(), &config_));
  KITE_RETURN_IF_ERROR(CheckSegments(*root_, bytes_.size()));
  KITE_RETURN_IF_ERROR(CheckSegmentsDisjoint(*root_));
  KITE_RETURN_IF_ERROR(CheckTensorTable(*root_, config_));
  if (options.verify_checksums) KITE_RETURN_IF_ERROR(VerifyChecksums());

  const ModelConfig& c = config_;
  KITE_RETURN_IF_ERROR(BindTensor(*this, names::kTokEmbeddings, c.vocab_size, c.dim, &tok_embeddings_));
  KITE_RETURN_IF_ERROR(BindTensor(*this, names::kNorm, c.dim, 0, &norm_));
  if (c.tied_embeddings) {
    KITE_CHECK_OR_RETURN(FindTensor(*root_, names::kOutput) == nullptr, Error::kInvalidFormat,
                         "config says the output head is tied, but tensor 'output' is present");
    output_ = tok_embeddings_;
  } else {
    KITE_RETURN_IF_ERROR(BindTensor(*this, names::kOutput, c.vocab_size, c.dim, &output_));
  }
  const uint32_t rope_floats = RopeTableFloats(*root_->config());
  const size_t table_bytes = TableBytes(c.n_layers, rope_floats);
  if (arena_.data() == nullptr) {
    KITE_ASSIGN_OR_RETURN(arena_, Arena::Allocate(table_bytes, alignof(LayerWeights),
                                                  "the model's layer and RoPE tables"));
  }
  layers_ = arena_.TakeArray<LayerWeights>(c.n_layers);
  float* rope_table = rope_floats != 0 ? arena_.TakeArray<float>(rope_floats) : nullptr;
  KITE_CHECK_OR_RETURN(layers_ != nullptr && (rope_floats == 0 || rope_table != nullptr),
                       Error::kOutOfMemory,
                       "model storage has %zu bytes for tables but this model needs %zu",
                       arena_.size(), table_bytes);
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    LayerWeights& l = layers_[i];
    struct Binding {
      const char* suffix;
      uint32_t rows, cols;
      TensorView* view;
    } bindings[] = {
        {names::kAttentionNorm, c.dim, 0, &l.attention_norm},
        {names::kWq, c.q_dim(), c.dim, &l.wq},
        {names::kWk, c.kv_dim(), c.dim, &l.wk},
        {names::kWv, c.kv_dim(), c.dim, &l.wv},
        {names::kWo, c.dim, c.q_dim(), &l.wo},
        {names::kFfnNorm, c.dim, 0, &l.ffn_norm},
        {names::kW1, c.hidden_dim, c.dim, &l.w1},
        {names::kW2, c.dim, c.hidden_dim, &l.w2},
        {names::kW3, c.hidden_dim, c.dim, &l.w3},
    };
    for (const Binding& b : bindings) {
      char name[96];
      std::snprintf(name, sizeof(name), "layers.%u.%s", i, b.suffix);
      KITE_RETURN_IF_ERROR(BindTensor(*this, name, b.rows, b.cols, b.view));
    }
  }
  if (c.attention_bias) {
    for (uint32_t i = 0; i < c.n_layers; ++i) {
      LayerWeights& l = layers_[i];
      struct Bias {
        const char* suffix;
        uint32_t n;
        TensorView* view;
      } biases[] = {{names::kBq, c.q_dim(), &l.bq}, {names::kBk, c.kv_dim(), &l.bk},
                    {names::kBv, c.kv_dim(), &l.bv}};
      for (const Bias& b : biases) {
        char name[96];
        std::snprintf(name, sizeof(name), "layers.%u.%s", i, b.suffix);
        KITE_RETURN_IF_ERROR(BindTensor(*this, name, b.n, 0, b.view));
        KITE_CHECK_OR_RETURN(b.view->dtype == DType::F32, Error::kUnsupported,
                             "tensor '%s' must be f32", name);
      }
    }
  }
  const schema::Config& sc = *root_->config();
  if (sc.rope_scaling() == schema::RopeScaling::LLAMA3) {
    const uint32_t pairs = rope_floats;
    kernels::RopeInverseFrequencies(c.head_dim, c.rope_theta, rope_table);
    kernels::ScaleRopeLlama3(rope_table, pairs, sc.rope_scaling_factor(),
                             sc.rope_low_freq_factor(), sc.rope_high_freq_factor(),
                             sc.rope_original_max_seq_len());
    config_.rope_inv_freq = rope_table;
  }
  // Norm weights are read as f32 by the kernels.
  KITE_CHECK_OR_RETURN(norm_.dtype == DType::F32, Error::kUnsupported, "tensor 'norm' must be f32");
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    KITE_CHECK_OR_RETURN(layers_[i].attention_norm.dtype == DType::F32 &&
                             layers_[i].ffn_norm.dtype == DType::F32,
                         Error::kUnsupported, "layer %u: norm weights must be f32", i);
  }
  TokenizerView view;
  KITE_RETURN_IF_ERROR(BuildTokenizer(root_->tokenizer(), c.vocab_size, &view));
  tokenizer_ = Tokenizer(view);
  kernels_ = &kernels::SelectKernels(options.max_isa);
  if (options.use_xnnpack && kernels_->isa != kernels::Isa::kScalar) {
    KITE_RETURN_IF_ERROR(CreateDenseOperators());
  }
  return Status::Ok();
}

size_t Model::TableBytes(uint32_t n_layers, uint32_t rope_table_floats) {
  ArenaLayout layout;
  layout.Add(static_cast<size_t>(n_layers) * sizeof(LayerWeights), alignof(LayerWeights));
  if (rope_table_floats != 0) {
    layout.Add(static_cast<size_t>(rope_table_floats) * sizeof(float), alignof(float));
  }
  return layout.total_bytes();
}

size_t Model::StorageBytes(uint32_t n_layers, uint32_t rope_table_floats) {
  return AlignUp(sizeof(Model), kStorageAlignment) + TableBytes(n_layers, rope_table_floats);
}

Result<size_t> Model::StorageBytesFor(const void* data, size_t size) {
  KITE_CHECK_OR_RETURN(data != nullptr, Error::kInvalidArgument, "model data pointer is null");
  const schema::Model* root = nullptr;
  KITE_RETURN_IF_ERROR(CheckEnvelope(static_cast<const uint8_t*>(data), size, &root));
  ModelConfig config;
  KITE_RETURN_IF_ERROR(CheckConfig(*root->config(), &config));
  return StorageBytes(config.n_layers, RopeTableFloats(*root->config()));
}

Result<Model*> Model::OpenInPlace(FileMap bytes, const ModelOptions& options, void* storage,
                                  size_t storage_size) {
  static_assert(alignof(Model) <= kStorageAlignment && alignof(LayerWeights) <= kStorageAlignment,
                "kStorageAlignment is too small for the model objects");
  KITE_ASSIGN_OR_RETURN(Arena storage_arena,
                        Arena::Borrow(storage, storage_size, kStorageAlignment, "model storage"));
  const size_t head = StorageBytes(0);
  KITE_CHECK_OR_RETURN(storage_arena.Take(head, kStorageAlignment) != nullptr,
                       Error::kOutOfMemory,
                       "model storage is %zu bytes but even a model without layers needs %zu",
                       storage_size, head);
  Model* model = new (storage) Model();
  model->bytes_ = static_cast<FileMap&&>(bytes);
  // The tables go in the rest of the storage, after the Model object.
  KITE_ASSIGN_OR_RETURN(model->arena_,
                        Arena::Borrow(static_cast<uint8_t*>(storage) + head, storage_size - head,
                                      alignof(LayerWeights), "model storage"));
  ModelOptions in_place = options;
  in_place.use_xnnpack = false;
  Status s = model->Load(in_place);
  if (!s.ok()) {
    if (s.code() == Error::kOutOfMemory && model->root_ != nullptr &&
        model->config_.n_layers != 0) {
      s = Status::Make(Error::kOutOfMemory,
                       "model storage is %zu bytes but this model (%u layers) needs %zu",
                       storage_size, model->config_.n_layers,
                       StorageBytes(model->config_.n_layers,
                                    RopeTableFloats(*model->root_->config())));
    }
    DestroyInPlace(model);
    return s;
  }
  return model;
}

void Model::DestroyInPlace(Model* model) {
  if (model != nullptr) model->~Model();
}

}  // namespace kite
