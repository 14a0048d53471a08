#include "tools/convert/source/hf_config.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kite::convert {
namespace {

// Limits that reject garbage before any size arithmetic (the runtime checks again).
constexpr int64_t kMaxDimension = 1 << 20;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxPositions = 1 << 24;

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A short rendering of a JSON value for error messages.
std::string Show(const json::Value& v) {
  switch (v.type()) {
    case json::Type::kNull: return "null";
    case json::Type::kBool: return v.boolean() ? "true" : "false";
    case json::Type::kNumber: return absl::StrFormat("%.9g", v.number());
    case json::Type::kString: return absl::StrCat("\"", v.str(), "\"");
    case json::Type::kArray: {
      std::string s = "[";
      for (size_t i = 0; i < v.array().size() && i < 4; ++i) {
        absl::StrAppend(&s, i ? ", " : "", Show(v.array()[i]));
      }
      return absl::StrCat(s, v.array().size() > 4 ? ", ...]" : "]");
    }
    case json::Type::kObject: return "{...}";
  }
  return "?";
}

class ConfigReader {
 public:
  ConfigReader(const json::Value& root, absl::string_view file) : root_(root), file_(file) {}

  absl::Status Bad(absl::string_view key, const json::Value& v, absl::string_view want) const {
    return absl::InvalidArgumentError(absl::StrCat(file_, ": \"", key, "\" is ", Show(v),
                                                   "; expected ", want));
  }
  absl::Status Unsupported(absl::string_view key, const json::Value& v,
                           absl::string_view why) const {
    return absl::UnimplementedError(
        absl::StrCat(file_, ": \"", key, "\": ", Show(v), " is not supported (", why, ")"));
  }

  // A positive integer in [1, max]; `fallback` when absent or null (0: required).
  absl::Status Int(absl::string_view key, int64_t max, int64_t fallback, uint32_t* out) const {
    const json::Value* v = root_.Find(std::string(key));
    if (v == nullptr || v->is_null()) {
      if (fallback == 0) {
        return absl::InvalidArgumentError(absl::StrCat(file_, ": \"", key, "\" is missing"));
      }
      *out = static_cast<uint32_t>(fallback);
      return absl::OkStatus();
    }
    int64_t i = 0;
    if (!v->GetInt64(&i) || i < 1 || i > max) {
      return Bad(key, *v, absl::StrCat("an integer in [1, ", max, "]"));
    }
    *out = static_cast<uint32_t>(i);
    return absl::OkStatus();
  }

  absl::Status Float(absl::string_view key, double fallback, bool positive, float* out) const {
    const json::Value* v = root_.Find(std::string(key));
    if (v == nullptr || v->is_null()) {
      *out = static_cast<float>(fallback);
      return absl::OkStatus();
    }
    if (!v->is_number() || !std::isfinite(static_cast<float>(v->number())) ||
        (positive ? v->number() <= 0 : v->number() < 0)) {
      return Bad(key, *v, positive ? "a positive number" : "a non-negative number");
    }
    *out = static_cast<float>(v->number());
    return absl::OkStatus();
  }

  absl::Status Bool(absl::string_view key, bool fallback, bool* out) const {
    const json::Value* v = root_.Find(std::string(key));
    if (v == nullptr || v->is_null()) {
      *out = fallback;
      return absl::OkStatus();
    }
    if (!v->is_bool()) return Bad(key, *v, "true or false");
    *out = v->boolean();
    return absl::OkStatus();
  }

  const json::Value* Find(absl::string_view key) const { return root_.Find(std::string(key)); }

