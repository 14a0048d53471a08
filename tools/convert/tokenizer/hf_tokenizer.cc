#include "tools/convert/tokenizer/hf_tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sdk/runtime/tokenizer/normalize.h"
#include "tools/common/quote_name.h"
#include "tools/convert/tokenizer/byte_level.h"
#include "tools/convert/tokenizer/split_rules.h"

namespace kite::convert {
namespace {

constexpr int64_t kMaxVocab = int64_t{1} << 22;
// At or below llama2.c's no-merge floor (-1e10): pieces that no merge makes never merge.
constexpr float kNeverMerges = -1e10f;
constexpr char kMetaSpace[] = "\xE2\x96\x81";  // U+2581

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
std::string Join(const std::string& folder, const std::string& name) {
  return folder.empty() || folder.back() == '/' ? folder + name : folder + "/" + name;
}

// The "type" of a JSON object, or "".
std::string TypeOf(const json::Value* v) {
  if (v == nullptr || !v->is_object()) return "";
  const json::Value* t = v->Find("type");
  return t != nullptr && t->is_string() ? t->str() : "";
}

bool BoolField(const json::Value& v, const char* key, bool fallback) {
  const json::Value* f = v.Find(key);
  return f != nullptr && f->is_bool() ? f->boolean() : fallback;
}

// A special-token entry of tokenizer_config.json: "<s>" or {"content": "<s>", ...}.
std::string TokenContent(const json::Value* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return v->str();
  if (v->is_object()) {
    const json::Value* c = v->Find("content");
    if (c != nullptr && c->is_string()) return c->str();
  }
  return "";
}

// Hugging Face's Punctuation pre-tokenizer: Unicode P and the ASCII punctuation Rust counts.
constexpr char kPunctuationRegex[] = R"([\p{P}!-/:-@\[-`{-~])";

// A tokenizer.json Split `behavior` value.
absl::StatusOr<SplitBehavior> BehaviorOf(const json::Value& p, const std::string& path,
                                         SplitBehavior fallback) {
  const json::Value* b = p.Find("behavior");
  if (b == nullptr || b->is_null()) return fallback;
  const std::pair<const char*, SplitBehavior> names[] = {
      {"Isolated", SplitBehavior::ISOLATED},
      {"Removed", SplitBehavior::REMOVED},
      {"MergedWithPrevious", SplitBehavior::MERGED_WITH_PREVIOUS},
      {"MergedWithNext", SplitBehavior::MERGED_WITH_NEXT},
      {"Contiguous", SplitBehavior::CONTIGUOUS}};
  for (const auto& [name, value] : names) {
    if (b->is_string() && b->str() == name) return value;
  }
  return absl::UnimplementedError(absl::StrCat(
      path, ".behavior: ", b->is_string() ? tools::QuoteName(b->str()) : "a non-string",
      " is not a supported Split behavior (Isolated, Removed, MergedWithPrevious, "
      "MergedWithNext, Contiguous)"));
}

// `text` as a regular expression matching it literally.
std::string QuoteRegex(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::strchr("\\^$.|?*+()[]{}-", c) != nullptr) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Appends the split stages of the pre_tokenizer object `pre` (at JSON path `path`) to
// *stages; sets *byte_level when it holds a ByteLevel, and *prefix_stage to the index of the
// stage its add_prefix_space applies before (Hugging Face prepends a space to every piece
// reaching the ByteLevel that does not start with one; its own regex split comes after).
absl::Status AddSplitStages(const json::Value& pre, const std::string& path,
                            std::vector<SplitStageSource>* stages, bool* byte_level,
                            int* prefix_stage) {
  const std::string type = TypeOf(&pre);
  if (type == "ByteLevel") {
    if (BoolField(pre, "add_prefix_space", false)) {
      if (*prefix_stage >= 0) {
        return absl::UnimplementedError(
            absl::StrCat(path, ": a second ByteLevel with add_prefix_space is not supported"));
      }
      *prefix_stage = static_cast<int>(stages->size());
    }
    *byte_level = true;
    if (BoolField(pre, "use_regex", true)) stages->push_back({kGpt2SplitRegex});
    return absl::OkStatus();
  }
  if (type == "Split") {
    const json::Value* pattern = pre.Find("pattern");
    const json::Value* regex = pattern != nullptr ? pattern->Find("Regex") : nullptr;
    const json::Value* literal = pattern != nullptr ? pattern->Find("String") : nullptr;
    SplitStageSource stage;
    if (regex != nullptr && regex->is_string()) {
      stage.pattern = regex->str();
    } else if (literal != nullptr && literal->is_string() && !literal->str().empty()) {
      stage.pattern = QuoteRegex(literal->str());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".pattern: a Split needs a Regex or a non-empty String"));
    }
    absl::StatusOr<SplitBehavior> behavior =
        BehaviorOf(pre, path, SplitBehavior::ISOLATED);
    if (!behavior.ok()) return behavior.status();
    stage.behavior = *behavior;
    stage.invert = BoolField(pre, "invert", false);
    stages->push_back(std::move(stage));
    return absl::OkStatus();
  }
  if (type == "Digits") {
    stages->push_back({BoolField(pre, "individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)"});
    return absl::OkStatus();
  }
  if (type == "Punctuation") {
    absl::StatusOr<SplitBehavior> behavior = BehaviorOf(pre, path, SplitBehavior::ISOLATED);
    if (!behavior.ok()) return behavior.status();
    stages->push_back({kPunctuationRegex, *behavior, false});
    return absl::OkStatus();
  }
  if (type == "Sequence") {
    const json::Value* list = pre.Find("pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": a Sequence has no pretokenizers"));
    }
    for (size_t i = 0; i < list->array().size(); ++i) {
      absl::Status s = AddSplitStages(list->array()[i],
                                      absl::StrCat(path, ".pretokenizers[", i, "]"), stages,
                                      byte_level, prefix_stage);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  return absl::UnimplementedError(absl::StrCat(
      path, ": pre-tokenizer ", tools::QuoteName(type),
      " is not supported for byte-level BPE (supported: ByteLevel, Split, Digits, Punctuation, "
      "Sequence)"));
}

// How the byte-level pre-tokenizer splits, from the pre_tokenizer object; *prefix_stage as
// AddSplitStages sets it (-1: no add_prefix_space).
absl::StatusOr<PreTokenizerChoice> ByteLevelSplit(const json::Value& pre, const std::string& where,
                                                  int* prefix_stage) {
  const std::string path = where + ": pre_tokenizer";
  std::vector<SplitStageSource> stages;
  bool byte_level = false;
  *prefix_stage = -1;
  absl::Status s = AddSplitStages(pre, path, &stages, &byte_level, prefix_stage);
  if (!s.ok()) return s;
  if (!byte_level) {
    return absl::UnimplementedError(
        absl::StrCat(path, ": byte-level BPE needs a ByteLevel pre-tokenizer"));
  }
  // The built-in splitters are one stage to the runtime: a prefix space after a first
  // stage needs the compiled stages.
  absl::StatusOr<PreTokenizerChoice> choice = ChoosePreTokenizer(stages, *prefix_stage <= 0);
  if (!choice.ok()) {
    return absl::Status(choice.status().code(),
                        absl::StrCat(path, ": ", choice.status().message()));
  }
  return choice;
}

// The literal text a Replace `pattern` ({"String": ...} or {"Regex": ...}) stands for: a
// String as it is, a Regex only when it is literal (no metacharacter; "\." and the like
// are escaped punctuation). Refuses anything else naming it.
absl::StatusOr<std::string> ReplacePattern(const json::Value& step, const std::string& path) {
  const json::Value* pattern = step.Find("pattern");
  const json::Value* literal = pattern != nullptr ? pattern->Find("String") : nullptr;
  const json::Value* regex = pattern != nullptr ? pattern->Find("Regex") : nullptr;
  if (literal != nullptr && literal->is_string()) return literal->str();
  if (regex == nullptr || !regex->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".pattern: a Replace needs a String or a Regex"));
  }
  std::string out;
  const std::string& r = regex->str();
  for (size_t i = 0; i < r.size(); ++i) {
    const char c = r[i];
    if (c == '\\' && i + 1 < r.size() && std::ispunct(static_cast<unsigned char>(r[i + 1]))) {
      out.push_back(r[++i]);
    } else if (std::strchr("\\^$.|?*+()[]{}", c) != nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          path, ".pattern: a Replace with the Regex ", tools::QuoteName(r),
          " is not supported (only literal patterns; '", std::string(1, c), "' at byte ", i,
          ")"));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Appends the steps of a byte-level tokenizer's `normalizer` (at JSON path `path`) to *steps,
// flattening Sequences. Refuses any other normalizer, or a step's bad field, naming it and
// its path.
absl::Status AddNormalizerSteps(const json::Value* n, const std::string& path,
                                std::vector<NormalizerStepTables>* steps) {
  if (n == nullptr || n->is_null()) return absl::OkStatus();
  const std::string type = TypeOf(n);
  if (type == "Sequence") {
    const json::Value* list = n->Find("normalizers");
    if (list == nullptr || !list->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a Sequence normalizer without a normalizers array"));
    }
    for (size_t i = 0; i < list->array().size(); ++i) {
      absl::Status s = AddNormalizerSteps(&list->array()[i],
                                          absl::StrCat(path, ".normalizers[", i, "]"), steps);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  const std::pair<const char*, NormalizerStepKind> kinds[] = {
      {"NFC", NormalizerStepKind::NFC},           {"NFKC", NormalizerStepKind::NFKC},
      {"NFD", NormalizerStepKind::NFD},           {"NFKD", NormalizerStepKind::NFKD},
      {"Lowercase", NormalizerStepKind::LOWERCASE}, {"Strip", NormalizerStepKind::STRIP},
      {"Replace", NormalizerStepKind::REPLACE},   {"Prepend", NormalizerStepKind::PREPEND}};
  NormalizerStepTables step;
  bool known = false;
  for (const auto& [name, kind] : kinds) {
    if (type == name) {
      step.kind = kind;
      known = true;
    }
  }
  if (!known) {
    return absl::UnimplementedError(absl::StrCat(
        path, ": a normalizer with byte-level BPE is not supported (",
        tools::QuoteName(type.empty() ? std::string("(no type)") : type),
        "; supported: NFC, NFKC, NFD, NFKD, Lowercase, Strip, Replace, Prepend, and Sequence "
        "of them)"));
  }
  step.name = type;
  const auto too_long = [&](const char* field, const std::string& text) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ".", field, ": ", text.size(), " bytes, more than the ", kMaxNormalizerText,
        " Kite stores"));
  };
  if (step.kind == NormalizerStepKind::STRIP) {
    step.strip_left = BoolField(*n, "strip_left", false);
    step.strip_right = BoolField(*n, "strip_right", false);
    if (!step.strip_left && !step.strip_right) return absl::OkStatus();  // does nothing
  } else if (step.kind == NormalizerStepKind::REPLACE) {
    absl::StatusOr<std::string> pattern = ReplacePattern(*n, path);
    if (!pattern.ok()) return pattern.status();
    const json::Value* content = n->Find("content");
    if (content == nullptr || !content->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".content: a Replace needs a string"));
    }
    if (pattern->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".pattern: a Replace with an empty pattern"));
    }
    if (pattern->size() > kMaxNormalizerText) return too_long("pattern", *pattern);
    if (content->str().size() > kMaxNormalizerText) return too_long("content", content->str());
    step.pattern = *pattern;
    step.content = content->str();
  } else if (step.kind == NormalizerStepKind::PREPEND) {
    const json::Value* prepend = n->Find("prepend");
    if (prepend == nullptr || !prepend->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".prepend: a Prepend needs a string"));
    }
    if (prepend->str().empty()) return absl::OkStatus();  // does nothing
    if (prepend->str().size() > kMaxNormalizerText) return too_long("prepend", prepend->str());
    step.content = prepend->str();
  }
  steps->push_back(std::move(step));
  return absl::OkStatus();
}

