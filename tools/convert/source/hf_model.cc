#include "tools/convert/source/hf_model.h"

#include <sys/stat.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sdk/format/tensor_names.h"
#include "tools/common/json.h"
#include "tools/common/quote_name.h"
#include "tools/convert/source/safetensors_reader.h"

namespace kite::convert {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string ShapeText(const std::vector<uint64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// One tensor Kite needs: its Kite name, HF name, shape, and whether rows are permuted.
struct Wanted {
  std::string kite_name;
  std::string hf_name;
  std::vector<uint64_t> shape;
  uint32_t permute_heads = 0;  // >0: apply RotateHalfToInterleaved with this many heads
};

std::vector<Wanted> WantedTensors(const SourceConfig& c) {
  const uint64_t dim = c.dim, hidden = c.hidden_dim;
  const uint64_t q_dim = static_cast<uint64_t>(c.n_heads) * c.head_dim;
  const uint64_t kv_dim = static_cast<uint64_t>(c.n_kv_heads) * c.head_dim;
  std::vector<Wanted> w;
  w.push_back({names::kTokEmbeddings, "model.embed_tokens.weight", {c.vocab_size, dim}});
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    const std::string k = absl::StrCat("layers.", i, ".");
    const std::string h = absl::StrCat("model.layers.", i, ".");
    w.push_back({k + names::kAttentionNorm, h + "input_layernorm.weight", {dim}});
    w.push_back({k + names::kWq, h + "self_attn.q_proj.weight", {q_dim, dim}, c.n_heads});
    w.push_back({k + names::kWk, h + "self_attn.k_proj.weight", {kv_dim, dim}, c.n_kv_heads});
    w.push_back({k + names::kWv, h + "self_attn.v_proj.weight", {kv_dim, dim}});
    w.push_back({k + names::kWo, h + "self_attn.o_proj.weight", {dim, q_dim}});
    w.push_back({k + names::kFfnNorm, h + "post_attention_layernorm.weight", {dim}});
    w.push_back({k + names::kW1, h + "mlp.gate_proj.weight", {hidden, dim}});
    w.push_back({k + names::kW2, h + "mlp.down_proj.weight", {dim, hidden}});
    w.push_back({k + names::kW3, h + "mlp.up_proj.weight", {hidden, dim}});
    if (c.attention_bias) {
      w.push_back({k + names::kBq, h + "self_attn.q_proj.bias", {q_dim}, c.n_heads});
      w.push_back({k + names::kBk, h + "self_attn.k_proj.bias", {kv_dim}, c.n_kv_heads});
      w.push_back({k + names::kBv, h + "self_attn.v_proj.bias", {kv_dim}});
    }
  }
  w.push_back({names::kNorm, "model.norm.weight", {dim}});
  if (!c.tied_embeddings) w.push_back({names::kOutput, "lm_head.weight", {c.vocab_size, dim}});
  return w;
}

// Tensors that may be present without being used.
bool Ignorable(const std::string& hf_name, const SourceConfig& c) {
  if (absl::EndsWith(hf_name, ".rotary_emb.inv_freq")) return true;
  return c.tied_embeddings && hf_name == "lm_head.weight";
}

// weight_map of model.safetensors.index.json: tensor name -> shard file name.
absl::StatusOr<std::map<std::string, std::string>> ReadIndex(const std::string& path) {
  absl::StatusOr<json::Value> index = json::ParseFile(path);
  if (!index.ok()) return index.status();
  const json::Value* map = index->Find("weight_map");
  if (map == nullptr || !map->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no \"weight_map\" object"));
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, file] : map->object()) {
    if (!file.is_string() || file.str().empty() || file.str().find('/') != std::string::npos ||
        file.str() == "." || file.str() == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": weight_map[\"", name, "\"] must be a file name in the same folder"));
    }
    if (!out.emplace(name, file.str()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": weight_map names tensor ", tools::QuoteName(name), " twice"));
    }
  }
  return out;
}

}  // namespace

void RotateHalfToInterleaved(float* rows, uint32_t n_heads, uint32_t head_dim, uint64_t cols) {
  const uint32_t half = head_dim / 2;
  std::vector<float> head(static_cast<size_t>(head_dim) * cols);
  for (uint32_t h = 0; h < n_heads; ++h) {
    float* base = rows + static_cast<size_t>(h) * head_dim * cols;
    std::memcpy(head.data(), base, head.size() * sizeof(float));
    for (uint32_t j = 0; j < half; ++j) {
      for (uint32_t c = 0; c < 2; ++c) {
        std::memcpy(base + (2 * j + c) * cols, head.data() + (c * half + j) * cols,
                    cols * sizeof(float));
      }
    }
  }
}

// The open shards, and for each wanted tensor its file, header entry and permutation.
struct HfWeights::Files {
  std::map<std::string, std::unique_ptr<SafetensorsFile>> shards;
  struct Source {
    const SafetensorsFile* file;
    const SafetensorsEntry* entry;
    uint32_t permute_heads;
  };
  std::vector<Source> sources;  // parallel to tensors_
};

HfWeights::HfWeights() = default;
HfWeights::HfWeights(HfWeights&&) noexcept = default;
HfWeights& HfWeights::operator=(HfWeights&&) noexcept = default;
HfWeights::~HfWeights() = default;

