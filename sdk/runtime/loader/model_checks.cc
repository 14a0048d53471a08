#include "sdk/runtime/loader/model_checks.h"

#include <cmath>
#include <cstring>

#include "sdk/base/quote.h"
#include "sdk/schema/kite_generated.h"

namespace kite {
namespace {

// The layer index N of a tensor named "layers.N.<suffix>", or -1 for other names (and for
// an index that does not fit in 31 bits).
int64_t LayerOf(const char* name) {
  static const char kPrefix[] = "layers.";
  if (std::strncmp(name, kPrefix, sizeof(kPrefix) - 1) != 0) return -1;
  const char* p = name + sizeof(kPrefix) - 1;
  if (*p < '0' || *p > '9') return -1;
  int64_t n = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    n = n * 10 + (*p - '0');
    if (n > 0x7fffffff) return -1;
  }
  return *p == '.' ? n : -1;
}

}  // namespace

Status CheckConfigFloats(const schema::Config& c) {
  const struct {
    const char* name;
    float value;
  } fields[] = {
      {"rope_theta", c.rope_theta()},
      {"norm_eps", c.norm_eps()},
      {"rope_scaling_factor", c.rope_scaling_factor()},
      {"rope_low_freq_factor", c.rope_low_freq_factor()},
      {"rope_high_freq_factor", c.rope_high_freq_factor()},
  };
  for (const auto& f : fields) {
    KITE_CHECK_OR_RETURN(std::isfinite(f.value), Error::kInvalidFormat,
                         "config.%s = %g is not a finite number", f.name,
                         static_cast<double>(f.value));
  }
  return Status::Ok();
}

Status CheckSegmentsDisjoint(const schema::Model& root) {
  const auto* segments = root.segments();
  for (uint32_t i = 1; i < segments->size(); ++i) {
    const schema::Segment* prev = segments->Get(i - 1);
    const schema::Segment* s = segments->Get(i);
    // prev->offset() + prev->size() cannot overflow: it was checked to end inside the file.
    KITE_CHECK_OR_RETURN(s->offset() >= prev->offset() + prev->size(), Error::kInvalidFormat,
                         "segment %u [%llu, +%llu) overlaps segment %u [%llu, +%llu) or is "
                         "out of file order",
                         i, static_cast<unsigned long long>(s->offset()),
                         static_cast<unsigned long long>(s->size()), i - 1,
                         static_cast<unsigned long long>(prev->offset()),
                         static_cast<unsigned long long>(prev->size()));
  }
  return Status::Ok();
}

Status CheckTensorTable(const schema::Model& root, const ModelConfig& config) {
  const auto* tensors = root.tensors();
  const uint32_t n = tensors->size();
  for (uint32_t i = 0; i < n; ++i) {
    const char* name = tensors->Get(i)->name()->c_str();
    const int64_t layer = LayerOf(name);
    KITE_CHECK_OR_RETURN(layer < static_cast<int64_t>(config.n_layers), Error::kInvalidFormat,
                         "config.n_layers = %u but tensor %s belongs to layer %lld",
                         config.n_layers, Quoted(name).c_str(), static_cast<long long>(layer));
  }
  const uint64_t per_layer = 9 + (config.attention_bias ? 3 : 0);
  const uint64_t expected =
      (config.tied_embeddings ? 2 : 3) + per_layer * static_cast<uint64_t>(config.n_layers);
  KITE_CHECK_OR_RETURN(n == expected, Error::kInvalidFormat,
                       "the file has %u tensors but config.n_layers = %u (tied_embeddings %d, "
                       "attention_bias %d) needs %llu",
                       n, config.n_layers, config.tied_embeddings ? 1 : 0,
                       config.attention_bias ? 1 : 0, static_cast<unsigned long long>(expected));
  // Quadratic, but n is bounded by the config (at most 12 per layer plus 3).
  for (uint32_t i = 1; i < n; ++i) {
    const flatbuffers::String* a = tensors->Get(i)->name();
    for (uint32_t j = 0; j < i; ++j) {
      const flatbuffers::String* b = tensors->Get(j)->name();
      KITE_CHECK_OR_RETURN(
          a->size() != b->size() || std::memcmp(a->data(), b->data(), a->size()) != 0,
          Error::kInvalidFormat, "tensor name %s appears twice (tensors %u and %u)",
          Quoted(a->data(), a->size()).c_str(), j, i);
    }
  }
  return Status::Ok();
}

}  // namespace kite