// The normalization of a byte-level tokenizer: `legacy` NFC / NFKC alone when every step is
// NFC or NFKC (NFKC's output is already NFC, so a sequence of them is one form; files stay
// readable by runtimes without pipelines), else PIPELINE with the steps.
struct ByteLevelNormalization {
  NormalizerType legacy = NormalizerType::NONE;
  std::vector<NormalizerStepTables> steps;
};

// Most a pipeline may grow a text: a larger bound (e.g. Replace "a" by 64 bytes after NFKC)
// would make the id buffers Kite sizes from it (Tokenizer::CapacityFor) absurd.
constexpr size_t kMaxPipelineGrowth = 64;

absl::StatusOr<ByteLevelNormalization> ByteLevelNormalizer(const json::Value* n,
                                                           const std::string& path) {
  ByteLevelNormalization out;
  absl::Status s = AddNormalizerSteps(n, path, &out.steps);
  if (!s.ok()) return s;
  bool forms_only = true;
  for (const NormalizerStepTables& step : out.steps) {
    if (step.kind == NormalizerStepKind::NFKC) {
      out.legacy = NormalizerType::NFKC;
    } else if (step.kind == NormalizerStepKind::NFC) {
      if (out.legacy == NormalizerType::NONE) out.legacy = NormalizerType::NFC;
    } else {
      forms_only = false;
    }
  }
  if (forms_only) {
    out.steps.clear();
    return out;
  }
  out.legacy = NormalizerType::PIPELINE;
  if (out.steps.size() > kMaxNormalizerSteps) {
    return absl::UnimplementedError(absl::StrCat(path, ": ", out.steps.size(),
                                                 " normalizer steps, more than the ",
                                                 kMaxNormalizerSteps, " Kite applies"));
  }
  // The growth bound, for a large text (Prepend adds a constant).
  std::vector<NormalizerStep> view(out.steps.size());
  for (size_t i = 0; i < view.size(); ++i) {
    view[i].kind = out.steps[i].kind;
    view[i].pattern_size = out.steps[i].pattern.size();
    view[i].content_size = out.steps[i].content.size();
  }
  constexpr size_t kProbe = size_t{1} << 20;
  const size_t bound =
      NormalizerPipelineBound(view.data(), static_cast<uint32_t>(view.size()), kProbe);
  if (bound > kMaxPipelineGrowth * kProbe) {
    return absl::UnimplementedError(absl::StrCat(
        path, ": the normalizer can grow a text more than ", kMaxPipelineGrowth,
        " times (bound: ", bound / kProbe, "x), which Kite refuses"));
  }
  return out;
}