 private:
  const json::Value& root_;
  std::string file_;
};

// Token ids given as an int, a list of ints, or null.
absl::Status ReadIds(const json::Value& root, absl::string_view key, absl::string_view file,
                     std::vector<int32_t>* out) {
  const json::Value* v = root.Find(std::string(key));
  if (v == nullptr || v->is_null()) return absl::OkStatus();
  const auto one = [&](const json::Value& e) -> absl::Status {
    int64_t id = 0;
    if (!e.GetInt64(&id) || id < 0 || id >= kMaxVocab) {
      return absl::InvalidArgumentError(absl::StrCat(file, ": \"", key, "\" is ", Show(*v),
                                                     "; expected token ids"));
    }
    for (int32_t existing : *out) {
      if (existing == id) return absl::OkStatus();
    }
    out->push_back(static_cast<int32_t>(id));
    return absl::OkStatus();
  };
  if (v->is_array()) {
    for (const json::Value& e : v->array()) {
      if (absl::Status s = one(e); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  return one(*v);
}

absl::Status ApplyIds(const json::Value& root, absl::string_view file, HfTokenHints* hints) {
  std::vector<int32_t> bos;
  if (absl::Status s = ReadIds(root, "bos_token_id", file, &bos); !s.ok()) return s;
  if (!bos.empty()) hints->bos_id = bos[0];
  return ReadIds(root, "eos_token_id", file, &hints->eos_ids);
}

// A special token given as a string or as {"content": "..."} (AddedToken).
std::string TokenText(const json::Value* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return v->str();
  if (v->is_object()) {
    const json::Value* content = v->Find("content");
    if (content != nullptr && content->is_string()) return content->str();
  }
  return "";
}

absl::StatusOr<json::Value> ParseOptional(const std::string& path, bool* present) {
  *present = FileExists(path);
  if (!*present) return json::Value();
  return json::ParseFile(path);
}

}  // namespace

std::string JoinPath(const std::string& folder, const std::string& name) {
  if (folder.empty()) return name;
  return folder.back() == '/' ? folder + name : folder + "/" + name;
}

absl::StatusOr<HfConfig> ParseHfConfig(const json::Value& root, absl::string_view file) {
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": the top level is not an object"));
  }
  const ConfigReader r(root, file);
  HfConfig out;
  SourceConfig& c = out.config;