absl::StatusOr<HfWeights> HfWeights::Open(const std::string& folder) {
  HfWeights out;
  out.files_ = std::make_unique<Files>();
  absl::StatusOr<HfConfig> hf = ReadHfConfig(folder);
  if (!hf.ok()) return hf.status();
  out.hf_ = *std::move(hf);
  const SourceConfig& c = out.hf_.config;

  // Which file holds which tensor.
  std::map<std::string, std::string> where;  // HF name -> shard base name
  std::vector<std::string> shard_names;
  const std::string index_path = JoinPath(folder, "model.safetensors.index.json");
  const std::string single = JoinPath(folder, "model.safetensors");
  const bool indexed = FileExists(index_path);
  if (indexed) {
    absl::StatusOr<std::map<std::string, std::string>> map = ReadIndex(index_path);
    if (!map.ok()) return map.status();
    where = *std::move(map);
    std::set<std::string> seen;
    for (const auto& [name, file] : where) {
      if (seen.insert(file).second) shard_names.push_back(file);
    }
  } else if (FileExists(single)) {
    shard_names.push_back("model.safetensors");
  } else {
    return absl::NotFoundError(absl::StrCat(
        folder, " has neither model.safetensors nor model.safetensors.index.json (Kite reads "
                "safetensors weights; convert .bin/.pth checkpoints to safetensors first)"));
  }

  auto& files = out.files_->shards;
  for (const std::string& name : shard_names) {
    const std::string path = JoinPath(folder, name);
    if (!FileExists(path)) {
      return absl::NotFoundError(absl::StrCat("shard ", path, " named by ", index_path,
                                              " does not exist"));
    }
    absl::StatusOr<SafetensorsFile> f = SafetensorsFile::Open(path);
    if (!f.ok()) return f.status();
    files[name] = std::make_unique<SafetensorsFile>(*std::move(f));
    out.weight_files_.push_back(name);
  }
  if (!indexed) {
    for (const SafetensorsEntry& e : files.begin()->second->header().tensors) {
      where[e.name] = shard_names[0];
    }
  } else {
    // No shard may hold tensors the index does not list.
    for (const auto& [file_name, file] : files) {
      for (const SafetensorsEntry& e : file->header().tensors) {
        if (where.find(e.name) == where.end()) {
          return absl::InvalidArgumentError(absl::StrCat(file->path(), " holds tensor ",
                                                         tools::QuoteName(e.name), ", which ",
                                                         index_path, " does not list"));
        }
      }
    }
  }

  const std::vector<Wanted> wanted = WantedTensors(c);
  std::set<std::string> used;
  for (const Wanted& w : wanted) used.insert(w.hf_name);
  for (const auto& [name, file] : where) {
    if (used.count(name) == 0 && !Ignorable(name, c)) {
      return absl::UnimplementedError(
          absl::StrCat("tensor ", tools::QuoteName(name), " in ", JoinPath(folder, file),
                       " is not used by Kite's ", out.hf_.architecture_name,
                       " (a feature Kite does not support?)"));
    }
  }

  for (const Wanted& w : wanted) {
    auto it = where.find(w.hf_name);
    if (it == where.end()) {
      return absl::NotFoundError(absl::StrCat(
          "tensor ", tools::QuoteName(w.hf_name), " is missing: ",
          indexed ? absl::StrCat(index_path, " does not list it")
                  : absl::StrCat(single, " does not hold it"),
          w.kite_name == names::kOutput ? " (config.json says tie_word_embeddings false)" : ""));
    }
    const SafetensorsFile& file = *files.at(it->second);
    const SafetensorsEntry* entry = file.header().Find(w.hf_name);
    if (entry == nullptr) {
      return absl::NotFoundError(absl::StrCat("tensor ", tools::QuoteName(w.hf_name),
                                              " is missing from ", file.path(), " (where ",
                                              index_path, " says it is)"));
    }
    if (entry->shape != w.shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", tools::QuoteName(w.hf_name), " in ", file.path(), " has shape ",
                       ShapeText(entry->shape), " but config.json implies ", ShapeText(w.shape)));
    }
    SourceTensor t;
    t.name = w.kite_name;
    t.shape = w.shape;
    out.tensors_.push_back(std::move(t));
    out.files_->sources.push_back({&file, entry, w.permute_heads});
  }
  return out;
}

absl::Status HfWeights::Load(size_t index, SourceTensor* out) const {
  const Files::Source& src = files_->sources.at(index);
  absl::StatusOr<std::vector<float>> data = src.file->ReadF32(*src.entry);
  if (!data.ok()) return data.status();
  out->name = tensors_[index].name;
  out->shape = tensors_[index].shape;
  out->data = *std::move(data);
  if (src.permute_heads != 0) {
    RotateHalfToInterleaved(out->data.data(), src.permute_heads, hf_.config.head_dim,
                            out->shape.size() == 2 ? out->shape[1] : 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<HfImport> ReadHfModel(const std::string& folder) {
  absl::StatusOr<HfWeights> weights = HfWeights::Open(folder);
  if (!weights.ok()) return weights.status();
  HfImport out;
  out.hf = weights->hf();
  out.weight_files = weights->weight_files();
  out.model.config = weights->hf().config;
  out.model.tensors.resize(weights->tensors().size());
  for (size_t i = 0; i < out.model.tensors.size(); ++i) {
    if (absl::Status s = weights->Load(i, &out.model.tensors[i]); !s.ok()) return s;
  }
  return out;
}

}  // namespace kite::convert