// The normalization of `text` by `norm`, as the runtime applies it.
std::string NormalizeForCheck(const ByteLevelNormalization& norm, const std::string& text) {
  std::vector<NormalizerStep> steps;
  if (norm.legacy == NormalizerType::NFC || norm.legacy == NormalizerType::NFKC) {
    NormalizerStep s;
    s.kind = norm.legacy == NormalizerType::NFC ? NormalizerStepKind::NFC
                                                 : NormalizerStepKind::NFKC;
    steps.push_back(s);
  }
  for (const NormalizerStepTables& from : norm.steps) steps.push_back(from.View());
  std::string cur = text;
  for (const NormalizerStep& s : steps) {
    std::string next(ApplyNormalizerStep(s, cur.data(), cur.size(), nullptr, 0), '\0');
    ApplyNormalizerStep(s, cur.data(), cur.size(), next.data(), next.size());
    cur = std::move(next);
  }
  return cur;
}

// True when the normalizer / pre_tokenizer spell spaces as U+2581 (SentencePiece style),
// and whether a U+2581 is prepended to the text.
bool IsMetaspaceStyle(const json::Value* normalizer, const json::Value* pre, bool* prepend) {
  *prepend = false;
  bool meta = false;
  const auto visit_normalizer = [&](const json::Value& n) {
    const std::string t = TypeOf(&n);
    if (t == "Prepend") {
      const json::Value* p = n.Find("prepend");
      if (p != nullptr && p->is_string() && p->str() == kMetaSpace) *prepend = true;
    } else if (t == "Replace") {
      const json::Value* c = n.Find("content");
      if (c != nullptr && c->is_string() && c->str() == kMetaSpace) meta = true;
    }
  };
  if (TypeOf(normalizer) == "Sequence") {
    const json::Value* list = normalizer->Find("normalizers");
    if (list != nullptr) {
      for (const json::Value& n : list->array()) visit_normalizer(n);
    }
  } else if (normalizer != nullptr && normalizer->is_object()) {
    visit_normalizer(*normalizer);
  }
  if (TypeOf(pre) == "Metaspace") {
    meta = true;
    const json::Value* scheme = pre->Find("prepend_scheme");
    if (scheme != nullptr && scheme->is_string()) {
      *prepend = scheme->str() != "never";
    } else {
      *prepend = BoolField(*pre, "add_prefix_space", true);
    }
  }
  return meta;
}