  // The class, from "architectures" (or, when absent, "model_type").
  const json::Value* archs = r.Find("architectures");
  if (archs != nullptr && !archs->is_null()) {
    if (!archs->is_array() || archs->array().size() != 1 || !archs->array()[0].is_string()) {
      return r.Bad("architectures", *archs, "a list with one class name");
    }
    out.architecture_name = archs->array()[0].str();
  } else {
    const json::Value* type = r.Find("model_type");
    if (type == nullptr || !type->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": neither \"architectures\" nor \"model_type\" is given"));
    }
    out.architecture_name = type->str() == "llama"   ? "LlamaForCausalLM"
                            : type->str() == "qwen2" ? "Qwen2ForCausalLM"
                                                     : type->str();
  }
  if (out.architecture_name == "LlamaForCausalLM") {
    out.architecture = HfArchitecture::kLlama;
  } else if (out.architecture_name == "Qwen2ForCausalLM") {
    out.architecture = HfArchitecture::kQwen2;
  } else {
    return absl::UnimplementedError(absl::StrCat(
        file, ": \"architectures\": \"", out.architecture_name,
        "\" is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM)"));
  }
  c.architecture = "llama";

  absl::Status s;
  if (!(s = r.Int("hidden_size", kMaxDimension, 0, &c.dim)).ok()) return s;
  if (!(s = r.Int("intermediate_size", kMaxDimension * 8, 0, &c.hidden_dim)).ok()) return s;
  if (!(s = r.Int("num_hidden_layers", 4096, 0, &c.n_layers)).ok()) return s;
  if (!(s = r.Int("num_attention_heads", 4096, 0, &c.n_heads)).ok()) return s;
  if (!(s = r.Int("num_key_value_heads", 4096, c.n_heads, &c.n_kv_heads)).ok()) return s;
  if (!(s = r.Int("vocab_size", kMaxVocab, 0, &c.vocab_size)).ok()) return s;
  if (!(s = r.Int("max_position_embeddings", kMaxPositions, 0, &c.max_seq_len)).ok()) return s;
  const json::Value* head_dim = r.Find("head_dim");
  if (head_dim == nullptr || head_dim->is_null()) {
    if (c.dim % c.n_heads != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": \"hidden_size\" ", c.dim, " is not a multiple of \"num_attention_heads\" ",
          c.n_heads, " (and no \"head_dim\" is given)"));
    }
    c.head_dim = c.dim / c.n_heads;
  } else if (!(s = r.Int("head_dim", 1024, 0, &c.head_dim)).ok()) {
    return s;
  }
  if (c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": head size ", c.head_dim, " is odd (RoPE rotates pairs)"));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": \"num_attention_heads\" ", c.n_heads,
        " is not a multiple of \"num_key_value_heads\" ", c.n_kv_heads));
  }
  if (!(s = r.Float("rms_norm_eps", 1e-6, false, &c.norm_eps)).ok()) return s;
  if (!(s = r.Float("rope_theta", 10000.0, true, &c.rope_theta)).ok()) return s;
  if (!(s = r.Bool("tie_word_embeddings", false, &c.tied_embeddings)).ok()) return s;

  if (const json::Value* act = r.Find("hidden_act"); act != nullptr && !act->is_null()) {
    if (!act->is_string() || act->str() != "silu") {
      return r.Unsupported("hidden_act", *act, "Kite's feed-forward is SwiGLU with silu");
    }
  }
  bool attention_bias = false, mlp_bias = false;
  if (!(s = r.Bool("attention_bias", false, &attention_bias)).ok()) return s;
  if (!(s = r.Bool("mlp_bias", false, &mlp_bias)).ok()) return s;
  if (mlp_bias) {
    return r.Unsupported("mlp_bias", *r.Find("mlp_bias"), "no biases in the feed-forward");
  }
  if (out.architecture == HfArchitecture::kLlama && attention_bias) {
    return r.Unsupported("attention_bias", *r.Find("attention_bias"),
                         "Llama with attention biases also biases o_proj, which Kite lacks");
  }
  // Qwen2 always has q/k/v biases (and none on o_proj).
  c.attention_bias = out.architecture == HfArchitecture::kQwen2;
  if (const json::Value* sw = r.Find("use_sliding_window"); sw != nullptr && sw->boolean()) {
    return r.Unsupported("use_sliding_window", *sw, "Kite attends to the whole context");
  }
  if (const json::Value* prf = r.Find("partial_rotary_factor");
      prf != nullptr && !prf->is_null() && prf->number() != 1.0) {
    return r.Unsupported("partial_rotary_factor", *prf, "RoPE covers the whole head");
  }

  const json::Value* scaling = r.Find("rope_scaling");
  if (scaling != nullptr && !scaling->is_null()) {
    if (!scaling->is_object()) return r.Bad("rope_scaling", *scaling, "null or an object");
    const json::Value* type = scaling->Find("rope_type");
    if (type == nullptr) type = scaling->Find("type");
    if (type == nullptr || !type->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": \"rope_scaling\" has no \"rope_type\" (or \"type\") string"));
    }
    if (type->str() == "llama3") {
      c.rope_scaling = SourceConfig::RopeScaling::kLlama3;
      const ConfigReader sr(*scaling, absl::StrCat(file, ": rope_scaling"));
      for (const char* key :
           {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
        if (scaling->Find(key) == nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat(file, ": \"rope_scaling\" of type \"llama3\" needs \"", key, "\""));
        }
      }
      if (!(s = sr.Float("factor", 1.0, true, &c.rope_scaling_factor)).ok()) return s;
      if (!(s = sr.Float("low_freq_factor", 1.0, true, &c.rope_low_freq_factor)).ok()) return s;
      if (!(s = sr.Float("high_freq_factor", 4.0, true, &c.rope_high_freq_factor)).ok()) return s;
      if (!(s = sr.Int("original_max_position_embeddings", kMaxPositions, 0,
                       &c.rope_original_max_seq_len)).ok()) {
        return s;
      }
      if (!(c.rope_high_freq_factor > c.rope_low_freq_factor)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: \"rope_scaling\": high_freq_factor %g must be larger than low_freq_factor %g",
            std::string(file), c.rope_high_freq_factor, c.rope_low_freq_factor));
      }
    } else if (type->str() != "default") {
      return r.Unsupported("rope_scaling", *type,
                           "supported rope_scaling types: \"llama3\", \"default\"");
    }
  }
  if (absl::Status ids = ApplyIds(root, file, &out.hints); !ids.ok()) return ids;
  return out;
}

absl::Status ApplyGenerationConfig(const json::Value& generation, absl::string_view file,
                                   HfTokenHints* hints) {
  if (!generation.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": the top level is not an object"));
  }
  return ApplyIds(generation, file, hints);
}

