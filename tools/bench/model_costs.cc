#include "tools/bench/model_costs.h"

#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "platform/file_map.h"
#include "sdk/runtime/memory_plan.h"
#include "sdk/runtime/loader/model.h"
#include "sdk/format/tensor_names.h"
#include "sdk/schema/kite_generated.h"

namespace kite::bench {

absl::StatusOr<ModelCosts> ComputeModelCosts(const std::string& path, uint32_t context,
                                             uint32_t threads, uint32_t chunk,
                                             uint32_t kv_type) {
  Result<FileMap> bytes = FileMap::OpenPath(path.c_str());
  if (!bytes.ok()) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", bytes.status().message()));
  }
  Result<std::unique_ptr<Model>> opened = Model::Open(std::move(*bytes), ModelOptions{});
  if (!opened.ok()) {
    return absl::DataLossError(absl::StrCat("cannot open ", path, ": ", opened.status().message()));
  }
  const Model& model = **opened;
  const ModelConfig& config = model.config();

  ModelCosts c;
  c.dim = config.dim;
  c.n_layers = config.n_layers;
  c.vocab_size = config.vocab_size;
  c.max_seq_len = config.max_seq_len;
  c.tied_embeddings = config.tied_embeddings;
  for (const schema::Tensor* t : *model.schema_root()->tensors()) {
    uint64_t size = t->data()->size();
    if (t->scales() != nullptr) size += t->scales()->size();
    if (t->mins() != nullptr) size += t->mins()->size();
    c.tensor_bytes += size;
    const char* name = t->name()->c_str();
    if (std::strcmp(name, names::kTokEmbeddings) == 0) c.embedding_bytes = size;
    if (std::strncmp(name, "layers.", 7) == 0 && t->shape()->size() == 2) {
      c.layer_matmul_params += t->shape()->Get(0) * t->shape()->Get(1);
    }
  }
  c.embedding_row_bytes = c.vocab_size ? c.embedding_bytes / c.vocab_size : 0;
  c.weight_bytes_per_token = c.tensor_bytes - c.embedding_bytes + c.embedding_row_bytes +
                             (c.tied_embeddings ? c.embedding_bytes : 0);
  c.head_params = uint64_t{c.vocab_size} * c.dim;

  if (context > config.max_seq_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "context ", context, " exceeds the model's max_seq_len ",
        config.max_seq_len));
  }
  SessionOptions options;
  options.max_context = context;
  options.threads = threads;
  options.prefill_chunk = chunk;
  options.kv_type = static_cast<KvType>(kv_type);
  Result<MemoryPlan> plan = PlanSessionMemory(model, options);
  if (!plan.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("session options rejected: ", plan.status().message()));
  }
  c.kv_cache_bytes = plan->kv_cache_bytes;
  c.kv_bytes_per_position = context ? plan->kv_cache_bytes / context : 0;
  return c;
}

double DecodeBytesPerToken(const ModelCosts& c, uint32_t prompt, uint32_t generate) {
  const double mean_positions = prompt + (generate + 1) / 2.0;
  return static_cast<double>(c.weight_bytes_per_token) +
         static_cast<double>(c.kv_bytes_per_position) * mean_positions;
}

double PrefillOpsPerToken(const ModelCosts& c, uint32_t prompt) {
  return 2.0 * static_cast<double>(c.layer_matmul_params) +
         2.0 * static_cast<double>(c.head_params) / (prompt ? prompt : 1);
}

}  // namespace kite::bench