// Whether the post_processor adds BOS first (a TemplateProcessing whose "single" starts with
// a special token).
bool PostProcessorAddsBos(const json::Value* post, std::string* bos_content) {
  if (post == nullptr || !post->is_object()) return false;
  const std::string t = TypeOf(post);
  if (t == "Sequence") {
    const json::Value* list = post->Find("processors");
    if (list == nullptr) return false;
    for (const json::Value& p : list->array()) {
      if (PostProcessorAddsBos(&p, bos_content)) return true;
    }
    return false;
  }
  if (t != "TemplateProcessing") return false;
  const json::Value* single = post->Find("single");
  if (single == nullptr || !single->is_array() || single->array().empty()) return false;
  const json::Value* special = single->array()[0].Find("SpecialToken");
  if (special == nullptr) return false;
  const json::Value* id = special->Find("id");
  if (id != nullptr && id->is_string()) *bos_content = id->str();
  return true;
}

}  // namespace

absl::StatusOr<TokenizerTables> HfTokenizerFromJson(const json::Value& doc,
                                                    const json::Value* config,
                                                    const std::string& where) {
  if (!doc.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
  const json::Value* model = doc.Find("model");
  if (model == nullptr || !model->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": no \"model\" object"));
  }
  const std::string model_type = TypeOf(model);
  if (model_type != "BPE") {
    return absl::UnimplementedError(absl::StrCat(
        where, ": model type ", tools::QuoteName(model_type), " is not supported (only BPE)"));
  }
  const json::Value* vocab = model->Find("vocab");
  if (vocab == nullptr || !vocab->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": model.vocab is not an object"));
  }

  // Every id, from the vocabulary and the added tokens.
  std::vector<std::string> pieces;
  std::vector<bool> filled;
  std::vector<uint8_t> types;
  const auto place = [&](const std::string& piece, const json::Value& id_value, uint8_t type,
                         const char* what) -> absl::Status {
    int64_t id = 0;
    if (!id_value.GetInt64(&id) || id < 0 || id >= kMaxVocab) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", what, " ", tools::QuoteName(piece), " has an invalid id (0..",
                       kMaxVocab - 1, ")"));
    }
    if (static_cast<size_t>(id) >= pieces.size()) {
      pieces.resize(id + 1);
      filled.resize(id + 1, false);
      types.resize(id + 1, static_cast<uint8_t>(TokenType::UNUSED));
    }
    if (filled[id] && pieces[id] != piece) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: id %d is used by both %s and %s",
                                                        where, id, tools::QuoteName(pieces[id]),
                                                        tools::QuoteName(piece)));
    }
    pieces[id] = piece;
    filled[id] = true;
    types[id] = type;
    return absl::OkStatus();
  };
  for (const auto& [piece, id] : vocab->object()) {
    if (absl::Status s = place(piece, id, static_cast<uint8_t>(TokenType::NORMAL), "token");
        !s.ok()) {
      return s;
    }
  }
  std::vector<std::pair<std::string, int32_t>> special_tokens;
  // Non-special added tokens, matched in the text: content, id, and Hugging Face's
  // `normalized` (true: matched in the normalized text, false: in the raw text).
  struct UserToken {
    std::string content;
    int32_t id;
    bool normalized;
  };
  std::vector<UserToken> user_tokens;
  if (const json::Value* added = doc.Find("added_tokens"); added != nullptr && added->is_array()) {
    for (const json::Value& a : added->array()) {
      const json::Value* content = a.Find("content");
      const json::Value* id = a.Find("id");
      if (content == nullptr || !content->is_string() || id == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": an added_tokens entry lacks content or id"));
      }
      const bool special = BoolField(a, "special", false);
      const uint8_t type =
          static_cast<uint8_t>(special ? TokenType::CONTROL : TokenType::USER_DEFINED);
      if (absl::Status s = place(content->str(), *id, type, "added token"); !s.ok()) return s;
      int64_t v = 0;
      id->GetInt64(&v);
      special_tokens.emplace_back(content->str(), static_cast<int32_t>(v));
      if (!special) {
        user_tokens.push_back(
            {content->str(), static_cast<int32_t>(v), BoolField(a, "normalized", true)});
      }
    }
  }
  if (pieces.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty vocabulary"));
  size_t holes = 0;
  for (bool f : filled) holes += !f;
  if (holes > 0) {
    std::fprintf(stderr, "warning: %s: %zu ids have no token; they become unused pieces\n",
                 where.c_str(), holes);
  }

  // Merges in rank order: "left right" or ["left", "right"].
  std::vector<std::pair<std::string, std::string>> merges;
  if (const json::Value* list = model->Find("merges"); list != nullptr) {
    if (!list->is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": model.merges is not an array"));
    }
    merges.reserve(list->array().size());
    for (size_t i = 0; i < list->array().size(); ++i) {
      const json::Value& m = list->array()[i];
      if (m.is_string()) {
        const size_t space = m.str().find(' ', 1);
        if (space == std::string::npos) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: model.merges[%d] = \"%s\" is not \"left right\"", where, i, m.str()));
        }
        merges.emplace_back(m.str().substr(0, space), m.str().substr(space + 1));
      } else if (m.is_array() && m.array().size() == 2 && m.array()[0].is_string() &&
                 m.array()[1].is_string()) {
        merges.emplace_back(m.array()[0].str(), m.array()[1].str());
      } else {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: model.merges[%d] is neither \"left right\" nor [left, right]", where, i));
      }
    }
  }

  // Special ids: tokenizer_config.json, else well-known spellings.
  const auto id_of = [&](const std::string& content) -> int32_t {
    if (content.empty()) return -1;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (filled[i] && pieces[i] == content) return static_cast<int32_t>(i);
    }
    return -1;
  };
  const auto first_of = [&](std::initializer_list<const char*> names) -> int32_t {
    for (const char* n : names) {
      const int32_t id = id_of(n);
      if (id >= 0) return id;
    }
    return -1;
  };
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos_known = false, add_bos = false;
  if (config != nullptr && config->is_object()) {
    bos = id_of(TokenContent(config->Find("bos_token")));
    eos = id_of(TokenContent(config->Find("eos_token")));
    unk = id_of(TokenContent(config->Find("unk_token")));
    if (const json::Value* a = config->Find("add_bos_token"); a != nullptr && a->is_bool()) {
      add_bos_known = true;
      add_bos = a->boolean();
    }
  }
  if (bos < 0) bos = first_of({"<s>", "<|begin_of_text|>"});
  if (eos < 0) eos = first_of({"</s>", "<|end_of_text|>", "<|endoftext|>"});
  if (unk < 0) {
    const json::Value* u = model->Find("unk_token");
    unk = u != nullptr && u->is_string() ? id_of(u->str()) : -1;
  }
  std::string template_bos;
  const bool post_adds_bos = PostProcessorAddsBos(doc.Find("post_processor"), &template_bos);
  std::vector<int32_t> stop_ids;
  if (eos >= 0) stop_ids.push_back(eos);
  for (const char* name : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|eom_id|>"}) {
    for (const auto& [content, id] : special_tokens) {
      if (content == name && std::find(stop_ids.begin(), stop_ids.end(), id) == stop_ids.end()) {
        stop_ids.push_back(id);
      }
    }
  }

  const json::Value* normalizer = doc.Find("normalizer");
  const json::Value* pre = doc.Find("pre_tokenizer");
  bool prepend = false;
  const bool metaspace = IsMetaspaceStyle(normalizer, pre, &prepend);
  const bool byte_fallback = BoolField(*model, "byte_fallback", false);

  if (!metaspace && !byte_fallback) {
    if (pre == nullptr || pre->is_null()) {
      return absl::UnimplementedError(absl::StrCat(
          where, ": no pre_tokenizer: neither byte-level nor SentencePiece-style BPE"));
    }
    // The runtime applies the normalizer (NFC for Qwen2) before splitting.
    absl::StatusOr<ByteLevelNormalization> normalization =
        ByteLevelNormalizer(normalizer, absl::StrCat(where, ": normalizer"));
    if (!normalization.ok()) return normalization.status();
    // Added tokens with `normalized` are matched in the normalized text; one that
    // normalization changes would never match there (Hugging Face normalizes it too).
    // The others are matched in the raw text.
    std::vector<uint8_t> added_flags;
    for (const UserToken& u : user_tokens) {
      if (!u.normalized) {
        added_flags.resize(pieces.size(), 0);
        added_flags[u.id] = static_cast<uint8_t>(AddedTokenFlag::RAW);
        continue;
      }
      if (normalization->legacy == NormalizerType::NONE) continue;
      if (NormalizeForCheck(*normalization, u.content) != u.content) {
        return absl::UnimplementedError(absl::StrCat(
            where, ": the added token ", tools::QuoteName(u.content), " changes under the ",
            normalization->legacy == NormalizerType::NFC    ? "NFC"
            : normalization->legacy == NormalizerType::NFKC ? "NFKC"
                                                           : "",
            normalization->legacy == NormalizerType::PIPELINE ? "" : " ",
            "normalizer; Kite matches added tokens with \"normalized\": true in the normalized "
            "text, so it would never match"));
      }
    }
    int prefix_stage = -1;
    absl::StatusOr<PreTokenizerChoice> kind = ByteLevelSplit(*pre, where, &prefix_stage);
    if (!kind.ok()) return kind.status();
    ByteBpeSource src;
    src.tokens = pieces;
    src.types = types;
    src.merges = std::move(merges);
    src.pretokenizer = kind->kind;
    src.split_rules = std::move(kind->rules);
    src.ignore_merges = BoolField(*model, "ignore_merges", false);
    src.prefix_space_stage = static_cast<int8_t>(prefix_stage);
    src.normalizer = normalization->legacy;
    src.bos_id = bos;
    src.eos_id = eos;
    src.unk_id = unk;
    src.stop_ids = stop_ids;
    src.add_bos = add_bos_known ? add_bos : post_adds_bos;
    size_t dropped = 0;
    absl::StatusOr<TokenizerTables> t = BuildByteBpeTables(src, &dropped);
    if (!t.ok()) {
      return absl::Status(t.status().code(), absl::StrCat(where, ": ", t.status().message()));
    }
    t->normalizer_steps = std::move(normalization->steps);
    t->added_token_flags = std::move(added_flags);
    if (dropped > 0) {
      std::fprintf(stderr,
                   "warning: %s: %zu of %zu merges were dropped (a piece missing or special, "
                   "or a repeated pair)\n",
                   where.c_str(), dropped, src.merges.size());
    }
    return t;
  }

  // SentencePiece-style BPE.
  TokenizerTables t;
  t.kind = TokenizerType::SCORE_BPE;
  t.pieces.resize(pieces.size());
  t.types = types;
  t.scores.assign(pieces.size(), kNeverMerges);
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::string& p = t.pieces[i];
    const std::string& src = pieces[i];
    for (size_t k = 0; k < src.size();) {
      if (src.compare(k, 3, kMetaSpace) == 0) {
        p.push_back(' ');
        k += 3;
      } else {
        p.push_back(src[k++]);
      }
    }
    uint8_t byte = 0;
    if (types[i] == static_cast<uint8_t>(TokenType::NORMAL) && ParseBytePiece(src, &byte)) {
      t.types[i] = static_cast<uint8_t>(TokenType::BYTE);
    }
  }
  if (unk >= 0) t.types[unk] = static_cast<uint8_t>(TokenType::UNKNOWN);
  std::unordered_map<std::string, int32_t> by_piece;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (filled[i]) by_piece.emplace(pieces[i], static_cast<int32_t>(i));
  }
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto joined = by_piece.find(merges[rank].first + merges[rank].second);
    if (joined == by_piece.end()) continue;
    float& score = t.scores[joined->second];
    score = std::max(score, -static_cast<float>(rank));
  }
  t.bos_id = bos;
  t.eos_id = eos;
  t.unk_id = unk;
  t.stop_ids = stop_ids;
  t.add_dummy_prefix = prepend;
  t.add_bos = add_bos_known ? add_bos : true;
  t.Finalize();
  return t;
}