absl::Status ApplyTokenizerConfig(const json::Value& tc, absl::string_view file,
                                  HfTokenHints* hints) {
  if (!tc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": the top level is not an object"));
  }
  if (std::string bos = TokenText(tc.Find("bos_token")); !bos.empty()) hints->bos_token = bos;
  if (std::string eos = TokenText(tc.Find("eos_token")); !eos.empty()) hints->eos_token = eos;
  const json::Value* tmpl = tc.Find("chat_template");
  if (tmpl == nullptr || tmpl->is_null()) return absl::OkStatus();
  if (tmpl->is_string()) {
    hints->chat_template = tmpl->str();
    return absl::OkStatus();
  }
  if (tmpl->is_array()) {
    const json::Value* chosen = nullptr;
    for (const json::Value& e : tmpl->array()) {
      const json::Value* name = e.Find("name");
      const json::Value* text = e.Find("template");
      if (text == nullptr || !text->is_string()) continue;
      if (chosen == nullptr || (name != nullptr && name->str() == "default")) chosen = text;
    }
    if (chosen != nullptr) {
      hints->chat_template = chosen->str();
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      file, ": \"chat_template\" is neither a string nor a list of {name, template}"));
}

const std::vector<std::string>& EndOfTurnPieces() {
  static const std::vector<std::string> pieces = {"<|eot_id|>", "<|im_end|>", "<|end|>",
                                                  "<end_of_turn>", "</s>"};
  return pieces;
}

void ApplyTokenHints(const HfTokenHints& hints, TokenizerTables* t,
                     std::vector<std::string>* warnings) {
  const int32_t vocab = static_cast<int32_t>(t->pieces.size());
  const auto add_stop = [&](int32_t id) {
    for (int32_t s : t->stop_ids) {
      if (s == id) return;
    }
    t->stop_ids.push_back(id);
  };
  const auto find_piece = [&](const std::string& text) -> int32_t {
    for (int32_t i = 0; i < vocab; ++i) {
      if (t->pieces[i] == text) return i;
    }
    return -1;
  };
  // config.json names a bos_token_id even for models that never start with BOS (Qwen2.5
  // names <|endoftext|>); only tokenizers that use BOS take it.
  if (hints.bos_id >= 0 && t->add_bos) {
    if (hints.bos_id < vocab) {
      t->bos_id = hints.bos_id;
    } else {
      warnings->push_back(absl::StrCat("bos_token_id ", hints.bos_id, " is outside the ", vocab,
                                       "-token vocabulary; keeping ", t->bos_id));
    }
  }
  bool first = true;
  for (int32_t id : hints.eos_ids) {
    if (id >= vocab) {
      warnings->push_back(absl::StrCat("eos_token_id ", id, " is outside the ", vocab,
                                       "-token vocabulary; ignored"));
      continue;
    }
    if (first) t->eos_id = id;
    first = false;
    add_stop(id);
  }
  if (!hints.eos_token.empty()) {
    const int32_t id = find_piece(hints.eos_token);
    if (id >= 0) {
      add_stop(id);
      if (first) t->eos_id = id;
    }
  }
  for (const std::string& piece : EndOfTurnPieces()) {
    const int32_t id = find_piece(piece);
    if (id >= 0) add_stop(id);
  }
  t->Finalize();
}

absl::StatusOr<HfConfig> ReadHfConfig(const std::string& folder) {
  const std::string config_path = JoinPath(folder, "config.json");
  absl::StatusOr<json::Value> config = json::ParseFile(config_path);
  if (!config.ok()) return config.status();
  absl::StatusOr<HfConfig> hf = ParseHfConfig(*config, config_path);
  if (!hf.ok()) return hf.status();

  bool present = false;
  const std::string gen_path = JoinPath(folder, "generation_config.json");
  absl::StatusOr<json::Value> gen = ParseOptional(gen_path, &present);
  if (!gen.ok()) return gen.status();
  if (present) {
    if (absl::Status s = ApplyGenerationConfig(*gen, gen_path, &hf->hints); !s.ok()) return s;
  }
  const std::string tc_path = JoinPath(folder, "tokenizer_config.json");
  absl::StatusOr<json::Value> tc = ParseOptional(tc_path, &present);
  if (!tc.ok()) return tc.status();
  if (present) {
    if (absl::Status s = ApplyTokenizerConfig(*tc, tc_path, &hf->hints); !s.ok()) return s;
  }
  return hf;
}

}  // namespace kite::convert