absl::Status LoadHfTokenizer(const std::string& folder, TokenizerTables* out) {
  const std::string path = Join(folder, "tokenizer.json");
  absl::StatusOr<json::Value> doc = json::ParseFile(path);
  if (!doc.ok()) return doc.status();
  const std::string config_path = Join(folder, "tokenizer_config.json");
  absl::StatusOr<json::Value> config = json::Value();
  if (IsFile(config_path)) {
    config = json::ParseFile(config_path);
    if (!config.ok()) return config.status();
  }
  absl::StatusOr<TokenizerTables> t = HfTokenizerFromJson(*doc, &*config, path);
  if (!t.ok()) return t.status();
  *out = *std::move(t);
  return absl::OkStatus();
}

absl::StatusOr<TokenizerTables> LoadHfTokenizerFromPath(const std::string& path) {
  TokenizerTables t;
  if (IsDir(path)) {
    if (!IsFile(Join(path, "tokenizer.json"))) {
      return absl::NotFoundError(absl::StrCat(path, " has no tokenizer.json"));
    }
    if (absl::Status s = LoadHfTokenizer(path, &t); !s.ok()) return s;
    return t;
  }
  absl::StatusOr<json::Value> doc = json::ParseFile(path);
  if (!doc.ok()) return doc.status();
  const size_t slash = path.rfind('/');
  const std::string config_path =
      (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) +
      "tokenizer_config.json";
  absl::StatusOr<json::Value> config = json::Value();
  if (IsFile(config_path)) {
    config = json::ParseFile(config_path);
    if (!config.ok()) return config.status();
  }
  return HfTokenizerFromJson(*doc, &*config, path);
}

}  // namespace kite::convert
